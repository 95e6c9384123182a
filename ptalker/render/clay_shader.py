"""GLSL "clay" shader that replaces pyrender's physically based one for the head.

pyrender's PBR fragment shader costs most of a frame on a CPU rasteriser (Mesa llvmpipe);
this one does what a preview needs: Lambert diffuse and a faint Blinn-Phong highlight for each
directional light, ambient light, vertex colours taken as sRGB (linearised, lit, gamma 2.2),
and two-sided lighting (back faces seen through holes are lit from their visible side).

pyrender compiles it with its usual defines (attribute locations, light counts) plus
``CLAY_SPECULAR`` and ``CLAY_SHININESS``, substituted into the text; it sets the uniforms named
as in its own shader (``directional_lights``, ``ambient_light``, ``cam_pos``, ``M``, ``V``, ``P``).
"""

from __future__ import annotations

VERTEX_SHADER = """#version 330 core
layout(location = 0) in vec3 position;
layout(location = NORMAL_LOC) in vec3 normal;
layout(location = COLOR_0_LOC) in vec4 color_0;
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;

out vec3 frag_position;
out vec3 frag_normal;
out vec4 frag_albedo;

void main()
{
    mat4 model = M * inst_m;
    vec4 world = model * vec4(position, 1.0);
    gl_Position = P * V * world;
    frag_position = world.xyz;
    frag_normal = mat3(transpose(inverse(model))) * normal;
    frag_albedo = color_0;
}
"""

FRAGMENT_SHADER = """#version 330 core
struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};

uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
in vec3 frag_normal;
in vec4 frag_albedo;

out vec4 frag_color;

void main()
{
    vec3 n = normalize(gl_FrontFacing ? frag_normal : -frag_normal);
    vec3 v = normalize(cam_pos - frag_position);
    vec3 albedo = pow(frag_albedo.rgb, vec3(2.2));
    vec3 color = albedo * ambient_light;
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = -directional_lights[i].direction;
        vec3 radiance = directional_lights[i].intensity * directional_lights[i].color;
        float diffuse = max(dot(n, l), 0.0);
        float highlight = pow(max(dot(n, normalize(l + v)), 0.0), CLAY_SHININESS);
        color += radiance * (albedo * diffuse + CLAY_SPECULAR * highlight * step(0.0, dot(n, l)));
    }
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
"""

SHADER_FILES = {"mesh.vert": VERTEX_SHADER, "mesh.frag": FRAGMENT_SHADER}
"""File name pyrender asks for -> source."""

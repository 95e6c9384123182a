"""Apple ARKit's 52 face blend shapes built on the head model: one vertex offset (V, 3) per shape.

Names and order are ARKit's (``ARFaceAnchor.BlendShapeLocation``): :data:`ARKIT_NAMES`. "Left" is
the subject's own left (+x on FLAME heads), as in ARKit. Each shape is made from the head model:

- **poses** through the FLAME layer, on any FLAME: ``jawOpen`` (jaw pitch), ``jawLeft/Right`` (jaw
  yaw), ``eyeLookUp/Down/In/Out*`` (one eyeball's pitch or yaw). A rotation is not linear in its
  angle; its shape is the least-squares line through its offsets at :data:`LINE_SAMPLES` angles up
  to the full angle, so a weight w plays back the rotation by about w x the full angle.
  ``jawForward`` moves every vertex forward by :data:`JAW_FORWARD_M` x its jaw skinning weight
  (the skinning of a jaw translation; FLAME's jaw joint only rotates);
- **expressions**, from the stand-in's named components (:data:`STANDIN_RECIPES`; a symmetric
  component is split into its left and right halves, the brow raise into inner and outer parts,
  by weights of the template's x that sum to 1) or, for a real FLAME, from
  ``arkit_expressions.json`` in its directory: ``{"mouthSmileLeft": [K numbers], ...}``, FLAME
  expression coefficients per ARKit name (fit them once from posed examples, e.g. with
  ``ptalker fit``); names it leaves out are zero shapes.

Shapes the stand-in cannot make stay zero offsets under their names (:data:`STANDIN_ZERO`):
eyeSquint* (no lower-lid component), mouthDimple*, mouthRollUpper, mouthShrugLower/Upper,
cheekSquint*, tongueOut (no tongue). Opposite pairs (eyeBlink/eyeWide, jawLeft/jawRight,
mouthLeft/mouthRight, eyeLookIn/Out, eyeLookUp/Down, mouthFunnel/mouthClose) move the same vertices
in opposite directions: ARKit animations use one of a pair at a time.

>>> basis = arkit_basis(FlameModel.load())        # ArkitBasis: offsets (52, V, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.constants import FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.flame.expressions import read_coefficients
from ptalker.flame.flame_model import POSE_DIM, FlameModel
from ptalker.mesh.checks import as_template
from ptalker.mesh.face_sets import rigid_region_ids
from ptalker.mesh.regions import RegionMasks

ARKIT_NAMES = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
"""The 52 ARKit blend shapes in Apple's order (ARFaceAnchor.BlendShapeLocation)."""
ARKIT_FILE = "arkit_expressions.json"

JAW_JOINT, LEFT_EYE_JOINT, RIGHT_EYE_JOINT = 2, 3, 4
JAW_OPEN_RAD = 0.35
"""Jaw pitch at jawOpen 1 (20 degrees; the synthetic corpus opens to 0.21 rad)."""
JAW_SIDE_RAD = 0.12
"""Jaw yaw at jawLeft / jawRight 1."""
JAW_FORWARD_M = 0.005
"""Forward jaw translation at jawForward 1."""
EYE_YAW_RAD = math.radians(30.0)
"""Eyeball yaw at eyeLookIn / eyeLookOut 1."""
EYE_PITCH_RAD = math.radians(25.0)
"""Eyeball pitch at eyeLookUp / eyeLookDown 1."""
LINE_SAMPLES = 8
"""Angles (equally spaced up to the full angle) through which a rotation's shape is fitted."""
SPLIT_M = 0.005
"""Half-width of the ramp across x = 0 that splits a symmetric component into left and right."""
INNER_BROW_M = (0.015, 0.03)
"""|x| where the brow raise passes from browInnerUp (below) to browOuterUp* (above)."""

# Expression recipes of the stand-in: ARKit name -> ({component: coefficient at weight 1}, part). The
# coefficients cover the synthetic corpus's range at weights <= 1 (lip_stretch reaches 1.6,
# lower_lip_tuck 4.2, lips_part -3.7).
STANDIN_RECIPES: dict[str, tuple[dict[str, float], str | None]] = {
    "eyeBlinkLeft": ({"blink_left": 1.0}, None), "eyeBlinkRight": ({"blink_right": 1.0}, None),
    "eyeWideLeft": ({"blink_left": -0.4}, None), "eyeWideRight": ({"blink_right": -0.4}, None),
    "mouthClose": ({"lips_part": -4.5}, None), "mouthFunnel": ({"lips_part": 1.0}, None),
    "mouthPucker": ({"lip_pucker": 1.5}, None),
    "mouthLeft": ({"mouth_sideways": 0.5}, None), "mouthRight": ({"mouth_sideways": -0.5}, None),
    "mouthSmileLeft": ({"smile_left": 1.0}, None), "mouthSmileRight": ({"smile_right": 1.0}, None),
    "mouthFrownLeft": ({"frown": 1.0}, "left"), "mouthFrownRight": ({"frown": 1.0}, "right"),
    "mouthStretchLeft": ({"lip_stretch_left": 2.0}, None), "mouthStretchRight": ({"lip_stretch_right": 2.0}, None),
    "mouthRollLower": ({"lower_lip_tuck": 5.0}, None),
    "mouthPressLeft": ({"lip_press": 1.0}, "left"), "mouthPressRight": ({"lip_press": 1.0}, "right"),
    "mouthLowerDownLeft": ({"lower_lip_depress": 1.0}, "left"),
    "mouthLowerDownRight": ({"lower_lip_depress": 1.0}, "right"),
    "mouthUpperUpLeft": ({"upper_lip_raise": 1.0}, "left"), "mouthUpperUpRight": ({"upper_lip_raise": 1.0}, "right"),
    "browDownLeft": ({"brow_furrow": 1.0}, "left"), "browDownRight": ({"brow_furrow": 1.0}, "right"),
    "browInnerUp": ({"brow_raise": 1.0}, "inner"),
    "browOuterUpLeft": ({"brow_raise": 1.0}, "outer_left"), "browOuterUpRight": ({"brow_raise": 1.0}, "outer_right"),
    "cheekPuff": ({"cheek_puff_left": 1.0, "cheek_puff_right": 1.0}, None),
    "noseSneerLeft": ({"nose_wrinkle": 1.0}, "left"), "noseSneerRight": ({"nose_wrinkle": 1.0}, "right"),
}
POSE_RECIPES: dict[str, tuple[str, tuple[float, float, float]]] = {
    "jawOpen": ("jaw", (JAW_OPEN_RAD, 0.0, 0.0)),
    "jawLeft": ("jaw", (0.0, JAW_SIDE_RAD, 0.0)), "jawRight": ("jaw", (0.0, -JAW_SIDE_RAD, 0.0)),
    "eyeLookUpLeft": ("left_eye", (-EYE_PITCH_RAD, 0.0, 0.0)),
    "eyeLookDownLeft": ("left_eye", (EYE_PITCH_RAD, 0.0, 0.0)),
    "eyeLookInLeft": ("left_eye", (0.0, -EYE_YAW_RAD, 0.0)), "eyeLookOutLeft": ("left_eye", (0.0, EYE_YAW_RAD, 0.0)),
    "eyeLookUpRight": ("right_eye", (-EYE_PITCH_RAD, 0.0, 0.0)),
    "eyeLookDownRight": ("right_eye", (EYE_PITCH_RAD, 0.0, 0.0)),
    "eyeLookInRight": ("right_eye", (0.0, EYE_YAW_RAD, 0.0)),
    "eyeLookOutRight": ("right_eye", (0.0, -EYE_YAW_RAD, 0.0)),
}
"""ARKit name -> (joint, axis-angle at weight 1). Pitch about +x turns the gaze and the chin down;
yaw about +y turns them to the subject's left (+x): the left eye looks out, the right eye in."""
OPPOSITE_PAIRS = (("eyeBlinkLeft", "eyeWideLeft"), ("eyeBlinkRight", "eyeWideRight"), ("jawLeft", "jawRight"),
                  ("mouthLeft", "mouthRight"), ("mouthFunnel", "mouthClose"), ("eyeLookInLeft", "eyeLookOutLeft"),
                  ("eyeLookUpLeft", "eyeLookDownLeft"), ("eyeLookInRight", "eyeLookOutRight"),
                  ("eyeLookUpRight", "eyeLookDownRight"))
"""Shapes that move the same vertices in opposite directions (on the stand-in): used one at a time."""
PAIR_INDICES = tuple((ARKIT_NAMES.index(a), ARKIT_NAMES.index(b)) for a, b in OPPOSITE_PAIRS)
STANDIN_ZERO = tuple(name for name in ARKIT_NAMES
                     if name not in STANDIN_RECIPES and name not in POSE_RECIPES and name != "jawForward")
"""The shapes the stand-in head cannot make: zero offsets."""


@dataclass(frozen=True)
class ArkitBasis:
    """The 52 ARKit shapes on one head, and what solving for their weights needs from it."""

    offsets: np.ndarray
    """(52, V, 3) float64 vertex offsets at weight 1, in :data:`ARKIT_NAMES` order (metres)."""
    template: np.ndarray
    """(V, 3) float64 neutral head the offsets apply to."""
    head_weights: np.ndarray
    """(V,) how much each vertex follows the head's rotation (1 - skinning weight on the global joint)."""
    rigid: np.ndarray
    """Ids of the vertices that move only with the head (scalp, ears): head pose is measured on them."""
    eyeballs: tuple[np.ndarray, np.ndarray]
    """Vertex ids of the left and right eyeball."""
    source: str
    """Where the expression shapes came from (the stand-in's components or the JSON file)."""

    @property
    def names(self) -> tuple[str, ...]:
        return ARKIT_NAMES

    @property
    def zero_shapes(self) -> tuple[str, ...]:
        """Names whose offsets are all zero (shapes this head does not make)."""
        return tuple(name for name, offset in zip(ARKIT_NAMES, self.offsets) if not np.any(offset))


def arkit_basis(model: FlameModel, template: np.ndarray | None = None) -> ArkitBasis:
    """The ARKit shapes of ``model`` for the neutral head ``template`` (V, 3) (default: the model's
    mean head); the person's shape is the least-squares fit of the model's shape components to it.

    Raises:
        PtalkerError: ``template`` not (V, 3) of the model's V; a real FLAME without a valid
            arkit_expressions.json; a head without region masks or eyeballs.
    """
    neutral = model.template.detach().cpu().numpy().astype(np.float64)  # (V, 3)
    template = neutral if template is None else as_template(template, model.num_vertices)
    betas = torch.from_numpy(_shape_coefficients(model, template - neutral)).float()  # (Ks,)
    coefficients, source = _expression_recipes(model)
    offsets = np.zeros((len(ARKIT_NAMES), model.num_vertices, 3))
    dirs = model.layer.expr_dirs.detach().cpu().numpy().astype(np.float64)  # (V, 3, used)
    for index, name in enumerate(ARKIT_NAMES):
        if name in coefficients:
            vector, part = coefficients[name]
            offsets[index] = np.einsum("vck,k->vc", dirs, vector[:dirs.shape[-1]]) * _part_weights(template, part)[:, None]
        elif name in POSE_RECIPES:
            offsets[index] = _rotation_line(model, betas, *POSE_RECIPES[name])
    weights = model.layer.lbs_weights.detach().cpu().numpy().astype(np.float64)  # (V, 5)
    offsets[ARKIT_NAMES.index("jawForward"), :, 2] = JAW_FORWARD_M * weights[:, JAW_JOINT]
    masks = RegionMasks.from_flame_masks(model.masks_path).all if model.masks_path else {}
    eyeballs = tuple(np.flatnonzero(weights[:, joint] > 0.999) for joint in (LEFT_EYE_JOINT, RIGHT_EYE_JOINT))
    if any(len(ids) < 3 for ids in eyeballs):
        raise PtalkerError(f"head model {model.flame_dir}: no eyeball vertices skinned to the eye joints; "
                           "the ARKit eye shapes need FLAME's eyeballs")
    return ArkitBasis(offsets, template, 1.0 - weights[:, 0], rigid_region_ids(masks, f"head model {model.flame_dir}"),
                      eyeballs, source)


def _shape_coefficients(model: FlameModel, difference: np.ndarray) -> np.ndarray:
    """(Ks,) shape coefficients whose blend shapes fit the (V, 3) ``difference`` best (least squares)."""
    dirs = model.layer.shapedirs.detach().cpu().numpy().astype(np.float64)  # (V, 3, Ks + Ke)
    shape = dirs[..., :min(model.used["shape"], FLAME_NUM_SHAPE)].reshape(-1, model.used["shape"])  # (V*3, Ks)
    return np.linalg.lstsq(shape, difference.reshape(-1), rcond=None)[0]


def _expression_recipes(model: FlameModel) -> tuple[dict[str, tuple[np.ndarray, str | None]], str]:
    """{ARKit name: ((K,) expression coefficients, part)} and where they came from."""
    names = model.expression_names
    if all(component in names for table, _ in STANDIN_RECIPES.values() for component in table):
        return {name: (model.expression_vector(**table).numpy().astype(np.float64), part)
                for name, (table, part) in STANDIN_RECIPES.items()}, "stand-in components"
    path = Path(model.flame_dir) / ARKIT_FILE
    data = read_coefficients(path, len(names), "the ARKit expression shapes of this head model need its FLAME "
                                               "expression coefficients per ARKit shape (names of ARKIT_NAMES)")
    recipes = {}
    for name, values in data.items():
        if name not in ARKIT_NAMES or name in POSE_RECIPES or name == "jawForward":
            raise PtalkerError(f"{path}: '{name}' is not an ARKit expression shape (jaw and eye shapes come from "
                               "the joints); use the names of ARKIT_NAMES")
        recipes[name] = (values, None)
    return recipes, str(path)


def _part_weights(template: np.ndarray, part: str | None) -> np.ndarray:
    """(V,) weights of the vertices of ``part`` of a component: left/right of x = 0, the inner brow
    (|x| small) and the outer left/right; each split sums to 1."""
    x = template[:, 0]
    left = np.clip((x + SPLIT_M) / (2 * SPLIT_M), 0.0, 1.0)
    inner = 1.0 - np.clip((np.abs(x) - INNER_BROW_M[0]) / (INNER_BROW_M[1] - INNER_BROW_M[0]), 0.0, 1.0)
    return {None: np.ones_like(x), "left": left, "right": 1.0 - left, "inner": inner,
            "outer_left": (1.0 - inner) * left, "outer_right": (1.0 - inner) * (1.0 - left)}[part]


def _rotation_line(model: FlameModel, betas: torch.Tensor, joint: str, full: tuple[float, float, float]) -> np.ndarray:
    """(V, 3) shape D minimising sum_i |offset(s_i * full) - s_i D|^2 over s_i = i / LINE_SAMPLES."""
    steps = torch.arange(1, LINE_SAMPLES + 1, dtype=torch.float32) / LINE_SAMPLES  # (S,)
    rotations = torch.cat([torch.zeros(1, POSE_DIM), steps[:, None] * torch.tensor(full)])  # (1 + S, 3)
    pose = {"jaw": {"jaw_pose": rotations},
            "left_eye": {"eye_pose": torch.cat([rotations, torch.zeros_like(rotations)], 1)},
            "right_eye": {"eye_pose": torch.cat([torch.zeros_like(rotations), rotations], 1)}}[joint]
    with torch.no_grad():
        vertices = model(shape=betas, **pose).vertices.double().numpy()  # (1 + S, V, 3)
    offsets = vertices[1:] - vertices[0]  # (S, V, 3)
    scale = steps.double().numpy()
    return np.einsum("s,svc->vc", scale, offsets) / float(scale @ scale)

"""Sampling motion from a flow-matching velocity field (:mod:`ptalker.models.flow`), and
generating a talker's offsets with a reference clip as the in-context prompt
(:func:`generate_offsets`, :mod:`ptalker.models.flow_talker`).

The ODE dx/dt = v(x, t) is integrated from t = 0 (noise scaled by ``temperature``) to t = 1
(motion) in ``steps`` equal steps, by Euler or by the midpoint rule. Each velocity is guided by
two classifier-free knobs (DiffPoseTalk's two-scale guidance):

    v = v(0, 0) + cfg_audio * [v(a, 0) - v(0, 0)] + cfg_style * [v(a, s) - v(a, 0)]

where v(a, s) has the audio and the prompt, v(a, 0) the audio without the prompt, v(0, 0)
neither. cfg_audio = cfg_style = 1 is the plain conditional field; cfg_style = 0 gives exactly
the output without a prompt (the null style); above 1 exaggerates. Known frames (the prompt, a
window's context, frames kept by an edit) are held at their given values throughout, so they
come back unchanged. ``temperature`` 0 starts from zeros (deterministic for any seed); the same
``seed`` gives the same output, bit for bit, on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ptalker.errors import PtalkerError
from ptalker.models.flow import VelocityField
from ptalker.models.flow_talker import FlowPrompt, FlowTalker

SOLVERS = ("euler", "midpoint")


@dataclass
class SamplerSettings:
    """The knobs of :func:`sample_motion`."""

    steps: int = 10
    solver: str = "euler"
    cfg_audio: float = 1.0
    cfg_style: float = 1.0
    temperature: float = 0.0
    seed: int = 0

    def check(self) -> "SamplerSettings":
        """Raise PtalkerError on a bad knob; returns self."""
        if self.solver not in SOLVERS:
            raise PtalkerError(f"--solver {self.solver}: choose one of {', '.join(SOLVERS)}")
        if int(self.steps) != self.steps or self.steps < 1:
            raise PtalkerError(f"--steps {self.steps}: expected a whole number >= 1")
        for name in ("cfg_audio", "cfg_style", "temperature"):
            value = float(getattr(self, name))
            if not value >= 0.0 or value == float("inf"):
                raise PtalkerError(f"--{name.replace('_', '-')} {value}: expected a finite number >= 0")
        return self


def guided_velocity(field: VelocityField, x: torch.Tensor, t: torch.Tensor, audio: torch.Tensor,
                    prompt: torch.Tensor, known: torch.Tensor, prompt_frames: int, cfg_audio: float,
                    cfg_style: float) -> torch.Tensor:
    """(B, T, D) the two-knob guided velocity (see the module docstring).

    The first ``prompt_frames`` frames are the style prompt: v(a, 0) and v(0, 0) run on the
    frames after it alone, without the condition's style channel (as if there were no prompt;
    known frames after it, such as a window's context or kept frames, stay known in every
    condition), v(a, s) on all frames. The prompt frames' own velocities are v(a, s)'s (the
    sampler holds them at their values anyway)."""
    P, style_dim = prompt_frames, field.config.style_dim
    unstyled = audio[:, P:].clone()
    if style_dim:
        unstyled[..., -style_dim:] = 0.0
    rest = (x[:, P:], t, unstyled, prompt[:, P:], known[:, P:])
    both = (torch.cat([rest[0], rest[0]]), torch.cat([t, t]), torch.cat([torch.zeros_like(rest[2]), rest[2]]),
            torch.cat([rest[3], rest[3]]), torch.cat([rest[4], rest[4]]))
    v_null, v_audio = field(*both).chunk(2)  # (B, T - P, D) each
    guided = v_null + cfg_audio * (v_audio - v_null)
    if not P and not (style_dim and audio[..., -style_dim:].any()):
        return guided  # no style given: v(a, s) is v(a, 0)
    v_full = field(x, t, audio, prompt, known)
    guided = guided + cfg_style * (v_full[:, P:] - v_audio)
    return torch.cat([v_full[:, :P], guided], dim=1)


@torch.no_grad()
def sample_motion(field: VelocityField, audio: torch.Tensor, prompt: torch.Tensor, known: torch.Tensor,
                  settings: SamplerSettings, generator: torch.Generator | None = None,
                  prompt_frames: int = 0) -> torch.Tensor:
    """(B, T, D) motion for the audio condition ``audio`` (B, T, C), with ``prompt`` (B, T, D)
    held on the ``known`` (B, T) frames, the first ``prompt_frames`` of them the style prompt
    (:func:`guided_velocity`), by ``settings`` (``field`` in eval mode: no dropout). The initial
    noise of the frames after the prompt comes from ``generator`` (default: a new one seeded
    with ``settings.seed``)."""
    settings.check()
    if generator is None:
        generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
    B, T, _ = audio.shape
    D, P = field.config.motion_dim, prompt_frames
    noise = torch.randn((B, T - P, D), generator=generator).to(audio)
    x = torch.cat([torch.zeros(B, P, D).to(audio), settings.temperature * noise], dim=1)
    keep = known[..., None].to(x.dtype)
    x = keep * prompt + (1 - keep) * x
    dt = 1.0 / settings.steps

    def velocity(state: torch.Tensor, time: float) -> torch.Tensor:
        t = torch.full((len(state),), time, dtype=state.dtype, device=state.device)
        return guided_velocity(field, state, t, audio, prompt, known, P, settings.cfg_audio, settings.cfg_style)

    for step in range(settings.steps):
        t = step * dt
        if settings.solver == "euler":
            x = x + dt * velocity(x, t)
        else:
            half = x + 0.5 * dt * velocity(x, t)
            x = x + dt * velocity(half, t + 0.5 * dt)
        x = keep * prompt + (1 - keep) * x  # known frames stay as given
    return x


@torch.no_grad()
def clip_prompt(talker: FlowTalker, audio: torch.Tensor, offsets: torch.Tensor, template: torch.Tensor,
                phones: torch.Tensor | None = None) -> FlowPrompt:
    """The prompt of a reference clip: ``audio`` (S,) and its ``offsets`` (T, V, 3) from the
    person's neutral face ``template`` (V, 3) (head motion removed), ``phones`` (T, P) or None.
    Its style is PTalker's embedding of the whole clip; its first ``talker.config.prompt_frames``
    frames are the prompt's frames."""
    style = talker.content_model.clip_style(audio[None], offsets[None], template[None])  # (1, S_dim)
    frames = min(len(offsets), talker.config.prompt_frames)
    cut = int(round(frames * audio.shape[-1] / len(offsets)))
    condition = talker.condition(audio[:cut][None], frames, None if phones is None else phones[:frames][None], style)
    return FlowPrompt(talker.basis.encode(offsets[:frames]), condition[0], style[0])


WINDOW_FRAMES = 300
"""New frames generated per window of long audio."""
CONTEXT_FRAMES = 30
"""Frames of the previous window's output held as known frames at the start of the next."""


@torch.no_grad()
def generate_motion(talker: FlowTalker, condition: torch.Tensor, settings: SamplerSettings,
                    prompt: FlowPrompt | None = None, known_motion: torch.Tensor | None = None,
                    known: torch.Tensor | None = None) -> torch.Tensor:
    """(T, K) coefficients for the ``condition`` (T, 2K) (:meth:`FlowTalker.condition`, in
    the prompt's style), in the style of ``prompt`` (None: the null style); frames ``known``
    (T,) bool take ``known_motion`` (T, K) as given (infilling). Long sequences run in windows
    of WINDOW_FRAMES, each starting with the last CONTEXT_FRAMES generated frames as known
    frames, so that windows join without a seam. The sampler works on the residuals over the
    prior (:meth:`FlowTalker.to_residual`)."""
    field = talker.field.eval()
    T, K = len(condition), talker.basis.size
    out = torch.zeros(T, K) if known_motion is None else talker.to_residual(known_motion, condition)
    fixed = torch.zeros(T, dtype=torch.bool) if known is None else known.clone()
    generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
    prompt_residual = torch.zeros(0, K) if prompt is None else talker.to_residual(prompt.motion, prompt.condition)
    prompt_condition = torch.zeros(0, condition.shape[-1]) if prompt is None else prompt.condition
    P = len(prompt_residual)
    for start in range(0, T, WINDOW_FRAMES):
        first, stop = max(0, start - CONTEXT_FRAMES), min(T, start + WINDOW_FRAMES)
        window_known = fixed[first:stop].clone()
        window_known[:start - first] = True  # the context: frames generated already
        residual = torch.cat([prompt_residual, out[first:stop]])[None]  # (1, P + W, K)
        held = torch.cat([torch.ones(P, dtype=torch.bool), window_known])[None]  # (1, P + W)
        both = torch.cat([prompt_condition, condition[first:stop]])[None]  # (1, P + W, 2K)
        sampled = sample_motion(field, both, residual * held[..., None], held, settings, generator, P)
        out[first:stop] = sampled[0, P:]
    motion = talker.from_residual(out, condition)
    if known is not None:  # exactly as given (the round trip through the residual may round)
        motion[known] = known_motion[known]
    return motion


@torch.no_grad()
def generate_offsets(talker: FlowTalker, audio: torch.Tensor, num_frames: int, settings: SamplerSettings,
                     prompt: FlowPrompt | None = None, phones: torch.Tensor | None = None) -> torch.Tensor:
    """(T, V, 3) offsets by ``talker`` for ``audio`` (S,) spanning ``num_frames`` frames, in the
    style of ``prompt`` (:func:`clip_prompt`; None: the null style); ``phones`` (T, P) feed a
    phonetic channel."""
    style = None if prompt is None else prompt.style[None]
    condition = talker.condition(audio[None], num_frames, None if phones is None else phones[None], style)[0]
    return talker.basis.decode(generate_motion(talker, condition, settings, prompt))

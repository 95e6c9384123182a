"""Sampling motion from a flow-matching velocity field (:mod:`ptalker.models.flow`), and
generating a talker's offsets with a reference clip as the in-context prompt
(:func:`generate_offsets`, :mod:`ptalker.models.flow_talker`).

The ODE dx/dt = v(x, t) is integrated from t = 0 (noise scaled by ``temperature``) to t = 1
(motion) in ``steps`` equal steps, by Euler or by the midpoint rule. Each velocity is guided by
two classifier-free knobs (DiffPoseTalk's two-scale guidance):

    v = v(0, 0) + cfg_audio * [v(a, 0) - v(0, 0)] + cfg_style * [v(a, s) - v(a, 0)]

where v(a, s) has the audio and the prompt, v(a, 0) the audio without the prompt, v(0, 0)
neither. cfg_audio = cfg_style = 1 is the plain conditional field; cfg_style = 0 ignores the
prompt's style; above 1 exaggerates. Prompt frames are held at their given values throughout,
so they come back unchanged. ``temperature`` 0 starts from zeros (deterministic for any seed);
the same ``seed`` gives the same output, bit for bit, on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ptalker.errors import PtalkerError
from ptalker.models.flow import VelocityField
from ptalker.models.flow_talker import FlowTalker

SOLVERS = ("euler", "midpoint")


@dataclass
class SamplerSettings:
    """The knobs of :func:`sample_motion`."""

    steps: int = 10
    solver: str = "midpoint"
    cfg_audio: float = 1.15
    cfg_style: float = 3.0
    temperature: float = 1.0
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
                    prompt: torch.Tensor, known: torch.Tensor, cfg_audio: float, cfg_style: float) -> torch.Tensor:
    """(B, T, D) the two-knob guided velocity (see the module docstring); the three conditions
    run as one batch of 3B."""
    none = torch.zeros_like(known)
    batch = (torch.cat([x, x, x]), torch.cat([t, t, t]), torch.cat([torch.zeros_like(audio), audio, audio]),
             torch.cat([prompt, prompt, prompt]), torch.cat([none, none, known]))
    v_null, v_audio, v_full = field(*batch).chunk(3)
    return v_null + cfg_audio * (v_audio - v_null) + cfg_style * (v_full - v_audio)


@torch.no_grad()
def sample_motion(field: VelocityField, audio: torch.Tensor, prompt: torch.Tensor, known: torch.Tensor,
                  settings: SamplerSettings) -> torch.Tensor:
    """(B, T, D) motion for ``audio`` (B, T, C) content features, with ``prompt`` (B, T, D) held
    on the ``known`` (B, T) frames, by ``settings`` (``field`` in eval mode: no dropout)."""
    settings.check()
    generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
    shape = (*audio.shape[:2], field.config.motion_dim)
    x = settings.temperature * torch.randn(shape, generator=generator).to(audio)
    keep = known[..., None].to(x.dtype)
    x = keep * prompt + (1 - keep) * x
    dt = 1.0 / settings.steps

    def velocity(state: torch.Tensor, time: float) -> torch.Tensor:
        t = torch.full((len(state),), time, dtype=state.dtype, device=state.device)
        return guided_velocity(field, state, t, audio, prompt, known, settings.cfg_audio, settings.cfg_style)

    for step in range(settings.steps):
        t = step * dt
        if settings.solver == "euler":
            x = x + dt * velocity(x, t)
        else:
            half = x + 0.5 * dt * velocity(x, t)
            x = x + dt * velocity(half, t + 0.5 * dt)
        x = keep * prompt + (1 - keep) * x  # the prompt stays as given
    return x


@torch.no_grad()
def generate_offsets(talker: FlowTalker, audio: torch.Tensor, num_frames: int, settings: SamplerSettings,
             prompt_audio: torch.Tensor | None = None, prompt_offsets: torch.Tensor | None = None,
             phones: torch.Tensor | None = None, prompt_phones: torch.Tensor | None = None) -> torch.Tensor:
    """(T, V, 3) offsets by ``talker`` for ``audio`` (S,) spanning ``num_frames`` frames; with a reference
    clip (``prompt_audio`` (S_p,) and its ``prompt_offsets`` (T_p, V, 3)) as the in-context
    prompt. ``phones`` (T, P) and ``prompt_phones`` (T_p, P) feed a phonetic channel. The
    talker's field is put in eval mode."""
    samples_per_frame = audio.shape[-1] / num_frames
    if prompt_audio is None:
        full_audio, prompt_frames = audio, 0
    else:
        prompt_frames = len(prompt_offsets)
        cut = int(round(prompt_frames * samples_per_frame))
        full_audio = torch.cat([prompt_audio[:cut], torch.zeros(max(0, cut - len(prompt_audio))), audio])
    total = prompt_frames + num_frames
    both_phones = None
    if phones is not None:
        before = prompt_phones if prompt_phones is not None else torch.zeros(prompt_frames, phones.shape[-1])
        both_phones = torch.cat([before, phones])[None]
    content = talker.content(full_audio[None], total, phones=both_phones)  # (1, T_p + T, C)
    known = torch.zeros(1, total, dtype=torch.bool)
    prompt = torch.zeros(1, total, talker.basis.size)
    if prompt_frames:
        known[0, :prompt_frames] = True
        prompt[0, :prompt_frames] = talker.basis.encode(prompt_offsets)
    coefficients = sample_motion(talker.field.eval(), content, prompt, known, settings)
    return talker.basis.decode(coefficients[0, prompt_frames:])

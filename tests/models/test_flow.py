"""Flow matching over motion: the velocity field, its loss, and the guided ODE sampler."""

import dataclasses

import pytest
import torch

from ptalker.errors import PtalkerError
from ptalker.models.flow import FlowConfig, VelocityField, flow_matching_loss, preconditioning
from ptalker.pipelines.flow_sampling import SamplerSettings, guided_velocity, sample_motion

CONFIG = FlowConfig(motion_dim=6, audio_dim=5, dim=32, layers=2, heads=2, ff=64, window=8, dropout=0.0)
B, T = 2, 20


@pytest.fixture(scope="module")
def field():
    torch.manual_seed(0)
    return VelocityField(CONFIG).eval()


@pytest.fixture(scope="module")
def inputs():
    generator = torch.Generator().manual_seed(1)
    audio = torch.randn(B, T, CONFIG.audio_dim, generator=generator)
    prompt = torch.randn(B, T, CONFIG.motion_dim, generator=generator)
    known = torch.zeros(B, T, dtype=torch.bool)
    known[:, :6] = True  # the first 6 frames are the in-context prompt
    return audio, prompt * known[..., None], known


def test_velocity_shapes_and_prompt_frames_ignore_x(field, inputs):
    audio, prompt, known = inputs
    x = torch.randn(B, T, CONFIG.motion_dim)
    other = x.clone()
    other[:, :6] = 100.0  # only the noisy state of prompt frames changes
    t = torch.full((B,), 0.3)
    with torch.no_grad():
        v = field(x, t, audio, prompt, known)
        assert v.shape == (B, T, CONFIG.motion_dim)
        assert torch.allclose(v[:, 6:], field(other, t, audio, prompt, known)[:, 6:], atol=1e-6)
        clean = field.predict_clean(x, t, audio, prompt, known)
        assert torch.allclose(clean[:, 6:], field.predict_clean(other, t, audio, prompt, known)[:, 6:], atol=1e-6)
        assert torch.allclose(v, (clean - x) / (1 - t[:, None, None]), atol=1e-5)


def test_preconditioning_passes_nearly_clean_states_through(field, inputs):
    audio, prompt, known = inputs
    x = torch.randn(B, T, CONFIG.motion_dim)
    with torch.no_grad():
        near_end = field.predict_clean(x, torch.full((B,), 1 - 1e-6), audio, prompt, known)
        assert torch.allclose(near_end, x, atol=1e-4)  # x_t is all but clean: it comes back
    skip, out = preconditioning(torch.tensor([0.0, 0.5, 1.0]))
    assert skip.flatten().tolist() == [0.0, 1.0, 1.0] and out.flatten()[0] == 1.0 and out.flatten()[2] == 0.0


def test_guidance_knobs_reduce_to_the_plain_conditions(field, inputs):
    audio, prompt, known = inputs  # the first 6 frames are the style prompt
    x, t = torch.randn(B, T, CONFIG.motion_dim), torch.full((B,), 0.5)
    with torch.no_grad():
        full = field(x, t, audio, prompt, known)
        rest = (x[:, 6:], t, audio[:, 6:], prompt[:, 6:], known[:, 6:])  # no prompt: the frames after it alone
        audio_only = field(*rest)
        null = field(rest[0], t, torch.zeros_like(rest[2]), *rest[3:])
        assert torch.allclose(guided_velocity(field, x, t, audio, prompt, known, 6, 1.0, 1.0), full, atol=1e-5)
        assert torch.allclose(guided_velocity(field, x, t, audio, prompt, known, 6, 1.0, 0.0)[:, 6:], audio_only,
                              atol=1e-5)
        assert torch.allclose(guided_velocity(field, x, t, audio, prompt, known, 6, 0.0, 0.0)[:, 6:], null, atol=1e-5)


def test_style_scale_zero_is_exactly_the_run_without_a_prompt(field, inputs):
    audio, prompt, known = inputs
    settings = SamplerSettings(steps=4, seed=3, cfg_style=0.0, temperature=1.0)
    with_prompt = sample_motion(field, audio, prompt, known, settings, prompt_frames=6)
    without = sample_motion(field, audio[:, 6:], prompt[:, 6:], known[:, 6:], settings)
    assert torch.equal(with_prompt[:, 6:], without)
    styled = sample_motion(field, audio, prompt, known, dataclasses.replace(settings, cfg_style=1.0), prompt_frames=6)
    assert not torch.equal(styled[:, 6:], without)


def test_prompt_frames_come_back_unchanged_and_seeds_repeat(field, inputs):
    audio, prompt, known = inputs
    settings = SamplerSettings(steps=4, seed=3, temperature=1.0)
    first = sample_motion(field, audio, prompt, known, settings)
    assert torch.equal(first[:, :6], prompt[:, :6])
    assert torch.equal(first, sample_motion(field, audio, prompt, known, settings))  # bit for bit
    assert not torch.equal(first, sample_motion(field, audio, prompt, known, dataclasses.replace(settings, seed=4)))
    cold = dataclasses.replace(settings, temperature=0.0)
    assert torch.equal(sample_motion(field, audio, prompt, known, cold),
                       sample_motion(field, audio, prompt, known, dataclasses.replace(cold, seed=9)))


class SmoothField(VelocityField):
    """A field whose clean-motion prediction is a smooth function of x, t and the audio, as a
    trained one is (an untrained network's is not: its ODE is stiff near t = 1)."""

    def predict_clean(self, x_t, t, audio, prompt, known):
        target = torch.tanh(audio[..., :1]).expand_as(x_t)
        return target + 0.5 * torch.sin(x_t) * (1 - t[:, None, None]) + 0.2 * t[:, None, None]


def test_more_steps_approach_a_fine_solution(inputs):
    audio, prompt, known = inputs
    field = SmoothField(CONFIG).eval()
    fine = sample_motion(field, audio, prompt, known, SamplerSettings(steps=200, solver="midpoint"))
    distances = [(sample_motion(field, audio, prompt, known, SamplerSettings(steps=n, solver=solver)) - fine).norm()
                 for solver in ("euler", "midpoint") for n in (2, 5, 10, 20)]
    for per_solver in (distances[:4], distances[4:]):
        assert all(a > b for a, b in zip(per_solver, per_solver[1:])), per_solver


def test_loss_scores_only_the_frames_to_generate(field, inputs):
    audio, prompt, known = inputs
    x1 = torch.randn(B, T, CONFIG.motion_dim, generator=torch.Generator().manual_seed(2))
    frame_mask = torch.ones(B, T, dtype=torch.bool)
    frame_mask[:, -3:] = False  # padding
    with torch.no_grad():
        loss, _ = flow_matching_loss(field, x1, audio, known, frame_mask, torch.Generator().manual_seed(0))
        generator = torch.Generator().manual_seed(0)  # the same draws, by hand
        noise, t = torch.randn(x1.shape, generator=generator), torch.rand(B, generator=generator)
        x_t = (1 - t[:, None, None]) * noise + t[:, None, None] * x1
        c_out = (1 - t) / (t.square() + (1 - t).square()).sqrt()
        clean = field.predict_clean(x_t, t, audio, x1 * known[..., None], known)
        error = ((clean - x1) / c_out[:, None, None]).square()  # (B, T, D)
    scored = ~known & frame_mask  # (B, T): neither prompt nor padding
    assert loss.item() == pytest.approx(error[scored].mean().item(), rel=1e-5)
    assert error[~scored].mean().item() != pytest.approx(loss.item(), rel=1e-3)  # the rest would differ


def test_bad_knobs_are_clear_errors():
    with pytest.raises(PtalkerError, match="--solver rk4: choose one of euler, midpoint"):
        SamplerSettings(solver="rk4").check()
    with pytest.raises(PtalkerError, match="--steps 0"):
        SamplerSettings(steps=0).check()
    with pytest.raises(PtalkerError, match="--cfg-style nan"):
        SamplerSettings(cfg_style=float("nan")).check()
    with pytest.raises(PtalkerError, match="--temperature -1.0"):
        SamplerSettings(temperature=-1.0).check()

"""The parallel motion decoder: shapes, the template at start, padding, alignment and style."""

from __future__ import annotations

import torch

from ptalker.models.decoder import MotionDecoder, alibi_slopes, band_bias


def decoder(**kw) -> MotionDecoder:
    torch.manual_seed(0)
    model = MotionDecoder(dim=32, style_dim=8, num_vertices=20, layers=2, heads=4, ff=64, window=6,
                          align=2, basis=8, **kw).eval()
    torch.nn.init.normal_(model.basis.weight, std=0.1)  # trained-like: not the zero start
    return model


def test_band_bias():
    bias = band_bias(5, 1, torch.tensor([0.5]), torch.device("cpu"))
    assert bias.shape == (1, 5, 5)
    assert bias[0, 2, 2] == 0 and bias[0, 2, 3] == -0.5 and bias[0, 2, 4] == float("-inf")
    assert torch.all(alibi_slopes(4)[:-1] > alibi_slopes(4)[1:])


def test_starts_at_the_template():
    model = MotionDecoder(dim=32, style_dim=8, num_vertices=20)
    assert torch.count_nonzero(model(torch.randn(2, 7, 32), torch.randn(2, 8))) == 0


def test_padding_never_leaks():
    model = decoder()
    audio, style = torch.randn(2, 12, 32), torch.randn(2, 8)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 8:] = False
    out = model(audio, style, mask)
    noisy = audio.clone()
    noisy[1, 8:] = 100.0
    assert torch.allclose(model(noisy, style, mask)[1, :8], out[1, :8], atol=1e-5)
    assert torch.isfinite(out).all()


def test_alignment_is_local():
    """A change of the audio at frame 20 reaches only frames within the receptive field."""
    model = decoder()
    audio, style = torch.randn(1, 60, 32), torch.randn(1, 8)
    changed = audio.clone()
    changed[0, 20] += 3.0
    moved = (model(changed, style) - model(audio, style)).abs().amax(dim=(2, 3))[0] > 1e-6  # (T,)
    reach = 2 * (6 + 2)  # two layers of self-attention window plus alignment band
    assert moved[20] and not moved[: 20 - reach].any() and not moved[20 + reach + 1:].any()


def test_style_changes_every_frame():
    model = decoder()
    for layer in model.layers:
        torch.nn.init.normal_(layer.film.weight, std=0.1)
    audio = torch.randn(1, 10, 32)
    a, b = model(audio, torch.zeros(1, 8)), model(audio, torch.ones(1, 8))
    assert ((a - b).abs().amax(dim=(2, 3)) > 1e-4).all()


def test_batch_items_are_independent():
    model = decoder()
    audio, style = torch.randn(3, 9, 32), torch.randn(3, 8)
    together = model(audio, style)
    alone = torch.cat([model(audio[i:i + 1], style[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)

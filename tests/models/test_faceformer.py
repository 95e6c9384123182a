"""The FaceFormer baseline: its masks and positional encoding against naive references, teacher
forcing against autoregressive decoding, causality, decoding for both architectures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_allclose, strip_mesh, tiny_faceformer_config, tiny_ptalker_config

from ptalker.errors import PtalkerError
from ptalker.models.decoder import alibi_slopes
from ptalker.models.faceformer import FaceFormer, alignment_mask, biased_causal_mask, periodic_encoding
from ptalker.models.ptalker import PTalker
from ptalker.pipelines.decoding import autoregressive_decode, decode_offsets

TINY = tiny_faceformer_config(layers=2, period=4, num_speakers=3)
"""Two layers, so audio reaches later frames through self-attention; a short period, so the bias varies."""
V = 10
"""Vertices of the tiny FaceFormer's mesh."""


def naive_biased_mask(length: int, period: int, slopes: list[float]) -> np.ndarray:
    """(H, T, T) the mask written out entry by entry."""
    mask = np.zeros((len(slopes), length, length))
    for h, slope in enumerate(slopes):
        for i in range(length):
            for j in range(length):
                mask[h, i, j] = -slope * math.floor((i - j) / period) if j <= i else -np.inf
    return mask


@pytest.mark.parametrize("heads,period,length", [(1, 1, 5), (2, 3, 10), (4, 30, 40), (8, 4, 17)])
def test_biased_causal_mask_matches_naive(heads, period, length):
    slopes = alibi_slopes(heads)
    mask = biased_causal_mask(length, period, slopes).numpy()
    expected = naive_biased_mask(length, period, slopes.tolist())
    assert mask.shape == (heads, length, length)
    assert np.array_equal(np.isneginf(mask), np.isneginf(expected)), "the future is not exactly the blocked part"
    finite = np.isfinite(expected)
    assert_allclose(mask[finite], expected[finite], atol=1e-6, what="mask bias")


def test_alignment_mask_is_negated_identity():
    for queries, keys in [(1, 1), (4, 4), (3, 7)]:
        mask = alignment_mask(queries, keys, torch.device("cpu")).numpy()
        assert mask.dtype == bool and mask.shape == (queries, keys)
        expected = np.ones((queries, keys), bool)
        for i in range(queries):
            expected[i, i] = False  # frame i sees audio frame i only
        assert np.array_equal(mask, expected), f"{queries}x{keys}: {mask.astype(int)}"


def test_periodic_encoding_repeats_with_the_period():
    period, dim = 5, 8
    encoding = periodic_encoding(17, dim, period, torch.device("cpu")).numpy()
    assert encoding.shape == (17, dim)
    assert_allclose(encoding[period:], encoding[:-period], atol=1e-6, what="encoding p+period vs p")
    within = encoding[:period]
    distances = np.abs(within[:, None] - within[None]).max(-1)  # (P, P)
    np.fill_diagonal(distances, np.inf)
    assert distances.min() > 1e-3, f"two positions within a period share an encoding: {distances.min()}"
    # position 0 is sin(0) = 0, cos(0) = 1 (the standard sinusoidal encoding)
    assert_allclose(encoding[0], np.tile([0.0, 1.0], dim // 2), atol=1e-7, what="position 0")


@pytest.fixture(scope="module")
def faceformer():
    torch.manual_seed(0)
    model = FaceFormer(TINY, V).eval()
    return model


@pytest.fixture(scope="module")
def trained_like(faceformer):
    """The tiny FaceFormer with a non-zero output layer (a fresh one predicts zeros)."""
    import copy

    model = copy.deepcopy(faceformer)
    torch.manual_seed(1)
    torch.nn.init.normal_(model.motion_out.weight, std=0.3)
    torch.nn.init.normal_(model.motion_out.bias, std=0.3)
    return model.eval()


def test_fresh_faceformer_predicts_zero_offsets(faceformer):
    audio = torch.randn(2, 6, TINY.dim)
    style = faceformer.identity_style(torch.tensor([0, 1]))
    with torch.no_grad():
        offsets = autoregressive_decode(faceformer, audio, style)
        forced = faceformer(audio, style, torch.randn(2, 6, V, 3) * 1e-3)
    assert offsets.shape == forced.shape == (2, 6, V, 3)
    assert offsets.abs().max() == 0 and forced.abs().max() == 0


def test_teacher_forcing_reproduces_autoregressive_decoding(trained_like):
    torch.manual_seed(2)
    audio = torch.randn(2, 11, TINY.dim)  # longer than two periods
    style = trained_like.identity_style(torch.tensor([0, 2]))
    unit = TINY.motion_unit
    with torch.no_grad():
        decoded = autoregressive_decode(trained_like, audio, style)
        forced = trained_like(audio, style, decoded)
    assert decoded.shape == (2, 11, V, 3)
    assert decoded.abs().max() > 10 * unit * 1e-2, "outputs too small for the comparison to mean anything"
    assert_allclose(forced / unit, decoded / unit, atol=1e-4, what="teacher-forced vs autoregressive (network units)")
    with torch.no_grad():  # the next frame depends on the previous ones: a target shifted by a frame differs
        shifted = trained_like(audio, style, torch.roll(decoded, 1, dims=1))
    assert (shifted - decoded).abs().max() / unit > 1e-2


def test_teacher_forced_causality(trained_like):
    torch.manual_seed(3)
    T, k = 10, 4
    audio = torch.randn(1, T, TINY.dim)
    style = trained_like.identity_style(torch.tensor([1]))
    target = torch.randn(1, T, V, 3) * 1e-3
    changed = target.clone()
    changed[:, k] += 2e-3
    with torch.no_grad():
        base = trained_like(audio, style, target)[0] / TINY.motion_unit  # (T, V, 3)
        moved = trained_like(audio, style, changed)[0] / TINY.motion_unit
    change = (moved - base).abs().amax(dim=(1, 2))  # (T,)
    assert change[:k + 1].max() < 1e-5, f"target frame {k} changed earlier outputs: {change.tolist()}"
    assert change[k + 1] > 1e-3, f"target frame {k} did not reach output {k + 1}: {change.tolist()}"


def test_scheduled_sampling_feeds_the_networks_own_predictions(trained_like):
    """In training, share 1 decodes from the network's own teacher-forced predictions, share 0 from
    the truth, and a share in between mixes the two per frame; evaluation is always teacher-forced."""
    import dataclasses

    torch.manual_seed(4)
    audio = torch.randn(2, 9, TINY.dim)
    style = trained_like.identity_style(torch.tensor([0, 1]))
    target = torch.randn(2, 9, V, 3) * 1e-3

    def run(share, training, inputs=target):
        """The trained-like network without dropout (so training and evaluation decode alike)."""
        model = FaceFormer(dataclasses.replace(TINY, scheduled_sampling=share, dropout=0.0), V)
        model.load_state_dict(trained_like.state_dict())
        model.train(training)
        with torch.no_grad():
            return model(audio, style, inputs)

    forced = run(0.0, False)
    from_own = run(0.0, False, inputs=forced)  # decoded from the network's own teacher-forced predictions
    assert_allclose(run(0.0, True) / TINY.motion_unit, forced / TINY.motion_unit, atol=1e-5, what="share 0 in training")
    assert_allclose(run(1.0, True) / TINY.motion_unit, from_own / TINY.motion_unit, atol=1e-5, what="share 1")
    assert (from_own - forced).abs().max() / TINY.motion_unit > 1e-3, "own predictions too close to the truth to tell"
    assert_allclose(run(1.0, False) / TINY.motion_unit, forced / TINY.motion_unit, atol=1e-5, what="share 1, eval")
    mixed = run(0.5, True)
    assert (mixed - forced).abs().max() > 0 and (mixed - from_own).abs().max() > 0
    with pytest.raises(PtalkerError, match="scheduled_sampling"):
        dataclasses.replace(TINY, scheduled_sampling=1.5)


@pytest.mark.parametrize("decoder", ["teacher_forced", "autoregressive"])
def test_audio_frame_reaches_only_later_frames(trained_like, decoder):
    torch.manual_seed(4)
    T, k = 10, 5
    audio = torch.randn(1, T, TINY.dim)
    style = trained_like.identity_style(torch.tensor([0]))
    target = torch.randn(1, T, V, 3) * 1e-3
    changed = audio.clone()
    changed[:, k] += 1.0

    def run(features):
        with torch.no_grad():
            if decoder == "teacher_forced":
                return trained_like(features, style, target)[0] / TINY.motion_unit
            return autoregressive_decode(trained_like, features, style)[0] / TINY.motion_unit

    change = (run(changed) - run(audio)).abs().amax(dim=(1, 2))  # (T,)
    assert change[:k].max() < 1e-5, f"audio frame {k} changed earlier frames: {change.tolist()}"
    assert (change[k:] > 1e-4).all(), f"audio frame {k} did not reach every later frame: {change.tolist()}"


def tiny_ptalker():
    return PTalker(tiny_ptalker_config(graph_nodes=8, num_speakers=2), *strip_mesh(30)).eval()


@pytest.mark.parametrize("architecture", ["ptalker", "faceformer"])
def test_decode_offsets_shapes(architecture, trained_like):
    torch.manual_seed(5)
    model = tiny_ptalker() if architecture == "ptalker" else trained_like
    B, T = 2, 7
    audio = torch.randn(B, T * 16000 // 30) * 0.1
    style = model.identity_style(torch.tensor([0, 1]))
    with torch.no_grad():
        offsets = decode_offsets(model, audio, T, style)
    assert offsets.shape == (B, T, model.num_vertices, 3) and torch.isfinite(offsets).all()
    if architecture == "faceformer":  # decode_offsets = encoder, then the autoregressive loop
        with torch.no_grad():
            expected = autoregressive_decode(model, model.encode_audio(audio, T), style)
        assert_allclose(offsets, expected, atol=1e-9, what="decode_offsets vs autoregressive_decode")


def test_batch_decodes_as_its_samples_alone(trained_like):
    """Each sample of a batch gets every head's mask (the (B*H, T, T) mask is batch-major)."""
    torch.manual_seed(6)
    audio = torch.randn(3, 11, TINY.dim)
    style = trained_like.identity_style(torch.tensor([2, 0, 1]))
    with torch.no_grad():
        together = autoregressive_decode(trained_like, audio, style)
        alone = torch.cat([autoregressive_decode(trained_like, audio[b:b + 1], style[b:b + 1]) for b in range(3)])
    assert_allclose(together / TINY.motion_unit, alone / TINY.motion_unit, atol=1e-4, what="batch vs one by one")

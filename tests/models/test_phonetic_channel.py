"""The phonetic channel of PTalker: shapes, what it feeds, audio dropout, masking of padded
frames, and clips that keep one phone variant."""

import dataclasses

import numpy as np
import torch
from helpers import tiny_ptalker_config

from ptalker.models.ptalker import PTalker
from ptalker.training.clips import pick_phones

P = 13


def _model(standin_template, standin_model, phone_classes: int) -> PTalker:
    torch.manual_seed(0)
    config = dataclasses.replace(tiny_ptalker_config(), phone_classes=phone_classes)
    return PTalker(config, standin_template.astype(np.float32), standin_model.faces).eval()


def test_phones_change_the_content_not_the_style(standin_template, standin_model):
    model = _model(standin_template, standin_model, P)
    assert model.uses_phones
    audio = torch.randn(2, 16000)
    phones = torch.zeros(2, 30, P)
    phones[:, :, 2] = 1.0  # all bilabial
    with torch.no_grad():
        without = model.audio_codes(audio, 30)
        zeros = model.audio_codes(audio, 30, phones=torch.zeros(2, 30, P))
        moved = model.audio_codes(audio, 30, phones=phones)
    assert without.content_mu.shape == (2, 30, model.config.content_dim)
    assert torch.equal(without.content_mu, zeros.content_mu)  # no phones = all-zero classes (audio only)
    assert not torch.allclose(without.content_mu, moved.content_mu)
    assert torch.equal(without.style, moved.style)  # the style reads the audio only


def test_audio_dropout_hides_the_audio_of_clips_with_phones_in_training(standin_template, standin_model):
    model = _model(standin_template, standin_model, P)
    model.config.audio_dropout = 1.0
    model.train()
    model.audio_content.body.drop.p = 0.0  # no ordinary dropout: compare outputs exactly
    phones = torch.zeros(2, 30, P)
    phones[0, :, 4] = 1.0  # clip 0 has phones, clip 1 none
    first = model.audio_codes(torch.randn(2, 16000), 30, phones=phones).content_mu
    second = model.audio_codes(torch.randn(2, 16000), 30, phones=phones).content_mu
    assert torch.allclose(first[0], second[0], atol=1e-6)  # content from the phones alone
    assert not torch.allclose(first[1], second[1])  # no phones: the audio stays


def test_padded_frames_do_not_reach_real_ones(standin_template, standin_model):
    model = _model(standin_template, standin_model, P)
    with torch.no_grad():
        model.phone_input.weight.normal_()
        audio = torch.randn(1, 16000)
        mask = torch.ones(1, 30, dtype=torch.bool)
        mask[:, 20:] = False
        phones = torch.zeros(1, 30, P)
        phones[..., 0] = 1.0
        other = phones.clone()
        other[:, 20:] = 0.0
        other[:, 20:, 5] = 1.0  # different phones on the padded frames only
        first = model.audio_codes(audio, 30, frame_mask=mask, phones=phones).content_mu[:, :20]
        second = model.audio_codes(audio, 30, frame_mask=mask, phones=other).content_mu[:, :20]
    assert torch.allclose(first, second, atol=1e-6)


def test_audio_only_network_ignores_phones(standin_template, standin_model):
    model = _model(standin_template, standin_model, 0)
    assert not model.uses_phones and model.phone_input is None
    audio = torch.randn(1, 16000)
    with torch.no_grad():
        assert torch.equal(model.audio_codes(audio, 30).content_mu,
                           model.audio_codes(audio, 30, phones=torch.ones(1, 30, P)).content_mu)


def test_clips_keep_one_variant_or_none():
    phones = torch.stack([torch.full((10, P), 1.0), torch.full((10, P), 2.0)])  # (2, T, P)
    rng = np.random.default_rng(0)
    picks = [pick_phones(phones, 0.3, 0.25, rng)[0, 0].item() for _ in range(800)]
    shares = [picks.count(value) / 800 for value in (0.0, 1.0, 2.0)]  # none, recognized, true
    assert abs(shares[0] - 0.3) < 0.05 and abs(shares[1] - 0.175) < 0.05 and abs(shares[2] - 0.525) < 0.05


def test_phones_only_content_ignores_the_audio(standin_template, standin_model):
    model = _model(standin_template, standin_model, P)
    model.config.content_inputs = "phones"
    phones = torch.zeros(1, 30, P)
    phones[0, :, 8] = 1.0
    with torch.no_grad():
        first = model.audio_codes(torch.randn(1, 16000), 30, phones=phones)
        second = model.audio_codes(torch.randn(1, 16000), 30, phones=phones)
        assert torch.equal(first.content_mu, second.content_mu) and not torch.equal(first.style, second.style)
        audio = torch.randn(1, 16000)  # without phones the content still reads the audio
        assert not torch.equal(model.audio_codes(audio, 30).content_mu, first.content_mu)


def test_unknown_content_inputs_is_a_clear_error(standin_template, standin_model):
    import pytest

    from ptalker.errors import PtalkerError

    with pytest.raises(PtalkerError, match="content_inputs 'video': choose one of audio\\+phones, phones"):
        PTalker(dataclasses.replace(tiny_ptalker_config(), phone_classes=P, content_inputs="video"),
                standin_template.astype(np.float32), standin_model.faces)

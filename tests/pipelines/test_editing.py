"""Editing performances with the shipped flow sampler (issue 18): infill a span, re-dub the mouth,
keyframes; what an edit keeps comes back bit-identical, the edited part changes and joins its
neighbours, bad inputs are clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from ptalker.cli import main
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.errors import PtalkerError
from ptalker.metrics.seams import seam_jerk_ratio
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.pipelines.animator import FLOW_CHECKPOINT, load_model
from ptalker.pipelines.edit_commands import load_key, parse_span
from ptalker.pipelines.editing import Key, infill, join_span, keyframes, redub, retime_positions, span_frames


@pytest.fixture(scope="module")
def animator():
    return load_model(FLOW_CHECKPOINT)


@pytest.fixture(scope="module")
def dataset(tiny_corpus):
    return TalkingHeadDataset(tiny_corpus, get_dataset_spec("custom", tiny_corpus / "dataset.yaml"), "train")


@pytest.fixture(scope="module")
def performance(dataset):
    return dataset[0]


def test_infill_changes_the_span_only_and_joins_it(animator, performance):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    out = infill(animator, vertices, audio, (0.5, 1.5), template=performance.template.numpy())
    assert out.shape == vertices.shape and out.dtype == np.float32
    assert np.array_equal(out[:15], vertices[:15]) and np.array_equal(out[45:], vertices[45:])
    assert np.abs(out[15:45] - vertices[15:45]).max() > 1e-4
    lips = animator.topology.masks.lips
    assert seam_jerk_ratio(out[:, lips], 15, 45) <= 2.0


def test_join_span_continues_position_velocity_and_acceleration():
    t = np.arange(40, dtype=np.float32)[:, None]
    smooth = np.concatenate([0.01 * t**2, np.sin(0.2 * t)], axis=1)  # (40, 2) a smooth path
    jumped = smooth.copy()
    jumped[10:30] += 5.0  # the sampled stretch is off by a constant
    import torch

    joined = join_span(torch.from_numpy(jumped), 10, 30).numpy()
    assert np.array_equal(joined[:10], jumped[:10]) and np.array_equal(joined[30:], jumped[30:])
    assert np.abs(joined[[10, 29]] - smooth[[10, 29]]).max() < 0.01  # both borders continue the kept path
    assert np.array_equal(joined[18:22], jumped[18:22])  # past the 8-frame fades the sampled frames stay
    assert np.abs(np.diff(joined, n=3, axis=0)).max() < 1.0 < np.abs(np.diff(jumped, n=3, axis=0)).max()


def test_redub_keeps_everything_outside_the_mouth(animator, performance, dataset):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    other = dataset[1].audio.numpy()[:len(audio)]
    other = np.pad(other, (0, len(audio) - len(other)))  # as long as the performance
    out = redub(animator, vertices, other, source_audio=audio, template=performance.template.numpy())
    mouth = animator.region_blend[0]
    assert out.shape == vertices.shape
    assert np.array_equal(out[:, mouth == 0], vertices[:, mouth == 0])
    assert np.abs(out[:, mouth == 1] - vertices[:, mouth == 1]).max() > 1e-3


def test_redub_retimes_for_shorter_and_longer_speech(animator, performance):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    short = redub(animator, vertices, audio[:len(audio) // 2], source_audio=audio)
    long = redub(animator, vertices, np.concatenate([audio, audio]), source_audio=audio, retime="loop")
    T = len(vertices)
    assert abs(len(short) - T / 2) <= 1 and abs(len(long) - 2 * T) <= 1
    upper = animator.region_blend[1] == 1
    assert np.array_equal(short[0, upper], vertices[0, upper]) and np.array_equal(short[-1, upper], vertices[-1, upper])
    assert np.array_equal(long[T - 1, upper], vertices[T - 1, upper])  # loop: the last frame, then back
    assert np.array_equal(long[T, upper], vertices[T - 2, upper])


def test_redub_speaks_the_new_sentence(animator, dataset):
    """Re-dubbing a sentence with another sentence's speech of the same speaker lands nearer that
    sentence's true lips than copying the source does."""
    source, target = dataset[0], dataset[1]
    assert source.name.subject == target.name.subject
    out = redub(animator, source.vertices.numpy(), target.audio.numpy(), source_audio=source.audio.numpy(),
                template=source.template.numpy())
    truth = target.vertices.numpy()
    frames = min(len(out), len(truth))
    copied = source.vertices.numpy()[retime_positions(len(source.vertices), frames, "stretch").round().astype(int)]
    lips = animator.topology.masks.lips
    redubbed_error = lip_vertex_error([out[:frames]], [truth[:frames]], lips)
    copied_error = lip_vertex_error([copied], [truth[:frames]], lips)
    assert redubbed_error < 0.8 * copied_error


def test_retime_positions():
    assert np.array_equal(retime_positions(5, 5, "stretch"), np.arange(5))
    assert np.allclose(retime_positions(5, 9, "stretch"), np.arange(9) / 2)
    assert retime_positions(4, 10, "loop").tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert retime_positions(4, 2, "loop").tolist() == [0, 1]
    with pytest.raises(PtalkerError, match="--retime wobble: choose one of stretch, loop"):
        retime_positions(4, 5, "wobble")


def test_keyframes_pin_frames_and_region_shapes(animator, performance):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    template = performance.template.numpy()
    other = animator.animate(audio, "S01", template=template).vertices  # head-stabilized shapes to pin
    keys = [Key(0.5, vertices[15]), Key(1.5, other[25], "mouth")]  # another frame's mouth at frame 45
    out = keyframes(animator, audio, keys, template=template)
    assert len(out) == len(vertices)
    assert np.array_equal(out[15], vertices[15])
    mouth, upper = animator.region_blend[0] == 1, animator.region_blend[1] == 1
    free = keyframes(animator, audio, [Key(0.5, vertices[15])], template=template)
    assert np.abs(out[45, mouth] - other[25, mouth]).max() < 1e-4  # held through the motion basis
    assert np.abs(free[45, mouth] - other[25, mouth]).max() > 1e-3
    assert np.array_equal(out[:, upper], free[:, upper])  # a mouth key leaves the other regions' runs alone
    with pytest.raises(PtalkerError, match="key: t=99 s is outside the audio"):
        keyframes(animator, audio, [Key(99.0, vertices[0])])
    with pytest.raises(PtalkerError, match="frame 15 is pinned twice"):
        keyframes(animator, audio, [Key(0.5, vertices[15]), Key(0.51, vertices[16])])
    with pytest.raises(PtalkerError, match="key: expected \\(.*, 3\\) vertices of the checkpoint's mesh"):
        keyframes(animator, audio, [Key(0.5, vertices[15, :100])])


def test_bad_spans_and_inputs_are_clear_errors(animator, tiny_animator, performance):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    seconds = len(vertices) / 30.0
    with pytest.raises(PtalkerError, match=f"--span 1:9: expected start < end inside the sequence \\(0 to {seconds:.2f} s\\)"):
        infill(animator, vertices, audio, (1.0, 9.0))
    with pytest.raises(PtalkerError, match="--span 2:1"):
        span_frames((2.0, 1.0), 90, 30.0)
    with pytest.raises(PtalkerError, match="audio: lasts 0.50 s, shorter than the span \\(1.00 s\\)"):
        infill(animator, vertices, audio[:8000], (0.5, 1.5))
    with pytest.raises(PtalkerError, match="audio: lasts .* frames at 30 fps, the performance 20"):
        infill(animator, vertices[:20], audio, (0.1, 0.5))
    with pytest.raises(PtalkerError, match="performance: expected \\(T, .*, 3\\) vertices of the checkpoint's mesh"):
        infill(animator, vertices[:, :100], audio, (0.1, 0.5))
    with pytest.raises(PtalkerError, match="editing needs a flow checkpoint's sampler"):
        infill(tiny_animator, vertices, audio, (0.1, 0.5))
    with pytest.raises(PtalkerError, match="source audio: lasts .* frames at 30 fps, the performance 20"):
        redub(animator, vertices[:20], audio, source_audio=audio)
    with pytest.raises(PtalkerError, match="not both"):
        redub(animator, vertices, audio, source_audio=audio, style="S01")
    with pytest.raises(PtalkerError, match="--span 2-3: expected START:END in seconds"):
        parse_span("2-3")


def test_key_specs(tmp_path, animator):
    pose = tmp_path / "pose.npy"
    np.save(pose, animator.topology.template)
    key = load_key(f"t=1.2:{pose}:jaw")
    assert key.time_s == 1.2 and key.region == "jaw" and key.vertices.shape == animator.topology.template.shape
    assert load_key(f"t=0:{pose}").region is None
    for spec, message in (("1.2:pose.npy", "expected t=SECONDS:FILE.npy"), ("t=x:pose.npy", "'x' is not a time"),
                          (f"t=1:{tmp_path / 'pose.obj'}", "must be a .npy file")):
        with pytest.raises(PtalkerError, match=message):
            load_key(spec)


def test_edit_commands_write_a_folder(tmp_path, performance, capsys):
    perf, speech = tmp_path / "performance.npy", tmp_path / "speech.wav"
    np.save(perf, performance.vertices.numpy())
    soundfile.write(speech, performance.audio.numpy(), 16000, subtype="FLOAT")
    assert main(["edit", "infill", str(perf), "--audio", str(speech), "--span", "0.5:1.0", "--out",
                 str(tmp_path / "infilled"), "--region", "upper:style=0", "--format", "npz"]) == 0
    out = np.load(tmp_path / "infilled" / "vertices.npy")
    assert np.array_equal(out[:15], performance.vertices.numpy()[:15])
    assert (tmp_path / "infilled" / "animation.npz").is_file()
    assert main(["edit", "redub", str(perf), "--audio", str(speech), "--out", str(tmp_path / "redub"),
                 "--retime", "loop", "--format", "npy"]) == 0
    assert "redub: wrote" in capsys.readouterr().out
    assert main(["edit", "infill", str(perf), "--audio", str(speech), "--span", "0.5:9", "--out",
                 str(tmp_path / "bad")]) == 2
    assert main(["edit", "infill", str(perf), "--audio", str(speech), "--span", "0.5:1", "--region", "nose:audio=2",
                 "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "--span 0.5:9: expected start < end" in err and "unknown region 'nose'" in err
    assert not (tmp_path / "bad").exists()

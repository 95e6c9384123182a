"""The whole-face controls (ptalker.controls) on the shipped flow sampler: does each factor do
what was asked, and do the lips still follow the speech with every control on?

    python benchmarks/whole_face.py [--data data/synth_benchmark] [--real data/realspeech]

On the synthetic corpus's test split (unseen speakers, each in its own style from its own clip,
on its true neutral mesh), every sequence is animated plain and with all controls on: pose
generated, gaze generated, 15 blinks a minute, and an emotion (the five labels in turn at
intensity 0.7; neutral is intensity 0).

1. Lips: LVE (mm^2, the field's: mean over frames of the largest squared lip-vertex distance)
   against the true motion, with the head motion removed from both (Kabsch on scalp and ears),
   plain vs all controls on.
2. Emotion read back from the generated motion (ptalker.controls.factors: the lasting offset
   outside lips, jaw and eyes against the person's neutral mesh): 5-way accuracy (chance 20%);
   the lip-gap change an emotion causes (mm), and the correlation between the emotion read back
   and lip statistics over the sequences (lip-gap std, lip-envelope correlation).
3. Pose: largest head angle (deg), largest angular acceleration (deg/s^2); 'from_clip' with the
   true sequence as the clip: the true head pose reproduced (deg, max).
4. Blinks over 60 s of concatenated test speech at 10, 15, 20 per minute: blinks counted from
   the lid gaps (ptalker.metrics.face_measures.blink_times).
5. Gaze: 100 random requests within +-20 deg yaw, +-12 deg pitch: largest error (deg).

On real recordings (--real): /p b m/ closure and lip-envelope correlation (ptalker's sync
score against the recording's aligned phones), plain vs all controls on.

On the whole-face corpus's validation split (--wholeface, configs/data/synth_wholeface.yaml:
emotional speech): the correlation between the emotion latent (each sentence's true emotion,
one intensity per non-neutral label) and the lip latent (the content code PTalker computes from
the speech, (T, C) per sentence), per frame over all frames, and per sentence (time means).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, pooled_sync, save_results, set_threads

from ptalker.audio.io import load_audio
from ptalker.audio.timeline import read_timeline
from ptalker.controls.compose import apply_controls
from ptalker.controls.factors import clip_factors
from ptalker.controls.rig import measure_gaze
from ptalker.controls.spec import check_controls
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.realspeech import load_realspeech
from ptalker.data.splits import get_dataset_spec
from ptalker.data.synth.corpus import load_alignment
from ptalker.evaluation.sync import sync_score
from ptalker.flame.expressions import EMOTIONS
from ptalker.flame.masks import head_face_sets
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.metrics.face_measures import blink_times, envelope_correlations, lid_gap, lip_gap
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.pipelines.animator import FLOW_CHECKPOINT, Style, load_model

MM2, MM = 1e6, 1e3
INTENSITY = 0.7
BLINK_RATES = (10.0, 15.0, 20.0)
SYNC_LAG_S = 0.1


def all_controls(index: int) -> dict:
    label = EMOTIONS[index % len(EMOTIONS)]
    return {"pose": "generate", "gaze": "generate", "blink": {"rate_per_min": 15.0}, "seed": index,
            "emotion": {"label": label, "intensity": 0.0 if label == "neutral" else INTENSITY}}


def _sync(audio: np.ndarray, vertices: np.ndarray, template: np.ndarray, sets, fps: float) -> float:
    _, corr = envelope_correlations(audio, 16000, lip_gap(vertices, sets, template), fps, SYNC_LAG_S)
    return float(np.nanmax(corr))


def synthetic(model, dataset, sets) -> dict:
    rig, lips, fps = model.face_rig, model.topology.masks.lips, model.fps
    lve = {"plain": [], "controls": []}
    read, gap_change, emotion_strength, gap_std, sync = [], [], [], [], []
    angles, accelerations, from_clip = [], [], []
    for index in range(len(dataset)):
        item = dataset[index]
        audio, truth, template = item.audio.numpy(), item.vertices.numpy(), item.template.numpy()
        style = Style(reference_audio=audio, reference_motion=truth, reference_template=template)
        plain = model.animate(audio, style, template).vertices
        controls = all_controls(index)
        posed = model.animate(audio, style, template, controls=controls).vertices
        frames = min(len(truth), len(plain))
        truth_face = remove_head_motion(truth, template, rig.rigid).aligned[:frames]
        face = remove_head_motion(posed, template, rig.rigid).aligned[:frames]
        lve["plain"].append(MM2 * lip_vertex_error([plain[:frames]], [truth_face], lips))
        lve["controls"].append(MM2 * lip_vertex_error([face], [truth_face], lips))
        factors = clip_factors(posed, rig, template)
        label = controls["emotion"]["label"]
        read.append(factors.emotion_label == label)
        gap_change.append(MM * float(np.mean(lip_gap(face, sets) - lip_gap(plain[:frames], sets))))
        emotion_strength.append(max(factors.emotion.values()))
        gap_std.append(MM * float(np.std(lip_gap(face, sets))))
        sync.append(_sync(audio, posed, template, sets, fps))
        degrees = np.degrees(factors.rotation)
        angles.append(float(np.abs(degrees).max()))
        accelerations.append(float(np.abs(np.diff(degrees, 2, axis=0)).max() * fps ** 2))
        copied = model.animate(audio, style, template, controls={"pose": "from_clip", "clip": truth,
                                                                  "clip_template": template}).vertices
        true_pose = remove_head_motion(truth, template, rig.rigid).rotation
        back = clip_factors(copied, rig, template).rotation
        from_clip.append(float(np.degrees(np.abs(back[:frames] - true_pose[:frames])).max()))
    return {"sequences": len(dataset),
            "lve_mm2": {k: float(np.mean(v)) for k, v in lve.items()},
            "emotion_accuracy": float(np.mean(read)),
            "emotion_lip_gap_change_mm": {"mean": float(np.mean(gap_change)),
                                          "max_abs": float(np.abs(gap_change).max())},
            "corr_emotion_vs_lip_gap_std": float(np.corrcoef(emotion_strength, gap_std)[0, 1]),
            "corr_emotion_vs_sync": float(np.corrcoef(emotion_strength, sync)[0, 1]),
            "pose_max_deg": max(angles), "pose_max_acceleration_deg_s2": max(accelerations),
            "pose_from_clip_max_error_deg": max(from_clip)}


def blinks(model, dataset, sets) -> dict:
    rig, fps = model.face_rig, model.fps
    audio, frames, template = [], [], dataset[0].template.numpy()
    index = 0
    while sum(len(a) for a in audio) < 60 * 16000:
        item = dataset[index % len(dataset)]
        audio.append(item.audio.numpy())
        index += 1
    audio = np.concatenate(audio)[:60 * 16000]
    frames = model.animate(audio, None, template).vertices
    counts = {}
    for rate in BLINK_RATES:
        out, _ = apply_controls(frames, audio, fps, check_controls({"blink": {"rate_per_min": rate}}), rig, template)
        counts[str(rate)] = int(len(blink_times(lid_gap(out, sets), fps)))
    return {"seconds": len(audio) / 16000, "counted": counts}


def gaze(model, template: np.ndarray) -> float:
    rig = model.face_rig
    rng = np.random.default_rng(0)
    request = np.stack([rng.uniform(-20, 20, 100), rng.uniform(-12, 12, 100)], 1)
    frames = np.repeat(template[None], len(request), 0)
    out, _ = apply_controls(frames, np.zeros(16000 * 4, np.float32), model.fps, check_controls({"gaze": request}),
                            rig, template)
    return float(np.abs(measure_gaze(out, template, rig) - request).max())


def real_speech(model, dataset, data: Path, sets) -> dict:
    scores = {"plain": [], "controls": []}
    for number, entry in enumerate(load_realspeech(data)):
        source = dataset[number % len(dataset)]
        audio = load_audio(data / "wav" / f"{entry.id}.wav")
        timeline = read_timeline(data / "align" / f"{entry.id}.json")
        template = source.template.numpy()
        style = Style(reference_audio=source.audio.numpy(), reference_motion=source.vertices.numpy(),
                      reference_template=template)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, controls in (("plain", None), ("controls", all_controls(number))):
                vertices = model.animate(audio, style, template, text=entry.text, controls=controls).vertices
                scores[name].append(sync_score(vertices, model.fps, audio, timeline, sets, template, "transcript"))

    return {name: pooled_sync(values) for name, values in scores.items()} | {"recordings": len(scores["plain"])}


def _max_abs_corr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Largest and mean |Pearson correlation| between the columns of a (N, A) and b (N, B)."""
    corr = np.corrcoef(np.concatenate([a, b], 1).T)[:a.shape[1], a.shape[1]:]
    return float(np.nanmax(np.abs(corr))), float(np.nanmean(np.abs(corr)))


def decorrelation(model, root: Path) -> dict:
    import torch
    import yaml

    split = yaml.safe_load((root / "dataset.yaml").read_text())["splits"]["val"]
    frames_lip, frames_emotion, clip_lip, clip_emotion = [], [], [], []
    for stem in (f"{s}_{n}" for s in split["subjects"] for n in split["sentences"]):
        alignment = load_alignment(root, stem)
        audio = torch.from_numpy(load_audio(root / "wav" / f"{stem}.wav"))[None]
        with torch.no_grad():
            lip = model.model.audio_codes(audio, alignment.num_frames).content_mu[0].numpy()  # (T, C)
        emotion = np.zeros(len(EMOTIONS) - 1)
        if alignment.emotion.label != "neutral":
            emotion[EMOTIONS.index(alignment.emotion.label) - 1] = alignment.emotion.intensity
        frames_lip.append(lip)
        frames_emotion.append(np.repeat(emotion[None], len(lip), 0))
        clip_lip.append(lip.mean(0))
        clip_emotion.append(emotion)
    per_frame = _max_abs_corr(np.concatenate(frames_emotion), np.concatenate(frames_lip))
    per_clip = _max_abs_corr(np.asarray(clip_emotion), np.asarray(clip_lip))
    return {"sentences": len(clip_lip), "frames": int(sum(len(f) for f in frames_lip)),
            "lip_dims": int(frames_lip[0].shape[1]),
            "per_frame_max_abs": per_frame[0], "per_frame_mean_abs": per_frame[1],
            "per_sentence_max_abs": per_clip[0], "per_sentence_mean_abs": per_clip[1],
            "per_sentence_chance_mean_abs": float(np.sqrt(2 / np.pi / (len(clip_lip) - 1)))}


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark", help="synthetic corpus root")
    parser.add_argument("--real", type=Path, default=ROOT / "data" / "realspeech", help="prepared real-speech set")
    parser.add_argument("--wholeface", type=Path, default=ROOT / "data" / "synth_wholeface",
                        help="whole-face corpus root (configs/data/synth_wholeface.yaml)")
    args = parser.parse_args()
    set_threads()
    start = time.perf_counter()
    model = load_model(FLOW_CHECKPOINT)
    dataset = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    sets = head_face_sets()
    results = {"synthetic": synthetic(model, dataset, sets), "blinks": blinks(model, dataset, sets),
               "gaze_max_error_deg": gaze(model, dataset[0].template.numpy())}
    s, b = results["synthetic"], results["blinks"]
    parts = [markdown_table(
        [f"synthetic test split ({s['sequences']} sequences)", "plain", "all controls on"],
        [["lip error LVE (mm^2, head motion removed)", f"{s['lve_mm2']['plain']:.2f}",
          f"{s['lve_mm2']['controls']:.2f}"]]),
        markdown_table(["factor", "measured"], [
            ["emotion read back from the motion, 5-way (chance 20%)", f"{100 * s['emotion_accuracy']:.0f}%"],
            ["lip-gap change caused by the emotion (mm, mean / max abs)",
             f"{s['emotion_lip_gap_change_mm']['mean']:+.3f} / {s['emotion_lip_gap_change_mm']['max_abs']:.3f}"],
            ["corr(emotion read back, lip-gap std) over sequences", f"{s['corr_emotion_vs_lip_gap_std']:+.2f}"],
            ["corr(emotion read back, lip-envelope corr) over sequences", f"{s['corr_emotion_vs_sync']:+.2f}"],
            ["generated head angle, max (deg)", f"{s['pose_max_deg']:.1f}"],
            ["generated angular acceleration, max (deg/s^2)", f"{s['pose_max_acceleration_deg_s2']:.0f}"],
            ["pose from_clip vs the clip's pose, max error (deg)", f"{s['pose_from_clip_max_error_deg']:.4f}"],
            *[[f"blinks counted in {b['seconds']:.0f} s at {float(rate):g}/min", str(count)]
              for rate, count in b["counted"].items()],
            ["gaze: 100 requests, max error (deg)", f"{results['gaze_max_error_deg']:.4f}"]])]
    if (args.real / "realspeech.json").is_file():
        results["real_speech"] = real = real_speech(model, dataset, args.real, sets)
        parts.append(markdown_table(
            [f"real recordings ({real['recordings']}, {real['plain']['bilabials']} /p b m/)", "/p b m/ closed",
             "envelope correlation"],
            [[name, f"{100 * real[name]['bilabial_closure']:.0f}%", f"{real[name]['envelope_correlation']:.3f}"]
             for name in ("plain", "controls")]))
    if (args.wholeface / "dataset.yaml").is_file():
        results["decorrelation"] = d = decorrelation(model, args.wholeface)
        parts.append(markdown_table(
            [f"abs corr(emotion latent, lip latent), whole-face val split ({d['sentences']} sentences)", "max", "mean"],
            [[f"per frame ({d['frames']} frames x {d['lip_dims']} lip dims)", f"{d['per_frame_max_abs']:.3f}",
              f"{d['per_frame_mean_abs']:.3f}"],
             [f"per sentence (chance mean {d['per_sentence_chance_mean_abs']:.3f})", f"{d['per_sentence_max_abs']:.3f}",
              f"{d['per_sentence_mean_abs']:.3f}"]]))
    results["seconds"] = time.perf_counter() - start
    markdown = "\n\n".join(parts) + f"\n\n({results['seconds']:.0f} s on this machine)\n"
    print(markdown)
    save_results(args.results, "whole_face", results, markdown)


if __name__ == "__main__":
    main()

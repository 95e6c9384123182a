"""Data set descriptions as data: frame rates, vertex counts, splits and region conventions.

VOCASET and BIWI are built in (docs/architecture.md, "Data contracts"); any other data set is described by a YAML
file (see ``configs/data/custom_example.yaml``) with the same fields as :class:`DatasetSpec`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ptalker.config import apply_overrides, from_dict, load_config
from ptalker.constants import BIWI_FPS, BIWI_NUM_VERTICES, FLAME_NUM_VERTICES, VOCASET_CAPTURE_FPS, VOCASET_FPS
from ptalker.data.layout import SequenceName
from ptalker.errors import PtalkerError

LAYOUT_INFO_FILE = "layout.json"
"""Written by ptalker's converters beside wav/ and vertices_npy/: {"fps": frame rate on disk}."""

REGIONS_FLAME_MASKS = "flame_masks"
"""Lips = FLAME_masks.pkl 'lips'; upper face = 'forehead' + 'eye_region' (VOCASET papers)."""
REGIONS_INDEX_FILES = "index_files"
"""Lips = ROOT/regions/lve.txt; upper face = ROOT/regions/fdd.txt (BIWI, CodeTalker)."""


@dataclass
class SplitSpec:
    """Which sequences belong to a split. An empty sentence list means every sentence."""

    subjects: list[str]
    sentences: list[str] = field(default_factory=list)

    def contains(self, name: SequenceName) -> bool:
        return name.subject in self.subjects and (not self.sentences or name.sentence in self.sentences)


@dataclass
class DatasetSpec:
    """How to read and evaluate one data set."""

    name: str
    fps: float
    """Frame rate models train and predict at."""
    fps_on_disk: float
    """Frame rate of the files in vertices_npy/; a whole multiple of ``fps``."""
    splits: dict[str, SplitSpec]
    num_vertices: int | None = None
    """Vertices per mesh, or None to take it from templates.pkl."""
    condition_subjects: list[str] = field(default_factory=list)
    """Training subjects whose identity style can condition a prediction (one-hot speakers)."""
    regions: str = REGIONS_INDEX_FILES
    """Lip / upper-face region convention: 'flame_masks' or 'index_files'."""

    def __post_init__(self) -> None:
        step = self.fps_on_disk / self.fps
        if self.fps <= 0 or abs(step - round(step)) > 1e-6 or round(step) < 1:
            raise PtalkerError(
                f"data set '{self.name}': fps_on_disk {self.fps_on_disk} is not a whole multiple "
                f"of fps {self.fps}; set fps to a divisor of the recorded rate"
            )
        if self.regions not in (REGIONS_FLAME_MASKS, REGIONS_INDEX_FILES):
            raise PtalkerError(
                f"data set '{self.name}': regions '{self.regions}' unknown; use "
                f"'{REGIONS_FLAME_MASKS}' or '{REGIONS_INDEX_FILES}'"
            )

    @property
    def frame_step(self) -> int:
        """Keep every ``frame_step``-th frame of a file to get ``fps``."""
        return int(round(self.fps_on_disk / self.fps))

    def split(self, name: str) -> SplitSpec:
        """The split called ``name``; raises PtalkerError naming the known splits."""
        if name not in self.splits:
            raise PtalkerError(
                f"data set '{self.name}' has no split '{name}'; choose one of {', '.join(self.splits)}"
            )
        return self.splits[name]

    def for_root(self, root: str | os.PathLike) -> "DatasetSpec":
        """This spec with ``fps_on_disk`` taken from ROOT/layout.json when a converter wrote one."""
        info_path = Path(root) / LAYOUT_INFO_FILE
        if not info_path.is_file():
            return self
        try:
            fps = float(json.loads(info_path.read_text())["fps"])
        except (ValueError, KeyError, TypeError) as err:
            raise PtalkerError(f"{info_path}: expected JSON {{\"fps\": number}} ({err}); "
                               "fix or delete the file") from None
        return dataclasses.replace(self, fps_on_disk=fps, fps=min(self.fps, fps))


def _sentences(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(first, last + 1)]


VOCASET_TRAIN = ["FaceTalk_170728_03272_TA", "FaceTalk_170904_00128_TA", "FaceTalk_170725_00137_TA",
                 "FaceTalk_170915_00223_TA", "FaceTalk_170811_03274_TA", "FaceTalk_170913_03279_TA",
                 "FaceTalk_170904_03276_TA", "FaceTalk_170912_03278_TA"]
VOCASET = DatasetSpec(
    name="vocaset",
    fps=VOCASET_FPS,
    fps_on_disk=VOCASET_CAPTURE_FPS,  # the FaceFormer processing script keeps all 60 fps frames
    num_vertices=FLAME_NUM_VERTICES,
    condition_subjects=VOCASET_TRAIN,
    regions=REGIONS_FLAME_MASKS,
    splits={
        "train": SplitSpec(VOCASET_TRAIN, _sentences("sentence", 1, 40)),
        "val": SplitSpec(["FaceTalk_170811_03275_TA", "FaceTalk_170908_03277_TA"],
                         _sentences("sentence", 21, 40)),
        "test": SplitSpec(["FaceTalk_170809_00138_TA", "FaceTalk_170731_00024_TA"],
                          _sentences("sentence", 21, 40)),
    },
)

BIWI_TRAIN = ["F2", "F3", "F4", "M3", "M4", "M5"]
BIWI_TEST_B = ["F1", "F5", "F6", "F7", "F8", "M1", "M2", "M6"]
BIWI = DatasetSpec(
    name="biwi",
    fps=BIWI_FPS,
    fps_on_disk=BIWI_FPS,
    num_vertices=BIWI_NUM_VERTICES,
    condition_subjects=BIWI_TRAIN,
    regions=REGIONS_INDEX_FILES,
    splits={
        "train": SplitSpec(BIWI_TRAIN, _sentences("e", 1, 32)),
        "val": SplitSpec(BIWI_TRAIN, _sentences("e", 33, 36)),
        "test": SplitSpec(BIWI_TRAIN, _sentences("e", 37, 40)),  # = Test-A, as the field reports
        "test_a": SplitSpec(BIWI_TRAIN, _sentences("e", 37, 40)),
        "test_b": SplitSpec(BIWI_TEST_B, _sentences("e", 37, 40)),
    },
)

BUILTIN_DATASETS = {"vocaset": VOCASET, "biwi": BIWI}
DATASET_NAMES = (*BUILTIN_DATASETS, "custom")
"""What ``--dataset`` accepts: a built-in spec, or "custom" with a data set YAML."""


def get_dataset_spec(name: str, config: str | os.PathLike | None = None,
                     overrides: list[str] | tuple[str, ...] = ()) -> DatasetSpec:
    """A built-in spec ('vocaset', 'biwi') or, for 'custom', the spec in the YAML ``config``.

    Raises:
        PtalkerError: unknown name, or 'custom' without a config.
    """
    if name in BUILTIN_DATASETS and config is None:
        data = dataclasses.asdict(BUILTIN_DATASETS[name])
        return from_dict(DatasetSpec, apply_overrides(data, list(overrides)), where=name)
    if config is None:
        raise PtalkerError(
            f"data set '{name}': give --config with a data set YAML (see "
            "configs/data/custom_example.yaml), or use --dataset vocaset|biwi"
        )
    return load_config(DatasetSpec, config, overrides)

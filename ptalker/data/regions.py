"""The lip and upper-face regions of a data set, by the convention its spec names.

A data set spec (:class:`ptalker.data.splits.DatasetSpec`) says which convention its regions
follow: FLAME_masks.pkl beside the data (VOCASET, FLAME topology) or index files in
``ROOT/regions/`` (BIWI: ``lve.txt`` and ``fdd.txt``). Without either, the head model's masks are
used when they fit the data's vertex count.
"""

from __future__ import annotations

import os
from pathlib import Path

from ptalker.data.layout import TEMPLATES_FILE
from ptalker.data.splits import REGIONS_FLAME_MASKS, REGIONS_INDEX_FILES, DatasetSpec
from ptalker.errors import PtalkerError
from ptalker.flame.masks import default_region_candidates, default_region_masks
from ptalker.mesh.regions import FDD_INDEX_FILE, FLAME_MASKS_FILE, LVE_INDEX_FILE, RegionMasks

REGIONS_DIR = "regions"
"""DATA/regions/ holds lve.txt and fdd.txt (CodeTalker's BIWI layout)."""


def resolve_region_masks(data_root: Path, spec: DatasetSpec, num_vertices: int,
                         regions: str | os.PathLike | None = None,
                         masks: str | os.PathLike | None = None) -> RegionMasks:
    """The lip / upper-face sets: explicit ``regions`` or ``masks``, else the spec's convention,
    else :func:`ptalker.flame.masks.default_region_masks`; checked against ``num_vertices``.

    Raises:
        PtalkerError: both flags given, unreadable files, indices out of range, or nothing found.
    """
    if regions is not None and masks is not None:
        raise PtalkerError("give --regions (lve.txt, fdd.txt folder) or --masks (FLAME_masks.pkl), "
                           "not both")
    found, looked = None, []
    if regions is not None:
        found = RegionMasks.from_regions_dir(regions)
    elif masks is not None:
        found = RegionMasks.from_flame_masks(masks)
    elif spec.regions == REGIONS_INDEX_FILES:
        folder = data_root / REGIONS_DIR
        looked += [str(folder / LVE_INDEX_FILE), str(folder / FDD_INDEX_FILE)]
        if (folder / LVE_INDEX_FILE).exists() or (folder / FDD_INDEX_FILE).exists():
            found = RegionMasks.from_regions_dir(folder)
    elif spec.regions == REGIONS_FLAME_MASKS:
        path = data_root / FLAME_MASKS_FILE
        looked.append(str(path))
        if path.exists():
            found = RegionMasks.from_flame_masks(path)
    if found is None:
        found = default_region_masks(num_vertices)
    if found is None:
        looked += default_region_candidates()
        raise PtalkerError(
            f"no lip / upper-face region files for data set '{spec.name}' (convention "
            f"'{spec.regions}'): looked for {', '.join(looked)}; pass --regions FOLDER (with "
            f"{LVE_INDEX_FILE} and {FDD_INDEX_FILE}) or --masks {FLAME_MASKS_FILE}"
        )
    found.check(num_vertices, str(data_root / TEMPLATES_FILE))
    return found

"""A fill's uncertainty map beside the result: `<output>.uncertainty.tif`, float32, one page per frame,
in the document's units (what `core.repair.uncertainty` measured). Any TIFF reader opens it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.io.atomic import atomic_write

SUFFIX = ".uncertainty.tif"


def map_path(output: Path) -> Path:
    return output.with_name(output.name + SUFFIX)


def has_map(doc: Any) -> bool:
    spread, pixels = getattr(doc, "uncertainty", None), getattr(doc, "pixels", None)
    return spread is not None and pixels is not None and spread.shape == pixels.shape[:3]


def latest_summary(doc: Any) -> dict[str, Any]:
    """What the record says of the newest fill's uncertainty (measure, units, mean, max), {} if none."""
    return next((p.uncertainty for p in reversed(doc.provenance) if p.uncertainty), {})


def write_map(doc: Any, output: Path) -> Path:
    """Write `doc.uncertainty` beside `output`; its description says what it measures and in which units."""
    import tifffile

    summary = latest_summary(doc)
    description = json.dumps({"lacuna": "uncertainty of the fill", "source": output.name, **summary})
    spread = np.ascontiguousarray(doc.uncertainty, dtype=np.float32)
    # Zero outside the fill, so it compresses to almost nothing (a 100-voxel fill of a CT series
    # wrote 29 MB uncompressed); Deflate is lossless and every TIFF reader has it.
    return atomic_write(
        map_path(output),
        lambda tmp: tifffile.imwrite(
            tmp, spread, description=description, photometric="minisblack", compression="zlib"
        ),
    )


def read_map(output: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(the map (frames, H, W), what its description says) of the result at `output`."""
    import tifffile

    with tifffile.TiffFile(map_path(output)) as tif:
        spread = tif.asarray()
        description = json.loads(tif.pages[0].description or "{}")
    return spread.reshape(-1, *spread.shape[-2:]), description

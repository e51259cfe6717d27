"""A fill's uncertainty map beside the result, in the document's units (what `core.repair.uncertainty`
measured): `<output>.uncertainty.nii.gz` beside a NIfTI, on the same voxel grid with the same affine
(so FSLeyes, ITK-SNAP or nibabel overlay it on the result), and `<output>.uncertainty.tif` beside any
other file, float32, one page per frame (any TIFF reader opens it). Opening a result brings its map
back (`attach`), so the app can show it again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.io.atomic import atomic_write

SUFFIX = ".uncertainty.tif"
NIFTI_SUFFIX = ".uncertainty.nii.gz"
SUFFIXES = (SUFFIX, NIFTI_SUFFIX)
TITLE = "uncertainty of the fill"


def map_path(output: Path) -> Path:
    nifti = output.name.lower().endswith((".nii", ".nii.gz"))
    return output.with_name(output.name + (NIFTI_SUFFIX if nifti else SUFFIX))


def result_of_map(name: str) -> str | None:
    """The name of the result a map's file name belongs to (None: not a map's name)."""
    return next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), None)


def has_map(doc: Any) -> bool:
    spread, pixels = getattr(doc, "uncertainty", None), getattr(doc, "pixels", None)
    return spread is not None and pixels is not None and spread.shape == pixels.shape[:3]


def latest_summary(doc: Any) -> dict[str, Any]:
    """What the record says of the newest fill's uncertainty (measure, units, mean, max), {} if none."""
    return next((p.uncertainty for p in reversed(doc.provenance) if p.uncertainty), {})


def write_map(doc: Any, output: Path) -> Path:
    """Write `doc.uncertainty` beside `output`; its description says what it measures and in which units."""
    description = json.dumps({"lacuna": TITLE, "source": output.name, **latest_summary(doc)})
    spread = np.ascontiguousarray(doc.uncertainty, dtype=np.float32)
    if map_path(output).name.endswith(NIFTI_SUFFIX):
        return _write_nifti_map(doc, spread, description, map_path(output))
    import tifffile

    # Zero outside the fill, so it compresses to almost nothing (a 100-voxel fill of a CT series
    # wrote 29 MB uncompressed); Deflate is lossless and every TIFF reader has it.
    return atomic_write(
        map_path(output),
        lambda tmp: tifffile.imwrite(
            tmp, spread, description=description, photometric="minisblack", compression="zlib"
        ),
    )


def _write_nifti_map(doc: Any, spread: np.ndarray, description: str, target: Path) -> Path:
    """The map on the result's grid: the result's own header and affine (`core.io.nifti.nifti_image`),
    float32, its description in the header's comment extension."""
    import nibabel as nib

    from core.io.nifti import COMMENT_EXTENSION, nifti_image

    values = doc.with_pixels(spread[..., None])
    values.metadata["data_dtype"] = "float32"
    img, _notes = nifti_image(values, target)
    header = img.header
    del header.extensions[:]  # the source's records are not the map's
    header.extensions.append(nib.nifti1.Nifti1Extension(COMMENT_EXTENSION, description.encode("utf-8")))
    header["descrip"] = f"Lacuna: {TITLE}".encode("latin-1")
    header["cal_min"], header["cal_max"] = 0.0, float(spread.max(initial=0.0))
    return atomic_write(target, lambda tmp: nib.save(img, str(tmp)))


def read_map(output: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(the map (frames, H, W), what its description says) of the result at `output`."""
    path = map_path(output)
    if path.name.endswith(NIFTI_SUFFIX):
        from core.io.nifti import read_nifti

        volume = read_nifti(path)
        return volume.pixels[..., 0], json.loads(volume.metadata.get("lacuna_provenance") or "{}")
    import tifffile

    with tifffile.TiffFile(path) as tif:
        spread = tif.asarray()
        description = json.loads(tif.pages[0].description or "{}")
    return spread.reshape(-1, *spread.shape[-2:]), description


def attach(doc: Any, path: Path) -> None:
    """Give a reopened result its fill's map again, when one lies beside it on its grid; a map that
    cannot be read is said in the document's read warnings and left out."""
    summary = latest_summary(doc) if getattr(doc, "provenance", None) else {}
    if not summary or getattr(doc, "pixels", None) is None or not map_path(path).is_file():
        return
    try:
        spread, description = read_map(path)
    except Exception as exc:  # noqa: BLE001 - the result opens without its map
        from core.errors import reason

        said = f"{map_path(path).name}: the uncertainty map beside it cannot be read ({reason(exc)})"
        doc.metadata.setdefault("read_warnings", []).append(said)
        return
    # Only the map of the fill the result's record ends with: a map left beside a file that a later
    # repair was saved over describes other pixels.
    same = all(description.get(key) == summary.get(key) for key in ("mean", "max", "pixels", "units"))
    if description.get("lacuna") == TITLE and same and spread.shape == doc.pixels.shape[:3]:
        doc.uncertainty = spread.astype(np.float32, copy=False)

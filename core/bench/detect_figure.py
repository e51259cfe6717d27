"""The figure of `lacuna bench detect --real`: proposals on really damaged photos, judged by eye.

One row per photo: the photo, then for each method the photo with the mask it would have repaired
painted red (`Detection.repair_mask`: what `lacuna repair --detect` and the desktop fill). There is
no ground truth for these scans; the figure is what shows whether scratches and creases are covered
and faces and edges are left alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.bench.common import SUFFIXES
from core.errors import LacunaError

RED = np.array([255, 0, 0], np.uint8)


def real_figure(
    folder: str | Path, path: str | Path, method_ids: list[str], device: str, tile: int = 300
) -> Path:
    from PIL import Image, ImageDraw

    from core.detect.run import run_detect
    from core.io import read
    from core.runtime.context import RunContext

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in SUFFIXES)
    if not files:
        raise LacunaError(f"no images in {folder}")
    labels = ["photo", *[f"{m} (mask to repair in red)" for m in method_ids]]
    rows = []
    for file in files:
        doc = read(file)
        photo = _display(doc)
        row = [photo]
        for method_id in method_ids:
            found = run_detect(doc, method=method_id, ctx=RunContext(device=device))
            shown = photo.copy()
            shown[found.repair_mask()[0]] = RED
            row.append(shown)
        rows.append((file.name, row))
    label_h, pad = 16, 4
    sizes = []
    for _, row in rows:
        h, w = row[0].shape[:2]
        scale = tile / max(h, w)
        sizes.append((max(1, round(w * scale)), max(1, round(h * scale))))
    width = pad + len(labels) * (tile + pad)
    height = label_h + sum(size[1] + label_h + pad for size in sizes) + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(labels):
        draw.text((pad + c * (tile + pad) + 2, 2), label, fill="black")
    y = label_h
    for (name, row), (tw, th) in zip(rows, sizes):
        draw.text((pad + 2, y + 2), name, fill="black")
        y += label_h
        for c, arr in enumerate(row):
            # NEAREST keeps one-pixel proposals visible as red instead of blending them away.
            img = Image.fromarray(arr).resize((tw, th), Image.Resampling.NEAREST)
            canvas.paste(img, (pad + c * (tile + pad), y))
        y += th + pad
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def _display(doc) -> np.ndarray:
    """The first frame as 8-bit RGB (alpha dropped, gray replicated)."""
    lo, hi = doc.value_range
    frame = np.clip((doc.pixels[0] - lo) / ((hi - lo) or 1.0), 0.0, 1.0) * 255.0
    rgb = np.repeat(frame[..., :1], 3, axis=-1) if frame.shape[-1] < 3 else frame[..., :3]
    return np.round(rgb).astype(np.uint8)

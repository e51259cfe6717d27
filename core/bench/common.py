"""Shared pieces of the benchmark protocols: loading a bench set and writing a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.errors import LacunaError

SUFFIXES = {".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg"}


def load_set(folder: str | Path, gray: bool) -> list[tuple[str, np.ndarray]]:
    """(name, float64 (H, W, C) on 0..255) for every image of a bench folder, sorted by name."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
    if not files:
        raise LacunaError(f"no images in {folder}")
    images = []
    for path in files:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if gray else "RGB"), np.float64)
        images.append((path.stem, arr[..., None] if arr.ndim == 2 else arr))
    return images


def use_weights_folder(folder: str | Path) -> None:
    """Benchmark weights from `folder` (say, a fresh training run) instead of resources/weights."""
    from core.methods import registry

    folder = Path(folder)
    if not folder.is_dir():
        raise LacunaError(f"weights folder {folder} does not exist")
    registry.WEIGHTS_DIR = folder


def emit(rows: list[dict[str, Any]], summary: dict[str, Any], as_json: bool, title: str) -> None:
    """Print per-image rows and the summary as JSON or as a Markdown table."""
    if as_json:
        json.dump({"title": title, "summary": summary, "images": rows}, sys.stdout, indent=2)
        print()
        return
    print(f"## {title}\n")
    if rows:
        keys = list(rows[0])
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
        for row in rows:
            print("| " + " | ".join(_fmt(row[k]) for k in keys) + " |")
    print("\n**Summary**\n")
    for key, value in summary.items():
        print(f"- {key}: {_fmt(value)}")


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)

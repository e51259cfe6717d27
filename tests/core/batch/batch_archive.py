"""A small mixed archive for the batch tests: 200 files derived from the shared data sets.

160 image crops (gray and colour PNG, 16-bit TIFF, JPEG) in nested folders, a real 28-slice head CT
series, 11 spoken-digit recordings (8 with a click added, 3 clean) and one truncated PNG.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
import tifffile
from PIL import Image

CROP = 32
RECIPE = dict(
    tasks=("denoise", "fill-gap"),
    methods=("denoise-bilateral", "fill-gap-ar"),
    params={"sigma": "10"},
    detect=True,
)
CLI_RECIPE = [
    "--task", "denoise", "--method", "denoise-bilateral", "--param", "sigma=10",
    "--task", "fill-gap", "--method", "fill-gap-ar", "--detect",
]  # fmt: skip


def _crops(folder: Path, count: int) -> list[np.ndarray]:
    files = sorted(folder.glob("*.png"))
    crops = []
    for n in range(count):
        pixels = np.asarray(Image.open(files[n % len(files)]))
        y = (n // len(files)) * CROP + 40
        crops.append(pixels[y : y + CROP, 40 : 40 + CROP].copy())
    return crops


def build_archive(root: Path, datasets: Path) -> Path:
    images = datasets / "images" / "bench"
    gray = _crops(images / "BSD68", 80)
    color = _crops(images / "CBSD68", 80)
    for n, crop in enumerate(gray):
        folder = root / "photos" / "gray" / f"roll{n % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        if n % 4 == 3:
            tifffile.imwrite(folder / f"g{n:03d}.tif", crop.astype(np.uint16) * 257)
        else:
            Image.fromarray(crop).save(folder / f"g{n:03d}.png")
    for n, crop in enumerate(color):
        folder = root / "photos" / "color" / f"box{n % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        if n % 5 == 4:
            Image.fromarray(crop).save(folder / f"c{n:03d}.jpg", quality=90)
        else:
            Image.fromarray(crop).save(folder / f"c{n:03d}.png")
    shutil.copytree(datasets / "medical" / "head_ct_ge", root / "scans" / "head_ct")
    tapes = root / "tapes"
    tapes.mkdir()
    for n, wav in enumerate(sorted((datasets / "audio" / "bench" / "digits").glob("*.wav"))[:11]):
        samples, rate = sf.read(wav, dtype="float32")
        if n < 8:
            samples[len(samples) // 2] += 0.9  # a click
        sf.write(tapes / wav.name, np.clip(samples, -1, 1), rate, subtype="PCM_16")
    broken = (images / "Set12" / "01.png").read_bytes()[:200]
    (root / "photos" / "broken.png").write_bytes(broken)
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

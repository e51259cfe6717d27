"""How much of a straight line the learned detector proposes, by the line's width and angle.

    OMP_NUM_THREADS=2 python scripts/detect_line_widths.py [--weights FOLDER] [--images 3]

A walk-through drew a 2-px white line across a bench photo and `lacuna detect` proposed a tenth of it.
The bench's damage (`core.detect.damage.draw`) draws OpenCV's anti-aliased lines, which come in few
widths (about 1.4, 3.5, 5.5 and 7.5 px); this draws lines of any width with a box-filtered edge (the
coverage of a `width`-px band), 240 px long, through the middle of a flat grey picture and of the
first CBSD68 photos, bright (0.95) and dark (0.05), and prints the share of each line's visible
pixels (coverage at least 0.3, a change of at least 0.1) that `detect-learned` scores 0.5 or more.
Bench photos are used for looking only, as the bench tables do; nothing is chosen on them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "datasets" / "images" / "bench" / "CBSD68"
WIDTHS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0)
ANGLES = (0, 10, 30, 45, 60, 80, 90)


def line_coverage(shape: tuple[int, int], angle: float, width: float, length: float = 240.0) -> np.ndarray:
    """Coverage (0-1) of a straight band `width` px wide through the picture's middle (off the pixel
    grid by 0.3 px, so no width is drawn exactly on it)."""
    height, breadth = shape
    yy, xx = np.mgrid[0:height, 0:breadth].astype(np.float32)
    t = np.deg2rad(angle)
    x, y = xx - breadth / 2 - 0.3, yy - height / 2 - 0.3
    across = np.abs(-x * np.sin(t) + y * np.cos(t))
    along = np.abs(x * np.cos(t) + y * np.sin(t))
    return np.clip(width / 2 + 0.5 - across, 0.0, 1.0) * (along < length / 2)


def found_share(picture: np.ndarray, angle: float, width: float, tone: float) -> float:
    from core.detect.run import detect_image

    cover = line_coverage(picture.shape[:2], angle, width)[..., None]
    drawn = np.round((picture * (1 - cover) + tone * cover) * 255) / 255
    visible = (cover[..., 0] >= 0.3) & (np.abs(drawn - picture).max(-1) >= 0.1)
    score = detect_image(drawn.astype(np.float32), method="detect-learned").score[0]
    return float((score[visible] >= 0.5).mean()) if visible.any() else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="a folder to take detect.safetensors from")
    p.add_argument("--images", type=int, default=3, help="CBSD68 photos (besides the flat grey)")
    args = p.parse_args()
    if args.weights:
        from core.bench.common import use_weights_folder

        use_weights_folder(args.weights)
    photos = [np.asarray(Image.open(f).convert("RGB"), np.float32) / 255 for f in sorted(BENCH.glob("*.png"))]
    grounds = {"flat grey": [np.full((321, 481, 3), 0.5, np.float32)], "CBSD68": photos[: args.images]}
    header = " | ".join(f"{w:g} px" for w in WIDTHS)
    for name, pictures in grounds.items():
        for tone, shade in ((0.95, "bright"), (0.05, "dark")):
            if name == "flat grey" and shade == "dark":
                continue  # as plain as the bright one on grey
            print(f"\n{shade} lines on {name} ({len(pictures)} picture{'s' * (len(pictures) > 1)})")
            print(f"| angle | {header} |\n|---|" + "---|" * len(WIDTHS))
            for angle in ANGLES:
                shares = [
                    np.nanmean([found_share(pic, angle, width, tone) for pic in pictures]) for width in WIDTHS
                ]
                print(f"| {angle}° | " + " | ".join(f"{s:.2f}" for s in shares) + " |", flush=True)


if __name__ == "__main__":
    main()

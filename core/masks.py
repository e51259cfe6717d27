"""Masks: LaMa-style random masks for training and benchmarks, and the utilities methods apply to masks.

Random masks come in three presets, as in the LaMa evaluation protocol (thin / medium / thick strokes,
medium and thick with boxes). Geometry is defined for a 256-pixel image and scaled with the image, so a
preset means the same thing at any size. The masked area never exceeds `max_cover` (50%): shapes are
added one by one and a shape that would push the area over the cap is dropped.

    mask = random_mask(321, 481, "medium", seed=3)   # bool (H, W), True = hole

Utilities: `dilate`, `feather` (a soft alpha ramping up inside the mask), `regions` (the boxes around
connected masked regions, with context, merged where they overlap) and `crop_box`.
Only numpy and OpenCV (imported lazily); no torch, so method modules can use this freely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("thin", "medium", "thick")


@dataclass(frozen=True)
class Preset:
    """Shape statistics at a 256-pixel reference size (lengths and widths in pixels)."""

    strokes: tuple[int, int]  # how many strokes (inclusive range)
    segments: tuple[int, int]  # polyline segments per stroke
    length: tuple[float, float]  # segment length
    width: tuple[float, float]  # brush width
    boxes: tuple[int, int]  # how many boxes
    box_side: tuple[float, float]  # box side length


PRESETS = {
    # Scratches, hairs, thin text: many narrow strokes, no boxes.
    "thin": Preset((6, 24), (1, 4), (10, 50), (3, 10), (0, 0), (0, 0)),
    # Wider strokes and small boxes (objects, captions).
    "medium": Preset((2, 6), (1, 4), (20, 90), (10, 22), (0, 3), (20, 70)),
    # Wide strokes and large boxes (big missing regions).
    "thick": Preset((1, 4), (1, 4), (40, 160), (25, 60), (0, 3), (40, 150)),
}


def _cv2():
    import cv2

    return cv2


def random_mask(
    height: int,
    width: int,
    kind: str = "medium",
    seed: int | np.random.Generator = 0,
    max_cover: float = 0.5,
) -> np.ndarray:
    """A random LaMa-style mask, bool (height, width), True = hole; deterministic for an integer seed."""
    if kind not in PRESETS:
        raise ValueError(f"unknown mask kind {kind!r}; choose from {', '.join(KINDS)}")
    cv2 = _cv2()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    preset = PRESETS[kind]
    scale = (height * width) ** 0.5 / 256.0
    canvas = np.zeros((height, width), np.uint8)
    limit = max_cover * height * width
    area = 0

    shapes = ["stroke"] * int(rng.integers(preset.strokes[0], preset.strokes[1] + 1))
    shapes += ["box"] * int(rng.integers(preset.boxes[0], preset.boxes[1] + 1))
    rng.shuffle(shapes)
    for shape in shapes:
        trial = canvas.copy()
        if shape == "stroke":
            _draw_stroke(cv2, trial, preset, scale, rng)
        else:
            _draw_box(trial, preset, scale, rng)
        trial_area = int(np.count_nonzero(trial))
        if trial_area <= limit:  # a shape that would exceed the cap is dropped
            canvas, area = trial, trial_area
    if area == 0:  # every shape was too big (a tiny image): fall back to one small dot
        radius = max(1, int(min(height, width) * 0.1))
        cv2.circle(canvas, (width // 2, height // 2), radius, 1, -1)
    return canvas.astype(bool)


def _draw_stroke(cv2, canvas: np.ndarray, preset: Preset, scale: float, rng: np.random.Generator) -> None:
    """A brush stroke: a polyline of random segments with round joints, like a hand-painted scratch."""
    height, width = canvas.shape
    y, x = float(rng.uniform(0, height)), float(rng.uniform(0, width))
    angle = float(rng.uniform(0, 2 * np.pi))
    brush = max(1, int(round(rng.uniform(*preset.width) * scale)))
    for _ in range(int(rng.integers(preset.segments[0], preset.segments[1] + 1))):
        angle += float(rng.uniform(-np.pi / 2, np.pi / 2))
        length = rng.uniform(*preset.length) * scale
        ny = float(np.clip(y + length * np.sin(angle), 0, height - 1))
        nx = float(np.clip(x + length * np.cos(angle), 0, width - 1))
        cv2.line(canvas, (int(x), int(y)), (int(nx), int(ny)), 1, brush)
        cv2.circle(canvas, (int(nx), int(ny)), brush // 2, 1, -1)
        y, x = ny, nx


def _draw_box(canvas: np.ndarray, preset: Preset, scale: float, rng: np.random.Generator) -> None:
    height, width = canvas.shape
    bh = min(height, max(1, int(rng.uniform(*preset.box_side) * scale)))
    bw = min(width, max(1, int(rng.uniform(*preset.box_side) * scale)))
    y = int(rng.integers(0, height - bh + 1))
    x = int(rng.integers(0, width - bw + 1))
    canvas[y : y + bh, x : x + bw] = 1


def random_masks(
    count: int,
    height: int,
    width: int,
    seed: int,
    kinds: tuple[str, ...] = KINDS,
    weights: tuple[float, ...] | None = None,
) -> np.ndarray:
    """`count` masks (count, H, W) bool of kinds drawn from `kinds` (with `weights`), for a training batch."""
    rng = np.random.default_rng(seed)
    p = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
    picks = rng.choice(len(kinds), size=count, p=p)
    return np.stack([random_mask(height, width, kinds[k], rng) for k in picks])


# --- utilities applied to a user's mask -------------------------------------------------------------


def _disk(px: int) -> np.ndarray:
    """A digital disk of radius px (OpenCV's ellipse element overshoots the radius on the diagonals)."""
    yy, xx = np.mgrid[-px : px + 1, -px : px + 1]
    return (yy**2 + xx**2 <= px * px).astype(np.uint8)


# Dilation by a disk costs its area per pixel: 6 minutes for a 5000-px growth of a photo. From this
# radius on, the exact distance to the mask (the same disk, a cost independent of the radius) is faster.
DISTANCE_FROM_RADIUS = 24


def dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """Grow a bool mask (H, W) by `px` pixels (a disk), so the unreliable rim of a scratch is filled too."""
    mask = np.asarray(mask, bool)
    if px <= 0 or not mask.any():
        return mask.copy()
    if px >= DISTANCE_FROM_RADIUS:
        from scipy import ndimage

        return ndimage.distance_transform_edt(~mask) <= int(px)
    return _cv2().dilate(mask.astype(np.uint8), _disk(int(px))).astype(bool)


def feather(mask: np.ndarray, px: int) -> np.ndarray:
    """A float32 alpha that is 0 outside the mask and ramps to 1 over `px` pixels inside its edge.

    Blending `alpha * fill + (1 - alpha) * original` softens the seam of a generously painted mask.
    With px = 0 the alpha is the mask itself.
    """
    mask = np.asarray(mask, bool)
    if px <= 0 or not mask.any():
        return mask.astype(np.float32)
    cv2 = _cv2()
    # Pad with a ring of "outside" so a mask touching the border still ramps from where it is cut off
    # only at real mask edges: replicate the mask into the pad.
    padded = np.pad(mask.astype(np.uint8), 1, mode="edge")
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    return np.clip(distance / float(px + 1), 0.0, 1.0).astype(np.float32) * mask


Box = tuple[int, int, int, int]  # (top, bottom, left, right), half-open


def regions(mask: np.ndarray, context: float = 2.0, min_size: int = 256, margin: int = 16) -> list[Box]:
    """Boxes around each connected masked region, grown for context and merged where they overlap.

    Each region's bounding box is grown to `context` times its size (plus `margin` pixels) and to at
    least `min_size` pixels a side (as far as the image allows), so a fill sees enough of its
    surroundings. Overlapping boxes are merged until none overlap; every masked pixel lies in a box.
    """
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    if not mask.any():
        return []
    cv2 = _cv2()
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    boxes = []
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        boxes.append(_grow((y, y + h, x, x + w), context, min_size, margin, height, width))
    return _merge(boxes)


def _grow(box: Box, context: float, min_size: int, margin: int, height: int, width: int) -> Box:
    top, bottom, left, right = box

    def span(lo: int, hi: int, limit: int) -> tuple[int, int]:
        size = hi - lo
        want = min(limit, max(int(np.ceil(size * context)) + 2 * margin, min_size, size))
        centre = (lo + hi) / 2.0
        start = int(round(centre - want / 2.0))
        start = min(max(start, 0), limit - want)
        return start, start + want

    top, bottom = span(top, bottom, height)
    left, right = span(left, right, width)
    return top, bottom, left, right


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _merge(boxes: list[Box]) -> list[Box]:
    """Replace overlapping boxes by their union until no two overlap."""
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if _overlap(boxes[i], boxes[j]):
                    a, b = boxes[i], boxes[j]
                    union = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
                    boxes[i] = union
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(boxes)


def crop_box(array: np.ndarray, box: Box) -> np.ndarray:
    top, bottom, left, right = box
    return array[top:bottom, left:right]


def coverage(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / max(np.asarray(mask).size, 1)

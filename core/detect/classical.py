"""Classical damage detectors (numpy and OpenCV): no training, no network.

- `dust_and_scratches`: a pixel is suspect when it departs from its neighbourhood more than fine
  detail does, as the "dust and scratches" filter of photo editors judges it. The departure is the
  larger of the median residual (|I - median|, for specks and short marks) and the morphological
  top-hats (white and black, for thin bright or dark lines longer than the median window), on the
  luma. Textured regions have large residuals too, which is this method's weakness and the reason
  the learned detector exists.
- `temporal`: for frames of a video or a film scan. A speck or a blotch is on one frame only: a pixel
  is suspect when it differs, in the same direction, from both neighbouring frames after they are
  warped onto it with dense optical flow (DIS). Moving objects match after warping; damage
  does not (the spike detection index of film restoration, motion-compensated).

Scores are float32 in [0, 1]; a residual of `SCORE_SPAN` (on the 0-1 scale) or more scores 1.
"""

from __future__ import annotations

import numpy as np

from core.luma import luma_of

SCORE_SPAN = 0.4


def _cv2():
    import cv2

    return cv2


def dust_and_scratches(image: np.ndarray, radius: int = 3, line_length: int = 9) -> np.ndarray:
    """Score map (H, W): departure of each pixel from its neighbourhood, scaled to [0, 1]."""
    cv2 = _cv2()
    y = luma_of(image)
    size = 2 * int(radius) + 1
    # medianBlur needs uint8 for windows above 5; 16-bit precision keeps faint specks measurable.
    y16 = np.round(np.clip(y, 0, 1) * 65535).astype(np.uint16)
    if size <= 5:
        median = cv2.medianBlur(y16, size).astype(np.float32) / 65535.0
    else:
        median = cv2.medianBlur(np.round(y * 255).astype(np.uint8), size).astype(np.float32) / 255.0
    residual = np.abs(y - median)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(line_length), int(line_length)))
    white = cv2.morphologyEx(y, cv2.MORPH_TOPHAT, kernel)
    black = cv2.morphologyEx(y, cv2.MORPH_BLACKHAT, kernel)
    # Top-hats also answer to every small bright or dark detail; halving them keeps texture lower
    # than thin lines, which stand out in both measures.
    departure = np.maximum(residual, 0.5 * np.maximum(white, black))
    return np.clip(departure / SCORE_SPAN, 0.0, 1.0).astype(np.float32)


def _flow(cv2, target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Dense flow from `target` to `source` (uint8 gray frames): where each target pixel came from.
    DIS (as frame interpolation uses): on fast motion Farnebäck's flow fell short and the moving
    limbs of the shared film scan were proposed as damage (9.9% of a frame, 4.1% with DIS); on the
    bench clips F1 0.761 -> 0.782 (docs/benchmarks.md)."""
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(target, source, None)


def _warp(cv2, frame: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`frame` pulled along `flow`, and where the source lies inside the frame (elsewhere the content
    entered or left the view and nothing can be judged)."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), inside


def _neighbours(t: int, count: int) -> list[int]:
    if count == 2:
        return [1 - t]
    if t == 0:
        return [1, 2]
    if t == count - 1:
        return [count - 2, count - 3]
    return [t - 1, t + 1]


def temporal(frames: np.ndarray, on_frame=None) -> np.ndarray:
    """Score maps (F, H, W) for a frame stack (F, H, W, C) in [0, 1]; a single frame scores 0."""
    return np.clip(departures(frames, on_frame) / SCORE_SPAN, 0.0, 1.0)


def departures(frames: np.ndarray, on_frame=None) -> np.ndarray:
    """How far each pixel of a frame stack (F, H, W, C) in [0, 1] departs from both neighbouring
    frames warped onto it, in the same direction (F, H, W; 0 where the two disagree in sign, where a
    neighbour has no view of it, and on a single frame).

    Each frame is compared with the frames before and after it; the first and last with the two
    nearest on their one side (a speck on frame 1 must not be blamed on frame 0). Flow is computed
    on median-filtered luma, so the specks themselves do not drag the flow towards them.
    """
    cv2 = _cv2()
    frames = np.asarray(frames, np.float32)
    count = frames.shape[0]
    result = np.zeros(frames.shape[:3], np.float32)
    if count < 2:
        return result
    lumas = [luma_of(f) for f in frames]
    guides = [cv2.medianBlur(np.round(np.clip(y, 0, 1) * 255).astype(np.uint8), 5) for y in lumas]
    for t in range(count):
        diffs, judged = [], np.ones(lumas[t].shape, bool)
        for n in _neighbours(t, count):
            warped, inside = _warp(cv2, lumas[n], _flow(cv2, guides[t], guides[n]))
            diffs.append(lumas[t] - warped)
            judged &= inside
        if len(diffs) == 1:
            diffs.append(diffs[0])
        before, after = diffs
        # Damage differs from both neighbours in the same direction; motion errors rarely do.
        same_sign = (np.sign(before) == np.sign(after)) & judged
        result[t] = np.where(same_sign, np.minimum(np.abs(before), np.abs(after)), 0.0)
        if on_frame is not None:
            on_frame(t)
    return result

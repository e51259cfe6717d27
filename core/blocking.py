"""How much a picture shows JPEG's 8×8 block grid: the video damage scan's blocky frames and the
dejpeg hint for pictures that were never compressed (core.repair.hints) measure it the same way."""

from __future__ import annotations

import cv2
import numpy as np

FLAT = 1.0  # mean gradient (grey levels) below which a picture is too flat to judge blocks


def blockiness(frame: np.ndarray) -> float:
    """Energy across 8-pixel block edges over energy inside blocks (about 1 for a clean picture)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    dx = np.abs(np.diff(grey, axis=1))
    dy = np.abs(np.diff(grey, axis=0))
    cols = np.arange(dx.shape[1])
    rows = np.arange(dy.shape[0])
    edge = dx[:, cols % 8 == 7].mean() + dy[rows % 8 == 7, :].mean()
    inside = dx[:, cols % 8 != 7].mean() + dy[rows % 8 != 7, :].mean()
    if inside < FLAT:
        return np.nan  # a flat picture (black, a title card): block edges mean nothing there
    return float(edge / inside)

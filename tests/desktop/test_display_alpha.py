"""A picture with an alpha channel is shown over a checkerboard, as image editors show it (walk-through
43: a transparent PNG looked opaque, the hidden colours under its clear corners shown as picture)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from desktop.qimage import CHECKER_TONES, display_frame


def test_transparent_pixels_show_the_checkerboard_and_opaque_ones_the_picture(datasets):
    rgb = np.asarray(Image.open(datasets / "images" / "bench" / "Set5" / "butterfly_GT.png").convert("RGB"))
    h, w = rgb.shape[:2]
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, : w // 2] = 0  # the left half clear
    alpha[: h // 4, w // 2 :] = 128  # a half-clear band at the top right
    frame = np.dstack([rgb, alpha]).astype(np.float32)

    shown = display_frame(frame, (127.5, 255.0)).image

    def colour(x, y):
        c = shown.pixelColor(x, y)
        return c.red(), c.green(), c.blue()

    for x, y in ((3, h - 5), (12, h - 5), (w // 4, h // 2)):  # clear: the board's grey or white only
        assert colour(x, y)[0] in CHECKER_TONES and len(set(colour(x, y))) == 1
    assert {colour(3, h - 5)[0], colour(12, h - 5)[0]} == set(CHECKER_TONES)  # neighbouring squares differ
    x, y = 3 * w // 4, 3 * h // 4
    assert colour(x, y) == tuple(int(v) for v in rgb[y, x])  # opaque: the picture as it is
    x, y = 3 * w // 4, h // 8
    board = CHECKER_TONES[(y // 8 + x // 8) % 2]
    expected = [round(int(v) * 128 / 255 + board * 127 / 255) for v in rgb[y, x]]
    assert np.abs(np.subtract(colour(x, y), expected)).max() <= 1  # half clear: half of each

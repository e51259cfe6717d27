"""The automatic window of a scan comes from the body, not from the padding outside the scanned circle."""

from __future__ import annotations

import numpy as np

from core.io import read
from desktop.qimage import auto_window


def test_ct_auto_window_ignores_padding_and_air(datasets):
    doc = read(datasets / "medical/693_UNCI.dcm")
    frame = doc.pixels[0]
    assert np.percentile(frame, 5) < -2000  # a padded slice: a fifth of it lies far below air
    centre, width = auto_window(frame, body="CT")
    low = centre - width / 2
    assert -1000 < low < -500  # the window starts at the body's lowest values, not at the padding
    plain_centre, plain_width = auto_window(frame)
    assert plain_centre - plain_width / 2 < -3000  # what the window was before: mostly padding


def test_mr_auto_window_starts_above_the_background(datasets):
    doc = read(datasets / "medical/emri_small.dcm")
    frame = doc.pixels[doc.frames // 2]
    centre, width = auto_window(frame, body="MR")
    assert centre - width / 2 > np.percentile(frame, 20)  # the dark background is not in the window

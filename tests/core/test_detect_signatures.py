"""Exact signatures of damage (core/detect/signatures.py): stuck pixels and dead lines, on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.detect.damage import draw
from core.detect.run import detect_image
from core.detect.signatures import dead_lines, exact_defects, stuck_pixels
from core.methods.detect import _run_temporal
from core.runtime.context import RunContext, drive


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0


@pytest.fixture(scope="module")
def photos(datasets) -> list[np.ndarray]:
    return [_rgb(p) for p in sorted((datasets / "images" / "bench" / "CBSD68").glob("*.png"))[:3]]


def _damaged(photo: np.ndarray, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    damaged, truth = draw(photo, kind, np.random.default_rng(seed))
    return np.round(damaged * 255.0) / 255.0, truth  # as an 8-bit file holds it


def test_clean_photos_and_real_scans_have_no_exact_defects(photos, datasets):
    real = [_rgb(p) for p in sorted((datasets / "images" / "real_damage").glob("*.png"))]
    assert len(real) >= 8
    for picture in [*photos, *real]:
        # The scans' creases and specks are for the network: a rule that fires on them is too loose.
        assert np.count_nonzero(exact_defects(picture)) <= 1


def test_stuck_pixels_are_found_alone_in_pairs_and_in_gray(photos):
    for seed, photo in enumerate(photos):
        damaged, truth = _damaged(photo, "dead", seed)
        found = stuck_pixels(damaged)
        # Missed: those beside content within 64 levels of them in every channel (white on near-white).
        assert np.count_nonzero(found & truth) >= 0.85 * np.count_nonzero(truth)
        assert np.count_nonzero(found & ~truth) == 0
    gray = photos[0].mean(axis=-1)
    gray[100, 200] = 1.0
    gray[40, 50:52] = 0.0  # a stuck pair
    gray[300, 100:110] = 1.0  # a thin line clipped to white: content, not stuck pixels
    found = stuck_pixels(gray)
    assert found[100, 200] and found[40, 50] and found[40, 51]
    assert not found[300].any()


def test_dead_lines_one_grey_across_dark_and_bright_content(photos):
    photo = photos[0].copy()
    photo[:, 70:72] = 0.5 * photo[:, 70:72] + 0.5 * 0.8  # a 2-px column, darker than sky, brighter than rock
    photo[200] = 0.02  # a dead row, 1 px
    lines = dead_lines(photo)
    assert lines[:, 70:72].all() and lines[200].all()
    assert np.count_nonzero(lines) == 2 * photo.shape[0] + photo.shape[1] - 2


def test_learned_and_temporal_detectors_mark_a_stuck_pixel_and_a_line_unless_told_not_to(photos):
    photo = photos[1].copy()
    photo[:, 150] = 0.95  # a dead scanner column
    y, x = np.argwhere(photo.max(axis=-1) < 0.5)[len(photo) * 40]  # a hot pixel on darker content
    photo[y, x] = 1.0
    detection = detect_image(photo)
    with_rule = detection.mask()[0]
    assert with_rule[:, 150].all() and with_rule[y, x]
    # They score 1 and stay proposed at the strictest threshold (the slider's strict end).
    strictest = detection.mask(1.0)[0]
    assert strictest[:, 150].all() and strictest[y, x]
    # The network alone finds part of the column (it was 66% when this was written).
    assert detect_image(photo, signatures=False).mask()[0][:, 150].mean() < 0.9
    # On frames, the same pixel and line stay put: comparing frames sees them only where the content
    # moving under them differs, the rule everywhere.
    frames = np.stack([photo, np.roll(photo, 2, axis=1), np.roll(photo, 4, axis=1)])
    frames[1:, :, 150] = frames[0, :, 150]
    frames[1:, y, x] = 1.0
    ctx = RunContext()
    with_rule = drive(_run_temporal(frames, None, ctx))
    without = drive(_run_temporal(frames, None, ctx, signatures=False))
    assert (with_rule[:, :, 150] == 1.0).all() and (with_rule[:, y, x] == 1.0).all()
    assert (without[:, :, 150] >= 0.15).mean() < 0.9  # the flow drags the content across it: in part

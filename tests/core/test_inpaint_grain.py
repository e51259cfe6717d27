"""Grain added to learned fills (core.methods.grain), with the shipped weights: tests/core/test_inpaint.py
puts small untrained networks in their place for a whole module."""

from __future__ import annotations

import numpy as np

from core.repair import run_repair


def test_grain_gives_a_fill_the_fine_detail_of_the_grainy_print_around_it(datasets):
    """Walk-through 45: on a grainy print the learned fill showed as smooth strokes. With `grain` the
    fill's detail finer than a pixel's blur is near the print's around the hole; without, far below;
    the pixels around the holes and the alpha stay as they were, and a seed repeats the grain."""
    import cv2

    import core.io
    from core.methods.grain import fine_detail

    photo = core.io.read(datasets / "images" / "real_damage" / "old_w_scratch_a.png")  # a grainy curtain
    hole = np.zeros(photo.pixels.shape[1:3], bool)
    hole[40:52, 60:140], hole[420:426, 30:110], hole[80:90, 420:470] = True, True, True
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((13, 13), np.uint8)).astype(bool) & ~hole
    inside = cv2.erode(hole.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)

    def detail_ratio(out: np.ndarray) -> float:
        detail = np.abs(fine_detail(out[..., :3].mean(axis=-1)))
        return float(detail[inside].mean() / detail[ring].mean())

    for method in ("inpaint-learned", "inpaint-fast"):
        smooth = run_repair(photo, "inpaint", method=method, mask=hole).pixels[0]
        grainy = run_repair(photo, "inpaint", method=method, mask=hole, grain=1.0).pixels[0]
        assert detail_ratio(smooth) < 0.4 and 0.7 < detail_ratio(grainy) < 1.3, method
        # "none", the app's word for 0, is taken on the command line too (walk-through 47)
        assert np.array_equal(
            run_repair(photo, "inpaint", method=method, mask=hole, grain="none").pixels[0], smooth
        )
        assert np.array_equal(grainy[~hole], photo.pixels[0][~hole])
        assert np.array_equal(grainy[..., 3], photo.pixels[0][..., 3])
    again = run_repair(photo, "inpaint", method="inpaint-fast", mask=hole, grain=1.0)
    assert np.array_equal(again.pixels[0], grainy)
    assert again.provenance[-1].params["seed"] == 0  # the grain drawn depends on it (walk-through 47)
    stronger = run_repair(photo, "inpaint", method="inpaint-fast", mask=hole, grain=2.0).pixels[0]
    assert detail_ratio(stronger) > 1.5 * detail_ratio(grainy)
    # A film's next frame (here the same picture a level brighter) gets grain of its own: one pattern
    # on every frame would stand still inside the fill.
    brighter = photo.with_pixels(np.clip(photo.pixels + np.array([1.0, 1.0, 1.0, 0.0]), 0, 255))
    next_frame = run_repair(brighter, "inpaint", method="inpaint-fast", mask=hole, grain=1.0).pixels[0]
    assert np.std((next_frame - grainy)[inside][:, :3]) > 3.0


def test_the_grain_measured_round_a_hole_is_the_prints_own(datasets):
    """A review: the 1-px blur carried a bright scratch's edge into the pixels beside the hole, which
    then read as grain 1.4-1.6 times too strong; and a picture mostly flat (a white mount) measured
    no grain at all. The grain measured in a hole over a drawn scratch is the one measured without
    the scratch, and a curtain on a wide white mount keeps its grain."""
    import core.io
    from core.methods.grain import grain_level

    photo = core.io.read(datasets / "images" / "real_damage" / "old_w_scratch_a.png")
    curtain = photo.pixels[0, 20:140, 20:200, :3].mean(axis=-1) / 255.0  # grainy, nearly flat in tone
    hole = np.zeros(curtain.shape, bool)
    hole[58:64, 30:150] = True
    scratched = curtain.copy()
    scratched[hole] = 1.0  # a bright scratch the repair mask covers
    plain, beside = grain_level(curtain, hole)[hole].mean(), grain_level(scratched, hole)[hole].mean()
    assert plain > 2.0 / 255 and 0.85 < beside / plain < 1.15
    mounted = np.ones((400, 600), np.float32)  # 90% of it clipped white
    mounted[100:220, 100:280] = curtain
    held = np.zeros(mounted.shape, bool)
    held[158:164, 130:250] = True
    assert 0.8 < grain_level(mounted, held)[held].mean() / plain < 1.25

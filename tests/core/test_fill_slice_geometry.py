"""Slice filling by position in mm: uneven spacing is honoured, and the self-supervised method keeps
every slice it was not asked to rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from core.bench.fill_slice import removable
from core.io import read
from core.repair import run_repair


@pytest.fixture(scope="module")
def head(datasets):
    doc = read(datasets / "medical/head_ct_ge")
    return doc.with_pixels(doc.pixels[:, 200:264, 180:244])


def test_linear_interpolation_weighs_the_neighbours_by_distance_in_mm(head):
    z = np.asarray(head.positions)
    steps = np.diff(z)
    k = int(np.argmax(np.abs(steps[1:] - steps[:-1]) > 0.5)) + 1  # a slice with uneven spacing either side
    straight = head.with_pixels(head.pixels)  # the tilt left out: only the weights are checked here
    straight.metadata = {key: v for key, v in head.metadata.items() if key != "inplane_offsets_mm"}
    out = run_repair(straight, "fill-slice", method="fill-slice-interp", slices=str(k)).pixels
    t = (z[k] - z[k - 1]) / (z[k + 1] - z[k - 1])
    expected = (1 - t) * head.pixels[k - 1] + t * head.pixels[k + 1]
    assert abs(t - 0.5) > 0.05  # by slice number it would be halfway
    assert np.abs(out[k] - expected).max() < 0.5  # HU, the rounding of normalising only


def test_the_self_supervised_method_rebuilds_only_the_named_slices(head):
    gone = removable(np.asarray(head.positions), 2)[:2]
    out = run_repair(head, "fill-slice", method="fill-slice-self", slices=",".join(map(str, gone)), steps=20)
    kept = [i for i in range(head.frames) if i not in gone]
    assert np.array_equal(out.pixels[kept], head.pixels[kept])
    for k in gone:
        assert np.isfinite(out.pixels[k]).all() and not np.array_equal(out.pixels[k], head.pixels[k])


def test_a_tilted_series_is_aligned_before_interpolating(datasets, head):
    from core.info import describe

    info = describe(datasets / "medical/head_ct_ge")
    assert info["gantry_tilt"].startswith("18.5°")  # the header's GantryDetectorTilt: +18.5
    gone = removable(np.asarray(head.positions), 2)
    slices = ",".join(map(str, gone))
    truth = head.pixels[gone]
    aligned = run_repair(head, "fill-slice", method="fill-slice-interp", slices=slices).pixels[gone]
    straight = head.with_pixels(head.pixels)
    straight.metadata = {k: v for k, v in head.metadata.items() if k != "inplane_offsets_mm"}
    unaligned = run_repair(straight, "fill-slice", method="fill-slice-interp", slices=slices).pixels[gone]
    assert np.abs(aligned - truth).mean() < np.abs(unaligned - truth).mean()

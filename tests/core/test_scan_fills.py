"""Fills on scans stay in the scan's units: a flat CT region comes back flat from every classical method.

Telea once wrote a ±27 HU checkerboard into a flat 32 HU region of a CT (its float path at the 0..255
scale); a fill on a scan must never invent structure a clinician could take for anatomy.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.io import read
from core.methods import methods
from core.repair import run_repair

FLAT_HU = 32.0


@pytest.fixture(scope="module")
def flat_ct(datasets):
    """The shared CT slice with a 60×60 patch of brain-like tissue set to a flat 32 HU."""
    doc = read(datasets / "medical/693_UNCI.dcm")
    pixels = doc.pixels.copy()
    pixels[:, 220:280, 220:280] = FLAT_HU
    return doc.with_pixels(pixels)


SINGLE_SLICE = [c.id for c in methods("inpaint") if c.kind == "classical" and c.operates_on == "image"]


@pytest.mark.parametrize("method_id", SINGLE_SLICE)
def test_every_classical_fill_of_a_flat_ct_region_stays_flat(flat_ct, method_id):
    mask = np.zeros(flat_ct.pixels.shape[1:3], bool)
    mask[235:265, 235:265] = True
    out = run_repair(flat_ct, "inpaint", method=method_id, mask=mask).pixels
    filled = out[0, mask, 0]
    assert np.abs(filled - FLAT_HU).max() < 2.0, (method_id, filled.min(), filled.max())
    assert np.array_equal(out[:, ~mask], flat_ct.pixels[:, ~mask])


def test_the_fill_from_neighbouring_slices_of_a_flat_region_stays_flat(datasets):
    """The head CT series (tilted, uneven spacing) with a patch flat at 32 HU through every slice."""
    doc = read(datasets / "medical/head_ct_ge")
    pixels = doc.pixels.copy()
    pixels[:, 220:280, 220:280] = FLAT_HU
    flat = doc.with_pixels(pixels)
    mask = np.zeros(pixels.shape[:3], bool)
    mask[14, 235:265, 235:265] = True
    out = run_repair(flat, "inpaint", method="inpaint-slices", mask=mask).pixels
    filled = out[mask][:, 0]
    assert np.abs(filled - FLAT_HU).max() < 2.0, (filled.min(), filled.max())
    assert np.array_equal(out[~mask], pixels[~mask])


def test_the_fills_that_measure_a_fill_say_so_in_the_progress(datasets):
    """A walk-through read "slice 4 refilled" twice as the repair running twice: the second time was
    the alternative fill that measures how sure the first one is."""
    doc = read(datasets / "medical/head_ct_ge")
    crop = doc.with_pixels(doc.pixels[:, 200:264, 200:264].copy())
    said = []
    run_repair(crop, "fill-slice", method="fill-slice-interp", slices="5", on_progress=said.append)
    messages = [report.message for report in said if "refilled" in report.message]
    assert messages[0] == "slice 5 refilled"
    assert any(m.startswith("how sure the fill is: compared with fill-slice-flow: slice 5") for m in messages)

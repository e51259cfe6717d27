"""The mask contract (core.repair.masks): soft alpha in, dilate and feather, the rest kept bit for bit,
previews in document units with their frame; the CLI and the API give the same pixels."""

from __future__ import annotations

import numpy as np
import pytest

from core import io
from core.cli import main
from core.repair import repair, run_repair
from core.repair.masks import RepairMask, alpha_of
from core.runtime.context import RunContext


def soft_mask(height: int, width: int) -> np.ndarray:
    """A brush-like uint8 alpha: a solid square with a soft (gray) rim, as the desktop paints."""
    mask = np.zeros((height, width), np.uint8)
    mask[40:64, 50:80] = 96
    mask[43:61, 53:77] = 255
    return mask


@pytest.mark.parametrize(
    "relative, suffix",
    [("medical/693_UNCI.dcm", ".dcm"), ("images/real_damage/old_w_scratch_a.png", ".png")],
)
def test_the_cli_and_the_api_give_identical_pixels_with_dilate_and_feather(
    datasets, tmp_path, relative, suffix
):
    source = datasets / relative
    doc = io.read(source)
    mask = soft_mask(*doc.pixels.shape[1:3])
    params = {"dilate": 3, "feather": 2, "radius": 4}

    api = run_repair(doc, "inpaint", method="inpaint-telea", mask=mask, ctx=RunContext("cpu"), **params)
    api_file = io.write(api, tmp_path / f"api{suffix}")

    mask_file = io.write_mask(mask, tmp_path / "mask.png")
    cli_file = tmp_path / f"cli{suffix}"
    args = ["repair", str(source), "--task", "inpaint", "--method", "inpaint-telea", "--mask", str(mask_file)]
    args += [f"--param={k}={v}" for k, v in params.items()] + ["-o", str(cli_file)]
    assert main(args) == 0

    cli_pixels, api_pixels = io.read(cli_file).pixels, io.read(api_file).pixels
    assert np.array_equal(cli_pixels, api_pixels)
    changed = np.any(api.pixels[0] != doc.pixels[0], axis=-1)
    grown = RepairMask.from_painted(mask, doc.pixels.shape[:3], dilate=3).hole(0)
    assert changed.any() and not changed[~grown].any()  # the dilated rim is repaired, nothing beyond


def test_soft_edges_blend_and_dilate_is_kept(datasets):
    doc = io.read(datasets / "images/real_damage/old_w_scratch_a.png")
    mask = soft_mask(*doc.pixels.shape[1:3])
    hard = run_repair(doc, "inpaint", method="inpaint-ns", mask=mask == 255, ctx=RunContext("cpu"))
    fill = run_repair(doc, "inpaint", method="inpaint-ns", mask=mask > 0, ctx=RunContext("cpu"))
    soft = run_repair(doc, "inpaint", method="inpaint-ns", mask=mask, ctx=RunContext("cpu"))
    rim, core_px = (41, 60), (50, 60)
    assert np.array_equal(soft.pixels[0][core_px], fill.pixels[0][core_px])
    # the gray rim takes 96/255 of the fill, the rest from the original
    expected = doc.pixels[0][rim] + (fill.pixels[0][rim] - doc.pixels[0][rim]) * np.float32(96 / 255)
    np.testing.assert_allclose(soft.pixels[0][rim], expected, rtol=1e-6)
    assert not np.array_equal(hard.pixels[0][rim], soft.pixels[0][rim])
    # with dilate the grown hole is filled fully: the soft rim and the ring around it take the fill
    grown = run_repair(doc, "inpaint", method="inpaint-ns", mask=mask, ctx=RunContext("cpu"), dilate=2)
    hole = RepairMask.from_painted(mask, doc.pixels.shape[:3], dilate=2).hole(0)
    outside = ~hole
    assert np.array_equal(grown.pixels[0][outside], doc.pixels[0][outside])
    assert np.any(grown.pixels[0][38:40, 60] != doc.pixels[0][38:40, 60])  # the grown ring changed


def test_alpha_of_each_mask_type():
    assert alpha_of(np.array([0, 1], np.int64)).tolist() == [0.0, 1.0]  # a label mask is hard
    assert alpha_of(np.array([0, 51, 255], np.uint8)).tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert alpha_of(np.array([0, 65535], np.uint16)).tolist() == [0.0, 1.0]
    assert alpha_of(np.array([-1.0, 0.5, 2.0])).tolist() == [0.0, 0.5, 1.0]
    assert alpha_of(np.array([True, False])).tolist() == [1.0, 0.0]


def test_a_soft_mask_survives_a_file(tmp_path):
    mask = soft_mask(100, 120)
    path = io.write_mask(mask, tmp_path / "soft.png")
    np.testing.assert_array_equal(io.read_mask(path, (100, 120)), alpha_of(mask))


def test_volume_previews_come_in_document_units_with_their_slice(datasets):
    doc = io.read(datasets / "medical/emri_small.dcm")
    frames, height, width = doc.pixels.shape[:3]
    mask = np.zeros((frames, height, width), np.uint8)
    mask[4, 20:30, 20:30] = 255
    gen = repair(
        doc, "inpaint", "inpaint-dip", mask, RunContext("cpu"), iterations=4, width=8, preview_every=2
    )
    previews = []
    with pytest.raises(StopIteration) as stop:
        while True:
            report = next(gen)
            if report.preview is not None:
                previews.append(report)
    assert previews and all(r.frame == 4 for r in previews)
    shown = previews[0].preview
    assert shown.shape == doc.pixels.shape[1:]
    outside = mask[4] == 0
    assert np.array_equal(shown[outside], doc.pixels[4][outside])  # in document units, kept to the mask
    assert shown[~outside].max() > 1.5  # MR values, not the method's 0..1
    assert stop.value.value.pixels.shape == doc.pixels.shape

"""Thinner slices from the volume workspace: the fill-slice methods offer them, and the result shows its
new slice count and positions."""

from __future__ import annotations

import numpy as np
from gui_helpers import image, open_file

import core.io


def test_thinning_a_series_from_the_picker_shows_the_new_slices(window, datasets, qtbot, tmp_path):
    head = core.io.read(datasets / "medical" / "head_ct_ge")
    crop = core.io.write(head.with_pixels(head.pixels[:, 210:258, 190:238].copy()), tmp_path / "head_crop")
    assert open_file(window, crop)
    ws = image(window)
    c = ws.controller
    acquired = c.doc.pixels.copy()
    assert c.frames == 28
    assert ws.picker.select("fill-slice-interp")
    ws.picker.set_param("spacing", 2.5)  # 4 mm gaps in two, 7 mm gaps in three
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert window.notice.text() == ""
    assert c.frames == 67
    kept = [i for i in range(c.frames) if not c.doc.changed[i].all()]
    assert np.array_equal(c.doc.pixels[kept], acquired)
    c.set_frame(1)  # the first inserted slice, halfway between the first two acquired ones
    label = ws.slice_label.text()
    assert label.startswith("Slice 2 / 67")
    z = float(label.split("   at ")[1].split(" mm along the normal")[0])
    assert abs(z - (head.positions[0] + head.positions[1]) / 2) < 0.01
    # the picker still holds what was typed (the run refilled it for the new document)
    assert ws.picker.current_method() == "fill-slice-interp"
    assert ws.picker.params()["spacing"] == 2.5
    # undo brings the acquired slices back
    window.undo_action.trigger()
    assert c.frames == 28 and np.array_equal(c.doc.pixels, acquired)


def test_a_series_with_missing_slices_says_so_and_the_slices_put_back_read_as_made(
    window, datasets, qtbot, tmp_path
):
    head = core.io.read(datasets / "medical" / "head_ct_ge")
    crop = core.io.write(head.with_pixels(head.pixels[:, 210:258, 190:238].copy()), tmp_path / "head_crop")
    for name in ("05.dcm", "20.dcm"):  # two slices lost from the series
        (crop / name).unlink()
    assert open_file(window, crop)
    ws = image(window)
    c = ws.controller
    assert c.frames == 26 and c.doc.gaps == [3, 17]
    said = window.notice.text()
    assert "missing" in said and "after slices 4, 18" in said  # numbered as the slice bar numbers
    assert ws.picker.current_card().task == "fill-slice"
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert c.frames == 28 and window.notice.text() == ""  # the gaps are filled: the notice went
    c.set_frame(4)  # a slice put back: named so, and framed in amber as fills are outlined
    assert ws.slice_label.text().startswith("Slice 5 / 28") and "not acquired" in ws.slice_label.text()
    assert ws.canvas.marks is not None
    c.set_frame(5)  # an acquired one reads as before
    assert "not acquired" not in ws.slice_label.text() and "mm thick" in ws.slice_label.text()
    assert ws.canvas.marks is None


def test_a_slice_refilled_by_name_reads_as_made(window, datasets, qtbot, tmp_path):
    """A review: a named refill changed 99.8% of its slice and was not marked (made slices were told
    by every pixel having changed, which a refill rarely does, and an earlier whole-slice repair can)."""
    head = core.io.read(datasets / "medical" / "head_ct_ge")
    crop = core.io.write(head.with_pixels(head.pixels[:, 210:258, 190:238].copy()), tmp_path / "head_crop")
    assert open_file(window, crop)
    ws = image(window)
    c = ws.controller
    assert ws.picker.select("fill-slice-interp")
    ws.picker.set_param("slices", "3")  # as the slice bar counts, from 1
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    c.set_frame(2)
    label = ws.slice_label.text()
    assert label.startswith("Slice 3 / 28") and "made by fill-slice-interp, not acquired" in label
    assert ws.canvas.marks is not None
    c.set_frame(3)
    assert "not acquired" not in ws.slice_label.text() and ws.canvas.marks is None
    # A later step (a denoise of every slice) leaves the made slice said and framed, and no other
    assert ws.picker.select("denoise-bilateral")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=120_000)
    c.set_frame(2)
    assert "made by fill-slice-interp, not acquired" in ws.slice_label.text() and ws.canvas.marks is not None
    c.set_frame(3)
    assert "not acquired" not in ws.slice_label.text() and ws.canvas.marks is None

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
    z = float(label.split("z = ")[1].split(" mm")[0])
    assert abs(z - (head.positions[0] + head.positions[1]) / 2) < 0.01
    # the picker still holds what was typed (the run refilled it for the new document)
    assert ws.picker.current_method() == "fill-slice-interp"
    assert ws.picker.params()["spacing"] == 2.5
    # undo brings the acquired slices back
    window.undo_action.trigger()
    assert c.frames == 28 and np.array_equal(c.doc.pixels, acquired)

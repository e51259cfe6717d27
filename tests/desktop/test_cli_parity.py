"""The mask is applied once, by core: the same method, mask and parameters give bit-identical pixels
from `lacuna repair` and from the app (with `dilate` and `feather` set, which the app used to undo by
blending the result a second time through its undilated mask)."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import image, open_file
from PySide6.QtCore import Qt

import core.io
from core.cli import main as lacuna


def drag(qtbot, canvas, points) -> None:
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for point in points[1:]:
        qtbot.mouseMove(canvas, point)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])


@pytest.mark.parametrize(
    "name, stroke, suffix",
    [
        ("medical/693_UNCI.dcm", [(180, 256), (230, 250), (290, 262), (330, 256)], ".dcm"),
        ("images/bench/Set14/monarch.png", [(120, 80), (160, 120), (220, 150), (260, 210)], ".png"),
    ],
)
def test_app_and_cli_give_the_same_pixels(window, datasets, qtbot, tmp_path, name, stroke, suffix):
    source = datasets / name
    assert open_file(window, source), window.notice.text()
    ws = image(window)
    ws.tools.set_size(14)
    ws.tools.hardness_slider.setValue(60)  # a soft brush edge: the app must not blend through it
    drag(qtbot, ws.canvas, [ws.widget_point(x, y) for x, y in stroke])
    c = ws.controller
    assert c.masks.any()
    assert ws.picker.select("inpaint-telea")
    ws.picker.set_param("dilate", 4)
    ws.picker.set_param("feather", 3)
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not c.busy, timeout=60_000)
    assert window.notice.text() == ""
    app_result = c.doc
    assert app_result.provenance[-1].params["dilate"] == 4

    mask_file = c.save_mask(tmp_path / "mask.png")
    app_file = window.save_to(tmp_path / f"app{suffix}")
    cli_file = tmp_path / f"cli{suffix}"
    # fmt: off
    assert lacuna([
        "repair", str(source), "-o", str(cli_file), "--task", "inpaint", "--method", "inpaint-telea",
        "--mask", str(mask_file), "--param", "dilate=4", "--param", "feather=3",
    ]) == 0
    # fmt: on
    from_app, from_cli = core.io.read(app_file), core.io.read(cli_file)
    assert np.array_equal(from_app.pixels, from_cli.pixels)
    # The fill reaches into the dilated rim: pixels outside the painted mask did change.
    original = core.io.read(source).pixels
    painted = c.masks.as_array() > 0
    changed = np.any(from_app.pixels != original, axis=-1)
    assert (changed & ~painted).any()

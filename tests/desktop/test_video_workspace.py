"""The video workspace in the real window: a clip with dropped frames is opened, the damage shows on
the timeline, frames are stepped with the keys, the frames are rebuilt, compared, undone, redone and
saved, and a frame range is denoised."""

from __future__ import annotations

import pytest
from gui_helpers import open_file
from PySide6.QtCore import Qt

pytest.importorskip("av")

import core.io  # noqa: E402
from core.video.source import probe  # noqa: E402

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def damaged(datasets, tmp_path):
    source = core.io.read(datasets / "video" / "bench" / "realshort.mp4")
    kept = [s for i, s in enumerate(source.slots) if i not in (10, 20)]
    path = tmp_path / "damaged.mkv"
    core.io.write(source.with_timeline(kept, {}), path, codec="ffv1", sidecar=False)
    return path


def test_step_find_rebuild_compare_undo_save(qtbot, window, damaged, tmp_path):
    assert open_file(window, damaged), window.notice.text()
    ws = window.workspace("video")
    c = ws.controller
    assert window.active is ws
    qtbot.waitUntil(lambda: bool(c.damage), timeout=60_000)
    assert [(d.frame, d.count) for d in c.damage if d.kind == "dropped"] == [(9, 1), (18, 1)]
    assert ws.panel.frame_view.image() is not None

    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert c.index == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert c.index == 33
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert c.index == 32
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert c.index == 0
    assert "frame 1 / 34" in ws.panel.position.text()

    assert ws.picker.select("fill-frames-flow")
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and c.frame_count == 36, timeout=120_000)
    assert c.doc.rebuilt() == [10, 20]
    assert window.session.unsaved

    c.go(10)
    after = ws.panel.frame_view.image().copy()
    ws.set_compare(True)
    assert c.showing_before and ws.panel.frame_view.caption == "before"
    assert ws.panel.frame_view.image() != after
    ws.set_compare(False)

    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert c.frame_count == 34
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert c.frame_count == 36

    out = window.save_to(tmp_path / "rebuilt.mkv")
    assert out is not None and probe(out).frame_count == 36
    assert not window.session.unsaved


def test_a_frame_range_is_denoised_and_only_it(qtbot, window, datasets):
    assert open_file(window, datasets / "video" / "bench" / "carphone_pristine.mp4")
    ws = window.workspace("video")
    c = ws.controller
    c.go(5)
    qtbot.keyClick(window, Qt.Key.Key_I)
    c.go(7)
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert c.selection == (5, 7)
    assert ws.picker.select("denoise-nlmeans")
    ws.picker.set_param("sigma", 15.0)
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.doc.rebuilt()), timeout=120_000)
    assert c.doc.rebuilt() == [5, 6, 7]
    assert c.doc.provenance[-1].task == "denoise"

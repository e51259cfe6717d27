"""The video workspace never makes a whole repair before showing it: after a range repair, each frame
is made alone when stepped or played onto, the clip is not rescanned, and saving is a job with
progress per frame whose cancel leaves no file behind."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import open_file
from PySide6.QtCore import Qt

pytest.importorskip("av")

import core.io  # noqa: E402
from desktop.workspaces.video.views import rgb_image  # noqa: E402

CLIP = ("video", "bench", "bikes.mp4")


def repaired_range(qtbot, window, datasets, first: int, last: int):
    """bikes.mp4 open, scanned, and frames `first`-`last` denoised (planned) through the picker."""
    assert open_file(window, datasets.joinpath(*CLIP))
    ws = window.workspace("video")
    c = ws.controller
    qtbot.waitUntil(lambda: not c.scanner.busy, timeout=180_000)
    found = list(c.damage)
    c.set_selection(first, last)
    assert ws.picker.select("denoise-bilateral")
    ws.picker.set_param("sigma", 15.0)
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.doc.provenance), timeout=60_000)
    return ws, c, found


def test_a_range_repair_is_shown_a_frame_at_a_time_never_made_whole(qtbot, window, datasets):
    ws, c, found = repaired_range(qtbot, window, datasets, 20, 27)
    doc = c.doc
    assert doc.planned() == list(range(20, 28)) and doc.pending is not None and len(doc.store) == 0
    # no rescan of a result whose frames are not made: the marks found before stay, but in the range
    assert not c.scanner.busy and set(c.damage) <= set(found)
    assert not [d for d in c.damage if 20 <= d.frame <= 27 and d.kind != "cut"]

    view = ws.panel.frame_view
    shown = []  # (frame, still being made) each time the view changed, after it changed
    c.frame_changed.connect(lambda _i: shown.append((c.index, view.waiting)))
    c.go(17)
    ws.panel.play_or_stop()
    qtbot.waitUntil(lambda: c.index >= 30, timeout=120_000)
    ws.panel.stop()
    played = {index for index, waiting in shown if not waiting}
    assert played >= set(range(17, 31)), "playback shows each repaired frame once it is made"

    source = core.io.read(datasets.joinpath(*CLIP))
    c.go(18)
    for index in range(19, 30):  # → across the range and out of it, as a person steps
        qtbot.keyClick(window, Qt.Key.Key_Right)
        assert c.index == index
        if c.making():
            assert view.waiting and f"making frame {index + 1}" in view.caption
        qtbot.waitUntil(lambda: not c.making(), timeout=60_000)
        original = source.frame(index)
        expected = doc.frame(index) if 20 <= index <= 27 else original  # core makes it alone too
        assert view.image() == rgb_image(expected), index
        assert (view.image() == rgb_image(original)) == (not 20 <= index <= 27), index
    assert len(doc.store) == 0 and doc.pending is not None  # nothing kept but the view's few frames

    ws.set_compare(True)  # before/after on a repaired frame: the source frame
    c.go(24)
    qtbot.waitUntil(lambda: not c.making(), timeout=60_000)
    assert view.image() == rgb_image(source.frame(24)) and view.caption == "before"
    ws.set_compare(False)

    assert len(doc.store) == 0


def test_saving_is_a_job_with_progress_per_frame_and_cancel_leaves_nothing(qtbot, window, datasets, tmp_path):
    ws, c, _ = repaired_range(qtbot, window, datasets, 0, 59)
    session, clip = window.session, datasets.joinpath(*CLIP)
    before = clip.stat()
    messages = []
    session.writer.progress.connect(lambda report: messages.append(report.message))

    def cancel_at_once(_report) -> None:
        if session.writer.busy:
            ws.progress.cancel_button.click()

    session.writer.progress.connect(cancel_at_once)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "cancelled.mkv"
    assert window.save_to(target) is None  # a job: the window goes on
    assert session.writer.busy and ws.progress.title.text() == "Saving cancelled.mkv…"
    qtbot.waitUntil(lambda: not session.writer.busy, timeout=60_000)
    # Said once the writer's thread is done: no partial file, no temporary one (a walk-through saw one
    # left for 2 s after "nothing was written").
    assert not target.exists() and list(folder.iterdir()) == []
    assert session.writer.wait(60)
    assert session.unsaved and "nothing was written" in ws.progress.message.text()
    assert ws.progress.bar.isHidden()  # no share reached is left standing beside "nothing was written"
    assert clip.stat().st_mtime_ns == before.st_mtime_ns and clip.stat().st_size == before.st_size

    session.writer.progress.disconnect(cancel_at_once)
    messages.clear()
    with qtbot.waitSignal(session.saved, timeout=300_000) as saved:
        window.save_to(folder / "denoised.mkv")
        assert not ws.progress.bar.isHidden()
    out = saved.args[0]
    frames = [int(m.split()[1].split("/")[0]) for m in messages]
    assert frames == sorted(frames) and len(frames) > 50 and messages[-1] == "frame 250/250"
    assert not session.unsaved
    written, source = core.io.read(out), core.io.read(clip)
    assert written.frame_count == 250 and np.allclose(written.times, source.times, atol=1e-3)
    assert np.array_equal(written.frame(100), source.frame(100))  # untouched frames: as decoded
    assert not np.array_equal(written.frame(10), source.frame(10))

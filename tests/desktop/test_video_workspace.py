"""The video workspace in the real window: a clip with dropped frames is opened, the damage shows on
the timeline, frames are stepped with the keys, the frames are rebuilt, compared, undone, redone and
saved, and a frame range is denoised."""

from __future__ import annotations

import pytest
from gui_helpers import open_file
from PySide6.QtCore import Qt

from core.tasks import TASKS

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
    # The status names the frames as the view numbers them, from 1 (a review: it said 9 for 10).
    assert "2 dropped (after 10, 19)" in window.statusBar().currentMessage()

    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert c.index == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert c.index == 33
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert c.index == 32
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert c.index == 0
    assert "frame 1 / 34" in ws.panel.position.text()
    # A clip starts on its own tasks (lost frames first), not on inpainting, which needs a mask.
    assert ws.picker.current_card().task == "fill-frames" and not ws.picker.current_card().needs_mask
    assert ws.picker.tree.topLevelItem(0).text(0) == TASKS["fill-frames"].title

    assert ws.picker.select("fill-frames-flow")
    said = []
    c.status.connect(said.append)
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and c.frame_count == 36, timeout=120_000)
    assert c.doc.rebuilt() == [10, 20]
    assert not [line for line in said if line.startswith("Damage:")]  # carried over, not said again
    assert window.session.unsaved
    # not rescanned (its frames are not made yet): the gaps it filled are no longer marked
    assert not c.scanner.busy and not [d for d in c.damage if d.kind == "dropped"]

    c.go(10)
    qtbot.waitUntil(lambda: not c.making(), timeout=60_000)
    after = ws.panel.frame_view.image().copy()
    # Once repaired, the frame still says what made it (the view kept no trace of a repair).
    assert c.made_frames() == {10: "inserted", 20: "inserted"}
    assert ws.panel.frame_view.caption == "REPAIRED — inserted"
    assert "repaired (inserted)" in ws.panel.position.text()
    ws.panel.set_compare("split")  # an inserted frame is set against its nearest neighbour, and says so
    assert ws.panel.frame_view.caption == "AFTER — inserted (set against the nearest frame before)"
    ws.panel.set_compare("")
    ws.set_compare(True)
    assert c.showing_before and ws.panel.frame_view.caption == "before"
    assert ws.panel.frame_view.image() != after
    ws.set_compare(False)

    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert c.frame_count == 34
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert c.frame_count == 36

    with qtbot.waitSignal(window.session.saved, timeout=120_000) as saved:
        assert window.save_to(tmp_path / "rebuilt.mkv") is None  # a job
    assert probe(saved.args[0]).frame_count == 36
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
    # planned, not all made yet: said (walk-through 53 read "finished" while the frame was being made)
    said = window.statusBar().currentMessage()
    assert "3 frame(s) repaired (each made when shown, all when saved), 120 frames" in said
    # Before and after side by side, and the difference, as for pictures (a walk-through could compare
    # a film's repair only by saving it and opening both)
    import numpy as np

    c.go(6)
    qtbot.waitUntil(lambda: not c.making(), timeout=60_000)
    after, before = c.frame(), c.before_frame()
    qtbot.keyClick(window, Qt.Key.Key_C)
    view = ws.panel.frame_view
    assert ws.split_action.isChecked() and view.split and view.caption.startswith("AFTER — ")
    shown = view.image()
    half = after.shape[1] // 2
    differs = np.argwhere(np.abs(after.astype(int) - before).max(axis=-1) > 8)
    left = next((y, x) for y, x in differs if x < half - 1)
    right = next((y, x) for y, x in differs if x > half)
    for (y, x), source in ((left, before), (right, after)):
        assert shown.pixelColor(int(x), int(y)).getRgb()[:3] == tuple(int(v) for v in source[y, x])
    qtbot.keyClick(window, Qt.Key.Key_D)
    assert not ws.split_action.isChecked() and ws.diff_action.isChecked() and not view.split
    assert view.caption.startswith("DIFFERENCE ×4 — ") and not view.caption.endswith(" 0 pixels changed")
    qtbot.keyClick(window, Qt.Key.Key_C)
    c.go(0)
    assert view.caption == "AFTER — unchanged by the repair"
    qtbot.keyClick(window, Qt.Key.Key_C)
    assert not view.split and not ws.panel.compare
    # A second repair over those frames and more counts all it repaired (a walk-through's deflicker
    # of 24 frames after dust removal said "1 frame(s)": frames rebuilt before were not counted)
    c.go(4)
    qtbot.keyClick(window, Qt.Key.Key_I)
    c.go(8)
    qtbot.keyClick(window, Qt.Key.Key_O)
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and len(c.doc.provenance) == 2, timeout=120_000)
    assert (
        "5 frame(s) repaired (each made when shown, all when saved), 120 frames"
        in window.statusBar().currentMessage()
    )
    # Compare with the Original: the clip as opened, not as the first denoise left it (it was greyed
    # out for clips, a walk-through)
    c.go(6)
    qtbot.waitUntil(lambda: c.before_frame() is not None, timeout=60_000)
    after_first = c.before_frame()
    ws.original_action.trigger()
    assert "compare with the clip as opened" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: c.before_frame() is not None, timeout=60_000)
    opened = core.io.read(datasets / "video" / "bench" / "carphone_pristine.mp4").frame(6)
    assert np.array_equal(c.before_frame(), opened) and not np.array_equal(after_first, opened)
    ws.original_action.trigger()


def test_detect_damage_on_a_frame_erase_repair_undo(qtbot, window, datasets, tmp_path):
    """Dust on one frame of a shared clip: the temporal detector proposes it as the mask, the slider
    re-thresholds it live in one undo step, the eraser edits it, inpainting repairs that frame only."""
    import numpy as np

    from core.detect.damage import draw
    from core.video.document import Slot

    source = core.io.read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    frames = source.window(0, 20)
    damaged, truth = draw(frames[8].astype(np.float32) / 255.0, "dust", np.random.default_rng(5), amount=2.0)
    slots = [Slot(s.pts, None if i == 8 else i) for i, s in enumerate(source.slots[:20])]
    specked = {slots[8].pts: np.round(damaged * 255).astype(np.uint8)}
    path = core.io.write(
        source.with_timeline(slots, specked), tmp_path / "dusty.mkv", codec="ffv1", sidecar=False
    )
    assert open_file(window, path)
    ws = window.workspace("video")
    c, panel = ws.controller, ws.detect_panel
    original = c.doc
    c.go(8)
    # The default is what `lacuna detect` runs on a clip (a walk-through found the app and the CLI
    # proposing different detectors); the temporal one is offered too.
    assert panel.method.currentData() == "detect-learned-frames" and not panel.sensitivity.isEnabled()
    panel.method.setCurrentIndex(panel.method.findData("detect-temporal"))

    panel.button.click()
    qtbot.waitUntil(lambda: not ws.busy and ws.detection.proposal is not None, timeout=60_000)
    # The method picked stays picked (the list is refilled after every job; it went back to the first).
    assert panel.method.currentData() == "detect-temporal"
    found = c.mask > 0
    hit = np.count_nonzero(found & truth) / np.count_nonzero(truth)
    assert hit > 0.5 and np.count_nonzero(found & ~truth) < np.count_nonzero(truth), (
        "the dust, not the picture"
    )
    assert panel.sensitivity.isEnabled() and ws.undo_label() == "detect damage"
    # Inpainting is picked to fill the proposal (a walk-through's Repair ran frame interpolation,
    # which ignores the mask, and repaired nothing).
    assert ws.picker.current_card().needs_mask and ws.picker.current_card().task == "inpaint"
    count, value = np.count_nonzero(c.mask), panel.sensitivity.value()
    panel.sensitivity.setValue(min(value + 30, panel.sensitivity.maximum()))
    assert np.count_nonzero(c.mask) > count
    panel.sensitivity.setValue(value)
    assert np.count_nonzero(c.mask) == count
    assert [e.label for e in c.history.entries()] == ["detect damage"]

    # The brush over proposed pixels is an edit: raised, the sensitivity keeps them; undone, it does not.
    ys, xs = np.nonzero(c.mask)
    c.begin_stroke(int(xs[-1]), int(ys[-1]))
    c.end_stroke()
    assert ws.undo_label() == "brush" and c.brushed()[ys[-1], xs[-1]]
    panel.sensitivity.setValue(0)
    assert c.mask[ys[-1], xs[-1]] > 0 and np.count_nonzero(c.mask) < count
    ws.undo()
    ws.undo()
    assert c.brushed() is None and np.count_nonzero(c.mask) == count

    # the eraser, as a person drags it over the frame
    ys, xs = np.nonzero(c.mask)
    y, x = int(ys[0]), int(xs[0])
    ws.tool_buttons.buttons()[1].click()
    assert ws.panel.frame_view.tool == "eraser"
    c.begin_stroke(x, y, erase=True)
    c.stroke_to(x + 1, y)
    c.end_stroke()
    assert c.mask[y, x] == 0 and ws.undo_label() == "eraser"

    assert ws.picker.select("inpaint-telea")
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and c.doc is not original, timeout=120_000)
    assert c.doc.rebuilt() == [8]  # no range: the frame the mask was made on
    # The repaired frame is shown without the mask over it (it hid the result), one click away.
    assert not ws.panel.frame_view.show_mask and not ws.show_mask.isChecked() and c.mask.any()
    repaired = c.doc.frame(8).astype(float)
    clean = frames[8].astype(float)
    assert np.abs(repaired - clean)[truth].mean() < 0.5 * np.abs(damaged * 255 - clean)[truth].mean()
    # The repair's history says the mask came from the detector and that the eraser changed it
    # (a stroke after the last slider move counts too).
    detected, filled = c.doc.provenance[-2:]
    assert (detected.task, detected.method, filled.method) == ("detect", "detect-temporal", "inpaint-telea")
    assert "edited by hand" in detected.warnings[0] and detected.params["frames_scored"] == [8, 8]
    # Detected again on the repaired frame, the mask that repair filled is not kept as painting (a
    # walk-through of the image view found the first proposal coming back whole).
    spent = c.mask > 0
    panel.button.click()
    qtbot.waitUntil(lambda: not ws.busy and ws.undo_label() == "detect damage", timeout=60_000)
    again = c.mask > 0 if c.mask is not None else np.zeros_like(spent)
    assert np.array_equal(again, ws.detection.proposal.detected) and again.sum() < spent.sum()
    ws.undo()

    ws.undo()
    assert c.doc is original and ws.undo_label() == "eraser"
    ws.undo()
    assert c.mask[y, x] > 0 and ws.undo_label() == "detect damage"
    ws.undo()
    assert c.mask is None and ws.undo_label() is None


def test_a_lossy_save_says_so_in_the_app(window, datasets, tmp_path, qtbot):
    """A walk-through saved a clip as .webm and .mp4 from the app: only "Saved", where the command
    line says every frame was encoded again."""
    import shutil

    clip = shutil.copy(datasets / "video" / "bench" / "realshort.mp4", tmp_path / "clip.mp4")
    assert open_file(window, clip)
    target = tmp_path / "saved.mp4"
    assert window.session.start_save(target)
    qtbot.waitUntil(lambda: target.exists() and not window.session.writer.busy, timeout=120_000)
    qtbot.waitUntil(lambda: "Saved saved.mp4: " in window.notice.text(), timeout=5_000)
    assert "h264 is lossy: every frame is encoded again" in window.notice.text()


def test_an_odd_sized_film_is_refused_as_mp4_before_the_save_starts(window, datasets, tmp_path):
    """A walk-through watched the old film (579 × 340) start saving to .mp4 and fail at its end."""
    assert open_file(window, datasets / "video" / "oldfilm" / "001")
    said = []
    window.session.error.connect(said.append)
    assert not window.session.start_save(tmp_path / "film.mp4")
    assert not window.session.writer.busy and not (tmp_path / "film.mp4").exists()
    assert "h264 needs an even width and height, and these frames are 579×340" in said[-1]


def test_a_range_detection_repairs_each_frame_under_its_own_marks(qtbot, window, datasets, tmp_path):
    """A walk-through detected damage over frames 5-10 of a dusty film and repaired them: the range's
    one mask (every frame's marks) was filled on each frame, repainting clean film where another frame
    had its dust. Each frame is now repaired under its own marks; what the person painted applies to
    all of them."""
    import numpy as np

    from core.detect.damage import draw
    from core.detect.run import repair_mask
    from core.video.document import Slot

    source = core.io.read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    frames = source.window(0, 20)
    slots = [Slot(s.pts, None if i in (8, 9) else i) for i, s in enumerate(source.slots[:20])]
    specked = {}
    for i in (8, 9):
        hurt, _truth = draw(
            frames[i].astype(np.float32) / 255.0, "dust", np.random.default_rng(i), amount=2.0
        )
        specked[slots[i].pts] = np.round(hurt * 255).astype(np.uint8)
    path = core.io.write(
        source.with_timeline(slots, specked), tmp_path / "dusty.mkv", codec="ffv1", sidecar=False
    )
    assert open_file(window, path)
    ws = window.workspace("video")
    c = ws.controller
    before = {i: c.doc.frame(i).astype(np.int16) for i in (8, 9)}
    c.go(8)
    qtbot.keyClick(window, Qt.Key.Key_I)
    c.go(9)
    qtbot.keyClick(window, Qt.Key.Key_O)
    ws.detect_panel.button.click()
    qtbot.waitUntil(lambda: not ws.busy and ws.detection.proposal is not None, timeout=120_000)
    found = ws.detection.found  # scored on frames 7-10: a neighbour either side of the range
    own = dict(zip((8, 9), repair_mask(found.score[1:3], found.threshold, found.rule)))
    shown = c.mask > 0  # the range shows one mask: both frames' marks
    c.begin_stroke(30.0, 30.0)  # painted by hand: for every frame of the range
    c.end_stroke()
    assert ws.picker.select("inpaint-telea")
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.doc.provenance), timeout=120_000)
    for i, other in ((8, 9), (9, 8)):
        changed = np.abs(c.doc.frame(i).astype(np.int16) - before[i]).max(-1) > 0
        only_other = own[other] & ~own[i]
        assert only_other.sum() > 50 and shown[only_other].mean() > 0.9  # one mask would fill them
        assert not changed[only_other].any(), i  # the other frame's marks
        assert changed[own[i]].any() and changed[26:35, 26:35].any()  # its own, and the painting


def test_a_films_dust_removal_marks_the_frames_it_repairs(qtbot, window, datasets, tmp_path):
    """A walk-through's Remove dust said "22 frame(s) repaired" while no frame said so, and the split
    view called a cleaned frame "not repaired" (its frames are made when shown, not rebuilt at once)."""
    import shutil

    reel = tmp_path / "reel"
    reel.mkdir()
    for path in sorted((datasets / "video" / "oldfilm" / "001").iterdir())[:6]:
        shutil.copy(path, reel)
    assert open_file(window, reel), window.notice.text()
    ws = window.workspace("video")
    c = ws.controller
    assert ws.picker.select("dust-temporal")
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.doc.provenance), timeout=120_000)
    inner = set(range(1, c.frame_count - 1))  # the first and last have one neighbour: left
    assert {i for i, task in c.made_frames().items() if task == "remove-dust"} == inner
    c.go(2)
    qtbot.waitUntil(lambda: not c.making(), timeout=60_000)
    assert "repaired (remove-dust)" in ws.panel.position.text()


def test_a_refused_repair_is_taken_back_once_a_repair_succeeds(qtbot, window, datasets):
    """Walk-through 42: "nothing to rebuild" stood on the notice bar over four successful repairs."""
    assert open_file(window, datasets / "video" / "bench" / "realshort.mp4"), window.notice.text()
    ws = window.workspace("video")
    c = ws.controller
    qtbot.waitUntil(lambda: not c.scanner.busy, timeout=60_000)
    assert ws.picker.select("fill-frames-blend")
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and "nothing to rebuild" in window.notice.text(), timeout=60_000)
    c.set_selection(5, 5)  # a frame the scan found nothing on: rebuilt as asked
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and c.doc.rebuilt() == [5], timeout=60_000)
    assert window.notice.text() == ""


def test_a_clip_made_longer_says_so_on_the_notice_bar(qtbot, window, steady_pan, constant_rate, tmp_path):
    """Walk-throughs 41 and 42: putting back frames lost without a timestamp gap makes the clip longer,
    said only in an 8-second status message; it stays on the notice bar until dismissed."""
    lost = constant_rate(steady_pan[:20] + steady_pan[21:], tmp_path / "pan_lost.mkv")
    assert open_file(window, lost.path), window.notice.text()
    ws = window.workspace("video")
    c = ws.controller
    qtbot.waitUntil(lambda: bool(c.damage), timeout=60_000)
    assert [(d.kind, d.frame) for d in c.damage] == [("dropped", 19)]
    assert ws.picker.select("fill-frames-blend")
    qtbot.mouseClick(ws.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and c.frame_count == 41, timeout=60_000)
    assert "1 frame(s) lost without a gap in the timestamps" in window.notice.text()
    assert "the clip 0.042 s longer" in window.notice.text()
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # undone: the clip is as it was, and the notice goes
    assert c.frame_count == 40 and window.notice.text() == ""

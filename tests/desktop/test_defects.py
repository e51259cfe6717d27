"""Regression tests of desktop defects found while trying the app as a new user would (issue 15)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from gui_helpers import audio, image, open_file
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

import core.io


def paint(qtbot, ws, points) -> None:
    canvas = ws.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=ws.widget_point(*points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(canvas, ws.widget_point(x, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=ws.widget_point(*points[-1]))


def repaired_ct(qtbot, window, ct_path):
    assert open_file(window, ct_path)
    ws = image(window)
    paint(qtbot, ws, [(200, 250), (260, 256), (320, 250)])
    assert ws.picker.select("inpaint-telea")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert ws.controller.doc.provenance
    return ws


def test_save_as_onto_an_existing_file_the_dialog_agreed_to_replace(
    window, ct_path, qtbot, tmp_path, monkeypatch
):
    ws = repaired_ct(qtbot, window, ct_path)
    target = tmp_path / "result.dcm"
    target.write_bytes(b"an old result")
    # The save dialog asks "replace it?" and returns the name only when the person said yes.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    window.save_dialog()
    assert window.notice.text() == ""
    saved = core.io.read(target)
    assert np.abs(saved.pixels - ws.controller.doc.pixels).max() <= 1.0
    assert "REPAIRED, saved as result.dcm" in window.windowTitle()  # where the result went


def test_save_as_onto_the_original_is_turned_down_before_any_replace_question(
    window, ct_path, qtbot, tmp_path, monkeypatch
):
    repaired_ct(qtbot, window, ct_path)
    original = Path(window.session.doc.path)
    before = original.read_bytes()
    other = tmp_path / "result.dcm"
    answers = iter([(str(original), ""), (str(other), "")])  # the original's name first, then another
    told, asked = [], []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: next(answers))
    monkeypatch.setattr(QMessageBox, "information", lambda *args: told.append(args[2]))
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args) or None)
    window.save_dialog()
    qtbot.waitUntil(lambda: other.exists(), timeout=30_000)
    assert len(told) == 1 and "never overwrites" in told[0] and asked == []
    assert original.read_bytes() == before


def test_a_mask_hidden_after_a_repair_is_shown_for_the_next_file(window, ct_path, datasets, qtbot):
    ws = repaired_ct(qtbot, window, ct_path)
    assert not ws.canvas.show_mask  # hidden after the repair, so the fill shows
    window.confirm_discard = lambda: True
    assert open_file(window, datasets / "images" / "bench" / "Set14" / "monarch.png")
    paint(qtbot, ws, [(100, 100), (140, 120)])
    assert ws.controller.masks.any()
    assert ws.canvas.show_mask and ws.show_mask_action.isChecked() and ws.tools.show_mask.isChecked()


def test_an_undone_repair_shows_the_mask_it_hid_and_a_redone_one_hides_it_again(window, ct_path, qtbot):
    """A walk-through undid a CT repair and the mask stayed hidden: what was painted could not be
    seen to edit it (the photo's detection showed it again)."""
    ws = repaired_ct(qtbot, window, ct_path)
    assert not ws.canvas.show_mask
    ws.controller.undo()
    assert ws.canvas.show_mask and ws.show_mask_action.isChecked() and ws.controller.masks.any()
    ws.controller.redo()
    assert not ws.canvas.show_mask and not ws.show_mask_action.isChecked()
    ws.set_show_mask(True)  # the person's own choice stands while they work on the result
    paint(qtbot, ws, [(100, 100), (140, 120)])
    assert ws.canvas.show_mask


def test_no_status_text_of_the_previous_file_carries_over(window, ct_path, datasets, qtbot):
    ws = repaired_ct(qtbot, window, ct_path)
    assert ws.progress.isVisible() and "finished" in ws.progress.message.text()
    window.confirm_discard = lambda: True
    assert open_file(window, datasets / "images" / "bench" / "Set14" / "monarch.png")
    assert not ws.progress.isVisible()  # the CT's repair outcome is not the photo's
    assert open_file(window, ct_path)
    qtbot.mouseMove(ws.canvas, ws.widget_point(200.5, 180.5))
    assert ws.pixel_label.text().endswith("HU")
    window.show_status("Difference map: 812 pixels changed")
    assert open_file(window, datasets / "images" / "bench" / "Set14" / "monarch.png")
    assert ws.pixel_label.text() == ""
    assert "Difference map" not in window.statusBar().currentMessage()
    assert open_file(window, ct_path)
    qtbot.mouseMove(ws.canvas, ws.widget_point(210.5, 190.5))
    assert ws.pixel_label.text().endswith("HU")
    assert open_file(window, datasets / "audio" / "bench" / "digits" / "0_yweweler_0.wav")
    shown = [w.text() for w in window.statusBar().findChildren(type(ws.pixel_label)) if w.isVisible()]
    assert not any("HU" in text for text in shown)
    # Nor does the audio panel's line about the last recording.
    sound = audio(window)
    sound.controller.detect()
    assert sound.panel.status.text().startswith("Detected")
    assert open_file(window, datasets / "audio" / "bench" / "digits" / "3_yweweler_7.wav")
    assert sound.panel.status.text() == ""


def test_progress_shows_the_steps_of_a_short_run(window, ct_path, qtbot):
    """A method that reports ten steps in a few milliseconds: the bar shows them, not 0 then 100%."""
    from core.methods import register
    from core.methods.registry import MethodCard, all_methods

    def run(image_, mask, ctx):
        for step in range(1, 11):
            yield ctx.progress(step / 10, f"step {step}")
        return image_

    register(
        MethodCard("test-ten-steps", "denoise", "Ten quick steps", "classical", "Reports ten steps."), run
    )
    try:
        assert open_file(window, ct_path)
        ws = image(window)
        values = []
        ws.progress.bar.valueChanged.connect(values.append)
        assert ws.controller.run_repair("denoise", "test-ten-steps")
        qtbot.waitUntil(lambda: not ws.busy, timeout=20_000)
        steps = sorted({v for v in values if 0 < v < 1000})
        assert len(steps) >= 5, values
        # The status bar says it was done (a walk-through saw "Opened ..." stay after a repair).
        assert window.statusBar().currentMessage().startswith("Ten quick steps finished")
    finally:
        del all_methods()["test-ten-steps"]


def test_reopening_a_lacuna_output_shows_what_was_done(window, ct_path, qtbot, tmp_path):
    ws = repaired_ct(qtbot, window, ct_path)
    written = window.save_to(tmp_path / "ct_inpaint.dcm")
    assert written is not None
    assert open_file(window, written)
    assert "inpaint-telea" in ws.info.fields["History"].text()
    assert ws.canvas.banner == "REPAIRED — inpaint-telea"
    assert "REPAIRED" in window.windowTitle() and not window.session.unsaved


def test_slice_numbers_typed_for_slice_filling_are_the_slider_s(window, datasets, qtbot):
    """The slider says "Slice 3 / 10" for the third slice: typing 3 refills that slice, not the fourth."""
    assert open_file(window, datasets / "medical" / "emri_small.dcm")
    ws = image(window)
    c = ws.controller
    c.set_frame(2)
    assert ws.slice_label.text().startswith("Slice 3 / 10")
    original = c.doc.pixels.copy()
    assert ws.picker.select("fill-slice-interp")
    ws.picker.set_param("slices", "3")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert window.notice.text() == ""
    changed = [f for f in range(c.frames) if not np.array_equal(c.doc.pixels[f], original[f])]
    assert changed == [2]
    # A slice that does not exist is a message, not a fill of another one.
    ws.picker.set_param("slices", "11")
    ws.picker.request_run()
    assert "1 to 10" in window.notice.text() and not ws.busy


def test_the_window_keeps_working_while_a_big_file_is_read(window, ct_path, qtbot, monkeypatch):
    """Reading happens on a worker: the event loop runs (timers fire, the busy bar shows) meanwhile.
    Here the reader waits for a timer of the window's own event loop: a read on the GUI thread would
    wait in vain."""
    timer_fired = threading.Event()
    real_read = core.io.read

    def slow_read(path):
        fired = timer_fired.wait(10)
        doc = real_read(path)
        doc.metadata["timer fired during the read"] = fired
        return doc

    monkeypatch.setattr(core.io, "read", slow_read)
    QTimer.singleShot(50, timer_fired.set)
    assert window.open_path(ct_path)
    assert window.busy_bar.isVisible() and "Opening" in window.busy_label.text()
    qtbot.waitUntil(lambda: window.session.opening is None, timeout=30_000)
    assert window.session.doc.metadata["timer fired during the read"]
    assert not window.busy_bar.isVisible()


def test_audio_title_says_saved_after_saving(window, datasets, qtbot, tmp_path):
    from core.audio.selection import TimeSpan

    assert open_file(window, datasets / "audio" / "bench" / "digits" / "3_yweweler_7.wav")
    ws = audio(window)
    n = len(ws.controller.doc.samples)
    ws.controller.set_selections([TimeSpan(int(0.45 * n), int(0.47 * n))])
    assert ws.controller.fill("fill-gap-ar")
    qtbot.waitUntil(lambda: not ws.busy, timeout=30_000)
    assert "not saved" in window.windowTitle()
    assert window.save_to(tmp_path / "fixed.wav") is not None
    assert "not saved" not in window.windowTitle()


def test_the_difference_map_counts_what_a_save_keeps_in_the_scans_units(window, ct_path, qtbot):
    """A CT's difference map counted every float change, also the ones under half a HU that saving
    rounds away (6093 'changed' of 5686 saved), and gave the largest change without its unit."""
    ws = repaired_ct(qtbot, window, ct_path)
    ws.diff_action.trigger()
    repair = ws.controller.last_repair()
    change = np.abs(ws.controller.doc.pixels[0, ..., 0] - repair.before.pixels[0, ..., 0])
    kept = int((change >= 0.5).sum())
    assert 0 < kept < int((change > 0).sum())  # the feathered rim moved some pixels by less
    message = window.statusBar().currentMessage()
    assert (
        message == f"Difference map of inpaint-telea: {kept} pixels changed by 0.5 HU or more,"
        f" largest change {change.max():.4g} HU"
    )
    assert np.count_nonzero(ws.canvas.diff.buffer) == kept


def test_a_series_repair_records_the_painted_mask_beside_its_slices(window, datasets, qtbot):
    """On a CT series the engine names the slices repaired, and that line took the place of the
    app's 'mask painted in the app' (a review): both are kept."""
    assert open_file(window, datasets / "medical" / "head_ct_ge")
    ws = image(window)
    paint(qtbot, ws, [(200, 250), (260, 256), (320, 250)])
    painted = int((ws.controller.masks.get(ws.controller.frame) > 0).sum())
    assert ws.picker.select("inpaint-telea")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=120_000)
    selection = ws.controller.doc.provenance[-1].selection
    slice_named = f"% of the slice) on slice {ws.controller.frame + 1} of 28 (counted from 1)"
    assert selection.startswith(f"mask painted in the app: {painted:,} pixels (") and slice_named in selection
    assert "(counted from 0)" in selection  # the engine's line, as the command line counts
    # The series' own inpainting takes the whole stack (no frames): its record named no slice and
    # gave the share of all 28 (a walk-through: 0.05% where the app showed 1.47%).
    ws.controller.undo()
    qtbot.waitUntil(lambda: not ws.controller.doc.provenance, timeout=10_000)
    assert ws.picker.select("inpaint-slices")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy and bool(ws.controller.doc.provenance), timeout=120_000)
    assert slice_named in ws.controller.doc.provenance[-1].selection


def test_compare_with_the_original_after_two_repairs(window, datasets, qtbot):
    """After two repairs hold-X, split and the difference map showed only the last one's change."""
    assert open_file(window, datasets / "images" / "bench" / "Set12" / "01.png")
    ws = image(window)
    original = ws.controller.doc.pixels.copy()
    for stroke in ([(40, 40), (80, 44)], [(150, 150), (190, 154)]):
        paint(qtbot, ws, stroke)
        assert ws.picker.select("inpaint-telea")
        ws.picker.request_run()
        qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert len(ws.controller.doc.provenance) == 2
    # Painting after a repair started a new mask: the second repair filled the second stroke only (a
    # walk-through's second inpaint refilled the first stroke, hidden but kept); undo brings it back.
    mask = ws.controller.masks.get(0)
    assert mask[40:46, 40:80].max() == 0 and mask[150:156, 150:190].max() > 0
    first, second = (
        int(step.selection.split(": ")[1].split(" pixels")[0].replace(",", ""))
        for step in ws.controller.doc.provenance
    )
    assert second < 1.5 * first
    # Alone, the toggle changes what the comparisons will show, and says so (a walk-through saw nothing)
    ws.original_action.trigger()
    assert "hold X now compare with the picture as opened" in window.statusBar().currentMessage()
    ws.original_action.trigger()
    assert "compare with the picture before the last repair" in window.statusBar().currentMessage()
    ws.diff_action.trigger()
    assert ws.canvas.before_label == "BEFORE — inpaint-telea"
    last_only = int(np.count_nonzero(ws.canvas.diff.buffer))
    ws.original_action.trigger()
    assert ws.canvas.before_label == "BEFORE — original"
    changed = np.abs(ws.controller.doc.pixels[0] - original[0]).max(-1) >= 0.5
    assert np.count_nonzero(ws.canvas.diff.buffer) == int(changed.sum()) > last_only
    assert (
        window.statusBar()
        .currentMessage()
        .startswith(f"Difference map of every repair: {int(changed.sum())} ")
    )


def test_the_difference_map_of_an_enlargement_says_why_it_shows_nothing(window, datasets, qtbot):
    """A walk-through pressed D after an upscale: no overlay and no word."""
    assert open_file(window, datasets / "images" / "bench" / "Set5" / "butterfly_GT.png")
    ws = image(window)
    assert ws.picker.select("upscale-bicubic")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    ws.diff_action.trigger()
    assert window.statusBar().currentMessage().startswith("No difference map for a result of another size")


def test_an_enlargement_is_compared_with_the_source_enlarged_by_bicubic(window, datasets, qtbot):
    """Walk-through 43: the split set an upscale against the source's pixel blocks (a smaller layer
    drawn unsmoothed when zoomed in, its checker squares another size); an upscaler is judged against
    bicubic, pixel over pixel."""
    assert open_file(window, datasets / "images" / "bench" / "Set5" / "butterfly_GT.png")
    ws = image(window)
    source = ws.controller.doc.pixels[0].copy()
    assert ws.picker.select("upscale-bicubic")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    result = ws.controller.doc.pixels[0]
    factor = result.shape[0] // source.shape[0]
    assert factor >= 2 and result.shape[:2] == (source.shape[0] * factor, source.shape[1] * factor)
    ws.split_action.trigger()
    before = ws.canvas.before
    assert (before.image.height(), before.image.width()) == result.shape[:2]
    assert ws.canvas.before_label == f"BEFORE — original, bicubic ×{factor}"
    # The reference is the source enlarged: the upscale-bicubic result itself, to rounding.
    shown = before.buffer.view(np.uint8).reshape(*result.shape[:2], 4)[..., 2::-1].astype(float)
    assert np.abs(shown - np.clip(result, 0, 255)).max() <= 1.0
    # Compare with the Original lays the picture as opened under the result the same way.
    ws.original_action.trigger()
    assert ws.canvas.before_label == f"BEFORE — original, bicubic ×{factor}"

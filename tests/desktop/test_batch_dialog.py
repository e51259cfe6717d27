"""The batch dialog: repairs a folder with the picked method, shows each item's state, cancels, and
leaves a manifest that `lacuna batch` resumes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from gui_helpers import open_file
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

from core.batch import Batch, BatchRequest
from desktop.batch import BatchDialog


def make_folder(root, datasets, count: int):
    files = sorted((datasets / "images" / "bench" / "BSD68").glob("*.png"))[:count]
    for n, path in enumerate(files):
        folder = root / f"roll{n % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        crop = np.asarray(Image.open(path))[:48, :48]
        Image.fromarray(crop).save(folder / path.name)
    (root / "broken.png").write_bytes(files[0].read_bytes()[:100])
    return root


def open_dialog(qtbot, source, output):
    dialog = BatchDialog()
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(source))
    dialog.output_edit.setText(str(output))
    assert dialog.picker.select("denoise-bilateral")
    assert dialog.picker._param_widgets["sigma"].text() == "estimate"  # what 0 means, not "0.000"
    dialog.picker.set_param("sigma", 10.0)
    dialog.show()
    return dialog


def states(dialog) -> dict[str, str]:
    return {
        dialog.queue.item(r, 0).text(): dialog.queue.item(r, 1).text() for r in range(dialog.queue.rowCount())
    }


def notes(dialog) -> dict[str, str]:
    return {
        dialog.queue.item(r, 0).text(): dialog.queue.item(r, 2).text() for r in range(dialog.queue.rowCount())
    }


def test_the_dialog_repairs_a_folder_and_the_command_line_resumes_its_batch(qtbot, tmp_path, datasets):
    source, output = make_folder(tmp_path / "scans", datasets, 6), tmp_path / "repaired"
    dialog = open_dialog(qtbot, source, output)
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)

    assert (dialog.summary.succeeded, dialog.summary.failed) == (6, 1)
    shown = states(dialog)
    assert shown.pop("broken.png") == "failed"
    assert set(shown.values()) == {"done"} and len(shown) == 6
    assert dialog.progress.value() == dialog.progress.maximum() == 7
    assert (output / "roll0").is_dir()

    # The same batch from the command line: everything done is skipped.
    request = BatchRequest(source, output, ("denoise",), ("denoise-bilateral",), {"sigma": "10"})
    again = Batch(request).run()
    assert (again.succeeded, again.done_before) == (0, 6)


def test_cancel_stops_the_batch_and_a_new_start_finishes_it(qtbot, tmp_path, datasets):
    source, output = make_folder(tmp_path / "scans", datasets, 30), tmp_path / "repaired"
    dialog = open_dialog(qtbot, source, output)
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.value() >= 2, timeout=120_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.cancelled
    shown = list(states(dialog).values())
    assert "to do" in shown
    # The bar counts what finished, not the items stopped in flight (they stay to do).
    assert dialog.progress.value() == shown.count("done") + shown.count("failed")

    finished = [key for key, state in states(dialog).items() if state == "done"]

    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)  # resumes
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.summary.cancelled, timeout=120_000)
    assert finished and all(notes(dialog)[key].startswith("done before: ") for key in finished)
    assert dialog.summary.done_before >= 1  # the first item is the broken file, failed
    assert dialog.summary.succeeded + dialog.summary.done_before == 30


def test_an_item_stopped_in_flight_is_not_a_step_of_the_bar(qtbot, tmp_path, datasets):
    """Whatever the timing of a real cancel, an outcome cancelled in flight leaves the bar where it was."""
    from core.batch.worker import DONE, PENDING, Outcome

    dialog = open_dialog(qtbot, tmp_path, tmp_path / "out")
    dialog.started_at = 0.0
    dialog.queue.setRowCount(2)
    for row, key in enumerate(("a.png", "b.png")):
        for column, text in enumerate((key, "to do", "")):
            dialog.queue.setItem(row, column, QTableWidgetItem(text))
    dialog.rows = {"a.png": 0, "b.png": 1}
    dialog._began(2, 2)
    dialog._item_finished(Outcome("a.png", DONE, output=str(tmp_path / "a_denoise.png")))
    dialog._item_finished(Outcome("b.png", PENDING, error="cancelled"))
    assert dialog.progress.value() == 1
    assert states(dialog) == {"a.png": "done", "b.png": "to do"}
    # What the command line warns of shows in the item's note too (a walk-through's truncated scan
    # was a plain "done" in the queue), every warning in its tooltip.
    warned = ["the file is truncated: its image data ends early", "stored as float32"]
    dialog._item_finished(
        Outcome("b.png", DONE, output=str(tmp_path / "b_denoise.png"), params={"warnings": warned})
    )
    note = dialog.queue.item(1, 2)
    assert (
        note.text() == "b_denoise.png; warning: the file is truncated: its image data ends early (and 1 more)"
    )
    assert note.toolTip().splitlines() == ["b_denoise.png", *(f"warning: {w}" for w in warned)]


def test_file_menu_opens_the_batch_dialog_on_the_open_documents_folder(window, ct_path):
    assert open_file(window, ct_path)
    action = next(a for a in window.menus["File"].actions() if a.text() == "&Batch Repair…")
    action.trigger()
    assert isinstance(window.batch, BatchDialog) and window.batch.isVisible()
    assert window.batch.input_edit.text() == str(ct_path.parent)
    assert window.batch.output_edit.text() == str(ct_path.parent) + "_repaired"
    # another input: the suggestion follows it, but an output typed by the person stays
    dialog, photos = window.batch, ct_path.parent.parent / "photos"
    dialog.input_edit.setText(str(photos))
    dialog.input_edit.editingFinished.emit()
    assert dialog.output_edit.text() == str(photos) + "_repaired"
    dialog.output_edit.setText("/tmp/mine")
    dialog.input_edit.setText(str(ct_path.parent))
    dialog.input_edit.editingFinished.emit()
    assert dialog.output_edit.text() == "/tmp/mine"
    assert window.shutdown(timeout=5)


def test_inpainting_a_folder_finds_the_damage_by_itself(qtbot, tmp_path, datasets):
    """Learned inpainting needs a mask: the dialog's detection box (on by default) proposes it, as
    `lacuna batch --detect` does, instead of failing every photo."""
    source, output = make_folder(tmp_path / "scans", datasets, 1), tmp_path / "repaired"
    (source / "broken.png").unlink()
    (source / "inventory.txt").write_text("roll 0, roll 1\n")  # no format reads it: a note says so
    dialog = open_dialog(qtbot, source, output)
    # A denoiser needs no telling where: the box is greyed out for it (it stayed live and was ignored).
    assert dialog.picker.select("denoise-bilateral") and not dialog.detect.isEnabled()
    assert not dialog.detect.isVisibleTo(dialog)  # not shown ticked beside a method it cannot serve
    assert dialog.picker.select("inpaint-telea") and dialog.detect.isChecked() and dialog.detect.isEnabled()
    assert "damage" in dialog.detect.text() and dialog.detect.isVisibleTo(dialog)
    # nobody reviews a batch's marks: the caveat is said at the box (a walk-through's mast and ropes)
    assert "masts, ropes" in dialog.detect_caveat.text() and dialog.detect_caveat.isVisibleTo(dialog)
    dialog.detect.setChecked(False)
    assert not dialog.detect_caveat.isVisibleTo(dialog)
    dialog.detect.setChecked(True)
    dialog.kind.setCurrentIndex(dialog.kind.findData("audio"))  # a recording's clicks: its own caveat
    assert dialog.picker.select("fill-gap-ar") and "drum hits" in dialog.detect_caveat.text()
    dialog.kind.setCurrentIndex(dialog.kind.findData("image"))
    assert dialog.picker.select("inpaint-telea")
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.failed == 0 and dialog.summary.succeeded + dialog.summary.skipped == 1
    assert f"Report: {output / 'lacuna-batch-report.csv'}" in dialog.status.text()
    assert dialog.status.text().endswith("1 note(s): hover here.")
    assert "are left out: inventory.txt" in dialog.status.toolTip()
    if dialog.summary.succeeded:  # and each item's note says how much detection marked
        notes = [dialog.queue.item(row, 2).text() for row in range(dialog.queue.rowCount())]
        assert any("detection marked" in note and note.endswith("%)") for note in notes), notes
    # A batch has no painted mask: "Only inside the mask" never shows, also not after the run; nor a
    # slice to apply a method to alone (a walk-through saw "Apply to: All slices" for photos).
    assert dialog.picker.select("denoise-bilateral") and not dialog.picker.limit_to_mask.isVisibleTo(dialog)
    assert not dialog.picker.scope.isVisibleTo(dialog)


def test_a_folder_of_clips_is_repaired_from_the_dialog(qtbot, tmp_path, datasets):
    """The dialog offered images and recordings only, though `lacuna batch` repairs video too."""
    pytest.importorskip("av")
    source, output = tmp_path / "clips", tmp_path / "repaired"
    source.mkdir()
    shutil.copyfile(datasets / "video" / "bench" / "realshort.mp4", source / "realshort.mp4")
    dialog = BatchDialog()
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(source))
    dialog.output_edit.setText(str(output))
    dialog.kind.setCurrentIndex(dialog.kind.findData("video"))
    # The detection box is hidden for clips, and a hidden box is not asked for, though ticked.
    assert dialog.picker.select("inpaint-telea") and dialog.detect.isChecked()
    assert not dialog.detect.isEnabled() and not dialog.detect.isVisibleTo(dialog)
    assert not dialog.request("inpaint", "inpaint-telea", {}).detect
    assert dialog.picker.select("deflicker-levels") and not dialog.detect.isEnabled()
    dialog.show()
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=300_000)
    assert (dialog.summary.succeeded, dialog.summary.failed) == (1, 0)
    assert states(dialog) == {"realshort.mp4": "done"}


def test_recordings_with_loss_traces_beside_them_from_the_dialog(qtbot, tmp_path, datasets):
    """The dialog's counterpart of `lacuna batch --loss-traces`: offered for recordings only, and a
    call with its trace beside it is concealed by the speech concealment."""
    plc = datasets / "audio" / "speech" / "plc" / "test_files"
    source, output = tmp_path / "calls", tmp_path / "concealed"
    source.mkdir()
    for name in ("2307.wav", "2307_is_lost.txt"):
        shutil.copyfile(plc / name, source / name)
    dialog = BatchDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.loss_traces.isVisibleTo(dialog)  # images and scans have no traces
    dialog.input_edit.setText(str(source))
    dialog.output_edit.setText(str(output))
    dialog.kind.setCurrentIndex(dialog.kind.findData("audio"))
    assert dialog.loss_traces.isVisibleTo(dialog) and not dialog.loss_traces.isChecked()
    assert dialog.picker.select("fill-gap-auto") and dialog.loss_traces.isEnabled()
    dialog.loss_traces.setChecked(True)
    dialog.detect.setChecked(False)
    assert dialog.request("fill-gap", "fill-gap-auto", {}).loss_traces
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert (dialog.summary.succeeded, dialog.summary.failed) == (1, 0)
    assert states(dialog) == {"2307.wav": "done"}


def test_detection_on_scans_is_filled_only_when_the_box_for_scans_is_ticked(qtbot, tmp_path, datasets):
    """`lacuna batch --detect` refuses a folder holding scans without --unreviewed (anatomy can look
    like damage); the dialog says so, and its box for scans is that option."""
    source, output = tmp_path / "archive", tmp_path / "repaired"
    source.mkdir()
    shutil.copy(datasets / "medical" / "emri_small.dcm", source)  # an MR slice
    dialog = open_dialog(qtbot, source, output)
    assert dialog.picker.select("inpaint-telea") and dialog.detect.isChecked()
    assert dialog.on_scans.isVisibleTo(dialog) and not dialog.on_scans.isChecked()
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    assert "anatomy can look like damage" in dialog.status.text() and dialog.summary is None
    assert not output.exists()
    dialog.on_scans.setChecked(True)
    qtbot.mouseClick(dialog.picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.failed == 0 and dialog.summary.succeeded + dialog.summary.skipped == 1
    dialog.detect.setChecked(False)  # without detection there is nothing for the box to allow
    assert not dialog.on_scans.isVisibleTo(dialog)

"""Viewer details: MONOCHROME1, pixel aspect, series folders, NIfTI, drag and drop, recent files,
shortcuts, brush keys, start-up without torch, error messages and result blending."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import nibabel
import numpy as np
import pydicom
import pytest
from gui_helpers import audio, image, open_file
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from desktop.jobs import describe_error
from desktop.qimage import apply_window

ROOT = Path(__file__).resolve().parents[2]


def test_monochrome1_is_inverted_and_spacing_sets_the_aspect(window, ct_path, tmp_path):
    ds = pydicom.dcmread(ct_path)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.PixelSpacing = [0.5, 1.0]  # rows 0.5 mm apart, columns 1 mm: pixels twice as wide as tall
    path = tmp_path / "mono1.dcm"
    ds.save_as(path)
    assert open_file(window, path)
    c, canvas = image(window).controller, image(window).canvas
    assert c.invert and canvas.aspect == (2.0, 1.0)
    shown = canvas.transform().mapRect(QRectF(0, 0, 512, 512))
    assert shown.width() == pytest.approx(2 * shown.height())
    expected = 255 - apply_window(c.doc.pixels[0, ..., 0], c.window)
    assert int(canvas.base.buffer[300, 200] & 0xFF) == int(expected[300, 200])
    # Image coordinates under the cursor follow the anisotropic scale.
    point = canvas.to_image(canvas.to_widget(QPointF(100.5, 300.5)))
    assert (point.x(), point.y()) == pytest.approx((100.5, 300.5))


def test_series_folder_sorted_by_position(window, ct_path, tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    base = pydicom.dcmread(ct_path)
    for n, z in enumerate([30.0, 10.0, 20.0]):  # written out of order on purpose
        ds = pydicom.dcmread(ct_path)
        ds.ImagePositionPatient = [-122.5, -112.4, z]
        ds.InstanceNumber = n + 1
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        arr = base.pixel_array.copy()
        arr[:8, :8] = n * 100  # a marker to tell the slices apart
        ds.PixelData = arr.tobytes()
        ds.save_as(folder / f"slice{n}.dcm")
    assert open_file(window, folder)
    c = image(window).controller
    assert c.frames == 3 and image(window).slice_bar.isVisible()
    c.set_frame(0)
    assert "at 10.00 mm along the normal" in image(window).slice_label.text()
    # The slice at z=10 is the second file written (marker 100 stored, minus the 1024 intercept).
    assert c.doc.pixels[0, 0, 0, 0] == pytest.approx(100 - 1024)


def test_nifti_volume_and_slice_keys(window, qtbot):
    path = Path(nibabel.__file__).parent / "tests" / "data" / "anatomical.nii"
    assert open_file(window, path)
    c = image(window).controller
    assert c.frames > 1
    frame = c.frame
    qtbot.keyClick(window, Qt.Key.Key_Down)
    assert c.frame == frame + 1
    expected = apply_window(c.doc.pixels[c.frame, ..., 0], c.window)
    h, w = expected.shape
    assert int(image(window).canvas.base.buffer[h // 2, w // 2] & 0xFF) == int(expected[h // 2, w // 2])
    # On a series the wheel steps through the slices and Ctrl+wheel zooms (as viewers of scans do;
    # a walk-through's wheel zoomed a CT series); a single picture's wheel zooms (below).
    canvas = image(window).canvas
    zoom, frame = canvas.zoom, c.frame
    _wheel(canvas, -120)
    assert c.frame == frame + 1 and canvas.zoom == zoom
    _wheel(canvas, 60)  # half a notch (a trackpad's small deltas): a slice only once they add up
    assert c.frame == frame + 1
    _wheel(canvas, 60)
    assert c.frame == frame
    _wheel(canvas, -120)
    _wheel(canvas, 120, Qt.KeyboardModifier.ControlModifier)
    assert c.frame == frame + 1 and canvas.zoom > zoom


def _wheel(canvas, notch: int, held=Qt.KeyboardModifier.NoModifier, at: QPointF | None = None) -> None:
    """A wheel turn of `notch` (120 a notch) over the canvas (its middle unless `at`)."""
    at = at if at is not None else QPointF(canvas.width() / 2, canvas.height() / 2)
    event = QWheelEvent(
        at,
        canvas.mapToGlobal(at),
        QPoint(0, 0),
        QPoint(0, notch),
        Qt.MouseButton.NoButton,
        held,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)


def test_drop_a_file_and_recent_files(window, ct_path, qtbot):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(ct_path))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.opening is None)
    assert image(window).controller.doc is not None and image(window).controller.doc.path == ct_path
    recent = [a.text() for a in window.recent_menu.actions()]
    assert str(ct_path.resolve()) in recent
    assert window.settings.recent_files()[0] == str(ct_path.resolve())


def test_brush_size_keys_and_shortcut_list(window, ct_path, qtbot):
    from desktop.preferences import ShortcutsDialog

    assert open_file(window, ct_path)
    image(window).tools.set_size(40)
    qtbot.keyClick(image(window).canvas, Qt.Key.Key_BracketRight)
    assert image(window).tools.size_slider.value() == 50 and image(window).controller.brush_radius == 25
    qtbot.keyClick(image(window).canvas, Qt.Key.Key_BracketLeft)
    assert image(window).tools.size_slider.value() == 40
    qtbot.keyClick(image(window).canvas, Qt.Key.Key_E)
    assert image(window).canvas.tool == "eraser" and image(window).tools.tool_buttons["eraser"].isChecked()

    dialog = ShortcutsDialog(window.actions(), window)
    rows = {
        dialog.table.item(r, 1).text(): dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())
    }
    assert "Ctrl+Z" in rows["Undo"] and "Ctrl+Shift+Z" in rows["Redo"]
    assert rows["Fit to Window"] == "F" and rows["Show the image before the last repair"] == "Hold X"


def test_zoom_keys_and_wheel(window, ct_path, qtbot):
    assert open_file(window, ct_path)
    canvas = image(window).canvas
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert canvas.zoom == pytest.approx(1.0)
    centre = canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert canvas.zoom == pytest.approx(1.25)
    # Zooming keeps the image point at the centre in place.
    after = canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
    assert (after.x(), after.y()) == pytest.approx((centre.x(), centre.y()))
    qtbot.keyClick(window, Qt.Key.Key_F)
    shown = canvas.transform().mapRect(QRectF(0, 0, 512, 512))
    fill = max(shown.width() / canvas.width(), shown.height() / canvas.height())
    assert (
        fill == pytest.approx(0.96) and shown.width() <= canvas.width() and shown.height() <= canvas.height()
    )

    # One wheel notch zooms in around the cursor: the pixel under it stays under it.
    anchor = QPointF(canvas.width() * 0.3, canvas.height() * 0.6)
    under = canvas.to_image(anchor)
    zoom = canvas.zoom
    _wheel(canvas, 120, at=anchor)
    assert canvas.zoom > zoom
    still = canvas.to_image(anchor)
    assert (still.x(), still.y()) == pytest.approx((under.x(), under.y()))


def test_unsupported_file_message(window, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    assert not open_file(window, path)
    assert "notes.txt" in window.notice.text()


def test_error_messages_people_can_act_on():
    assert "ran out of memory" in describe_error(MemoryError(), "Deep Image Prior")
    oom = type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory. Tried to allocate 2 GiB")
    assert "Preferences" in describe_error(oom, "Upscale")
    assert describe_error(ValueError("bad"), "Telea") == "Telea failed: ValueError: bad"


def test_start_up_does_not_import_torch(ct_path):
    code = (
        "import sys; from desktop.app import main; rc = main([sys.argv[1]], quit_after_ms=300);"
        "print('TORCH', 'torch' in sys.modules, 'RC', rc)"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, str(ct_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "TORCH False RC 0" in out.stdout, out.stdout + out.stderr


def test_save_and_load_mask(window, ct_path, tmp_path):
    assert open_file(window, ct_path)
    c = image(window).controller
    c.rectangle(100, 120, 180, 200)
    painted = c.masks.get(0) > 0
    written = c.save_mask(tmp_path / "mask.png")
    assert written is not None and written.exists()
    c.clear_mask()
    assert not c.masks.any()
    assert c.load_mask(written)
    assert np.array_equal(c.masks.get(0) > 0, painted)
    assert c.undo_label() == "load mask"
    c.undo()
    assert not c.masks.any()
    # A mask of another size is refused with a message naming the file.
    from PIL import Image

    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    assert not c.load_mask(tmp_path / "small.png")
    assert "small.png" in window.notice.text()
    assert c.load_mask(written) and window.notice.text() == ""  # the refusal no longer holds


def test_a_nifti_mask_loads_onto_every_slice_of_its_scan_in_one_step(window, datasets, tmp_path):
    import nibabel as nib

    volume = datasets / "medical/FLAIR.nii.gz"
    image_ = nib.load(volume)
    labels = np.zeros(image_.shape, np.uint8)
    labels[40:60, 50:90, 60] = 1
    labels[70:80, 50:60, 75] = 2
    nib.save(nib.Nifti1Image(labels, image_.affine), tmp_path / "lesions.nii.gz")
    assert open_file(window, volume)
    c = image(window).controller
    assert c.load_mask(tmp_path / "lesions.nii.gz")
    loaded = c.masks.as_array() > 0
    assert np.array_equal(loaded.transpose(2, 1, 0), labels > 0)  # nibabel's (i, j, k), voxel for voxel
    assert "on 2 of 140 slices" in window.statusBar().currentMessage()
    assert c.undo_label() == "load mask"
    c.undo()
    assert not c.masks.any()


def test_a_4d_nifti_says_which_time_point_a_slice_belongs_to(window, datasets, tmp_path):
    """A walk-through opened two volumes of a 4-D NIfTI as 'Slice 141 / 280', a blank first slice of
    the second volume, and the panel read '280 slices'."""
    import nibabel as nib

    flair = nib.load(datasets / "medical/FLAIR.nii.gz")
    data = np.asarray(flair.dataobj)
    nib.save(nib.Nifti1Image(np.stack([data, data // 2], axis=-1), flair.affine), tmp_path / "4d.nii.gz")
    assert open_file(window, tmp_path / "4d.nii.gz")
    ws = image(window)
    assert ws.controller.frame == 70 and ws.slice_label.text().startswith("Slice 71 / 140   time point 1 / 2")
    assert ws.info.fields["Size"].text() == "124 × 160 × 140 slices × 2 time points"
    ws.controller.set_frame(140 + 9)
    assert ws.slice_label.text().startswith("Slice 10 / 140   time point 2 / 2")
    # where the slice lies, from the affine (the walk-through's NIfTI slice bar said only "Slice 70 / 140")
    assert ws.slice_label.text().endswith("at -58.39 mm along the normal")


def test_audio_documents_get_the_audio_panel(window, datasets, ct_path):
    wav = datasets / "audio" / "bench" / "digits" / "0_yweweler_0.wav"
    assert open_file(window, wav)
    sound = audio(window)
    assert window.active is sound and window.stack.currentWidget() is sound.view
    assert sound.controller.doc is window.session.doc
    assert not image(window).tools_dock.isVisible() and not image(window).slice_bar.isVisible()
    # Back to an image: the canvas and the image docks return.
    assert open_file(window, ct_path)
    assert window.active is image(window) and window.stack.currentWidget() is image(window).view
    assert image(window).tools_dock.isVisible() and image(window).repair_dock.isVisible()


def test_pan_and_window_drags(window, ct_path, qtbot):
    assert open_file(window, ct_path)
    canvas, c = image(window).canvas, image(window).controller
    start = canvas.offset
    middle = QPoint(canvas.width() // 2, canvas.height() // 2)
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=middle)
    qtbot.mouseMove(canvas, middle + QPoint(40, 25))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=middle + QPoint(40, 25))
    assert (canvas.offset - start).toPoint() == QPoint(40, 25)
    assert not c.masks.any()  # panning never paints

    # Space + left drag pans too.
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=middle)
    qtbot.mouseMove(canvas, middle + QPoint(-30, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=middle + QPoint(-30, 0))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert (canvas.offset - start).toPoint() == QPoint(10, 25) and not c.masks.any()

    # Right-drag: horizontal widens the window, vertical moves the level.
    centre, width = c.window
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=middle)
    qtbot.mouseMove(canvas, middle + QPoint(50, 20))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=middle + QPoint(50, 20))
    new_centre, new_width = c.window
    assert new_width > width and new_centre > centre
    qtbot.waitUntil(lambda: not image(window).presenter.base_pending)
    expected = apply_window(c.doc.pixels[0, ..., 0], c.window)
    assert int(canvas.base.buffer[256, 256] & 0xFF) == int(expected[256, 256])


def test_out_of_memory_and_unexpected_errors_are_shown(window, ct_path, qtbot):
    from core.methods import register
    from core.methods.registry import MethodCard, all_methods
    from desktop import app

    def run(image, mask, ctx):
        yield ctx.progress(0.5, "allocating")
        raise MemoryError()

    card = MethodCard("test-out-of-memory", "denoise", "Greedy test method", "classical", "Always runs out.")
    register(card, run)
    try:
        assert open_file(window, ct_path)
        original = image(window).controller.doc
        assert image(window).controller.run_repair("denoise", "test-out-of-memory")
        qtbot.waitUntil(lambda: not image(window).controller.busy, timeout=20_000)
        assert "ran out of memory" in window.notice.text()
        assert image(window).controller.doc is original
    finally:
        del all_methods()["test-out-of-memory"]

    # A bug anywhere becomes a dialog with the traceback, not a crash.
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        app.show_unexpected_error(type(exc), exc, exc.__traceback__)
    box = app._open_dialogs[-1]
    assert "RuntimeError: boom" in box.text() and "Traceback" in box.detailedText()
    box.close()


@pytest.mark.parametrize("bits", [8, 16])  # 16-bit colour PNGs are decoded by OpenCV, not Pillow
def test_a_truncated_photo_opens_with_a_warning(window, tmp_path, bits):
    path = tmp_path / "cut.png"
    rng = np.random.default_rng(3)
    if bits == 8:
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    else:
        cv2.imwrite(str(path), rng.integers(0, 65535, (48, 64, 3), dtype=np.uint16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # the last third of the pixel data is gone
    assert open_file(window, path), window.notice.text()
    assert window.notice.text().startswith("cut.png: the file is truncated")


def test_a_nifti_slice_is_shown_as_radiologists_read_it_and_brushed_where_shown(window, datasets, qtbot):
    """FLAIR.nii.gz is stored RAS (the patient's right at the right, the back at the top): the view
    mirrors it to the DICOM way (right at the left, front at the top), marks the edges R/L/A/P, and a
    stroke lands on the voxels under the cursor; the document keeps the file's layout."""
    path = datasets / "medical/FLAIR.nii.gz"
    assert open_file(window, path)
    canvas, c = image(window).canvas, image(window).controller
    assert canvas.mirror == (True, True)
    assert canvas.directions == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert np.array_equal(c.doc.pixels, read_volume(path))  # only the view is mirrored
    h, w = c.doc.pixels.shape[1:3]
    # The top-left voxel of the stored slice is drawn at the bottom-right of the shown one.
    corner = canvas.to_widget(QPointF(0.5, 0.5))
    shown = canvas.transform().mapRect(QRectF(0, 0, w, h))
    assert corner.x() > shown.center().x() and corner.y() > shown.center().y()
    target = QPointF(w - 20.5, 30.5)  # near the stored slice's top-right corner
    where = canvas.to_widget(target).toPoint()
    assert where.x() < shown.center().x() and where.y() > shown.center().y()  # shown bottom-left
    assert canvas.tool == "brush"
    c.brush_radius = 3.0
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=where)
    marked = np.argwhere(c.masks.as_array()[c.frame] > 0)
    assert len(marked) and np.abs(marked.mean(axis=0) - [30.5, w - 20.5]).max() < 2
    before = canvas.to_image(QPointF(where))  # zooming keeps the voxel under the cursor
    canvas.zoom_by(2.0, QPointF(where))
    after = canvas.to_image(QPointF(where))
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()), abs=1e-6)


def read_volume(path):
    from core.io import read

    return read(path).pixels

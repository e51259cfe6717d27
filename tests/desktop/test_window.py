"""The real main window, driven offscreen: open a CT, window it, paint, undo/redo, repair, compare, save."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from gui_helpers import image, open_file
from PySide6.QtCore import QPoint, QPointF, Qt

from core.documents import VolumeDoc
from desktop.qimage import apply_window


def widget_point(canvas, x: float, y: float) -> QPoint:
    return canvas.to_widget(QPointF(x, y)).toPoint()


def drag(qtbot, canvas, points, button=Qt.MouseButton.LeftButton) -> None:
    qtbot.mousePress(canvas, button, pos=points[0])
    for point in points[1:]:
        qtbot.mouseMove(canvas, point)
    qtbot.mouseRelease(canvas, button, pos=points[-1])


def wait_idle(qtbot, controller, timeout=30_000) -> None:
    qtbot.waitUntil(lambda: not controller.busy, timeout=timeout)


def gray_at(frame, x: int, y: int) -> int:
    return int(frame.buffer[y, x] & 0xFF)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def painted_ct(window, ct_path, qtbot):
    """The CT opened in the window with one brush stroke across it."""
    assert open_file(window, ct_path), window.notice.text()
    canvas = image(window).canvas
    image(window).tools.set_size(24)
    image(window).tools.hardness_slider.setValue(100)
    points = [widget_point(canvas, x, 256) for x in (180, 220, 260, 300, 330)]
    drag(qtbot, canvas, points)
    return window


def test_open_ct_window_preset_and_hover(window, ct_path, qtbot):
    assert open_file(window, ct_path)
    c = image(window).controller
    doc = c.doc
    assert isinstance(doc, VolumeDoc) and doc.modality == "CT"
    assert doc.pixels.shape[1:3] == (512, 512)
    # The view starts from the file's own window.
    assert doc.window is not None and c.window == pytest.approx(tuple(doc.window))
    base = image(window).canvas.base
    assert base is not None and base.buffer.shape == (512, 512)

    image(window).preset_actions["Lung"].trigger()
    qtbot.waitUntil(lambda: c.window == (-600.0, 1500.0))
    qtbot.waitUntil(lambda: not image(window).presenter.base_pending)
    expected = apply_window(doc.pixels[0, ..., 0], (-600.0, 1500.0))
    base = image(window).canvas.base.buffer
    for y, x in [(256, 256), (100, 300), (400, 120)]:
        assert int(base[y, x] & 0xFF) == int(expected[y, x])
    # Bone shows a different picture of the same pixels.
    image(window).preset_actions["Bone"].trigger()
    qtbot.waitUntil(lambda: c.window == (400.0, 1800.0))

    # The status bar reports coordinates and Hounsfield units under the cursor.
    canvas = image(window).canvas
    qtbot.mouseMove(canvas, widget_point(canvas, 20.5, 30.5))  # a move, wherever the pointer was
    qtbot.mouseMove(canvas, widget_point(canvas, 256.5, 256.5))
    text = image(window).pixel_label.text()
    assert "x 256" in text and "y 256" in text and text.endswith("HU")
    assert str(int(round(doc.pixels[0, 256, 256, 0]))) in text


def test_a_photo_is_offered_no_hounsfield_windows(window, datasets, qtbot):
    """Lung/Brain/... are CT windows in HU: on a photo they would show a black or white page."""
    view = image(window)
    # Nothing open yet: the mask's buttons and Detect damage have nothing to act on, and no slice bar.
    assert not view.tools.invert_button.isEnabled() and not view.detect_panel.button.isEnabled()
    assert view.slice_bar.isHidden()
    assert open_file(window, datasets / "images" / "bench" / "Set5" / "baby_GT.png"), window.notice.text()
    assert view.tools.invert_button.isEnabled() and view.detect_panel.button.isEnabled()
    assert not any(action.isEnabled() for action in view.preset_actions.values())
    assert not any(a.isEnabled() for a in view.slice_actions) and not view.uncertainty_action.isEnabled()
    view.preset_actions["Lung"].trigger()  # a shortcut reaching it anyway changes nothing
    assert view.controller.window == view.controller.opening_window
    assert view.window_label.text() == ""  # a photo in its own window has no L/W to report
    view.controller.set_window(100.0, 150.0)  # brightened, as a right-drag does
    assert view.window_label.text() == "L 100  W 150"
    # No rows for a size in mm or a slice spacing, which a photo has not ("Pixel —", "Slices —").
    assert not view.info.form.isRowVisible(view.info.fields["Pixel"])


def test_an_mr_volume_is_offered_no_hounsfield_windows_and_a_ct_volume_is(window, datasets):
    """FLAIR.nii.gz names no modality and is MR (0-255): no HU windows; shear.nii.gz reaches air
    (-1024 HU): a CT, with them."""
    view = image(window)
    assert open_file(window, datasets / "medical" / "FLAIR.nii.gz")
    assert not any(action.isEnabled() for action in view.preset_actions.values())
    assert all(a.isEnabled() for a in view.slice_actions) and view.uncertainty_action.isEnabled()
    assert open_file(window, datasets / "medical" / "shear.nii.gz")
    assert all(action.isEnabled() for action in view.preset_actions.values())


def test_a_multi_page_tiff_has_pages_not_slices(window, tmp_path, qtbot):
    import tifffile

    with tifffile.TiffWriter(tmp_path / "three.tif") as tif:  # three pages, one after another
        for k in range(3):
            tif.write(np.full((24, 32), 60 * k, np.uint8))
    assert open_file(window, tmp_path / "three.tif"), window.notice.text()
    view = image(window)
    assert view.controller.slice_description().startswith("Page 1 / 3")
    assert view.slice_noun.text() == "Page" and view.slice_bar.isVisible()


def test_an_ultrasound_cine_loop_has_frames_not_slices(window, datasets):
    assert open_file(window, datasets / "medical" / "OBXXXX1A_2frame.dcm"), window.notice.text()
    view = image(window)
    assert view.controller.slice_description().startswith("Frame 1 / 2")
    assert view.slice_noun.text() == "Frame"


def test_paint_undo_redo(painted_ct, qtbot):
    window = painted_ct
    c, canvas = image(window).controller, image(window).canvas
    mask = c.masks.get(0).copy()
    # The stroke covers the line it was drawn along, and nothing far from it.
    assert (mask[256, 185:325] == 255).all()
    assert mask[200, 256] == 0 and mask[256, 100] == 0
    # One drag is one undo step.
    assert c.can_undo() and c.undo_label() == "brush"
    # The overlay shows it: the red mask colour over the CT.
    assert (canvas.overlay.buffer[256, 200] >> 24) > 0 and canvas.overlay.buffer[100, 100] == 0
    shown = canvas.grab().toImage().pixelColor(widget_point(canvas, 250.5, 256.5))
    assert shown.red() > shown.green() + 30

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not c.masks.get(0).any()
    assert canvas.overlay.buffer[256, 200] == 0
    qtbot.keyClick(
        window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert np.array_equal(c.masks.get(0), mask)
    assert (canvas.overlay.buffer[256, 200] >> 24) > 0


def test_repair_compare_save_and_reopen(painted_ct, qtbot, tmp_path, ct_path):
    window = painted_ct
    c, canvas = image(window).controller, image(window).canvas
    original = c.doc
    source_hash = sha(ct_path)
    mask = c.masks.get(0) > 0

    assert image(window).picker.select("inpaint-telea")
    qtbot.mouseClick(image(window).picker.run_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, c)
    assert window.notice.text() == ""
    repaired = c.doc
    assert repaired is not original and repaired.provenance[-1].method == "inpaint-telea"
    # The record says which pixels are invented, as the CLI's "mask m.png" does (a walk-through).
    assert repaired.provenance[-1].selection.startswith(
        f"mask painted in the app: {int(mask.sum()):,} pixels ("
    )
    changed = repaired.pixels[0, ..., 0] != original.pixels[0, ..., 0]
    assert changed.any() and not (changed & ~mask).any()  # only painted pixels change
    assert image(window).progress.bar.value() == 1000
    assert canvas.banner == "REPAIRED — inpaint-telea"

    # Hold X: the view shows the pixels from before the repair; release: the repair again.
    canvas.set_zoom(4.0)  # magnified views sample the nearest pixel: exact display values
    canvas.set_orientation(canvas.mirror, None)  # no R/L/A/P letters over the pixels compared
    before_shown = apply_window(original.pixels[0, ..., 0], c.window).astype(int)
    after_shown = apply_window(repaired.pixels[0, ..., 0], c.window).astype(int)
    # Where the fill shows most near the view's centre (much of the stroke is flat 32 HU brain,
    # which a good fill keeps as it was).
    near = np.zeros_like(mask)
    near[236:277, 178:334] = True  # what the 4× view shows of the stroke
    y, x = np.unravel_index(np.argmax(np.abs(after_shown - before_shown) * (mask & near)), mask.shape)
    point = widget_point(canvas, x + 0.5, y + 0.5)
    assert canvas.rect().contains(point)
    before_colour, after_colour = before_shown[y, x], after_shown[y, x]
    assert abs(before_colour - after_colour) > 4
    qtbot.keyPress(window, Qt.Key.Key_X)
    assert canvas.compare == "flip"
    assert canvas.grab().toImage().pixelColor(point).red() == pytest.approx(int(before_colour), abs=2)
    qtbot.keyRelease(window, Qt.Key.Key_X)
    assert canvas.compare == "off"
    assert canvas.grab().toImage().pixelColor(point).red() == pytest.approx(int(after_colour), abs=2)

    # The difference map is transparent exactly where a save keeps nothing changed (by half a HU or more).
    image(window).diff_action.trigger()
    diff = canvas.diff.buffer
    kept = np.abs(repaired.pixels[0, ..., 0] - original.pixels[0, ..., 0]) >= 0.5
    assert np.array_equal(diff != 0, kept) and kept.any()
    assert window.statusBar().currentMessage().startswith("Difference map of inpaint-telea: ")
    image(window).diff_action.trigger()
    assert window.statusBar().currentMessage() == ""  # no line describing a map that is gone

    # Split view: before on the left of the divider, after on the right.
    image(window).split_action.trigger()
    assert canvas.compare == "split"

    # Undo and redo cover the repair like any edit.
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert c.doc is original and canvas.banner == "" and canvas.compare == "off"
    qtbot.keyClick(
        window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert c.doc is repaired and canvas.compare == "split"

    default = window.session.default_save_path()
    assert default.parent == ct_path.parent and default.name == "693_UNCI_inpaint.dcm"
    assert window.save_to(ct_path) is None and "never overwrites" in window.notice.text()
    asked = []
    window.confirm_discard = lambda: asked.append(True) or False
    assert not open_file(window, ct_path) and asked and c.doc is repaired  # unsaved: the user said keep
    written = window.save_to(tmp_path / "ct_inpaint.dcm")
    assert written is not None and written.exists()
    assert "REPAIRED, saved" in window.windowTitle()
    assert sha(ct_path) == source_hash
    # Undone back to the file as read after the save: nothing is unsaved (walk-through 52).
    c.undo()
    assert c.doc is original and not window.session.unsaved and "REPAIRED" not in window.windowTitle()
    c.redo()
    assert c.doc is repaired and not window.session.unsaved

    assert open_file(window, written)
    reopened = c.doc
    assert reopened.pixels.shape == repaired.pixels.shape
    # Stored as integers: HU within rounding of what was repaired.
    assert np.abs(reopened.pixels - repaired.pixels).max() <= 1.0
    assert np.abs(reopened.pixels - original.pixels)[0, ..., 0][changed].max() > 1.0


def test_cancel_leaves_the_image_unchanged(painted_ct, qtbot):
    window = painted_ct
    c = image(window).controller
    original = c.doc
    assert image(window).picker.select("inpaint-dip")
    image(window).picker.set_param("iterations", 5000)
    image(window).picker.set_param("width", 8)
    qtbot.mouseClick(image(window).picker.run_button, Qt.MouseButton.LeftButton)
    assert c.busy and image(window).progress.cancel_button.isEnabled()
    # Painting keeps working while the repair runs.
    canvas = image(window).canvas
    drag(qtbot, canvas, [widget_point(canvas, 100, 100), widget_point(canvas, 120, 110)])
    assert c.masks.get(0)[100, 100] == 255
    qtbot.waitUntil(lambda: "iteration" in image(window).progress.message.text(), timeout=60_000)
    qtbot.mouseClick(image(window).progress.cancel_button, Qt.MouseButton.LeftButton)
    assert not c.busy
    assert "Cancelled" in image(window).progress.message.text()
    assert c.jobs.wait(10), "the worker thread did not stop"
    qtbot.wait(50)
    assert c.doc is original and not original.provenance
    assert image(window).picker.run_button.isEnabled()


def test_outdated_result_is_dropped(painted_ct, qtbot):
    window = painted_ct
    c = image(window).controller
    original = c.doc
    assert c.run_repair("inpaint", "inpaint-dip", {"iterations": 5000})
    stale = c.generation
    # A new request supersedes the running one: whatever the first one returns is dropped.
    assert c.run_repair("inpaint", "inpaint-telea")
    c.jobs._on_returned(stale, original.with_pixels(original.pixels + 100))
    assert c.doc is original
    wait_idle(qtbot, c)
    assert c.doc.provenance[-1].method == "inpaint-telea"


def test_slices_of_a_multiframe_file(window, datasets, qtbot):
    c = image(window).controller
    assert open_file(window, datasets / "medical" / "emri_small.dcm")
    frames = c.frames
    assert frames == 10 and image(window).slice_bar.isVisible()
    start = c.frame
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert c.frame == start + 1 and f"Slice {start + 2} / 10" in image(window).slice_label.text()
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert c.frame == start
    expected = apply_window(c.doc.pixels[start, ..., 0], c.window)
    assert gray_at(image(window).canvas.base, 40, 30) == int(expected[30, 40])

    # Undo is per slice: a stroke on this slice, a rectangle on the next; undo here undoes the stroke.
    canvas = image(window).canvas
    drag(qtbot, canvas, [widget_point(canvas, 20, 20), widget_point(canvas, 40, 40)])
    assert c.masks.any(start)
    c.set_frame(start + 1)
    image(window).set_tool("rect")
    drag(qtbot, canvas, [widget_point(canvas, 10, 10), widget_point(canvas, 30, 30)])
    assert c.masks.get(start + 1)[20, 20] == 255
    c.set_frame(start)
    c.undo()
    assert not c.masks.any(start) and c.masks.any(start + 1)

    # The DICOM tag panel shows the dataset of the current slice.
    image(window).tags_dock.show()
    image(window).tags_dock.raise_()
    qtbot.waitUntil(lambda: image(window).tags.tree.topLevelItemCount() > 5)
    tree = image(window).tags.tree
    names = {tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}
    assert "Modality" in names


def test_unreadable_file_is_a_message_not_a_crash(window, tmp_path, ct_path):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(ct_path.read_bytes()[:3000])
    assert not open_file(window, broken)
    assert "broken.dcm" in window.notice.text()
    assert image(window).controller.doc is None
    assert open_file(window, ct_path) and window.notice.text() == ""


def test_autosave_restores_the_mask_after_a_crash(make_window, ct_path, qtbot):
    first = make_window()
    assert open_file(first, ct_path)
    canvas = image(first).canvas
    drag(qtbot, canvas, [widget_point(canvas, 100, 100), widget_point(canvas, 200, 150)])
    image(first).set_tool("rect")
    drag(qtbot, canvas, [widget_point(canvas, 300, 300), widget_point(canvas, 350, 380)])
    image(first).controller.undo()
    painted = image(first).controller.masks.get(0).copy()
    assert painted.any()
    # No clean close: the second window finds the journal the first one left.
    second = make_window()
    assert open_file(second, ct_path)
    restored = image(second).controller
    assert np.array_equal(restored.masks.get(0), painted)
    assert restored.can_redo() and restored.redo_label() == "rectangle"
    restored.redo()
    assert restored.masks.get(0)[340, 320] == 255


def test_export_view_and_preferences(window, ct_path, tmp_path):
    from PySide6.QtGui import QImage

    from desktop.preferences import PreferencesDialog

    assert open_file(window, ct_path)
    out = tmp_path / "view.png"
    assert image(window).export_view(out)
    shot = QImage(str(out))
    canvas = image(window).canvas
    assert shot.width() == canvas.width() and shot.height() == canvas.height()

    dialog = PreferencesDialog(window.settings, window)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.tile.setValue(256)
    dialog.accept()
    assert window.settings.get("run/device") == "cpu" and window.settings.get("run/tile") == 256
    assert window.settings.run_settings()["tile"] == 256


def test_a_backend_that_cannot_run_here_is_not_offered_nor_kept(window, monkeypatch):
    """A walk-through chose ONNX Runtime without it installed: every learned repair then failed."""
    from core.runtime import backends
    from desktop.preferences import PreferencesDialog

    monkeypatch.setattr(backends, "onnx_available", lambda: False)
    dialog = PreferencesDialog(window.settings, window)
    offered = dialog.backend.model()
    onnx = dialog.backend.findData("onnx")
    assert not offered.item(onnx).isEnabled() and "not available here" in dialog.backend.itemText(onnx)
    assert offered.item(dialog.backend.findData("torch")).isEnabled()
    dialog.reject()
    window.settings.set("run/backend", "onnx")  # chosen while it was installed, or on another computer
    assert window.settings.run_settings()["backend"] == "auto"
    shown = PreferencesDialog(window.settings, window)
    assert shown.backend.currentData() == "auto"  # what runs, not the greyed choice
    shown.reject()
    window.settings.set("run/backend", "torch")
    assert window.settings.run_settings()["backend"] == "torch"


def picker_items(picker):
    tree = picker.tree
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            yield top.child(j)


def elided_names(picker) -> list[str]:
    """Method names the tree shows cut off: wider (as its delegate lays them out) than their cell."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    tree = picker.tree
    out = []
    for item in picker_items(picker):
        index = tree.indexFromItem(item, 0)
        option = QStyleOptionViewItem()
        tree.initViewItemOption(option)
        if tree.itemDelegate().sizeHint(option, index).width() > tree.visualRect(index).width():
            out.append(item.text(0))
    return out


def test_method_names_fit_and_learned_methods_with_weights_are_enabled(window, datasets, ct_path, qtbot):
    from core.methods import get_method

    photo = datasets / "images" / "bench" / "Set14" / "monarch.png"
    assert open_file(window, photo), window.notice.text()
    qtbot.wait(50)
    picker = image(window).picker
    # "Learned inpainting (FFC, adversarial)  (default)" is wider than the default panel.
    assert elided_names(picker) == []
    for item in picker_items(picker):
        card = get_method(item.data(0, Qt.ItemDataRole.UserRole)).card
        assert item.toolTip(0).startswith("Unavailable") == (not card.available), card.id
        if card.kind == "learned" and card.available:
            assert picker.select(card.id) and picker.run_button.isEnabled(), card.id

    # A panel the person narrows stays narrow when the next file opens.
    window.resizeDocks([image(window).repair_dock], [330], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    narrowed = image(window).repair_dock.width()
    assert narrowed < picker.fitting_width()
    assert open_file(window, ct_path), window.notice.text()
    qtbot.wait(50)
    assert image(window).repair_dock.width() == narrowed


def test_method_names_fit_when_a_recording_was_open_before(window, datasets, qtbot):
    """Walk-through 53: after an audio file, a NIfTI's Repair dock cut five names off ("Inpainting
    from neighbourin..."): the views' stack kept the hidden audio view's toolbar width, so the dock
    could not be widened without widening the window past the screen."""
    assert open_file(window, datasets / "audio" / "speech" / "bench" / "3005-163389-0000.wav")
    assert open_file(window, datasets / "medical" / "FLAIR.nii.gz"), window.notice.text()
    qtbot.wait(50)
    assert elided_names(image(window).picker) == []


def test_deep_prior_previews_are_shown_labelled_and_withdrawn(painted_ct, qtbot):
    """An iterative method's intermediate fills appear on the canvas under a PREVIEW banner, leave the
    document alone, and disappear when the run is cancelled."""
    window = painted_ct
    c = image(window).controller
    original = c.doc
    before = image(window).canvas.grab().toImage()
    assert image(window).picker.select("inpaint-dip")
    image(window).picker.set_param("iterations", 5000)
    image(window).picker.set_param("preview_every", 2)
    image(window).picker.set_param("width", 8)
    qtbot.mouseClick(image(window).picker.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: image(window).presenter.showing_preview, timeout=60_000)
    assert image(window).canvas.banner.startswith("PREVIEW")
    assert image(window).canvas.grab().toImage() != before  # the fill so far is on screen
    assert c.doc is original and not original.provenance
    qtbot.mouseClick(image(window).progress.cancel_button, Qt.MouseButton.LeftButton)
    assert not image(window).presenter.showing_preview
    assert not image(window).canvas.banner.startswith("PREVIEW")
    assert c.doc is original and not original.provenance


def test_each_slice_of_an_uneven_series_shows_its_own_thickness(window, datasets, qtbot):
    assert open_file(window, datasets / "medical" / "head_ct_ge"), window.notice.text()
    c = image(window).controller
    c.set_frame(2)
    assert c.slice_description().endswith("4 mm thick")
    c.set_frame(20)
    assert c.slice_description().endswith("7 mm thick")  # it said 4 mm, the first file's
    # not "4 mm apart"; and the tilt, as lacuna info says it
    assert image(window).info.fields["Slices"].text() == "1.08–7 mm apart, tilt 18.5°"


def test_a_long_status_is_whole_in_the_status_bars_tooltip(window):
    """A repair's notes (the wide-hole advice, say) are cut off in the bar; hovering shows them whole."""
    text = "Inpainting finished on cpu. " + "The widest hole is about 69 pixels across; " * 6
    window.show_status(text)
    assert window.statusBar().currentMessage() == text
    assert window.statusBar().toolTip() == text


def test_a_low_quality_jpeg_opens_with_jpeg_repair_selected(window, datasets, tmp_path):
    """A walk-through: a quality-10 JPEG opened on Inpaint; Lacuna can tell the quality from its blocks."""
    from PIL import Image

    with Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        im.convert("RGB").save(tmp_path / "q10.jpg", quality=10)
        im.convert("RGB").save(tmp_path / "q95.jpg", quality=95)
    assert open_file(window, tmp_path / "q10.jpg")
    ws = image(window)
    assert ws.picker.current_card().task == "dejpeg"
    assert "saved at quality 10" in window.notice.text()
    assert open_file(window, tmp_path / "q95.jpg")
    assert "quality" not in window.notice.text()
    assert ws.picker.current_card().task != "dejpeg"  # Lacuna's proposal for the last file goes with it
    assert ws.picker.select("dejpeg-learned")  # the person's own choice stays from file to file
    assert open_file(window, tmp_path / "q10.jpg") and open_file(window, tmp_path / "q95.jpg")
    assert ws.picker.current_method() == "dejpeg-learned"


def test_the_fill_tool_outside_any_outline_masks_nothing(window, ct_path):
    """A walk-through: one click of the fill tool outside the mask masked the whole picture."""
    from desktop.workspaces.image.controller import fills_outside

    assert open_file(window, ct_path)
    c = image(window).controller
    said = []
    c.status.connect(said.append)
    c.fill(10, 10)
    assert (
        not c.masks.any() and "Nothing is enclosed there: the fill would mask the whole picture" in said[-1]
    )
    c.rectangle(10, 10, 30, 30)
    c.rectangle(13, 13, 27, 27, erase=True)
    c.fill(20, 20)  # inside the outline: filled, and the refusal above is no longer shown
    assert c.masks.peek(c.frame)[20, 20] and said[-1] == "" and window.statusBar().currentMessage() == ""
    window.show_status("Saved somewhere")
    c.fill(20, 20)  # a fill with no refusal before it leaves the status bar alone
    assert window.statusBar().currentMessage() == "Saved somewhere"
    ring = np.zeros((64, 64), bool)
    ring[10:30, 10:30] = True
    ring[12:28, 12:28] = False  # an outline: its inside is enclosed, its outside is not
    assert not fills_outside(ring, 20, 20, (64, 64))
    assert fills_outside(ring, 50, 50, (64, 64))
    assert not fills_outside(ring, 11, 11, (64, 64))  # on the outline itself
    corner = np.zeros((64, 64), bool)
    corner[:20, 20], corner[20, :21] = True, True  # an outline closed against two edges
    assert not fills_outside(corner, 5, 5, (64, 64)) and fills_outside(corner, 40, 40, (64, 64))


def test_saving_over_an_existing_file_unasked_names_no_command_line_flag(window, ct_path, tmp_path):
    """A walk-through read "(--overwrite)" in the app, where the save dialog asks instead."""
    assert open_file(window, ct_path)
    taken = tmp_path / "taken.dcm"
    taken.write_bytes(b"an earlier result")
    said = []
    window.session.error.connect(said.append)
    assert window.save_to(taken) is None
    assert "taken.dcm: already exists" in said[-1] and "--overwrite" not in said[-1]
    assert taken.read_bytes() == b"an earlier result"
    assert window.save_to(taken, replace=True) == taken  # what the dialog does once the person agreed


def test_discarding_a_repair_while_it_is_being_saved_says_the_save_is_cancelled(qapp, monkeypatch):
    """A walk-through closed the window during a save: "has not been saved. Discard it?" said nothing
    of the save, which discarding cancels."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.shell import dialogs

    asked = []
    monkeypatch.setattr(
        dialogs.QMessageBox,
        "question",
        lambda parent, title, text, *rest: asked.append(text) or QMessageBox.StandardButton.Cancel,
    )
    assert not dialogs.confirm_discard(None, saving=True)
    assert not dialogs.confirm_discard(None)
    assert "still being saved. Discarding it cancels the save" in asked[0]
    assert asked[1] == "The repaired document has not been saved. Discard it?"


def test_only_inside_the_mask_is_offered_once_a_mask_is_painted(window, ct_path, qtbot):
    """Walk-through 43: with no mask, a greyed but ticked "Only inside the mask" stood beside a
    repair that changed the whole picture."""
    assert open_file(window, ct_path), window.notice.text()
    picker, canvas = image(window).picker, image(window).canvas
    assert picker.select("denoise-bilateral")
    assert not picker.limit_to_mask.isVisibleTo(window)
    drag(qtbot, canvas, [widget_point(canvas, x, 256) for x in (185, 255, 325)])
    assert image(window).controller.masks.any() and picker.limit_to_mask.isVisibleTo(window)
    assert picker.limit_to_mask.isChecked() and picker.limit_to_mask.isEnabled()

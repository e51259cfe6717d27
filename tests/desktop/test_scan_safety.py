"""The app on a CT as a clinician meets it: scan defaults in the picker, a warning on a photo network,
σ typed in HU, and the fill's uncertainty shown as an overlay."""

from __future__ import annotations

from gui_helpers import image, open_file
from test_defects import paint


def test_the_picker_defaults_to_scan_methods_and_warns_on_photo_networks(window, ct_path, qtbot):
    assert open_file(window, ct_path)
    picker = image(window).picker
    assert picker._defaults["inpaint"] == "inpaint-biharmonic"
    assert picker._defaults["denoise"] == "denoise-scan"
    assert picker.select("inpaint-learned")
    assert picker.reason.text().startswith("Caution: inpaint-learned was trained on photographs")
    assert picker.select("inpaint-biharmonic") and picker.reason.text() == ""
    assert picker.select("denoise-nlmeans")
    sigma = picker._param_widgets["sigma"]
    assert sigma.maximum() > 1000  # σ is typed in HU on a CT: 100 on the 0-255 scale is ~2,000 HU here


def test_a_fill_on_a_ct_shows_its_uncertainty(window, ct_path, qtbot):
    assert open_file(window, ct_path)
    ws = image(window)
    paint(qtbot, ws, [(255, 140), (290, 150)])  # across the skull's edge
    ws.picker.request_run()  # the scan default: biharmonic
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    doc = ws.controller.doc
    assert doc.provenance[-1].method == "inpaint-biharmonic" and doc.uncertainty is not None
    messages = []
    ws.status.connect(messages.append)
    ws.uncertainty_action.trigger()
    assert ws.canvas.diff is not None and ws.canvas.show_diff
    assert any("Fill uncertainty" in m and "HU" in m for m in messages)


def test_a_saved_fill_shows_its_uncertainty_again_when_reopened(window, ct_path, qtbot, tmp_path):
    """A walk-through saved a fill, reopened the result and was told 'No fill uncertainty here', with
    the map beside the file."""
    from core.io import write

    assert open_file(window, ct_path)
    ws = image(window)
    paint(qtbot, ws, [(255, 140), (290, 150)])
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    saved = write(ws.controller.doc, tmp_path / "filled.dcm")
    assert open_file(window, saved)
    messages = []
    ws.status.connect(messages.append)
    ws.uncertainty_action.trigger()
    assert ws.controller.doc.uncertainty is not None and ws.canvas.diff is not None
    assert any("Fill uncertainty" in m and "HU" in m for m in messages), messages


def test_a_fill_on_a_ct_stays_outlined_when_the_mask_is_hidden(window, ct_path, qtbot):
    """A walk-through's clinician saw a fill across the petrous ridge drawn as a sharp bone-like line,
    with nothing on the picture saying where the fill was once the mask hid itself."""
    from scipy.ndimage import binary_fill_holes

    from desktop.qimage import OUTLINE_ARGB

    assert open_file(window, ct_path)
    ws = image(window)
    original = ws.controller.doc.pixels.copy()
    paint(qtbot, ws, [(255, 140), (290, 150)])
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert not ws.canvas.show_mask and ws.canvas.marks is not None
    rim = ws.canvas.marks.buffer == OUTLINE_ARGB
    filled = binary_fill_holes(ws.controller.masks.get(0) > 0)
    changed = (ws.controller.doc.pixels[0] != original[0]).any(axis=-1)
    assert rim.any() and not (rim & ~filled).any()  # the rim of what was filled, nowhere else
    assert changed.any() and not (changed & ~filled).any()  # and every changed pixel inside it
    assert filled.sum() > 3 * rim.sum()  # an outline, not the whole fill
    ws.controller.set_window(40, 80)  # a window/level change keeps it (cached per repair and slice)
    assert ws.canvas.marks is not None
    ws.controller.undo()
    assert ws.canvas.marks is None
    ws.controller.redo()
    assert ws.canvas.marks is not None


def test_detect_damage_offers_the_model_free_detector_first_on_a_ct(window, ct_path, datasets, qtbot):
    assert open_file(window, ct_path)
    panel = image(window).detect_panel
    assert panel.method.itemData(0) == "detect-classical"
    window.confirm_discard = lambda: True
    assert open_file(window, datasets / "images" / "bench" / "Set14" / "monarch.png")
    assert panel.method.itemData(0) == "detect-learned"


def test_detect_damage_on_a_scan_warns_in_the_notice_bar_and_says_every_slice_was_scored(
    window, datasets, qtbot
):
    """A walk-through saw the anatomy warning only in the progress line, and the panel did not say
    that one detection had proposed marks on every slice of the series."""
    assert open_file(window, datasets / "medical" / "head_ct_ge")
    ws = image(window)
    ws.detect_panel.button.click()
    qtbot.waitUntil(lambda: not ws.controller.busy and ws.detection.proposal is not None, timeout=120_000)
    assert "anatomy can look like damage" in window.notice.text()
    assert "every slice was scored" in ws.detect_panel.note.text()

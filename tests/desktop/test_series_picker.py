"""A folder with several DICOM series: the largest opens; File ▸ Series lists them all and opens another."""

from __future__ import annotations

import shutil

from gui_helpers import image


def test_file_series_lists_the_folders_series_and_opens_the_chosen_one(window, datasets, qtbot, tmp_path):
    folder = tmp_path / "two series"
    shutil.copytree(datasets / "medical/head_ct_ge", folder)
    shutil.copy(datasets / "medical/693_UNCI.dcm", folder / "other.dcm")
    assert window.open_path(folder)
    qtbot.waitUntil(lambda: window.session.opening is None and window.session.doc is not None, timeout=60_000)
    assert window.session.doc.frames == 28  # the largest series first
    menu = window.series_menu.menu
    actions = menu.actions()
    assert menu.isEnabled() and len(actions) == 2
    assert actions[0].isChecked() and actions[0].text().startswith("28 slices, 512×512 CT")
    assert "holds 2 series" in window.statusBar().currentMessage()

    actions[1].trigger()
    qtbot.waitUntil(lambda: window.session.opening is None and window.session.doc.frames == 1, timeout=60_000)
    doc = window.session.doc
    assert doc.metadata["series_index"] == 1 and image(window).controller.doc is doc
    assert window.series_menu.menu.actions()[1].isChecked()


def test_a_slice_shows_its_position_and_thickness(window, datasets, qtbot):
    assert window.open_path(datasets / "medical/head_ct_ge")
    qtbot.waitUntil(lambda: window.session.opening is None and window.session.doc is not None, timeout=60_000)
    text = image(window).controller.slice_description()
    # The middle slice (15 of 28) is one of the series' 7 mm slices (its first 14 are 4 mm).
    assert text.startswith("Slice 15 / 28   at ") and text.endswith(" mm along the normal   7 mm thick")

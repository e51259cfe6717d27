"""Workspaces plug in by document kind: the shell looks a document's `kind` up in a table filled from
the workspace folders, so a new kind of document needs a new folder and no edit of the shell."""

from __future__ import annotations

import types
from dataclasses import dataclass, field

from gui_helpers import audio, image, open_file
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop import workspaces
from desktop.workspace import Workspace


def test_the_table_comes_from_the_workspace_folders():
    table = workspaces.table()
    assert table["image"].__name__ == "desktop.workspaces.image"
    assert table["volume"] is table["image"]
    assert table["audio"].__name__ == "desktop.workspaces.audio"


@dataclass
class ToyDoc:
    """A document of a kind the app has never seen."""

    path: object = None
    provenance: list = field(default_factory=list)
    kind = "toy"


class ToyWorkspace(Workspace):
    def __init__(self, context):
        super().__init__(context)
        self.label = QLabel("toy")
        self.shown = []
        self.undone = 0
        self.action("View", "Toy Zoom", lambda: None, ["Z"])

    @property
    def view(self):
        return self.label

    def show_document(self, new: bool) -> None:
        self.shown.append(new)

    def undo(self) -> None:
        self.undone += 1

    def undo_label(self):
        return "toy step"


def test_a_new_kind_of_document_needs_only_a_table_entry(window, qtbot, monkeypatch, ct_path):
    toy = types.SimpleNamespace(__name__="desktop.workspaces.toy", KINDS=("toy",), create=ToyWorkspace)
    monkeypatch.setitem(workspaces.table(), "toy", toy)
    window.session.set_document(ToyDoc())
    ws = window.active
    assert isinstance(ws, ToyWorkspace) and ws.shown == [True]
    assert window.stack.currentWidget() is ws.label
    assert not image(window).tools_dock.isVisible()  # the image workspace's docks went with it
    # The shell's Undo reaches it; its own actions are in the shell's menus while it is active.
    assert window.undo_action.text() == "&Undo toy step"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ws.undone == 1
    assert any(a.text() == "Toy Zoom" and a.isVisible() for a in window.menus["View"].actions())
    assert open_file(window, ct_path)
    assert window.active is image(window)
    assert not any(a.text() == "Toy Zoom" and a.isVisible() for a in window.menus["View"].actions())


def test_shortcuts_of_inactive_workspaces_are_off(window, datasets, ct_path, qtbot):
    """F fits the image in the image workspace and the clip in the audio one, never both."""
    assert open_file(window, datasets / "audio" / "bench" / "digits" / "0_yweweler_0.wav")
    panel = audio(window).panel
    panel.viewport.zoom(4.0, 100)
    zoomed = panel.viewport.spp
    canvas = image(window).canvas
    canvas_zoom = canvas.zoom
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert panel.viewport.spp > zoomed and canvas.zoom == canvas_zoom
    assert open_file(window, ct_path)
    canvas.set_zoom(3.0)
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert canvas.zoom < 3.0


def test_the_open_dialog_lists_what_core_reads():
    """The Open dialog's filters come from core's format registry, not from a list in the shell."""
    from core.io.formats import formats
    from desktop.shell.dialogs import open_filter

    rows = open_filter().split(";;")
    assert rows[0].startswith("Documents (") and rows[-1] == "All files (*)"
    for fmt in formats():
        for ext in fmt.extensions:
            if ext:
                assert f"*{ext}" in rows[0], ext
    assert all(f"*{ext}" in rows[0] for ext in (".dcm", ".nii.gz", ".png", ".wav"))

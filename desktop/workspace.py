"""What every workspace gives the shell, and what the shell gives every workspace.

A workspace owns a controller (testable without a window) and its views: a central widget, docks and
menu actions. The shell shows the central widget and docks of the active workspace only, puts its
actions into the shared menus (File, Edit, View, Tools, Repair) while it is active, and forwards
Undo/Redo, Cancel and the hold-X comparison to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

if TYPE_CHECKING:
    from desktop.session import Session
    from desktop.settings import Settings

MENUS = ("File", "Edit", "View", "Tools", "Repair")  # the shell's menus a workspace may add to


@dataclass
class Context:
    """What the shell hands a workspace: the window (parent of docks and dialogs), the session and
    the preferences."""

    window: QMainWindow
    session: Session
    settings: Settings


@dataclass
class Dock:
    dock: QDockWidget
    area: Qt.DockWidgetArea
    shown_by_default: bool = True


@dataclass
class Contributions:
    """Menu actions (by menu name; None = a separator), docks and status-bar fields a workspace adds
    to the shell."""

    menus: dict[str, list[QAction | None]] = field(default_factory=dict)
    docks: list[Dock] = field(default_factory=list)
    status: list[QWidget] = field(default_factory=list)


class Workspace(QObject):
    status = Signal(str)  # a transient status-bar message
    error = Signal(str)  # a message for the notice bar
    warning = Signal(str)  # something to know, not an error: the notice bar, until dismissed
    withdrawn = Signal(str)  # a warning said earlier that no longer holds: gone, if still shown
    changed = Signal()  # the undo labels, title or busy state may have changed

    def __init__(self, context: Context):
        super().__init__(context.window)
        self.context = context
        self.session = context.session
        self.settings = context.settings
        self.contributions = Contributions()
        self._picker_fitted = 0  # the widest method list the repair dock was widened for

    # --- what the shell shows ---

    @property
    def view(self) -> QWidget:
        raise NotImplementedError

    def action(self, menu: str, text: str, slot, shortcuts=(), checkable: bool = False) -> QAction:
        """An action in one of the shell's menus (shown, with its shortcuts, while this is active)."""
        action = QAction(text, self.context.window)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.contributions.menus.setdefault(menu, []).append(action)
        return action

    def separator(self, menu: str) -> None:
        self.contributions.menus.setdefault(menu, []).append(None)

    def dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self.context.window)
        dock.setObjectName(name)  # the window's saved layout names docks
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.contributions.docks.append(Dock(dock, area))
        return dock

    def fit_dock_to_picker(self, dock: QDockWidget, picker) -> None:
        """Widen `dock` so that no method name in `picker` is cut off; only when a method list needs
        more room than any before it, so a dock the person narrowed stays narrow for the next file."""
        window = self.context.window
        if not window.isVisible() or not dock.isVisible() or dock.isFloating():
            return
        needed = picker.fitting_width()
        if needed <= self._picker_fitted:
            return
        self._picker_fitted = needed
        extra = needed - picker.width()
        if extra > 0:
            window.resizeDocks([dock], [dock.width() + extra], Qt.Orientation.Horizontal)

    # --- what the shell forwards ---

    def show_document(self, new: bool) -> None:
        """The session's document changed: `new` another document, else new content of this one."""
        raise NotImplementedError

    def deactivate(self) -> None:
        """Another workspace takes over: stop playback, cancel what runs on the old document."""

    def describe(self) -> str:
        """One line about the open document for the status bar."""
        return ""

    def undo(self) -> None: ...

    def redo(self) -> None: ...

    def undo_label(self) -> str | None:
        """The label of the step Undo would revert ("" when unnamed), None when there is none."""
        return None

    def redo_label(self) -> str | None:
        return None

    def cancel(self) -> None: ...

    @property
    def busy(self) -> bool:
        return False

    def set_compare(self, before: bool) -> None:
        """Hold X: show (and play) the document before the last repair; release: after."""

    def apply_settings(self) -> None:
        """The preferences changed."""

    def shutdown(self, timeout: float) -> bool:
        """Stop every job and wait for its thread; False if one is still running."""
        return True


class JobWorkspace(Workspace):
    """A workspace whose controller runs one job at a time and whose steps are the session's history
    entries (audio, video): the progress panel, picker and undo wiring they share."""

    def _on_started(self, title: str) -> None:
        self.progress.start(title)
        self.picker.set_busy(True)
        self.changed.emit()

    def _on_ended(self, text: str, done: bool) -> None:
        self.progress.finish(text, done)
        self.picker.set_busy(False)
        self.changed.emit()

    def undo(self) -> None:
        self.controller.undo()

    def redo(self) -> None:
        self.controller.redo()

    def undo_label(self) -> str | None:
        entry = self.session.history.peek_undo(None)
        return entry.label if entry is not None else None

    def redo_label(self) -> str | None:
        entry = self.session.history.peek_redo(None)
        return entry.label if entry is not None else None

    def cancel(self) -> None:
        self.controller.cancel()

    @property
    def busy(self) -> bool:
        return self.controller.busy

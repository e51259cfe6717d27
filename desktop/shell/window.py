"""The main window: a thin shell around the workspace of the open document's kind.

The shell owns what every kind of document shares: the menus (File, Edit, View, Tools, Repair, Help),
recent files, drag and drop, the notice bar, the status bar, the title, the unsaved-change prompt
and the window layout. Everything about a document goes to the `Session`; everything about showing
and editing it goes to the active workspace, chosen from `desktop.workspaces.table()` by `doc.kind`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QSizePolicy,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop import workspaces
from desktop.session import Session
from desktop.settings import Settings
from desktop.shell import dialogs
from desktop.shell.series_menu import SeriesMenu
from desktop.widgets.notice import NoticeBar
from desktop.workspace import MENUS, Context, Workspace

APP_NAME = "Lacuna"
DOCK_WIDTHS = {Qt.DockWidgetArea.LeftDockWidgetArea: 250, Qt.DockWidgetArea.RightDockWidgetArea: 370}


def autosave_folder() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".lacuna") / "autosave"


class MainWindow(QMainWindow):
    def __init__(
        self, settings: Settings | None = None, autosave_root: Path | None = None, autosave: bool = True
    ):
        super().__init__()
        self.settings = settings or Settings()
        root = (autosave_root or autosave_folder()) if autosave else None
        self.session = Session(root, self)
        self.session.ask_restore = lambda journal: dialogs.ask_restore(self, journal)
        self.session.history.cap_bytes = self.settings.get("history/undo_mb") << 20
        # replaced in tests
        self.confirm_discard = lambda: dialogs.confirm_discard(self, self.session.writer.busy)
        self.context = Context(self, self.session, self.settings)
        self._workspaces: dict[str, Workspace] = {}  # by package name: one per kind table entry
        self.active: Workspace | None = None
        self._dock_memory: dict[str, bool] = {}  # dock name -> shown, for docks of inactive workspaces
        self.batch = None  # the batch dialog, once opened

        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self._build_central()
        self._build_status()
        self._build_menus()
        self._connect()
        self.activate(self.workspace(workspaces.DEFAULT_KIND))
        self._restore_layout()
        QApplication.instance().installEventFilter(self)
        self._update_actions()

    # --- construction ---

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.notice = NoticeBar()
        layout.addWidget(self.notice)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _build_status(self) -> None:
        self.busy_bar = QProgressBar()  # reading a file: busy until the document is shown
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(160)
        self.busy_label = QLabel()
        self.statusBar().addWidget(self.busy_label)
        self.statusBar().addWidget(self.busy_bar)
        self.busy_bar.hide()
        self.busy_label.hide()

    def _action(self, menu, text: str, slot, shortcuts=()) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work while the menu bar is hidden or a dock has focus
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menus = {name: bar.addMenu(f"&{name}") for name in MENUS}
        self.help_menu = bar.addMenu("&Help")
        f, e, r = self.menus["File"], self.menus["Edit"], self.menus["Repair"]
        self._action(f, "&Open…", self.open_dialog, ["Ctrl+O"])
        folder = "Open &Folder (DICOM series, film frames)…"
        self._action(f, folder, self.open_folder_dialog, ["Ctrl+Shift+O"])
        self.recent_menu = f.addMenu("Open &Recent")
        self.series_menu = SeriesMenu(f.addMenu("Se&ries"), self.open_series)
        self._action(f, "&Batch Repair…", self.batch_dialog, ["Ctrl+Shift+B"])
        f.addSeparator()
        self.save_action = self._action(f, "&Save Result As…", self.save_dialog, ["Ctrl+S", "Ctrl+Shift+S"])
        # Workspace actions go before these markers (see _add_contributions).
        self._markers = {name: self.menus[name].addSeparator() for name in MENUS}
        self._action(f, "&Close", self.close_document, ["Ctrl+W"])
        self._action(f, "&Quit", self._quit, ["Ctrl+Q"])
        self.undo_action = QAction("&Undo", self)
        self.redo_action = QAction("&Redo", self)
        for action, keys, slot in (
            (self.undo_action, ["Ctrl+Z"], self._undo),
            (self.redo_action, ["Ctrl+Shift+Z", "Ctrl+Y"], self._redo),
        ):
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(slot)
            e.insertAction(self._markers["Edit"], action)
            self.addAction(action)
        e.insertSeparator(self._markers["Edit"])
        self._action(e, "&Preferences…", self.preferences_dialog, ["Ctrl+,"])
        self.cancel_action = self._action(r, "&Cancel", self._cancel, ["Esc"])
        self._action(r, "&Import Weights…", self.import_weights_dialog)
        h = self.help_menu
        self._action(h, "&Keyboard Shortcuts", self.shortcuts_dialog, ["F1", "Ctrl+/"])
        self._action(h, "&About Lacuna", lambda: dialogs.about(self))
        self._update_recent_menu()

    def _connect(self) -> None:
        s = self.session
        s.document_changed.connect(self._on_document_changed)
        s.history_changed.connect(self._update_actions)
        s.error.connect(self.notice.show_message)
        s.warning.connect(lambda text: self.notice.show_message(text, "info"))
        s.status.connect(self.show_status)
        s.reader.started.connect(self._on_open_started)
        for signal in (s.reader.succeeded, s.reader.failed, s.reader.cancelled):
            signal.connect(self._on_open_ended)

    def _restore_layout(self) -> None:
        geometry = self.settings.q.value("window/geometry")
        state = self.settings.q.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # --- workspaces ---

    def workspace(self, kind: str) -> Workspace:
        """The workspace showing documents of `kind` (created on first use)."""
        package = workspaces.package_for(kind) or workspaces.package_for(workspaces.DEFAULT_KIND)
        ws = self._workspaces.get(package.__name__)
        if ws is None:
            ws = self._workspaces[package.__name__] = package.create(self.context)
            self._add_contributions(ws)
        return ws

    def _add_contributions(self, ws: Workspace) -> None:
        self.stack.addWidget(ws.view)
        for name, actions in ws.contributions.menus.items():
            menu, marker = self.menus[name], self._markers[name]
            placed = []
            for action in actions:
                if action is None:
                    action = menu.insertSeparator(marker)
                else:
                    menu.insertAction(marker, action)
                    self.addAction(action)
                action.setVisible(False)
                placed.append(action)
            ws.contributions.menus[name] = placed
        first_in_area = {}
        for entry in ws.contributions.docks:
            self.addDockWidget(entry.area, entry.dock)
            if entry.area in first_in_area:
                self.tabifyDockWidget(first_in_area[entry.area], entry.dock)
            else:
                first_in_area[entry.area] = entry.dock
            self.menus["View"].addAction(entry.dock.toggleViewAction())
            # A workspace created later shows its docks when activated; the first one as it asks.
            entry.dock.setVisible(self.active is None and entry.shown_by_default)
        for dock in first_in_area.values():
            dock.raise_()
        areas = list(first_in_area)
        self.resizeDocks(
            [first_in_area[a] for a in areas],
            [DOCK_WIDTHS.get(a, 300) for a in areas],
            Qt.Orientation.Horizontal,
        )
        for widget in ws.contributions.status:
            self.statusBar().addPermanentWidget(widget)
            widget.hide()
        ws.error.connect(self.notice.show_message)
        ws.warning.connect(lambda text: self.notice.show_message(text, "info"))
        ws.withdrawn.connect(self.notice.withdraw)
        ws.status.connect(self.show_status)
        ws.changed.connect(self._update_actions)

    def activate(self, ws: Workspace) -> None:
        """Show `ws`'s view, docks, actions and status fields in place of the previous workspace's."""
        old = self.active
        if old is ws:
            return
        if old is not None:
            old.deactivate()
            self._show_contributions(old, False)
        self.active = ws
        self.stack.setCurrentWidget(ws.view)
        # A stack is as wide as its widest page: the audio view's toolbar held the image view's docks
        # to their width, and five method names were cut off (walk-through 53). Hidden views count not.
        for index in range(self.stack.count()):
            page = self.stack.widget(index)
            policy = QSizePolicy.Policy.Preferred if page is ws.view else QSizePolicy.Policy.Ignored
            page.setSizePolicy(policy, policy)
        # The first workspace's docks stay as created: the saved layout is restored over them.
        self._show_contributions(ws, True, docks=old is not None)

    def _show_contributions(self, ws: Workspace, shown: bool, docks: bool = True) -> None:
        for actions in ws.contributions.menus.values():
            for action in actions:
                action.setVisible(shown)  # hidden actions' shortcuts are off: no clashes between workspaces
        for entry in ws.contributions.docks if docks else ():
            name = entry.dock.objectName()
            if shown:
                entry.dock.setVisible(self._dock_memory.get(name, entry.shown_by_default))
                entry.dock.toggleViewAction().setVisible(True)
            else:
                self._dock_memory[name] = entry.dock.isVisible()
                entry.dock.hide()
                entry.dock.toggleViewAction().setVisible(False)
        for widget in ws.contributions.status:
            widget.setVisible(shown)
        for menu in self.menus.values():
            menu.menuAction().setVisible(any(a.isVisible() and not a.isSeparator() for a in menu.actions()))

    # --- documents ---

    def open_path(self, path: str | Path) -> bool:
        """Start opening `path` (read on a worker thread); False when it does not start."""
        path = Path(path)
        if self.session.opening is not None:
            self.show_status(f"Still opening {self.session.opening.name}…")
            return False
        if not self._may_discard():
            return False
        self.notice.hide()
        self.session.open(path)
        return True

    def open_series(self, folder: Path, index: int) -> bool:
        """Open series `index` of a DICOM folder (File ▸ Series)."""
        if self.session.opening is not None or not self._may_discard():
            return False
        self.notice.hide()
        self.session.open(folder, series=index)
        return True

    def _on_open_started(self, title: str) -> None:
        self.statusBar().clearMessage()
        self.busy_label.setText(f"{title}…")
        self.busy_label.show()
        self.busy_bar.show()
        self.setCursor(Qt.CursorShape.BusyCursor)

    def _on_open_ended(self, _text: str = "") -> None:
        self.busy_label.hide()
        self.busy_bar.hide()
        self.unsetCursor()

    def _on_document_changed(self, new: bool) -> None:
        doc = self.session.doc
        ws = self.workspace(doc.kind if doc is not None else workspaces.DEFAULT_KIND)
        if new:
            self.statusBar().clearMessage()  # nothing said about the last file holds for this one
            self.activate(ws)
        ws.show_document(new)
        if new and doc is not None:
            if doc.path is not None:
                self._update_recent_menu(self.settings.add_recent(doc.path))
            name = Path(doc.path).name if doc.path is not None else "untitled"
            self.show_status(f"Opened {name}: {ws.describe()}")
        several = self.series_menu.update(doc)
        if new and several:
            self.show_status(several)
        self._update_actions()

    def close_document(self) -> None:
        if self._may_discard():
            self.session.set_document(None)

    def _may_discard(self) -> bool:
        """Before the document goes: a repair that is not saved needs the person's word."""
        return not self.session.unsaved or self.confirm_discard()

    def offer_session_restore(self) -> None:
        """At start-up without a file: reopen a document whose edits were left behind by a crash."""
        from desktop.autosave import Autosave

        root = self.session.autosave_root
        pending = Autosave.pending(root) if root else []
        if pending:
            self.open_path(pending[0].source)  # the session asks before restoring the edits

    def save_to(self, path: str | Path, replace: bool = False) -> Path | None:
        """Save the document; `replace`: the person agreed to replace an existing file. A video is
        saved by a job (the path comes with the session's `saved`), so None is returned for it."""
        if self.session.saves_in_background:
            if self.session.start_save(path, replace=replace):
                self.notice.hide()
            return None
        written = self.session.save_as(path, replace=replace)
        if written is not None:
            self.notice.hide()
        return written

    # --- dialogs ---

    def _start_dir(self) -> str:
        doc = self.session.doc
        return dialogs.start_dir(doc.path if doc is not None else None, self.settings.recent_files())

    def batch_dialog(self) -> None:
        """A whole folder tree, beside whatever is open (the dialog has its own thread)."""
        from desktop.batch import BatchDialog

        doc = self.session.doc
        folder = Path(doc.path).parent if doc is not None and doc.path else None
        if self.batch is None or not self.batch.running:
            self.batch = BatchDialog(self, folder=folder)
        self.batch.show()
        self.batch.raise_()

    def open_dialog(self) -> None:
        path = dialogs.open_file(self, self._start_dir())
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = dialogs.open_folder(self, self._start_dir())
        if path:
            self.open_path(path)

    def save_dialog(self) -> None:
        if self.session.doc is None:
            return
        default = self.session.default_save_path()
        path = dialogs.save_file(self, str(default or self._start_dir()), self.session.doc.path)
        if path:
            self.save_to(path, replace=Path(path).exists())  # the dialog asked before replacing

    def preferences_dialog(self) -> None:
        from desktop.preferences import PreferencesDialog

        if PreferencesDialog(self.settings, self).exec():
            self.session.history.cap_bytes = self.settings.get("history/undo_mb") << 20
            for ws in self._workspaces.values():
                ws.apply_settings()

    def shortcuts_dialog(self) -> None:
        from desktop.preferences import ShortcutsDialog

        ShortcutsDialog([a for a in self.actions() if a.isVisible()], self).exec()

    # Slots return None: PySide6 6.12 releases a Python slot's return value once too often, which
    # corrupts the refcount of True/False. Wrap anything that returns a value.
    def _open_recent(self, path: str) -> None:
        self.open_path(path)

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._update_recent_menu([])

    def _quit(self) -> None:
        self.close()

    def _undo(self) -> None:
        self.active.undo()

    def _redo(self) -> None:
        self.active.redo()

    def _cancel(self) -> None:
        if self.session.opening is not None:
            self.session.reader.cancel()
        else:
            self.active.cancel()

    def _update_recent_menu(self, recent: list[str] | None = None) -> None:
        self.recent_menu.clear()
        recent = recent if recent is not None else self.settings.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear List")
        clear.triggered.connect(self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    # --- what every workspace shares ---

    def import_weights_dialog(self) -> None:
        """Check a weights file (never unpickled) and copy it into the user's weights folder."""
        path = dialogs.weights_file(self, self._start_dir())
        if path:
            self.import_weights(Path(path))

    def import_weights(self, path: Path) -> None:
        from core.errors import LacunaError
        from core.methods import weights

        exists = (weights.user_folder() / path.name).exists()
        if exists and not dialogs.confirm_replace_weights(self, path.name):
            return
        try:
            target = weights.import_file(path, overwrite=exists)
        except LacunaError as exc:
            self.notice.show_message(str(exc))
            return
        users = ", ".join(weights.users_of(target.name)) or "no method yet (name it after a shipped file)"
        self.show_status(f"Imported {target.name} into {target.parent}: used by {users}")

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)
        self.statusBar().setToolTip(text)  # a run's notes can be longer than the bar is wide

    def _update_actions(self) -> None:
        ws = self.active
        if ws is None:
            return
        for action, label, verb in (
            (self.undo_action, ws.undo_label(), "Undo"),
            (self.redo_action, ws.redo_label(), "Redo"),
        ):
            action.setEnabled(label is not None)
            action.setText(f"&{verb} {label or ''}".rstrip())
        self.save_action.setEnabled(self.session.doc is not None)
        self._update_title()

    def _update_title(self) -> None:
        doc = self.session.doc
        if doc is None:
            self.setWindowTitle(APP_NAME)
            return
        name = Path(doc.path).name if doc.path is not None else "untitled"
        flag = ""
        if self.session.unsaved:
            flag = " [REPAIRED, not saved]"
        elif self.session.repaired:
            saved = self.session.saved_as
            flag = f" [REPAIRED, saved as {saved.name}]" if saved is not None else " [REPAIRED, saved]"
        self.setWindowTitle(f"{name}{flag} — {APP_NAME}")

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        """Hold X: the document before the last repair, wherever the focus is (except in text fields)."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_X:
            if event.modifiers() == Qt.KeyboardModifier.NoModifier and not event.isAutoRepeat():
                focus = QApplication.focusWidget()
                ours = isinstance(obj, QWidget) and obj.window() is self
                if ours and not isinstance(focus, QLineEdit | QAbstractSpinBox | QTextEdit):
                    self.active.set_compare(kind == QEvent.Type.KeyPress)
                    return True
        return super().eventFilter(obj, event)

    # --- window events ---

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                break

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Stop every job of the session and the workspaces and wait for their threads."""
        ok = self.session.reader.shutdown(timeout)
        ok = self.session.writer.shutdown(timeout) and ok
        for ws in self._workspaces.values():
            ok = ws.shutdown(timeout) and ok
        if self.batch is not None:
            ok = self.batch.shutdown(timeout) and ok
        return ok

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._may_discard():
            event.ignore()
            return
        self.shutdown()
        self.session.close_autosave(discard=True)
        # The layout saved is each workspace's as the person left it, not the hidden docks of
        # the workspaces that were not active at the end (the image docks after an audio file).
        for ws in self._workspaces.values():
            if ws is not self.active:
                for entry in ws.contributions.docks:
                    entry.dock.setVisible(
                        self._dock_memory.get(entry.dock.objectName(), entry.shown_by_default)
                    )
        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        QApplication.instance().removeEventFilter(self)
        super().closeEvent(event)

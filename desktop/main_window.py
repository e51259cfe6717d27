"""The main window: menus, docks, status bar and the wiring between widgets and the controller.

It owns no document logic: gestures go to the `Controller`, and the controller's signals decide what
is redrawn. Dialog-free entry points (`open_path`, `save_to`, `export_view`) serve the menus, the
command line and the tests alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSlider,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.documents import AudioDoc, VolumeDoc
from desktop.controller import Controller
from desktop.qimage import (
    PRESETS,
    Frame,
    difference_map,
    display_frame,
    new_overlay,
    overlay_lut,
    paint_overlay,
)
from desktop.settings import Settings
from desktop.widgets.canvas import Canvas
from desktop.widgets.dicom_tags import DicomTagPanel
from desktop.widgets.info_panel import InfoPanel
from desktop.widgets.method_picker import MethodPicker
from desktop.widgets.notice import NoticeBar
from desktop.widgets.progress_panel import ProgressPanel
from desktop.widgets.tool_panel import TOOL_INFO, ToolPanel

APP_NAME = "Lacuna"
PREVIEW_PIXELS = 1_500_000  # above this, window/level drags show a subsampled rendering
IMAGE_FILTER = (
    "Images and scans (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.dcm *.dicom *.ima *.nii *.nii.gz);;"
    "Audio (*.wav *.flac *.ogg *.mp3);;All files (*)"
)


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
        self.controller = Controller(root, self)
        self.controller.ask_restore = self._ask_restore
        self.confirm_discard = self._confirm_discard  # replaced in tests
        self.controller.history.cap_bytes = self.settings.get("history/undo_mb") << 20
        self.controller.run_settings = self.settings.run_settings()
        self._overlay: Frame | None = None
        self._overlay_color = QColor(self.settings.get("overlay/color"))
        self._overlay_opacity = self.settings.get("overlay/opacity")
        self._lut = overlay_lut(self._overlay_color, self._overlay_opacity)
        self._window_start = (0.0, 0.0)
        self._wl_dragging = False
        self._flipped = False  # X held
        self._showing_preview = False
        self._base_pending = False
        self._split = False
        self._audio_panel = None
        self._methods_loaded = False
        self._picker_fitted = 0  # the widest method list the repair panel was widened for

        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self._build_central()
        self._build_docks()
        self._build_status()
        self._build_actions()
        self._connect()
        self._restore_brush()
        self._set_tool("brush")
        self._restore_layout()
        QApplication.instance().installEventFilter(self)
        self._refresh_all()

    # --- construction ---

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.notice = NoticeBar()
        layout.addWidget(self.notice)
        self.stack = QStackedWidget()
        self.canvas = Canvas()
        self.stack.addWidget(self.canvas)
        layout.addWidget(self.stack, 1)
        slice_row = QWidget()
        row = QHBoxLayout(slice_row)
        row.setContentsMargins(8, 4, 8, 4)
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setToolTip("Slice (PageUp/PageDown, Up/Down, Shift+Wheel)")
        self.slice_label = QLabel()
        self.slice_label.setMinimumWidth(190)
        row.addWidget(QLabel("Slice"))
        row.addWidget(self.slice_slider, 1)
        row.addWidget(self.slice_label)
        self.slice_bar = slice_row
        layout.addWidget(slice_row)
        self.setCentralWidget(central)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.tools = ToolPanel()
        self.info = InfoPanel()
        column.addWidget(self.tools)
        column.addWidget(self.info)
        column.addStretch(1)
        self.tools_dock = self._dock("Mask", left, Qt.DockWidgetArea.LeftDockWidgetArea, "tools")
        repair = QWidget()
        layout = QVBoxLayout(repair)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picker = MethodPicker()
        self.progress = ProgressPanel()
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.progress)
        self.repair_dock = self._dock("Repair", repair, Qt.DockWidgetArea.RightDockWidgetArea, "repair")
        self.tags = DicomTagPanel()
        self.tags_dock = self._dock("DICOM tags", self.tags, Qt.DockWidgetArea.RightDockWidgetArea, "tags")
        self.tabifyDockWidget(self.repair_dock, self.tags_dock)
        self.repair_dock.raise_()
        self.resizeDocks([self.tools_dock, self.repair_dock], [250, 370], Qt.Orientation.Horizontal)

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.pixel_label = QLabel()
        self.window_label = QLabel()
        self.zoom_label = QLabel()
        self.mask_label = QLabel()
        for label in (self.pixel_label, self.mask_label, self.window_label, self.zoom_label):
            bar.addPermanentWidget(label)
        self.pixel_label.setMinimumWidth(260)

    def _action(self, menu, text: str, slot, shortcuts=(), checkable=False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work while the menu bar is hidden or a dock has focus
        return action

    def _build_actions(self) -> None:
        m = self.menuBar()
        f = m.addMenu("&File")
        self._action(f, "&Open…", self.open_dialog, ["Ctrl+O"])
        self._action(f, "Open &Folder (DICOM series)…", self.open_folder_dialog, ["Ctrl+Shift+O"])
        self.recent_menu = f.addMenu("Open &Recent")
        f.addSeparator()
        self.save_action = self._action(f, "&Save Result As…", self.save_dialog, ["Ctrl+S", "Ctrl+Shift+S"])
        self._action(f, "&Load Mask…", self.load_mask_dialog)
        self._action(f, "Sa&ve Mask…", self.save_mask_dialog)
        self._action(f, "&Export View as PNG…", self.export_dialog, ["Ctrl+E"])
        f.addSeparator()
        self._action(f, "&Close", self.close_document, ["Ctrl+W"])
        self._action(f, "&Quit", self._quit, ["Ctrl+Q"])

        e = m.addMenu("&Edit")
        self.undo_action = self._action(e, "&Undo", self._undo, ["Ctrl+Z"])
        self.redo_action = self._action(e, "&Redo", self._redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        e.addSeparator()
        self._action(e, "&Invert Mask", self.controller.invert_mask, ["Ctrl+I"])
        self._action(e, "&Clear Mask", self.controller.clear_mask, ["Delete", "Backspace"])
        self._action(
            e,
            "&Grow Mask",
            lambda: self.controller.grow_mask(self.tools.grow_pixels.value()),
            ["Ctrl+Shift+G"],
        )
        self._action(
            e,
            "S&hrink Mask",
            lambda: self.controller.shrink_mask(self.tools.grow_pixels.value()),
            ["Ctrl+Shift+H"],
        )
        e.addSeparator()
        self._action(e, "&Preferences…", self.preferences_dialog, ["Ctrl+,"])

        v = m.addMenu("&View")
        self._action(v, "Zoom &In", lambda: self.canvas.zoom_by(1.25), ["+", "=", "Ctrl++"])
        self._action(v, "Zoom &Out", lambda: self.canvas.zoom_by(0.8), ["-", "Ctrl+-"])
        self._action(v, "&Fit to Window", self.canvas.fit, ["F"])
        self._action(v, "&Actual Size (100%)", self.canvas.actual_size, ["1"])
        v.addSeparator()
        self.show_mask_action = self._action(v, "Show &Mask", self._toggle_mask, ["M"], checkable=True)
        self.show_mask_action.setChecked(True)
        self.split_action = self._action(v, "&Split Before/After", self._toggle_split, ["C"], checkable=True)
        self.diff_action = self._action(v, "&Difference Map", self._toggle_diff, ["D"], checkable=True)
        v.addSeparator()
        wl = v.addMenu("&Window/Level")
        self._action(wl, "File's Window", lambda: self.controller.apply_preset("File"), ["W"])
        self._action(wl, "Auto (Histogram)", lambda: self.controller.apply_preset("Auto"), ["A"])
        wl.addSeparator()
        self.preset_actions = {}
        for n, (name, (centre, width)) in enumerate(PRESETS.items(), start=2):
            action = self._action(
                wl,
                f"{name}  (L {centre:g} / W {width:g})",
                lambda _=False, x=name: self.controller.apply_preset(x),
                [f"Ctrl+{n}"],
            )
            self.preset_actions[name] = action
        v.addSeparator()
        self._action(v, "&Next Slice", lambda: self.controller.step_frame(1), ["PgDown", "Down"])
        self._action(v, "&Previous Slice", lambda: self.controller.step_frame(-1), ["PgUp", "Up"])
        v.addSeparator()
        for dock in (self.tools_dock, self.repair_dock, self.tags_dock):
            v.addAction(dock.toggleViewAction())

        t = m.addMenu("&Tools")
        group = QActionGroup(self)
        self.tool_actions = {}
        for name, (title, key, _tip) in TOOL_INFO.items():
            action = self._action(t, title, lambda _=False, n=name: self._set_tool(n), [key], checkable=True)
            group.addAction(action)
            self.tool_actions[name] = action
        t.addSeparator()
        self._action(t, "Bigger Brush", lambda: self._scale_brush(1.25), ["]"])
        self._action(t, "Smaller Brush", lambda: self._scale_brush(0.8), ["["])

        r = m.addMenu("&Repair")
        self.run_action = self._action(
            r, "&Run Selected Method", self.picker.request_run, ["Ctrl+Return", "Ctrl+Enter"]
        )
        self.cancel_action = self._action(r, "&Cancel", self._cancel, ["Esc"])

        h = m.addMenu("&Help")
        self._action(h, "&Keyboard Shortcuts", self.shortcuts_dialog, ["F1", "Ctrl+/"])
        self._action(h, "&About Lacuna", self.about_dialog)
        self._update_recent_menu()

    def _connect(self) -> None:
        c, cv = self.controller, self.canvas
        c.document_changed.connect(self._on_document_changed)
        c.frame_changed.connect(self._on_frame_changed)
        c.window_changed.connect(self._schedule_base)
        c.mask_changed.connect(self._on_mask_changed)
        c.history_changed.connect(self._update_history_actions)
        c.error.connect(lambda text: self.notice.show_message(text))
        c.status.connect(lambda text: self.statusBar().showMessage(text, 5000))
        c.job_started.connect(self._on_job_started)
        c.job_progress.connect(self._on_job_progress)
        c.job_done.connect(self._on_job_done)
        c.job_failed.connect(lambda text: self._on_job_ended(text, False))
        c.job_cancelled.connect(lambda text: self._on_job_ended(text, False))

        cv.hovered.connect(self._on_hover)
        cv.left.connect(lambda: self.pixel_label.setText(""))
        cv.paint_begin.connect(
            lambda x, y: c.begin_stroke(x, y, self._subtract() or self.canvas.tool == "eraser")
        )
        cv.paint_move.connect(c.stroke_to)
        cv.paint_end.connect(c.end_stroke)
        cv.rect_drawn.connect(lambda x0, y0, x1, y1: c.rectangle(x0, y0, x1, y1, self._subtract()))
        cv.lasso_drawn.connect(lambda points: c.lasso(points, self._subtract()))
        cv.fill_clicked.connect(lambda x, y: c.fill(x, y, self._subtract()))
        cv.window_drag_begin.connect(self._on_window_drag_begin)
        cv.window_drag.connect(self._on_window_drag)
        cv.window_drag_end.connect(self._on_window_drag_end)
        cv.slice_step.connect(c.step_frame)
        cv.view_changed.connect(self._update_zoom_label)

        t = self.tools
        t.tool_changed.connect(self._set_tool)
        t.size_changed.connect(self._on_brush_size)
        t.hardness_changed.connect(self._on_hardness)
        t.tolerance_changed.connect(lambda v: setattr(c, "fill_tolerance", float(v)))
        t.color_changed.connect(self._on_overlay_color)
        t.opacity_changed.connect(self._on_overlay_opacity)
        t.show_mask_toggled.connect(self._set_show_mask)
        t.invert_requested.connect(c.invert_mask)
        t.clear_requested.connect(c.clear_mask)
        t.grow_requested.connect(c.grow_mask)
        t.shrink_requested.connect(c.shrink_mask)
        t.load_requested.connect(self.load_mask_dialog)
        t.save_requested.connect(self.save_mask_dialog)

        self.picker.run_requested.connect(self._run_requested)
        self.progress.cancel_requested.connect(c.cancel_job)
        self.slice_slider.valueChanged.connect(c.set_frame)
        self.tags_dock.visibilityChanged.connect(self._on_tags_visibility)

    def _restore_brush(self) -> None:
        self.tools.set_size(self.settings.get("brush/radius") * 2)
        self.tools.hardness_slider.setValue(int(round(self.settings.get("brush/hardness") * 100)))
        self.tools.opacity_slider.setValue(int(round(self._overlay_opacity * 100)))
        self.tools.set_color(self._overlay_color)
        self._on_brush_size(self.tools.size_slider.value())
        self._on_hardness(self.tools.hardness_slider.value() / 100.0)

    def _restore_layout(self) -> None:
        geometry = self.settings.q.value("window/geometry")
        state = self.settings.q.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # --- documents ---

    def open_path(self, path: str | Path) -> bool:
        path = Path(path)
        if not self._may_discard():
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self.statusBar().showMessage(f"Opening {path}…")
        try:
            ok = self.controller.open(path)
        finally:
            QGuiApplication.restoreOverrideCursor()
        if ok:
            self.notice.hide()
            self._update_recent_menu(self.settings.add_recent(path))
            self.statusBar().showMessage(f"Opened {path.name}: {self._describe_doc()}", 8000)
        else:
            self.statusBar().clearMessage()
        return ok

    def _describe_doc(self) -> str:
        doc = self.controller.doc
        if isinstance(doc, AudioDoc):
            return f"{doc.duration:.1f} s, {doc.sample_rate} Hz, {doc.channels} channel(s)"
        if doc is None:
            return ""
        frames, h, w, c = doc.pixels.shape
        parts = [f"{w}×{h}"]
        if isinstance(doc, VolumeDoc):
            parts.append(doc.modality or doc.format)
        else:
            parts.append(f"{doc.mode} {doc.dtype}")
        if frames > 1:
            parts.append(f"{frames} slices" if isinstance(doc, VolumeDoc) else f"{frames} pages")
        return ", ".join(parts)

    def close_document(self) -> None:
        if self._may_discard():
            self.controller.set_document(None)

    def _may_discard(self) -> bool:
        """Before the document goes: a repaired, unsaved result needs the user's word."""
        c = self.controller
        doc = c.image_doc
        if doc is None or not doc.provenance or doc is c.saved_doc:
            return True
        return self.confirm_discard()

    def _confirm_discard(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Discard the repaired image?",
            "The repaired image has not been saved. Discard it?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _ask_restore(self, session) -> bool:
        from datetime import datetime

        when = datetime.fromtimestamp(session.saved).strftime("%Y-%m-%d %H:%M")
        answer = QMessageBox.question(
            self,
            "Restore mask edits?",
            f"Lacuna was not closed properly while {session.source.name} was being edited.\n\n"
            f"Restore the mask and its undo history ({session.count} autosaved steps, last at {when})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def offer_session_restore(self) -> None:
        """At start-up without a file: reopen a document whose edits were left behind by a crash."""
        from desktop.autosave import Autosave

        pending = Autosave.pending(self.controller.autosave_root) if self.controller.autosave_root else []
        if pending:
            self.open_path(pending[0].source)  # the controller asks before restoring the mask

    def save_to(self, path: str | Path) -> Path | None:
        if self._audio_active():
            return self._audio_panel.save_to(path)
        written = self.controller.save_as(path)
        if written is not None:
            self.notice.hide()
            self._update_title()
        return written

    def export_view(self, path: str | Path) -> bool:
        ok = self.canvas.grab().save(str(path), "PNG")
        if not ok:
            self.notice.show_message(f"Could not write {path}.")
        else:
            self.statusBar().showMessage(f"View exported to {path}", 5000)
        return ok

    # --- dialogs ---

    def _start_dir(self) -> str:
        doc = self.controller.doc
        if doc is not None and doc.path is not None:
            return str(Path(doc.path).parent)
        recent = self.settings.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._start_dir(), IMAGE_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a DICOM series folder", self._start_dir())
        if path:
            self.open_path(path)

    def save_dialog(self) -> None:
        if self.controller.doc is None:
            return
        if self._audio_active():
            default = self._audio_panel.default_save_path()
        else:
            default = self.controller.default_save_path()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the result (the original is never overwritten)", str(default or self._start_dir())
        )
        if path:
            self.save_to(path)

    def load_mask_dialog(self) -> None:
        if self.controller.image_doc is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Load mask",
            self._start_dir(),
            "Masks (*.png *.tif *.tiff *.npy *.npz *.nii *.nii.gz);;All (*)",
        )
        if path:
            self.controller.load_mask(path)

    def save_mask_dialog(self) -> None:
        doc = self.controller.image_doc
        if doc is None:
            return
        default = Path(self._start_dir()) / "mask.png"
        if doc.path is not None:
            default = Path(doc.path).with_name(Path(doc.path).stem + "_mask.png")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save mask", str(default), "PNG (*.png);;TIFF (*.tif);;All (*)"
        )
        if path:
            self.controller.save_mask(path)

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export view as PNG", str(Path(self._start_dir()) / "view.png"), "PNG (*.png)"
        )
        if path:
            self.export_view(path)

    def preferences_dialog(self) -> None:
        from desktop.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            self.controller.run_settings = self.settings.run_settings()
            self.controller.history.cap_bytes = self.settings.get("history/undo_mb") << 20

    def shortcuts_dialog(self) -> None:
        from desktop.preferences import ShortcutsDialog

        ShortcutsDialog(self.actions(), self).exec()

    def about_dialog(self) -> None:
        from core.version import __version__

        QMessageBox.about(
            self,
            "About Lacuna",
            f"<b>Lacuna {__version__}</b><br>Repairs photos, medical scans and audio locally and offline."
            "<br><br>"
            "Repaired output is always labelled, and saved as a new file beside the original.",
        )

    # Slots return None: PySide6 6.12 releases a Python slot's return value once too often, which
    # corrupts the refcount of True/False. Wrap anything that returns a value.
    def _open_recent(self, path: str) -> None:
        self.open_path(path)

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._update_recent_menu([])

    def _quit(self) -> None:
        self.close()

    def _run_requested(self, task: str, method: str, params: dict, options: dict) -> None:
        self.controller.run_repair(task, method, params, **options)

    # With an audio document the same shortcuts drive the audio panel.
    def _audio_active(self) -> bool:
        return self._audio_panel is not None and self.stack.currentWidget() is self._audio_panel

    def _undo(self) -> None:
        self._audio_panel.undo() if self._audio_active() else self.controller.undo()

    def _redo(self) -> None:
        self._audio_panel.redo() if self._audio_active() else self.controller.redo()

    def _cancel(self) -> None:
        self._audio_panel.cancel() if self._audio_active() else self.controller.cancel_job()

    def _on_tags_visibility(self, visible: bool) -> None:
        if visible:
            self._update_tags()

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

    # --- rendering ---

    def _refresh_all(self) -> None:
        self._on_document_changed(True)
        self._update_history_actions()

    def _on_document_changed(self, new: bool) -> None:
        doc = self.controller.doc
        if isinstance(doc, AudioDoc):
            self._show_audio(doc)
            return
        if self.stack.currentWidget() is not self.canvas:  # back from an audio document
            self.stack.setCurrentWidget(self.canvas)
            self.tools_dock.show()
            self.repair_dock.show()
        image = self.controller.image_doc
        has_dicom = isinstance(image, VolumeDoc) and image.format == "DICOM" and bool(image.datasets)
        if new:
            self.tags_dock.setVisible(has_dicom)
            if has_dicom:
                self.repair_dock.raise_()
            self._load_methods()
        self._render_base(new_document=new)
        self._render_before()
        self._update_slice_bar()
        self._update_title()
        self.info.set_document(image)
        self.picker.set_has_mask(self.controller.masks.any())
        self._update_tags()

    def _load_methods(self) -> None:
        image = self.controller.image_doc
        if image is None:
            return
        try:
            from core.methods import methods

            cards = methods()
        except Exception as exc:  # noqa: BLE001 — a broken method module must not break the viewer
            self.notice.show_message(f"The repair methods could not be listed: {type(exc).__name__}: {exc}")
            cards = []
        self.picker.set_cards(cards, volume=image.pixels.shape[0] > 1 and isinstance(image, VolumeDoc))
        self._fit_repair_panel()

    def _fit_repair_panel(self) -> None:
        """Widen the repair panel so that no method name is cut off ("Learned inpainting (FFC,
        adversarial)  (default)" is wider than the default panel). Only when a method list needs more
        room than any before it, so a panel the person narrowed stays narrow for the next file."""
        dock = self.repair_dock
        if not self.isVisible() or not dock.isVisible() or dock.isFloating():
            return
        needed = self.picker.fitting_width()
        if needed <= self._picker_fitted:
            return
        self._picker_fitted = needed
        extra = needed - self.picker.width()
        if extra > 0:
            self.resizeDocks([dock], [dock.width() + extra], Qt.Orientation.Horizontal)

    def _schedule_base(self) -> None:
        """Coalesce window/level changes: render once per event-loop turn, not per mouse move."""
        if not self._base_pending:
            self._base_pending = True
            QTimer.singleShot(0, self._render_base_pending)

    def _render_base_pending(self) -> None:
        if not self._base_pending:
            return
        self._base_pending = False
        c = self.controller
        pixels = c.current_pixels() if c.image_doc is not None else None
        if self._wl_dragging and pixels is not None and pixels.shape[0] * pixels.shape[1] > PREVIEW_PIXELS:
            # Dragging the window on a huge image: render every k-th pixel so it follows the mouse.
            k = int(np.ceil(np.sqrt(pixels.shape[0] * pixels.shape[1] / PREVIEW_PIXELS)))
            self.canvas.replace_base_image(display_frame(pixels[::k, ::k], c.window, c.invert))
            self._update_window_label()
            return
        self._render_base()
        self._render_before()

    def _render_base(self, new_document: bool = False) -> None:
        c = self.controller
        image = c.image_doc
        if image is None:
            self.canvas.set_base(None)
            self.canvas.set_overlay(None)
            self.canvas.set_before(None)
            self.canvas.set_diff(None)
            self.canvas.banner = ""
            self._overlay = None
            self._update_window_label()
            return
        frame = display_frame(c.current_pixels(), c.window, c.invert)
        self.canvas.set_base(frame, c.aspect)
        self.canvas.banner = c.banner()
        h, w = image.pixels.shape[1:3]
        if self._overlay is None or self._overlay.buffer.shape != (h, w) or new_document:
            self._overlay = new_overlay(h, w)
            paint_overlay(self._overlay, c.masks.peek(c.frame), self._lut)
            self.canvas.set_overlay(self._overlay)
        self._update_window_label()

    def _render_before(self) -> None:
        c = self.controller
        repair = c.last_repair() if c.image_doc is not None else None
        if repair is None:
            self.canvas.set_before(None)
            self.canvas.set_diff(None)
            self._set_compare_mode()
            return
        before = repair.before.pixels
        frame = min(c.frame, before.shape[0] - 1)
        self.canvas.set_before(display_frame(before[frame], c.window, c.invert))
        names = [p.method for p in repair.before.provenance]
        self.canvas.before_label = "BEFORE — " + (" → ".join(names) if names else "original")
        if self.diff_action.isChecked() and before.shape == c.image_doc.pixels.shape:
            diff, peak, count = difference_map(before[frame], c.current_pixels())
            self.canvas.set_diff(diff)
            self.statusBar().showMessage(
                f"Difference map: {count} pixels changed, largest change {peak:.4g}", 8000
            )
        else:
            self.canvas.set_diff(None)
        self._set_compare_mode()

    def _on_frame_changed(self, frame: int) -> None:
        self._render_base()
        c = self.controller
        if self._overlay is not None:
            paint_overlay(self._overlay, c.masks.peek(frame), self._lut)
        self._render_before()
        self.canvas.update()
        with_blocked(self.slice_slider, lambda: self.slice_slider.setValue(frame))
        self.slice_label.setText(c.slice_description())
        self._update_mask_label()
        self._update_tags()

    def _on_mask_changed(self, frame: int, box) -> None:
        c = self.controller
        if frame != c.frame or self._overlay is None:
            return
        mask = c.masks.peek(frame)
        if box is None or mask is None:
            paint_overlay(self._overlay, mask, self._lut)
            self.canvas.update()
        else:
            paint_overlay(self._overlay, mask, self._lut, box)
            self.canvas.update_image_rect(box.y0, box.y1, box.x0, box.x1)
        if not c.masks.editing:  # a stroke in progress: keep the per-move work minimal
            self._update_mask_label()
            self.picker.set_has_mask(c.masks.any())

    def _update_slice_bar(self) -> None:
        frames = self.controller.frames
        self.slice_bar.setVisible(frames > 1)
        with_blocked(
            self.slice_slider,
            lambda: (
                self.slice_slider.setRange(0, max(frames - 1, 0)),
                self.slice_slider.setValue(self.controller.frame),
            ),
        )
        self.slice_label.setText(self.controller.slice_description())

    def _update_tags(self) -> None:
        if not self.tags_dock.isVisible():
            return
        image = self.controller.image_doc
        dataset = None
        if isinstance(image, VolumeDoc) and image.format == "DICOM" and image.datasets:
            datasets = image.datasets
            dataset = (
                datasets[self.controller.frame] if len(datasets) == self.controller.frames else datasets[0]
            )
        self.tags.set_dataset(dataset)

    def _update_title(self) -> None:
        doc = self.controller.doc
        if doc is None:
            self.setWindowTitle(APP_NAME)
            return
        name = Path(doc.path).name if doc.path is not None else "untitled"
        flag = ""
        if doc.provenance:
            flag = "  [REPAIRED, saved]" if doc is self.controller.saved_doc else "  [REPAIRED, not saved]"
        self.setWindowTitle(f"{name}{flag} — {APP_NAME}")

    def _update_window_label(self) -> None:
        if self.controller.image_doc is None:
            self.window_label.setText("")
            return
        centre, width = self.controller.window
        self.window_label.setText(f"L {centre:.4g}  W {width:.4g}")

    def _update_zoom_label(self) -> None:
        self.zoom_label.setText(f"{self.canvas.zoom * 100:.0f}%")

    def _update_mask_label(self) -> None:
        fraction = self.controller.mask_fraction()
        self.mask_label.setText(f"Mask {fraction * 100:.2f}%" if fraction else "")

    def _update_history_actions(self) -> None:
        c = self.controller
        self.undo_action.setEnabled(c.can_undo())
        self.redo_action.setEnabled(c.can_redo())
        self.undo_action.setText(f"&Undo {c.undo_label()}".rstrip())
        self.redo_action.setText(f"&Redo {c.redo_label()}".rstrip())
        self.save_action.setEnabled(c.doc is not None)
        self._update_title()

    def _on_hover(self, x: float, y: float) -> None:
        self.pixel_label.setText(self.controller.value_at(x, y))

    # --- tools ---

    def _set_tool(self, name: str) -> None:
        self.canvas.set_tool(name)
        self.tools.set_tool(name)
        self.tool_actions[name].setChecked(True)

    def _subtract(self) -> bool:
        return bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.AltModifier)

    def _scale_brush(self, factor: float) -> None:
        diameter = self.controller.brush_radius * 2
        new = diameter * factor
        new = max(
            1.0, round(new) if abs(round(new) - diameter) >= 1 else diameter + (1 if factor > 1 else -1)
        )
        self.tools.set_size(new)

    def _on_brush_size(self, diameter: float) -> None:
        self.controller.brush_radius = max(float(diameter) / 2.0, 0.5)
        self.canvas.set_brush_radius(self.controller.brush_radius)
        self.settings.set("brush/radius", self.controller.brush_radius)

    def _on_hardness(self, hardness: float) -> None:
        self.controller.brush_hardness = float(hardness)
        self.settings.set("brush/hardness", float(hardness))

    def _on_overlay_color(self, color: QColor) -> None:
        self._overlay_color = QColor(color)
        self.settings.set("overlay/color", color.name())
        self._relut()

    def _on_overlay_opacity(self, opacity: float) -> None:
        self._overlay_opacity = float(opacity)
        self.settings.set("overlay/opacity", float(opacity))
        self._relut()

    def _relut(self) -> None:
        self._lut = overlay_lut(self._overlay_color, self._overlay_opacity)
        if self._overlay is not None:
            paint_overlay(self._overlay, self.controller.masks.peek(self.controller.frame), self._lut)
            self.canvas.update()

    def _toggle_mask(self) -> None:
        self._set_show_mask(self.show_mask_action.isChecked())

    def _set_show_mask(self, show: bool) -> None:
        self.canvas.show_mask = show
        with_blocked(self.tools.show_mask, lambda: self.tools.show_mask.setChecked(show))
        self.show_mask_action.setChecked(show)
        self.canvas.update()

    # --- window / level ---

    def _on_window_drag_begin(self) -> None:
        self._window_start = self.controller.window
        self._wl_dragging = True

    def _on_window_drag_end(self) -> None:
        self._wl_dragging = False
        self._schedule_base()  # the full-resolution rendering of the final window

    def _on_window_drag(self, dx: float, dy: float) -> None:
        centre, width = self._window_start
        k = self.controller.window_sensitivity()
        self.controller.set_window(centre + dy * k, max(width + dx * k, k))

    # --- compare ---

    def _toggle_split(self) -> None:
        self._split = self.split_action.isChecked()
        if self._split and not self.canvas.has_before():
            self.statusBar().showMessage("Nothing to compare yet: run a repair first.", 5000)
        self._set_compare_mode()

    def _toggle_diff(self) -> None:
        self.canvas.show_diff = self.diff_action.isChecked()
        if self.canvas.show_diff and not self.canvas.has_before():
            self.statusBar().showMessage("Nothing to compare yet: run a repair first.", 5000)
        self._render_before()

    def set_flipped(self, flipped: bool) -> None:
        """Hold X: show the image before the last repair (or hear the audio before the fill)."""
        if self._audio_active():
            self._audio_panel.set_ab(flipped)
            return
        if self._audio_panel is not None and self.stack.currentWidget() is self._audio_panel:
            self._audio_panel.set_ab(flipped)  # audio: A (before) while held, B (after) on release
            return
        if flipped and not self.canvas.has_before():
            self.statusBar().showMessage("Nothing to compare yet: run a repair first.", 3000)
        self._flipped = flipped
        self._set_compare_mode()

    def _set_compare_mode(self) -> None:
        if self._flipped and self.canvas.has_before():
            mode = "flip"
        elif self._split and self.canvas.has_before():
            mode = "split"
        else:
            mode = "off"
        if mode != self.canvas.compare:
            self.canvas.compare = mode
            self.canvas.update()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        """X flips before/after while held, wherever the focus is (except in text fields)."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_X:
            if event.modifiers() == Qt.KeyboardModifier.NoModifier and not event.isAutoRepeat():
                focus = QApplication.focusWidget()
                ours = isinstance(obj, QWidget) and obj.window() is self
                if ours and not isinstance(focus, QLineEdit | QAbstractSpinBox | QTextEdit):
                    self.set_flipped(kind == QEvent.Type.KeyPress)
                    return True
        return super().eventFilter(obj, event)

    # --- jobs ---

    def _on_job_started(self, title: str) -> None:
        self.progress.start(title)
        self.picker.set_busy(True)  # disables Run: its focus would drop into a parameter field
        self.canvas.setFocus()
        self.notice.hide()

    def _on_job_progress(self, report) -> None:
        self.progress.report(report)
        preview = getattr(report, "preview", None)
        image = self.controller.image_doc
        if preview is None or image is None or image.pixels.shape[0] != 1:
            return  # a volume's preview would not say which slice it shows
        if preview.shape[:2] != image.pixels.shape[1:3]:
            return
        # Iterative methods send intermediate results: show them, labelled, without applying them.
        lo, hi = image.value_range
        frame = np.asarray(preview, np.float32) * np.float32(hi - lo) + np.float32(lo)
        self.canvas.set_base(display_frame(frame, self.controller.window, self.controller.invert))
        self.canvas.banner = f"PREVIEW — {self.progress.title.text().rstrip('…')} (not applied yet)"
        self._showing_preview = True

    def _on_job_done(self, text: str) -> None:
        self._on_job_ended(text, True)
        if self.canvas.show_mask and self.controller.masks.any():
            # The fill is what matters now; the mask stays one key away.
            self._set_show_mask(False)
            self.statusBar().showMessage(f"{text} Mask hidden — press M to show it, hold X to compare.", 8000)

    def _on_job_ended(self, text: str, done: bool) -> None:
        self.progress.finish(text, done)
        self.picker.set_busy(False)
        if self._showing_preview:
            self._showing_preview = False
            self._render_base()
        if not done:
            self.statusBar().showMessage(text, 8000)

    # --- audio ---

    def _show_audio(self, doc: AudioDoc) -> None:
        """Audio documents get the audio panel (desktop.audio) as the central view."""
        if self._audio_panel is None:
            try:
                from desktop.audio.panel import AudioPanel
            except ImportError as exc:
                self.notice.show_message(f"Audio editing is not available: {exc}")
                return
            self._audio_panel = AudioPanel(self)
            self._audio_panel.document_changed.connect(self._on_audio_changed)
            if hasattr(self._audio_panel, "message"):
                self._audio_panel.message.connect(self._show_status)
            self.stack.addWidget(self._audio_panel)
        self._audio_panel.set_document(doc)
        self.stack.setCurrentWidget(self._audio_panel)
        for dock in (self.tools_dock, self.repair_dock, self.tags_dock):
            dock.setVisible(False)
        self.slice_bar.setVisible(False)
        self._update_title()

    def _show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _on_audio_changed(self, doc) -> None:
        self.controller.doc = doc  # Save As writes what the audio panel holds
        self._update_title()

    # --- window events ---

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                break

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._may_discard():
            event.ignore()
            return
        self.controller.shutdown()
        if self._audio_panel is not None and self._audio_panel.running:
            self._audio_panel.cancel()
            self._audio_panel.wait(3.0)
        self.controller.close_autosave(discard=True)
        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        QApplication.instance().removeEventFilter(self)
        super().closeEvent(event)


def with_blocked(widget: QWidget, fn) -> None:
    """Run fn with the widget's signals blocked (programmatic updates must not loop back)."""
    from superqt.utils import signals_blocked

    with signals_blocked(widget):
        fn()

"""The image workspace: photos, multi-page files and volumes (CT, MR, NIfTI) on a canvas.

Its views: the canvas and slice bar in the middle, the Mask dock (tools and document info), the
Repair dock (method picker and progress) and the DICOM tags dock, plus its menu actions. Gestures go
to the `ImageController`; the `CanvasPresenter` redraws on the controller's signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QActionGroup, QColor
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from desktop.qimage import PRESETS
from desktop.widgets.canvas import Canvas
from desktop.widgets.detect_panel import DetectPanel
from desktop.widgets.dicom_tags import DicomTagPanel
from desktop.widgets.info_panel import InfoPanel
from desktop.widgets.method_picker import MethodPicker
from desktop.widgets.progress_panel import ProgressPanel
from desktop.widgets.tool_panel import TOOL_INFO, ToolPanel
from desktop.workspace import Context, Workspace
from desktop.workspaces.image import dialogs
from desktop.workspaces.image.controller import ImageController
from desktop.workspaces.image.detect import attach as attach_detection
from desktop.workspaces.image.presenter import CanvasPresenter

JPEG_REPAIR_FROM = 50  # a JPEG saved at this quality or lower opens with JPEG artifact removal selected

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea


class ImageWorkspace(Workspace):
    def __init__(self, context: Context):
        super().__init__(context)
        s = self.settings
        self.controller = ImageController(self.session, s, self)
        self._build_view()
        self.presenter = CanvasPresenter(
            self.controller, self.canvas, QColor(s.get("overlay/color")), s.get("overlay/opacity")
        )
        self._build_docks()
        self._build_actions()
        self._connect()
        self.detection = attach_detection(self, self.detect_panel)
        self._restore_brush()
        self.set_tool("brush")
        self._update_slice_bar()  # no document yet: no slice bar

    # --- construction ---

    def _build_view(self) -> None:
        self._view = QWidget()
        layout = QVBoxLayout(self._view)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.canvas = Canvas()
        layout.addWidget(self.canvas, 1)
        self.slice_bar = QWidget()
        row = QHBoxLayout(self.slice_bar)
        row.setContentsMargins(8, 4, 8, 4)
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setToolTip("Slice (PageUp/PageDown, Up/Down, Wheel on a scan series, Shift+Wheel)")
        self.slice_label = QLabel()
        self.slice_label.setMinimumWidth(190)
        self.slice_noun = QLabel("Slice")
        row.addWidget(self.slice_noun)
        row.addWidget(self.slice_slider, 1)
        row.addWidget(self.slice_label)
        layout.addWidget(self.slice_bar)
        self.pixel_label, self.mask_label = QLabel(), QLabel()
        self.window_label, self.zoom_label = QLabel(), QLabel()
        self.pixel_label.setMinimumWidth(260)
        self.contributions.status = [self.pixel_label, self.mask_label, self.window_label, self.zoom_label]

    @property
    def view(self) -> QWidget:
        return self._view

    def _build_docks(self) -> None:
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.tools, self.info, self.detect_panel = ToolPanel(), InfoPanel(), DetectPanel()
        column.addWidget(self.tools)
        column.addWidget(self.detect_panel)
        column.addWidget(self.info)
        column.addStretch(1)
        # Scrolling when the window is short, not squashed (walk-through 46: at 1280x800 a detection's
        # note squeezed the mask buttons and clipped them)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(left)
        scroll.setMinimumWidth(left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        self.tools_dock = self.dock("Mask", scroll, LEFT, "tools")
        repair = QWidget()
        layout = QVBoxLayout(repair)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picker, self.progress = MethodPicker(), ProgressPanel()
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.progress)
        self.repair_dock = self.dock("Repair", repair, RIGHT, "repair")
        self.tags = DicomTagPanel()
        self.tags_dock = self.dock("DICOM tags", self.tags, RIGHT, "tags")
        self.contributions.docks[-1].shown_by_default = False

    def _build_actions(self) -> None:
        c, canvas = self.controller, self.canvas
        self.action("File", "&Load Mask…", self.load_mask_dialog)
        self.action("File", "Sa&ve Mask…", self.save_mask_dialog)
        self.action("File", "&Export View as PNG…", self.export_dialog, ["Ctrl+E"])
        self.action("Edit", "&Invert Mask", c.invert_mask, ["Ctrl+I"])
        self.action("Edit", "&Clear Mask", c.clear_mask, ["Delete", "Backspace"])
        self.action(
            "Edit", "&Grow Mask", lambda: c.grow_mask(self.tools.grow_pixels.value()), ["Ctrl+Shift+G"]
        )
        self.action(
            "Edit", "S&hrink Mask", lambda: c.shrink_mask(self.tools.grow_pixels.value()), ["Ctrl+Shift+H"]
        )
        self.action("View", "Zoom &In", lambda: canvas.zoom_by(1.25), ["+", "=", "Ctrl++"])
        self.action("View", "Zoom &Out", lambda: canvas.zoom_by(0.8), ["-", "Ctrl+-"])
        self.action("View", "&Fit to Window", canvas.fit, ["F"])
        self.action("View", "&Actual Size (100%)", canvas.actual_size, ["1"])
        self.separator("View")
        self.show_mask_action = self.action("View", "Show &Mask", self._toggle_mask, ["M"], checkable=True)
        self.show_mask_action.setChecked(True)
        self.split_action = self.action("View", "&Split Before/After", self._toggle_split, ["C"], True)
        self.diff_action = self.action("View", "&Difference Map", self._toggle_diff, ["D"], checkable=True)
        self.original_action = self.action(
            "View", "Compare with the &Original", self._toggle_original, ["O"], checkable=True
        )
        self.uncertainty_action = self.action(
            "View", "Fill &Uncertainty", self._toggle_uncertainty, ["U"], checkable=True
        )
        self.separator("View")
        self.action("View", "File's Window/Level", lambda: c.apply_preset("File"), ["W"])
        self.action("View", "Auto Window (Histogram)", lambda: c.apply_preset("Auto"), ["A"])
        self.preset_actions = {}
        for n, (name, (centre, width)) in enumerate(PRESETS.items(), start=2):
            self.preset_actions[name] = self.action(
                "View",
                f"{name} Window  (L {centre:g} / W {width:g})",
                lambda _=False, x=name: c.apply_preset(x),
                [f"Ctrl+{n}"],
            )
        self.separator("View")
        self.slice_actions = [
            self.action("View", "&Next Slice", lambda: c.step_frame(1), ["PgDown", "Down"]),
            self.action("View", "&Previous Slice", lambda: c.step_frame(-1), ["PgUp", "Up"]),
        ]
        group = QActionGroup(self)
        self.tool_actions = {}
        for name, (title, key, _tip) in TOOL_INFO.items():
            action = self.action("Tools", title, lambda _=False, n=name: self.set_tool(n), [key], True)
            group.addAction(action)
            self.tool_actions[name] = action
        self.separator("Tools")
        self.action("Tools", "Bigger Brush", lambda: self._scale_brush(1.25), ["]"])
        self.action("Tools", "Smaller Brush", lambda: self._scale_brush(0.8), ["["])
        self.action("Repair", "&Run Selected Method", self.picker.request_run, ["Ctrl+Return", "Ctrl+Enter"])

    def _connect(self) -> None:
        c, cv, p, t = self.controller, self.canvas, self.presenter, self.tools
        c.document_changed.connect(self._on_document_changed)
        c.frame_changed.connect(self._on_frame_changed)
        c.window_changed.connect(p.schedule_base)
        c.window_changed.connect(self._update_window_label)
        c.mask_changed.connect(self._on_mask_changed)
        # A stroke's end is recorded, not drawn: the mask's share is counted then (and after undo).
        self.session.history_changed.connect(self._on_mask_edited)
        self.session.history_changed.connect(self._follow_repair_undo)
        self._hidden_for = self._seen_repair = None  # the repair whose finish hid the mask; the one shown
        self._job_began_on = None  # the document shown when the running job began
        self._gaps_said = ""  # the notice of missing slices, while it holds
        self._proposed = ""  # the method Lacuna selected for the file shown (a low-quality JPEG's repair)
        c.error.connect(self.error)
        c.withdrawn.connect(self.withdrawn)
        c.status.connect(self.status)
        p.status.connect(self.status)
        jobs = c.jobs
        jobs.started.connect(self._on_job_started)
        jobs.progress.connect(self._on_job_progress)
        jobs.succeeded.connect(self._on_job_done)
        jobs.failed.connect(lambda text: self._on_job_ended(text, False))
        jobs.failed.connect(self.error)
        jobs.cancelled.connect(lambda text: self._on_job_ended(text, False))
        jobs.dropped.connect(lambda: self.status.emit("An outdated repair result was dropped."))

        cv.hovered.connect(lambda x, y: self.pixel_label.setText(c.value_at(x, y)))
        cv.left.connect(lambda: self.pixel_label.setText(""))
        cv.paint_begin.connect(self._on_paint_begin)
        cv.paint_move.connect(c.stroke_to)
        cv.paint_end.connect(c.end_stroke)
        cv.rect_drawn.connect(lambda x0, y0, x1, y1: self._draw(c.rectangle, x0, y0, x1, y1))
        cv.lasso_drawn.connect(lambda points: self._draw(c.lasso, points))
        cv.fill_clicked.connect(lambda x, y: self._draw(c.fill, x, y))
        cv.window_drag_begin.connect(self._on_window_drag_begin)
        cv.window_drag.connect(self._on_window_drag)
        cv.window_drag_end.connect(self._on_window_drag_end)
        cv.slice_step.connect(c.step_frame)
        cv.view_changed.connect(lambda: self.zoom_label.setText(f"{cv.zoom * 100:.0f}%"))

        t.tool_changed.connect(self.set_tool)
        t.size_changed.connect(self._on_brush_size)
        t.hardness_changed.connect(self._on_hardness)
        t.tolerance_changed.connect(lambda v: setattr(c, "fill_tolerance", float(v)))
        t.color_changed.connect(self._on_overlay_color)
        t.opacity_changed.connect(self._on_overlay_opacity)
        t.show_mask_toggled.connect(self.set_show_mask)
        t.invert_requested.connect(c.invert_mask)
        t.clear_requested.connect(c.clear_mask)
        t.grow_requested.connect(c.grow_mask)
        t.shrink_requested.connect(c.shrink_mask)
        t.load_requested.connect(self.load_mask_dialog)
        t.save_requested.connect(self.save_mask_dialog)

        self.picker.run_requested.connect(self._run_requested)
        self.progress.cancel_requested.connect(c.cancel_job)
        self.slice_slider.valueChanged.connect(c.set_frame)
        self.tags_dock.visibilityChanged.connect(lambda visible: visible and self._update_tags())

    def _restore_brush(self) -> None:
        s, t = self.settings, self.tools
        t.set_size(s.get("brush/radius") * 2)
        t.hardness_slider.setValue(int(round(s.get("brush/hardness") * 100)))
        t.opacity_slider.setValue(int(round(s.get("overlay/opacity") * 100)))
        t.set_color(QColor(s.get("overlay/color")))
        self._on_brush_size(t.size_slider.value())
        self._on_hardness(t.hardness_slider.value() / 100.0)

    # --- what the shell forwards ---

    def show_document(self, new: bool) -> None:
        if new:  # a file opened (a repair that reshapes the scan says "new" to the views too)
            if self._proposed and self.picker.current_method() == self._proposed:
                self.picker.clear_selection()  # Lacuna's proposal for the last file, not the person's choice
            self.controller.show_new_document()
            self._proposed = ""
            self._say_gaps()
            self._say_jpeg_quality()
        else:
            self._on_document_changed(False)

    def describe(self) -> str:
        doc = self.controller.doc
        if doc is None:
            return ""
        frames, h, w, _ = doc.pixels.shape
        volume = self.controller.volume
        parts = [f"{w}×{h}", (doc.modality or doc.format) if volume else f"{doc.mode} {doc.dtype}"]
        if frames > 1:
            from core.io.describe import stack_size

            parts.append(stack_size(frames, getattr(doc, "time_points", 1), "slices" if volume else "pages"))
        return ", ".join(parts)

    def undo(self) -> None:
        self.controller.undo()

    def redo(self) -> None:
        self.controller.redo()

    def undo_label(self) -> str | None:
        return self.controller.undo_label() if self.controller.can_undo() else None

    def redo_label(self) -> str | None:
        return self.controller.redo_label() if self.controller.can_redo() else None

    def cancel(self) -> None:
        self.controller.cancel_job()

    @property
    def busy(self) -> bool:
        return self.controller.busy

    def deactivate(self) -> None:
        self.controller.jobs.drop()

    def set_compare(self, before: bool) -> None:
        if before and not self.canvas.has_before():
            self.status.emit("Nothing to compare yet: run a repair first.")
        self.presenter.flipped = before
        self.presenter.set_compare_mode()

    def shutdown(self, timeout: float) -> bool:
        return self.controller.shutdown(timeout)

    # --- reactions ---

    def _on_document_changed(self, new: bool) -> None:
        c = self.controller
        doc = c.doc
        has_tags = self._header(0) is not None
        if new:
            self.tags_dock.setVisible(has_tags)
            if has_tags:
                self.repair_dock.raise_()
            self._load_methods()
            self.set_show_mask(True)  # a mask hidden after the last file's repair must not stay hidden
            self._hidden_for = self._seen_repair = None
            self.pixel_label.setText("")
            self.progress.hide_panel()  # the last file's repair outcome is not this file's
        if self._gaps_said and not getattr(doc, "gaps", None):  # put back: the notice no longer holds
            self.withdrawn.emit(self._gaps_said)
            self._gaps_said = ""
        for action in self.preset_actions.values():
            action.setEnabled(c.hu_presets_apply)
        for action in self.slice_actions:  # what a photo does not have
            action.setEnabled(doc is not None and c.frames > 1)
        self.uncertainty_action.setEnabled(bool(c.volume))
        self.tools.set_document_open(doc is not None)
        self.canvas.wheel_steps_slices = bool(c.volume and c.frames > 1)
        self.presenter.render_base(new_document=new)
        self.presenter.render_before()
        self._update_slice_bar()
        self._update_window_label()
        self._update_mask_label()
        self.info.set_document(doc)
        self.picker.set_has_mask(c.masks.any())
        self._update_tags()
        self.changed.emit()

    def _on_frame_changed(self, frame: int) -> None:
        self.presenter.frame_changed(frame)
        with signals_blocked(self.slice_slider):
            self.slice_slider.setValue(frame)
        self.slice_label.setText(self.controller.slice_description())
        self._update_mask_label()
        self._update_tags()

    def _on_mask_changed(self, frame: int, box) -> None:
        self.presenter.mask_changed(frame, box)
        self._on_mask_edited()

    def _on_paint_begin(self, x: float, y: float) -> None:
        erase = self._subtract() or self.canvas.tool == "eraser"
        if not erase:
            self._fresh_mask()
        self.controller.begin_stroke(x, y, erase)

    def _draw(self, tool, *where) -> None:
        """A rectangle, lasso or fill: on a new mask after a repair (`_fresh_mask`), Alt subtracts."""
        self._fresh_mask()
        tool(*where, self._subtract())

    def _fresh_mask(self) -> None:
        """Painting anew after a repair hid its mask starts a new mask: the spent one is cleared
        first (an undoable step), so the next repair fills only what is painted now. It was kept,
        hidden, and filled again with the new strokes (a walk-through's second inpaint refilled the
        first). Erasing, and painting with the mask shown, keep it as it is."""
        c = self.controller
        if self._subtract() or self._hidden_for is None or self.canvas.show_mask:
            return
        if self._hidden_for is not c.last_repair() or not c.masks.any():
            self._hidden_for = None
            return
        self._hidden_for = None
        for frame in c.masks.painted_frames():
            c.clear_frame_mask(frame)
        self.set_show_mask(True)
        self.status.emit("A new mask: the last repair's was cleared (Ctrl+Z brings it back).")

    def _follow_repair_undo(self) -> None:
        """A repair undone shows the mask its finish hid (what was painted, to edit again); redone, the
        fill shows again with the mask hidden (a walk-through's undone CT repair kept it hidden)."""
        shown = self.controller.last_repair()
        before, self._seen_repair = self._seen_repair, shown
        if self._hidden_for is None or shown is before:
            return
        if shown is None and before is self._hidden_for and self.controller.masks.any():
            self.set_show_mask(True)
        elif shown is self._hidden_for and before is None:
            self.set_show_mask(False)

    def _on_mask_edited(self) -> None:
        if not self.controller.masks.editing:  # a stroke in progress: keep the per-move work minimal
            self._update_mask_label()
            self.picker.set_has_mask(self.controller.masks.any())

    def _propose(self, task: str) -> bool:
        """Select `task`'s default for the file shown; remembered as Lacuna's choice (dropped when the
        next file opens) only where it changed what the person had chosen."""
        before = self.picker.current_method()
        if not self.picker.select_task(task):
            return False
        if self.picker.current_method() != before:
            self._proposed = self.picker.current_method() or ""
        return True

    def _say_jpeg_quality(self) -> None:
        """A JPEG saved at a low quality opens with JPEG artifact removal selected, and says why (a
        walk-through's quality-10 JPEG opened on Inpaint)."""
        from core.jpeg import saved_quality

        quality = saved_quality(self.controller.doc)
        if quality is not None and quality <= JPEG_REPAIR_FROM and self._propose("dejpeg"):
            self.warning.emit(
                f"This JPEG was saved at quality {quality} (of 100, read from its 8×8 blocks):"
                " JPEG artifact removal is selected."
            )

    def _say_gaps(self) -> None:
        """A series with slices missing says so when opened, with Fill missing slices ready: `lacuna
        info` named the gaps, the app said only "26 slices" (a walk-through)."""
        self._gaps_said = ""
        gaps = list(getattr(self.controller.doc, "gaps", None) or [])
        if not gaps or not self.controller.volume:
            return
        numbers = ", ".join(str(g + 1) for g in gaps)  # as the slice bar counts
        after = f"slices {numbers}" if len(gaps) > 1 else f"slice {numbers}"
        ready = " (selected)" if self._propose("fill-slice") else ""
        self._gaps_said = (
            f"Slices seem to be missing from this series: the spacing jumps after {after}"
            " (counted from 1, as the slice bar counts)."
            f" Fill missing slices{ready} puts them back, each marked as made, not acquired."
        )
        self.warning.emit(self._gaps_said)

    def _load_methods(self) -> None:
        doc = self.controller.doc
        if doc is None:
            return
        try:
            from core.methods import methods

            cards = [card for card in methods() if card.operates_on in ("image", "volume")]
        except Exception as exc:  # noqa: BLE001 — a broken method module must not break the viewer
            self.error.emit(f"The repair methods could not be listed: {type(exc).__name__}: {exc}")
            cards = []
        from core.methods.modality import modality_of
        from core.repair.units import SCALE, in_document_units, unit_name

        lo, hi = doc.value_range
        units = (unit_name(doc), (hi - lo) / SCALE) if in_document_units(doc) else None
        volume = self.controller.volume and doc.pixels.shape[0] > 1
        self.picker.set_cards(cards, volume=volume, modality=modality_of(doc), units=units)
        self.fit_dock_to_picker(self.repair_dock, self.picker)

    def _update_slice_bar(self) -> None:
        self.slice_noun.setText(self.controller.frame_noun())
        frames = self.controller.frames
        self.slice_bar.setVisible(frames > 1)
        with signals_blocked(self.slice_slider):
            self.slice_slider.setRange(0, max(frames - 1, 0))
            self.slice_slider.setValue(self.controller.frame)
        self.slice_label.setText(self.controller.slice_description())

    def _update_tags(self) -> None:
        if not self.tags_dock.isVisible():
            return
        self.tags.set_dataset(self._header(self.controller.frame))

    def _header(self, frame: int):
        """The file header behind `frame` where the format has one (a DICOM dataset), else None."""
        doc = self.controller.doc
        if doc is None:
            return None
        from core.io.formats import header_for

        return header_for(doc, frame)

    def _update_window_label(self) -> None:
        if self.controller.doc is None:
            self.window_label.setText("")
            return
        c = self.controller
        centre, width = c.window
        # A photo in its own window needs no level/width readout; one brightened by a right-drag does.
        shown = c.volume or (centre, width) != c.opening_window
        self.window_label.setText(f"L {centre:.4g}  W {width:.4g}" if shown else "")

    def _update_mask_label(self) -> None:
        fraction = self.controller.mask_fraction()
        self.mask_label.setText(f"Mask {fraction * 100:.2f}%" if fraction else "")

    # --- tools ---

    def set_tool(self, name: str) -> None:
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
        self.settings.set("overlay/color", color.name())
        self.presenter.set_overlay_style(QColor(color), self.settings.get("overlay/opacity"))

    def _on_overlay_opacity(self, opacity: float) -> None:
        self.settings.set("overlay/opacity", float(opacity))
        self.presenter.set_overlay_style(QColor(self.settings.get("overlay/color")), float(opacity))

    def _toggle_mask(self) -> None:
        self.set_show_mask(self.show_mask_action.isChecked())

    def set_show_mask(self, show: bool) -> None:
        self.canvas.show_mask = show
        with signals_blocked(self.tools.show_mask):
            self.tools.show_mask.setChecked(show)
        self.show_mask_action.setChecked(show)
        self.canvas.update()

    # --- window / level drags ---

    def _on_window_drag_begin(self) -> None:
        self._window_start = self.controller.window
        self.presenter.wl_dragging = True

    def _on_window_drag_end(self) -> None:
        self.presenter.wl_dragging = False
        self.presenter.schedule_base()  # the full-resolution rendering of the final window

    def _on_window_drag(self, dx: float, dy: float) -> None:
        centre, width = self._window_start
        k = self.controller.window_sensitivity()
        self.controller.set_window(centre + dy * k, max(width + dx * k, k))

    # --- compare ---

    def _toggle_split(self) -> None:
        self.presenter.split = self.split_action.isChecked()
        if self.presenter.split and not self.canvas.has_before():
            self.status.emit("Nothing to compare yet: run a repair first.")
        self.presenter.set_compare_mode()

    def _toggle_original(self) -> None:
        """Before/after, split view and difference map against the picture before every repair done
        (after several, they showed only the last one's change)."""
        self.presenter.against_original = self.original_action.isChecked()
        self.presenter.render_before()
        if self.split_action.isChecked() or self.diff_action.isChecked():
            return  # the view shows it
        # alone it changes what the comparisons will show: said, or it looks like it did nothing
        opened = "the picture as opened, before every repair"
        than = opened if self.presenter.against_original else "the picture before the last repair"
        self.status.emit(f"Split (C), Difference (D) and hold X now compare with {than}.")

    def _toggle_diff(self) -> None:
        if self.diff_action.isChecked() and self.uncertainty_action.isChecked():
            self.uncertainty_action.setChecked(False)
            self.presenter.show_uncertainty = False
        self.presenter.show_diff = self.canvas.show_diff = self.diff_action.isChecked()
        if self.canvas.show_diff and not self.canvas.has_before():
            self.status.emit("Nothing to compare yet: run a repair first.")
        self.presenter.render_before()

    def _toggle_uncertainty(self) -> None:
        """The uncertainty map of a fill on a scan, in the difference layer (one heat overlay at a time)."""
        on = self.uncertainty_action.isChecked()
        self.presenter.show_uncertainty = self.canvas.show_diff = on
        if on and getattr(self.controller.doc, "uncertainty", None) is None:
            self.status.emit("No fill uncertainty here: it is measured for fills on scans.")
        if on and self.diff_action.isChecked():
            self.diff_action.setChecked(False)
            self.presenter.show_diff = False
        self.presenter.render_before()

    # --- jobs ---

    def _run_requested(self, task: str, method: str, params: dict, options: dict) -> None:
        options = self._reviewed_scope(method, params, options)
        if options is not None:
            self.controller.run_repair(task, method, params, **options)

    def _reviewed_scope(self, method: str, params: dict, options: dict) -> dict | None:
        """The repair's options once the person has said whether a detector's proposal on slices of a
        scan not shown is filled too (None: cancelled)."""
        from core.errors import LacunaError
        from core.methods import get_method

        try:
            plan = self.controller.repair_plan(method, params, **options)
        except LacunaError:
            return options  # run_repair says why it cannot run
        if plan.mask is None:
            return options
        caveat, elsewhere = self.detection.unreviewed_slices(plan.mask, plan.frames)
        if not elsewhere:
            return options
        per_slice = get_method(method).card.operates_on != "volume"  # else it fills the series at once
        answer = dialogs.fill_unreviewed(self.context.window, caveat, len(elsewhere), per_slice)
        if answer == "current":
            return options | {"current_slice_only": True}
        if answer != "all":
            self.status.emit("Repair not started: check the proposal slice by slice, or fill this one only.")
            return None
        return options

    def _on_job_started(self, title: str) -> None:
        self._job_began_on = self.controller.doc  # a repair ends on a new document, a detection not
        self.progress.start(title)
        self.picker.set_busy(True)  # disables Run: its focus would drop into a parameter field
        self.canvas.setFocus()
        self.changed.emit()

    def _on_job_progress(self, report) -> None:
        self.progress.report(report)
        self.presenter.show_preview(report, self.controller.jobs.title)

    def _on_job_done(self, text: str) -> None:
        self._on_job_ended(text, True)
        repaired = self.controller.doc is not self._job_began_on
        if repaired and self.canvas.show_mask and self.controller.masks.any():
            # The fill is what matters now; the mask stays one key away.
            self.set_show_mask(False)
            self._hidden_for = self._seen_repair = self.controller.last_repair()
            outlined = " The changed pixels are outlined in amber." if self.canvas.marks is not None else ""
            self.status.emit(f"{text} Mask hidden — press M to show it, hold X to compare.{outlined}")
        else:  # what was done, in place of what was said before it (a walk-through saw it stay)
            self.status.emit(text)

    def _on_job_ended(self, text: str, done: bool) -> None:
        self.progress.finish(text, done)
        self.picker.set_busy(False)
        self.presenter.withdraw_preview()
        if not done:
            self.status.emit(text)
        self.changed.emit()

    # --- dialogs ---

    def load_mask_dialog(self) -> None:
        dialogs.load_mask(self.context.window, self.controller)

    def save_mask_dialog(self) -> None:
        dialogs.save_mask(self.context.window, self.controller)

    def export_dialog(self) -> None:
        path = dialogs.export_path(self.context.window, self.controller)
        if path:
            self.export_view(path)

    def export_view(self, path: str | Path) -> bool:
        ok = self.canvas.grab().save(str(path), "PNG")
        if ok:
            self.status.emit(f"View exported to {path}")
        else:
            self.error.emit(f"Could not write {path}.")
        return ok

    def widget_point(self, x: float, y: float):
        """The canvas point of image pixel (x, y) (tests and scripted screenshots)."""
        return self.canvas.to_widget(QPointF(x, y)).toPoint()

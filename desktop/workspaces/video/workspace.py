"""The video workspace: a player with the damage on its timeline, frame stepping, range repairs.

Its views: the `VideoPanel` in the middle (frame, timeline, transport) and a Repair dock: Detect damage
(the shared panel) and the mask's tools (brush, eraser, show, clear), the shared method picker with the
video tasks and the image methods that run frame by frame over the range, and the shared progress
panel. Saving, naming and the unsaved-change prompt are the session's and the
shell's; the codec follows the file name (FFV1 for .mkv, H.264 for .mp4). A save is a job of the
session's (`writer`): its progress and Cancel are this workspace's progress panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.detect_panel import DetectPanel, connect_panel
from desktop.widgets.method_picker import MethodPicker
from desktop.widgets.progress_panel import ProgressPanel
from desktop.workspace import Context, JobWorkspace
from desktop.workspaces.video.controller import TASKS, VideoController
from desktop.workspaces.video.detect import VideoDetection
from desktop.workspaces.video.views import VideoPanel


class VideoWorkspace(JobWorkspace):
    def __init__(self, context: Context):
        super().__init__(context)
        self.controller = c = VideoController(self.session, self.settings, self)
        self._failure: str | None = None  # a repair's refusal on screen, withdrawn by a later success
        self.panel = VideoPanel(c)
        # One dock, its tools scrolling when the window is short: the method's parameter fields were
        # squashed to a few pixels (a walk-through), and a second dock left the methods too narrow
        # in a 1024-pixel window (the next one). The progress stays in view below.
        tools = QWidget()
        layout = QVBoxLayout(tools)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picker, self.progress = MethodPicker(), ProgressPanel()
        self.picker.run_button.setText("Repair frames")
        self.detect_panel = DetectPanel()
        layout.addWidget(self.detect_panel)
        layout.addWidget(self._mask_tools())
        layout.addWidget(self.picker, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(tools)
        # as wide as its content needs: a scroll area alone lets the dock shrink and clip it
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(tools.minimumSizeHint().width() + bar)
        repair = QWidget()
        layout = QVBoxLayout(repair)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        # below the scrolling tools, always in view (walk-through 45: after a detection it had
        # scrolled out of a 1000-pixel window)
        pinned = QHBoxLayout()
        pinned.setContentsMargins(8, 4, 8, 0)  # lined up with the tools and the progress
        pinned.addWidget(self.picker.run_button)
        layout.addLayout(pinned)
        layout.addWidget(self.progress)
        self.repair_dock = self.dock("Repair", repair, Qt.DockWidgetArea.RightDockWidgetArea, "video-repair")
        self.action("View", "&Next Frame", lambda: c.step(1), ["Right"])
        self.action("View", "&Previous Frame", lambda: c.step(-1), ["Left"])
        self.action("View", "&First Frame", c.first, ["Home"])
        self.action("View", "&Last Frame", c.last, ["End"])
        self.action("View", "&Play / Stop", self.panel.play_or_stop, ["Space"])
        self.split_action = self.action("View", "&Split Before/After", self._toggle_split, ["C"], True)
        self.diff_action = self.action("View", "&Difference Map", self._toggle_diff, ["D"], checkable=True)
        # no key: O ends a range here
        self.original_action = self.action(
            "View", "Compare with the &Original", self._toggle_original, (), True
        )
        self.action("View", "Next &Damage", lambda: c.next_damage(True), ["Ctrl+Right"])
        self.action("View", "Previous D&amage", lambda: c.next_damage(False), ["Ctrl+Left"])
        self.action("Edit", "Range &Start Here", c.mark_in, ["I"])
        self.action("Edit", "Range &End Here", c.mark_out, ["O"])
        self.action("Edit", "&Clear Range", lambda: c.set_selection(None), ["Escape"])
        self.action("Repair", "&Repair Frames", self.picker.request_run, ["Ctrl+Return", "Ctrl+Enter"])
        self.action("Repair", "&Find Damage", c.find_damage)
        self.detection = VideoDetection(c, self)
        c.mask_origin = self.detection.origin  # a repair's history then says where its mask came from
        c.mask_per_frame = self.detection.per_frame
        self._fill_detectors = connect_panel(self, self.detect_panel, self.detection, lambda: "frame")
        self._connect()

    def _mask_tools(self) -> QGroupBox:
        """Brush and eraser (click again to put them down), their size, show and clear the mask."""
        box = QGroupBox("Mask (the range, else this frame)")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.tool_buttons = QButtonGroup(box)
        self.tool_buttons.setExclusive(False)
        for name in ("brush", "eraser"):
            button = QPushButton(name.capitalize())
            button.setCheckable(True)
            button.setObjectName(name)
            self.tool_buttons.addButton(button)
            row.addWidget(button)
        self.tool_buttons.buttonToggled.connect(self._tool_toggled)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.controller.clear_mask)
        row.addWidget(clear)
        layout.addLayout(row)
        self.brush_size = QSlider(Qt.Orientation.Horizontal)
        self.brush_size.setRange(1, 64)
        self.brush_size.setValue(self.controller.brush_radius)
        self.brush_size.setToolTip("Brush and eraser radius, in frame pixels")
        self.brush_size.valueChanged.connect(lambda v: setattr(self.controller, "brush_radius", v))
        size = QHBoxLayout()  # named: a bare slider under the tools said nothing (walk-through 52)
        size.addWidget(QLabel("Size"))
        size.addWidget(self.brush_size, 1)
        layout.addLayout(size)
        self.show_mask = QCheckBox("Show mask")
        self.show_mask.setChecked(True)
        self.show_mask.toggled.connect(self.set_show_mask)
        layout.addWidget(self.show_mask)
        return box

    def _tool_toggled(self, button, checked: bool) -> None:
        if checked:  # one tool at a time
            for other in self.tool_buttons.buttons():
                if other is not button:
                    other.setChecked(False)
        on = [b.objectName() for b in self.tool_buttons.buttons() if b.isChecked()]
        self.panel.frame_view.tool = on[0] if on else None

    def _hide_mask_after_repair(self, text: str) -> None:
        """The frames repaired are what matters now (the mask drawn over them hid the result); the
        mask stays one click away."""
        from desktop.workspaces.video.controller import RepairEdit

        top = self.session.history.peek_undo(None)
        mask = self.controller.mask
        if top is not None and isinstance(top.payload, RepairEdit) and mask is not None and mask.any():
            if self.show_mask.isChecked():
                self.set_show_mask(False)
                self.status.emit(f"{text} Mask hidden: tick Show mask to see it again.")

    def _job_failed(self, text: str) -> None:
        self._failure = text
        self.error.emit(text)

    def _withdraw_failure(self, _text: str = "") -> None:
        """A refusal stays on screen until a later repair succeeds (walk-through 42: "nothing to
        rebuild" stood over four successful repairs)."""
        if self._failure:
            self.withdrawn.emit(self._failure)
            self._failure = None

    def set_show_mask(self, show: bool) -> None:
        self.show_mask.setChecked(show)
        self.panel.frame_view.show_mask = bool(show)
        self.panel.frame_view.update()

    def _connect(self) -> None:
        c, jobs = self.controller, self.controller.jobs
        c.error.connect(self.error)
        c.warning.connect(self.warning)
        c.withdrawn.connect(self.withdrawn)
        c.status.connect(self.status)
        c.document_shown.connect(self.changed)
        self.picker.run_requested.connect(lambda task, method, params, _o: c.repair(task, method, params))
        self.progress.cancel_requested.connect(self.cancel)
        for runner in (jobs, self.session.writer):
            runner.started.connect(self._on_started)
            runner.progress.connect(self.progress.report)
            runner.succeeded.connect(lambda text: self._on_ended(text, True))
            runner.failed.connect(lambda text: self._on_ended(text, False))
            runner.cancelled.connect(lambda text: self._on_ended(text, False))
        jobs.failed.connect(self._job_failed)  # the session reports a failed save itself
        jobs.succeeded.connect(self._withdraw_failure)
        jobs.succeeded.connect(self._hide_mask_after_repair)
        # The damage scan runs beside repairs (a long clip takes a while): its progress is a line
        # under the timeline, and it never locks the method picker.
        c.scanner.progress.connect(lambda report: self.panel.set_scan_text(report.message))
        for ended in (c.scanner.succeeded, c.scanner.failed, c.scanner.cancelled):
            ended.connect(lambda _text: self.panel.set_scan_text(""))
        c.scanner.failed.connect(self.error)

    @property
    def view(self) -> QWidget:
        return self.panel

    def show_document(self, new: bool) -> None:
        if not new:
            return  # a repair or an undo: the controller has already shown it
        from core.methods import methods

        cards = [card for task in TASKS for card in methods(task)]
        self.picker.set_cards(cards, kind="video", task_order=TASKS)  # mask-free video tasks first
        self.fit_dock_to_picker(self.repair_dock, self.picker)
        self.progress.hide_panel()  # the last clip's repair or save is not this one's
        self.controller.show_new_document()
        self._fill_detectors(new=True)

    def describe(self) -> str:
        doc = self.controller.doc
        if doc is None:
            return ""
        info = doc.info
        return (
            f"{info.width}×{info.height}, {doc.frame_count} frames, {float(info.rate):.3f} fps, {info.codec}"
        )

    def cancel(self) -> None:
        """Cancel the save if one runs (nothing is written), else the repair or scan."""
        if self.session.writer.busy:
            self.session.writer.cancel()
        else:
            self.controller.cancel()

    def set_compare(self, before: bool) -> None:
        self.controller.set_before(before)

    def _toggle_split(self, on: bool) -> None:
        self.diff_action.setChecked(False)
        self.panel.set_compare("split" if on else "")

    def _toggle_original(self, on: bool) -> None:
        """Split, Difference and hold X against the clip as opened, before every repair."""
        self.controller.against_original = on
        self.panel.refresh()
        than = "the clip as opened, before every repair" if on else "the clip before the last repair"
        self.status.emit(f"Split (C), Difference (D) and hold X now compare with {than}.")

    def _toggle_diff(self, on: bool) -> None:
        self.split_action.setChecked(False)
        self.panel.set_compare("difference" if on else "")

    def deactivate(self) -> None:
        self.panel.stop()
        self.controller.jobs.drop()
        self.controller.scanner.drop()
        self.controller.previewer.drop()

    def shutdown(self, timeout: float) -> bool:
        self.panel.stop()
        return self.controller.shutdown(timeout)

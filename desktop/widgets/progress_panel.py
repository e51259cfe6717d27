"""Progress of a repair: a bar, the method's message, the time left and a Cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {max(seconds, 1)} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"about {minutes} min {seconds:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min left"


class ProgressPanel(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.title)
        row = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setFormat("%p%")
        row.addWidget(self.bar, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the repair (Esc); the image stays as it was")
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        info = QHBoxLayout()
        self.message = QLabel()
        self.message.setStyleSheet("color: #a9adb4;")
        self.message.setWordWrap(True)  # a long outcome (device, fallback notes) never widens the dock
        self.eta = QLabel()
        self.eta.setStyleSheet("color: #a9adb4;")
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight)
        info.addWidget(self.message, 1)
        info.addWidget(self.eta)
        layout.addLayout(info)
        self._started = 0.0
        self._title = ""
        self.setVisible(False)

    def start(self, title: str) -> None:
        self._started = time.monotonic()
        self._title = title
        self.title.setText(f"{title}…")
        self.bar.setValue(0)
        self.bar.setRange(0, 0)  # busy until the first report (loading a model can take a while)
        self.message.setText("Starting…")
        self.eta.setText("")
        self.cancel_button.setEnabled(True)
        self.bar.setVisible(True)
        self.setVisible(True)

    def report(self, progress) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(round(progress.fraction * 1000)))
        if progress.message:
            self.message.setText(progress.message)
        self.eta.setText(format_eta(progress.eta))

    @property
    def running(self) -> bool:
        return self.isVisible() and self.cancel_button.isEnabled()

    def finish(self, text: str, done: bool) -> None:
        """Keep the outcome on show (the bar full when it finished) until the next run. A run that
        failed or was cancelled leaves no bar: the share it had reached means nothing now (a
        walk-through saw a refused save stand at "4%" under its error)."""
        elapsed = time.monotonic() - self._started
        self.bar.setRange(0, 1000)
        if done:
            self.bar.setValue(1000)
        self.bar.setVisible(done)
        self.cancel_button.setEnabled(False)
        self.title.setText(self._title)
        self.message.setText(text)
        self.eta.setText(f"{elapsed:.1f} s")

    def hide_panel(self) -> None:
        self.setVisible(False)

"""A bar at the top of the view for messages that must not be missed (errors, restore offers)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class NoticeBar(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("notice")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel("⚠")
        self.icon.setStyleSheet("font-size: 15px;")
        layout.addWidget(self.icon)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.setVisible(False)

    def show_message(self, text: str, level: str = "error") -> None:
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon.setText("⚠" if level == "error" else "ℹ")
        self.label.setText(text)
        self.setVisible(True)

    def withdraw(self, text: str) -> None:
        """Hide the bar if it still says `text` (and not something said since)."""
        if self.isVisible() and self.label.text() == text:
            self.setVisible(False)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

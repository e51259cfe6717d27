"""A dark theme in the manner of 3D Slicer and iZotope RX: Fusion, a neutral palette, one accent."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor(58, 140, 220)

STYLE = """
QMainWindow::separator { background: #1b1c1f; width: 3px; height: 3px; }
QDockWidget { titlebar-close-icon: none; font-weight: 600; }
QDockWidget::title { background: #2a2c30; padding: 5px 8px; border-bottom: 1px solid #18191b; }
QToolBar { background: #2a2c30; border: none; spacing: 2px; padding: 2px; }
QToolButton { padding: 4px; border-radius: 4px; }
QToolButton:checked { background: #3a8cdc; color: white; }
QToolButton:hover:!checked { background: #3a3d42; }
QGroupBox { border: 1px solid #3a3d42; border-radius: 5px; margin-top: 14px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #a9adb4; }
QStatusBar { background: #202124; color: #c8cbd0; }
QStatusBar QLabel { padding: 0 8px; }
QProgressBar { border: 1px solid #3a3d42; border-radius: 4px; background: #1b1c1f; text-align: center;
               height: 16px; }
QProgressBar::chunk { background: #3a8cdc; border-radius: 3px; }
QTreeWidget, QTreeView { background: #1f2023; alternate-background-color: #25272a; }
QFrame#notice { background: #5a2a2a; border: 1px solid #8a3a3a; border-radius: 4px; }
QFrame#notice[level="info"] { background: #233a52; border-color: #2f5d8a; }
QLabel#cardTitle { font-size: 13px; font-weight: 600; }
QLabel.badge { border-radius: 3px; padding: 1px 6px; font-size: 10px; font-weight: 700; }
QPushButton#runButton { background: #3a8cdc; color: white; font-weight: 600; padding: 6px 14px;
                        border-radius: 4px; }
QPushButton#runButton:disabled { background: #34373c; color: #7b7f86; }
QPushButton#runButton:hover:!disabled { background: #4a9cec; }
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    window, base, text = QColor(43, 45, 49), QColor(31, 32, 35), QColor(222, 224, 228)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(37, 39, 42))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(50, 52, 56))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(52, 55, 60))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, ACCENT.lighter(130))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 134, 140))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 123, 128))
    app.setPalette(p)
    app.setStyleSheet(STYLE)

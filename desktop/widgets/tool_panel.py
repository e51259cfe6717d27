"""The mask tools: brush, eraser, rectangle, lasso and fill; brush size and hardness; mask actions."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledSlider

from desktop.icons import icon

TOOL_INFO = {
    "brush": ("Brush", "B", "Paint the damage. [ and ] change the size; Alt paints as the eraser."),
    "eraser": ("Eraser", "E", "Remove paint from the mask."),
    "rect": ("Rectangle", "R", "Drag a rectangle; hold Alt to subtract."),
    "lasso": ("Lasso", "L", "Draw a closed outline; hold Alt to subtract."),
    "fill": ("Fill", "G", "Fill the clicked region of the mask, or similar pixels with a tolerance."),
}

MAX_SIZE = 1000


class ToolPanel(QWidget):
    tool_changed = Signal(str)
    size_changed = Signal(float)  # brush diameter in image pixels
    hardness_changed = Signal(float)  # 0..1
    tolerance_changed = Signal(float)
    color_changed = Signal(QColor)
    opacity_changed = Signal(float)
    show_mask_toggled = Signal(bool)
    invert_requested = Signal()
    clear_requested = Signal()
    grow_requested = Signal(int)
    shrink_requested = Signal(int)
    load_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.setSpacing(10)

        tools = QGroupBox("Tool")
        row = QHBoxLayout(tools)
        row.setSpacing(4)
        self.tool_buttons: dict[str, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        for name, (title, key, tip) in TOOL_INFO.items():
            button = QToolButton()
            button.setIcon(icon(name))
            button.setIconSize(QSize(26, 26))
            button.setCheckable(True)
            button.setToolTip(f"<b>{title}</b> ({key})<br>{tip}")
            button.setAccessibleName(title)
            button.clicked.connect(lambda _=False, n=name: self._tool_clicked(n))
            self._group.addButton(button)
            self.tool_buttons[name] = button
            row.addWidget(button)
        row.addStretch(1)
        layout.addWidget(tools)

        brush = QGroupBox("Brush")
        form = QFormLayout(brush)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.size_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, MAX_SIZE)
        self.size_slider.setToolTip("Brush diameter in image pixels ( [ and ] )")
        self.size_slider.valueChanged.connect(self._size_moved)
        form.addRow("Size", self.size_slider)
        self.hardness_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.hardness_slider.setRange(0, 100)
        self.hardness_slider.setToolTip("100 = hard edge; lower values feather the edge (blended repair)")
        self.hardness_slider.valueChanged.connect(self._hardness_moved)
        form.addRow("Hardness %", self.hardness_slider)
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0, 1e6)
        self.tolerance.setDecimals(1)
        self.tolerance.setSpecialValueText("mask region")
        self.tolerance.setToolTip(
            "Fill tool: 0 fills the clicked region of the mask; above 0 fills\n"
            "connected pixels whose value is within this distance (file units)"
        )
        self.tolerance.valueChanged.connect(self.tolerance_changed)
        form.addRow("Fill tolerance", self.tolerance)
        layout.addWidget(brush)

        mask = QGroupBox("Mask")
        grid = QGridLayout(mask)
        self.show_mask = QCheckBox("Show (M)")
        self.show_mask.setChecked(True)
        self.show_mask.toggled.connect(self.show_mask_toggled)
        grid.addWidget(self.show_mask, 0, 0)
        self.color_button = QPushButton()
        self.color_button.setToolTip("Overlay colour")
        self.color_button.setFixedWidth(44)
        self.color_button.clicked.connect(self._pick_color)
        grid.addWidget(self.color_button, 0, 1)
        self.opacity_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(5, 100)
        self.opacity_slider.setToolTip("Overlay opacity %")
        self.opacity_slider.valueChanged.connect(self._opacity_moved)
        # Named: a bare "50" above the detector's "Sensitivity 50" read as a second sensitivity
        # (walk-through 52).
        opacity = QHBoxLayout()
        opacity.addWidget(QLabel("Opacity %"))
        opacity.addWidget(self.opacity_slider, 1)
        grid.addLayout(opacity, 1, 0, 1, 2)

        self.invert_button = QPushButton("Invert")
        self.invert_button.setToolTip("Invert the mask of this slice (Ctrl+I)")
        self.invert_button.clicked.connect(self.invert_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear the mask of this slice (Delete)")
        self.clear_button.clicked.connect(self.clear_requested)
        grid.addWidget(self.invert_button, 2, 0)
        grid.addWidget(self.clear_button, 2, 1)
        self.grow_pixels = QSpinBox()
        self.grow_pixels.setRange(1, 200)
        self.grow_pixels.setValue(3)
        self.grow_pixels.setSuffix(" px")
        grow = QPushButton("Grow")
        grow.clicked.connect(self._grow_clicked)
        shrink = QPushButton("Shrink")
        shrink.clicked.connect(self._shrink_clicked)
        grid.addWidget(grow, 3, 0)
        grid.addWidget(shrink, 3, 1)
        grid.addWidget(self.grow_pixels, 4, 0, 1, 2)
        load = QPushButton("Load…")
        load.clicked.connect(self.load_requested)
        save = QPushButton("Save…")
        save.clicked.connect(self.save_requested)
        grid.addWidget(load, 5, 0)
        grid.addWidget(save, 5, 1)
        layout.addWidget(mask)
        self._document_buttons = (self.invert_button, self.clear_button, grow, shrink, load, save)
        self.set_document_open(False)
        self.set_color(QColor(255, 59, 48))

    def set_document_open(self, is_open: bool) -> None:
        """The mask's buttons act on an open document's mask: greyed out while none is open."""
        for button in self._document_buttons:
            button.setEnabled(is_open)

    # Slots return None: PySide6 6.12 releases a Python slot's return value once too often.
    def _size_moved(self, value: int) -> None:
        self.size_changed.emit(float(value))

    def _hardness_moved(self, value: int) -> None:
        self.hardness_changed.emit(value / 100.0)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_changed.emit(value / 100.0)

    def _grow_clicked(self) -> None:
        self.grow_requested.emit(self.grow_pixels.value())

    def _shrink_clicked(self) -> None:
        self.shrink_requested.emit(self.grow_pixels.value())

    def _tool_clicked(self, name: str) -> None:
        self.tool_changed.emit(name)

    def set_tool(self, name: str) -> None:
        self.tool_buttons[name].setChecked(True)

    def set_size(self, diameter: float) -> None:
        self.size_slider.setValue(int(round(min(max(diameter, 1), MAX_SIZE))))

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        self.color_button.setStyleSheet(
            f"background: {self._color.name()}; border: 1px solid #111; border-radius: 3px; min-height: 18px;"
        )

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Mask overlay colour")
        if color.isValid():
            self.set_color(color)
            self.color_changed.emit(color)

"""A read-only tree of the DICOM dataset of the current slice, with a filter."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

MAX_VALUE_CHARS = 200


def _value_text(element) -> str:
    if element.VR in ("OB", "OW", "OF", "OD", "UN", "OL", "OV") or element.tag == 0x7FE00010:
        length = len(element.value) if element.value is not None else 0
        return f"<{length} bytes>"
    text = str(element.value) if element.value is not None else ""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


class DicomTagPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter tags (name, keyword or value)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        layout.addWidget(self.filter)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Tag", "Name", "VR", "Value"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        layout.addWidget(self.tree)
        self._dataset = None

    def set_dataset(self, dataset) -> None:
        """Show a pydicom Dataset (or None); rebuilt only when it is another object."""
        if dataset is self._dataset:
            return
        self._dataset = dataset
        self.tree.clear()
        if dataset is None:
            self.tree.addTopLevelItem(QTreeWidgetItem(["", "No DICOM dataset for this document", "", ""]))
            return
        self._add(self.tree.invisibleRootItem(), dataset)
        for column in range(3):
            self.tree.resizeColumnToContents(column)
        # Long tag names must not push the values out of a narrow dock.
        self.tree.setColumnWidth(1, min(self.tree.columnWidth(1), 170))
        self._apply_filter(self.filter.text())

    def _add(self, parent: QTreeWidgetItem, dataset) -> None:
        for element in dataset:
            tag = f"({element.tag.group:04X},{element.tag.element:04X})"
            name = element.name
            if element.VR == "SQ":
                item = QTreeWidgetItem([tag, name, "SQ", f"{len(element.value)} item(s)"])
                parent.addChild(item)
                for n, child in enumerate(element.value):
                    child_item = QTreeWidgetItem(["", f"Item {n + 1}", "", ""])
                    item.addChild(child_item)
                    self._add(child_item, child)
            else:
                parent.addChild(QTreeWidgetItem([tag, name, str(element.VR), _value_text(element)]))

    def _apply_filter(self, text: str) -> None:
        text = text.strip().lower()
        root = self.tree.invisibleRootItem()
        for i in range(root.childCount()):
            self._filter_item(root.child(i), text)

    def _filter_item(self, item: QTreeWidgetItem, text: str) -> bool:
        own = not text or any(text in item.text(c).lower() for c in range(4))
        child_match = False
        for i in range(item.childCount()):
            child_match = self._filter_item(item.child(i), text if not own else "") or child_match
        visible = own or child_match
        item.setHidden(not visible)
        return visible

"""File ▸ Series: the series a DICOM folder holds; choosing one opens it instead of the largest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu


def series_label(item: dict) -> str:
    """'28 slices, 512×512 CT, HEAD 4mm' for one series of the folder."""
    count = item.get("files", 0)
    size = f"{item.get('rows')}×{item.get('columns')} {item.get('modality', '')}".strip()
    text = f"{count} slice{'s' if count != 1 else ''}, {size}"
    description = str(item.get("description", "")).strip()
    return f"{text}, {description}" if description else text


class SeriesMenu:
    def __init__(self, menu: QMenu, open_series: Callable[[Path, int], None]):
        self.menu = menu
        self.open_series = open_series
        self.menu.setEnabled(False)

    def update(self, doc) -> str:
        """List the open folder's series (the one shown checked); a status line when there are several."""
        self.menu.clear()
        metadata = getattr(doc, "metadata", None) or {}
        series = metadata.get("series") or []
        self.menu.setEnabled(len(series) > 1 and doc.path is not None)
        if len(series) < 2 or doc.path is None:
            return ""
        current = int(metadata.get("series_index", 0))
        group = QActionGroup(self.menu)
        for index, item in enumerate(series):
            action = self.menu.addAction(series_label(item))
            action.setCheckable(True)
            action.setChecked(index == current)
            group.addAction(action)
            action.triggered.connect(lambda _=False, i=index, p=Path(doc.path): self.open_series(p, i))
        return (
            f"This folder holds {len(series)} series; showing {series_label(series[current])} (File ▸ Series)"
        )

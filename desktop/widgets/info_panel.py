"""What the open document is: file, size, modality, spacing, value range and what was done to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget


class InfoPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 8)
        box = QGroupBox("Image")
        self.form = QFormLayout(box)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QLabel] = {}
        for name in ("File", "Size", "Kind", "Pixel", "Slices", "Values", "History"):
            label = QLabel("—")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setStyleSheet("color: #c8cbd0;")
            self.fields[name] = label
            self.form.addRow(name, label)
        layout.addWidget(box)

    def set_document(self, doc) -> None:
        f = self.fields
        if getattr(doc, "pixels", None) is None:
            for label in f.values():
                label.setText("—")
            return
        frames, h, w, c = doc.pixels.shape
        f["File"].setText(Path(doc.path).name if doc.path is not None else "untitled")
        f["File"].setToolTip(str(doc.path or ""))
        size = f"{w} × {h}"
        if frames > 1:
            from core.io.describe import stack_size

            noun = "slices" if doc.kind == "volume" else "pages"
            size += f" × {stack_size(frames, getattr(doc, 'time_points', 1), noun)}"
        f["Size"].setText(size)
        if doc.kind == "volume":
            inverted = "inverted (MONOCHROME1)" if doc.photometric == "MONOCHROME1" else ""
            f["Kind"].setText(", ".join(p for p in (doc.modality, doc.format, inverted) if p))
            f["Pixel"].setText(pixel_text(doc))
            f["Slices"].setText(slices_text(doc))
        else:
            f["Kind"].setText(f"{doc.format} {doc.mode}, {doc.dtype}")
        for row in ("Pixel", "Slices"):  # a photo's pixels have no size in mm, its pages no spacing
            self.form.setRowVisible(f[row], doc.kind == "volume")
        lo, hi = float(doc.pixels.min()), float(doc.pixels.max())
        unit = " HU" if getattr(doc, "modality", "") == "CT" else ""
        if doc.kind == "image" and np.dtype(getattr(doc, "dtype", "float32")).kind in "iu":
            lo, hi = round(lo), round(hi)  # a repair's values as saved (a walk-through saw 78.5979 … 255)
        f["Values"].setText(f"{lo:.6g} … {hi:.6g}{unit}")
        steps = [p.method for p in doc.provenance]
        # One step a line: wrapped by the label, the second line was cut off (walk-through 52).
        f["History"].setText(" →\n".join(steps) if steps else "original")


# Each on its own short line: a wrapped line is cut off in the narrow panel.
def pixel_text(doc) -> str:
    """'0.488 × 0.488 mm'; 'unknown' where the file does not say, never a made-up 1 mm."""
    from core.io.describe import spacing_known

    (_, row, col), (_, pixel_known, _) = doc.spacing, spacing_known(doc)
    return f"{col:.3g} × {row:.3g} mm" if pixel_known else "unknown"


def slices_text(doc) -> str:
    """'4 mm apart'; for an uneven series how far apart its slices really are ('1.08–7 mm apart')."""
    from core.io.describe import slice_steps, spacing_known

    if doc.pixels.shape[0] <= 1:
        return "—"
    if not spacing_known(doc)[0]:
        return "spacing unknown"
    uneven = slice_steps(doc)
    if uneven is not None:
        apart = f"{uneven[0]:.3g}–{uneven[1]:.3g} mm apart"
    else:
        apart = f"{doc.spacing[0]:.3g} mm apart"
    tilt = (getattr(doc, "metadata", None) or {}).get("gantry_tilt_degrees")
    return f"{apart}, tilt {tilt:g}°" if tilt else apart  # a tilted series' slices are sheared

"""The image workspace's file dialogs: load and save a mask, export the view."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

MASK_FILTER = "Masks (*.png *.tif *.tiff *.npy *.npz *.nii *.nii.gz);;All (*)"


def _start_dir(controller) -> Path:
    doc = controller.doc
    return Path(doc.path).parent if doc is not None and doc.path is not None else Path.home()


def load_mask(parent: QWidget, controller) -> None:
    if controller.doc is None:
        return
    path, _ = QFileDialog.getOpenFileName(parent, "Load mask", str(_start_dir(controller)), MASK_FILTER)
    if path:
        controller.load_mask(path)


def save_mask(parent: QWidget, controller) -> None:
    doc = controller.doc
    if doc is None:
        return
    default = _start_dir(controller) / "mask.png"
    if doc.path is not None:
        default = Path(doc.path).with_name(Path(doc.path).stem + "_mask.png")
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save mask", str(default), "PNG (*.png);;TIFF (*.tif);;All (*)"
    )
    if path:
        controller.save_mask(path)


def export_path(parent: QWidget, controller) -> str:
    default = _start_dir(controller) / "view.png"
    path, _ = QFileDialog.getSaveFileName(parent, "Export view as PNG", str(default), "PNG (*.png)")
    return path

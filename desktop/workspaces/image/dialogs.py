"""The image workspace's dialogs: load and save a mask, export the view, and the question before a
detector's proposal is filled on slices of a scan not looked at."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

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


def fill_unreviewed(parent: QWidget, caveat: str, elsewhere: int, one_slice_possible: bool) -> str:
    """ "all", "current" (the slice shown only) or "" (cancelled): whether a repair fills a detector's
    proposal on `elsewhere` slices of a scan besides the one shown. Cancel is the default, so a
    stray Enter fills nothing; the command line asks for --unreviewed alike."""
    slices = f"{elsewhere} other slice{'s' if elsewhere > 1 else ''}"
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Fill the proposal unreviewed?",
        f"This repair would also fill what Detect damage proposed on {slices}, not only on the one"
        f" shown.\n\n{caveat[:1].upper()}{caveat[1:]}.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    everywhere = box.addButton(f"Fill {slices} too", QMessageBox.ButtonRole.AcceptRole)
    here = box.addButton("This slice only", QMessageBox.ButtonRole.AcceptRole) if one_slice_possible else None
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return "all" if clicked is everywhere else "current" if here is not None and clicked is here else ""

"""The shell's questions and file dialogs. Each returns the answer; none changes any state."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def open_filter() -> str:
    """The Open dialog's filters, from core's format registry: every readable file, then one filter
    per format family (a new format shows up here without an edit)."""
    from core.io.formats import formats

    families = [(fmt.title, " ".join(f"*{ext}" for ext in fmt.extensions if ext)) for fmt in formats()]
    everything = " ".join(patterns for _, patterns in families if patterns)
    rows = [f"Documents ({everything})"]
    rows += [f"{title} ({patterns})" for title, patterns in families if patterns]
    return ";;".join([*rows, "All files (*)"])


def confirm_discard(parent: QWidget, saving: bool = False) -> bool:
    """Whether the person gives up a repair not saved; a save still running is named (it is
    cancelled with it, nothing written; a walk-through did not know)."""
    text = "The repaired document has not been saved. Discard it?"
    if saving:
        text = (
            "The repaired document is still being saved. Discarding it cancels the save: nothing is written."
        )
    answer = QMessageBox.question(
        parent,
        "Discard the repair?",
        text,
        QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Discard


def ask_restore(parent: QWidget, journal) -> bool:
    when = datetime.fromtimestamp(journal.saved).strftime("%Y-%m-%d %H:%M")
    answer = QMessageBox.question(
        parent,
        "Restore mask edits?",
        f"Lacuna was not closed properly while {journal.source.name} was being edited.\n\n"
        f"Restore the mask and its undo history ({journal.count} autosaved steps, last at {when})?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


def open_file(parent: QWidget, start: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open", start, open_filter())
    return path


def open_folder(parent: QWidget, start: str) -> str:
    return QFileDialog.getExistingDirectory(
        parent, "Open a folder: a DICOM series or a film's numbered frames", start
    )


def weights_file(parent: QWidget, start: str) -> str:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Import weights (a .safetensors file from lacuna train)", start, "Weights (*.safetensors)"
    )
    return path


def confirm_replace_weights(parent: QWidget, name: str) -> bool:
    return _confirm(
        parent,
        "Replace weights?",
        f"Your weights folder already has {name}. Replace it with the imported file?",
    )


def _confirm(parent: QWidget, title: str, question: str) -> bool:
    """A yes/cancel question, Cancel the default: nothing is replaced by a stray Enter."""
    answer = QMessageBox.question(
        parent,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def save_file(parent: QWidget, default: str, original: Path | None = None) -> str:
    """The name to save under ("" when cancelled). The original's own name is turned down before
    anyone is asked to replace it, and the dialog opens again; another existing file is replaced
    only when the person says so."""
    while True:
        path, _ = QFileDialog.getSaveFileName(
            parent,
            "Save the result (the original is never overwritten)",
            default,
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if not path:
            return ""
        default = path
        if original is not None and Path(path).resolve() == Path(original).resolve():
            QMessageBox.information(
                parent,
                "Choose another name",
                f"{Path(path).name} is the original, and Lacuna never overwrites it: choose another name.",
            )
            continue
        name = Path(path).name
        if not Path(path).exists() or _confirm(
            parent, "Replace file?", f"{name} already exists. Replace it with the result?"
        ):
            return path


def about(parent: QWidget) -> None:
    from core.version import __version__

    QMessageBox.about(
        parent,
        "About Lacuna",
        f"<b>Lacuna {__version__}</b><br>Repairs photos, medical scans and audio locally and offline."
        "<br><br>Repaired output is always labelled, and saved as a new file beside the original.",
    )


def start_dir(doc_path: Path | None, recent: list[str]) -> str:
    if doc_path is not None:
        return str(Path(doc_path).parent)
    return str(Path(recent[0]).parent) if recent else str(Path.home())

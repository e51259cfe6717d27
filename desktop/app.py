"""The QApplication, the global exception hook and `main()`, called by `lacuna` and `lacuna open FILE`."""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence

from PySide6.QtCore import QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

_open_dialogs: list[QMessageBox] = []


def show_unexpected_error(exc_type, exc, tb) -> None:
    """Unexpected errors (bugs) are printed and shown in a dialog; the window stays alive."""
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(details)
    app = QApplication.instance()
    if app is None or issubclass(exc_type, KeyboardInterrupt):
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", f"{exc_type.__name__}: {exc}")
    box.setInformativeText(
        "Lacuna hit an internal error. Your document is unchanged; the mask is autosaved. "
        "Please report the details below."
    )
    box.setDetailedText(details)
    box.finished.connect(lambda _=0, b=box: _open_dialogs.remove(b) if b in _open_dialogs else None)
    _open_dialogs.append(box)
    box.open()  # not exec(): an error inside a modal loop must not stack more loops


def install_exception_hook() -> None:
    sys.excepthook = show_unexpected_error


_QUIET = ("propagateSizeHints",)  # harmless notices of Qt's offscreen platform plugin


def _qt_messages(mode, context, message: str) -> None:
    if not any(text in message for text in _QUIET):
        sys.stderr.write(message + "\n")


def create_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_messages)
        app = QApplication([sys.argv[0] if sys.argv else "lacuna"])
    app.setOrganizationName("Lacuna")
    app.setApplicationName("Lacuna")
    app.setApplicationDisplayName("Lacuna")
    from desktop.theme import apply_dark_theme

    apply_dark_theme(app)
    return app


def main(argv: Sequence[str] | None = None, quit_after_ms: int | None = None) -> int:
    """Start the desktop app, on `argv[0]` if given; close after `quit_after_ms` (smoke checks)."""
    argv = list(argv or [])
    report = os.environ.get("LACUNA_STARTUP_REPORT")
    app = create_app()
    install_exception_hook()
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C in the terminal quits

    from desktop.shell import MainWindow

    # A timed smoke run must never stop on a restore question or touch the user's autosaves.
    window = MainWindow(autosave=quit_after_ms is None)
    window.show()
    if report:
        QTimer.singleShot(0, lambda: print(f"LACUNA_WINDOW_SHOWN {time.time():.3f}", flush=True))

    def open_first() -> None:
        if report:  # files are read on a worker: the document is shown when the session has it
            window.session.document_changed.connect(
                lambda _new: print(f"LACUNA_DOCUMENT_SHOWN {time.time():.3f}", flush=True)
            )
        if argv:
            window.open_path(argv[0])
        elif quit_after_ms is None:
            window.offer_session_restore()

    QTimer.singleShot(0, open_first)
    if quit_after_ms is not None:

        def close_window() -> None:  # a slot must return None (see main_window)
            window.close()

        QTimer.singleShot(max(int(quit_after_ms), 0), close_window)
        QTimer.singleShot(max(int(quit_after_ms), 0) + 50, app.quit)
    status = app.exec()
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:2]))

"""Desktop fixtures: the real main window, offscreen, with settings and autosaves in a temp folder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QStandardPaths

QStandardPaths.setTestModeEnabled(True)  # never touch the user's settings or autosaves


@pytest.fixture
def make_window(qtbot, tmp_path):
    """A factory of main windows sharing one settings file and one autosave folder."""
    from desktop.settings import Settings
    from desktop.shell import MainWindow

    windows = []

    def make(autosave: bool = True):
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings, autosave_root=tmp_path / "autosave", autosave=autosave)
        window.session.ask_restore = lambda journal: True
        window.confirm_discard = lambda: True
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        assert window.shutdown(timeout=20), "a job thread did not stop"


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def ct_path(datasets):
    return datasets / "medical" / "693_UNCI.dcm"

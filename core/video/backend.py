"""The one place that imports PyAV, so a missing optional extra gives one clear message."""

from __future__ import annotations

from types import ModuleType

from core.errors import UnsupportedFormatError

INSTALL_HINT = 'video needs the optional extra: pip install "lacuna-studio[video]" (PyAV, FFmpeg)'


def av() -> ModuleType:
    try:
        import av as _av
    except ImportError as exc:
        raise UnsupportedFormatError(INSTALL_HINT) from exc
    _av.logging.set_level(_av.logging.PANIC)  # FFmpeg's own console chatter; errors still raise
    return _av


def available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True

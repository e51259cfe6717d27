"""Persistent preferences (QSettings) with typed accessors and their defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

MAX_RECENT = 10

DEFAULTS: dict[str, Any] = {
    "run/device": "auto",
    "run/precision": "auto",
    "run/backend": "auto",
    "run/tile": 0,
    "run/memory_mb": 0,
    "history/undo_mb": 1024,
    "overlay/color": "#ff3b30",
    "overlay/opacity": 0.5,
    "brush/radius": 20.0,
    "brush/hardness": 0.8,
    "audio/frequency_scale": "linear",
}


class Settings:
    def __init__(self, settings: QSettings | None = None):
        self.q = settings or QSettings()

    def get(self, key: str) -> Any:
        default = DEFAULTS[key]
        value = self.q.value(key, default)
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def run_settings(self) -> dict[str, Any]:
        """What the preferences decide about a run: core.runtime.context.RunContext fields."""
        return {
            "device": self.get("run/device"),
            "precision": self.get("run/precision"),
            "backend": self.usable_backend(),
            "tile": self.get("run/tile"),
            "memory_limit_mb": self.get("run/memory_mb"),
        }

    def usable_backend(self) -> str:
        """The backend chosen in the preferences, or "auto" where it cannot run on this machine (ONNX
        Runtime uninstalled since, settings from another computer): a stale choice must not fail
        every learned repair."""
        from core.runtime.backends import available_backends

        chosen = self.get("run/backend")
        return chosen if chosen in available_backends() else "auto"

    def recent_files(self) -> list[str]:
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.q.setValue("recent", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.q.setValue("recent", [])

"""Lacuna's engine: documents, file formats, repair methods, runtime, training and benchmarks.

The public API is imported lazily so that `import core` loads neither torch nor any reader:

    doc = core.read("scan.dcm")
    result = core.run_repair(doc, "denoise")
    core.write(result, "scan_denoised.dcm")

`core` never imports Qt.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.version import __version__

_LAZY = {
    "read": ("core.io", "read"),
    "write": ("core.io", "write"),
    "methods": ("core.methods", "methods"),
    "get_method": ("core.methods", "get_method"),
    "repair": ("core.repair", "repair"),
    "run_repair": ("core.repair", "run_repair"),
    "RunContext": ("core.runtime.context", "RunContext"),
    "Progress": ("core.runtime.context", "Progress"),
    "ImageDoc": ("core.documents", "ImageDoc"),
    "VolumeDoc": ("core.documents", "VolumeDoc"),
    "AudioDoc": ("core.documents", "AudioDoc"),
    "LacunaError": ("core.errors", "LacunaError"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'core' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]

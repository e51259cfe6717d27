"""Workspaces: one per kind of document, chosen by the document's `kind` from a table.

Like napari's table from layer type to its controls, the shell never asks what a document is: it
looks `doc.kind` up here. Each subpackage is one workspace; its `__init__` (light: no Qt) declares

    KINDS = ("image", "volume")          # the document kinds it shows
    def create(context): ...             # -> a desktop.workspace.Workspace

so a new kind of document needs a new folder here and nothing in the shell. Workspaces never import
each other (an import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

DEFAULT_KIND = "image"  # shown when no document is open


@cache
def table() -> dict[str, ModuleType]:
    """Document kind -> the workspace package that shows it."""
    kinds: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        package = importlib.import_module(f"{__name__}.{info.name}")
        for kind in getattr(package, "KINDS", ()):
            if kind in kinds:
                raise RuntimeError(f"two workspaces show {kind!r}: {kinds[kind].__name__} and {info.name}")
            kinds[kind] = package
    return kinds


def package_for(kind: str) -> ModuleType | None:
    return table().get(kind)

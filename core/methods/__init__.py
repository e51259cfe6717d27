"""Repair methods. Each family module registers its methods when imported; `load_all()` imports them.

Method modules import torch lazily (inside `run`), so listing methods stays fast.
"""

from __future__ import annotations

import importlib

from core.errors import MethodError
from core.methods.registry import Method, MethodCard, Param, all_methods, register

FAMILIES = (
    "denoise",
    "denoise_sure",
    "denoise_bilateral",
    "upscale",
    "dejpeg",
    "inpaint",
    "fill_slice",
    "fill_gap",
    "fill_frames",
    "detect",
)

_loaded = False


def load_all() -> dict[str, Method]:
    global _loaded
    if not _loaded:
        for family in FAMILIES:
            try:
                importlib.import_module(f"core.methods.{family}")
            except ModuleNotFoundError as exc:
                if exc.name != f"core.methods.{family}":
                    raise
        _loaded = True
    return all_methods()


def methods(task: str | None = None) -> list[MethodCard]:
    cards = [m.card for m in load_all().values()]
    if task is not None:
        cards = [c for c in cards if c.task == task]
    return sorted(cards, key=lambda c: (c.task, not c.default, c.id))


def get_method(method_id: str) -> Method:
    found = load_all().get(method_id)
    if found is None:
        raise MethodError(f"unknown method {method_id!r}; `lacuna models` lists them")
    return found


def default_method(task: str) -> Method:
    """The task's default method: the card marked default if available, else the first available."""
    cards = methods(task)
    if not cards:
        raise MethodError(
            f"no method for task {task!r}; tasks: denoise, upscale, dejpeg, inpaint, fill-gap, fill-frames"
        )
    for card in cards:
        if card.available:
            return get_method(card.id)
    raise MethodError(f"no method for task {task!r} is available: {cards[0].unavailable_reason}")


__all__ = ["Method", "MethodCard", "Param", "register", "methods", "get_method", "default_method", "load_all"]

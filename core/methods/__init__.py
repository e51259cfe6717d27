"""Repair methods. Each family module registers its methods when imported; `load_all()` imports them.

Method modules import torch lazily (inside `run`), so listing methods stays fast.
"""

from __future__ import annotations

import importlib

from core.errors import MethodError
from core.methods.registry import Method, MethodCard, Param, all_methods, register
from core.tasks import task as get_task

FAMILIES = (
    "denoise",
    "denoise_sure",
    "denoise_bilateral",
    "upscale",
    "dejpeg",
    "inpaint",
    "inpaint_slices",
    "fill_slice",
    "fill_slice_self",
    "fill_gap",
    "fill_gap_speech",
    "fill_frames",
    "detect",
    "film",
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


def method_name(method_id: str) -> str:
    """The name the app shows for a method ("Autoregressive (LSAR)"); the id itself for one this
    version does not know (a record written by another)."""
    found = load_all().get(method_id)
    return found.card.name if found is not None else method_id


CLIP_MODALITIES = ("video", "film")  # a card's `clip_default` is chosen on their frames


def choose_method(
    task: str, method_id: str | None = None, modality: str = "photo", frames: int | None = None
) -> tuple[Method, str]:
    """The method to run and, when it is not the one asked for, a note saying which runs instead and why.

    A named method is run as it is (or fails with its reason). Without a name, the task's default runs;
    on a scan whose modality the default does not suit (core.methods.modality), the task's scan default
    (the one validated on that modality first); when that cannot run (missing weights, or a method
    that fills from neighbouring slices given a picture of `frames` = 1 slice), the first available
    method that suits does, and the note says so: a method never falls back silently.
    """
    from core.methods.modality import suits, trained_on

    if method_id:
        return get_method(method_id), ""
    cards = methods(get_task(task).id)
    if not cards:
        raise MethodError(f"no method is installed for task {task!r}")
    default = cards[0]  # sorted with the default first
    if modality in CLIP_MODALITIES and (frames is None or frames >= 2):  # a single frame: the default
        clip = [c for c in cards if c.clip_default and c.available]
        if clip:
            return get_method(clip[0].id), ""
    unnamed = ""  # why a scan that does not say its modality gets no network trained on scans
    if not suits(default, modality):
        passed_over = next((c for c in cards if c.scan_default and not suits(c, modality)), None)
        suiting = (c for c in cards if suits(c, modality))
        cards = sorted(suiting, key=lambda c: (not c.scan_default, modality not in c.modalities)) or cards
        default = cards[0]
        if modality == "scan" and passed_over is not None and passed_over.available:
            unnamed = (
                f"{default.id}, not {passed_over.id}: the file does not say which kind of scan it is, and"
                f" {passed_over.id} was trained on {trained_on(passed_over)} only (--method"
                f" {passed_over.id} if it is one)"
            )
    for card in cards:
        if card.available and _fits(card, task, frames):
            if card is default:
                return get_method(card.id), unnamed
            why = default.unavailable_reason or (
                "it fills a hole from the slices around it, and no other slice shows what this hole hides"
            )
            return get_method(card.id), f"the default method {default.id} cannot run ({why}); ran {card.id}"
    raise MethodError(f"no method for task {task!r} is available: {default.unavailable_reason}")


def _fits(card: MethodCard, task: str, frames: int | None) -> bool:
    """False for a method of whole volumes offered for a per-slice task on a single slice."""
    single = frames is not None and frames < 2
    return not (single and card.operates_on == "volume" and get_task(task).operates_on == "frames")


def default_method(task: str, modality: str = "photo", frames: int | None = None) -> Method:
    """The method `choose_method` runs for `task` on `modality` when none is named."""
    return choose_method(task, modality=modality, frames=frames)[0]


__all__ = [
    "Method",
    "MethodCard",
    "Param",
    "register",
    "methods",
    "get_method",
    "choose_method",
    "default_method",
    "load_all",
]

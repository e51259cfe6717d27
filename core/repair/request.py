"""What a repair was asked to do, as the engine hands it to the driver for the document's kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.documents import Document
from core.errors import MethodError
from core.methods.registry import Method
from core.runtime.context import RunContext
from core.tasks import Task


@dataclass(frozen=True)
class Request:
    document: Document
    task: Task
    method: Method
    params: dict[str, Any]  # the card's parameters, resolved and checked
    mask: Any  # the painted alpha (frame stacks) or the selections (audio), as given
    frames: list[int] | None  # only these frames (default: all)
    ctx: RunContext


def check_frames(document: Document, frames: list[int] | None) -> None:
    """Refuse frame numbers (from 0) the document does not have, before anything runs: a clip's frames,
    a volume's slices, an image's pages."""
    if frames is None:
        return
    if not frames:
        raise MethodError("frames: none given (a range is first-last, e.g. 3-7)")
    pixels = getattr(document, "pixels", None)
    count = int(pixels.shape[0]) if pixels is not None else getattr(document, "frame_count", None)
    if count is None:
        raise MethodError("frames apply to images, scans and video, not to recordings")
    wrong = sorted({f for f in frames if not 0 <= f < count})
    if wrong:
        shown = ", ".join(map(str, wrong[:3])) + (" ..." if len(wrong) > 3 else "")
        holds = f"frames 0 to {count - 1}" if count > 1 else "one frame, 0"
        raise MethodError(f"frames: there is no frame {shown}; this file has {holds} (counted from 0)")


def describe_frames(frames: list[int]) -> str:
    """'frames 0-9, 14 (counted from 0)': which frames a repair was limited to, for its record."""
    return f"frame{'s' if len(set(frames)) > 1 else ''} {frame_runs(frames)} (counted from 0)"


def frame_runs(frames: list[int]) -> str:
    """'0-9, 14': frame numbers as runs."""
    runs: list[list[int]] = []
    for n in sorted(set(frames)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


# The documents each kind of method works on (a clip's frames are images; a volume method runs on
# images and volumes, not on a clip).
WORKS_ON = {
    "image": ("image", "volume", "video"),
    "volume": ("image", "volume"),
    "audio": ("audio",),
    "video": ("video",),
}
# What to say when a method that must be told where to repair is told nothing.
UNMARKED = {
    "audio": "nothing is selected: select the damaged part (in the app: drag over it; on the command "
    "line: --gap START:END, --loss-trace FILE or --detect)",
    "video": "nothing is marked: paint what should be repaired (on the command line: --mask FILE, one "
    "mask for every frame repaired, e.g. from lacuna detect CLIP --frames N)",
}
UNPAINTED = "nothing is marked: paint what should be repaired (on the command line: --mask FILE or --detect)"


def marks_anything(mask: Any) -> bool:
    """Whether a painted mask or a list of selections marks something (an all-black mask does not)."""
    if mask is None:
        return False
    if isinstance(mask, np.ndarray):
        return bool(mask.any())
    return not (isinstance(mask, list | tuple) and not mask)


# Scans whose values are labels, not a picture: smoothing or filling them invents labels.
LABEL_MAPS = {"SEG": "a segmentation (a label per pixel)"}


# What a film task's person wants on a picture (walk-through 45: remove-dust on a photo was told only
# that it works on video).
INSTEAD = {
    ("remove-dust", "image"): "; a picture's dust and scratches: --task inpaint --detect",
    ("remove-dust", "volume"): "; a scan's marks: paint them and --task inpaint",
}


def check_fits(card, task: str, document: Document, mask: Any, named: bool = True) -> None:
    """Refuse, before anything runs, a method for another task or another kind of document, and a
    method that needs to be told what to repair when nothing is marked. The method is `named` by the
    person, or else the task's default, and the refusal speaks of what they asked for."""
    labels = LABEL_MAPS.get(str(getattr(document, "modality", "")).upper())
    if labels:  # a walk-through's liver.dcm came back "denoised", unchanged
        raise MethodError(f"this file holds {labels}, not a picture: there is nothing to {task}")
    if card.task != task:
        raise MethodError(f"method {card.id!r} is for {card.task!r}, not {task!r}")
    if document.kind not in WORKS_ON.get(card.operates_on, ()):
        what = f"method {card.id!r}" if named else task
        instead = INSTEAD.get((task, document.kind), "")
        raise MethodError(f"{what} works on {card.operates_on}, not on this {document.kind}{instead}")
    from core.tasks import task as task_info

    if task_info(task).operates_on == "stack" and document.pixels.shape[0] < 2:  # before "running"
        raise MethodError(f"{task} needs a volume with at least two slices; this file holds one picture")
    if card.needs_mask and not marks_anything(mask):
        raise MethodError(f"method {card.id!r}: {UNMARKED.get(document.kind, UNPAINTED)}")
    check_numbers(document)


def check_numbers(document: Document) -> None:
    """Refuse a picture or volume holding NaN or infinite values: every method's filters and networks
    spread them and their neighbourhoods into the result (a walk-through's 4,000 NaN voxels became
    14,000, with 211,000 more voxels changed, and the run said it had changed nothing)."""
    if document.kind not in ("image", "volume"):
        return
    from core.io.describe import not_numbers

    count = not_numbers(document.pixels)
    if count:
        raise MethodError(
            f"{count:,} values of this {document.kind} are not numbers (NaN or infinite): Lacuna cannot"
            " repair around them; replace them with a number first (0, or the background's value)"
        )

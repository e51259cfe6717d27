"""What a repair request becomes before it goes to core, and what it leaves in the undo history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.documents import Document
from core.errors import LacunaError
from desktop.mask_model import MaskStack


@dataclass
class RepairEdit:
    """A history entry for a repair: both documents, and both mask stacks when the shape changed."""

    before: Document
    after: Document
    before_masks: MaskStack
    after_masks: MaskStack
    # What the repair filled (the mask it used, on the frames it repaired) and where the brush had
    # passed by then, bits packed (None: nowhere): a detection on its result does not take that
    # spent mask for the person's painting, unless painted over again since.
    filled_bits: np.ndarray | None = None
    brushed_bits: np.ndarray | None = None

    @staticmethod
    def pack(mask: np.ndarray | None) -> np.ndarray | None:
        return np.packbits(np.asarray(mask) > 0) if mask is not None and np.asarray(mask).any() else None

    def spent(self, brushed_now: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
        """What the repair filled and no brush has passed over since, bool in `shape`."""
        filled, brushed_then = _unpack(self.filled_bits, shape), _unpack(self.brushed_bits, shape)
        since = (
            np.zeros(shape, bool) if brushed_now is None else np.asarray(brushed_now, bool) & ~brushed_then
        )
        return filled & ~since

    @property
    def nbytes(self) -> int:
        bits = sum(b.nbytes for b in (self.filled_bits, self.brushed_bits) if b is not None)
        return int(self.before.pixels.nbytes + self.after.pixels.nbytes + bits)


def _unpack(bits: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if bits is None:
        return np.zeros(shape, bool)
    return np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).astype(bool)


@dataclass
class RepairPlan:
    mask: np.ndarray | None  # the painted alpha (frames, H, W) uint8, as painted: core applies it
    frames: list[int] | None  # the frames to repair one by one (None: all)
    params: dict[str, Any]


def slices_to_core(text: str, frames: int) -> str:
    """Slice numbers as the slider shows them (1 = the first) to core's 0-based numbers:
    "26" -> "25", "10-14" -> "9-13", "3,5" -> "2,4"."""

    def shift(match: re.Match) -> str:
        number = int(match.group())
        if not 1 <= number <= frames:
            raise LacunaError(f"slice {number} does not exist: the slices are numbered 1 to {frames}")
        return str(number - 1)

    return re.sub(r"\d+", shift, text)


def plan_repair(
    card,
    masks: MaskStack,
    frame: int,
    params: dict[str, Any] | None,
    current_slice_only: bool,
    limit_to_mask: bool,
) -> RepairPlan:
    """Decide the mask, frames and parameters of a run of `card`; a LacunaError says why it cannot run."""
    if not card.available:
        raise LacunaError(f"{card.name} cannot run: {card.unavailable_reason}")
    params = dict(params or {})
    if params.get("slices"):
        params["slices"] = slices_to_core(str(params["slices"]), masks.frames)
    painted = masks.any()
    if card.needs_mask and not painted:
        raise LacunaError(
            f"{card.name} repairs the marked pixels: paint the damage (B for the brush), or let"
            " Detect damage propose it (Ctrl+Shift+D)."
        )
    from core.tasks import task

    # A resizing task's result has other pixels than the mask: a mask cannot select among them.
    use_mask = painted and (card.needs_mask or limit_to_mask) and not task(card.task).resizes
    frames = None
    if card.operates_on != "volume" and masks.frames > 1:
        if current_slice_only:
            frames = [frame]
        elif card.needs_mask:
            frames = masks.painted_frames()
    return RepairPlan(masks.as_array() if use_mask else None, frames, params)

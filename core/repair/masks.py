"""THE mask contract: how a painted mask decides what a repair changes. The CLI, the API and the
desktop all hand `repair()` the mask as painted; `repair()` applies it here, once, and its result is
final (nobody blends it again).

- In: a soft alpha per pixel, (H, W) for every frame or (frames, H, W). Floats are alpha in [0, 1];
  integers are alpha of 255 (16-bit: of 65535), as the desktop's brush paints; bool masks and
  masks of only 0 and 1 (labels) are hard. A scan's volume mask from a labelling tool (a NIfTI):
  whole numbers are labels, every non-zero one repaired in full; fractions are alpha (`label_alpha`).
- The hole a method fills: every pixel with alpha > 0, grown by `dilate` pixels (a disk), so the
  unreliable rim of a scratch is refilled too.
- The weight the repair gets: 1 inside the hole (with `dilate` = 0, the painted alpha itself, so
  soft brush edges blend), ramped down to 0 over `feather` pixels inside the hole's edge.
- Kept outside: every pixel outside the hole is the source's, bit for bit; where the weight is 1 the
  method's value is taken as is; in between, source + (result - source) * weight.
- Previews a method yields while it works are mapped the same way, into document units, and carry
  the index of the frame they show (or none for a whole stack).

`dilate` and `feather` are parameters of the methods that declare them (their cards show them); the
contract consumes them, the method's `run` never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import MethodError
from core.masks import dilate as grow
from core.masks import feather as ramp

MASK_PARAMS = ("dilate", "feather")


def alpha_of(mask: np.ndarray) -> np.ndarray:
    """A painted mask as float32 alpha in [0, 1] (see the module's rules for each type)."""
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return mask.astype(np.float32)
    if mask.dtype.kind == "f":
        return np.clip(np.nan_to_num(mask, nan=0.0), 0.0, 1.0).astype(np.float32)
    if mask.dtype.kind in "iu":
        if mask.size and mask.max() <= 1:  # a label mask: 0 keep, 1 repair
            return (mask > 0).astype(np.float32)
        full = 65535 if mask.dtype == np.uint16 else 255
        return (np.clip(mask, 0, full) / np.float32(full)).astype(np.float32)
    raise MethodError(f"a mask must hold numbers, not {mask.dtype}")


def label_alpha(values: np.ndarray) -> np.ndarray:
    """A volume mask from a labelling tool as float32 alpha: whole numbers are labels, every non-zero
    label repaired in full (label 3 of a segmentation is not 3/255 of a repair); fractions are alpha
    as painted (a probability map's value, clipped to [0, 1])."""
    values = np.nan_to_num(np.asarray(values, np.float64), nan=0.0)
    if np.all(values == np.rint(values)):
        return (values != 0).astype(np.float32)
    return np.clip(values, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class RepairMask:
    alpha: np.ndarray  # float32 (frames, H, W) in [0, 1], as painted
    dilate: int = 0
    feather: int = 0

    @classmethod
    def from_painted(
        cls, mask: np.ndarray, shape: tuple[int, int, int], dilate: int = 0, feather: int = 0
    ) -> RepairMask:
        """Check a painted mask against a document of `shape` (frames, H, W) and broadcast it."""
        frames, height, width = shape
        mask = np.asarray(mask)
        if mask.ndim == 3 and mask.shape[-1] in (1, 3, 4) and mask.shape[:2] == (height, width):
            mask = mask.max(axis=-1)
        if mask.ndim == 2:
            if mask.shape != (height, width):
                raise MethodError(
                    f"the mask is {mask.shape[1]}×{mask.shape[0]} pixels but the image is {width}×{height}"
                )
            mask = np.broadcast_to(mask, (frames, height, width))
        elif mask.ndim == 3:
            if mask.shape != (frames, height, width):
                raise MethodError(f"the mask has shape {mask.shape}, expected ({frames}, {height}, {width})")
        else:
            raise MethodError(f"a mask must be 2-D (or one per frame), not shape {mask.shape}")
        return cls(alpha_of(mask), max(int(dilate or 0), 0), max(int(feather or 0), 0))

    def painted(self, frame: int) -> bool:
        return bool(self.alpha[frame].any())

    def hole(self, frame: int) -> np.ndarray:
        """bool (H, W): the pixels a method fills on `frame`."""
        return grow(self.alpha[frame] > 0, self.dilate)

    def holes(self) -> np.ndarray:
        return np.stack([self.hole(i) for i in range(self.alpha.shape[0])])

    def weight(self, frame: int) -> np.ndarray:
        """float32 (H, W): how much of the method's value each pixel of `frame` takes."""
        hole = self.hole(frame)
        weight = hole.astype(np.float32) if self.dilate > 0 else self.alpha[frame].copy()
        if self.feather > 0:
            weight *= ramp(hole, self.feather)
        return weight

    def composite_frame(self, frame: int, source: np.ndarray, result: np.ndarray) -> np.ndarray:
        """(H, W, C): `result` where the weight is 1, `source` where it is 0, blended in between."""
        weight = self.weight(frame)[..., None]
        blended = source + (result - source) * weight
        out = np.where(weight >= 1.0, result, np.where(weight <= 0.0, source, blended))
        return out.astype(np.float32, copy=False)

    def composite(self, source: np.ndarray, result: np.ndarray) -> np.ndarray:
        """(frames, H, W, C): every frame of `result` kept to the mask over `source`."""
        return np.stack([self.composite_frame(i, source[i], result[i]) for i in range(source.shape[0])])


def split_params(params: dict) -> tuple[dict, dict]:
    """(what the mask contract takes, what the method's `run` takes) from a card's resolved params."""
    mask_params = {k: v for k, v in params.items() if k in MASK_PARAMS}
    return mask_params, {k: v for k, v in params.items() if k not in MASK_PARAMS}

"""The pixels Lacuna changed, as a DICOM overlay plane (group 60xx) any viewer can show.

A derived image says in its header that it was repaired; the overlay says where. It is an ROI overlay
(OverlayType "R") labelled LACUNA, one bit per pixel for each frame of the instance, in the first
overlay group the source does not use (a source's own overlays are kept; an earlier Lacuna overlay
is replaced, since `FrameStack.changed` already includes what earlier repairs changed).
"""

from __future__ import annotations

import numpy as np

LABEL = "LACUNA"
DESCRIPTION = "Pixels changed by Lacuna: reconstructed, not acquired"
GROUPS = range(0x6000, 0x6020, 2)


def _ours(ds, group: int) -> bool:
    label = ds.get((group, 0x1500))
    return label is not None and str(label.value).strip() == LABEL


def _free_group(ds) -> int | None:
    for group in GROUPS:
        if _ours(ds, group) or (group, 0x3000) not in ds:
            return group
    return None


def mark_changed(ds, changed: np.ndarray) -> bool:
    """Add the overlay of `changed` ((frames, rows, cols) bool) to `ds`; False when nothing changed or
    every overlay group is taken."""
    from pydicom.pixels import pack_bits

    if changed is None or not changed.any():
        return False
    group = _free_group(ds)
    if group is None:
        return False
    for tag in [t for t in ds.keys() if t.group == group]:
        del ds[tag]
    frames, rows, cols = changed.shape
    ds.add_new((group, 0x0010), "US", rows)
    ds.add_new((group, 0x0011), "US", cols)
    if frames > 1 or "NumberOfFrames" in ds:
        ds.add_new((group, 0x0015), "IS", frames)
        ds.add_new((group, 0x0051), "US", 1)  # the overlay's first frame is the image's first
    ds.add_new((group, 0x0022), "LO", DESCRIPTION)
    ds.add_new((group, 0x0040), "CS", "R")
    ds.add_new((group, 0x0050), "SS", [1, 1])
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    ds.add_new((group, 0x1301), "IS", int(changed.sum()))  # ROI area: the number of changed pixels
    ds.add_new((group, 0x1500), "LO", LABEL)
    data = pack_bits(changed.astype(np.uint8).ravel())
    ds.add_new((group, 0x3000), "OW", data + (b"\x00" if len(data) % 2 else b""))
    return True


def changed_pixels(ds) -> np.ndarray | None:
    """The changed pixels a Lacuna overlay in `ds` marks, (frames, rows, cols) bool; None without one."""
    from pydicom.pixels import unpack_bits

    for group in GROUPS:
        if _ours(ds, group):
            rows, cols = int(ds[group, 0x0010].value), int(ds[group, 0x0011].value)
            frames = int(ds[group, 0x0015].value) if (group, 0x0015) in ds else 1
            bits = unpack_bits(ds[group, 0x3000].value)[: frames * rows * cols]
            return bits.reshape(frames, rows, cols).astype(bool)
    return None

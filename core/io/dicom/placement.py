"""Where each slice of a derived scan goes when it has other slices than its source: thinner slices
inserted between the acquired ones, a missing slice filled.

Each written slice starts from the header of the source slice nearest to it. A slice at a source
slice's position (within a micrometre) is that slice; any other lies between the two source slices
around it: its ImagePositionPatient and SliceLocation are interpolated between theirs, so across a
gantry tilt a new slice moves sideways as the acquired ones do, and it names both as its sources.
Beyond the first or last source slice a slice is moved along the normal from the nearest one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core.io.dicom.header import plane_normal, plane_orientation, plane_position

SAME_PLACE_MM = 1e-3


@dataclass(frozen=True)
class Placement:
    template: int  # the source slice whose header this slice starts from
    position: float  # mm along the normal
    between: tuple[int, ...] = ()  # the source slices it lies between (none: it is a source slice)
    t: float = 0.0  # how far from between[0] towards between[1]

    @property
    def inserted(self) -> bool:
        return self.between != ()


def placements(positions: list[float], source: list[float]) -> list[Placement]:
    """Where each slice at `positions` lies among the source slices at `source` (mm along the normal)."""
    src = np.asarray(source, np.float64)
    placed = []
    for p in positions:
        nearest = int(np.argmin(np.abs(src - p)))
        below, above = np.nonzero(src < p)[0], np.nonzero(src > p)[0]
        if abs(src[nearest] - p) < SAME_PLACE_MM:
            placed.append(Placement(nearest, p))
        elif below.size and above.size:
            a = int(below[np.argmax(src[below])])
            b = int(above[np.argmin(src[above])])
            placed.append(Placement(nearest, p, (a, b), float((p - src[a]) / (src[b] - src[a]))))
        else:
            placed.append(Placement(nearest, p, (nearest,)))
    return placed


def place_slice(ds, sources: list, source_positions: list[float], where: Placement) -> None:
    """Move `ds` (a copy of `sources[where.template]`) to where it lies among the source slices."""
    if not where.inserted:
        return
    first, last = sources[where.between[0]], sources[where.between[-1]]
    ipp_a, ipp_b = plane_position(first), plane_position(last)
    if len(where.between) == 2 and ipp_a is not None and ipp_b is not None:
        ipp = (1 - where.t) * ipp_a + where.t * ipp_b
        ds.ImagePositionPatient = [f"{v:.10g}" for v in ipp]
        if "SliceLocation" in first and "SliceLocation" in last:
            location = (1 - where.t) * float(first.SliceLocation) + where.t * float(last.SliceLocation)
            ds.SliceLocation = f"{location:.10g}"
        return
    iop, ipp = plane_orientation(first), plane_position(first)
    if iop is None or ipp is None:
        return
    shift = where.position - source_positions[where.between[0]]
    ds.ImagePositionPatient = [f"{v:.10g}" for v in ipp + plane_normal(iop) * shift]
    if "SliceLocation" in first:
        ds.SliceLocation = f"{float(first.SliceLocation) + shift:.10g}"


def place_frames(ds, src, placed: list[Placement]) -> None:
    """The per-frame groups of a multi-frame `ds` for the frames `placed` among the frames of `src`:
    each frame's group from its template frame, inserted frames moved between their neighbours."""
    from pydicom.sequence import Sequence

    groups = src.get("PerFrameFunctionalGroupsSequence")
    if groups is None:
        return
    items = []
    for where in placed:
        item = copy.deepcopy(groups[min(where.template, len(groups) - 1)])
        points = [plane_position(src, j) for j in where.between]
        if where.inserted and len(points) == 2 and all(p is not None for p in points):
            ipp = (1 - where.t) * points[0] + where.t * points[1]
            for position in item.get("PlanePositionSequence", []):
                position.ImagePositionPatient = [f"{v:.10g}" for v in ipp]
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)


def even_step(positions: list[float]) -> float | None:
    """The spacing between slices where it is the same throughout (within 1%), else None."""
    steps = np.abs(np.diff(positions))
    if not steps.size or steps.max() - steps.min() > 0.01 * steps.max():
        return None
    return float(steps.mean())

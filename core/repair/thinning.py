"""Thinner slices: new slices inserted between a volume's own, then rebuilt as missing slices.

A volume acquired with thick, widely spaced slices (5 mm, say) is resampled through-plane to a finer
spacing: `thin=k` divides every gap between neighbouring slices into k equal parts (2 halves the
spacing); `spacing=s` divides each gap into as few equal parts as bring it to s mm or less, so an
uneven series stays uneven where it was (a 7 mm gap gets more new slices than a 4 mm one). The slices
the volume had are kept bit for bit; the new ones are blank slices at their new positions that the
fill-slice method then rebuilds exactly as it rebuilds missing ones (by position in mm, aligned
across a gantry tilt). The engine does this for every method of the fill-slice task, so linear,
cubic, optical flow and the self-supervised method all thin the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import MethodError
from core.io.dicom.header import find_gaps

THIN_PARAMS = ("thin", "spacing")  # consumed by the engine; the method's `run` never sees them
SPACING_SLACK = 0.01  # a gap this much wider than the spacing asked is not split for it
# Methods that make an inserted slice as thin as the new spacing (the others interpolate thick slices,
# so what they insert is as thick as the acquired ones).
SHARPENING_METHODS = ("fill-slice-self",)
MOST_PARTS = 16  # a gap is divided into at most this many parts (a typo of 0.01 mm is refused)


@dataclass(frozen=True)
class Thinning:
    """Where the slices go: each new slice's position and whether it is one of the volume's own."""

    positions: np.ndarray  # mm along the normal, one volume's worth
    inserted: list[int]  # indices (in one volume) of the new slices
    source: list[int | None]  # for each new slice, the index of the slice it is (None: inserted)

    @property
    def kept(self) -> list[int]:
        return [i for i, s in enumerate(self.source) if s is not None]


def asked(params: dict[str, Any]) -> bool:
    return int(params.get("thin", 1) or 1) > 1 or float(params.get("spacing", 0.0) or 0.0) > 0.0


def fills_gaps(document: Any, params: dict[str, Any], mask: Any, frames: Any) -> bool:
    """Nothing named to refill (no slices, mask, range or thinning) in a series with missing slices:
    a fill-slice method then puts the missing ones back, as `lacuna info` reports them."""
    named = params.get("slices") or asked(params) or mask is not None or frames is not None
    return not named and bool(getattr(document, "gaps", None))


def plan(z: np.ndarray, thin: int = 1, spacing: float = 0.0) -> Thinning:
    """The positions after thinning the slices at `z` (mm); `thin` and `spacing` as the module says."""
    if thin > 1 and spacing > 0:
        raise MethodError("ask for thinner slices either by a factor (thin) or by a spacing in mm, not both")

    def between(n: int, a: float, b: float) -> list[float]:
        gap = abs(b - a)
        # within 1% is close enough: 2 mm asked of slices 4.001 mm apart halves them
        count = thin if spacing <= 0 else max(1, int(np.ceil(gap / (spacing * (1 + SPACING_SLACK)))))
        if count > MOST_PARTS:
            raise MethodError(
                f"spacing {spacing:g} mm would divide a {gap:.3g} mm gap into {count} parts; "
                f"at most {MOST_PARTS} new slices per gap"
            )
        return [m / count for m in range(1, count)]

    layout = _divided(z, between)
    if not layout.inserted:
        raise MethodError(
            f"the slices are already {np.abs(np.diff(z)).max():.3g} mm apart or closer: "
            f"spacing {spacing:g} mm inserts no slice"
        )
    return layout


def plan_gaps(z: np.ndarray, gaps: list[int], known: list[float] | None = None) -> Thinning:
    """The positions with the slices missing after each index in `gaps` put back: where the series
    knows a missing slice's own position (a file whose header was read but not its pixels), there;
    otherwise a gap is divided into as many parts as the regular step beside it goes into it (a series
    4 mm apart that lost one slice has an 8 mm gap, and gets one slice back in its middle)."""
    steps = np.abs(np.diff(z))
    usual = [i for i, x in enumerate(steps) if i not in gaps and x > 1e-4]  # not a gap, not a repeat
    if not usual:
        raise MethodError("every step between the slices is a gap: name the slices to put back")

    def between(n: int, a: float, b: float) -> list[float]:
        if n not in gaps:
            return []
        inside = sorted((p - a) / (b - a) for p in known or () if min(a, b) < p < max(a, b))
        if inside:
            return inside
        # the usual step there: the median of up to three on each side (one odd neighbour aside)
        near = [float(steps[k]) for k in usual if abs(k - n) <= 3] or [float(steps[k]) for k in usual]
        count = min(max(2, int(round(abs(b - a) / float(np.median(near))))), MOST_PARTS)
        return [m / count for m in range(1, count)]

    return _divided(z, between)


def _divided(z: np.ndarray, between) -> Thinning:
    """New slices in the steps between the slices at `z`: `between(index, a, b)` gives, for the step
    from position a to b, where they go as fractions of it (0 < t < 1)."""
    if len(z) < 2:
        raise MethodError("inserting slices needs a volume with at least two slices")
    positions, source, inserted = [float(z[0])], [0], []
    for n, (a, b) in enumerate(zip(z[:-1], z[1:])):
        for t in between(n, float(a), float(b)):
            inserted.append(len(positions))
            positions.append(float(a + (b - a) * t))
            source.append(None)
        positions.append(float(b))
        source.append(n + 1)
    return Thinning(np.asarray(positions), inserted, source)


def thinned(
    document: Any, thin: int = 1, spacing: float = 0.0, method: str = "", gaps: bool = False
) -> tuple[Any, Thinning]:
    """A copy of the volume `document` with blank slices inserted where `plan` puts them (with `gaps`:
    where `plan_gaps` puts the missing ones back), every time point of a 4-D series alike, with its
    positions, spacing, gantry offsets and changed pixels to match."""
    from core.repair.frames import stack_geometry  # frames imports this module

    if getattr(document, "kind", "") != "volume":
        raise MethodError("thinner slices are made for volumes (CT, MR series, NIfTI), not for images")
    geometry = stack_geometry(document, document.stacks()[0])
    z = np.asarray(geometry["positions"], np.float64)
    known = document.metadata.get("missing_positions")
    layout = plan_gaps(z, document.gaps, known) if gaps else plan(z, thin, spacing)
    old, new = document.slices, len(layout.positions)
    times = max(document.time_points, 1)
    frames = np.array([t * new + k for t in range(times) for k in layout.kept])
    pixels = np.full((times * new, *document.pixels.shape[1:]), np.nanmin(document.pixels), np.float32)
    pixels[frames] = document.pixels
    result = document.with_pixels(pixels)
    changed = np.ones(pixels.shape[:3], bool)  # every pixel of an inserted slice is made, not acquired
    changed[frames] = document.changed if document.changed is not None else False
    result.changed, result.uncertainty = changed, None
    if len(document.positions) == document.frames:
        result.positions = [float(p) for p in layout.positions] * times
    steps = np.abs(np.diff(layout.positions))
    result.spacing = (float(np.median(steps)), *document.spacing[1:])
    # A sharpening method makes the new slices as thick as they are apart, never thicker than the
    # acquired ones (it reads this; the DICOM writer states it); the others insert slices as thick.
    if method in SHARPENING_METHODS:
        result.metadata["made_slice_thickness"] = min(float(geometry["thickness"]), result.spacing[0])
    else:
        result.metadata.pop("made_slice_thickness", None)
    thicknesses = document.metadata.get("slice_thicknesses") or []
    if len(thicknesses) == old:  # an inserted slice as thick as the acquired one before it
        kept_before = np.maximum.accumulate([-1 if s is None else s for s in layout.source])
        thicknesses = [thicknesses[k] for k in kept_before]
        result.metadata["slice_thicknesses"] = thicknesses
    else:
        thicknesses = None
    result.gaps = find_gaps(list(layout.positions), thicknesses)[0] if result.positions else []
    result.metadata.pop("missing_positions", None)  # they are slices of it now
    offsets = document.metadata.get("inplane_offsets_mm") or []
    if len(offsets) == old * times:  # a gantry tilt: new slices sit between their neighbours in-plane too
        order = np.argsort(z)  # np.interp needs rising positions; a multi-frame object may descend
        dy, dx = (np.interp(layout.positions, z[order], np.asarray(offsets[:old])[order, i]) for i in (0, 1))
        result.metadata["inplane_offsets_mm"] = [(float(a), float(b)) for a, b in zip(dy, dx)] * times
    return result, layout


def record(document: Any, result: Any, layout: Thinning) -> dict[str, Any]:
    """What the provenance says of a thinning: slices before and after, the spacing they now have."""
    steps = np.abs(np.diff(layout.positions))
    return {
        "inserted_slices": len(layout.inserted),
        "inserted_at": [int(i) for i in layout.inserted],  # slice numbers in the result, from 0
        "slices_before": document.slices,
        "slices_after": result.slices,
        "slice_spacing_mm": [round(float(steps.min()), 4), round(float(steps.max()), 4)],
    }


def summary(layout: Thinning, thin: int) -> str:
    """One line for the person: how many slices went in and how far apart they are now. With `thin` on
    an uneven series (slices 1.08 to 5 mm apart) it also says how to divide only the wide gaps."""
    now, was = np.abs(np.diff(layout.positions)), np.abs(np.diff(layout.positions[layout.kept]))
    count, kept = len(layout.inserted), len(layout.kept)
    line = (
        f"inserted {count} slice{'s' if count != 1 else ''} between the {kept} acquired:"
        f" {_range_mm(now)} apart now ({_range_mm(was)} before)"
    )
    even = float(np.median(was)) / max(thin, 1)
    # Said only where following it spares the closest gaps (a spacing no smaller than they are).
    if thin > 1 and 0 < was.min() <= even * (1 + SPACING_SLACK) and was.max() > 1.5 * was.min():
        # said as a choice: a walk-through read "spacing=2 divides only ..." as what thin had done
        line += f"; the series is unevenly spaced: thin={thin} divided every gap, spacing={even:.3g}"
        line += f" would divide only those wider than {even:.3g} mm"
    return line


def _range_mm(steps: np.ndarray) -> str:
    lo, hi = float(steps.min()), float(steps.max())
    return f"{lo:.3g} mm" if hi - lo < 0.01 else f"{lo:.3g}-{hi:.3g} mm"

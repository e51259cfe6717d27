"""Refill missing or corrupted slices of a volume from their neighbours.

- fill-slice-interp: interpolation along the slice axis (linear between the nearest good slices on
  each side, or a cubic spline through the good slices around the gap).
- fill-slice-flow: motion-compensated interpolation: the dense optical flow (OpenCV Farneback) between
  the good slices on either side is used to warp each towards the missing position, and the warped
  slices are blended by distance, so structures that move between slices are not doubled.

Which slices: the `slices` parameter ("12", "12,13", "10-14", 0-based) names whole slices to replace.
Without it, the painted frames of the mask are refilled inside the mask only (a corrupted region of a
slice); the engine keeps every unpainted pixel. The volume arrives as (frames, H, W, C) in [0, 1].

To fill a painted region through a range of slices in-plane instead, use the inpaint task with a
(frames, H, W) mask.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from core.errors import MethodError
from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

SLICES = Param("slices", "", 'slices to replace, 0-based: "12", "12,13" or "10-14" (empty: the painted ones)')
# Thinner slices (core.repair.thinning): new slices inserted between the volume's own and rebuilt.
THIN = Param("thin", 1, "thinner slices: split each gap between slices in this many (2: half the gap)", 1, 8)
SPACING = Param(
    "spacing", 0.0, "thinner slices: insert slices until they are at most this far apart (mm; 0: off)", 0, 100
)
THINNING = (THIN, SPACING)


def parse_slices(text: str, frames: int) -> list[int]:
    """'3, 5-7' -> [3, 5, 6, 7]; checks each index against the number of frames."""
    picked: set[int] = set()
    for part in str(text or "").replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else (part, "")
                lo, hi = int(a), int(b)
                picked.update(range(min(lo, hi), max(lo, hi) + 1))
            else:
                picked.add(int(part))
        except ValueError as exc:
            raise MethodError(f'cannot read slices {text!r}: write e.g. "12", "12,13" or "10-14"') from exc
    bad = [i for i in sorted(picked) if not 0 <= i < frames]
    if bad:
        raise MethodError(f"slice {bad[0]} does not exist: the volume has slices 0 to {frames - 1}")
    return sorted(picked)


def made_slices(steps: list[Any], frames: int) -> dict[int, str]:
    """The slices (from 0) that the record's fill-slice steps made whole, each with the method that
    made it: those a step inserted (thinner slices, gaps put back) or was named to refill, followed
    through the insertions of later steps. A painted hole is not a made slice."""
    made: dict[int, str] = {}
    for step in steps:
        if getattr(step, "task", "") != "fill-slice":
            continue
        params = step.params or {}
        inserted = [int(i) for i in params.get("inserted_at") or []]
        if inserted:  # the slices there before move up past the new ones
            kept = [k for k in range(int(params["slices_after"])) if k not in set(inserted)]
            made = {kept[i]: by for i, by in made.items() if i < len(kept)}
            named = inserted
        else:
            named = parse_slices(str(params.get("slices") or ""), frames)
        made.update(dict.fromkeys(named, step.method))
    return made


def _targets(
    volume: np.ndarray, mask: np.ndarray | None, slices: str, ctx: RunContext
) -> tuple[list[int], np.ndarray]:
    """The frames to refill and a (frames, H, W) bool map of the pixels to replace."""
    frames = volume.shape[0]
    if frames < 2:
        raise MethodError("refilling a slice needs a volume with at least two slices")
    region = np.zeros(volume.shape[:3], bool)
    chosen = parse_slices(slices, frames)
    if chosen:
        region[chosen] = True
    elif mask is not None and np.any(mask):
        region = np.asarray(mask, bool).copy()
        chosen = [i for i in range(frames) if region[i].any()]
    else:
        raise MethodError(
            "name the slices to refill (the slices parameter, e.g. slices=12 or 10-14, or --frames on the"
            f" command line) or paint the corrupted region{_thin_hint(ctx)}"
        )
    if len(chosen) == frames:
        raise MethodError("every slice is marked for refilling: at least one good slice is needed")
    return chosen, region


def _thin_hint(ctx: RunContext) -> str:
    """What to give instead when the slices lie much further apart than the pixels: thinning."""
    geometry = ctx.extras.get("geometry") or {}
    steps = np.abs(np.diff(geometry.get("positions") or []))
    pixel = min(geometry.get("pixel") or (0.0,))
    if not steps.size or pixel <= 0 or np.median(steps) < 1.5 * pixel:
        return ""
    step = float(np.median(steps))
    return (
        f"; its slices lie {step:.3g} mm apart against {pixel:.3g} mm pixels: thin={round(step / pixel)}"
        " makes them about as thin (or spacing=MM)"
    )


def _neighbours(index: int, good: np.ndarray) -> tuple[int | None, int | None]:
    below = good[good < index]
    above = good[good > index]
    return (int(below[-1]) if below.size else None), (int(above[0]) if above.size else None)


def shifts_of(ctx: RunContext) -> list[tuple[float, float]]:
    """Each slice's in-plane offset in pixels (a gantry tilt), [] when the slices are stacked straight."""
    return list((ctx.extras.get("geometry") or {}).get("shifts") or [])


def aligned(volume: np.ndarray, j: int, k: int, shifts: list[tuple[float, float]]) -> np.ndarray:
    """Slice `j` resampled onto slice `k`'s grid along the slices' normal: in a tilted series the same
    pixel numbers of neighbouring slices are not the same place, a few pixels apart per slice."""
    if not shifts:
        return volume[j]
    from scipy.ndimage import shift

    dy, dx = shifts[k][0] - shifts[j][0], shifts[k][1] - shifts[j][1]
    return shift(volume[j], (-dy, -dx, 0), order=1, mode="nearest")


def positions_of(volume: np.ndarray, ctx: RunContext) -> np.ndarray:
    """Each slice's position along the normal in mm (uneven spacing kept); slice numbers without one."""
    z = (ctx.extras.get("geometry") or {}).get("positions") or []
    return np.asarray(z if len(z) == volume.shape[0] else range(volume.shape[0]), np.float64)


def _run_interp(
    volume: np.ndarray, mask: np.ndarray | None, ctx: RunContext, slices: str = "", order: str = "linear"
) -> Generator[Progress, None, np.ndarray]:
    chosen, region = _targets(volume, mask, slices, ctx)
    good = np.array([i for i in range(volume.shape[0]) if i not in set(chosen)])
    z = positions_of(volume, ctx)
    shifts = shifts_of(ctx)
    out = volume.copy()
    for n, index in enumerate(chosen):
        estimate = interpolate_slice(volume, good, index, order, z, shifts)
        out[index][region[index]] = estimate[region[index]]
        yield ctx.progress((n + 1) / len(chosen), f"slice {index} refilled")
    return out


DEEP_HOLE = 3  # missing slices: across more, "cubic" is the shape-preserving cubic


def order_across(order: str, missing: int) -> str:
    """The interpolation used across `missing` slices in a row: across more than DEEP_HOLE, the
    spline carries the slopes at both sides into values neither side holds (a 92 HU insert filled
    up to 625 HU, read as bone), so "cubic" is the shape-preserving cubic there, which cannot
    (measured for inpaint-slices: docs/benchmarks.md, "Holes several slices deep")."""
    return "monotone" if order == "cubic" and missing > DEEP_HOLE else order


def interpolate_slice(
    volume: np.ndarray,
    good: np.ndarray,
    index: int,
    order: str,
    z: np.ndarray | None = None,
    shifts: list[tuple[float, float]] | None = None,
) -> np.ndarray:
    """Slice `index` from the good slices around it, at their positions `z` (mm; default: numbers),
    each aligned onto its grid first where the series is tilted (`shifts`). `order`: "linear",
    "cubic" (a spline through up to two good slices each side; across a deep gap, `order_across`)
    or "monotone" (the shape-preserving cubic, PCHIP, through the same slices: between two slices it
    never leaves their values)."""
    z = np.arange(volume.shape[0], dtype=np.float64) if z is None else z
    shifts = shifts or []
    below, above = _neighbours(index, good)
    if below is None or above is None:  # at an end of the volume: copy the nearest good slice
        return aligned(volume, above if below is None else below, index, shifts).copy()
    order = order_across(order, above - below - 1)
    if order in ("cubic", "monotone"):
        # A spline through up to two good slices each side (falls back to linear with fewer).
        near = np.concatenate([good[good < index][-2:], good[good > index][:2]])
        if near.size >= 3:
            from scipy.interpolate import CubicSpline, PchipInterpolator

            stack = np.stack([aligned(volume, j, index, shifts) for j in near]).astype(np.float64)
            spline = (CubicSpline if order == "cubic" else PchipInterpolator)(z[near], stack, axis=0)
            return np.clip(spline(z[index]), 0.0, 1.0).astype(np.float32)
    t = (z[index] - z[below]) / float(z[above] - z[below])
    lower, upper = aligned(volume, below, index, shifts), aligned(volume, above, index, shifts)
    return ((1.0 - t) * lower + t * upper).astype(np.float32)


def _run_flow(
    volume: np.ndarray, mask: np.ndarray | None, ctx: RunContext, slices: str = ""
) -> Generator[Progress, None, np.ndarray]:
    chosen, region = _targets(volume, mask, slices, ctx)
    good = np.array([i for i in range(volume.shape[0]) if i not in set(chosen)])
    z = positions_of(volume, ctx)
    shifts = shifts_of(ctx)
    out = volume.copy()
    for n, index in enumerate(chosen):
        below, above = _neighbours(index, good)
        if below is None or above is None:
            estimate = aligned(volume, above if below is None else below, index, shifts).copy()
        else:
            t = float((z[index] - z[below]) / (z[above] - z[below]))
            lower, upper = aligned(volume, below, index, shifts), aligned(volume, above, index, shifts)
            estimate = _flow_blend(lower, upper, t)
        out[index][region[index]] = estimate[region[index]]
        yield ctx.progress((n + 1) / len(chosen), f"slice {index} refilled")
    return out


def _flow_blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The slice a fraction t of the way from a to b: both warped along the flow, blended by distance."""
    import cv2

    # Flow is estimated on 8-bit copies stretched to the pair's own contrast (a CT's soft tissue
    # spans only a few percent of the HU range).
    lo, hi = np.percentile(np.concatenate([a, b]), (0.5, 99.5))
    scale = 255.0 / max(float(hi - lo), 1e-6)
    gray_a = np.clip((a.mean(axis=-1) - lo) * scale, 0, 255).astype(np.uint8)
    gray_b = np.clip((b.mean(axis=-1) - lo) * scale, 0, 255).astype(np.uint8)
    args = (None, 0.5, 4, 21, 3, 5, 1.1, 0)
    flow_ab = cv2.calcOpticalFlowFarneback(gray_a, gray_b, *args)  # a(p) ~ b(p + flow_ab(p))
    flow_ba = cv2.calcOpticalFlowFarneback(gray_b, gray_a, *args)
    height, width = gray_a.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)

    def warp(img: np.ndarray, flow: np.ndarray, s: float) -> np.ndarray:
        # Backward warp: the pixel at p of the in-between slice comes from img at p + s * flow(p).
        map_x, map_y = xs + s * flow[..., 0], ys + s * flow[..., 1]
        planes = [
            cv2.remap(img[..., c], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            for c in range(img.shape[-1])
        ]
        return np.stack(planes, axis=-1)

    from_a = warp(a.astype(np.float32), flow_ba, t)
    from_b = warp(b.astype(np.float32), flow_ab, 1.0 - t)
    return np.clip((1.0 - t) * from_a + t * from_b, 0.0, 1.0).astype(np.float32)


register(
    MethodCard(
        id="fill-slice-interp",
        task="fill-slice",
        name="Slice interpolation",
        kind="classical",
        description="Refills a missing or corrupted slice by interpolating between its neighbours.",
        modalities=("ct", "mr"),
        params=(
            SLICES,
            Param("order", "linear", "interpolation along the slice axis", choices=("linear", "cubic")),
            *THINNING,
        ),
        speed="fast",
        operates_on="volume",
        default=True,
    ),
    _run_interp,
)

register(
    MethodCard(
        id="fill-slice-flow",
        task="fill-slice",
        name="Motion-compensated slice interpolation",
        kind="classical",
        description="Warps the neighbouring slices along their optical flow before blending them.",
        modalities=("ct", "mr"),
        params=(SLICES, *THINNING),
        speed="fast",
        operates_on="volume",
    ),
    _run_flow,
)

"""inpaint-slices: a hole in a slice of a scan filled from the same place in the slices around it.

In a CT or MR volume the anatomy under a hole is still there, a few millimetres away, in the slices
above and below. The slices intact where the hole is are interpolated at the slice's position in mm
(cubic through two each side, or linear between the nearest), each first brought onto the slice's
grid (a tilted series' slices are offset in-plane), exactly as fill-slice does
(core.methods.fill_slice.interpolate_slice). Across a hole more than DEEP_HOLE slices deep the cubic
is the shape-preserving one (PCHIP), whose estimate never leaves the values of the slices either
side. Anatomy changes between slices, so the estimate is corrected to agree with the slice itself at
the hole's edge: the difference between the slice and the estimate around the hole is continued into
it (biharmonic, the solver of inpaint-biharmonic), fading over `reach_mm`. Carried further, that
edge difference mostly carries the misregistration of sharp edges (bone, skin) between slices:
measured on the shared CT and MR volumes, a 2 mm fade beat both no correction and a correction
carried through the whole hole (docs/benchmarks.md).

A hole at the same place on the next slice is skipped over (the next intact slice is used). A single
image has no neighbours: the method refuses it, and the scan default falls back to biharmonic with a
note (core.methods.choose_method).

How sure: the spread between the fill and the fills from the slice below alone and from the slice
above alone (each corrected alike), in the scan's units (core.repair.uncertainty): it grows where the
anatomy changes between slices. Adding the biharmonic fill of the slice by itself to the spread was
tried and dropped: it made the map 1.5-6 times the real error and correlate less with it (measured on
the bench's held-back slices, docs/benchmarks.md); it is used only where a hole has an intact slice on
one side alone (the volume's end, a run of holed slices), where the two fills would be the same.
That spread is not an error: on shear.nii.gz's holes it read 82 HU where the fills were 20 HU off, on
the FLAIR 9 where they were 10. So it is calibrated on the volume itself: up to four of the holes are
also placed on the nearest intact slice whose intact neighbours are as far away, filled the same way
there, and the map is scaled by their error over their spread (pooled), so its mean reads as the
expected absolute error (within 25% on the shared volumes' held-back holes, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.errors import MethodError
from core.methods.crops import fill_regions
from core.methods.fill_slice import (
    DEEP_HOLE,
    aligned,
    interpolate_slice,
    order_across,
    positions_of,
    shifts_of,
)
from core.methods.inpaint import MASK_PARAMS
from core.methods.registry import OWN_SPREAD, MethodCard, Param, register
from core.runtime.context import Progress, RunContext

SPREAD_MEASURE = "standard deviation across the fill and the fills from the slice below and above alone"
REACH = 4  # pixels a neighbour must be intact around the hole (a tilt offsets slices a few pixels)
CALIBRATION_SLICES = 4  # held-out fills the spread is calibrated on
ONE_SIDED = "on slices filled from one side only, the difference to the slice's own biharmonic fill, unscaled"
CALIBRATED = "scaled so that on the same holes placed on intact slices its mean is the mean absolute error"


def corrected(estimate: np.ndarray, plane: np.ndarray, hole: np.ndarray, reach: float, ctx: RunContext):
    """`estimate` plus the difference (plane - estimate) at the hole's edge continued into it
    (biharmonic), fading over `reach` pixels: near the edge the slice's own level is the better
    evidence, deeper in the neighbours are (a far-carried edge difference mostly carries the
    misregistration of sharp edges between slices)."""
    from scipy import ndimage

    # The difference lies in [-1, 1]; the crop loop works in [0, 1], hence the half shift.
    difference = (plane - estimate + 1.0) / 2.0
    smooth = yield from fill_regions(difference, hole, ctx, _biharmonic, context=1.0, min_size=16, margin=8)
    fade = np.exp(-ndimage.distance_transform_edt(hole) / max(reach, 1e-3))[..., None]
    return estimate + (2.0 * smooth - 1.0) * fade


def _biharmonic(crop: np.ndarray, crop_hole: np.ndarray, _ctx: RunContext) -> np.ndarray:
    from skimage.restoration import inpaint_biharmonic

    return inpaint_biharmonic(crop, crop_hole, channel_axis=-1)


def _run(
    volume: np.ndarray, mask: np.ndarray | None, ctx: RunContext, order: str = "cubic", reach_mm: float = 2.0
) -> Generator[Progress, None, np.ndarray]:
    if volume.shape[0] < 2:
        raise MethodError(
            "inpaint-slices fills a hole from the slices above and below it, and this picture has a single "
            "slice: use inpaint-biharmonic"
        )
    if mask is None:
        raise MethodError("inpaint-slices needs a mask: paint the hole on the slices to fill")
    holes = np.asarray(mask, bool)  # may be empty: a time point of a 4-D series with no holes
    setting = (order, positions_of(volume, ctx), shifts_of(ctx))
    reach = reach_mm / min((ctx.extras.get("geometry") or {}).get("pixel") or (1.0, 1.0))
    todo = [k for k in range(volume.shape[0]) if holes[k].any()]
    out = volume.copy()
    spread = np.zeros(holes.shape, np.float32)
    one_sided, deep = [], []  # holes with an intact slice on one side only; more than DEEP_HOLE deep
    fill_part = ctx.sub(0.0, 0.8)
    for n, k in enumerate(todo):
        part = fill_part.sub(n / len(todo), (n + 1) / len(todo))
        fill, spread[k], missing = yield from _fill(volume, holes, k, setting, reach, part)
        if missing is None:
            one_sided.append(k)
        elif missing > DEEP_HOLE:
            deep.append(k)
        out[k][holes[k]] = fill[holes[k]]
        yield part.progress(1.0, f"slice {k} filled")
    scale = yield from _calibration(volume, holes, todo, setting, reach, ctx.sub(0.8, 1.0))
    own = ctx.extras.setdefault(OWN_SPREAD, {"measure": SPREAD_MEASURE, "maps": [], "scales": []})
    scaled = spread * np.float32(scale or 1.0)
    scaled[one_sided] = spread[one_sided]  # the calibration holds for fills between two sides only
    own["maps"].append(scaled)
    if scale is not None:
        own["scales"].append(round(scale, 3))
        own["measure"] = f"{SPREAD_MEASURE}, {CALIBRATED} (x {', '.join(map(str, own['scales']))})"
    from core.repair.request import frame_runs

    if deep:
        ctx.note(
            f"the hole is more than {DEEP_HOLE} slices deep on slices {frame_runs(deep)} (from 0): its"
            " middle is the least sure, and the uncertainty map, calibrated on shallower fills, may read"
            " low there"
        )
    if one_sided:
        ctx.note(
            f"the hole reaches the end of the volume on slice{'s' if len(one_sided) > 1 else ''}"
            f" {frame_runs(one_sided)} (from 0): filled from the slices on one side only, where anatomy"
            " may end, so check them; their uncertainty is the whole difference to the slice's own fill"
        )
        if ONE_SIDED not in own["measure"]:
            own["measure"] += f"; {ONE_SIDED}"
    return out


def _fill(volume: np.ndarray, holes: np.ndarray, k: int, setting: tuple, reach: float, ctx: RunContext):
    """(slice `k` filled where its hole is, the spread of that fill (H, W)), both on the [0, 1] scale,
    and how many slices lie between the intact slices either side of the hole (None: an intact slice
    on one side only, the fill extrapolated)."""
    order, z, shifts = setting
    good = intact_slices(holes, k)
    below, above = nearest(good, k)
    sides = [j for j in (below, above) if j is not None]
    if not sides:
        raise MethodError(
            f"part of the hole on slice {k} is marked on every other slice too, so no slice shows what"
            " it hides: mark the damaged slices only (or give --frames), or use inpaint-biharmonic"
        )
    parts = [ctx.sub(i / 3, (i + 1) / 3) for i in range(3)]
    if below is not None and above is not None and order_across(order, above - below - 1) != order:
        ctx.record_setting("order_across_deep_holes", "shape-preserving cubic (PCHIP)")
    estimate = interpolate_slice(volume, np.asarray(good), k, order, z, shifts)
    fill = np.clip((yield from corrected(estimate, volume[k], holes[k], reach, parts[0])), 0.0, 1.0)
    # How sure: the fill against each neighbour alone, corrected alike.
    others = []
    for j, part in zip(sides, parts[1:]):
        others.append((yield from corrected(aligned(volume, j, k, shifts), volume[k], holes[k], reach, part)))
    if len(sides) < 2:
        # One neighbour: its fill is the fill, and a spread of zero would claim certainty where
        # the fill is extrapolated; the slice's own biharmonic fill is the other evidence, and the
        # whole difference to it the measure (a spread of the three read 7 times below the error
        # where a phantom ended inside the hole: a walk-through).
        own = yield from fill_regions(
            volume[k], holes[k], parts[2], _biharmonic, context=1.0, min_size=16, margin=8
        )
        return fill, np.where(holes[k], np.abs(fill - own).max(axis=-1), 0.0), None
    together = np.stack([fill, *others]).std(axis=0).max(axis=-1) * _bridge(z, below, above, k)
    return fill, np.where(holes[k], together, 0.0), above - below - 1


def _bridge(z: np.ndarray, below: int, above: int, k: int) -> float:
    """How far from both intact sides slice `k` lies, 1 half-way: t (1 - t) / 0.25 at the fraction
    t of the way (mm), the shape of an interpolation's error between two known slices. The spread
    across the fills is largest next to an intact slice, where a fill copies it and is nearly right,
    while a deep hole's error peaks in its middle (a walk-through: the map read backwards slice by
    slice; per-slice log correlation of map and error 0.91 -> 0.95, docs/benchmarks.md)."""
    t = float((z[k] - z[below]) / (z[above] - z[below]))
    return float(max(t * (1.0 - t), 0.0) / 0.25)


def _calibration(volume: np.ndarray, holes: np.ndarray, todo: list[int], setting: tuple, reach: float, ctx):
    """The factor that makes the spread's mean equal the mean absolute error on held-out fills: each of
    up to CALIBRATION_SLICES holes is also placed on the nearest intact slice with intact slices on
    both sides, filled the same way there, and compared with what that slice holds. None when no slice
    can be held out (or the spread there is nil)."""
    picks = todo[:: max(1, -(-len(todo) // CALIBRATION_SLICES))]
    error = spread = 0.0
    used: set[int] = set()
    for n, k in enumerate(picks):
        spare = _spare_slice(holes, k, used)
        if spare is None:
            continue
        used.add(spare)
        trial = holes.copy()
        trial[spare] = holes[k]
        part = ctx.sub(n / len(picks), (n + 1) / len(picks))
        fill, spread_there, _ = yield from _fill(volume, trial, spare, setting, reach, part)
        inside = holes[k]
        error += float(np.abs(fill - volume[spare]).max(axis=-1)[inside].sum())
        spread += float(spread_there[inside].sum())
    return error / spread if spread > 0 else None


def _spare_slice(holes: np.ndarray, k: int, used: set[int]) -> int | None:
    """The slice nearest `k` that has no hole, is not `used`, and with `k`'s hole on it would have intact
    slices on each side as far away as `k` has (else at any distance): the same fill, held out."""
    wanted = _sides_apart(holes, k)
    fallback = None
    for c in sorted(range(holes.shape[0]), key=lambda j: (abs(j - k), j)):
        if c == k or c in used or holes[c].any():
            continue
        trial = holes.copy()
        trial[c] = holes[k]
        apart = _sides_apart(trial, c)
        if apart == wanted:
            return c
        if fallback is None and None not in apart:
            fallback = c
    return fallback


def _sides_apart(holes: np.ndarray, k: int) -> tuple[int | None, int | None]:
    """How many slices away the intact slices below and above slice `k`'s hole are (None: none)."""
    below, above = nearest(intact_slices(holes, k), k)
    return (None if below is None else k - below), (None if above is None else above - k)


def every_hole_seen(holes: np.ndarray) -> bool:
    """Whether every slice's hole has another slice intact where it is (`intact_slices`), which the
    method needs: a detection that marked anatomy at much the same place on every slice has not.
    Each marked slice's grown hole is looked up at every slice's hole pixels at once (holes are a
    few percent of a scan: fast on a 300-slice CT, and memory stays small)."""
    from scipy import ndimage

    holes = np.asarray(holes) > 0
    count = holes.shape[0]
    flat = holes.reshape(count, -1)
    owner, where = np.nonzero(flat)  # every hole pixel: its slice and its place
    for k in np.unique(owner):
        near = ndimage.binary_dilation(holes[k], iterations=REACH).ravel()
        touched = np.bincount(owner[near[where]], minlength=count) > 0
        touched[k] = True
        if touched.all():
            return False
    return True


def intact_slices(holes: np.ndarray, index: int) -> list[int]:
    """The slices other than `index` that are intact where its hole is."""
    from scipy import ndimage

    near = ndimage.binary_dilation(holes[index], iterations=REACH)
    return [j for j in range(holes.shape[0]) if j != index and not (holes[j] & near).any()]


def nearest(good: list[int], index: int) -> tuple[int | None, int | None]:
    below = [j for j in good if j < index]
    above = [j for j in good if j > index]
    return (below[-1] if below else None), (above[0] if above else None)


register(
    MethodCard(
        id="inpaint-slices",
        task="inpaint",
        name="Inpainting from neighbouring slices",
        kind="classical",
        description=(
            "Fills a hole in a slice from the same place in the slices above and below (spacing and tilt "
            "aware), matched to the slice at the hole's edge. Validated on CT (head CT series, shear.nii.gz) "
            "and MR (FLAIR.nii.gz) slices, where it beats biharmonic inside the hole; needs a volume."
        ),
        modalities=("ct", "mr", "scan"),
        params=(
            Param(
                "order",
                "cubic",
                "interpolation across the slices (cubic: shape-preserving across holes more than"
                f" {DEEP_HOLE} slices deep, where a spline swings beyond both sides)",
                choices=("linear", "cubic"),
            ),
            Param(
                "reach_mm",
                2.0,
                "how far into the hole the slice's own level at its edge is carried (mm)",
                0.1,
                50.0,
            ),
            *MASK_PARAMS,
        ),
        speed="medium",
        needs_mask=True,
        operates_on="volume",
        scan_default=True,
    ),
    _run,
)

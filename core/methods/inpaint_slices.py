"""inpaint-slices: a hole in a slice of a scan filled from the same place in the slices around it.

In a CT or MR volume the anatomy under a hole is still there, a few millimetres away, in the slices
above and below. The slices intact where the hole is are interpolated at the slice's position in mm
(cubic through two each side, or linear between the nearest), each first brought onto the slice's
grid (a tilted series' slices are offset in-plane), exactly as fill-slice does
(core.methods.fill_slice.interpolate_slice). Anatomy changes between slices, so the estimate is
corrected to agree with the slice itself at the hole's edge: the difference between the slice and the
estimate around the hole is continued into it (biharmonic, the solver of inpaint-biharmonic), fading
over `reach_mm`. Carried further, that edge difference mostly carries the misregistration of sharp
edges (bone, skin) between slices: measured on the shared CT and MR volumes, a 2 mm fade beat both no
correction and a correction carried through the whole hole (docs/benchmarks.md).

A hole at the same place on the next slice is skipped over (the next intact slice is used). A single
image has no neighbours: the method refuses it, and the scan default falls back to biharmonic with a
note (core.methods.choose_method).

How sure: the spread between the fill and the fills from the slice below alone and from the slice
above alone (each corrected alike), in the scan's units (core.repair.uncertainty): it grows where the
anatomy changes between slices. Adding the biharmonic fill of the slice by itself to the spread was
tried and dropped: it made the map 1.5-6 times the real error and correlate less with it (measured on
the bench's held-back slices, docs/benchmarks.md); it is used only where a hole has an intact slice on
one side alone (the volume's end, a run of holed slices), where the two fills would be the same.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.errors import MethodError
from core.methods.crops import fill_regions
from core.methods.fill_slice import aligned, interpolate_slice, positions_of, shifts_of
from core.methods.inpaint import MASK_PARAMS
from core.methods.registry import OWN_SPREAD, MethodCard, Param, register
from core.runtime.context import Progress, RunContext

SPREAD_MEASURE = "standard deviation across the fill and the fills from the slice below and above alone"
REACH = 4  # pixels a neighbour must be intact around the hole (a tilt offsets slices a few pixels)


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
    z, shifts = positions_of(volume, ctx), shifts_of(ctx)
    reach = reach_mm / min((ctx.extras.get("geometry") or {}).get("pixel") or (1.0, 1.0))
    todo = [k for k in range(volume.shape[0]) if holes[k].any()]
    out = volume.copy()
    spread = np.zeros(holes.shape, np.float32)
    for n, k in enumerate(todo):
        good = intact_slices(holes, k)
        sides = [j for j in nearest(good, k) if j is not None]
        if not sides:
            raise MethodError(
                f"the hole on slice {k} is painted at the same place on every slice, so no slice shows "
                "what it hides: paint the damaged slices only (or give --frames), or use inpaint-biharmonic"
            )
        parts = [ctx.sub((n + i / 3) / len(todo), (n + (i + 1) / 3) / len(todo)) for i in range(3)]
        estimate = interpolate_slice(volume, np.asarray(good), k, order, z, shifts)
        fill = yield from corrected(estimate, volume[k], holes[k], reach, parts[0])
        out[k][holes[k]] = np.clip(fill, 0.0, 1.0)[holes[k]]
        # How sure: the fill against each neighbour alone, corrected alike.
        others = []
        for j, part in zip(sides, parts[1:]):
            others.append(
                (yield from corrected(aligned(volume, j, k, shifts), volume[k], holes[k], reach, part))
            )
        if len(sides) < 2:
            # One neighbour: its fill is the fill, and a spread of zero would claim certainty where
            # the fill is extrapolated; the slice's own biharmonic fill is the other evidence.
            own = yield from fill_regions(
                volume[k], holes[k], parts[2], _biharmonic, context=1.0, min_size=16, margin=8
            )
            others.append(own)
        together = np.stack([out[k], *others]).std(axis=0).max(axis=-1)
        spread[k] = np.where(holes[k], together, 0.0)
        yield ctx.progress((n + 1) / len(todo), f"slice {k} filled from slices {', '.join(map(str, sides))}")
    ctx.extras.setdefault(OWN_SPREAD, {"measure": SPREAD_MEASURE, "maps": []})["maps"].append(spread)
    return out


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
            Param("order", "cubic", "interpolation across the slices", choices=("linear", "cubic")),
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

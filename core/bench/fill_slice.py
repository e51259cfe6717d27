"""`lacuna bench fill-slice`: missing slices rebuilt in real volumes, scored in the volume's own units.

Protocol (the datasets README's): from each volume, interior slices whose spacing to both neighbours is
even (within 1%) are removed, every `--every`-th of them (2: every other one), and blanked in the copy
the methods see; each method rebuilds them; PSNR over the rebuilt slices with the volume's value range
as peak, SSIM per slice (mean) and the mean absolute error in the volume's units (HU for CT). Linear and
cubic interpolation are always reported.

With `--thin K`, thinner slices instead (core.repair.thinning): every K-th slice is kept (a thick
acquisition, K times the spacing), the methods thin it back by K (`thin=K`), and the inserted slices
are scored against the slices that were there, wherever an inserted slice lands on one (within 1% of
the spacing; not where the spacing was uneven). `--thick` also blurs the volume through-plane by the
profile of slices K times as thick before keeping every K-th (what a thick acquisition shows; the
methods are told the thicker slices), while the truth stays the thin slices.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from core.bench.common import check_methods, emit

BASELINES = [
    ("linear", "fill-slice-interp", {"order": "linear"}),
    ("cubic", "fill-slice-interp", {"order": "cubic"}),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench fill-slice", description=__doc__)
    p.add_argument(
        "--set", nargs="+", required=True, help="volumes: NIfTI files, DICOM files or series folders"
    )
    p.add_argument("--every", type=int, default=2, help="remove every N-th evenly spaced interior slice")
    p.add_argument(
        "--thin", type=int, default=0, metavar="K", help="keep every K-th slice and thin back by K"
    )
    p.add_argument("--thick", action="store_true", help="with --thin: blur through-plane as K times thicker")
    p.add_argument("--method", nargs="*", default=["fill-slice-flow", "fill-slice-self"])
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="for methods that take K")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    return p


def removable(positions: np.ndarray, every: int) -> list[int]:
    """Interior slices with even spacing either side, every `every`-th one, none adjacent to another."""
    steps = np.diff(positions)
    even = [k for k in range(2, len(positions) - 2) if abs(steps[k - 1] - steps[k]) <= 0.01 * abs(steps[k])]
    chosen: list[int] = []
    for k in even[:: max(every, 1)]:
        if not chosen or k - chosen[-1] >= 2:
            chosen.append(k)
    return chosen


def scores(truth: np.ndarray, rebuilt: np.ndarray, peak: float) -> tuple[float, float, float]:
    """PSNR (dB, peak = the volume's range), mean SSIM per slice and MAE, in the volume's units."""
    from skimage.metrics import structural_similarity

    err = rebuilt.astype(np.float64) - truth.astype(np.float64)
    psnr = 10 * np.log10(peak**2 / max(float(np.mean(err**2)), 1e-12))
    ssim = np.mean(
        [structural_similarity(t[..., 0], r[..., 0], data_range=peak) for t, r in zip(truth, rebuilt)]
    )
    return float(psnr), float(ssim), float(np.abs(err).mean())


def missing_case(doc, every: int) -> tuple[Any, dict[str, Any], list[tuple[int, int]]] | None:
    """(what the methods see, their parameters, (rebuilt slice, true slice) pairs) for missing slices."""
    from core.repair.frames import stack_geometry

    positions = np.asarray(stack_geometry(doc, doc.stacks()[0])["positions"])
    gone = removable(positions, every)
    if not gone:
        return None
    blanked = doc.pixels.copy()
    blanked[gone] = float(doc.pixels.min())
    seen = doc.with_pixels(blanked)
    seen.stored_range = (float(doc.pixels.min()), float(doc.pixels.max()))  # the true volume's range
    return seen, {"slices": ",".join(map(str, gone))}, [(k, k) for k in gone]


def thick_case(doc, k: int, thick: bool) -> tuple[Any, dict[str, Any], list[tuple[int, int]]] | None:
    """(every k-th slice, as a thick acquisition, thin=k, (inserted slice, true slice) pairs)."""
    from scipy.ndimage import gaussian_filter1d

    from core.methods.fill_slice_self import profile_sigma
    from core.repair.frames import stack_geometry
    from core.repair.thinning import plan

    geometry = stack_geometry(doc, doc.stacks()[0])
    z = np.asarray(geometry["positions"])
    kept = list(range(0, (len(z) - 1) // k * k + 1, k))
    if len(kept) < 2:
        return None
    pixels = doc.pixels
    thickness = float(geometry["thickness"])
    if thick:  # the profile of slices k times as thick, beyond the slices' own (in slices)
        pixels = gaussian_filter1d(pixels, profile_sigma(k * thickness, thickness), axis=0, mode="nearest")
    seen = doc.with_pixels(pixels[kept])
    seen.positions = [float(v) for v in z[kept]]
    seen.spacing = (float(np.median(np.diff(z[kept]))), *doc.spacing[1:])
    seen.metadata["slice_thickness"] = k * thickness if thick else thickness
    offsets = doc.metadata.get("inplane_offsets_mm") or []
    if len(offsets) == doc.frames:
        seen.metadata["inplane_offsets_mm"] = [offsets[i] for i in kept]
    new = plan(z[kept], thin=k)
    step = float(np.median(np.diff(z)))
    pairs = []
    for i in new.inserted:
        j = int(np.argmin(np.abs(z - new.positions[i])))
        if abs(z[j] - new.positions[i]) <= 0.01 * step:
            pairs.append((i, j))
    return (seen, {"thin": k}, pairs) if pairs else None


def main(argv: list[str] | None = None) -> int:
    from core.io import read
    from core.methods import get_method
    from core.repair import run_repair
    from core.repair_cli import parse_params
    from core.runtime.context import RunContext

    args = build_parser().parse_args(argv)
    extra = check_methods(args.method, "fill-slice")
    params = parse_params(args.param)
    methods = [*BASELINES, *[(m.removeprefix("fill-slice-"), m, {}) for m in extra]]
    rows: list[dict[str, Any]] = []
    totals: dict[str, list[float]] = {label: [] for label, _, _ in methods}
    for path in args.set:
        doc = read(path)
        case = thick_case(doc, args.thin, args.thick) if args.thin > 1 else missing_case(doc, args.every)
        if case is None:
            continue
        seen, asked, pairs = case
        truth = doc.pixels[[j for _, j in pairs]]
        lo, hi = float(doc.pixels.min()), float(doc.pixels.max())
        row: dict[str, Any] = {"volume": str(path).rstrip("/").split("/")[-1], "scored": len(pairs)}
        for label, method_id, fixed in methods:
            # --param values go to the methods that take them (the rebuilt slices and fixed settings stay).
            takes = {p.name for p in get_method(method_id).card.params} - set(fixed) - set(asked)
            own = {k: v for k, v in params.items() if k in takes}
            started = time.monotonic()
            out = run_repair(
                seen, "fill-slice", method=method_id, ctx=RunContext(seed=args.seed), **asked, **fixed, **own
            )
            seconds = time.monotonic() - started
            rebuilt = [i for i, _ in pairs]
            psnr, ssim, mae = scores(truth, out.pixels[rebuilt], hi - lo)
            row[f"{label} PSNR / SSIM / MAE"] = f"{psnr:.2f} / {ssim:.4f} / {mae:.2f}"
            if out.uncertainty is not None:  # what the uncertainty map says of the same slices
                row[f"{label} map mean"] = round(float(out.uncertainty[rebuilt].mean()), 2)
            row[f"{label} s"] = round(seconds, 1)
            totals[label].append(psnr)
        rows.append(row)
    summary = {f"{label} mean PSNR": round(float(np.mean(v)), 3) for label, v in totals.items() if v}
    if args.thin > 1:
        title = f"Thinner slices: one slice in {args.thin} kept{' (blurred as thick)' if args.thick else ''}"
        title += f", thinned back by {args.thin}, inserted slices scored"
    else:
        title = f"Missing slices, every {args.every} of the evenly spaced interior slices removed"
    emit(rows, summary, args.json, title)
    return 0

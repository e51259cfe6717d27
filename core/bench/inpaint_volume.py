"""`lacuna bench inpaint --set VOLUME`: holes in held-back slices of a scan, scored in the scan's units.

    lacuna bench inpaint --set ../shared/datasets/medical/head_ct_ge --masks medium --limit 6
    lacuna bench inpaint --set ../shared/datasets/medical/FLAIR.nii.gz --method inpaint-slices inpaint-ns

Protocol (core.bench.scan_slices): up to `--limit` (default 6) interior slices with a fair share of body,
evenly spread and none adjacent, each get a LaMa-style hole (`random_mask(kind, seed=slice index)`)
kept inside the body; every method fills them in one repair of the whole volume, as a user's would
(methods for single images fill each holed slice; methods for volumes also see the intact slices
around). Scores inside the holes only, pooled over all of them: MAE and RMSE in the volume's units
(HU for CT) and PSNR with the volume's value range as the peak; seconds per volume.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from core.bench.scan_slices import body_masks, errors, held_back, hole_in_body
from core.methods.modality import is_ct

DEFAULT_SLICES = 6


def holes(document, kind: str, limit: int) -> tuple[list[int], np.ndarray]:
    """The held-back slices and the (frames, H, W) bool mask of their holes."""
    bodies = body_masks(document.pixels)
    chosen = held_back(bodies, limit or DEFAULT_SLICES)
    mask = np.zeros(bodies.shape, bool)
    for k in chosen:
        mask[k] = hole_in_body(bodies[k], kind, seed=k)
    return chosen, mask


def run(args, document, name: str, plan: list, params: dict) -> tuple[list[dict], list, dict]:
    """`bench inpaint` on a volume: (a row per masks and method, the figure rows, each held-back
    slice's MAE per method)."""
    from core.bench.common import backend_contexts
    from core.methods import get_method
    from core.repair import run_repair
    from core.repair.units import unit_name

    contexts = backend_contexts(args, plan)
    peak = float(np.subtract(*document.value_range[::-1])) or 1.0
    units = unit_name(document)
    rows, figure_rows, per_slice = [], [], {}
    for kind in args.masks:
        chosen, mask = holes(document, kind, args.limit)
        outputs = {}
        for label, method_id, backend in plan:
            takes = {p.name for p in get_method(method_id).card.params}
            own = {k: v for k, v in params.items() if k in takes}
            started = time.perf_counter()
            ctx = contexts[backend]
            result = run_repair(document, "inpaint", method=method_id, mask=mask, ctx=ctx, **own)
            seconds = time.perf_counter() - started
            out = result.pixels
            scores = errors(document.pixels[..., 0], out[..., 0], mask, peak)
            rows.append(
                {
                    "volume": name,
                    "masks": kind,
                    "method": label,
                    "slices": len(chosen),
                    "hole pixels": int(mask.sum()),
                    f"MAE ({units})": round(scores["mae"], 2),
                    f"RMSE ({units})": round(scores["rmse"], 2),
                    "PSNR hole (dB)": round(scores["psnr"], 2),
                    # what the uncertainty map says of the same holes (its mean there), beside the real MAE
                    f"map mean ({units})": _map_mean(result, mask),
                    "s": round(seconds, 1),
                }
            )
            for k in chosen:
                one = errors(document.pixels[k, ..., 0], out[k, ..., 0], mask[k], peak)
                per_slice.setdefault(f"{kind} slice {k}", {})[label] = round(one["mae"], 2)
            outputs[label] = out[chosen[0]].astype(np.float64)
        if kind == args.masks[0]:
            truth = document.pixels[chosen[0]].astype(np.float64)
            sample = {"truth": truth, "show": display_window(document, truth)}
            figure_rows.append((sample, mask[chosen[0]], outputs))
    return rows, figure_rows, per_slice


def _map_mean(result, mask: np.ndarray) -> float | None:
    spread = getattr(result, "uncertainty", None)
    return None if spread is None or spread.shape != mask.shape else round(float(spread[mask].mean()), 2)


def display_window(document, plane: np.ndarray) -> tuple[float, float]:
    """The file's window, else a soft-tissue window on CT, else the 1st..99th percentile."""
    if getattr(document, "window", None):
        centre, width = document.window
        return centre - width / 2.0, centre + width / 2.0
    if is_ct(document):
        return -160.0, 240.0  # centre 40, width 400 HU
    lo, hi = np.percentile(plane, (1, 99))
    return float(lo), float(hi)


def print_table(title: str, rows: list[dict[str, Any]], per_slice: dict | None = None) -> None:
    print(f"## {title}\n")
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    if per_slice:
        labels = list(next(iter(per_slice.values())))
        print("\nMAE per slice:\n\n| slice | " + " | ".join(labels) + " |")
        print("|" + "---|" * (len(labels) + 1))
        for where, maes in per_slice.items():
            print(f"| {where} | " + " | ".join(str(maes[label]) for label in labels) + " |")

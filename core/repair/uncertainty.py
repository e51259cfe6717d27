"""How sure a fill on a scan is: the spread of independent fills of the same hole, in the scan's units.

A fill is a guess constrained by its surroundings. Where the model-free fills of a task (biharmonic,
Navier-Stokes and Telea for inpainting; interpolation and optical flow for missing slices) agree
with the method that ran, the surroundings determined the result; where they disagree, the fill is
one guess among several. The map is the per-pixel standard deviation across the fill that ran and
those alternatives, over the pixels the repair changed (0 elsewhere), in document units (HU on CT).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import numpy as np

from core.methods import get_method, methods
from core.methods.registry import OWN_SPREAD
from core.repair.request import Request
from core.repair.units import unit_name
from core.runtime.context import Progress

FILL_TASKS = ("inpaint", "fill-slice")


def alternatives(task: str, chosen: str) -> list[str]:
    """The model-free, non-iterative methods of `task` other than the one that ran that work like it
    (on single slices, or on whole volumes)."""
    works_on = get_method(chosen).card.operates_on
    return [
        c.id
        for c in methods(task)
        if c.kind == "classical" and c.id != chosen and c.available and c.operates_on == works_on
    ]


def fill_spread(
    request: Request, result: Any, driver: Callable[[Request], Generator[Progress, None, Any]]
) -> Generator[Progress, None, tuple[np.ndarray, dict[str, Any]] | None]:
    """(the uncertainty map (frames, H, W) float32, its summary for the record), or None."""
    own = request.ctx.extras.pop(OWN_SPREAD, None)  # popped first: a reused context must not keep it
    changed = getattr(result, "changed", None)
    if changed is None or not changed.any():
        return None
    if own is not None:  # a method that measures itself (inpaint-slices)
        lo, hi = request.document.value_range
        spread = np.concatenate(own["maps"]) * np.float32((hi - lo) or 1.0)
        return _summarised(spread, changed, own["measure"], request.document)
    others = alternatives(request.task.id, request.method.card.id)
    if not others:
        return None
    fills = [result.pixels]
    for n, method_id in enumerate(others):
        method = get_method(method_id)
        given = {k: v for k, v in request.params.items() if k in {p.name for p in method.card.params}}
        span = (n / len(others), (n + 1) / len(others))
        alt = replace(
            request, method=method, params=method.card.resolve_params(given), ctx=request.ctx.sub(*span)
        )
        other = yield from _said_as(driver(alt), f"how sure the fill is: compared with {method_id}")
        if other.pixels.shape != result.pixels.shape:
            return None
        fills.append(other.pixels)
    spread = np.stack(fills).std(axis=0).max(axis=-1).astype(np.float32)
    measure = "standard deviation across fills by " + ", ".join([request.method.card.id, *others])
    return _summarised(spread, changed, measure, request.document)


def _said_as(run: Generator[Progress, None, Any], what: str) -> Generator[Progress, None, Any]:
    """`run`'s reports with `what` before their message: an alternative fill's "slice 4 refilled"
    read as the repair running twice (a walk-through)."""
    try:
        while True:
            try:
                report = next(run)
            except StopIteration as done:
                return done.value
            yield replace(report, message=f"{what}: {report.message}" if report.message else what)
    finally:
        run.close()  # a cancel closes this generator: the fill it relays stops too


def _summarised(spread: np.ndarray, changed: np.ndarray, measure: str, document: Any):
    spread = spread.astype(np.float32)
    spread[~changed] = 0.0
    inside = spread[changed]
    summary = {
        "measure": measure,
        "units": unit_name(document),
        "mean": round(float(inside.mean()), 3),
        "max": round(float(inside.max()), 3),
        "pixels": int(changed.sum()),
    }
    return spread, summary

"""When the engine measures a method's speed on this machine (the figures: core.runtime.speed).

Before the first run of an image method on a (device, backend) not measured yet, `first_run_calibration`
runs it on a small bundled picture through the same `repair` path (a first run warms up: weights, ONNX
export) and stores the fastest of the timed runs (core.runtime.speed.time_run). Zero-shot methods are
measured by their first real run instead (`measure_real_run`). LACUNA_SPEED_CALIBRATION=off turns both
off (the test suite does).
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator

from core.documents import Document, ImageDoc
from core.errors import LacunaError
from core.runtime import speed
from core.runtime.context import Progress, RunContext

CALIBRATING = "calibrating"  # marks the context of a calibration run, which is not itself calibrated
MEASURING_SECONDS = "speed_measurement_seconds"  # how long the run's speed measurement took, if it had one


def _where(card, ctx: RunContext) -> tuple[str, str] | None:
    """(device, backend) the method would be measured on, or None when it is not measured this way."""
    if os.environ.get("LACUNA_SPEED_CALIBRATION", "on").strip().lower() in ("off", "0", "no"):
        return None
    if ctx.extras.get(CALIBRATING) or card.operates_on != "image":
        return None
    if card.kind == "classical":
        return "cpu", speed.NO_NETWORK
    device = ctx.torch_device().type
    if card.kind != "learned":  # zero-shot: fitted with torch on the device, not through the backends
        return device, speed.NO_NETWORK
    from core.runtime.backends import choose_backend

    return device, choose_backend(ctx.backend, device, ctx.precision)


def first_run_calibration(card, document: Document, ctx: RunContext) -> Generator[Progress, None, None]:
    where = _where(card, ctx) if card.kind != "zero-shot" and document.kind in ("image", "volume") else None
    if where is None or speed.is_measured(card.id, *where):
        return
    yield ctx.progress(  # up to a minute on a CPU, once: said how to skip it (docs/install.md)
        0.0, "measuring this method's speed on this machine (once; LACUNA_SPEED_CALIBRATION=off skips it)"
    )
    from core.repair import run_repair

    channels = 3 if document.pixels.shape[-1] >= 3 else 1
    # An enlarging method gets a smaller picture, so that its output, whose megapixels the figure
    # counts, is no larger than another method's (a walk-through's first x2 upscale measured for
    # 38.8 s before an 8.8 s job: it enlarged the whole 512x512 picture).
    side = speed.SIDE * speed.TILES // max(int(card.resolve_params({}).get("scale", 1) or 1), 1)
    pixels = speed.calibration_image(channels)[:side, :side][None] * 255.0
    sample = ImageDoc(pixels=pixels, dtype="uint8", mode="RGB" if channels == 3 else "L")
    mask = speed.calibration_mask() if card.needs_mask else None
    probe = RunContext(device=ctx.device, precision=ctx.precision, backend=ctx.backend)
    probe.extras[CALIBRATING] = True

    def run_once():
        return run_repair(sample, card.task, method=card.id, mask=mask, ctx=probe).pixels[0]

    started = time.monotonic()
    try:
        seconds, megapixels = speed.time_run(run_once)
    except LacunaError:  # the method refuses the sample (a parameter it needs): the real run will tell
        return
    # said apart from the run's own time (a walk-through read 82 s for a 7 s upscale)
    ctx.extras[MEASURING_SECONDS] = time.monotonic() - started
    speed.record(card.id, *where, seconds, megapixels)
    ctx.restart_clock()  # the ETA of the real run starts now


def measure_real_run(card, document: Document, result: Document, ctx: RunContext, seconds: float) -> None:
    """A zero-shot method's first run here is its measurement."""
    where = _where(card, ctx) if card.kind == "zero-shot" and result.kind in ("image", "volume") else None
    if where is None or speed.is_measured(card.id, *where):
        return
    frames, height, width = result.pixels.shape[:3]
    speed.record(card.id, *where, seconds, frames * height * width / 1e6)

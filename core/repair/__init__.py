"""The one entry point used by the CLI and the desktop: repair(document, task, ...).

`repair` is a generator: it yields `Progress` after each tile or iteration and returns the repaired
document (a new object; the input document is never modified). Drive it with `run_repair` when
progress is not needed. Cancel by closing the generator or setting `ctx.cancel_event`.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import numpy as np

from core.documents import AudioDoc, Document, ImageDoc, Provenance, VolumeDoc
from core.errors import MethodError
from core.io.provenance import source_of
from core.methods import choose_method
from core.methods.modality import is_scan, modality_of, slice_count, slices_showing
from core.methods.modality import warning as modality_warning
from core.repair import calibrate, hints, thinning, uncertainty, units
from core.repair.audio import bands_of, changed_seconds, repair_audio
from core.repair.calibrate import first_run_calibration, measure_real_run
from core.repair.frames import denormalise, normalise, repair_frames
from core.repair.request import Request, check_fits, check_frames, describe_frames, frame_runs
from core.runtime.context import SETTINGS, WARNINGS, Progress, RunContext, drive
from core.tasks import task as get_task
from core.version import __version__


def _repair_video(request: Request) -> Generator[Progress, None, Document]:
    from core.video.drive import repair_video  # PyAV is an optional extra: imported for videos only

    r = request
    return (yield from repair_video(r.document, r.method, r.mask, r.ctx, r.frames, r.params, r.task.resizes))


# How each kind of document is repaired: a driver per `Document.kind` (a new kind registers its own).
DRIVERS: dict[str, Callable[[Request], Generator[Progress, None, Document]]] = {
    "image": repair_frames,
    "volume": repair_frames,
    "audio": repair_audio,
    "video": _repair_video,
}


def repair(
    document: Document,
    task: str,
    method: str | None = None,
    mask: np.ndarray | None = None,
    ctx: RunContext | None = None,
    frames: list[int] | None = None,
    **params: Any,
) -> Generator[Progress, None, Document]:
    """Repair `document` for `task` with `method` (the task's default if None).

    `mask`: the painted alpha, (H, W) or (frames, H, W), applied by the mask contract
    (core.repair.masks: non-zero = repair, dilate, feather, the rest kept); for audio, the selection the
    audio methods document. `frames`: only these frames of a volume (default: all).
    """
    task_info = get_task(task)
    given = document  # before thinning inserts blank slices (which hold the padding value)
    check_frames(document, frames)
    ctx = ctx or RunContext()
    ctx.restart_clock()
    modality = modality_of(document)
    # what the default's choice needs to know (it weighs the mask, so only without a named method)
    slices = slices_showing(document, mask, frames, params) if method is None else slice_count(document)
    chosen, fallback = choose_method(task, method, modality, slices)
    if fallback:
        ctx.note(fallback)
    card = chosen.card
    caution = modality_warning(card, modality)
    if caution:
        ctx.note(caution)
    check_fits(card, task, document, mask, named=method is not None)
    if task_info.proposes_mask:
        raise MethodError(f"{task} proposes a mask and repairs nothing: use `lacuna {task}` or --{task}")
    if not card.available:
        raise MethodError(f"method {card.id!r} cannot run: {card.unavailable_reason}")
    resolved = card.resolve_params(units.to_method_scale(card, params, document))
    ctx.used.clear()
    ctx.extras.pop(SETTINGS, None)  # a reused context must not carry the last run's
    ctx.extras.pop(WARNINGS, None)
    ctx.extras.pop(calibrate.MEASURING_SECONDS, None)
    recorded = dict(resolved)
    if thinning.asked(resolved):  # new slices between the volume's own, rebuilt as missing ones
        if mask is not None or frames is not None:
            raise MethodError("thinner slices are made for the whole volume: clear the mask and slice range")
        if resolved.get("slices"):
            raise MethodError("name slices to refill, or ask for thinner slices (thin, spacing), not both")
        before = document
        document, layout = thinning.thinned(before, resolved["thin"], resolved["spacing"], card.id)
        resolved["slices"] = ",".join(map(str, layout.inserted))
        recorded.update(thinning.record(before, document, layout))
        ctx.note(thinning.summary(layout, resolved["thin"]))
    elif task_info.id == "fill-slice" and thinning.fills_gaps(document, resolved, mask, frames):
        before = document
        document, layout = thinning.thinned(before, method=card.id, gaps=True)
        resolved["slices"] = ",".join(map(str, layout.inserted))
        recorded.update(thinning.record(before, document, layout))
        ctx.note(
            f"put back {len(layout.inserted)} missing slice{'s' if len(layout.inserted) != 1 else ''}"
            f" where the series has gaps ({_gaps_named(before)})"
        )
    elif (
        frames is not None
        and mask is None
        and "slices" in {p.name for p in card.params}
        and not resolved.get("slices")
    ):
        # the frames asked for are the slices to refill (walk-through 53: `--frames 70` was ignored,
        # then refused; only `--param slices=70` refilled the slice)
        resolved["slices"] = recorded["slices"] = ",".join(map(str, frames))
    provenance = Provenance(
        method=card.id,
        task=task,
        params=recorded,
        warnings=[caution] if caution else [],
        source=source_of(document),
        version=__version__,
        date=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        selection=describe_frames(frames) if frames is not None else "",
    )

    driver = DRIVERS.get(document.kind)
    if driver is None:
        raise MethodError(f"Lacuna cannot repair a {document.kind} document")
    measure = is_scan(modality) and task_info.id in uncertainty.FILL_TASKS
    request = Request(
        document, task_info, chosen, resolved, mask, frames, ctx.sub(0, 0.7) if measure else ctx
    )
    yield from first_run_calibration(card, document, ctx)
    started = time.perf_counter()
    result = yield from driver(request)
    measure_real_run(card, document, result, ctx, time.perf_counter() - started)
    provenance.params.update(units.used_values(card, ctx.used, resolved, document))
    provenance.params.update(ctx.extras.pop(SETTINGS, {}))
    provenance.warnings.extend(ctx.extras.pop(WARNINGS, []))
    provenance.engine = ctx.extras.get("backend", "")
    if mask is None and not resolved.get("slices"):  # a whole-picture filter, not a fill asked for
        kept = _keep_padding(given, result)
        if kept:
            provenance.params["kept_outside"] = kept
            ctx.note(kept)
    _mark_changed(document, result)
    if document.kind == "video":
        provenance.changed_frames = changed_frames(result)
    if document.kind == "audio":
        provenance.changed_seconds = changed_seconds(document, result)
        provenance.selection = bands_of(document, mask)  # a band fill left the other frequencies
    if changed_nothing(document, result):
        said = f"{card.id} changed nothing that the file can hold: the result equals the input"
        ctx.note(said)
        provenance.warnings.append(said)
    for said in (
        hints.fine_noise(task_info.id, document, result, provenance.params, frames),
        hints.photo_noise(task_info.id, document, provenance.params),
        hints.no_blocking(task_info.id, given),
        hints.smooth_fill(card.id, given, mask, float(resolved.get("grain", 0.0))),
    ):
        if said:
            ctx.note(said)
    if measure:  # every fill on a scan comes with how sure it is
        yield ctx.progress(0.7, "measuring how sure the fill is")
        spread = yield from uncertainty.fill_spread(replace(request, ctx=ctx.sub(0.7, 1.0)), result, driver)
        if spread is not None:
            result.uncertainty, provenance.uncertainty = spread
    elif getattr(result, "uncertainty", None) is not None:
        result.uncertainty = None  # an earlier fill's map no longer describes these pixels
    result.provenance = [*document.provenance, provenance]
    if getattr(result, "pending", None) is None:  # a streamed video is done once written
        yield ctx.progress(1.0, "done")
    return result


def changed_frames(video: Any) -> str:
    """Which frames of a repaired video are rebuilt or may change, grouped by why, for its record:
    '3 frames: 40-41 (inserted), 12 (duplicate), counted from 0'."""
    planned = video.planned()
    if not planned:
        return ""
    by_note: dict[str, list[int]] = {}
    for index in planned:
        by_note.setdefault(video.slots[index].note or "repaired", []).append(index)
    parts = [f"{frame_runs(frames)} ({note})" for note, frames in by_note.items()]
    text = f"{len(planned)} frame{'s' if len(planned) > 1 else ''}: {', '.join(parts)}, counted from 0"
    if video.info.sequence and len(planned) <= 20:  # a scan's frames are known by their file names
        from core.video.write_sequence import frame_names

        name_of = frame_names(video)
        text += f" (as files: {', '.join(name_of(i, video.slots[i].pts) for i in planned)})"
    return text


def _keep_padding(before: Document, after: Document) -> str:
    """What lies outside a scan's body (its padding value, a masked volume's background) stays
    exactly as it was after a whole-picture filter (core.repair.outside); what was kept, if the
    filter had changed any of it ("" if not)."""
    from core.repair.outside import outside_of

    old, new = getattr(before, "pixels", None), getattr(after, "pixels", None)
    if old is None or new is None or old.shape != new.shape:
        return ""
    outside, what = outside_of(before)
    if outside is None:
        return ""
    changed = int(np.count_nonzero((new != old).any(axis=-1) & outside))
    if not changed:
        return ""
    after.pixels = np.where(outside[..., None], old, new)
    total = int(np.count_nonzero(outside))
    return f"the {what} kept as it was on all {total} of its voxels (the filter had changed {changed})"


def _mark_changed(before: Document, after: Document) -> None:
    """Record in `after` which pixels differ from `before` (and were changed by earlier repairs)."""
    if not hasattr(after, "changed"):  # documents not made of frames (audio, video)
        return
    old, new = getattr(before, "pixels", None), getattr(after, "pixels", None)
    if old is None or new is None or old.shape != new.shape:
        after.changed = None  # resized or not made of pixels: the whole picture is derived
        return
    now = np.any(new != old, axis=-1)
    earlier = getattr(before, "changed", None)
    after.changed = now if earlier is None or earlier.shape != now.shape else (now | earlier)


def stored_step(doc: Document) -> float | None:
    """The smallest change a saved file of `doc` keeps, in its units (8/16-bit pixels: 1; a DICOM
    slice: its rescale slope); None where any change is kept (float data, a recording)."""
    if getattr(doc, "dtype", None) in ("uint8", "uint16"):
        return 1.0
    slopes = {slope for slope, _ in (getattr(doc, "metadata", None) or {}).get("rescale") or []}
    return float(slopes.pop()) if doc.format == "DICOM" and len(slopes) == 1 else None


def changed_nothing(before: Document, after: Document) -> bool:
    """Whether saving `after` would give back `before`: no value moved by half a stored step (a
    denoiser that estimated 0.15 HU of noise in a CT). Documents of other shapes changed."""
    old = getattr(before, "pixels", getattr(before, "samples", None))
    new = getattr(after, "pixels", getattr(after, "samples", None))
    if old is None or new is None or old.shape != new.shape:
        return False
    largest, step = _largest_change(old, new), stored_step(before)
    return largest == 0.0 or (step is not None and largest < step / 2)


CHUNK = 1 << 22  # values compared at a time: a gigapixel picture's difference never exists whole


def _largest_change(old: np.ndarray, new: np.ndarray) -> float:
    """The largest |new - old| of two arrays of one shape, a chunk at a time."""
    flat_old, flat_new = old.reshape(-1), new.reshape(-1)
    largest = 0.0
    for start in range(0, flat_old.size, CHUNK):
        chunk = np.abs(flat_new[start : start + CHUNK] - flat_old[start : start + CHUNK])
        largest = max(largest, float(chunk.max()))
    return largest


def run_repair(
    document: Document,
    task: str,
    on_progress: Callable[[Progress], None] | None = None,
    **kwargs: Any,
) -> Document:
    """Drive `repair` to the end, calling `on_progress` for each report."""
    return drive(repair(document, task, **kwargs), on_progress)


def _gaps_named(document: Any) -> str:
    """Where a series' gaps are, by the position the app's slice bar shows (the app counts slices from
    1, the command line from 0: a walk-through read the same gaps as "4, 18" and "3, 17")."""
    positions = list(getattr(document, "positions", []))
    if len(positions) != document.frames:
        return f"after slices {', '.join(map(str, document.gaps))}, from 0"
    from core.io.describe import slice_position

    return "after the slices at " + ", ".join(slice_position(positions[gap]) for gap in document.gaps)


__all__ = ["repair", "run_repair", "normalise", "denormalise", "ImageDoc", "VolumeDoc", "AudioDoc"]

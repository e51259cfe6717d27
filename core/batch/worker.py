"""What a worker process does with one item: read it, repair it with `core.repair`, write the result
atomically into the mirrored output tree, and say how it went. Runs the same in a local pool process,
in a Dask worker or in the calling process; it never touches the manifest (the caller records the
outcome, after the output is safely in place).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from core.batch.recipe import Recipe
from core.errors import CancelledError, LacunaError, NothingToDoError

DONE, FAILED, SKIPPED, PENDING = "done", "failed", "skipped", "pending"
DETECTION_MARKED = "detection_marked"  # an item's share of pixels detection marked and the repair filled
FOUND = "found"  # a recording's marked spans in words ("106 found by detection, dropouts on ...")


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what to do): may differ between two runs of the same batch."""

    device: str = "auto"
    precision: str = "auto"
    tile: int = 0
    seed: int = 0
    memory_limit_mb: int = 0  # 0: what the machine has free
    threads: int = 0  # torch threads in this worker; 0 leaves torch's default


@dataclass(frozen=True)
class Job:
    key: str
    kind: str
    source: str
    output_dir: str
    recipe: Recipe
    series: int | None = None  # a DICOM folder: which of its own series (core.io.read_series)
    video_suffix: str = ""  # a clip's result saved as this container (".mkv": FFV1, lossless); "": its own


@dataclass(frozen=True)
class Outcome:
    key: str
    state: str  # DONE, FAILED, SKIPPED, or PENDING when cancelled
    output: str = ""
    method: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    worker: str = ""

    @property
    def cancelled(self) -> bool:
        """Stopped in flight: it stays to do, so a progress count does not take it as done."""
        return self.state == PENDING


_prepared_threads: int | None = None


def prepare_process(threads: int) -> None:
    """Give this process its share of the CPU threads (once; torch cannot change it later)."""
    global _prepared_threads
    if threads and _prepared_threads is None:
        import torch

        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import cv2

        cv2.setNumThreads(threads)
    _prepared_threads = threads


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def one_line(exc: BaseException) -> str:
    if isinstance(exc, LacunaError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def output_path(job: Job) -> Path:
    """The output tree mirrors the input tree; names follow the one naming rule (`photo_denoise.png`)."""
    from core.io.naming import output_name, task_label

    key, label = PurePosixPath(job.key), task_label(job.recipe.task, job.recipe.params)
    if job.series is not None and key.name not in ("", Path(job.source).name):  # one of several
        named = f"{key.name}_{label}"  # written as a folder, as a series is
    else:
        named = output_name(Path(job.source), label).name
    if job.kind == "video" and job.video_suffix and Path(job.source).is_file():  # a reel stays frames
        named = str(PurePosixPath(named).with_suffix(job.video_suffix))
    return Path(job.output_dir) / key.parent / named


def run_job(job: Job, options: RunOptions, cancel_event: Any = None) -> Outcome:
    """Repair one item; never raises for a problem with the item (it becomes a FAILED outcome)."""
    prepare_process(options.threads)
    started = time.monotonic()
    try:
        state, output, method, params = _repair(job, options, cancel_event)
        error = "" if state == DONE else output
        output = output if state == DONE else ""
    except CancelledError:
        state, output, method, params, error = PENDING, "", job.recipe.method, {}, "cancelled"
    except NothingToDoError as exc:  # an undamaged clip: nothing failed
        state, output, method, params, error = SKIPPED, "", job.recipe.method, {}, one_line(exc)
    except (Exception, MemoryError) as exc:  # noqa: BLE001 - one bad item must not stop the batch
        state, output, method, params, error = FAILED, "", job.recipe.method, {}, one_line(exc)
    return Outcome(
        key=job.key,
        state=state,
        output=output,
        method=method,
        params=params,
        seconds=round(time.monotonic() - started, 3),
        error=error,
        worker=worker_name(),
    )


def _context(options: RunOptions, cancel_event: Any):
    from core.runtime.context import RunContext

    ctx = RunContext(
        device=options.device,
        precision=options.precision,
        seed=options.seed,
        tile=options.tile,
        memory_limit_mb=options.memory_limit_mb,
    )
    if cancel_event is not None:
        ctx.cancel_event = cancel_event  # a multiprocessing.Event works the same way
    return ctx


class Found(NamedTuple):
    """What damage detection found in an item."""

    mask: Any  # what `repair` takes (a recording's selections, an image's mask); None: nothing found
    origin: str = ""  # a recording's selection line for the record ('12 found by detection, ...')
    lost_packets: bool = False  # dropouts on a packet grid: a call's lost packets
    warnings: tuple[str, ...] = ()  # for the record: a call mostly lost, a trace of another length
    share: float | None = None  # of a picture: the part detection marked to repair


def found_damage(document: Any, ctx: Any, detection: dict[str, Any] | None = None) -> Found:
    """Clicks and dropouts in audio, dust and scratches in images (`detection`: the detector's
    method, threshold and params, as the recipe holds them)."""
    if getattr(document, "samples", None) is not None:
        from core.audio.detect import call_warnings, detect, what_to_fill

        length = len(document.samples)
        found, origin, grid_ms = what_to_fill(
            detect(document.samples, document.sample_rate), document.sample_rate, length
        )
        warned = call_warnings(found, grid_ms, length)
        return Found([d.selection for d in found] or None, origin, grid_ms is not None, warned)
    from core.detect.run import check_share_to_repair, run_detect, scan_caveat

    how = detection or {}
    found = run_detect(
        document, ctx=ctx, method=how.get("method"), threshold=how.get("threshold"), **how.get("params", {})
    )
    mask, step = found.repair_step(document)
    if not mask.any():
        return Found(None)
    share = check_share_to_repair(mask)  # the item fails with why: it marked content, not damage
    document.provenance = [*document.provenance, step]  # the sidecar says the mask was proposed
    caveat = scan_caveat(document)  # no one reviews a batch's proposals: said per item and recorded
    return Found(mask, share=share, warnings=(caveat,) if caveat else ())


def skipped_without_trace(recipe: Recipe, kind: str, source: Path) -> str | None:
    """Why a recording is skipped before it is read (the run and --dry-run alike): --loss-traces
    without --detect, and no trace beside it."""
    from core.audio.loss_trace import trace_beside

    if recipe.loss_traces and not recipe.detect and kind == "audio" and not trace_beside(source).is_file():
        return f"no loss trace beside it ({trace_beside(source).name})"
    return None


def traced_packets(document: Any, source: Path) -> Found:
    """The lost packets the trace beside a recording marks (mask None when it marks none); a trace
    that marks received speech is refused (core.audio.loss_trace.contradicts_recording)."""
    from core.audio.loss_trace import trace_beside, traced_loss

    loss = traced_loss(document.samples, document.sample_rate, trace_beside(source))
    return Found(loss.spans or None, loss.origin, True, loss.warnings)


def _repair(job: Job, options: RunOptions, cancel_event: Any) -> tuple[str, str, str, dict[str, Any]]:
    """(state, output path or reason, method, resolved parameters)."""
    from core.batch import large
    from core.io import write
    from core.repair import run_repair

    recipe = job.recipe
    source = Path(job.source)
    target = output_path(job)
    ctx = _context(options, cancel_event)
    if job.kind == "image" and large.needs_tiles(source, options.memory_limit_mb):
        target.parent.mkdir(parents=True, exist_ok=True)
        written, params = large.repair_by_tiles(source, target, recipe, ctx)
        return DONE, str(written), recipe.method, params

    untraced = skipped_without_trace(recipe, job.kind, source)
    if untraced:
        return SKIPPED, untraced, recipe.method, {}
    from core.audio.loss_trace import trace_beside
    from core.io import read, read_series

    # A DICOM folder's own series, not its subfolders' (they are items of their own)
    document = read(source) if job.series is None else read_series(source, job.series, recursive=False)
    found, method, params = Found(None), recipe.method, recipe.params
    if recipe.by_modality:  # the engine chooses from the scan's modality (core.methods.choose_method)
        method, params = None, {}
    traced = recipe.loss_traces and getattr(document, "samples", None) is not None
    if traced and trace_beside(source).is_file():
        found = traced_packets(document, source)
    if found.mask is None and recipe.detect:
        found = found_damage(document, ctx, recipe.detection)
        if found.mask is None:
            return SKIPPED, "nothing to repair: detection found no damage", recipe.method, {}
    elif found.mask is None and traced:
        return SKIPPED, f"{trace_beside(source).name} marks no packet lost", recipe.method, {}
    if found.lost_packets and recipe.for_calls:
        method, params = recipe.for_calls, {}
    result = run_repair(document, recipe.task, method=method, mask=found.mask, ctx=ctx, **params)
    if found.origin:
        result.provenance[-1].selection = found.origin
    result.provenance[-1].warnings.extend(found.warnings)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A result left by an interrupted run is replaced (atomically): the manifest, not the file's
    # presence, says what is done.
    written = write(result, target, overwrite=True)
    step = result.provenance[-1] if result.provenance else None
    params = dict(step.params) if step else {}
    if found.share is not None:  # on every item's line and in the manifest: what an unreviewed fill covered
        params[DETECTION_MARKED] = round(found.share, 4)
    elif found.origin:  # a recording's: what detection or its loss trace marked, in words
        params[FOUND] = found.origin
    from core.io.provenance import conversions

    # said on the console too, as `lacuna repair` says them (walk-throughs): a call mostly lost,
    # what the writer could not keep (a uint8 volume stored as float32, a lossy codec)
    source_warnings = [
        w.removeprefix(f"{source.name}: ") for w in document.metadata.get("read_warnings") or []
    ]
    # the step's own warnings hold the detection's (a clip made longer, a method off its modality)
    said = [*source_warnings, *(step.warnings if step else found.warnings), *conversions(written)]
    if said:
        params[WARNINGS] = said
    return DONE, str(written), step.method if step else recipe.method, params


WARNINGS = "warnings"  # an item's params key: what its record warns of (a call mostly lost)


def failure_line(key: str, error: str, state: str = FAILED) -> str:
    """'failed: photos/a.png: the image data is truncated' (or 'skipped: ...' for a `state` SKIPPED):
    the item once, though a reader's message starts with the file's name too."""
    name = PurePosixPath(key).name
    return f"{state}: {key}: {error.removeprefix(f'{name}: ')}"

"""A batch run: walk the input tree, bring the manifest up to date, hand the items still to do to an
engine, and record each outcome as it arrives. The manifest is written by this process only; workers
(local or on a cluster) just repair and report back.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from core.batch.items import Item, find_items, listed_keys
from core.batch.manifest import Manifest, exclusive, manifest_path
from core.batch.recipe import Recipe, check_scan_detection, make_recipes, skip_reason
from core.batch.report import write_report
from core.batch.worker import DONE, FAILED, SKIPPED, WARNINGS, Job, Outcome, RunOptions, failure_line
from core.errors import LacunaError


@dataclass(frozen=True)
class BatchRequest:
    """What a batch does: the same request resumes the same batch."""

    input_dir: Path
    output_dir: Path
    tasks: tuple[str, ...]
    methods: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    detect: bool = False
    # audio: conceal the packets a loss trace beside each recording marks (NAME_is_lost.txt)
    loss_traces: bool = False
    # images: the detection's "method", "threshold" and "params" (empty: the detector's defaults)
    detection: dict[str, Any] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # clips: results saved as NAME_task.mkv (FFV1, lossless), not re-encoded in the clip's own format
    lossless_video: bool = False
    # scans: what detection proposes is filled (else a batch detecting on scans is refused)
    unreviewed: bool = False

    def job(self, key: str, kind: str, source, recipe: Recipe, series: int | None, output_dir=None) -> Job:
        """An item's job as this request makes it: into its output folder (`output_dir`: that folder
        resolved, where the workers write), clips saved as .mkv when lossless video was asked."""
        folder = str(output_dir if output_dir is not None else self.output_dir)
        video_suffix = ".mkv" if self.lossless_video else ""
        return Job(key, kind, str(source), folder, recipe, series, video_suffix)

    def recipes(self) -> dict[str, Recipe]:
        return make_recipes(
            self.tasks, self.methods, self.params, self.detect, self.loss_traces, self.detection
        )

    def description(self) -> dict[str, Any]:
        return {
            "input": str(Path(self.input_dir).resolve()),
            "recipes": {kind: r.as_dict() for kind, r in sorted(self.recipes().items())},
            "include": list(self.include),
            "exclude": list(self.exclude),
            # named only when asked: a batch begun before the option existed still resumes
            **({"lossless_video": True} if self.lossless_video else {}),
        }


@dataclass
class Summary:
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0  # done by an earlier run, not for any task given, or nothing to repair
    done_before: int = 0
    redone: int = 0  # done before, but their outputs were gone: repaired again
    changed: int = 0  # done before, but their sources have changed since: repaired again
    seconds: float = 0.0
    cancelled: bool = False
    manifest: str = ""
    failures: list[tuple[str, str]] = field(default_factory=list)
    # done, with what their records warn of (a truncated file's missing part): (key, first warning)
    warned: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the plan left undone (`plan_notes`)
    report: str = ""  # the CSV a person reads (core.batch.report)

    @property
    def rate(self) -> float:
        return (self.succeeded + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        head = "batch cancelled" if self.cancelled else "batch"
        lines = [
            f"{head}: {self.succeeded} succeeded, {self.failed} failed, {self.skipped} skipped"
            f" ({self.done_before} done before) in {self.seconds:.1f} s ({self.rate:.2f} items/s);"
            f" manifest {self.manifest}"
        ]
        if self.report:
            lines.append(f"  report (a row per item, and per file left out): {self.report}")
        if self.redone:
            lines.append(f"  {self.redone} done before were repaired again: their outputs were gone")
        if self.changed:
            lines.append(f"  {self.changed} done before were repaired again: their sources have changed")
        lines += [f"  {failure_line(key, error)}" for key, error in self.failures[:20]]
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more (see the manifest)")
        # said at the end too (walk-through 53: a truncated PNG, three quarters black, read as one of
        # "5 succeeded"; the quiet reporter prints nothing else)
        if self.warned:
            lines.append(f"  {len(self.warned)} done with a warning (the report's warnings column):")
            lines += [f"  warning: {key}: {warning}" for key, warning in self.warned[:20]]
            if len(self.warned) > 20:
                lines.append(f"  ... and {len(self.warned) - 20} more (see the report)")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "done_before": self.done_before,
            "redone": self.redone,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "items_per_second": round(self.rate, 3),
            "cancelled": self.cancelled,
            "manifest": self.manifest,
            "failures": [{"key": k, "error": e} for k, e in self.failures],
            "warned": [{"key": k, "warning": w} for k, w in self.warned],
            "notes": self.notes,
            "report": self.report,
        }


def check_folders(input_dir: Path, output_dir: Path) -> None:
    if not input_dir.is_dir():
        raise LacunaError(f"{input_dir}: not a folder (a batch repairs a folder tree)")
    if input_dir.resolve() == output_dir.resolve():
        raise LacunaError(f"{output_dir}: the output folder must not be the input folder")
    check_writable(output_dir)


def check_writable(output_dir: Path) -> None:
    """The output folder, or the nearest folder above it that exists, takes a new file. Tried with a
    file, not asked of the permissions: a read-only file system or an immutable folder says yes to
    those (and root is allowed everything)."""
    import tempfile

    existing = Path(output_dir).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise LacunaError(f"{output_dir}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".lacuna-write-test-"):
            pass
    except OSError as exc:
        raise LacunaError(f"{output_dir}: cannot write into {existing} ({exc.strerror or exc})") from None


def check_found(items: list[Item], request: BatchRequest, results: list[str] = ()) -> None:
    """A batch of nothing is a mistake to say, not a success: an empty folder, filters that leave
    nothing (the readable files are named, not the folder's every file), or only Lacuna's results."""
    if items:
        return
    if results:
        raise LacunaError(
            f"{request.input_dir}: holds only Lacuna's earlier results beside their sources"
            f" ({listed_keys(results)}); {BRING_BACK}"
        )
    if request.include or request.exclude:
        raise LacunaError(f"{request.input_dir}: no file Lacuna reads matches --include/--exclude")
    raise LacunaError(f"{request.input_dir}: no file in this folder tree is one Lacuna reads")


class Plan(NamedTuple):
    """What a batch would do: the recipe for each kind of item, the items, and the files it leaves
    out because no format reads them (keys, as the items are named)."""

    recipes: dict[str, Recipe]
    items: list[Item]
    left_out: list[str]
    results: list[str]  # Lacuna's own earlier results in the input, left out


def plan(request: BatchRequest) -> Plan:
    """What a batch would work on (for --dry-run, the run and the app's queue)."""
    from core.methods import get_method

    check_folders(Path(request.input_dir), Path(request.output_dir))
    recipes = request.recipes()
    # Frame folders are films only for film tasks alone: with a photo task too, a folder of a scanner's
    # numbered photos of one size would be taken for a film and its photos not get the photo task.
    film_task = "video" in recipes and get_method(recipes["video"].method).card.operates_on == "video"
    films = film_task and "image" not in recipes
    left_out: list[str] = []
    results: list[str] = []
    found = find_items(
        request.input_dir, request.include, request.exclude, [request.output_dir], films, left_out, results
    )
    items = list(found)
    check_found(items, request, results)
    check_scan_detection(recipes, items, request.unreviewed)
    check_distinct_outputs(request, recipes, items)
    return Plan(recipes, items, left_out, results)


def check_distinct_outputs(request: BatchRequest, recipes: dict[str, Recipe], items: list[Item]) -> None:
    """Two items whose results would get one name (take1.mp4 and take1.mov as .mkv, a.ogg and a.mp3
    as .flac) are refused up front: the second would replace the first, both called done."""
    from core.batch.worker import output_path, skipped_without_trace

    written: dict[Path, str] = {}
    for item in items:
        recipe = recipes.get(item.kind)
        if skip_reason(recipe, item.kind) is not None:
            continue
        if skipped_without_trace(recipe, item.kind, item.source):
            continue
        target = output_path(request.job(item.key, item.kind, item.source, recipe, item.series))
        if target in written:
            raise LacunaError(
                f"{written[target]} and {item.key} would both be written as {target.name}: leave one out"
                " (--exclude) or repair them in batches of their own"
            )
        written[target] = item.key


BRING_BACK = "--include names those (and not their sources) to repair again"
# Why the report's rows of files the batch left out were left out.
NOT_READ = "no format of Lacuna's reads it"
EARLIER_RESULT = "an earlier result of Lacuna beside its source (as its record says)"


def plan_notes(request: BatchRequest, planned: Plan) -> list[str]:
    """What a person should hear before the run (and in the dry run): the files left out, and the
    tasks asked that no item gets."""
    from core.batch.recipe import unused_task_notes, unused_tasks
    from core.video.source import sequence_files

    notes = []
    if planned.left_out:
        said = listed_keys(planned.left_out)
        notes.append(f"{len(planned.left_out)} file(s) no format of Lacuna's reads are left out: {said}")
    if planned.results:
        notes.append(
            f"{len(planned.results)} earlier result(s) of Lacuna beside their sources (as their records"
            f" say) are left out: {listed_keys(planned.results)}; {BRING_BACK}"
        )
    unused = unused_tasks(request.tasks, planned.recipes, {item.kind for item in planned.items})
    if not unused:
        return notes
    root = Path(request.input_dir)
    parents = sorted({Path(item.source).parent for item in planned.items if item.kind == "image"})
    frame_folders = [
        folder.relative_to(root).as_posix() if folder != root else root.name
        for folder in parents
        if sequence_files(folder)
    ]
    return notes + unused_task_notes(unused, {item.kind for item in planned.items}, frame_folders)


def _report(manifest: Manifest, output_dir: Path, planned: Plan) -> Path | None:
    """The CSV report, or None when it cannot be written (the batch's own outcome, or the error that
    stopped it, matters more)."""
    left_out = [(key, NOT_READ) for key in planned.left_out]
    left_out += [(key, EARLIER_RESULT) for key in planned.results]
    try:
        manifest.recover()  # stopped in flight (an interrupt): to do, as the next run will find them
        return write_report(manifest, output_dir, left_out)
    except (OSError, LacunaError, sqlite3.Error):
        return None


class Batch:
    """Run with `run()`; `cancel()` (from another thread) stops handing out items and stops the ones
    in flight; they stay to do, for the next run."""

    def __init__(
        self,
        request: BatchRequest,
        options: RunOptions | None = None,
        workers: int = 1,
        scheduler: str | None = None,
        reporter: Any = None,
        retry_failed: bool = True,
    ):
        from core.batch.progress import QuietReporter

        self.request = request
        self.options = options or RunOptions()
        self.workers = max(1, int(workers))
        self.scheduler = scheduler
        self.reporter = reporter or QuietReporter()
        self.retry_failed = retry_failed
        self.stop = threading.Event()
        self.engine: Any = None
        self.total = self.todo = 0

    def cancel(self) -> None:
        self.stop.set()
        if self.engine is not None:
            self.engine.cancel()

    def _engine(self):
        if self.scheduler:
            from core.batch.dask_engine import DaskEngine

            return DaskEngine(self.scheduler, self.options, self.workers)
        from core.batch.pool import InlineEngine, PoolEngine

        if self.workers == 1:
            return InlineEngine(self.options)
        return PoolEngine(self.options, self.workers)

    def run(self) -> Summary:
        """Run to the end, reporting each item; returns the closing summary."""
        steps = self.steps()
        while True:
            try:
                self.reporter.item(next(steps))
            except StopIteration as stop:
                summary = stop.value
                break
        self.reporter.finish(summary)
        return summary

    def steps(self) -> Generator[Outcome, None, Summary]:
        """The run as a generator: yields each item's outcome as it is recorded, returns the summary.
        `self.total` and `self.todo` are known once the first outcome is yielded."""
        request = self.request
        planned = plan(request)
        recipes, items = planned.recipes, planned.items
        output_dir = Path(request.output_dir)
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LacunaError(f"{output_dir}: cannot create it ({exc.strerror or exc})") from None
        started = time.monotonic()
        with exclusive(output_dir):
            manifest = Manifest(manifest_path(output_dir))
            bound, report = False, None
            try:
                manifest.bind(request.description())
                bound = True
                manifest.add(items)
                manifest.recover()
                redone = manifest.reopen_missing(item.key for item in items)
                changed = manifest.reopen_changed(item.key for item in items)
                summary = Summary(manifest=str(manifest.path), redone=len(redone), changed=len(changed))
                summary.notes = plan_notes(request, planned)
                summary.done_before = manifest.counts()[DONE]
                jobs, failed = self._jobs(manifest, recipes)
                self.total, self.todo = len(items), len(jobs) + len(failed)
                self.reporter.start(self.total, self.todo)
                for outcome in failed:
                    yield self._record(manifest, outcome, summary)
                if jobs and not self.stop.is_set():
                    self.engine = self._engine()
                    try:
                        started_job = lambda job: manifest.mark_running(job.key)  # noqa: E731
                        for outcome in self.engine.run(jobs, started_job, self.stop):
                            yield self._record(manifest, outcome, summary)
                    finally:
                        self.engine.close()
                manifest.recover()  # cancelled items in flight stay to do
                summary.skipped = manifest.counts()[SKIPPED] + summary.done_before
                summary.cancelled = self.stop.is_set()
                summary.seconds = time.monotonic() - started
            finally:
                if bound:  # after an interrupt too: what was done so far
                    report = _report(manifest, output_dir, planned)
                manifest.close()
        summary.report = str(report or "")
        return summary

    def _jobs(self, manifest: Manifest, recipes: dict[str, Recipe]) -> tuple[list[Job], list[Outcome]]:
        """The jobs to hand out, and the outcomes known without running (files that cannot be opened)."""
        jobs, failed = [], []
        output_dir = str(Path(self.request.output_dir).resolve())
        for row in manifest.todo(self.retry_failed):
            recipe = recipes.get(row["kind"])
            if row["kind"] == "unreadable":
                failed.append(
                    Outcome(row["key"], FAILED, error=f"{Path(row['source']).name}: cannot open it")
                )
            elif (reason := skip_reason(recipe, row["kind"])) is not None:
                manifest.mark_skipped(row["key"], reason)
            else:
                jobs.append(
                    self.request.job(
                        row["key"], row["kind"], row["source"], recipe, row["series"], output_dir
                    )
                )
        return jobs, failed

    def _record(self, manifest: Manifest, outcome: Outcome, summary: Summary) -> Outcome:
        if outcome.state in (DONE, FAILED, SKIPPED):
            manifest.record(outcome)
        if outcome.state == DONE:
            summary.succeeded += 1
            if warnings := outcome.params.get(WARNINGS):
                summary.warned.append((outcome.key, warnings[0]))
        elif outcome.state == FAILED:
            summary.failed += 1
            summary.failures.append((outcome.key, outcome.error))
        return outcome

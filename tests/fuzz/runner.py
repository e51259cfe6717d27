"""Run one input through `lacuna info`'s code path in a forked child with a CPU-time and memory limit,
and classify what happened.

The parent imports every reader once; each input then costs a fork (milliseconds), not a fresh
interpreter, and still runs alone: a crash, a hang or a runaway allocation ends only that child.

Outcomes
    ok          a document was read and described
    error       a one-line LacunaError naming the file (what a person should see)
    catch-all   the readers' last-resort message ("cannot read it (...)"): raw library text
    noise       anything printed on stdout/stderr while reading (library warnings, C-library messages)
    traceback   any other exception: the CLI would print a traceback
    memory      MemoryError, or more memory than the limit (RLIMIT_AS)
    hang        more CPU time than the limit, or no answer within the wall-clock limit
    crash       the child died from a signal (segfault, abort) or without answering
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

KINDS = ("ok", "error", "catch-all", "noise", "traceback", "memory", "hang", "crash")
BAD = ("catch-all", "noise", "traceback", "memory", "hang", "crash")
CATCH_ALL_MARK = ": cannot read it ("  # core.io.dispatch's last resort
MAX_DETAIL = 300


@dataclass
class Outcome:
    kind: str
    detail: str = ""
    where: str = ""  # for tracebacks: the innermost frame, which identifies the defect
    cpu_s: float = 0.0
    peak_mb: float = 0.0  # peak resident memory of the child above the parent's

    def as_dict(self) -> dict:
        return asdict(self)


def preload() -> None:
    """Import every reader and decoder before forking, so that children do not pay for it."""
    import cv2
    import nibabel  # noqa: F401
    import PIL.Image
    import pydicom  # noqa: F401
    import soundfile  # noqa: F401
    import tifffile  # noqa: F401

    import core.info  # noqa: F401
    import core.io.audio  # noqa: F401
    import core.io.dicom  # noqa: F401
    import core.io.dispatch  # noqa: F401
    import core.io.images  # noqa: F401
    import core.io.nifti  # noqa: F401

    PIL.Image.init()
    cv2.setNumThreads(1)  # its thread pool would not survive a fork
    for module in ("pylibjpeg", "openjpeg", "libjpeg"):
        try:
            __import__(module)
        except ImportError:
            pass


def describe_file(path: Path) -> None:
    """What `lacuna info PATH` runs, without printing."""
    from core.info import describe, format_info

    info = describe(path)
    format_info(info)
    json.dumps(info)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _classify(exc: BaseException) -> Outcome:
    from core.errors import LacunaError

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(exc).strip()
    if any(isinstance(e, MemoryError) for e in chain):
        return Outcome("memory", text[:MAX_DETAIL])
    if isinstance(exc, LacunaError):
        if CATCH_ALL_MARK in text or "\n" in text:
            cause = chain[1] if len(chain) > 1 else exc
            return Outcome("catch-all", text[:MAX_DETAIL], _innermost(cause))
        return Outcome("error", text[:MAX_DETAIL])
    return Outcome("traceback", f"{type(exc).__name__}: {text}"[:MAX_DETAIL], _innermost(exc))


def _innermost(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    ours = [f for f in frames if "/core/" in f.filename]
    mine = ours[-1] if ours else last
    at = f"{Path(last.filename).name}:{last.lineno}"
    return f"{type(exc).__name__} at {at} via {Path(mine.filename).name}:{mine.lineno}"


def _worker(paths: list[Path], target, report_fd: int, memory_mb: int, cpu_s: int) -> None:
    """In the forked worker: each input in turn under its own limits, a line per input on `report_fd`:
    "start N" before input N runs, then its outcome as JSON."""
    faulthandler.disable()  # a crash is the parent's to report, not a dump on the terminal
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    captured = tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - Python-level writes go there too
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    for number, path in enumerate(paths):
        os.write(report_fd, f"start {number}\n".encode())
        captured.seek(0)
        captured.truncate()
        outcome = _run_limited(path, target, memory_mb, cpu_s)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        captured.seek(0)
        printed = captured.read(2000).decode("utf-8", "replace").strip()
        if printed and outcome.kind in ("ok", "error"):
            first = printed.splitlines()[0][:MAX_DETAIL]
            outcome = Outcome(
                "noise", f"{first} [{outcome.kind}: {outcome.detail}]", "", outcome.cpu_s, outcome.peak_mb
            )
        os.write(report_fd, (json.dumps(outcome.as_dict()) + "\n").encode())


def _run_limited(path: Path, target, memory_mb: int, cpu_s: int) -> Outcome:
    """`target(path)` with `cpu_s` more seconds of CPU and `memory_mb` more address space than now."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = used.ru_utime + used.ru_stime
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_before) + cpu_s + 1, resource.RLIM_INFINITY))
    resource.setrlimit(
        resource.RLIMIT_AS, ((_status_kb("VmSize") + (memory_mb << 10)) << 10, resource.RLIM_INFINITY)
    )
    with open("/proc/self/clear_refs", "w") as fh:  # the peak (VmHWM) restarts from the current size
        fh.write("5")
    rss_before = _status_kb("VmRSS")
    try:
        target(path)
        outcome = Outcome("ok")
    except BaseException as exc:  # noqa: BLE001 - classifying every failure is the point
        outcome = _classify(exc)
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    used = resource.getrusage(resource.RUSAGE_SELF)
    outcome.cpu_s = used.ru_utime + used.ru_stime - cpu_before
    outcome.peak_mb = max(0, _status_kb("VmHWM") - rss_before) / 1024
    return outcome


def run_batch(
    paths: list[Path], target=describe_file, memory_mb: int = 1024, cpu_s: int = 10, wall_s: float = 60.0
) -> list[Outcome]:
    """Run `target` on each path in a forked worker; a worker that dies or hangs is replaced, and the
    input it was on gets the outcome (see the module's docstring). One fork per batch, not per input."""
    outcomes: list[Outcome] = []
    while len(outcomes) < len(paths):
        outcomes += _one_worker(paths[len(outcomes) :], target, memory_mb, cpu_s, wall_s)
    return outcomes


def _one_worker(paths: list[Path], target, memory_mb: int, cpu_s: int, wall_s: float) -> list[Outcome]:
    """Outcomes of a worker on `paths` until it finishes or dies (the last one then says how)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        os.close(read_end)
        try:
            _worker(paths, target, write_end, memory_mb, cpu_s)
        finally:
            os._exit(0)
    os.close(write_end)
    outcomes: list[Outcome] = []
    pending, deadline, killed = b"", time.monotonic() + wall_s, False
    with os.fdopen(read_end, "rb") as reader:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
            ready, _, _ = select.select([reader], [], [], left)
            if not ready:
                continue
            chunk = os.read(reader.fileno(), 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.startswith(b"start "):
                    deadline = time.monotonic() + wall_s  # each input gets its own wall-clock limit
                else:
                    outcomes.append(Outcome(**json.loads(line)))
    _, status, usage = os.wait4(pid, 0)
    if len(outcomes) == len(paths):
        return outcomes
    # the worker died or hung on the next input: that input's outcome says how
    if killed:
        return [*outcomes, Outcome("hang", f"no answer within {wall_s:g} s (wall clock)")]
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        kind = "hang" if sig == signal.SIGXCPU else ("memory" if sig == signal.SIGKILL else "crash")
        return [*outcomes, Outcome(kind, f"killed by {signal.Signals(sig).name}")]
    code = os.waitstatus_to_exitcode(status)
    return [*outcomes, Outcome("crash", f"the worker exited with status {code} in the middle of it")]


def run_one(
    path: Path, target=describe_file, memory_mb: int = 1024, cpu_s: int = 10, wall_s: float = 60.0
) -> Outcome:
    """`run_batch` for one input."""
    return run_batch([path], target, memory_mb, cpu_s, wall_s)[0]

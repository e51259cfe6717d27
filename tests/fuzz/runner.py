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


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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


def _child(path: Path, target, report_fd: int, memory_bytes: int, cpu_s: int) -> None:
    """In the forked child: limits, captured output, the target, the outcome on `report_fd`."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (_vm_bytes() + memory_bytes, resource.RLIM_INFINITY))
    captured = tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    try:
        target(path)
        outcome = Outcome("ok")
    except BaseException as exc:  # noqa: BLE001 - classifying every failure is the point
        outcome = _classify(exc)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    captured.seek(0)
    printed = captured.read(2000).decode("utf-8", "replace").strip()
    if printed and outcome.kind in ("ok", "error"):
        outcome = Outcome(
            "noise", printed.splitlines()[0][:MAX_DETAIL] + f" [{outcome.kind}: {outcome.detail}]"
        )
    os.write(report_fd, json.dumps(outcome.as_dict()).encode())


def run_one(
    path: Path, target=describe_file, memory_mb: int = 1024, cpu_s: int = 10, wall_s: float = 60.0
) -> Outcome:
    """Run `target(path)` in a forked child and classify the result (see the module's docstring)."""
    read_end, write_end = os.pipe()
    base_rss = _rss_bytes()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        try:
            _child(path, target, write_end, memory_mb << 20, cpu_s)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, deadline, killed = [], time.monotonic() + wall_s, False
    with os.fdopen(read_end, "rb") as reader:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
            ready, _, _ = select.select([reader], [], [], left)
            if ready:
                chunk = os.read(reader.fileno(), 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    _, status, usage = os.wait4(pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    peak = max(0.0, (usage.ru_maxrss * 1024 - base_rss) / 2**20)
    if killed:
        return Outcome("hang", f"no answer within {wall_s:g} s (wall clock)", cpu_s=cpu, peak_mb=peak)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        kind = "hang" if sig == signal.SIGXCPU else ("memory" if sig == signal.SIGKILL else "crash")
        return Outcome(kind, f"killed by {signal.Signals(sig).name}", cpu_s=cpu, peak_mb=peak)
    try:
        outcome = Outcome(**json.loads(b"".join(chunks)))
    except (ValueError, TypeError):
        return Outcome(
            "crash", f"exited with status {os.waitstatus_to_exitcode(status)} without answering", cpu_s=cpu
        )
    outcome.cpu_s, outcome.peak_mb = cpu, peak
    return outcome

"""Progress reports and the per-run context handed to every method.

Methods are generators: they `yield ctx.progress(fraction, message)` after each tile or iteration.
Cancelling means the consumer stops iterating (generator.close()) or sets `ctx.cancel_event`;
`ctx.check_cancelled()` raises `CancelledError` between steps for code that does not yield.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import CancelledError, MethodError
from core.methods.registry import check_number

MIN_TILE = 64  # smaller tiles spend most of their time on the overlap
MAX_TILE = 16384


WARNINGS = "warnings"  # extras key: what `warn` said, for the result's record
SETTINGS = "settings"  # extras key: what record_setting collected, moved into the step's params


@dataclass
class Progress:
    fraction: float  # 0..1 of the whole job
    message: str = ""
    eta: float | None = None  # seconds left, when it can be estimated
    # An intermediate result (deep prior every N iterations). From `repair()`: in document units,
    # kept to the mask, (H, W, C) of frame `frame`, or the whole (frames, H, W, C) when `frame` is None.
    preview: np.ndarray | None = None
    frame: int | None = None


def drive(gen: Generator[Progress, None, Any], on_progress: Callable[[Progress], None] | None = None) -> Any:
    """Run a method's generator to the end, passing each report to `on_progress`; return its result."""
    while True:
        try:
            report = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(report)


def relay(
    gen: Generator[Progress, None, Any], transform: Callable[[Progress], Progress]
) -> Generator[Progress, None, Any]:
    """Pass a generator's reports on through `transform` and return its result (`yield from` with
    a change to each report); closing the relay closes `gen`."""
    try:
        while True:
            try:
                report = next(gen)
            except StopIteration as stop:
                return stop.value
            yield transform(report)
    finally:
        gen.close()


@dataclass
class RunContext:
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", "mps"
    precision: str = "auto"  # "auto" (half on capable GPUs), "float32", "float16", "bfloat16"
    backend: str = "auto"  # runs learned networks: "auto", "torch", "onnx", "onnx-int8" (runtime.backends)
    seed: int = 0
    tile: int = 0  # tile size in pixels; 0 = choose from free memory
    memory_limit_mb: int = 0  # 0 = no cap beyond what the device has
    tile_batch: int = 0  # tiles per network call; 0 = from free memory on a GPU, one on a CPU
    cancel_event: threading.Event = field(default_factory=threading.Event)
    # A sub-range of the overall progress bar this context reports into (frames of a volume, say).
    span: tuple[float, float] = (0.0, 1.0)
    started: float = field(default_factory=time.monotonic)
    extras: dict[str, Any] = field(default_factory=dict)
    # What a person should know about how the run went (a fallback, a device change), shared by sub-contexts.
    notes: list[str] = field(default_factory=list)
    # Values a method settled on itself (an estimated noise σ, on its own scale), shared by sub-contexts.
    used: dict[str, list[float]] = field(default_factory=dict)
    # Which part of a longer job this context runs ("slice 3 of 28"), put before each message: a
    # method's own "tile 1/1" would otherwise read the same for every slice.
    stage: str = ""

    def __post_init__(self) -> None:
        self.tile = check_number("the tile size (--tile)", self.tile, 0, MAX_TILE, whole=True)
        if 0 < self.tile < MIN_TILE:
            raise MethodError(f"the tile size (--tile) must be 0 (from free memory) or at least {MIN_TILE}")
        self.memory_limit_mb = check_number("the memory limit (MB)", self.memory_limit_mb, 0, whole=True)
        self.tile_batch = check_number("tiles per call", self.tile_batch, 0, 256, whole=True)

    def progress(self, fraction: float, message: str = "", preview: np.ndarray | None = None) -> Progress:
        self.check_cancelled()
        lo, hi = self.span
        overall = lo + (hi - lo) * min(max(fraction, 0.0), 1.0)
        elapsed = time.monotonic() - self.started
        eta = elapsed * (1.0 - overall) / overall if overall > 0.01 else None
        if self.stage:
            message = f"{self.stage}: {message}" if message else self.stage
        return Progress(overall, message, eta, preview)

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise CancelledError("cancelled by the user; the input is unchanged")

    def sub(self, lo: float, hi: float) -> RunContext:
        """A context reporting into [lo, hi] of this context's span (fractions of it)."""
        a, b = self.span
        child = RunContext(**{**self.__dict__})
        child.span = (a + (b - a) * lo, a + (b - a) * hi)
        return child

    @contextlib.contextmanager
    def cancel_inside(self, model: Any) -> Iterator[None]:
        """Check for cancellation before every layer of `model` (a torch module) while in the block.

        A tile of a large network can take many seconds on a CPU; with this, setting `cancel_event`
        stops it within one layer instead of at the end of the tile.
        """
        handles = [m.register_forward_pre_hook(lambda *_: self.check_cancelled()) for m in model.modules()]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def restart_clock(self) -> None:
        """Measure the ETA from now (a context may be built some time before its job starts)."""
        self.started = time.monotonic()

    def torch_generator(self, device: str = "cpu"):
        """A torch random generator seeded with `seed`: methods draw from it, never from global state."""
        import torch

        return torch.Generator(device=device).manual_seed(self.seed)

    def torch_device(self):
        """The torch device to run on; records it and why in `extras["device"]` for the CLI and the app."""
        from core.runtime.device import explain_device

        device, why = explain_device(self.device)
        self.extras.setdefault("device", f"{device} ({why})")
        return device

    def record_used(self, name: str, value: float) -> None:
        """Record the value a method used for parameter `name` (one per frame or tile it ran on)."""
        self.used.setdefault(name, []).append(float(value))

    def record_setting(self, name: str, value: Any) -> None:
        """Record a setting a method chose by itself (not a parameter), for the result's record."""
        self.extras.setdefault(SETTINGS, {})[name] = value

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def warn(self, text: str) -> None:
        """A note a person must know about the result (a clip made longer): said like any note, and
        kept in the result's record (`core.repair` adds it to the step's warnings)."""
        self.note(text)
        warned = self.extras.setdefault(WARNINGS, [])
        if text not in warned:
            warned.append(text)

"""Size and memory limits checked from headers before anything is decoded (decompression bombs).

Two checks, both before decoding:
- the declared size against `MAX_PIXELS` / `MAX_SAMPLES` (environment `LACUNA_MAX_PIXELS` /
  `LACUNA_MAX_SAMPLES`, or `set_limits(...)`);
- the memory the read will need (each reader estimates it from the header) against what may be
  used now: a share of the available memory, at most `LACUNA_MAX_READ_MB` when that is set, and
  never more than the process's own address-space limit (ulimit -v).
Pillow's own bomb check is kept equal to ours, so a file that slips past a header check still
cannot allocate more than the limit.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import TooLargeError

DEFAULT_MAX_PIXELS = 500_000_000  # 500 megapixels: their float32 values alone are 2 GB gray, 6 GB RGB
DEFAULT_MAX_SAMPLES = 1_000_000_000  # about 3 hours of 48 kHz stereo; 4 GB as float32

MAX_PIXELS = int(os.environ.get("LACUNA_MAX_PIXELS", DEFAULT_MAX_PIXELS))
MAX_SAMPLES = int(os.environ.get("LACUNA_MAX_SAMPLES", DEFAULT_MAX_SAMPLES))
MAX_READ_BYTES = int(os.environ.get("LACUNA_MAX_READ_MB", "0") or 0) << 20  # 0: no cap of its own
AVAILABLE_SHARE = 0.8  # of the available memory one read may take: the system must keep working


def set_limits(max_pixels: int | None = None, max_samples: int | None = None) -> None:
    """Change the limits for this process (None keeps the current value)."""
    global MAX_PIXELS, MAX_SAMPLES
    if max_pixels is not None:
        MAX_PIXELS = int(max_pixels)
    if max_samples is not None:
        MAX_SAMPLES = int(max_samples)
    sync_pillow()


def sync_pillow() -> None:
    """Make Pillow's decompression-bomb limit the same as ours (it is per frame)."""
    import PIL.Image

    PIL.Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def check_pixels(path: Path, count: int, what: str = "pixels") -> None:
    if count > MAX_PIXELS:
        raise TooLargeError(
            f"{path.name}: declares {count:,} {what}, more than the limit of {MAX_PIXELS:,} "
            "(set LACUNA_MAX_PIXELS to raise it)"
        )


def check_samples(path: Path, count: int) -> None:
    if count > MAX_SAMPLES:
        raise TooLargeError(
            f"{path.name}: declares {count:,} samples, more than the limit of {MAX_SAMPLES:,} "
            "(set LACUNA_MAX_SAMPLES to raise it)"
        )


def available_memory_bytes() -> int:
    """Memory the system can give without swapping (psutil; /proc/meminfo where it is missing)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _address_space_left() -> int | None:
    """Bytes this process may still map under `ulimit -v` (None when there is no such limit)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return max(0, soft - mapped)
    except (ImportError, OSError, ValueError):
        return None


def read_budget_bytes() -> int:
    """The most memory one read may use now."""
    budget = int(available_memory_bytes() * AVAILABLE_SHARE)
    if MAX_READ_BYTES:
        budget = min(budget, MAX_READ_BYTES)
    left = _address_space_left()
    return budget if left is None else min(budget, left)


def check_memory(path: Path, needed: int) -> None:
    """Refuse a read whose estimated peak memory (`needed` bytes) is more than may be used now."""
    budget = read_budget_bytes()
    if needed > budget:
        raise TooLargeError(
            f"{path.name}: reading it needs about {_size(needed)} of memory, more than the {_size(budget)} "
            "it may use now (close other programs, or set LACUNA_MAX_READ_MB)"
        )


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{max(1, round(n / 2**20))} MB"

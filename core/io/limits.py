"""Size limits checked from headers before anything is decoded (decompression bombs).

The limits can be changed for a session with `set_limits(...)` or the environment variables
`LACUNA_MAX_PIXELS` / `LACUNA_MAX_SAMPLES`. Pillow's own bomb check is kept equal to ours, so a
file that slips past a header check still cannot allocate more than the limit.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import TooLargeError

DEFAULT_MAX_PIXELS = 500_000_000  # 500 megapixels: 2 GB of float32 gray, 6 GB of RGB
DEFAULT_MAX_SAMPLES = 1_000_000_000  # about 3 hours of 48 kHz stereo; 4 GB as float32

MAX_PIXELS = int(os.environ.get("LACUNA_MAX_PIXELS", DEFAULT_MAX_PIXELS))
MAX_SAMPLES = int(os.environ.get("LACUNA_MAX_SAMPLES", DEFAULT_MAX_SAMPLES))


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

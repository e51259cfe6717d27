"""Speed labels from measurement on this machine, not fixed text.

The first time an image method runs here on a (device, backend) never measured with its present weights,
`calibrate` times it on a 256×256 crop of an image that ships inside scikit-image, repeated 2×2 (one
tile of the networks on a CPU): once to warm up (weights loaded, the ONNX export done), then three timed
runs of which the fastest counts. The seconds per megapixel (of the output) are stored in the user cache
folder (`speed.json`, beside the exported networks). Zero-shot methods fit a network for minutes, so
they are not calibrated: their first real run is the measurement. The picker and `lacuna models` show
the latest figure and the label it earns; a method not measured yet keeps its card's estimate.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import LacunaError

FAST, MEDIUM = 1.0, 10.0  # s/MP: under FAST is "fast", under MEDIUM "medium", the rest "slow"
SIDE = 256
NO_NETWORK = "-"  # the backend of a method that runs no network


def label(seconds_per_mp: float) -> str:
    return "fast" if seconds_per_mp < FAST else "medium" if seconds_per_mp < MEDIUM else "slow"


def store_path() -> Path:
    """LACUNA_CACHE_DIR/speed.json when set (tests, portable installs), else in the platform's cache."""
    from platformdirs import user_cache_path

    chosen = os.environ.get("LACUNA_CACHE_DIR")
    return (Path(chosen) if chosen else user_cache_path("lacuna", appauthor=False)) / "speed.json"


def _load() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(store_path().read_text())
    except (OSError, ValueError):  # none yet, or a damaged file: measure again
        return {}
    return data if isinstance(data, dict) else {}


def _key(method_id: str, device: str, backend: str) -> str:
    return f"{method_id}|{device}|{backend}"


def weights_in_use(method_id: str) -> str:
    """Which weights files a method would load here ("name:bytes", joined; "" for none): a measurement
    counts only for the weights it timed, so new or imported weights are measured afresh."""
    from core.methods import get_method, weights

    try:
        names = get_method(method_id).card.weights
    except LacunaError:  # not a registered method (a test's made-up id): no weights to tell apart
        return ""
    found = [(name, weights.locate(name)) for name in names]
    return ";".join(f"{name}:{path.stat().st_size}" for name, path in found if path is not None)


def is_measured(method_id: str, device: str, backend: str) -> bool:
    entry = _load().get(_key(method_id, device, backend))
    return entry is not None and entry.get("weights", "") == weights_in_use(method_id)


def record(method_id: str, device: str, backend: str, seconds: float, megapixels: float) -> dict:
    """Store a measurement (replacing the one for the same method, device and backend)."""
    entry = {
        "method": method_id,
        "device": device,
        "backend": backend,
        "seconds_per_mp": round(seconds / max(megapixels, 1e-9), 4),
        "weights": weights_in_use(method_id),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    data = _load()
    data[_key(method_id, device, backend)] = entry
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)  # readers never see half a file
    return entry


def measured(method_id: str) -> dict | None:
    """The latest measurement of a method with its present weights on this machine (any device or
    backend), or None."""
    present = weights_in_use(method_id)  # looked up once, not per stored entry (the picker asks often)
    entries = [
        e
        for e in _load().values()
        if e.get("method") == method_id and e.get("weights", "") == present and _runs_here(e["backend"])
    ]
    return max(entries, key=lambda entry: entry.get("date", "")) if entries else None


def _runs_here(backend: str) -> bool:
    """Whether this install has the backend a measurement was made with: the record is per machine,
    and another environment's ONNX timing was shown where ONNX Runtime is missing (walk-through 53)."""
    return not backend.startswith("onnx") or _onnx_here()


@functools.cache
def _onnx_here() -> bool:  # once: the picker asks for every card, and a failed import searches again
    from core.runtime.backends import onnx_available

    return onnx_available()


ESTIMATES = {
    "fast": "fast: under a second per megapixel of the result on a CPU",
    "medium": "medium: seconds per megapixel of the result on a CPU",
    "slow": "slow: iterative, minutes on a CPU; a GPU helps",
}
AUDIO_ESTIMATES = {  # audio methods are not calibrated on an image: say it in the recording's terms
    "fast": "fast: faster than real time on a CPU",
    "medium": "medium: about real time on a CPU",
    "slow": "slow: iterative, minutes per gap on a CPU; a GPU helps",
}


def speed_of(card) -> tuple[str, str]:
    """(label, words) for a method card: measured here when it has been, else the card's estimate."""
    entry = measured(card.id)
    if entry is None:
        if card.operates_on == "audio":  # never calibrated: a recording has no megapixels to time
            return card.speed, f"{AUDIO_ESTIMATES.get(card.speed, card.speed)} (an estimate)"
        if card.operates_on == "video":  # never calibrated: not a picture's megapixels either
            return (
                card.speed,
                f"{card.speed} (the method card's rough class: a clip's repairs are not timed here)",
            )
        estimate = ESTIMATES.get(card.speed, card.speed)
        return card.speed, f"{estimate} (an estimate until its first run here measures it)"
    seconds = float(entry["seconds_per_mp"])
    where = entry["device"] if entry["backend"] == NO_NETWORK else f"{entry['device']}, {entry['backend']}"
    # of the result: an enlarging method's time grows with what it makes (walk-through 43 read it per input)
    words = f"{seconds:.3g} s per megapixel of the result, measured here ({where})"
    return label(seconds), f"{label(seconds)}: {words}"


# The SIDE×SIDE crop repeated TILES×TILES times: a run has fixed costs (weights, document handling)
# that a 0.07 MP picture made look like per-pixel time (a 0.5 s/MP network read 2 s/MP).
TILES = 2


def calibration_image(channels: int) -> np.ndarray:
    """A (TILES·SIDE)² float32 (H, W, channels) picture in [0, 1]: a SIDE×SIDE crop of scikit-image's
    bundled astronaut, repeated."""
    from skimage import data

    rgb = np.asarray(data.astronaut(), np.float32)[:SIDE, 100 : 100 + SIDE] / 255.0
    picture = rgb if channels >= 3 else rgb.mean(axis=2, keepdims=True)
    return np.ascontiguousarray(np.tile(picture, (TILES, TILES, 1)))


def calibration_mask() -> np.ndarray:
    hole = np.zeros((SIDE, SIDE), bool)
    hole[SIDE // 3 : SIDE // 2, SIDE // 4 : 3 * SIDE // 4] = True
    return np.tile(hole, (TILES, TILES))


TIMED_RUNS = 3


SLOW_RUN = 5.0  # seconds: a method whose timed run takes this long is timed once, not TIMED_RUNS times


def time_run(run_once, runs: int = TIMED_RUNS) -> tuple[float, float]:
    """(seconds, output megapixels) of `run_once()` -> (H, W, C) array: the fastest of `runs` timed runs
    after one warm-up. Other programs only ever slow a run down, so the fastest is the one closest to
    what this machine can do; a single timing taken while it was busy would label a method "slow" for good.
    A slow method is timed once (on two cores a walk-through's first upscale waited 75 s for the four)."""
    run_once()
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        out = run_once()
        best = min(best, time.perf_counter() - started)
        if best > SLOW_RUN:  # decided on a timed run: the warm-up includes setting the network up
            break
    return best, out.shape[0] * out.shape[1] / 1e6

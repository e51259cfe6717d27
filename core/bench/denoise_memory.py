"""`lacuna bench denoise-memory --case photo|ct [--method ID] [--device D] [--cancel-after S] [--json]`.

The engine's large-input check: a 4000×3000 16-bit RGB photo (a real photo enlarged, with sensor-like
noise, written to and read back from a 16-bit TIFF) and a 512×512×100 CT volume (a real CT slice in
Hounsfield units, fresh noise on each of 100 frames) are denoised end to end while the peak resident
memory, the time and the progress reports are recorded. `--cancel-after S` cancels the run after S
seconds instead and measures how long the engine takes to stop and that the input is untouched.

Run one case per process: the peak memory is the process's.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.bench.common import use_weights_folder
from core.documents import ImageDoc, VolumeDoc
from core.errors import CancelledError
from core.runtime.context import RunContext

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports kB


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def make_photo(data: Path, folder: Path, sigma: float) -> tuple[ImageDoc, np.ndarray]:
    """A real photo enlarged to 4000×3000, 16-bit, noisy; written as TIFF and read back."""
    import cv2
    from PIL import Image

    from core.io import read, write

    with Image.open(data / "images" / "bench" / "McMaster" / "1.png") as im:
        small = np.asarray(im.convert("RGB"), np.float32)
    clean = cv2.resize(small, (4000, 3000), interpolation=cv2.INTER_CUBIC) * 257.0
    rng = np.random.default_rng(0)
    noisy = clean + rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma * 257.0)
    noisy = np.clip(np.round(noisy), 0, 65535)
    doc = ImageDoc(pixels=noisy[None], dtype="uint16", mode="RGB", format="TIFF")
    del noisy
    path = write(doc, folder / "large16.tif", sidecar=False)
    return read(path), np.clip(clean, 0, 65535)


def make_ct(data: Path, sigma_hu: float, frames: int = 100) -> tuple[VolumeDoc, np.ndarray]:
    """A real 512×512 CT slice (HU) repeated over `frames` with fresh noise on each."""
    from core.io import read

    ct = read(data / "medical" / "693_UNCI.dcm")
    clean = ct.pixels[0].astype(np.float32)
    rng = np.random.default_rng(0)
    pixels = np.stack(
        [clean + rng.normal(0, sigma_hu, clean.shape).astype(np.float32) for _ in range(frames)]
    )
    doc = VolumeDoc(pixels=pixels, modality="CT", stored_range=ct.value_range, spacing=ct.spacing)
    return doc, clean


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench denoise-memory", description=__doc__.split("\n")[0])
    p.add_argument("--case", choices=["photo", "ct"], required=True)
    p.add_argument("--method", default=None, help="default: the task's default method")
    p.add_argument("--device", default="auto")
    p.add_argument("--frames", type=int, default=100, help="CT frames")
    p.add_argument("--cancel-after", type=float, default=0.0, help="cancel after this many seconds")
    p.add_argument("--data", default=str(DATA), help="the shared data sets")
    p.add_argument("--param", action="append", default=[], metavar="K=V")
    p.add_argument("--weights", default=None, help="a folder of weights to use instead of resources/weights")
    p.add_argument("--json", action="store_true")
    return p


def main(argv: list[str]) -> int:
    from core.methods import default_method
    from core.repair import run_repair
    from core.repair_cli import TerminalProgress, parse_params

    args = build_parser().parse_args(argv)
    if args.weights:
        use_weights_folder(args.weights)
    method = args.method or default_method("denoise").card.id
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        if args.case == "photo":
            doc, clean = make_photo(data, Path(tmp), sigma=10.0)
            peak = 65535.0
        else:
            doc, clean = make_ct(data, sigma_hu=25.0, frames=args.frames)
            peak = float(doc.value_range[1] - doc.value_range[0])
    input_mb = doc.pixels.nbytes / 2**20
    before = doc.pixels[:, ::97, ::89].copy()  # a sparse fingerprint of the input
    ctx = RunContext(device=args.device)
    reports = []
    bar = TerminalProgress()

    def on_progress(report):
        reports.append(report)
        bar(report)

    if args.cancel_after:
        threading.Timer(args.cancel_after, ctx.cancel_event.set).start()
    rss_before = _rss_mb()
    started = time.monotonic()
    outcome: dict[str, Any] = {}
    try:
        result = run_repair(
            doc, "denoise", method=method, ctx=ctx, on_progress=on_progress, **parse_params(args.param)
        )
        outcome["finished"] = True
    except CancelledError:
        outcome["finished"] = False
        outcome["stopped seconds after cancel"] = round(time.monotonic() - started - args.cancel_after, 2)
        result = None
    finally:
        bar.finish()
    seconds = time.monotonic() - started
    summary = {
        "case": "4000×3000 16-bit RGB photo" if args.case == "photo" else f"512×512×{args.frames} CT (HU)",
        "method": method,
        "device": str(ctx.torch_device()),
        "input MB (float32)": round(input_mb, 1),
        "RSS before the run MB": round(rss_before, 1),
        "peak RSS MB": round(_peak_rss_mb(), 1),
        "seconds": round(seconds, 1),
        "progress reports": len(reports),
        "input untouched": bool(np.array_equal(doc.pixels[:, ::97, ::89], before)),
        **outcome,
    }
    if result is not None:
        truth = clean[None]
        noisy_err = float(np.sqrt(np.mean((doc.pixels[:2] - truth) ** 2)))
        out_err = float(np.sqrt(np.mean((result.pixels[:2] - truth) ** 2)))
        summary["PSNR in dB (first frames) noisy -> result"] = (
            round(float(20 * np.log10(peak / noisy_err)), 2),
            round(float(20 * np.log10(peak / out_err)), 2),
        )
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        for key, value in summary.items():
            print(f"- {key}: {value}")
    sys.stdout.flush()
    return 0

"""`lacuna bench batch`: throughput of `lacuna batch`, and the memory of a gigapixel TIFF.

    lacuna bench batch --set DIR --count N --method ID [--param K=V] [--engines local:1 local:2 dask:2]
    lacuna bench batch --large 40000 --method denoise-bilateral --param sigma=10 [--tmp DIR]

Throughput: the first N images of a bench set are copied into a fresh tree and batch-repaired once per
engine (`local:W` a local pool of W workers, W=1 meaning this process; `dask:W` an embedded Dask
LocalCluster of W worker processes), each into a fresh output folder. Reported: items per second over
the whole run (start-up of the workers included) and between the first and the last item (warm).

Large: a 40000×40000 (by default) 16-bit gray tiled TIFF is made from a real photo with noise, then
`lacuna batch` repairs it in a child process whose peak resident memory is read from the kernel
(wait4). The TIFF and its result are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench batch", description=__doc__.split("\n\n")[0])
    p.add_argument("--set", default=str(DATA / "images" / "bench" / "CBSD68"))
    p.add_argument("--count", type=int, default=60)
    p.add_argument("--task", default="denoise")
    p.add_argument("--method", default="denoise-bilateral")
    p.add_argument("--param", action="append", default=[], metavar="K=V")
    p.add_argument("--engines", nargs="+", default=["local:1", "local:2", "dask:2"])
    p.add_argument("--large", type=int, default=0, metavar="SIDE", help="measure a SIDE×SIDE 16-bit TIFF")
    p.add_argument("--tmp", default=None, help="folder for the large TIFF (default: the system's)")
    p.add_argument("--json", action="store_true")
    return p


class _Clock:
    """A reporter that keeps when each item finished."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def start(self, total: int, todo: int) -> None:
        pass

    def item(self, outcome: Any) -> None:
        self.times.append(time.monotonic())

    def finish(self, summary: Any) -> None:
        pass


def throughput(args: argparse.Namespace) -> list[dict[str, Any]]:
    from core.batch import Batch, BatchRequest
    from core.repair_cli import parse_params

    files = sorted(p for p in Path(args.set).iterdir() if p.is_file())[: args.count]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "in"
        for n, path in enumerate(files):
            folder = tree / f"box{n % 4}"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / path.name)
        for engine in args.engines:
            kind, _, workers = engine.partition(":")
            request = BatchRequest(
                tree,
                Path(tmp) / engine.replace(":", "-"),
                (args.task,),
                (args.method,),
                parse_params(args.param),
            )
            clock = _Clock()
            summary = Batch(
                request,
                workers=int(workers or 1),
                scheduler="local" if kind == "dask" else None,
                reporter=clock,
            ).run()
            warm = (
                (len(clock.times) - 1) / (clock.times[-1] - clock.times[0]) if len(clock.times) > 1 else 0.0
            )
            rows.append(
                {
                    "engine": engine,
                    "method": args.method,
                    "items": summary.succeeded,
                    "failed": summary.failed,
                    "seconds": round(summary.seconds, 2),
                    "items_per_s": round(summary.rate, 3),
                    "warm_items_per_s": round(warm, 3),
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def make_large_tiff(path: Path, side: int) -> None:
    """A side×side 16-bit tiled TIFF: a real photo repeated, with fresh noise in every tile."""
    import tifffile
    from PIL import Image

    with Image.open(DATA / "images" / "bench" / "Set12" / "01.png") as im:
        photo = np.asarray(im.convert("L"), np.float32)[:256, :256] * 257
    tile = 512
    block = np.tile(photo, (2, 2))
    rng = np.random.default_rng(0)

    def tiles():
        for _ in range(0, side, tile):
            for _ in range(0, side, tile):
                noisy = block + rng.standard_normal(block.shape, dtype=np.float32) * 2570
                yield np.clip(noisy, 0, 65535).astype(np.uint16)

    tifffile.imwrite(path, tiles(), shape=(side, side), dtype=np.uint16, tile=(tile, tile), bigtiff=True)


def large(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tree = Path(tmp) / "in"
        tree.mkdir()
        started = time.monotonic()
        make_large_tiff(tree / "slide.tif", args.large)
        made = time.monotonic() - started
        command = [sys.executable, "-m", "core.cli", "batch", str(tree), "-o", str(Path(tmp) / "out")]
        command += ["--task", args.task, "--method", args.method, "--workers", "1", "--quiet"]
        for param in args.param:
            command += ["--param", param]
        started = time.monotonic()
        child = subprocess.Popen(command)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        written = Path(tmp) / "out" / "slide_denoise.tif"
        tiled = False
        if written.exists():
            import tifffile

            with tifffile.TiffFile(written) as tif:
                tiled = bool(tif.pages[0].is_tiled)
        result = {
            "written_tile_by_tile": tiled,
            "side": args.large,
            "input_gb": round((tree / "slide.tif").stat().st_size / 1e9, 2),
            "output_gb": round(written.stat().st_size / 1e9, 2) if written.exists() else 0.0,
            "method": args.method,
            "params": args.param,
            "exit_status": os.waitstatus_to_exitcode(status),
            "peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),  # Linux reports kB
            "seconds": round(seconds, 1),
            "seconds_to_make_input": round(made, 1),
        }
    return result


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    report: Any = large(args) if args.large else throughput(args)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0

"""Shared pieces of the benchmark protocols: loading a bench set and writing a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.errors import LacunaError

SUFFIXES = {".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg"}


def load_set(folder: str | Path, gray: bool) -> list[tuple[str, np.ndarray]]:
    """(name, float64 (H, W, C) on 0..255) for every image of a bench folder, sorted by name."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
    if not files:
        raise LacunaError(f"no images in {folder}")
    images = []
    for path in files:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if gray else "RGB"), np.float64)
        images.append((path.stem, arr[..., None] if arr.ndim == 2 else arr))
    return images


def check_methods(asked: list[str], task: str) -> list[str]:
    """The method ids asked for on the command line, each checked to be a runnable `task` method."""
    from core.methods import get_method

    for method_id in asked:
        card = get_method(method_id).card
        if card.task != task:
            raise LacunaError(f"{method_id} is a {card.task} method, not a {task} one")
        if not card.available:
            raise LacunaError(f"{method_id} cannot run: {card.unavailable_reason}")
    return list(asked)


def own_params(method_id: str, pairs: list[str]) -> dict[str, str]:
    """The --param values this method takes (others are for other methods)."""
    from core.methods import get_method
    from core.repair_cli import parse_params

    names = {p.name for p in get_method(method_id).card.params}
    return {k: v for k, v in parse_params(pairs).items() if k in names}


def use_weights_folder(folder: str | Path) -> None:
    """Benchmark weights from `folder` (say, a fresh training run) instead of the installed ones."""
    from core.methods import weights

    folder = Path(folder)
    if not folder.is_dir():
        raise LacunaError(f"weights folder {folder} does not exist")
    weights.OVERRIDE = folder


def add_run_arguments(p) -> None:
    """The options every image bench shares: device, precision, subset, seed, method parameters, JSON."""
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument(
        "--limit", type=int, default=0, help="only the first N images (a volume: N held-back slices)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="for methods that take K")
    add_backend_argument(p)
    p.add_argument("--json", action="store_true")


def add_backend_argument(p) -> None:
    from core.runtime.backends import CHOICES

    p.add_argument(
        "--backend",
        nargs="+",
        default=["auto"],
        choices=CHOICES,
        help="run the learned methods on each of these backends; with torch among them, every other "
        "backend's PSNR difference to the float32 torch model on the same images is reported",
    )


def variants(method_ids: list[str], backends: list[str]) -> list[tuple[str, str, str]]:
    """(label, method id, backend) for each column of a bench: a learned method once per backend,
    labelled "id@backend" when more than one is asked for; other methods once, as "id"."""
    from core.methods import get_method

    plan = []
    for method_id in method_ids:
        learned = get_method(method_id).card.kind == "learned"
        for backend in backends if learned else ["auto"]:
            label = (
                f"{method_id}@{backend}"
                if learned and (len(backends) > 1 or backend != "auto")
                else method_id
            )
            plan.append((label, method_id, backend))
    return plan


def backend_contexts(args, plan: list[tuple[str, str, str]]) -> dict:
    """A RunContext per backend of the plan, with the bench's device, precision and seed."""
    from core.runtime.context import RunContext

    return {
        backend: RunContext(device=args.device, precision=args.precision, seed=args.seed, backend=backend)
        for _label, _method, backend in plan
    }


def backends_used(contexts: dict) -> dict[str, str]:
    """What each backend asked for ran as, after the runs (a fall-back to torch shows here)."""
    return {
        f"backend {name}": ctx.extras["backend"] for name, ctx in contexts.items() if "backend" in ctx.extras
    }


def torch_reference(label: str) -> str | None:
    """The float32 torch column a backend variant is compared with ("m@onnx" -> "m@torch")."""
    method_id, _, backend = label.partition("@")
    return f"{method_id}@torch" if backend and backend != "torch" else None


class MethodScores:
    """PSNR, SSIM and seconds per megapixel of each method: per image in a row, summarised at the end."""

    def __init__(self, ids: list[str]):
        self.ids = list(ids)
        self.values = {m: {"psnr": [], "ssim": [], "spmp": []} for m in self.ids}

    def add(self, row: dict[str, Any], mid: str, psnr: float, ssim: float, seconds_per_mp: float) -> None:
        self.values[mid]["psnr"].append(psnr)
        self.values[mid]["ssim"].append(ssim)
        self.values[mid]["spmp"].append(seconds_per_mp)
        row[f"{mid} PSNR"] = round(psnr, 3)
        row[f"{mid} SSIM"] = round(ssim, 4)

    def summarise(self, summary: dict[str, Any]) -> None:
        """Mean PSNR and SSIM, median speed (steadier than the mean against one slow image)."""
        for mid in self.ids:
            summary[f"{mid} PSNR"] = round(float(np.mean(self.values[mid]["psnr"])), 3)
            summary[f"{mid} SSIM"] = round(float(np.mean(self.values[mid]["ssim"])), 4)
            summary[f"{mid} s/MP"] = round(float(np.median(self.values[mid]["spmp"])), 3)
            reference = torch_reference(mid)
            if reference in self.values:  # the same images, so the mean of differences is exact
                delta = np.mean(self.values[mid]["psnr"]) - np.mean(self.values[reference]["psnr"])
                summary[f"{mid} PSNR - torch float32"] = round(float(delta), 4)


def emit(rows: list[dict[str, Any]], summary: dict[str, Any], as_json: bool, title: str) -> None:
    """Print per-image rows and the summary as JSON or as a Markdown table."""
    if as_json:
        json.dump({"title": title, "summary": summary, "images": rows}, sys.stdout, indent=2)
        print()
        return
    print(f"## {title}\n")
    if rows:
        print(markdown_table(rows))
    print("\n**Summary**\n")
    for key, value in summary.items():
        print(f"- {key}: {_fmt(value)}")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows (dicts with the same keys) as a Markdown table, floats to three decimals."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)

"""`lacuna train TASK --data FOLDER [FOLDER ...] --out WEIGHTS.safetensors [...]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import LacunaError
from core.train.recipes import get_recipe


def build_parser(recipe_cls) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"lacuna train {recipe_cls.task}")
    p.add_argument("--data", nargs="+", required=True, help="training folder(s)")
    p.add_argument("--out", required=True, help="weights file to write (.safetensors)")
    p.add_argument("--val-data", default=None, help="a folder of validation images (never a bench set)")
    p.add_argument("--val-count", type=int, default=8)
    p.add_argument("--channels", type=int, default=3, choices=[1, 3])
    p.add_argument("--steps", type=int, default=recipe_cls.default_steps)
    p.add_argument("--batch", type=int, default=recipe_cls.default_batch)
    p.add_argument("--crop", type=int, default=recipe_cls.default_crop)
    p.add_argument("--lr", type=float, default=recipe_cls.default_lr)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="bfloat16", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    p.add_argument(
        "--init",
        default=None,
        metavar="WEIGHTS",
        help="start from these weights (fine-tuning, e.g. a shipped model on your own scans)",
    )
    p.add_argument("--checkpoint", default=None, help="checkpoint path (default: OUT with .ckpt)")
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument(
        "--time-limit",
        type=float,
        default=0,
        help="stop (and save) after this many seconds of training (preparing the data first is not counted)",
    )
    recipe_cls.add_arguments(p)
    return p


def main(argv: list[str]) -> int:
    from core.train.loop import train

    task, rest = argv[0], argv[1:]
    recipe_cls = get_recipe(task)
    args = build_parser(recipe_cls).parse_args(rest)
    _check_inputs(args)
    train(recipe_cls, args, log=lambda line: print(line, file=sys.stderr, flush=True))
    return 0


def _check_inputs(args: argparse.Namespace) -> None:
    """Every --data, --val-data and --init path is there, said before any data is read (a contributor
    on a fresh clone, without ../shared/datasets beside it, got a traceback)."""
    from core.train.scan_bank import resolve  # --data may name pydicom's own test files

    for path in [*map(resolve, args.data), args.val_data, args.init]:
        if path and not Path(path).exists():
            raise LacunaError(f"{path}: no such file or folder")

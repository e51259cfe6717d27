"""`lacuna models`: the repair methods and where their weights were found; `lacuna models import FILE`."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list repair methods; `lacuna models import FILE` adds weights")
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        help="list (default), import, or a task whose methods to list (inpaint)",
    )
    p.add_argument("file", nargs="?", help="import: a .safetensors file written by `lacuna train`")
    name_help = "import: the name to give it, e.g. denoise-gray (default: its own)"
    p.add_argument("--as", dest="name", default=None, help=name_help)
    p.add_argument("--overwrite", action="store_true", help="import: replace a file of that name")
    p.add_argument("--task", default=None)
    p.add_argument("--json", action="store_true")


def models_command(args: argparse.Namespace) -> int:
    if args.action == "import":
        return _import(args)
    if args.action != "list":  # `lacuna models inpaint`, as `--task inpaint`
        from core.errors import MethodError
        from core.tasks import TASKS

        if args.action not in TASKS:
            raise MethodError(f"{args.action!r} is not list, import or a task ({', '.join(TASKS)})")
        args.task = args.action
    from core.methods import methods, weights
    from core.methods.scores import quality_text, scores_of
    from core.runtime.speed import measured, speed_of

    cards = methods(args.task)
    if args.json:
        rows = [
            {
                **c.as_dict(),
                "speed": speed_of(c)[0],
                "speed_measured": measured(c.id),
                "scores": [vars(score) for score in scores_of(c)],
            }
            for c in cards
        ]
        print(json.dumps(rows, indent=2))
        return 0
    print(backend_line())
    print("* the task's default; v its default on a clip's frames; s on scans the default does not suit")
    for card in cards:
        flag = "*" if card.default else "v" if card.clip_default else "s" if card.scan_default else " "
        state = "" if card.available else f"  [unavailable: {card.unavailable_reason}]"
        speed, speed_words = speed_of(card)
        print(f"{flag} {card.task:<10} {card.id:<22} {card.kind:<10} {speed:<7} {card.description}{state}")
        print(f"      speed {speed_words}")
        if card.params:  # what `--param K=V` takes: found only by a refusal before (a walk-through)
            print(f"      params {'; '.join(param_text(p) for p in card.params)}")
        if card.weights:
            print(f"      quality (model card) {quality_text(card)}")
        for name, path in card.found_weights().items():
            if path is not None:
                print(f"      weights {name}: {weights.origin(path)}, {path}")
    return 0


def param_text(param) -> str:
    """'fps=30 (the new frame rate, 1-240)': a parameter's default, what it is and what it takes."""
    if param.choices is not None:
        takes = "|".join(map(str, param.choices))
    elif param.minimum is not None or param.maximum is not None:
        low = "" if param.minimum is None else f"{param.minimum:g}"
        high = "" if param.maximum is None else f"{param.maximum:g}"
        takes = f"{low}-{high}" if low and high else (f"{low} or more" if low else f"up to {high}")
    else:
        takes = ""
    default = f"{param.default:g}" if isinstance(param.default, float) else param.default
    details = ", ".join(part for part in (param.help, takes) if part)
    return f"{param.name}={default}" + (f" ({details})" if details else "")


def backend_line() -> str:
    """Which engine runs the learned networks here, chosen automatically, and what else could."""
    from core.runtime import backends
    from core.runtime.device import pick_device

    chosen = backends.choose_backend("auto", pick_device("auto").type)
    others = ", ".join(backends.available_backends())
    return (
        f"learned networks run on {chosen} ({backends.describe_backend(chosen)}), chosen automatically; "
        f"--backend overrides (available here: {others})"
    )


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.errors import MethodError
    from core.methods import weights

    if not args.file:
        raise MethodError("lacuna models import FILE: name the .safetensors file to import")
    target = weights.import_file(Path(args.file), args.name, overwrite=args.overwrite)
    users = weights.users_of(target.name)
    used = f"used by {', '.join(users)}" if users else "no method loads a file of this name yet"
    print(f"imported {target} ({used})", file=sys.stderr)
    return 0

"""The `lacuna` command.

    lacuna                      start the desktop app
    lacuna open FILE            start the app on a file
    lacuna info FILE|FOLDER     what was read
    lacuna models               the repair methods; `lacuna models import FILE` adds weights
    lacuna repair IN -o OUT     repair a file
    lacuna batch DIR -o OUT     repair a folder tree (resumable)
    lacuna detect IN -o MASK    propose a mask of scratches, dust and stains
    lacuna bench TASK ...       benchmark protocols (core.bench.<task>)
    lacuna train TASK ...       train shipped or fine-tuned weights (core.train)

Errors are printed as one line, never a traceback; the exit status is 2 for a LacunaError, and 3 when
a repair found nothing to change (--detect on an undamaged file, a loss trace with no packet lost):
nothing is written, which a script over an archive can tell from a failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import LacunaError, NothingToDoError, OutputExistsError
from core.models_cli import add_parser as add_models_parser
from core.runtime.backends import CHOICES as BACKEND_CHOICES

NOTHING_TO_DO = 3  # exit status: the file needed no repair (not a failure; nothing was written)


def _start_desktop(path: str | None, quit_after_ms: int | None = None) -> int:
    try:
        from desktop.launch import main as desktop_main
    except ImportError as exc:  # the engine can be installed without the GUI
        print(f"lacuna: the desktop app is not installed ({exc}); try `lacuna --help`", file=sys.stderr)
        return 2
    return desktop_main([path] if path else [], quit_after_ms=quit_after_ms)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lacuna", description="Recover lost information in images, scans, video and audio."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--quit-after", type=int, default=None, metavar="MS", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("open", help="start the desktop app on a file or folder")
    p.add_argument("path")

    p = sub.add_parser("info", help="describe what a file or folder holds")
    p.add_argument("path")
    p.add_argument("--no-scan", action="store_true", help="video: skip the damage scan (a full decode)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    add_models_parser(sub)

    p = sub.add_parser(
        "repair",
        help="repair a file and save the result beside it",
        epilog="exit status: 0 a result was written, 2 an error, 3 nothing to repair (nothing written)",
    )
    p.add_argument("input")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        help="output path, or a folder to write INPUT_<task>.<ext> in (default: beside the input)",
    )
    from core.tasks import TASKS

    repairs = [t for t in TASKS if not TASKS[t].proposes_mask]
    p.add_argument(
        "--task",
        required=True,
        help=f"what to repair: {', '.join(repairs)} (lacuna models lists each task's methods); a"
        " photo's scratches and dust: --task inpaint --detect",
    )
    p.add_argument("--method", default=None, help="one of the task's methods (default: the task's own)")
    p.add_argument(
        "--mask",
        default=None,
        help="an image the size of the input, non-zero = repair (one for every frame or slice); or the"
        " name given to `lacuna detect -o` for a clip or a scan, whose NAME_0000.png ... are read one"
        " per frame or slice; for a scan also a volume on its grid (a NIfTI mask). A NIfTI slice's"
        " picture has voxel i as its column and j as its row, as stored (not as shown)",
    )
    p.add_argument(
        "--gap",
        action="append",
        default=[],
        metavar="START:END[@LOW:HIGH]",
        help="audio: seconds to fill (all frequencies), or only the band LOW..HIGH Hz; repeatable",
    )
    p.add_argument(
        "--loss-trace",
        default=None,
        metavar="FILE",
        help="audio: a packet-loss trace, one 0/1 line per packet (1 = lost); the lost packets are filled"
        " (by fill-gap-speech, the speech packet concealment, unless --method names another)",
    )
    p.add_argument(
        "--packet-ms",
        type=float,
        default=None,
        help="with --loss-trace: packet length (ms); by default the one of 20, 10, 30, 40 or 60 ms whose"
        " packet count the trace's length fits (20 when none or several do)",
    )
    p.add_argument(
        "--detect",
        action="store_true",
        help="repair what Lacuna finds: clicks and dropouts in audio, scratches, dust and stains in images"
        " and in a clip's --frames (the first 16 if not given)",
    )
    p.add_argument(
        "--detect-method", default=None, help="with --detect on images: the detection method (lacuna models)"
    )
    p.add_argument(
        "--unreviewed",
        action="store_true",
        help="with --detect on a CT, MR or other scan: fill what detection proposes without reviewing it"
        " (anatomy can look like damage; without this the command refuses and says how to review)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="with --detect: on images the detection threshold (0-1); on audio how far a click stands"
        " above the local prediction error (default 16: higher marks fewer)",
    )
    p.add_argument(
        "--detect-param",
        action="append",
        default=[],
        metavar="K=V",
        help="with --detect on images: a detection method parameter (e.g. coarse=false, ensemble=true)",
    )
    p.add_argument(
        "--frames",
        default=None,
        metavar="A-B,C",
        help=(
            "video, volume: only these frames or slices, counted from 0 (the app shows them from 1);"
            " fill-frames repairs the damage its scan finds there, or else rebuilds these frames"
        ),
    )
    p.add_argument("--codec", default=None, help="video: ffv1 (lossless), h264, h265, vp9 or mjpeg")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKEND_CHOICES,
        help="what runs learned networks (auto: ONNX Runtime on a CPU when installed, else torch)",
    )
    p.add_argument("--tile", type=int, default=0, help="tile size in pixels (0 = from free memory)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="method parameter")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (never the input)")
    p.add_argument("--json", action="store_true")

    from core.batch.cli import add_parser as add_batch_parser

    add_batch_parser(sub)

    p = sub.add_parser(
        "detect", help="propose a damage mask (scratches, dust, stains) for an image, a scan or video frames"
    )
    from core.detect.cli import add_arguments as detect_arguments

    detect_arguments(p)

    from core.bench import PROTOCOLS
    from core.train.recipes import RECIPES

    p = sub.add_parser("bench", help="run a benchmark protocol: lacuna bench TASK --help")
    p.add_argument("task", help=f"one of: {', '.join(PROTOCOLS)}")
    p.add_argument("args", nargs=argparse.REMAINDER)

    p = sub.add_parser("train", help="train weights: lacuna train TASK --help")
    p.add_argument("task", help=f"one of: {', '.join(RECIPES)}")
    p.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("input", "path"):  # "." and ".." name no file: the folder's own name is what outputs take
        given = getattr(args, name, None)
        if isinstance(given, str) and Path(given).name in ("", ".", ".."):
            setattr(args, name, os.path.abspath(given))
    try:
        return _dispatch(args)
    except NothingToDoError as exc:
        print(f"lacuna: nothing written: {exc}", file=sys.stderr)
        _json_outcome(args, "nothing to do", str(exc))
        return NOTHING_TO_DO
    except LacunaError as exc:
        flag = " (--overwrite)" if isinstance(exc, OutputExistsError) else ""  # the app asks instead
        print(f"lacuna: {exc}{flag}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = (
            "; what was done is kept: run the same command again to go on" if args.command == "batch" else ""
        )
        print(f"lacuna: interrupted{resume}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`lacuna info x | head -1`): not an error of ours
        _silence_stdout()
        return 141  # what a shell reports for a program stopped by SIGPIPE


def _json_outcome(args: argparse.Namespace, status: str, message: str) -> None:
    """With --json, a run that found nothing to do still prints an object (walk-throughs 41, 42: a
    script reading stdout got nothing to parse); the exit status says the same. An error prints
    nothing there: it is no outcome."""
    if getattr(args, "json", False):
        print(
            json.dumps(
                {"input": getattr(args, "input", None), "output": None, "status": status, "message": message},
                indent=2,
            )
        )


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _dispatch(args: argparse.Namespace) -> int:
    if args.version:
        from core.version import __version__

        print(f"lacuna {__version__}")
        return 0
    if args.command is None:
        return _start_desktop(None, args.quit_after)
    if args.command == "open":
        return _start_desktop(args.path, args.quit_after)
    if args.command == "info":
        from core.info import describe, format_info

        info = describe(args.path, scan=not args.no_scan)
        print(json.dumps(info, indent=2) if args.json else format_info(info))
        return 0
    if args.command == "models":
        from core.models_cli import models_command

        return models_command(args)
    if args.command == "repair":
        from core.repair_cli import repair_command

        return repair_command(args)
    if args.command == "batch":
        from core.batch.cli import batch_command

        return batch_command(args)
    if args.command == "detect":
        from core.detect.cli import detect_command

        return detect_command(args)
    if args.command == "bench":
        from core.bench import PROTOCOLS

        task = args.task.replace("_", "-")  # fill_gap, as the module is named, is fill-gap
        if task not in PROTOCOLS:
            raise LacunaError(f"no bench protocol for task {args.task!r}; tasks: {', '.join(PROTOCOLS)}")
        return importlib.import_module(f"core.bench.{task.replace('-', '_')}").main(args.args)
    if args.command == "train":
        from core.train.cli import main as train_main

        return train_main([args.task, *args.args])
    raise AssertionError(args.command)


if __name__ == "__main__":
    raise SystemExit(main())

"""`lacuna batch INPUT_DIR -o OUTPUT_DIR --task T [...]`: repair a whole folder tree, resumably."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = """\
Each image, DICOM series folder, NIfTI file, audio file and video file is one item; the output folder
mirrors the input tree and holds the manifest (lacuna-batch.sqlite). Run the same command again to
resume: items done are skipped, failed ones are tried again. Give --task once per kind of file, e.g.
--task denoise --task fill-gap --detect. Exit status: 0 all went well, 1 some items failed, 2 the
batch could not start.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "batch",
        help="repair every file in a folder tree (resumable)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True, help="output folder (mirrors the input tree)")
    p.add_argument("--task", action="append", required=True, help="repeatable: one per kind of file")
    p.add_argument("--method", action="append", default=[], help="repeatable: one per task")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="method parameter")
    p.add_argument(
        "--detect",
        action="store_true",
        help="fill what detection finds: audio clicks and dropouts, image marks",
    )
    p.add_argument("--detect-method", default=None, help="with --detect on images: the detection method")
    p.add_argument(
        "--unreviewed",
        action="store_true",
        help="with --detect on CT, MR and other scans: fill what detection proposes (without it a batch"
        " holding scans is refused: anatomy can look like damage)",
    )
    p.add_argument("--threshold", type=float, default=None, help="with --detect on images: its threshold")
    p.add_argument(
        "--detect-param",
        action="append",
        default=[],
        metavar="K=V",
        help="with --detect on images: a detection method parameter (e.g. ensemble=true)",
    )
    p.add_argument(
        "--loss-traces",
        action="store_true",
        help="audio: conceal the packets the loss trace beside each recording marks (NAME_is_lost.txt,"
        " one 0/1 line per packet of 20, 10, 30, 40 or 60 ms, whichever its length fits); recordings"
        " without one are detected (--detect) or skipped",
    )
    p.add_argument(
        "--lossless-video",
        action="store_true",
        help="clips: save each result as NAME_task.mkv (FFV1, lossless) instead of encoding it again"
        " in the clip's own format (h264 in an .mp4 is lossy, the untouched frames too)",
    )
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="only matching paths")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave matching paths")
    p.add_argument(
        "--workers", type=int, default=0, help="worker processes (default: one per GPU, or half the cores)"
    )
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler, or 'local'")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument("--tile", type=int, default=0, help="network tile size in pixels (0 = from free memory)")
    p.add_argument(
        "--memory-limit", type=int, default=0, metavar="MB", help="memory per item (0 = what is free)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dry-run", action="store_true", help="list what would be done and stop")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quiet", action="store_true", help="no progress bar; the summary only")
    mode.add_argument("--json", action="store_true", help="one JSON line per item, then the summary")


ACTION_COLUMN = 60  # the dry run's action column: a longer one (a skip's reason) runs on, not all


def batch_command(args: argparse.Namespace) -> int:
    from core.batch import Batch, BatchRequest, RunOptions, plan
    from core.batch.pool import default_workers
    from core.batch.progress import reporter_for
    from core.detect.run import check_detect_task, check_unreviewed
    from core.repair_cli import parse_params

    request = BatchRequest(
        input_dir=Path(args.input),
        output_dir=Path(args.output),
        tasks=tuple(args.task),
        methods=tuple(args.method),
        params=parse_params(args.param),
        detect=args.detect,
        loss_traces=args.loss_traces,
        detection={
            "method": args.detect_method,
            "threshold": args.threshold,
            "params": parse_params(args.detect_param),
        },
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        lossless_video=args.lossless_video,
        unreviewed=args.unreviewed,
    )
    check_detect_task(tuple(args.task), args.detect)
    check_unreviewed(args.unreviewed, args.detect)
    if args.dry_run:
        return _dry_run(request, plan, args.json)
    options = RunOptions(
        device=args.device,
        precision=args.precision,
        tile=args.tile,
        seed=args.seed,
        memory_limit_mb=args.memory_limit,
    )
    workers = args.workers or default_workers(args.device)
    batch = Batch(request, options, workers, args.scheduler, reporter_for(args.quiet, args.json))
    summary = batch.run()
    if request.detect and summary.succeeded and not args.json:
        # a walk-through's batch filled a hair bow the detector took for a stain, and nothing said so
        print(
            "detection chose what was filled, and no one reviewed it: look at the results; to review a"
            " proposal first, open the file (lacuna open FILE), detect, erase what is not damage, repair",
            file=sys.stderr,
        )
        most = most_marked(request.output_dir)
        if most:  # where to look first: a large share on an undamaged picture is content filled away
            print(f"detection marked the most in: {most}", file=sys.stderr)
    return 1 if summary.failed else 0


def most_marked(output_dir: Path, shown: int = 3) -> str:
    """'b.png 5.79%, a.png 1.20%': the items whose detection marked the largest share to repair."""
    from core.batch.manifest import Manifest
    from core.batch.worker import DETECTION_MARKED, DONE

    manifest = Manifest.open(output_dir)
    try:
        shares = [
            (json.loads(row["params"] or "{}").get(DETECTION_MARKED), row["key"])
            for row in manifest.items()
            if row["state"] == DONE
        ]
    finally:
        manifest.close()
    ranked = sorted(((share, key) for share, key in shares if share), reverse=True)[:shown]
    return ", ".join(f"{key} {share * 100:.2f}%" for share, key in ranked)


def _dry_run(request, plan, as_json: bool) -> int:
    from core.batch.manifest import Manifest, manifest_path
    from core.batch.recipe import skip_reason
    from core.batch.runner import plan_notes
    from core.batch.worker import output_path, skipped_without_trace

    planned = plan(request)
    recipes, items = planned.recipes, planned.items
    notes = plan_notes(request, planned)
    done: dict[str, str] = {}
    path = manifest_path(request.output_dir)
    if path.exists():
        manifest = Manifest(path)
        try:
            manifest.check(request.description())  # another batch's folder: refused, as the run is
            gone = set(manifest.missing(item.key for item in items))  # done again (`reopen_missing`)
            changed = set(manifest.changed(item.key for item in items))  # and `reopen_changed`
            for row in manifest.items():
                state = row["state"]
                done[row["key"]] = (
                    "gone" if row["key"] in gone else "changed" if row["key"] in changed else state
                )
        finally:
            manifest.close()
    rows = []
    for item in items:
        recipe = recipes.get(item.kind)
        state = done.get(item.key, "pending")
        untraced = skipped_without_trace(recipe, item.kind, item.source) if recipe else None
        if state == "done":
            action = "skip (done)"
        elif state == "gone" and recipe is not None:
            action = f"{recipe.action()} again (its output is gone)"
        elif state == "changed" and recipe is not None:
            action = f"{recipe.action()} again (its source has changed)"
        elif (reason := skip_reason(recipe, item.kind)) is not None:
            action = f"skip ({reason})"
        elif state == "failed" and not untraced:  # retried: said, so a rerun's list is not all new work
            action = f"{recipe.action()} again (it failed before)"
        elif state == "skipped":  # a run does not take it up again
            action = "skip (skipped before)"
        else:
            action = f"skip ({untraced})" if untraced else recipe.action()
        row = {"key": item.key, "kind": item.kind, "state": state, "action": action}
        if recipe is not None and not action.startswith("skip"):
            job = request.job(item.key, item.kind, item.source, recipe, item.series)
            row["output"] = str(output_path(job))  # where it will be written (the naming rule)
        rows.append(row)
    if as_json:
        described = {"items": rows, "recipes": {k: r.as_dict() for k, r in recipes.items()}, "notes": notes}
        print(json.dumps(described, indent=2))
    else:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        width = min(max((len(row["action"]) for row in rows), default=0), ACTION_COLUMN)
        for row in rows:
            into = f" -> {row['output']}" if "output" in row else ""
            print(f"{row['kind']:<6} {row['action']:<{width}} {row['key']}{into}")
        print(f"{len(rows)} item{'' if len(rows) == 1 else 's'}; nothing was written", file=sys.stderr)
    return 0

"""A batch's report for people: one CSV row per item beside the outputs, rewritten at the end of each
run (the SQLite manifest is what a resumed run reads; a spreadsheet reads this)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from core.batch.manifest import Manifest
from core.batch.worker import DETECTION_MARKED, FOUND, WARNINGS
from core.io.atomic import allow_replace, atomic_write

REPORT_NAME = "lacuna-batch-report.csv"
COLUMNS = ("item", "state", "output", "method", "marked to repair", "warnings", "why", "seconds")


LEFT_OUT = "left out"


def write_report(manifest: Manifest, output_dir: Path, left_out: Iterable[tuple[str, str]] = ()) -> Path:
    """`output_dir`/lacuna-batch-report.csv from the manifest: every item, done or not, with its
    output (relative to `output_dir`), what its record warns of and why it failed or was skipped;
    then the input's files the batch left out, (key, why) in `left_out`, so the sheet accounts for
    every file (walk-through 47: an earlier result left out was in no row)."""
    output_dir = Path(output_dir)
    rows = [_row(item, output_dir) for item in manifest.items()]
    listed = {row[0] for row in rows}
    rows += [_left_out_row(key, why) for key, why in left_out if key not in listed]

    def write(path: Path) -> None:
        # utf-8-sig: the byte-order mark makes spreadsheets read "Rückseite" and dashes right
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            table = csv.writer(fh)
            table.writerow(COLUMNS)
            table.writerows(rows)

    with allow_replace():  # the batch's own report, brought up to date by each run
        return atomic_write(output_dir / REPORT_NAME, write)


def _left_out_row(key: str, why: str) -> list[str]:
    row = dict.fromkeys(COLUMNS, "") | {"item": key, "state": LEFT_OUT, "why": why}
    return list(row.values())


def _row(item, output_dir: Path) -> list[str]:
    params = json.loads(item["params"] or "{}")
    output = item["output"]
    if output:
        try:
            output = Path(output).resolve().relative_to(output_dir.resolve()).as_posix()
        except ValueError:
            pass  # written elsewhere: the whole path
    marked = params.get(DETECTION_MARKED)
    return [
        item["key"],
        item["state"],
        output,
        item["method"] if output else "",
        f"{marked * 100:.2f}% of the picture" if marked is not None else params.get(FOUND, ""),
        " | ".join(params.get(WARNINGS, [])),
        item["error"],
        f"{item['seconds']:.1f}" if item["seconds"] is not None else "",
    ]

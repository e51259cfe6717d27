"""`python -m tests.fuzz`: fuzz every reader (see docs/benchmarks.md for the long run's figures).

    nice -n 19 .venv/bin/python -m tests.fuzz --per-family 2000 --keep /tmp/lacuna-fuzz   # long run
    .venv/bin/python -m tests.fuzz --per-family 30                                        # a look
    .venv/bin/python -m tests.fuzz --family png --index 123 --keep /tmp/found             # rebuild one

Exit status 1 when any input ended in a traceback, hang, crash, memory, noise or catch-all outcome.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

# one thread per library: children are forked, and thread pools do not survive a fork
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from . import campaign  # noqa: E402
from .seeds import FAMILIES  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=30, help="inputs per format family")
    parser.add_argument("--family", action="append", choices=FAMILIES, help="only these (repeatable)")
    parser.add_argument("--index", type=int, default=None, help="run only this input (needs one --family)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-mb", type=int, default=1024, help="memory limit per input")
    parser.add_argument("--cpu-s", type=int, default=10, help="CPU-time limit per input")
    parser.add_argument("--keep", type=Path, default=None, help="copy bad inputs here")
    parser.add_argument("--markdown", action="store_true", help="print the summary as a table")
    parser.add_argument(
        "--datasets",
        type=Path,
        default=Path(os.environ.get("LACUNA_DATASETS", ROOT.parent / "shared" / "datasets")),
    )
    args = parser.parse_args(argv)
    families = tuple(args.family or FAMILIES)
    if args.index is not None and len(families) != 1:
        parser.error("--index needs exactly one --family")
    with tempfile.TemporaryDirectory(prefix="lacuna-fuzz-") as work:
        reports = campaign.run(
            args.datasets,
            Path(work),
            args.per_family,
            seed=args.seed,
            families=families,
            only_index=args.index,
            keep=args.keep,
            memory_mb=args.memory_mb,
            cpu_s=args.cpu_s,
            log=lambda line: print(line, flush=True),
        )
    if args.markdown:
        print(campaign.markdown_table(reports))
    for report in reports.values():
        for identity, (index, _) in report.defects.items():
            print(f"defect {report.family} #{index}: {identity}")
    return 1 if any(r.bad for r in reports.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

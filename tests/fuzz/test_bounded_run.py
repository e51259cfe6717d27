"""A bounded fuzzing campaign over every reader (about a minute on two cores) finds no traceback, hang,
crash, memory blow-up, library noise or raw catch-all message. The long run is
`python -m tests.fuzz --per-family 2000` (figures in docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .seeds import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
BOUNDED_PER_FAMILY = 200


def test_a_bounded_campaign_over_every_reader_finds_nothing(datasets):
    env = {**os.environ, "LACUNA_DATASETS": str(datasets)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--per-family", str(BOUNDED_PER_FAMILY)]
        + [arg for family in FAMILIES for arg in ("--family", family)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    summary = [line for line in done.stdout.splitlines() if " inputs " in line]
    assert len(summary) == len(FAMILIES) and all(f"{BOUNDED_PER_FAMILY} inputs" in line for line in summary)

"""The fuzzing harness: its runner tells each kind of failure apart, its mutations are reproducible,
and every input it ever found a defect with is read or refused in one clean line now."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from core.errors import ReadError

from .mutate import mutate
from .runner import run_one

ROOT = Path(__file__).resolve().parents[2]


def _raises_value_error(path: Path) -> None:
    raise ValueError(f"{path.name} is odd")


def _spins(path: Path) -> None:
    while True:
        pass


def _aborts(path: Path) -> None:
    os.abort()


def _allocates(path: Path) -> None:
    bytearray(2 << 30)


def _chatters(path: Path) -> None:
    print("libfoo warning: something", file=sys.stderr)


def _fails_cleanly(path: Path) -> None:
    raise ReadError(f"{path.name}: the image data is damaged")


def _falls_through(path: Path) -> None:
    raise ReadError(f"{path.name}: cannot read it (KeyError: 'x')")


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        (_raises_value_error, "traceback"),
        (_spins, "hang"),
        (_aborts, "crash"),
        (_allocates, "memory"),
        (_chatters, "noise"),
        (_fails_cleanly, "error"),
        (_falls_through, "catch-all"),
        (lambda path: None, "ok"),
    ],
)
def test_the_runner_tells_outcomes_apart(tmp_path, target, kind):
    path = tmp_path / "input.bin"
    path.write_bytes(b"x")
    outcome = run_one(path, target=target, memory_mb=256, cpu_s=1, wall_s=120)
    assert outcome.kind == kind, outcome


def test_mutations_are_reproducible_from_their_seed(datasets):
    seed = (datasets / "medical" / "liver.dcm").read_bytes()
    first = [mutate(seed, "dicom", random.Random(f"0:dicom:{i}")) for i in range(20)]
    again = [mutate(seed, "dicom", random.Random(f"0:dicom:{i}")) for i in range(20)]
    assert first == again and len(set(first)) > 15


FOUND = Path(__file__).parent / "found"


@pytest.mark.parametrize("name", sorted(p.name for p in FOUND.iterdir()))
def test_every_defect_the_fuzzer_found_stays_fixed(name):
    """Inputs that once ended in a traceback, a catch-all, noise or a memory blow-up (file names say
    which); each must now be read or refused in one clean line."""
    outcome = run_one(FOUND / name)
    assert outcome.kind in ("ok", "error"), outcome
    assert outcome.peak_mb < 200, outcome

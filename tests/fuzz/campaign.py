"""A fuzzing campaign: N mutated inputs per format family, each run alone, outcomes tallied.

Input `i` of a family is made from `random.Random(f"{seed}:{family}:{i}")` alone, so any input is
rebuilt from (seed, family, index): `python -m tests.fuzz --family png --index 123 --keep DIR`.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import seeds as seed_files
from .mutate import mutate
from .runner import BAD, KINDS, Outcome, preload, run_batch

BATCH = 50  # inputs per forked worker (a worker that dies is replaced at once)


@dataclass
class FamilyReport:
    family: str
    counts: Counter = field(default_factory=Counter)
    max_cpu_s: float = 0.0
    max_peak_mb: float = 0.0
    seconds: float = 0.0
    defects: dict[str, tuple[int, Outcome]] = field(default_factory=dict)  # identity -> first input

    @property
    def inputs(self) -> int:
        return sum(self.counts.values())

    @property
    def bad(self) -> int:
        return sum(self.counts[k] for k in BAD)

    def add(self, index: int, outcome: Outcome) -> None:
        self.counts[outcome.kind] += 1
        self.max_cpu_s = max(self.max_cpu_s, outcome.cpu_s)
        self.max_peak_mb = max(self.max_peak_mb, outcome.peak_mb)
        if outcome.kind in BAD:
            # the same defect on other inputs differs only in numbers (offsets, sizes, names)
            identity = f"{outcome.kind}: {outcome.where or re.sub(r'[0-9]+', 'N', outcome.detail[:80])}"
            self.defects.setdefault(identity, (index, outcome))


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix


def make_input(family: str, seed_paths: list[Path], rng: random.Random, folder: Path, index: int) -> Path:
    """Write mutated input `index` under `folder` and return its path (a folder for dicom-folder)."""
    source = rng.choice(seed_paths)
    if family != "dicom-folder":
        target = folder / f"{index:06d}{_suffix(source)}"
        target.write_bytes(mutate(source.read_bytes(), family, rng))
        return target
    target = folder / f"series{index:06d}"
    shutil.copytree(source, target)
    files = sorted(target.iterdir())
    for victim in rng.sample(files, rng.choice((1, 1, 2))):
        victim.write_bytes(mutate(victim.read_bytes(), family, rng))
    extra = rng.random()
    if extra < 0.05:
        files[0].unlink()
    elif extra < 0.10:
        shutil.copy(files[-1], target / "copy.dcm")
    elif extra < 0.15:
        (target / "notes.txt").write_bytes(rng.randbytes(64))
    return target


def run(
    datasets: Path,
    workdir: Path,
    per_family: int,
    seed: int = 0,
    families: tuple[str, ...] = seed_files.FAMILIES,
    only_index: int | None = None,
    keep: Path | None = None,
    memory_mb: int = 1024,
    cpu_s: int = 10,
    log=print,
) -> dict[str, FamilyReport]:
    seeds = seed_files.build(datasets, workdir / "seeds")
    preload()
    reports = {}
    for family in families:
        report = reports[family] = FamilyReport(family)
        folder = workdir / "inputs" / family
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        indices = [only_index] if only_index is not None else list(range(per_family))
        for first in range(0, len(indices), BATCH):
            batch = indices[first : first + BATCH]
            paths = [
                make_input(family, seeds[family], random.Random(f"{seed}:{family}:{i}"), folder, i)
                for i in batch
            ]
            outcomes = run_batch(paths, memory_mb=memory_mb, cpu_s=cpu_s)
            for index, path, outcome in zip(batch, paths, outcomes):
                report.add(index, outcome)
                if outcome.kind in BAD or only_index is not None:
                    log(f"  {family} #{index}: {outcome.kind}: {outcome.detail} {outcome.where}".rstrip())
                    if keep is not None:
                        keep.mkdir(parents=True, exist_ok=True)
                        kept = keep / f"{family}-{index}-{outcome.kind}{_suffix(path)}"
                        (shutil.copytree if path.is_dir() else shutil.copy)(path, kept)
                (shutil.rmtree if path.is_dir() else Path.unlink)(path)
            if (first + len(batch)) % 500 == 0:
                log(f"  {family}: {first + len(batch)} inputs, {report.bad} bad")
        report.seconds = time.monotonic() - started
        log(summary_line(report))
    return reports


def summary_line(report: FamilyReport) -> str:
    counts = " ".join(f"{k}={report.counts[k]}" for k in KINDS if report.counts[k])
    return (
        f"{report.family:<13} {report.inputs:>6} inputs  {counts}  max CPU {report.max_cpu_s:.2f} s  "
        f"max memory +{report.max_peak_mb:.0f} MB  ({report.seconds:.0f} s)"
    )


def markdown_table(reports: dict[str, FamilyReport]) -> str:
    head = "| family | inputs | " + " | ".join(KINDS) + " | max CPU s | max memory MB |"
    rule = "|" + "---|" * (len(KINDS) + 4)
    rows = [
        f"| {r.family} | {r.inputs} | "
        + " | ".join(str(r.counts[k]) for k in KINDS)
        + f" | {r.max_cpu_s:.2f} | {r.max_peak_mb:.0f} |"
        for r in reports.values()
    ]
    return "\n".join([head, rule, *rows])

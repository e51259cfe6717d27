"""`lacuna bench` names its tasks in its help from a list: the list is the modules that hold a protocol."""

from __future__ import annotations

import re
from pathlib import Path

import core.bench
from core.bench import PROTOCOLS
from core.cli import main


def test_the_bench_tasks_are_the_modules_with_a_main():
    folder = Path(core.bench.__file__).parent
    with_main = {
        path.stem.replace("_", "-")
        for path in folder.glob("*.py")
        if re.search(r"^def main\(", path.read_text(encoding="utf-8"), re.M)
    }
    assert set(PROTOCOLS) == with_main


def test_an_unknown_bench_task_names_the_known_ones(capsys):
    assert main(["bench", "nope"]) == 2
    said = capsys.readouterr().err.strip()
    assert said == f"lacuna: no bench protocol for task 'nope'; tasks: {', '.join(PROTOCOLS)}"

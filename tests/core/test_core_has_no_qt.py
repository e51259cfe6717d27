"""`core` never imports Qt, and importing it (and its file formats) loads no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "superqt")


def _loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_core_imports_no_qt():
    loaded = _loaded_after("import core, core.io, core.methods, core.repair, core.cli, core.info")
    assert not [m for m in loaded if m.split(".")[0] in QT]


def test_core_and_its_formats_load_no_torch(tmp_path):
    png = tmp_path / "x.png"
    code = (
        "import numpy as np, PIL.Image\n"
        f"PIL.Image.fromarray(np.zeros((4, 4), np.uint8)).save({str(png)!r})\n"
        "import core, core.io\n"
        f"doc = core.io.read({str(png)!r})\n"
        f"core.io.write(doc, {str(tmp_path / 'y.png')!r})\n"
        f"import core.info; core.info.describe({str(png)!r})"
    )
    loaded = _loaded_after(code)
    assert "torch" not in loaded
    assert not [m for m in loaded if m.split(".")[0] in QT]


def test_import_linter_contract():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed")
    proc = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr

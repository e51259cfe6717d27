"""`lacuna` without a display, or without Qt's X11 libraries, says so in one line and exits 2 (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from desktop import launch


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display checks are Linux's")
def test_lacuna_with_no_display_says_so_and_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(
        [sys.executable, "-m", "core.cli"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.startswith("lacuna: no display: DISPLAY and WAYLAND_DISPLAY are not set")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_missing_xcb_library_names_the_package(monkeypatch):
    missing = ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    monkeypatch.setattr(launch, "missing_xcb_libraries", lambda: missing)
    problem = launch.display_problem({"DISPLAY": ":0"}, "linux")
    assert "libxcb-cursor.so.0" in problem
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in problem


def test_headless_platforms_and_other_systems_need_no_display(monkeypatch):
    monkeypatch.setattr(launch, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    assert launch.display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert launch.display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") == ""
    assert launch.display_problem({}, "darwin") == ""


@pytest.mark.parametrize(
    "soname, package",
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
    ],
)
def test_debian_package_names(soname, package):
    assert launch.debian_package(soname) == package

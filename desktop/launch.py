"""Start the desktop app after checking what Qt needs from the system. This module imports no Qt.

Without these checks Qt aborts the process on Linux when there is no display or when a system library of
its X11 platform plugin is missing ("could not load the Qt platform plugin xcb"), and the person sees a
core dump. Here they get one line naming the problem and the package to install, and exit status 2.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# Platforms that need neither a display nor X11 libraries (tests, smoke checks, VNC).
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc")


def main(argv: Sequence[str] | None = None, quit_after_ms: int | None = None) -> int:
    problem = display_problem(os.environ, sys.platform)
    if problem:
        print(f"lacuna: {problem}", file=sys.stderr)
        return 2
    try:
        from desktop.app import main as app_main
    except ImportError as exc:  # a system library of Qt itself (libEGL, libGL, fontconfig) is missing
        print(f"lacuna: the desktop app cannot start: {_library_hint(str(exc))}", file=sys.stderr)
        return 2
    return app_main(argv, quit_after_ms=quit_after_ms)


def display_problem(env, platform: str) -> str:
    """Why Qt could not open a window here, or ''."""
    if not platform.startswith("linux"):
        return ""
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if chosen in HEADLESS_PLATFORMS:
        return ""
    wayland = bool(env.get("WAYLAND_DISPLAY")) and chosen in ("", "wayland")
    if not env.get("DISPLAY") and not wayland:
        return (
            "no display: DISPLAY and WAYLAND_DISPLAY are not set, so the desktop app cannot open a window "
            "(log in to a desktop session, or use the command line: `lacuna --help`)"
        )
    if wayland:
        return ""
    missing = missing_xcb_libraries()
    if missing:
        packages = " ".join(debian_package(name) for name in missing)
        return (
            f"Qt's X11 support needs system libraries that are missing: {', '.join(missing)}; "
            f"install them (Debian/Ubuntu: sudo apt install {packages})"
        )
    return ""


def missing_xcb_libraries() -> list[str]:
    """The shared libraries that Qt's xcb platform plugin cannot find, as `ldd` reports them."""
    plugin = _xcb_plugin()
    if plugin is None or shutil.which("ldd") is None:
        return []
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", out, re.MULTILINE)})


def _xcb_plugin() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def debian_package(soname: str) -> str:
    """'libxcb-cursor.so.0' -> 'libxcb-cursor0', 'libxkbcommon-x11.so.0' -> 'libxkbcommon-x11-0' (Debian's
    rule for library packages: the name, a dash if it ends in a digit, the major version)."""
    name, _, version = soname.partition(".so")
    name = name.lower()
    major = version.strip(".").split(".")[0]
    return f"{name}{'-' if name[-1:].isdigit() else ''}{major}"


def _library_hint(message: str) -> str:
    found = re.search(r"(lib[\w.+-]+\.so(?:\.\d+)*)", message)
    if not found:
        return message
    return f"the system library {found.group(1)} is missing (Debian/Ubuntu: sudo apt install " + (
        f"{debian_package(found.group(1))})"
    )

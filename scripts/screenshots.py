"""Take the README's screenshots of the real app under a real X server (Xvfb).

    apt-get install -y xvfb          # once
    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only ct_mask,repair_progress,compare]

Starts Xvfb on a free display (unless DISPLAY is already set), runs the app with the xcb platform,
drives it through the controller and grabs the window from the X server:

- ct_mask.png          the bundled CT slice with a painted mask, the DICOM tags and the brush cursor
- repair_progress.png  a scratched photo while Deep Image Prior inpainting runs (progress, ETA, Cancel)
- compare.png          the same photo repaired, in the split before/after view

Settings and autosaves go to Qt's test locations, never the user's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = Path(os.environ.get("LACUNA_DATASETS", ROOT.parent / "shared" / "datasets"))
SIZE = (1600, 1000)


def start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY"):
        return None
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed: apt-get install -y xvfb")
    for number in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    else:
        raise SystemExit("no free X display number")
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp", "-dpi", "96"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{number}"
    return proc


def scratched_photo(folder: Path) -> tuple[Path, list[list[tuple[float, float]]]]:
    """A real photo with white scratches drawn into it, and the scratches' polylines."""
    import numpy as np
    from PIL import Image, ImageDraw

    photo = Image.open(DATASETS / "images" / "bench" / "Set14" / "monarch.png").convert("RGB")
    rng = np.random.default_rng(7)
    lines = []
    draw = ImageDraw.Draw(photo)
    w, h = photo.size
    for _ in range(5):
        x, y = float(rng.uniform(0.1, 0.9) * w), float(rng.uniform(0.05, 0.3) * h)
        points = [(x, y)]
        for _ in range(6):
            x += float(rng.uniform(-40, 40))
            y += float(rng.uniform(40, 75))
            points.append((x, y))
        draw.line(points, fill=(245, 245, 240), width=3, joint="curve")
        lines.append(points)
    path = folder / "monarch_scratched.png"
    photo.save(path)
    return path, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", default="ct_mask,repair_progress,compare")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    xvfb = start_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        return take(out, wanted)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


def take(out: Path, wanted: set[str]) -> int:
    from PySide6.QtCore import QPoint, QPointF, QSettings, QStandardPaths, Qt
    from PySide6.QtGui import QCursor, QGuiApplication
    from PySide6.QtTest import QTest

    QStandardPaths.setTestModeEnabled(True)
    from desktop.app import create_app
    from desktop.main_window import MainWindow
    from desktop.settings import Settings

    app = create_app()
    tmp = Path(tempfile.mkdtemp(prefix="lacuna-shots-"))

    def new_window() -> MainWindow:
        settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings, autosave=False)
        window.confirm_discard = lambda: True  # nothing here is worth keeping
        window.setGeometry(0, 0, *SIZE)
        window.show()
        settle(0.5)
        return window

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def grab(window: MainWindow, name: str) -> None:
        settle(0.3)
        geometry = window.frameGeometry()
        shot = QGuiApplication.primaryScreen().grabWindow(
            0, geometry.x(), geometry.y(), geometry.width(), geometry.height()
        )
        path = out / f"{name}.png"
        shot.save(str(path))
        print(f"wrote {path} ({shot.width()}x{shot.height()})")

    def hover(window: MainWindow, x: float, y: float) -> None:
        """Put the real pointer over image pixel (x, y): brush outline and status bar values."""
        canvas = window.canvas
        pos = canvas.to_widget(QPointF(x, y)).toPoint()
        QCursor.setPos(canvas.mapToGlobal(pos))
        QTest.mouseMove(canvas, pos)
        settle(0.2)

    def stroke(window: MainWindow, points) -> None:
        c = window.controller
        c.begin_stroke(*points[0])
        for p in points[1:]:
            c.stroke_to(*p)
        c.end_stroke()

    if "ct_mask" in wanted:
        window = new_window()
        window.open_path(ROOT / "resources" / "samples" / "ct_slice.dcm")
        # The DICOM tags below the repair panel rather than behind it.
        window.removeDockWidget(window.tags_dock)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, window.tags_dock)
        window.tags_dock.show()
        window.splitDockWidget(window.repair_dock, window.tags_dock, Qt.Orientation.Vertical)
        window.resizeDocks([window.repair_dock, window.tags_dock], [560, 380], Qt.Orientation.Vertical)
        window.controller.apply_preset("Soft tissue")
        window.tools.set_size(14)
        window.tools.hardness_slider.setValue(85)
        # Mark a streak artifact and a small hole, as a user would before an inpainting run.
        stroke(window, [(150, 180 + 6 * i + (i % 3)) for i in range(0, 25)])
        stroke(window, [(150 + 9 * i, 330 - 2 * i) for i in range(0, 12)])
        window._set_tool("lasso")
        window.controller.lasso([(300, 300), (340, 290), (352, 320), (330, 345), (296, 335)])
        window._set_tool("brush")
        window.picker.select("inpaint-telea")
        hover(window, 250, 220)
        grab(window, "ct_mask")
        window.close()

    if {"repair_progress", "compare"} & wanted:
        photo, lines = scratched_photo(tmp)
        window = new_window()
        window.open_path(photo)
        window.tools.set_size(9)
        window.tools.hardness_slider.setValue(90)
        for line in lines:
            dense = []
            for (x0, y0), (x1, y1) in zip(line, line[1:]):
                dense += [(x0 + (x1 - x0) * t / 8, y0 + (y1 - y0) * t / 8) for t in range(8)]
            stroke(window, dense + [line[-1]])
        c = window.controller
        if "repair_progress" in wanted:
            window.picker.select("inpaint-dip")
            window.picker.set_param("iterations", 300)
            window.picker.set_param("width", 32)
            window.picker.request_run()
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                settle(0.2)
                value = window.progress.bar.value()
                if value >= 200 and window.progress.eta.text():
                    break
            hover(window, 380, 200)
            grab(window, "repair_progress")
            c.cancel_job()
            c.shutdown(30)
            settle(0.3)
        if "compare" in wanted:
            window.picker.select("inpaint-biharmonic")
            window.picker.request_run()
            while c.busy:
                settle(0.1)
            window.split_action.trigger()
            window.canvas.set_zoom(1.6, QPointF(window.canvas.width() * 0.5, window.canvas.height() * 0.45))
            window.canvas.split = 0.6
            window.canvas.update()
            QCursor.setPos(window.mapToGlobal(QPoint(SIZE[0] - 5, SIZE[1] - 5)))
            grab(window, "compare")
        window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Desktop responsiveness: a paint stroke across a 6000x4000 image, and the time to the first window.

    .venv/bin/python scripts/bench_desktop.py [--moves 300] [--startup-runs 3]

Stroke: the real main window (offscreen unless DISPLAY is set) holds a synthetic 6000x4000 RGB photo;
mouse-move events are sent to the canvas one by one and each is followed by the repaint it caused
(the event loop is drained), so a figure is the whole cost of one move: brush capsule in numpy, the
overlay's dirty rectangle, and the repaint of that rectangle. Measured at "fit" zoom and at 100%.

Start-up: `lacuna open resources/samples/ct_slice.dcm` in a fresh process, from the spawn to the
window being shown and to the CT being displayed (the app prints both times when
LACUNA_STARTUP_REPORT is set), and whether torch was imported by then (it must not be).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bench_stroke(moves: int, zoom: str) -> dict:
    import numpy as np
    from PySide6.QtCore import QEvent, QPointF, QStandardPaths, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    from core.documents import ImageDoc
    from desktop.app import create_app
    from desktop.shell import MainWindow

    app = create_app()
    tmp = Path(tempfile.mkdtemp(prefix="lacuna-bench-"))
    window = MainWindow(autosave_root=tmp / "autosave")  # stroke ends write the autosave journal
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    h, w = 4000, 6000
    rng = np.random.default_rng(0)
    pixels = (rng.random((1, h // 8, w // 8, 3), dtype=np.float32) * 255).repeat(8, 1).repeat(8, 2)
    window.session.set_document(ImageDoc(pixels, path=tmp / "photo.png", mode="RGB", dtype="uint8"))
    assert window.session.autosave is not None
    app.processEvents()
    image = window.workspace("image")
    canvas = image.canvas
    image.tools.set_size(60)
    if zoom == "100%":
        canvas.actual_size()
    else:
        canvas.fit()
    app.processEvents()

    def send(kind, pos, buttons):
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        event = QMouseEvent(
            kind, pos, canvas.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(canvas, event)

    # A diagonal stroke across the visible part of the image, ~4 widget pixels per move.
    width, height = canvas.width(), canvas.height()
    start, end = QPointF(width * 0.1, height * 0.2), QPointF(width * 0.9, height * 0.8)
    points = [start + (end - start) * (i / moves) for i in range(moves + 1)]
    send(QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
    app.processEvents()
    times = []
    for point in points[1:]:
        t0 = time.perf_counter()
        send(QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
        app.processEvents()  # delivers the paint event of the dirty rectangle
        times.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    send(QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
    app.processEvents()
    release = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    canvas.repaint()
    full = (time.perf_counter() - t0) * 1000
    painted = int(np.count_nonzero(image.controller.masks.get(0)))

    def drag(button, count: int, step: QPointF) -> list[float]:
        """Press `button` mid-view, move `count` times by `step`, release; ms per move."""
        pos = QPointF(width / 2, height / 2)
        event = QMouseEvent(
            QEvent.Type.MouseButtonPress,
            pos,
            canvas.mapToGlobal(pos),
            button,
            button,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(canvas, event)
        app.processEvents()
        spent = []
        for _ in range(count):
            pos = pos + step
            t0 = time.perf_counter()
            move = QMouseEvent(
                QEvent.Type.MouseMove,
                pos,
                canvas.mapToGlobal(pos),
                Qt.MouseButton.NoButton,
                button,
                Qt.KeyboardModifier.NoModifier,
            )
            QApplication.sendEvent(canvas, move)
            app.processEvents()  # repaint (and, for window/level, the coalesced re-rendering)
            spent.append((time.perf_counter() - t0) * 1000)
        release = QMouseEvent(
            QEvent.Type.MouseButtonRelease,
            pos,
            canvas.mapToGlobal(pos),
            button,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(canvas, release)
        app.processEvents()
        return sorted(spent)

    pan = drag(Qt.MouseButton.MiddleButton, 60, QPointF(4, 3))
    level = drag(Qt.MouseButton.RightButton, 30, QPointF(3, 2))
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    times.sort()
    return {
        "pan_median_ms": statistics.median(pan),
        "pan_max_ms": pan[-1],
        "window_median_ms": statistics.median(level),
        "window_max_ms": level[-1],
        "zoom": zoom,
        "moves": moves,
        "median_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "max_ms": times[-1],
        "release_ms": release,
        "full_repaint_ms": full,
        "painted_pixels": painted,
        "platform": QApplication.platformName(),
    }


def bench_startup(runs: int) -> list[dict]:
    sample = ROOT / "resources" / "samples" / "ct_slice.dcm"
    code = (
        "import sys; from core.cli import main; rc = main(['--quit-after', '1500', 'open', sys.argv[1]]);"
        "print('LACUNA_TORCH_IMPORTED', 'torch' in sys.modules); raise SystemExit(rc)"
    )
    results = []
    for _ in range(runs):
        env = dict(os.environ, LACUNA_STARTUP_REPORT="1")
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", code, str(sample)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        marks = dict(line.split(" ", 1) for line in out.splitlines() if line.startswith("LACUNA_"))
        results.append(
            {
                "window_s": float(marks["LACUNA_WINDOW_SHOWN"]) - t0,
                "document_s": float(marks["LACUNA_DOCUMENT_SHOWN"]) - t0,
                "torch_imported": marks.get("LACUNA_TORCH_IMPORTED", "?").strip(),
            }
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")

    print("Paint stroke on a 6000x4000 RGB image (ms per mouse move, including the repaint)")
    for zoom in ("fit", "100%"):
        r = bench_stroke(args.moves, zoom)
        print(
            f"  zoom {r['zoom']:>4}: median {r['median_ms']:.2f}  p95 {r['p95_ms']:.2f}"
            f"  max {r['max_ms']:.2f}"
            f"  | stroke end (undo step + autosave) {r['release_ms']:.1f}"
            f"  full repaint {r['full_repaint_ms']:.1f}"
            f"  [{r['moves']} moves, {r['painted_pixels']} px painted, Qt platform {r['platform']}]"
        )
        print(
            f"             pan (middle-drag) per move: median {r['pan_median_ms']:.2f}"
            f"  max {r['pan_max_ms']:.2f};"
            f"  window/level right-drag per move: median {r['window_median_ms']:.2f}"
            f"  max {r['window_max_ms']:.2f}"
        )
    if not args.skip_startup:
        print("Start-up: `lacuna open resources/samples/ct_slice.dcm` (seconds from spawn)")
        runs = bench_startup(args.startup_runs)
        for r in runs:
            print(
                f"  window shown {r['window_s']:.2f} s, CT displayed {r['document_s']:.2f} s,"
                f" torch imported: {r['torch_imported']}"
            )
        print(f"  median window shown: {statistics.median(r['window_s'] for r in runs):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

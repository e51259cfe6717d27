"""Peak memory of the video workspace on a long clip, driven as a person would use it.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python scripts/video_desktop_memory.py CLIP OUT.mp4 \
        [--task deflicker --method deflicker-levels] [--steps 10]

The real main window (offscreen unless DISPLAY is set) opens CLIP and lets the damage scan run, repairs
every frame with the method picked (planned: nothing is made yet), steps through frames spread over
the clip (each repaired frame made alone for the view) and plays a few, then saves to OUT (the codec
follows the name) as the background job, waiting for it. After each stage it prints the process's
peak resident memory so far, the frames held in the document's frame store and the temporary frame
files on disk (the desktop must hold neither).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--task", default="deflicker")
    parser.add_argument("--method", default="deflicker-levels")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    from desktop.app import create_app
    from desktop.shell import MainWindow

    app = create_app()
    window = MainWindow(autosave_root=Path(tempfile.mkdtemp(prefix="lacuna-memory-")))
    window.resize(1600, 1000)
    window.show()
    started = time.monotonic()

    def wait(done) -> None:
        while not done():
            app.processEvents()
            time.sleep(0.01)

    def report(stage: str) -> None:
        doc = window.session.doc
        spilled = list(Path(tempfile.gettempdir()).glob("lacuna-frames-*/*.npy"))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{stage}: peak RSS {peak:.0f} MiB, {len(doc.store)} frames in the store,"
            f" {len(spilled)} temporary frame files, {time.monotonic() - started:.0f} s",
            flush=True,
        )

    window.open_path(args.clip)
    wait(lambda: window.session.opening is None)
    ws = window.workspace("video")
    c = ws.controller
    report(f"opened ({c.frame_count} frames)")
    wait(lambda: not c.scanner.busy)
    report(f"damage scanned ({len(c.damage)} marks)")

    assert ws.picker.select(args.method), f"no method {args.method!r} in the video workspace"
    ws.picker.request_run()
    wait(lambda: not c.busy and bool(c.doc.provenance))
    report(f"{args.task} planned over {len(c.doc.planned())} frames")

    for index in range(0, c.frame_count, max(c.frame_count // args.steps, 1)):
        c.go(index)
        wait(lambda: not c.making())
    middle = c.frame_count // 2
    c.go(middle)
    ws.panel.play_or_stop()
    wait(lambda: c.index >= min(middle + 25, c.frame_count - 1) or not ws.panel.player.isActive())
    ws.panel.stop()
    report(f"stepped to {args.steps} frames and played 25")

    saved: list[Path] = []
    window.session.saved.connect(saved.append)
    window.session.error.connect(lambda text: print("error:", text, flush=True))
    window.save_to(args.out)
    wait(lambda: not window.session.writer.busy)
    report(f"saved {saved[0] if saved else 'nothing'}")
    window.shutdown()
    window.close()
    QApplication.processEvents()
    return 0 if saved else 1


if __name__ == "__main__":
    raise SystemExit(main())

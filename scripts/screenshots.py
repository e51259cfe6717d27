"""Take the README's screenshots of the real app under a real X server (Xvfb).

    apt-get install -y xvfb          # once
    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only ct_mask,compare,...]

Starts Xvfb on a free display (unless DISPLAY is already set), runs the app with the xcb platform,
drives it through the controller and grabs the window from the X server:

- ct_mask.png          a real head CT series (28 slices) with a painted mask, DICOM tags, brush cursor
- ct_uncertainty.png   a CT slice filled across the skull's edge by its scan default, with the fill's
                       uncertainty (spread across independent fills, HU) shown over it
- ct_thin.png          the head CT thinned to at most 2 mm apart (fill-slice, spacing 2): an inserted
                       slice with its new position and slice count, its uncertainty shown over it
- repair_progress.png  a noisy photo while the learned denoiser runs (progress, ETA, Cancel)
- compare.png          a scratched photo repaired by learned inpainting, in the split before/after view
- video.png            bikes.mp4 with dropped and frozen frames and dust on one frame: the damage found on
                       the timeline (red dropped, orange frozen, purple damaged, blue cuts), the dusty
                       frame with Detect damage's proposal (temporal detector) as the mask, inpainting
                       picked
- detect.png           a real scanned portrait with creases (real_damage/old_w_scratch_a.png) after Detect
                       damage (learned detector): its proposal as the editable mask, the sensitivity
                       slider, learned inpainting picked to repair it next
- audio.png            a trumpet clip with a time-frequency rectangle filled (Automatic: the spectrogram
                       network for gaps over 50 ms), in the audio view on the mel scale: frequency axis,
                       dB colour bar, the fill in the History dock
- audio_dropouts.png   a real lossy call (plc/test_files/2307.wav) after Detect dropouts: the 31 lost
                       packets (exact zeros on the 20 ms grid) selected, Speech packet concealment
                       picked for them, ready for Fill all

The learned methods need the shipped weights in resources/weights/; without them the picker greys
them out and this script stops rather than photograph that.

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

import numpy as np

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


def noisy_photo(folder: Path, sigma: float = 25.0) -> Path:
    """The same photo with Gaussian noise of `sigma` (0-255 scale) and a fixed seed."""
    import numpy as np
    from PIL import Image

    photo = np.asarray(Image.open(DATASETS / "images" / "bench" / "Set14" / "monarch.png").convert("RGB"))
    rng = np.random.default_rng(3)
    noisy = np.clip(photo + rng.normal(0.0, sigma, photo.shape), 0, 255).round().astype(np.uint8)
    path = folder / "monarch_noisy.png"
    Image.fromarray(noisy).save(path)
    return path


DUSTY = 130  # the frame of bikes.mp4 that gets dust and specks


def damaged_clip(folder: Path) -> tuple[Path, int]:
    """bikes.mp4 with frames dropped and frozen here and there and dust on one frame (lossless); the
    path and the dusty frame's number in it."""
    import core.io
    from core.detect.damage import draw
    from core.video.document import Slot

    clip = core.io.read(DATASETS / "video" / "bench" / "bikes.mp4")
    dropped, frozen = {40, 41, 95, 160, 161, 162, 210}, {60, 120, 200}
    slots, rebuilt = [], {}
    for index, slot in enumerate(clip.slots):
        if index in frozen:
            slots.append(Slot(slot.pts, index - 1))  # the frame before, shown again
        elif index == DUSTY:
            clean = clip.frame(index).astype(np.float32) / 255.0
            dusty, _ = draw(clean, "dust", np.random.default_rng(7), amount=3.0)
            rebuilt[slot.pts] = np.round(dusty * 255).astype(np.uint8)
            dusty_index = len(slots)
            slots.append(Slot(slot.pts, None))
        elif index not in dropped:
            slots.append(slot)
    path = folder / "bikes_damaged.mkv"
    core.io.write(clip.with_timeline(slots, rebuilt), path, codec="ffv1", sidecar=False)
    return path, dusty_index


def check_weights(wanted: set[str]) -> None:
    from core.methods import get_method

    needed = {
        "repair_progress": "denoise-learned",
        "compare": "inpaint-learned",
        "detect": "detect-learned",
        "audio": "fill-gap-learned",
    }
    for shot, method in needed.items():
        card = get_method(method).card
        if shot in wanted and not card.available:
            raise SystemExit(f"{shot}.png shows {method}, which cannot run: {card.unavailable_reason}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", default="ct_mask,repair_progress,compare,detect,audio,audio_dropouts,video")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check_weights(wanted)

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
    from desktop.settings import Settings
    from desktop.shell import MainWindow

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

    def grab_and_close(window: MainWindow, name: str) -> None:
        """The pointer out of the picture (its corner), the shot, then the window closed."""
        QCursor.setPos(window.mapToGlobal(QPoint(SIZE[0] - 5, SIZE[1] - 5)))
        grab(window, name)
        window.close()

    def open_and_wait(window: MainWindow, path: Path) -> None:
        window.open_path(path)
        while window.session.opening is not None:
            settle(0.05)
        if window.session.doc is None:
            raise SystemExit(f"{path} did not open: {window.notice.text()}")

    def hover(window: MainWindow, x: float, y: float) -> None:
        """Put the real pointer over image pixel (x, y): brush outline and status bar values."""
        canvas = window.workspace("image").canvas
        pos = canvas.to_widget(QPointF(x, y)).toPoint()
        QCursor.setPos(canvas.mapToGlobal(pos))
        QTest.mouseMove(canvas, pos)
        settle(0.2)

    def stroke(window: MainWindow, points) -> None:
        c = window.workspace("image").controller
        c.begin_stroke(*points[0])
        for p in points[1:]:
            c.stroke_to(*p)
        c.end_stroke()

    if "ct_mask" in wanted:
        window = new_window()
        image = window.workspace("image")
        # The DICOM tags below the repair panel rather than behind it.
        window.removeDockWidget(image.tags_dock)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, image.tags_dock)
        image.tags_dock.show()
        window.splitDockWidget(image.repair_dock, image.tags_dock, Qt.Orientation.Vertical)
        settle(0.2)
        open_and_wait(window, DATASETS / "medical" / "head_ct_ge")
        window.resizeDocks([image.repair_dock, image.tags_dock], [560, 380], Qt.Orientation.Vertical)
        image.controller.apply_preset("Soft tissue")
        image.tools.set_size(14)
        image.tools.hardness_slider.setValue(85)
        # Mark a streak artifact and a small hole, as a user would before an inpainting run.
        stroke(window, [(150, 180 + 6 * i + (i % 3)) for i in range(0, 25)])
        stroke(window, [(150 + 9 * i, 330 - 2 * i) for i in range(0, 12)])
        image.set_tool("lasso")
        image.controller.lasso([(300, 300), (340, 290), (352, 320), (330, 345), (296, 335)])
        image.set_tool("brush")
        image.picker.select("inpaint-telea")
        hover(window, 250, 220)
        grab(window, "ct_mask")
        window.close()

    if "ct_uncertainty" in wanted:
        window = new_window()
        image = window.workspace("image")
        open_and_wait(window, DATASETS / "medical" / "693_UNCI.dcm")
        image.tools.set_size(16)
        stroke(window, [(250 + 4 * i, 138 + i) for i in range(0, 14)])  # across the skull's edge
        image.picker.request_run()  # the scan's default: biharmonic, no photo network
        while image.controller.busy:
            settle(0.1)
        image.uncertainty_action.trigger()
        hover(window, 270, 146)
        grab(window, "ct_uncertainty")
        window.close()

    if "ct_thin" in wanted:
        window = new_window()
        image = window.workspace("image")
        open_and_wait(window, DATASETS / "medical" / "head_ct_ge")
        image.controller.apply_preset("Soft tissue")
        image.picker.select("fill-slice-interp")
        image.picker.set_param("order", "cubic")
        image.picker.set_param("spacing", 2.0)
        image.picker.request_run()
        while image.controller.busy:
            settle(0.1)
        image.controller.set_frame(17)  # inserted halfway between the 9th and 10th acquired slices
        image.uncertainty_action.trigger()
        grab(window, "ct_thin")
        window.close()

    if "repair_progress" in wanted:
        window = new_window()
        image = window.workspace("image")
        open_and_wait(window, noisy_photo(tmp))
        c = image.controller
        image.picker.select("denoise-learned")
        image.picker.request_run()
        # The photo is two tiles on a CPU (more on a machine short of memory): wait for the first.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and c.busy:
            settle(0.1)
            value = image.progress.bar.value()
            if 0 < value < 1000 and image.progress.eta.text():
                break
        else:
            raise SystemExit("the learned denoiser never reported progress mid-run")
        hover(window, 380, 200)
        grab(window, "repair_progress")
        c.cancel_job()
        c.shutdown(60)
        settle(0.3)
        window.close()

    if "compare" in wanted:
        photo, lines = scratched_photo(tmp)
        window = new_window()
        image = window.workspace("image")
        open_and_wait(window, photo)
        image.tools.set_size(9)
        image.tools.hardness_slider.setValue(90)
        for line in lines:
            dense = []
            for (x0, y0), (x1, y1) in zip(line, line[1:]):
                dense += [(x0 + (x1 - x0) * t / 8, y0 + (y1 - y0) * t / 8) for t in range(8)]
            stroke(window, dense + [line[-1]])
        c = image.controller
        image.picker.select("inpaint-learned")
        # The brush is three times as wide as a scratch: blending the fill over the clean rim hides
        # the seam at the mask's edge (a wider feather would bring the scratch back).
        image.picker.set_param("feather", 2)
        image.picker.request_run()
        while c.busy:
            settle(0.1)
        image.split_action.trigger()
        canvas = image.canvas
        canvas.set_zoom(1.6, QPointF(canvas.width() * 0.5, canvas.height() * 0.45))
        canvas.split = 0.6
        canvas.update()
        grab_and_close(window, "compare")

    if "detect" in wanted:
        window = new_window()
        open_and_wait(window, DATASETS / "images" / "real_damage" / "old_w_scratch_a.png")
        image = window.workspace("image")
        image.detection.run("detect-learned")
        while image.detection.proposal is None or image.controller.busy:
            settle(0.1)
        image.picker.select("inpaint-learned")
        settle(0.5)
        grab_and_close(window, "detect")

    if "audio" in wanted:
        from core.audio.selection import TFRect

        window = new_window()
        open_and_wait(window, DATASETS / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
        sound = window.workspace("audio")
        panel, c = sound.panel, sound.controller
        settle(0.5)
        rate = c.doc.sample_rate
        panel.set_scale("mel")
        # An 80 ms band below 9 kHz, as if a cough had been marked with the rectangle tool.
        panel.spectrogram.selection_made.emit(TFRect(int(1.590 * rate), int(1.670 * rate), 0.0, 9000.0))
        sound.picker.select("fill-gap-auto")
        sound.picker.request_run()
        while c.busy:
            settle(0.1)
        settle(0.3)
        sound.history_dock.raise_()  # the fill just made, in the History dock
        view = panel.viewport
        view.spp = rate / 432  # 432 pixels a second, from 0.6 s on
        view.scroll_to(0.6 * rate)
        grab_and_close(window, "audio")
    if "audio_dropouts" in wanted:
        window = new_window()
        open_and_wait(window, DATASETS / "audio" / "speech" / "plc" / "test_files" / "2307.wav")
        sound = window.workspace("audio")
        panel, c = sound.panel, sound.controller
        panel.set_scale("linear")
        settle(0.5)
        c.detect_dropouts()
        while c.busy:
            settle(0.1)
        rate = c.doc.sample_rate
        panel.viewport.spp = rate / 270  # 270 pixels a second, from 3.95 s on: eight of the ten runs
        panel.viewport.scroll_to(3.95 * rate)
        grab_and_close(window, "audio_dropouts")
    if "video" in wanted:
        window = new_window()
        path, dusty = damaged_clip(tmp)
        open_and_wait(window, path)
        video = window.workspace("video")
        c = video.controller
        while not c.damage:  # the scan runs after opening
            settle(0.1)
        # On the dusty frame: detect, inpainting picked to repair it next.
        c.go(dusty)
        panel = video.detect_panel  # the temporal detector picked in the panel, as a person would
        panel.method.setCurrentIndex(panel.method.findData("detect-temporal"))
        video.detection.run("detect-temporal")
        while video.detection.proposal is None or c.busy:
            settle(0.1)
        video.picker.select("inpaint-telea")
        settle(0.5)
        grab_and_close(window, "video")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

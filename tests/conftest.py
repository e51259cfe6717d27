"""Shared test fixtures: the real data sets beside the checkout (../shared/datasets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("LACUNA_DATASETS", ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"the shared data sets are expected at {DATASETS} (set LACUNA_DATASETS)")
    return DATASETS


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch):
    """Exported networks and speed calibrations go to a folder of the checkout, never the developer's
    own cache; shared between tests and runs (graphs are named by their weights' hash)."""
    monkeypatch.setenv("LACUNA_CACHE_DIR", str(ROOT / ".pytest_cache" / "lacuna"))
    # Tests of methods look inside the torch networks (spies, tiny weights); tests/core/test_backends.py
    # runs the ONNX path itself.
    monkeypatch.setenv("LACUNA_BACKEND", "torch")
    # Speed calibration (core.repair.calibrate) would add runs to every test; tests/core/test_speed.py
    # turns it on.
    monkeypatch.setenv("LACUNA_SPEED_CALIBRATION", "off")


@pytest.fixture(autouse=True)
def _private_user_weights(tmp_path_factory, monkeypatch):
    """Each test gets an empty user weights folder: a developer's own files never change a result."""
    monkeypatch.setenv("LACUNA_WEIGHTS_DIR", str(tmp_path_factory.mktemp("user-weights")))


@pytest.fixture
def one_thread():
    """Torch on one thread (`pytestmark = pytest.mark.usefixtures("one_thread")`): this machine's 2
    cores are shared, and OpenMP threads waiting on each other make small networks crawl."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    """An empty folder searched for weights instead of the shipped and the user's folders."""
    from core.methods import weights

    monkeypatch.setattr(weights, "OVERRIDE", tmp_path)
    return tmp_path


PAN_FIRST, PAN_COUNT = 100, 41  # a steady pan of the training clip (Big Buck Bunny), made small


@pytest.fixture(scope="session")
def steady_pan(datasets) -> list:
    """41 RGB frames (320x180) of a steady pan: where frames lost before a constant-rate encode show."""
    pytest.importorskip("av")
    import cv2

    from core.video.backend import av

    frames = []
    with av().open(str(datasets / "video" / "train" / "big_buck_bunny_0_30.webm")) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= PAN_FIRST:
                rgb = frame.to_ndarray(format="rgb24")
                frames.append(cv2.resize(rgb, (320, 180), interpolation=cv2.INTER_AREA))
            if len(frames) == PAN_COUNT:
                break
    return frames


@pytest.fixture(scope="session")
def constant_rate():
    """write(frames, path): the frames written one after another at 24 fps (lossless), read back as
    Lacuna reads a clip: frames left out leave no gap in the timestamps, as a capture that lost them
    does."""
    return _constant_rate


def _constant_rate(frames: list, path: Path):
    from core.io import read
    from core.video.backend import av

    height, width = frames[0].shape[:2]
    with av().open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for picture in frames:
            container.mux(stream.encode(av().VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    return read(path)

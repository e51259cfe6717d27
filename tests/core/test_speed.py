"""Speed labels measured on this machine (core.runtime.speed, core.repair.calibrate)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from core.documents import ImageDoc
from core.methods import get_method, load_all
from core.repair import run_repair
from core.runtime import speed
from core.runtime.context import RunContext


@pytest.fixture
def calibrating(tmp_path, monkeypatch):
    """Calibration on (conftest turns it off), into a fresh store."""
    monkeypatch.setenv("LACUNA_SPEED_CALIBRATION", "on")
    monkeypatch.setenv("LACUNA_CACHE_DIR", str(tmp_path))
    load_all()
    return tmp_path / "speed.json"


def _photo(datasets) -> ImageDoc:
    with Image.open(datasets / "images" / "bench" / "Set12" / "01.png") as im:
        pixels = np.asarray(im.convert("L"), np.float32)[None, :120, :160, None]
    return ImageDoc(pixels=pixels, dtype="uint8", mode="L")


def test_labels_follow_the_measured_seconds_per_megapixel():
    assert [speed.label(s) for s in (0.05, 0.99, 1.0, 9.9, 10.0, 400)] == [
        "fast",
        "fast",
        "medium",
        "medium",
        "slow",
        "slow",
    ]


def test_the_first_run_calibrates_and_later_runs_do_not(calibrating, datasets, monkeypatch):
    card = get_method("denoise-bilateral").card
    assert speed.measured(card.id) is None
    assert "an estimate" in speed.speed_of(card)[1]
    run_repair(_photo(datasets), "denoise", method=card.id, ctx=RunContext())
    stored = json.loads(calibrating.read_text())
    entry = stored["denoise-bilateral|cpu|-"]
    assert entry["seconds_per_mp"] > 0 and entry["backend"] == "-"
    label, words = speed.speed_of(card)
    assert label == speed.label(entry["seconds_per_mp"])
    assert "measured here" in words and f"{entry['seconds_per_mp']:.3g} s per megapixel" in words

    def no_second_calibration(run_once):
        raise AssertionError("calibrated twice")

    monkeypatch.setattr(speed, "time_run", no_second_calibration)
    run_repair(_photo(datasets), "denoise", method=card.id, ctx=RunContext())


@pytest.mark.slow
def test_a_learned_method_is_measured_per_backend(calibrating, datasets, monkeypatch):
    monkeypatch.setenv("LACUNA_BACKEND", "torch")
    run_repair(_photo(datasets), "dejpeg", method="dejpeg-learned", ctx=RunContext(device="cpu"))
    entry = json.loads(calibrating.read_text())["dejpeg-learned|cpu|torch"]
    assert entry["seconds_per_mp"] > 0
    assert speed.measured("dejpeg-learned") == entry


def test_lacuna_models_shows_the_measured_speed(calibrating, capsys):
    from core.cli import main

    speed.record("inpaint-telea", "cpu", speed.NO_NETWORK, seconds=0.02, megapixels=0.5)
    speed.record("denoise-nlmeans", "cpu", speed.NO_NETWORK, seconds=6.0, megapixels=0.5)
    assert main(["models", "--task", "inpaint"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "inpaint-telea" in row)
    assert " fast " in line
    assert "fast: 0.04 s per megapixel of the result, measured here (cpu)" in out
    assert main(["models", "--task", "denoise", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["denoise-nlmeans"]["speed"] == "slow"  # 12 s/MP here, whatever the card's estimate
    assert rows["denoise-nlmeans"]["speed_measured"]["seconds_per_mp"] == 12.0


def test_a_timing_on_a_backend_this_install_lacks_is_not_shown(calibrating, monkeypatch):
    """Walk-through 53: a fresh install without ONNX Runtime showed "measured here (cpu, onnx)", an
    earlier environment's timing kept in the machine's record."""
    speed.record("dejpeg-learned", "cpu", "onnx", seconds=3.0, megapixels=1.0)
    monkeypatch.setattr(speed, "_onnx_here", lambda: False)
    assert speed.measured("dejpeg-learned") is None
    assert "an estimate" in speed.speed_of(get_method("dejpeg-learned").card)[1]
    speed.record("dejpeg-learned", "cpu", "torch", seconds=5.0, megapixels=1.0)
    assert speed.measured("dejpeg-learned")["backend"] == "torch"
    monkeypatch.setattr(speed, "_onnx_here", lambda: True)
    assert speed.measured("dejpeg-learned")["backend"] in ("onnx", "torch")  # the latest of both


def test_a_damaged_store_is_measured_again(calibrating):
    calibrating.parent.mkdir(parents=True, exist_ok=True)
    calibrating.write_text("{not json")
    assert speed.measured("denoise-bilateral") is None
    speed.record("denoise-bilateral", "cpu", speed.NO_NETWORK, seconds=1.0, megapixels=4.0)
    assert speed.measured("denoise-bilateral")["seconds_per_mp"] == 0.25


def test_audio_methods_are_described_in_the_recording_s_terms(calibrating):
    label, words = speed.speed_of(get_method("fill-gap-ar").card)
    assert "megapixel" not in words and "real time" in words
    assert "megapixel" in speed.speed_of(get_method("denoise-bilateral").card)[1]


def test_calibration_keeps_the_fastest_timed_run(monkeypatch):
    """A run slowed down by another program must not become the method's label: the fastest counts."""
    clock = [0.0]
    # the warm-up, then three timed runs (the first while the machine was busy)
    durations = iter([1.0, 5.0, 0.2, 3.0])
    monkeypatch.setattr(speed.time, "perf_counter", lambda: clock[0])

    def run_once():
        clock[0] += next(durations)
        return np.zeros((500, 200, 1), np.float32)

    seconds, megapixels = speed.time_run(run_once)
    assert seconds == pytest.approx(0.2) and megapixels == pytest.approx(0.1)
    # a slow method (a timed run past SLOW_RUN) is timed once: four runs of it cost minutes; a slow
    # warm-up alone (setting a network up) is not slowness
    durations = iter([9.0, 6.0])
    seconds, _ = speed.time_run(run_once)
    assert seconds == pytest.approx(6.0) and next(durations, None) is None
    durations = iter([30.0, 2.0, 1.0, 1.5])
    seconds, _ = speed.time_run(run_once)
    assert seconds == pytest.approx(1.0) and next(durations, None) is None


def test_the_command_line_says_the_measurement_apart_from_the_run(calibrating, datasets, tmp_path, capsys):
    from core.cli import main

    photo = datasets / "images" / "bench" / "Set12" / "01.png"
    command = ["repair", str(photo), "--task", "denoise", "--method", "denoise-bilateral"]
    assert main([*command, "-o", str(tmp_path / "a.png")]) == 0
    assert "s measuring its speed here, once)" in capsys.readouterr().err
    assert main([*command, "-o", str(tmp_path / "b.png")]) == 0
    assert "measuring" not in capsys.readouterr().err.splitlines()[-1]
    # the record of a run: its own seconds, and the measurement's apart (none once measured)
    assert main([*command, "-o", str(tmp_path / "c.png"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["speed_measurement_seconds"] == 0 and summary["seconds"] > 0


def test_a_measurement_counts_only_for_the_weights_it_timed(calibrating, tmp_path, monkeypatch):
    """New weights for a method (an upgrade, an imported file) are measured afresh, not labelled with
    the speed of the network they replaced."""
    from core.methods import weights

    speed.record("denoise-fast", "cpu", "torch-bf16", seconds=0.05, megapixels=0.1)
    assert speed.is_measured("denoise-fast", "cpu", "torch-bf16")
    assert speed.measured("denoise-fast")["seconds_per_mp"] == 0.5
    other = tmp_path / "other-weights"
    other.mkdir()
    shipped = weights.locate("dejpeg-fast-gray.safetensors")  # a different network, another size
    (other / "denoise-fast-gray.safetensors").write_bytes(shipped.read_bytes())
    monkeypatch.setattr(weights, "OVERRIDE", other)
    assert not speed.is_measured("denoise-fast", "cpu", "torch-bf16")
    assert speed.measured("denoise-fast") is None
    assert "an estimate" in speed.speed_of(get_method("denoise-fast").card)[1]


def test_an_enlarging_method_is_measured_on_an_output_as_large_as_others(calibrating, datasets, monkeypatch):
    """A walk-through's first x2 upscale spent 38.8 s measuring (it enlarged the whole 512x512
    picture to 1 MP) before an 8.8 s job: its picture is cut so its output is 512x512 as well."""
    sizes = []

    def timed(run_once):
        out = run_once()
        sizes.append(out.shape[:2])
        return 1.0, out.shape[0] * out.shape[1] / 1e6

    monkeypatch.setattr(speed, "time_run", timed)
    run_repair(_photo(datasets), "upscale", method="upscale-bicubic", ctx=RunContext())
    run_repair(_photo(datasets), "denoise", method="denoise-bilateral", ctx=RunContext())
    side = speed.SIDE * speed.TILES
    assert sizes == [(side, side), (side, side)]

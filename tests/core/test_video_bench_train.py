"""The fill-frames bench and training on small real data: figures come out, weights load and run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("av")

from core.bench.fill_frames import main as bench_main  # noqa: E402
from core.bench.fill_frames import place_runs  # noqa: E402


def test_runs_are_placed_with_fixed_seeds_and_never_touch_a_cut():
    starts = place_runs(100, [40, 41, 70], 3, 10, np.random.default_rng([0, 0, 3]))
    again = place_runs(100, [40, 41, 70], 3, 10, np.random.default_rng([0, 0, 3]))
    assert starts == again and len(starts) == 10
    for s in starts:
        assert not any(s - 1 < c <= s + 3 for c in (40, 41, 70))


def test_bench_reports_baselines_duplicates_and_cuts(datasets, tmp_path, capsys):
    folder = tmp_path / "set"
    folder.mkdir()
    shutil.copy(datasets / "video" / "bench" / "carphone_pristine.mp4", folder)
    assert (
        bench_main(["--set", str(folder), "--drop", "1,2", "--per-clip", "2", "--duplicates", "4", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    summary = report["summary"]
    assert summary["fill-frames-flow run 1 PSNR"] > summary["fill-frames-repeat run 1 PSNR"]
    assert summary["fill-frames-blend run 2 PSNR"] > summary["fill-frames-repeat run 2 PSNR"]
    assert summary["duplicates recall"] >= 0.75 and summary["duplicates precision"] >= 0.75


def test_two_training_steps_write_weights_the_learned_method_runs(datasets, tmp_path):
    from core.cli import main
    from core.video.learned import learned_interpolator

    stills = tmp_path / "stills"
    stills.mkdir()
    for path in sorted((datasets / "images" / "train" / "color432").glob("*.jpg"))[:3]:
        shutil.copy(path, stills)
    out = tmp_path / "ff.safetensors"
    args = ["train", "fill-frames", "--data", str(stills), "--out", str(out), "--steps", "2", "--batch", "2"]
    assert main([*args, "--crop", "64", "--width", "8", "--precision", "float32", "--val-every", "100"]) == 0
    a = np.zeros((40, 56, 3), np.uint8)
    b = np.full((40, 56, 3), 200, np.uint8)
    middle = learned_interpolator(weights=out)(a, b, [0.5])[0]
    assert middle.shape == a.shape and 60 < middle.mean() < 140

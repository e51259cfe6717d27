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


def test_untrained_network_is_the_classical_method_on_real_frames(datasets):
    """Zero-initialised last layers: before training the network makes the classical flow frame
    (up to the clamped blend weights), so training starts from the method it must beat."""
    import torch

    from core.archs import build_arch
    from core.io import read
    from core.video.interpolate import dense_flow, flow

    doc = read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    a, _, b = doc.window(30, 33)
    net = build_arch("flow_refine_interp", width=8, fusion=8).eval()

    def tensor(x, scale):
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() * scale

    with torch.inference_mode():
        made = net(
            tensor(a, 1 / 255),
            tensor(b, 1 / 255),
            tensor(dense_flow(a, b), 1.0),
            tensor(dense_flow(b, a), 1.0),
            torch.tensor([0.5]),
        )
    pixels = made[0].clamp(0, 1).mul(255).round().permute(1, 2, 0).numpy()
    classical = flow(a, b, [0.5])[0].astype(np.float32)
    assert np.mean(np.abs(pixels - classical)) < 0.5 and np.mean(np.abs(pixels - a)) > 1.0


def test_clip_samples_carry_flow_computed_on_the_whole_frames(datasets, tmp_path):
    """Training crops get the flow the method computes at inference (on the whole frame, cached
    once), cropped with the frames: the sample's flow carries its second frame onto its first."""
    from core.train.recipes.fill_frames import GAPS, ClipFrames, InterpolationData
    from core.video.interpolate import backward_warp, dense_flow

    clip = ClipFrames(datasets / "video" / "train" / "fire2.mp4", tmp_path)
    whole = dense_flow(clip.frames[0], clip.frames[GAPS[0]])
    assert np.abs(clip.flows[0, 0, 0].astype(np.float32) - whole).max() < 0.05  # float16 storage
    data = InterpolationData.__new__(InterpolationData)  # only the clip, without reading folders
    data.clips, data.stills = [clip], []
    a, b, mid, t, f01, f10 = data._clip_sample(np.random.default_rng(3), 96)
    assert a.shape == mid.shape == (96, 96, 3) and f01.shape == f10.shape == (96, 96, 2) and 0 < t < 1
    inner = (slice(8, -8), slice(8, -8))  # away from the crop's edges, where content leaves it
    moved = np.abs(backward_warp(b.astype(np.float32), f01)[inner] - a[inner]).mean()
    still = np.abs(b.astype(np.float32)[inner] - a[inner]).mean()
    assert moved < still

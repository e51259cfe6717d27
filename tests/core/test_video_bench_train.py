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
    from core.video.interpolate import dense_flow, displacements, flow

    doc = read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    a, _, b = doc.window(30, 33)
    net = build_arch("flow_refine_interp", width=8, fusion=8).eval()

    def tensor(x, scale):
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() * scale

    f01, f10 = dense_flow(a, b), dense_flow(b, a)
    straight = displacements(0.5, f01, f10)  # no outer frames: straight-line motion
    with torch.inference_mode():
        flows = (tensor(f, 1.0) for f in (f01, f10, *straight))
        made = net(tensor(a, 1 / 255), tensor(b, 1 / 255), *flows, torch.tensor([0.5]))
    pixels = made[0].clamp(0, 1).mul(255).round().permute(1, 2, 0).numpy()
    classical = flow(a, b, [0.5])[0].astype(np.float32)
    assert np.mean(np.abs(pixels - classical)) < 0.5 and np.mean(np.abs(pixels - a)) > 1.0


def test_clip_samples_carry_flow_computed_on_the_whole_frames(datasets, tmp_path):
    """Training crops get the flow the method computes at inference (on the whole frame, cached
    once), cropped with the frames: the sample's flow carries its second frame onto its first."""
    from core.train.recipes.fill_frames import FLOW_GAPS, ClipFrames, InterpolationData
    from core.video.interpolate import backward_warp, dense_flow

    clip, half = ClipFrames.at_widths(datasets / "video" / "train" / "fire2.mp4", tmp_path)
    assert clip.frames.shape[1:3] == (360, 640) and half.frames.shape[1:3] == (180, 320)
    whole = dense_flow(clip.frames[0], clip.frames[FLOW_GAPS[1]])
    assert np.abs(clip.flows[1, 0, 0].astype(np.float32) - whole).max() < 0.05  # float16 storage
    data = InterpolationData.__new__(InterpolationData)  # only the clip, without reading folders
    data.clips, data.stills = [clip], []
    a, b, mid, t, f01, f10, d0, d1 = data._clip_sample(np.random.default_rng(3), 96)
    assert a.shape == mid.shape == (96, 96, 3) and f01.shape == f10.shape == (96, 96, 2) and 0 < t < 1
    inner = (slice(8, -8), slice(8, -8))  # away from the crop's edges, where content leaves it
    moved = np.abs(backward_warp(b.astype(np.float32), f01)[inner] - a[inner]).mean()
    still = np.abs(b.astype(np.float32)[inner] - a[inner]).mean()
    assert moved < still


def test_displacements_follow_a_parabola_through_the_frames_just_outside():
    """Positions x(τ) = 6τ + 4τ² at τ = -1/2 (frame before), 0, 1, 3/2 (frame after): the flows between
    them give the exact positions at τ = 1/4; a straight line from the two frames alone misses by the
    bend. Uneven times (the frame after is 1/2 away, the one before 1/2) come from the timestamps."""
    from core.video.interpolate import displacements

    def x(tau):
        return 6 * tau + 4 * tau * tau

    field = np.ones((2, 3, 2), np.float32)
    f01, f10 = (x(1) - x(0)) * field, (x(0) - x(1)) * field
    g0, g1 = (x(-0.5) - x(0)) * field, (x(1.5) - x(1)) * field
    t = 0.25
    d0, d1 = displacements(t, f01, f10, g0, -0.5, g1, 1.5)
    assert np.allclose(d0, x(t) - x(0)) and np.allclose(d1, x(t) - x(1))
    straight0, straight1 = displacements(t, f01, f10)
    assert np.allclose(straight0, t * (x(1) - x(0))) and not np.allclose(straight0, d0)
    assert np.allclose(straight1, (1 - t) * (x(0) - x(1)))
    # a wild flow to the frame before (a mismatch, not motion) bends the path by half the motion at most
    wild, _ = displacements(t, f01, f10, 40 * field, -0.5, None, 1.5)
    bend = np.linalg.norm(wild - straight0, axis=-1)
    assert np.allclose(bend, 0.5 * np.linalg.norm(straight0, axis=-1) + 0.5, atol=1e-3)


def test_untrained_network_rebuilds_an_accelerating_pan_better_with_the_outer_frames(datasets):
    """A real photo panned along a parabola: given the frames just outside, the untrained network (the
    classical steps with curved motion) lands the middle frame closer than from the two frames alone."""
    import cv2
    import torch

    from core.archs import build_arch
    from core.video.interpolate import dense_flow, displacements

    photo = cv2.imread(str(sorted((datasets / "images" / "train" / "color432").glob("*.jpg"))[0]))
    photo = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)

    def frame(tau):  # shifted by 8τ + 6τ² pixels right, 3τ down, cropped from the middle
        shift = np.float32([[1, 0, 8 * tau + 6 * tau * tau], [0, 1, 3 * tau]])
        moved = cv2.warpAffine(photo, shift, (photo.shape[1], photo.shape[0]), borderMode=cv2.BORDER_REFLECT)
        return moved[60:188, 80:240].copy()

    before, a, truth, b, after = (frame(tau) for tau in (-0.5, 0.0, 0.5, 1.0, 1.5))
    net = build_arch("flow_refine_interp", width=8, fusion=8).eval()
    f01, f10 = dense_flow(a, b), dense_flow(b, a)
    g0, g1 = dense_flow(a, before), dense_flow(b, after)

    def tensor(x, scale):
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() * scale

    def error(motions):
        with torch.inference_mode():
            flows = (tensor(f, 1.0) for f in (f01, f10, *motions))
            made = net(tensor(a, 1 / 255), tensor(b, 1 / 255), *flows, torch.tensor([0.5]))
        pixels = made[0].clamp(0, 1).mul(255).permute(1, 2, 0).numpy()
        return np.abs(pixels - truth)[16:-16, 16:-16].mean()

    curved = error(displacements(0.5, f01, f10, g0, -0.5, g1, 1.5))
    straight = error(displacements(0.5, f01, f10))
    assert curved < 0.7 * straight


def test_synthetic_bends_of_still_samples_stay_within_the_bound_inference_applies():
    """A still's curved motion bends by 4 t (1 - t) times its bend vector; inference holds a curve's
    departure to BEND_LIMIT of the straight motion of either frame, so training targets beyond that
    would teach the network to mend bends it is never given."""
    from core.train.recipes.fill_frames import _bend
    from core.video.interpolate import BEND_LIMIT

    rng = np.random.default_rng(0)
    for _ in range(500):
        shift = rng.uniform(-16, 16, 2)
        size = np.linalg.norm(_bend(rng, shift))
        for t in (1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4):
            reach = min(t, 1 - t) * np.linalg.norm(shift)  # the shorter straight motion to time t
            assert 4 * t * (1 - t) * size <= BEND_LIMIT * reach + 1e-9


def test_clip_samples_are_drawn_in_proportion_to_each_clips_triplets():
    """A 20-frame clip beside a 200-frame one gives about a tenth of the clip samples, not half (a
    short clip drawn as often as a long one is learnt by heart)."""
    from core.train.recipes.fill_frames import FLOW_GAPS, ClipFrames, InterpolationData

    def clip(count: int, shade: int) -> ClipFrames:
        made = ClipFrames.__new__(ClipFrames)
        made.frames = np.full((count, 40, 40, 3), shade, np.uint8)
        made.flows = np.zeros((len(FLOW_GAPS), count, 2, 40, 40, 2), np.float16)
        made.bad, made.count, made.split = set(), count, int(count * 0.9)
        made.neighbours = {v: set(made.starts(1, v)) for v in (False, True)}
        return made

    data = InterpolationData.__new__(InterpolationData)
    data.clips, data.stills = [clip(200, 10), clip(20, 200)], []
    rng = np.random.default_rng(1)
    short = sum(data._clip_sample(rng, 32)[0][0, 0, 0] == 200 for _ in range(400)) / 400
    assert 0.04 < short < 0.16

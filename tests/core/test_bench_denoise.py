"""`lacuna bench denoise`: the literature's protocol (fixed seeds, unclipped noise) on real bench images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.bench import denoise as bench
from core.bench.common import load_set
from core.bench.metrics import psnr
from core.repair import run_repair


def test_noise_is_fixed_per_image_and_unclipped(datasets):
    _, clean = load_set(datasets / "images" / "bench" / "Set12", gray=True)[0]
    a = bench.add_noise(clean, 25.0, seed=0)
    assert np.array_equal(a, bench.add_noise(clean, 25.0, seed=0))
    assert not np.array_equal(a, bench.add_noise(clean, 25.0, seed=1))
    assert a.min() < 0 and a.max() > 255
    assert np.std(a - clean) == pytest.approx(25.0, rel=0.02)


def test_the_engine_sees_the_noisy_values_unclipped(datasets):
    _, clean = load_set(datasets / "images" / "bench" / "Set12", gray=True)[1]
    noisy = bench.add_noise(clean, 50.0, seed=0)
    doc = bench.noisy_document(noisy)
    seen = {}

    from core.methods import registry

    def spy(image, mask, ctx):
        seen["image"] = image
        return image
        yield  # a generator, like every method

    card = registry.MethodCard(id="denoise-spy", task="denoise", name="spy", kind="classical", description="")
    registry.register(card, spy)
    try:
        result = run_repair(doc, "denoise", method="denoise-spy")
    finally:
        del registry.all_methods()["denoise-spy"]
    assert np.allclose(seen["image"] * 255, noisy, atol=1e-3)  # normalised by 255, not clipped
    assert result.pixels.min() >= 0 and result.pixels.max() <= 255  # only the output is clipped


def test_bench_reports_psnr_ssim_speed_and_device(datasets, capsys):
    folder = datasets / "images" / "bench" / "Set12"
    argv = ["--set", str(folder), "--sigma", "25", "--method", "denoise-nlmeans", "--limit", "2", "--json"]
    assert bench.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    summary = report["summary"]
    assert summary["read as"] == "gray" and summary["images"] == 2 and summary["sigma given to methods"]
    assert "CPU" in summary["device"]
    assert 20.0 < summary["noisy PSNR"] < 20.4  # σ=25 noise on the 0-255 scale
    assert summary["denoise-nlmeans PSNR"] > summary["noisy PSNR"] + 6
    assert 0.5 < summary["denoise-nlmeans SSIM"] < 1.0 and summary["denoise-nlmeans s/MP"] > 0
    rows = report["images"]
    assert [r["image"] for r in rows] == ["01", "02"]
    assert np.mean([r["denoise-nlmeans PSNR"] for r in rows]) == pytest.approx(
        summary["denoise-nlmeans PSNR"], abs=1e-3
    )
    # The same figure computed by hand for the first image.
    _, clean = load_set(folder, gray=True)[0]
    noisy = bench.add_noise(clean, 25.0, seed=0)
    out = run_repair(bench.noisy_document(noisy), "denoise", method="denoise-nlmeans", sigma=25.0)
    by_hand = psnr(np.round(np.clip(out.pixels[0], 0, 255)), clean)
    assert rows[0]["denoise-nlmeans PSNR"] == pytest.approx(by_hand, abs=1e-3)


def test_split_runs_add_up_to_the_whole_run(datasets, capsys):
    """--skip keeps each image's noise seed, so a set can be benched in pieces (on several processes)."""
    folder = datasets / "images" / "bench" / "Set12"
    common = ["--set", str(folder), "--sigma", "25", "--method", "denoise-nlmeans", "--json"]
    assert bench.main(common + ["--limit", "2"]) == 0
    whole = json.loads(capsys.readouterr().out)["images"]
    assert bench.main(common + ["--skip", "1", "--limit", "1"]) == 0
    piece = json.loads(capsys.readouterr().out)["images"]
    assert [r["image"] for r in piece] == ["02"]
    assert piece[0]["denoise-nlmeans PSNR"] == pytest.approx(whole[1]["denoise-nlmeans PSNR"], abs=1e-6)


def test_color_sets_read_as_rgb_and_markdown_output(datasets, capsys):
    argv = ["--set", str(datasets / "images" / "bench" / "McMaster"), "--sigma", "15"]
    argv += ["--method", "denoise-nlmeans", "--limit", "1", "--blind"]
    assert bench.main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("## Denoising, σ=15, McMaster")
    assert "read as: RGB" in text and "sigma given to methods: False" in text
    assert "| image | denoise-nlmeans PSNR | denoise-nlmeans SSIM |" in text

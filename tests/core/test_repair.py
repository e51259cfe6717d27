"""The repair entry point and `lacuna repair`: value ranges, frames, masks, cancel, provenance, output."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from core.bench.metrics import psnr
from core.cli import main as cli_main
from core.documents import ImageDoc, VolumeDoc
from core.errors import CancelledError, MethodError
from core.io import read
from core.repair import repair, run_repair
from core.runtime.context import RunContext

NLM = {"method": "denoise-nlmeans"}


def photo(datasets, name="bench/McMaster/1.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("RGB"), np.float64)[:160, :200]


def test_16_bit_photo_keeps_its_range_and_is_denoised(datasets):
    clean = photo(datasets) * 257.0  # 0..65535
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 20 * 257.0, clean.shape), 0, 65535).astype(np.float32)
    doc = ImageDoc(pixels=noisy[None], dtype="uint16", mode="RGB", format="PNG")
    before = doc.pixels.copy()
    # σ in 0-255 units of the normalised image: 20 here means 20·257 stored units.
    result = run_repair(doc, "denoise", sigma=20.0, **NLM)
    assert np.array_equal(doc.pixels, before)  # the input is never modified
    out = result.pixels[0]
    assert result.dtype == "uint16" and out.shape == noisy.shape
    assert out.min() >= 0 and out.max() <= 65535 and out.max() > 255
    assert psnr(out, clean, peak=65535) > psnr(noisy, clean, peak=65535) + 4
    assert result.provenance[-1].method == "denoise-nlmeans"
    assert result.provenance[-1].params["sigma"] == 20.0


def test_ct_volume_in_hounsfield_units_frame_by_frame(datasets):
    ct = read(datasets / "medical" / "693_UNCI.dcm")
    clean = ct.pixels[0, 128:256, 128:256].astype(np.float64)
    rng = np.random.default_rng(1)
    frames = np.stack([clean + rng.normal(0, 40.0, clean.shape) for _ in range(3)]).astype(np.float32)
    doc = VolumeDoc(pixels=frames, modality="CT", stored_range=ct.value_range)
    reports = []
    result = run_repair(doc, "denoise", on_progress=reports.append, **NLM)  # σ estimated per frame
    assert result.pixels.shape == frames.shape
    lo, hi = ct.value_range
    assert result.pixels.min() >= lo and result.pixels.max() <= hi
    for index in range(3):
        before = np.sqrt(np.mean((frames[index] - clean) ** 2))
        after = np.sqrt(np.mean((result.pixels[index] - clean) ** 2))
        assert after < 0.7 * before, (index, before, after)  # in HU
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any(0.3 < f < 0.7 for f in fractions)  # progress runs across the frames


def test_mask_limits_a_whole_image_method(datasets):
    clean = photo(datasets)
    noisy = (clean + np.random.default_rng(2).normal(0, 25, clean.shape)).astype(np.float32)
    frames = np.stack([noisy, noisy])
    doc = ImageDoc(pixels=frames, dtype="uint8", mode="RGB")
    mask = np.zeros((2, 160, 200), bool)
    mask[0, 40:120, 50:150] = True  # frame 1: nothing painted
    result = run_repair(doc, "denoise", mask=mask, sigma=25.0, **NLM)
    out = result.pixels
    assert np.array_equal(out[0][~mask[0]], frames[0][~mask[0]])
    assert np.array_equal(out[1], frames[1])
    inside = mask[0]
    assert np.abs(out[0][inside] - clean[inside]).mean() < np.abs(frames[0][inside] - clean[inside]).mean()


def test_cancel_mid_run_leaves_the_input_untouched(datasets):
    clean = photo(datasets)
    doc = ImageDoc(pixels=np.stack([clean] * 4).astype(np.float32), dtype="uint8", mode="RGB")
    before = doc.pixels.copy()
    ctx = RunContext()
    seen = []

    def on_progress(report):
        seen.append(report)
        if len(seen) == 3:
            ctx.cancel_event.set()

    with pytest.raises(CancelledError, match="unchanged"):
        run_repair(doc, "denoise", ctx=ctx, on_progress=on_progress, sigma=10.0, **NLM)
    assert len(seen) == 3
    assert np.array_equal(doc.pixels, before)


def test_closing_the_generator_cancels(datasets):
    doc = ImageDoc(pixels=photo(datasets)[None, :64, :64].astype(np.float32), dtype="uint8", mode="RGB")
    gen = repair(doc, "denoise", method="denoise-zs-n2n", iterations=5000)
    reports = [next(gen) for _ in range(3)]
    assert "step 3/5000" in reports[-1].message
    gen.close()  # returns at once: no training continues in the background
    with pytest.raises(StopIteration):
        next(gen)


def test_bad_requests_raise_clear_errors(datasets):
    doc = ImageDoc(pixels=np.zeros((1, 32, 32, 1), np.float32), dtype="uint8", mode="L")
    with pytest.raises(MethodError, match="no parameter"):
        run_repair(doc, "denoise", method="denoise-nlmeans", radius=3)
    with pytest.raises(MethodError, match="from 0 to 100"):
        run_repair(doc, "denoise", method="denoise-nlmeans", sigma=500)
    with pytest.raises(MethodError, match="unknown method"):
        run_repair(doc, "denoise", method="denoise-magic")
    with pytest.raises(MethodError, match="mask is 8×8"):
        run_repair(doc, "denoise", method="denoise-nlmeans", mask=np.ones((8, 8), bool))


# --- lacuna repair -------------------------------------------------------------------------------------


def test_cli_writes_beside_the_input_and_never_over_it(datasets, tmp_path, capsys):
    source = tmp_path / "photo.png"
    shutil.copy(datasets / "images" / "bench" / "Set12" / "04.png", source)
    original = source.read_bytes()
    args = ["repair", str(source), "--task", "denoise", "--method", "denoise-nlmeans"]
    assert cli_main([*args, "--param", "sigma=15", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["output"] == str(tmp_path / "photo_denoise.png")
    assert summary["params"]["sigma"] == 15.0 and summary["device"] == "cpu"
    assert "%" in captured.err  # the progress bar
    assert source.read_bytes() == original
    written = read(tmp_path / "photo_denoise.png")
    assert written.pixels.shape == (1, 256, 256, 1) and written.dtype == "uint8"

    assert cli_main(args) == 0  # a second run does not replace the first result
    assert (tmp_path / "photo_denoise_2.png").is_file()
    assert cli_main([*args, "-o", str(source)]) == 2  # never over the original
    assert source.read_bytes() == original


def test_cli_mask_and_errors(datasets, tmp_path, capsys):
    source = tmp_path / "photo.png"
    shutil.copy(datasets / "images" / "bench" / "Set12" / "04.png", source)
    mask = np.zeros((256, 256), np.uint8)
    mask[100:150, 100:200] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    base = ["repair", str(source), "--task", "denoise", "--method", "denoise-nlmeans"]
    assert cli_main([*base, "--mask", str(tmp_path / "mask.png"), "-o", str(out), "--param", "sigma=30"]) == 0
    before = read(source).pixels[0, ..., 0]
    after = read(out).pixels[0, ..., 0]
    changed = after != before
    assert changed.any() and not changed[mask == 0].any()

    capsys.readouterr()
    assert cli_main([*base, "--param", "sigma"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert cli_main([*base, "--param", "strength=lots"]) == 2
    assert "'strength' must be a number from 0.1 to 3, not 'lots'" in capsys.readouterr().err


def test_cli_fills_an_audio_gap_given_in_seconds(tmp_path, capsys):
    import soundfile as sf

    rate = 16000
    t = np.arange(rate) / rate
    clean = 0.5 * np.sin(2 * np.pi * 440 * t)
    damaged = clean.copy()
    damaged[8000:8160] = 0.0  # a 10 ms dropout at 0.5 s
    source = tmp_path / "tone.wav"
    sf.write(source, damaged, rate, subtype="PCM_16")
    out = tmp_path / "fixed.wav"
    args = ["repair", str(source), "-o", str(out), "--task", "fill-gap", "--method", "fill-gap-ar"]
    assert cli_main([*args, "--gap", "0.5:0.51"]) == 0
    fixed, fixed_rate = sf.read(out)
    assert fixed_rate == rate and sf.info(out).subtype == "PCM_16"
    gap = slice(8000, 8160)
    assert psnr(fixed[gap], clean[gap], peak=1.0) > 30  # the tone continues through the gap
    outside = np.ones(rate, bool)
    outside[4000:12000] = False
    assert np.array_equal(sf.read(out, dtype="int16")[0][outside], sf.read(source, dtype="int16")[0][outside])

    capsys.readouterr()
    assert cli_main([*args, "--gap", "half-a-second", "--overwrite"]) == 2  # fixed.wav exists now
    assert "START:END" in capsys.readouterr().err
    image = tmp_path / "im.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(image)
    assert cli_main(["repair", str(image), "--task", "inpaint", "--gap", "0:1"]) == 2
    assert "are for audio" in capsys.readouterr().err


def test_a_bad_param_is_refused_before_the_method_is_said_to_run(tmp_path, capsys):
    image = tmp_path / "im.png"
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(image)
    out = tmp_path / "out.png"
    args = ["repair", str(image), "-o", str(out), "--task", "denoise", "--method", "denoise-bilateral"]
    assert cli_main([*args, "--param", "bogus=1"]) == 2
    err = capsys.readouterr().err
    assert "no parameter bogus" in err and "running" not in err
    assert not out.exists()


def test_a_repair_that_changes_nothing_the_file_can_hold_says_so(datasets):
    """Bilateral denoising of a CT slice whose noise it estimates at 0.15 HU moved no value by half a
    HU: the saved file equals the input, which the result's record and notes now say (user walk-through)."""
    import core.io
    from core.runtime.context import RunContext

    ct = core.io.read(datasets / "medical" / "693_UNCI.dcm")
    ctx = RunContext()
    result = run_repair(ct, "denoise", method="denoise-bilateral", ctx=ctx)
    assert any("changed nothing" in note for note in ctx.notes)
    assert any("changed nothing" in w for w in result.provenance[-1].warnings)
    ctx = RunContext()
    run_repair(ct, "denoise", method="denoise-bilateral", ctx=ctx, sigma=30.0)  # a real change
    assert not any("changed nothing" in note for note in ctx.notes)

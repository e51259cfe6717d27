"""Denoising methods and the noise-level estimate, on real images from the shared data sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.bench.metrics import psnr
from core.errors import MethodError
from core.methods import get_method, methods, weights
from core.methods.noise_level import estimate_sigma
from core.runtime.context import RunContext, drive


def gray(datasets, name="bench/Set12/05.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("L"), np.float32)[..., None] / 255.0


def color(datasets, name="bench/CBSD68/101085.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("RGB"), np.float32) / 255.0


def noisy(clean, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return (clean + rng.normal(0, sigma / 255.0, clean.shape)).astype(np.float32)


def tiny_weights(folder, datasets, channels, steps=40):
    """Train a very small UNet for a few steps (seconds) and save it as the shipped weights file."""
    from core.archs import build_arch, save_weights

    torch.manual_seed(0)
    model = build_arch("unet_denoiser", channels=channels, widths=[8, 16], blocks=1)
    sources = sorted((datasets / "images" / "train" / "gray400").glob("*.png"))[:4]
    mode = "L" if channels == 1 else "RGB"
    pics = [np.asarray(Image.open(p).convert(mode), np.float32) / 255 for p in sources]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        crops = []
        for pic in pics:
            y, x = rng.integers(0, pic.shape[0] - 48), rng.integers(0, pic.shape[1] - 48)
            crop = pic[y : y + 48, x : x + 48]
            crops.append(crop[None] if crop.ndim == 2 else crop.transpose(2, 0, 1))
        clean = torch.from_numpy(np.stack(crops))
        sigma = torch.rand(len(crops)) * 50 / 255
        dirty = clean + torch.randn_like(clean) * sigma.view(-1, 1, 1, 1)
        loss = torch.nn.functional.l1_loss(model(dirty, sigma), clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    name = "denoise-gray.safetensors" if channels == 1 else "denoise-color.safetensors"
    hparams = {"channels": channels, "widths": [8, 16], "blocks": 1}
    save_weights(model.eval(), folder / name, arch="unet_denoiser", hparams=hparams)


@pytest.fixture(scope="module")
def weights_dir(datasets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    tiny_weights(folder, datasets, 1)
    tiny_weights(folder, datasets, 3)
    return folder


@pytest.fixture()
def shipped(weights_dir, monkeypatch):
    monkeypatch.setattr(weights, "OVERRIDE", weights_dir)
    return weights_dir


# --- noise level --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [5.0, 15.0, 25.0, 50.0])
def test_noise_level_estimate_is_close_on_real_photos(datasets, sigma):
    for name in ["bench/Set12/02.png", "bench/BSD68/test003.png"]:
        clean = gray(datasets, name)
        estimate = estimate_sigma(noisy(clean, sigma, seed=1)) * 255
        assert abs(estimate - sigma) < max(1.0, 0.06 * sigma), (name, sigma, estimate)


def test_noise_level_of_color_and_scaled_images(datasets):
    clean = color(datasets)
    assert abs(estimate_sigma(noisy(clean, 20.0)) * 255 - 20.0) < 1.5
    # Scale-equivariant: the estimate is in the image's own units (16-bit, HU, ...).
    scaled = noisy(clean, 20.0) * 257.0
    assert abs(estimate_sigma(scaled) / 257.0 * 255 - 20.0) < 1.5


def test_noise_level_of_a_noisy_colour_jpeg(datasets):
    """A walk-through: on a noisy photo saved as a camera saves it (JPEG, colour at half resolution)
    the estimate read 0.5 for σ 25, and the default denoiser said the photo looked clean."""
    import io

    photo = np.clip(noisy(color(datasets), 25.0, seed=1), 0, 1)
    saved = io.BytesIO()
    Image.fromarray(np.rint(photo * 255).astype(np.uint8)).save(saved, "JPEG", quality=92, subsampling=2)
    with Image.open(saved) as im:
        jpeg = np.asarray(im.convert("RGB"), np.float32) / 255.0
    assert abs(estimate_sigma(jpeg) * 255 - 25.0) < 2.5
    assert estimate_sigma(color(datasets)) * 255 < 3.0  # and a clean colour photo stays near 0


def test_noise_level_of_a_clean_photo_is_small(datasets):
    assert estimate_sigma(gray(datasets, "bench/Set12/02.png")) * 255 < 3.0


# --- registry -----------------------------------------------------------------------------------------


def test_cards_kinds_and_default():
    cards = {c.id: c for c in methods("denoise")}
    assert {"denoise-learned", "denoise-zero-shot", "denoise-nlmeans"} <= set(cards)
    assert cards["denoise-learned"].default and cards["denoise-learned"].kind == "learned"
    assert cards["denoise-zero-shot"].kind == "zero-shot" and not cards["denoise-zero-shot"].weights
    assert cards["denoise-nlmeans"].kind == "classical"


def test_learned_is_unavailable_without_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "OVERRIDE", tmp_path)
    card = get_method("denoise-learned").card
    assert not card.available and "denoise-gray.safetensors" in card.unavailable_reason
    from core.documents import ImageDoc
    from core.repair import run_repair

    doc = ImageDoc(pixels=np.zeros((1, 16, 16, 1), np.float32), mode="L")
    with pytest.raises(MethodError, match="weights not installed"):
        run_repair(doc, "denoise", method="denoise-learned")


# --- learned --------------------------------------------------------------------------------------------


def test_learned_gray_and_color_improve_psnr(datasets, shipped):
    run = get_method("denoise-learned").run
    for clean in (gray(datasets)[:160, :160], color(datasets)[:128, :160]):
        dirty = noisy(clean, 25.0)
        out = drive(run(dirty, None, RunContext(device="cpu"), sigma=25.0))
        assert out.shape == clean.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert psnr(out, clean, peak=1.0) > psnr(dirty, clean, peak=1.0) + 3.0


def test_learned_blind_uses_the_estimate_and_ensemble_helps_or_matches(datasets, shipped):
    run = get_method("denoise-learned").run
    clean = gray(datasets)[:128, :128]
    dirty = noisy(clean, 25.0)
    blind = drive(run(dirty, None, RunContext(device="cpu"), sigma=0.0))
    given = drive(run(dirty, None, RunContext(device="cpu"), sigma=25.0))
    assert abs(psnr(blind, clean, peak=1.0) - psnr(given, clean, peak=1.0)) < 0.5
    ens = drive(run(dirty, None, RunContext(device="cpu"), sigma=25.0, ensemble=True))
    assert psnr(ens, clean, peak=1.0) > psnr(given, clean, peak=1.0) - 0.05
    assert not np.array_equal(ens, given)


def test_learned_keeps_alpha(datasets, shipped):
    rgb = color(datasets)[:64, :96]
    alpha = np.linspace(0, 1, 64 * 96, dtype=np.float32).reshape(64, 96, 1)
    rgba = np.concatenate([noisy(rgb, 15.0), alpha], axis=2)
    out = drive(get_method("denoise-learned").run(rgba, None, RunContext(device="cpu"), sigma=15.0))
    assert out.shape == (64, 96, 4)
    assert np.array_equal(out[..., 3:], alpha)
    assert psnr(out[..., :3], rgb, peak=1.0) > psnr(rgba[..., :3], rgb, peak=1.0)


# --- zero-shot and classical ------------------------------------------------------------------------------


def test_zs_n2n_learns_from_the_image_alone(datasets):
    clean = gray(datasets)[64:160, 64:160]
    dirty = noisy(clean, 25.0)
    run = get_method("denoise-zs-n2n").run
    out = drive(run(dirty, None, RunContext(device="cpu"), iterations=150, train_size=48, ensemble=False))
    assert psnr(out, clean, peak=1.0) > psnr(dirty, clean, peak=1.0) + 2.0


def test_zs_n2n_is_deterministic_for_a_seed(datasets):
    dirty = noisy(gray(datasets)[:64, :64], 25.0)
    run = get_method("denoise-zs-n2n").run

    def once(seed):
        return drive(run(dirty, None, RunContext(device="cpu", seed=seed), iterations=20, train_size=32))

    first = once(3)
    assert np.array_equal(first, once(3))
    assert not np.array_equal(first, once(4))


def test_zs_n2n_fits_crops_of_large_images(datasets):
    clean = color(datasets)[:160, :200]
    dirty = noisy(clean, 30.0)
    run = get_method("denoise-zs-n2n").run
    out = drive(run(dirty, None, RunContext(device="cpu"), iterations=60, train_size=48, ensemble=False))
    assert out.shape == clean.shape
    assert psnr(out, clean, peak=1.0) > psnr(dirty, clean, peak=1.0) + 2.0


def test_nl_means_strips_match_the_whole_image(datasets, monkeypatch):
    from skimage.restoration import denoise_nl_means

    import core.methods.denoise as module

    monkeypatch.setattr(module, "STRIP_PIXELS", 100 * 481)  # 4 strips
    clean = gray(datasets, "bench/BSD68/test010.png")
    dirty = noisy(clean, 20.0)
    out = drive(get_method("denoise-nlmeans").run(dirty, None, RunContext(), sigma=20.0))
    level = 20.0 / 255
    whole = denoise_nl_means(
        dirty, h=0.6 * level, sigma=level, patch_size=5, patch_distance=6, channel_axis=-1
    )
    assert np.abs(out - np.clip(whole, 0, 1).reshape(out.shape)).max() < 1e-5
    assert psnr(out, clean, peak=1.0) > psnr(dirty, clean, peak=1.0) + 5.0


def test_fast_denoiser_beats_non_local_means_on_a_bsd68_crop(datasets):
    """The distilled fast denoiser (gray; color plane by plane) on a real noisy crop."""
    with Image.open(datasets / "images" / "bench" / "BSD68" / "test005.png") as im:
        clean = np.asarray(im.convert("L"), np.float32)[:160, :200, None] / 255.0
    noisy = (clean + np.random.default_rng(5).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    fast = drive(get_method("denoise-fast").run(noisy, None, RunContext(device="cpu"), sigma=25))
    nlm = drive(get_method("denoise-nlmeans").run(noisy, None, RunContext(device="cpu"), sigma=25))
    score = {name: psnr(np.clip(x, 0, 1) * 255, clean * 255) for name, x in (("fast", fast), ("nlm", nlm))}
    assert score["fast"] > score["nlm"] + 0.3
    color = drive(get_method("denoise-fast").run(np.repeat(noisy, 3, axis=2), None, RunContext(), sigma=25))
    assert np.allclose(color, np.repeat(fast, 3, axis=2), atol=1e-5)


def test_a_photo_is_told_its_estimated_noise_and_when_it_looks_clean(datasets):
    """The estimated σ was only in the sidecar; a clean photo was smoothed with nothing said."""
    from core.io import read
    from core.repair import run_repair
    from core.runtime.context import RunContext

    clean = read(datasets / "images/bench/McMaster/1.png")
    ctx = RunContext(device="cpu")
    out = run_repair(clean, "denoise", method="denoise-bilateral", ctx=ctx)
    sigma = out.provenance[-1].params["sigma"]
    said = next(n for n in ctx.notes if n.startswith("noise σ estimated at"))
    assert f"{sigma:.2g} on the 0-255 scale" in said and sigma < 1 and "looks clean" in said
    noisy = clean.with_pixels(
        np.clip(clean.pixels + np.random.default_rng(0).normal(0, 15, clean.pixels.shape), 0, 255)
    )
    ctx = RunContext(device="cpu")
    run_repair(noisy, "denoise", method="denoise-bilateral", ctx=ctx)
    assert not any("looks clean" in n for n in ctx.notes) and any("noise σ estimated" in n for n in ctx.notes)


def test_a_picture_too_small_to_tell_its_noise_says_so(tmp_path, capsys):
    """A walk-through: a noisy 16×16 picture was called clean (σ 0 estimated)."""
    from core.cli import main
    from core.methods.noise_level import can_estimate

    assert not can_estimate(16, 16, 3) and not can_estimate(24, 24, 3) and can_estimate(64, 64, 3)
    noise = np.random.default_rng(0).normal(128, 25, (16, 16, 3))
    Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)).save(tmp_path / "tiny.png")
    out = tmp_path / "out.png"
    assert (
        main(
            [
                "repair",
                str(tmp_path / "tiny.png"),
                "-o",
                str(out),
                "--task",
                "denoise",
                "--method",
                "denoise-bilateral",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "too small to tell its noise from: set sigma" in err and "looks clean" not in err

"""JPEG artifact removal: network, training batches, learned and classical methods, bench."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.archs import load_weights, save_weights
from core.archs.dejpeg import DejpegUNet
from core.bench.metrics import psnr, rgb_to_y
from core.documents import ImageDoc
from core.errors import MethodError
from core.methods import get_method, methods, weights
from core.methods.dejpeg import estimate_quality, jpeg_roundtrip
from core.repair import run_repair
from core.runtime.context import RunContext

SHIPPED = weights.shipped_folder() / "dejpeg-gray.safetensors"


pytestmark = pytest.mark.usefixtures("one_thread")


def gray(datasets, name="bench/classic5/barbara.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("L"), np.uint8)


def color(datasets, name="bench/LIVE1/bikes.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("RGB"), np.uint8)


def gray_doc(pixels: np.ndarray) -> ImageDoc:
    return ImageDoc(pixels=pixels[None, ..., None].astype(np.float32), dtype="uint8", mode="L")


def tiny_unet(channels, seed=0):
    torch.manual_seed(seed)
    net = DejpegUNet(channels=channels, features=(8, 8, 8, 8), blocks=1).eval()
    with torch.no_grad():
        net.tail.weight.mul_(20.0)  # make its correction visible
    return net


def save_tiny(folder):
    hp = {"features": [8, 8, 8, 8], "blocks": 1}
    save_weights(tiny_unet(1), folder / "dejpeg-gray.safetensors", "dejpeg_unet", {"channels": 1, **hp})
    save_weights(tiny_unet(3), folder / "dejpeg-color.safetensors", "dejpeg_unet", {"channels": 3, **hp})


def test_network_takes_any_size_and_predicts_a_correction():
    net = tiny_unet(1)
    x = torch.rand(2, 1, 37, 29)
    out = net(x)
    assert out.shape == x.shape and not torch.allclose(out, x)
    with torch.no_grad():
        net.tail.weight.zero_()
        net.tail.bias.zero_()
    assert torch.equal(net(x), x)  # a global residual: without a correction it is the identity


def test_recipe_compresses_with_pillow_at_low_biased_qualities(datasets):
    from core.train.cli import build_parser
    from core.train.recipes import get_recipe

    recipe_cls = get_recipe("dejpeg")
    argv = [
        "--data",
        "x",
        "--out",
        "x.safetensors",
        "--channels",
        "1",
        "--features",
        "8,8,8,8",
        "--blocks",
        "1",
    ]
    recipe = recipe_cls(
        build_parser(recipe_cls).parse_args([*argv, "--shift-prob", "0"]), torch.device("cpu")
    )
    generator = torch.Generator().manual_seed(0)
    qualities = recipe.qualities(4000, generator)
    assert min(qualities) >= 10 and max(qualities) <= 90
    assert np.mean(np.array(qualities) < 30) > 0.4  # low qualities drawn most often (uniform: 0.25)
    crop = gray(datasets)[100:196, 200:296]
    clean = torch.from_numpy(crop.copy()).float().div(255)[None, None].repeat(4, 1, 1, 1)
    (degraded,), target = recipe.make_batch(clean, torch.Generator().manual_seed(1))
    assert degraded.shape == target.shape == clean.shape
    # Each crop is exactly what Pillow makes at some quality in the range.
    got = np.round(degraded[0, 0].numpy() * 255).astype(np.uint8)
    assert any(np.array_equal(got, jpeg_roundtrip(crop, q)) for q in range(10, 91))
    assert psnr(got, crop) < 45
    losses = recipe.step(clean, generator, lambda: torch.autocast("cpu", enabled=False))
    assert np.isfinite(losses["loss"])
    shifted = recipe_cls(
        build_parser(recipe_cls).parse_args([*argv, "--shift-prob", "1"]), torch.device("cpu")
    )
    (degraded,), target = shifted.make_batch(clean, generator)
    assert degraded.shape[-1] == clean.shape[-1] - 8
    studio_args = [*argv, "--studio-prob", "1", "--shift-prob", "0"]
    studio = recipe_cls(build_parser(recipe_cls).parse_args(studio_args), torch.device("cpu"))
    (degraded,), target = studio.make_batch(clean, generator)
    assert torch.allclose(target, torch.round(16 + 219 * clean) / 255, atol=1e-6)  # Y's 16..235 range


def test_learned_is_unavailable_without_weights(weights_dir):
    card = next(c for c in methods("dejpeg") if c.id == "dejpeg-learned")
    assert not card.available and "dejpeg-gray.safetensors" in card.unavailable_reason
    with pytest.raises(MethodError, match="dejpeg"):
        run_repair(gray_doc(np.zeros((16, 16))), "dejpeg", method="dejpeg-learned")


def test_learned_picks_the_model_by_channels_and_tiles_on_the_grid(weights_dir, datasets):
    save_tiny(weights_dir)
    assert get_method("dejpeg-learned").card.available
    crop = jpeg_roundtrip(gray(datasets)[:150, :140], 10)
    ctx = RunContext(device="cpu")
    out = run_repair(gray_doc(crop), "dejpeg", method="dejpeg-learned", ctx=ctx).pixels[0, ..., 0]
    net, _ = load_weights(weights_dir / "dejpeg-gray.safetensors")  # as stored (float16 values)
    with torch.no_grad():
        ref = net(torch.from_numpy(crop.copy()).float()[None, None] / 255)[0, 0].clamp(0, 1).numpy() * 255
    assert np.abs(out - ref).max() < 1e-3
    assert np.abs(out - crop).mean() > 0.5  # the tiny network does change it
    # Small tiles (rounded to the block grid) agree with the whole image.
    tiled = run_repair(
        gray_doc(crop), "dejpeg", method="dejpeg-learned", ctx=RunContext(device="cpu", tile=70)
    )
    correction = np.abs(out - crop).mean()
    assert np.abs(tiled.pixels[0, ..., 0] - out).mean() < 0.05 * correction
    # Color uses the color model; a gray picture stored as RGB uses the gray one; alpha is kept.
    rgb = jpeg_roundtrip(color(datasets)[:64, :80], 20)
    doc = ImageDoc(pixels=rgb[None].astype(np.float32), dtype="uint8", mode="RGB")
    assert run_repair(doc, "dejpeg", method="dejpeg-learned").pixels.shape == (1, 64, 80, 3)
    gray_rgb = np.repeat(crop[..., None], 3, axis=2)
    as_rgb = run_repair(ImageDoc(pixels=gray_rgb[None].astype(np.float32)), "dejpeg", method="dejpeg-learned")
    assert np.abs(as_rgb.pixels[0, ..., 1] - out).max() < 1e-3
    alpha = np.full((64, 80, 1), 77.0)
    rgba = ImageDoc(
        pixels=np.concatenate([rgb, alpha], 2)[None].astype(np.float32), dtype="uint8", mode="RGBA"
    )
    assert np.all(run_repair(rgba, "dejpeg", method="dejpeg-learned").pixels[0, ..., 3] == 77.0)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped dejpeg weights not trained yet")
def test_shipped_gray_network_beats_the_jpeg(datasets):
    clean = gray(datasets)[:128, :128]
    compressed = jpeg_roundtrip(clean, 10)
    out = run_repair(gray_doc(compressed), "dejpeg", method="dejpeg-learned", ctx=RunContext(device="cpu"))
    assert psnr(np.round(out.pixels[0, ..., 0]), clean) > psnr(compressed, clean) + 0.5


@pytest.mark.parametrize("quality", [10, 30, 50, 75])
def test_quality_is_estimated_from_the_quantization(datasets, quality):
    compressed = jpeg_roundtrip(gray(datasets, "bench/classic5/boats.png")[:128, :128], quality)
    found = estimate_quality(compressed.astype(np.float64))
    assert found is not None and abs(found - quality) <= 3


def test_uncompressed_image_is_left_alone(datasets):
    clean = gray(datasets, "bench/classic5/lena.png")[:96, :96]
    assert estimate_quality(clean.astype(np.float64)) is None
    out = run_repair(gray_doc(clean), "dejpeg", method="dejpeg-reapply")
    assert np.array_equal(out.pixels[0, ..., 0], clean.astype(np.float32))


@pytest.mark.parametrize("quality", [10, 40])
def test_reapplication_improves_real_jpegs(datasets, quality):
    clean = gray(datasets)[:128, :160]
    compressed = jpeg_roundtrip(clean, quality)
    out = run_repair(gray_doc(compressed), "dejpeg", method="dejpeg-reapply").pixels[0, ..., 0]
    assert psnr(np.round(out), clean) > psnr(compressed, clean) + 0.3
    # Color: luma is processed, chroma kept.
    rgb = color(datasets)[:96, :96]
    jpg = jpeg_roundtrip(rgb, quality)
    res = run_repair(ImageDoc(pixels=jpg[None].astype(np.float32)), "dejpeg", method="dejpeg-reapply").pixels[
        0
    ]
    assert psnr(np.round(res), rgb) > psnr(jpg, rgb)


def test_bench_follows_the_protocol(tmp_path, datasets, capsys):
    from core.bench.dejpeg import main

    expected = []
    for name in ("barbara", "boats"):
        crop = gray(datasets, f"bench/classic5/{name}.png")[200:264, 100:180]
        Image.fromarray(crop).save(tmp_path / f"{name}.png")
        expected.append(psnr(jpeg_roundtrip(crop, 20), crop))
    # a color image is reduced to MATLAB's Y (16..235), as the LIVE1 protocol does
    rgb = color(datasets)[:64, :80]
    Image.fromarray(rgb).save(tmp_path / "bikes.png")
    y = np.clip(np.round(rgb_to_y(rgb)), 0, 255).astype(np.uint8)
    expected.append(psnr(jpeg_roundtrip(y, 20), y))
    assert main(["--set", str(tmp_path), "--quality", "20", "--method", "dejpeg-reapply", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["summary"]
    assert report["JPEG PSNR"] == pytest.approx(np.mean(expected), abs=2e-3)
    assert report["dejpeg-reapply PSNR"] > report["JPEG PSNR"]


def test_lossy_jpeg_dicom_is_repaired_on_its_decoded_pixels(weights_dir):
    from pydicom.data import get_testdata_file

    from core.documents import VolumeDoc
    from core.io import read

    doc = read(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))  # JPEG Baseline (lossy) transfer syntax
    assert isinstance(doc, VolumeDoc)
    save_tiny(weights_dir)
    out = run_repair(doc, "dejpeg", method="dejpeg-learned", ctx=RunContext(device="cpu"))
    assert isinstance(out, VolumeDoc) and out.pixels.shape == doc.pixels.shape
    assert np.abs(out.pixels - doc.pixels).mean() > 0.1
    assert out.provenance[-1].method == "dejpeg-learned"


def test_dejpeg_says_when_a_picture_shows_no_jpeg_blocking(datasets, tmp_path):
    """A never-compressed PNG was 'dejpeg'ed silently; one saved as JPEG and cropped off its grid is
    not told."""
    import io as bytes_io

    from PIL import Image

    from core.io import read
    from core.repair import run_repair
    from core.runtime.context import RunContext

    source = datasets / "images/bench/Set14/comic.png"
    picture = Image.open(source).convert("RGB")
    buffer = bytes_io.BytesIO()
    picture.save(buffer, "JPEG", quality=20)
    Image.open(buffer).crop((3, 5, picture.width, picture.height)).save(tmp_path / "cropped.png")
    wide = np.asarray(picture.convert("L"), np.uint16) * 257  # a 16-bit copy: measured on its own scale
    Image.fromarray(wide).save(tmp_path / "wide.png")
    told = {}
    pictures = {"clean": source, "compressed": tmp_path / "cropped.png", "16-bit": tmp_path / "wide.png"}
    for name, path in pictures.items():
        ctx = RunContext(device="cpu")
        run_repair(read(path), "dejpeg", method="dejpeg-reapply", ctx=ctx)
        told[name] = any("no sign of JPEG blocking" in note for note in ctx.notes)
    assert told == {"clean": True, "compressed": False, "16-bit": True}


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_jpeg_stored_turned_is_known_and_repaired_on_its_own_grid(datasets, tmp_path, orientation):
    """Walk-through 43: a portrait camera JPEG (stored turned, EXIF orientation 6) showed no quality
    and dejpeg-reapply left it as it was: both looked for the block grid on the upright picture."""
    from core.io import read
    from core.io.fill import stored_view
    from core.jpeg import saved_quality

    clean = np.asarray(Image.open(datasets / "images" / "bench" / "LIVE1" / "womanhat.png").convert("RGB"))
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(stored_view(clean, orientation))).save(
        tmp_path / "portrait.jpg", quality=20, exif=exif.tobytes()
    )
    doc = read(tmp_path / "portrait.jpg")
    assert doc.pixels.shape[1:3] == clean.shape[:2] and saved_quality(doc) == 20

    out = run_repair(doc, "dejpeg", method="dejpeg-reapply").pixels[0]
    before, after = (psnr(rgb_to_y(x), rgb_to_y(clean.astype(np.float64))) for x in (doc.pixels[0], out))
    assert after > before + 0.4  # measured +0.57 dB, as on the picture stored upright (+0.59)

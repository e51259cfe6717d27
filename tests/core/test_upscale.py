"""Upscale: network, training batches, methods (learned, ZSSR, bicubic, Lanczos), documents, bench."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.archs import build_arch, save_weights
from core.archs.sr import SRResNet
from core.bench.metrics import psnr, rgb_to_y
from core.documents import ImageDoc, VolumeDoc
from core.errors import CancelledError, MethodError
from core.imresize import imresize
from core.methods import get_method, methods, weights
from core.methods.upscale import network_fn, upscale_with
from core.repair import repair, run_repair
from core.runtime.context import RunContext, drive

SHIPPED = weights.shipped_folder() / "upscale.safetensors"

pytestmark = pytest.mark.usefixtures("one_thread")


def rgb(datasets, name="bench/Set5/bird_GT.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("RGB"), np.float64)


def lr_of(hr: np.ndarray, scale: int) -> np.ndarray:
    return np.clip(np.round(imresize(hr, 1 / scale)), 0, 255)


def y_psnr(out, hr, scale):
    out = np.round(np.clip(out, 0, 255))
    return psnr(rgb_to_y(out)[scale:-scale, scale:-scale], rgb_to_y(hr)[scale:-scale, scale:-scale])


def tiny_net(seed=0, blocks=2, residual_gain=1.0):
    torch.manual_seed(seed)
    net = SRResNet(channels=1, features=8, blocks=blocks, scales=(2, 3, 4)).eval()
    with torch.no_grad():
        for tail in net.tails.values():
            for p in tail[2].parameters():
                p.mul_(residual_gain)
    return net


def test_network_shapes_and_starts_at_bicubic():
    net = tiny_net()
    x = torch.rand(2, 1, 13, 11)
    for s in (2, 3, 4):
        assert net(x, s).shape == (2, 1, 13 * s, 11 * s)
    with torch.no_grad():
        for tail in net.tails.values():
            tail[2].weight.zero_()
            tail[2].bias.zero_()
    ref = imresize(x[0, 0].double().numpy(), 3)
    assert np.abs(net(x, 3)[0, 0].detach().double().numpy() - ref).max() < 1e-5
    with pytest.raises(ValueError):
        net(x, 5)
    params = sum(p.numel() for p in build_arch("sr_resnet").parameters())
    assert 1.0e6 < params < 2.0e6


def test_recipe_batches_are_matlab_bicubic_pairs(datasets):
    from core.train.cli import build_parser
    from core.train.recipes import get_recipe

    recipe_cls = get_recipe("upscale")
    args = build_parser(recipe_cls).parse_args(
        ["--data", "x", "--out", "x.safetensors", "--features", "8", "--blocks", "1", "--steps", "4"]
    )
    assert args.channels == 1 and args.crop % 12 == 0
    recipe = recipe_cls(args, torch.device("cpu"))
    luma = rgb(datasets)[..., 1][:144, :144] / 255.0
    clean = torch.from_numpy(luma).float()[None, None].repeat(3, 1, 1, 1)
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(12):
        (lr, scale), hr = recipe.make_batch(clean, generator)
        seen.add(scale)
        side = min(48 * scale, 144)
        assert hr.shape == (3, 1, side, side) and lr.shape == (3, 1, side // scale, side // scale)
        ref = np.round(np.clip(imresize(hr[0, 0].double().numpy(), 1 / scale), 0, 1) * 255) / 255
        assert np.abs(lr[0, 0].double().numpy() - ref).max() < 1e-6
    assert seen == {2, 3, 4}
    losses = recipe.step(clean, generator, lambda: torch.autocast("cpu", enabled=False))
    assert np.isfinite(losses["loss"])


def test_learned_is_unavailable_without_weights(weights_dir):
    card = next(c for c in methods("upscale") if c.id == "upscale-learned")
    assert not card.available and "upscale.safetensors" in card.unavailable_reason
    doc = ImageDoc(pixels=np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(MethodError, match="upscale.safetensors"):
        run_repair(doc, "upscale", method="upscale-learned")


def test_learned_loads_weights_and_handles_color_gray_alpha(weights_dir, datasets):
    net = tiny_net(residual_gain=5.0)
    save_weights(
        net, weights_dir / "upscale.safetensors", "sr_resnet", {"channels": 1, "features": 8, "blocks": 2}
    )
    assert get_method("upscale-learned").card.available
    hr = rgb(datasets)[:48, :60]
    lr = lr_of(hr, 2)
    doc = ImageDoc(pixels=lr[None].astype(np.float32), dtype="uint8", mode="RGB")
    out = run_repair(doc, "upscale", method="upscale-learned", scale=2, ctx=RunContext(device="cpu"))
    assert out.pixels.shape == (1, 48, 60, 3)
    # Luma goes through the network: compare with the network applied to Y by hand.
    y = (0.299 * lr[..., 0] + 0.587 * lr[..., 1] + 0.114 * lr[..., 2]) / 255.0
    with torch.no_grad():
        net_y = net(torch.from_numpy(y).float()[None, None], 2)[0, 0].numpy()
    res = out.pixels[0] / 255.0
    res_y = 0.299 * res[..., 0] + 0.587 * res[..., 1] + 0.114 * res[..., 2]
    inside = (res.min(axis=2) > 0.01) & (res.max(axis=2) < 0.99)  # away from clipping
    assert np.abs(res_y - net_y)[inside].max() < 1e-4
    # The x8 ensemble is equivariant to flips, which the bare network is not.
    ctx = RunContext(device="cpu")
    flipped = ImageDoc(pixels=np.ascontiguousarray(lr[:, ::-1])[None].astype(np.float32), dtype="uint8")
    plain_f = run_repair(flipped, "upscale", method="upscale-learned", scale=2, ctx=ctx).pixels[0]
    assert np.abs(plain_f[:, ::-1] - out.pixels[0]).mean() > 0.5
    ens = run_repair(doc, "upscale", method="upscale-learned", scale=2, ensemble=True, ctx=ctx).pixels[0]
    ens_f = run_repair(flipped, "upscale", method="upscale-learned", scale=2, ensemble=True, ctx=ctx).pixels[
        0
    ]
    assert np.abs(ens_f[:, ::-1] - ens).max() < 1e-3
    gray = ImageDoc(pixels=lr[None, ..., :1].astype(np.float32), dtype="uint8", mode="L")
    assert run_repair(gray, "upscale", method="upscale-learned", scale=3).pixels.shape == (1, 72, 90, 1)
    alpha = np.linspace(0, 255, lr.shape[1])[None, :, None].repeat(lr.shape[0], 0)
    rgba = ImageDoc(
        pixels=np.concatenate([lr, alpha], 2)[None].astype(np.float32), dtype="uint8", mode="RGBA"
    )
    got = run_repair(rgba, "upscale", method="upscale-learned", scale=2).pixels[0]
    assert got.shape == (48, 60, 4)
    assert np.abs(got[..., 3] - np.clip(imresize(alpha[..., 0], 2), 0, 255)).max() < 1e-2


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped upscale weights not trained yet")
def test_shipped_network_beats_bicubic_on_a_set5_crop(datasets):
    hr = rgb(datasets, "bench/Set5/butterfly_GT.png")[:96, :96]
    doc = ImageDoc(pixels=lr_of(hr, 4)[None].astype(np.float32), dtype="uint8", mode="RGB")
    learned = run_repair(doc, "upscale", method="upscale-learned", scale=4, ctx=RunContext(device="cpu"))
    bicubic = run_repair(doc, "upscale", method="upscale-bicubic", scale=4)
    assert y_psnr(learned.pixels[0], hr, 4) > y_psnr(bicubic.pixels[0], hr, 4) + 0.5


def test_zssr_beats_bicubic_at_x2_on_a_real_image(datasets):
    hr = rgb(datasets, "bench/Set14/comic.png")[:96, :96]
    doc = ImageDoc(pixels=lr_of(hr, 2)[None].astype(np.float32), dtype="uint8", mode="RGB")
    reports = []
    gen = repair(doc, "upscale", method="upscale-zssr", scale=2, iterations=60, ctx=RunContext(device="cpu"))
    while True:
        try:
            reports.append(next(gen))
        except StopIteration as stop:
            zssr = stop.value
            break
    assert sum("learning" in r.message for r in reports) == 60  # progress every iteration
    bicubic = run_repair(doc, "upscale", method="upscale-bicubic", scale=2)
    assert y_psnr(zssr.pixels[0], hr, 2) > y_psnr(bicubic.pixels[0], hr, 2) + 0.1


def test_bicubic_and_lanczos_baselines(datasets):
    hr = rgb(datasets)[:64, :64]
    lr = lr_of(hr, 2)
    doc = ImageDoc(pixels=lr[None].astype(np.float32), dtype="uint8", mode="RGB")
    bic = run_repair(doc, "upscale", method="upscale-bicubic", scale=2).pixels[0]
    assert np.abs(bic - np.clip(imresize(lr, 2), 0, 255)).max() < 1e-3
    lan = run_repair(doc, "upscale", method="upscale-lanczos", scale=2).pixels[0]
    assert lan.shape == bic.shape and y_psnr(lan, hr, 2) > 25


def test_tiles_leave_no_seams(datasets):
    img = (rgb(datasets, "bench/Set14/comic.png")[:150, :130] / 255).astype(np.float32)
    net = tiny_net(blocks=3, residual_gain=10.0)
    fn = network_fn(net, 2, torch.device("cpu"))
    tiled = drive(upscale_with(fn, img, RunContext(device="cpu", tile=64), 2))
    whole = drive(upscale_with(fn, img, RunContext(device="cpu", tile=512), 2))
    residual = np.abs(whole - imresize(img, 2))
    assert residual.mean() > 0.02  # the network changes the image noticeably ...
    diff = np.abs(tiled - whole)
    assert diff.max() < 0.05 * residual.max() and diff.mean() < 0.002  # ... and tiles agree with it


def test_cancel_stops_a_large_job():
    img = np.random.default_rng(0).random((600, 600, 1)).astype(np.float32)
    doc = ImageDoc(pixels=img[None] * 255, dtype="uint8", mode="L")
    ctx = RunContext(device="cpu", tile=128)
    gen = repair(doc, "upscale", method="upscale-bicubic", scale=4, ctx=ctx)
    first = next(gen)
    assert 0 < first.fraction < 1
    ctx.cancel_event.set()
    with pytest.raises(CancelledError):
        next(gen)


def test_sixteen_bit_stays_on_its_scale(datasets):
    hr = rgb(datasets)[:40, :40] * 257.0  # 16-bit range
    lr16 = np.round(imresize(hr, 0.5))
    doc = ImageDoc(pixels=lr16[None].astype(np.float32), dtype="uint16", mode="RGB")
    out = run_repair(doc, "upscale", method="upscale-bicubic", scale=2)
    assert out.dtype == "uint16" and out.pixels.shape == (1, 40, 40, 3)
    assert out.pixels.max() > 255 * 20  # not squeezed to 8 bits
    ref = np.clip(imresize(lr16, 2), 0, 65535)
    assert np.abs(out.pixels[0] - ref).max() < 0.1  # and no 8-bit rounding on the way


def test_ct_slice_keeps_hu_and_updates_spacing(datasets):
    from core.io import read

    doc = read(datasets / "medical" / "693_UNCI.dcm")
    assert isinstance(doc, VolumeDoc)
    doc = doc.with_pixels(doc.pixels[:, 200:264, 200:264])
    out = run_repair(doc, "upscale", method="upscale-bicubic", scale=2)
    assert out.pixels.shape == (1, 128, 128, 1)
    assert out.spacing[1:] == pytest.approx((doc.spacing[1] / 2, doc.spacing[2] / 2))
    assert out.spacing[0] == doc.spacing[0]
    # HU: the mean over the crop is kept (bicubic preserves it up to borders)
    assert abs(float(out.pixels.mean()) - float(doc.pixels.mean())) < 5.0


def test_an_enlarged_scan_keeps_its_print_size(datasets, tmp_path):
    """Walk-through 43: a 300 dpi photo enlarged twice was saved at 300 dpi, its print size doubled;
    it is the same print sampled finer (as a CT slice keeps its extent in mm)."""
    from core.io import read, write

    with Image.open(datasets / "images" / "bench" / "Set5" / "bird_GT.png") as im:
        im.convert("RGB").save(tmp_path / "scan.png", dpi=(300, 300))
    out = run_repair(read(tmp_path / "scan.png"), "upscale", method="upscale-bicubic", scale=2)
    assert out.metadata["dpi"] == pytest.approx((600, 600), abs=0.1)
    with Image.open(write(out, tmp_path / "scan_x2.png")) as saved:
        assert saved.info["dpi"] == pytest.approx((600, 600), abs=0.1)
    assert read(tmp_path / "scan.png").metadata["dpi"] == pytest.approx((300, 300), abs=0.1)  # untouched


def test_volume_is_upscaled_slice_by_slice(datasets):
    frames = np.stack([rgb(datasets)[:32, :32, c : c + 1] for c in range(3)])
    doc = VolumeDoc(pixels=frames.astype(np.float32), spacing=(2.0, 1.0, 1.0), stored_range=(0.0, 255.0))
    out = run_repair(doc, "upscale", method="upscale-bicubic", scale=2)
    assert out.pixels.shape == (3, 64, 64, 1)
    for i in range(3):
        # a volume's results are clipped to the data's own range
        ref = np.clip(imresize(frames[i, ..., 0], 2), frames.min(), frames.max())
        assert np.abs(out.pixels[i, ..., 0] - ref).max() < 1e-3


def test_bench_follows_the_protocol(tmp_path, datasets, capsys):
    from core.bench.upscale import main

    expected = []
    for name in ("butterfly_GT", "bird_GT"):
        crop = rgb(datasets, f"bench/Set5/{name}.png")[60:111, 50:113]  # 51x63: modcrop to 50x62
        Image.fromarray(crop.astype(np.uint8)).save(tmp_path / f"{name}.png")
        hr = crop[:50, :62]
        expected.append(y_psnr(np.clip(imresize(lr_of(hr, 2), 2), 0, 255), hr, 2))
    argv = [
        "--set",
        str(tmp_path),
        "--scale",
        "2",
        "--method",
        "upscale-bicubic",
        "--json",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["images"] == 2
    assert report["summary"]["upscale-bicubic PSNR"] == pytest.approx(np.mean(expected), abs=2e-3)

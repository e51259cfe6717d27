"""The "fast" learned methods beside the "best" ones: dejpeg-fast, upscale-fast and inpaint-fast run
their own distilled weights file through the same pipeline as the shipped network, and are listed but
refused, never broken, while that file is not installed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.archs import build_arch, load_weights, save_weights
from core.cli import main
from core.documents import ImageDoc
from core.errors import MethodError
from core.masks import random_mask
from core.methods import default_method, get_method, weights
from core.methods.dejpeg import jpeg_roundtrip
from core.repair import run_repair
from core.runtime.context import RunContext

FAST = {
    "dejpeg-fast": ("dejpeg", "dejpeg-fast-gray.safetensors"),
    "upscale-fast": ("upscale", "upscale-fast.safetensors"),
    "inpaint-fast": ("inpaint", "inpaint-fast.safetensors"),
}
CPU = RunContext(device="cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def photo(datasets, height=64, width=80) -> np.ndarray:
    """A real RGB crop in 0-255 (LIVE1 bikes)."""
    with Image.open(datasets / "images" / "bench" / "LIVE1" / "bikes.png") as im:
        return np.asarray(im.convert("RGB"), np.float32)[:height, :width]


def save_net(path, arch, seed=0, **hparams):
    torch.manual_seed(seed)
    save_weights(build_arch(arch, **hparams), path, arch, hparams)


@pytest.mark.parametrize("method_id", sorted(FAST))
def test_without_its_weights_a_fast_method_is_listed_unavailable_and_refused(weights_dir, method_id, capsys):
    task, name = FAST[method_id]
    card = get_method(method_id).card
    assert card.kind == "learned" and not card.default and card.weights == (name,)
    assert not card.available and name in card.unavailable_reason
    doc = ImageDoc(pixels=np.zeros((1, 16, 16, 3), np.float32))
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    with pytest.raises(MethodError, match=name):
        run_repair(doc, task, method=method_id, mask=mask if task == "inpaint" else None)
    assert default_method(task).card.id != method_id
    assert main(["models", "--task", task]) == 0
    assert f"{method_id}" in capsys.readouterr().out


def test_dejpeg_fast_runs_its_gray_network_on_each_color_plane(weights_dir, datasets):
    hparams = {"channels": 1, "features": [8, 8, 8, 8], "blocks": 1}
    save_net(weights_dir / "dejpeg-fast-gray.safetensors", "dejpeg_unet", **hparams)
    jpeg = jpeg_roundtrip(photo(datasets).astype(np.uint8), 20).astype(np.float32)
    out = run_repair(ImageDoc(pixels=jpeg[None], dtype="uint8", mode="RGB"), "dejpeg", method="dejpeg-fast")
    assert out.pixels.shape == (1, 64, 80, 3)
    net, _ = load_weights(weights_dir / "dejpeg-fast-gray.safetensors")
    with torch.no_grad():
        planes = torch.from_numpy(jpeg.transpose(2, 0, 1).copy())[:, None] / 255  # (3, 1, H, W)
        expected = net(planes)[:, 0].clamp(0, 1).numpy().transpose(1, 2, 0) * 255
    assert np.abs(out.pixels[0] - expected).max() < 1e-2
    assert np.abs(out.pixels[0] - jpeg).mean() > 0.1  # the network did change it


def test_upscale_fast_runs_its_own_network_on_luma(weights_dir, datasets):
    hparams = {"channels": 1, "features": 8, "blocks": 1, "scales": [2, 3, 4]}
    save_net(weights_dir / "upscale-fast.safetensors", "sr_resnet", **hparams)
    save_net(weights_dir / "upscale.safetensors", "sr_resnet", seed=1, **{**hparams, "features": 12})
    low = photo(datasets, 24, 30)
    doc = ImageDoc(pixels=low[None], dtype="uint8", mode="RGB")
    fast = run_repair(doc, "upscale", method="upscale-fast", scale=3, ctx=CPU).pixels[0] / 255
    best = run_repair(doc, "upscale", method="upscale-learned", scale=3, ctx=CPU).pixels[0] / 255
    assert fast.shape == (72, 90, 3)
    net, _ = load_weights(weights_dir / "upscale-fast.safetensors")
    y = (0.299 * low[..., 0] + 0.587 * low[..., 1] + 0.114 * low[..., 2]) / 255
    with torch.no_grad():
        net_y = net(torch.from_numpy(y)[None, None], 3)[0, 0].numpy()
    fast_y = 0.299 * fast[..., 0] + 0.587 * fast[..., 1] + 0.114 * fast[..., 2]
    inside = (fast.min(axis=2) > 0.01) & (fast.max(axis=2) < 0.99)
    assert np.abs(fast_y - net_y)[inside].max() < 1e-4
    assert np.abs(fast - best).mean() > 1e-3  # the other file, the other answer


def test_inpaint_fast_fills_with_its_own_network_through_the_same_pipeline(
    weights_dir, datasets, tmp_path_factory, monkeypatch
):
    hparams = {"channels": 3, "width": 8, "depth": 2, "blocks": 1}
    save_net(weights_dir / "inpaint-fast.safetensors", "inpaint_ffc", **hparams)
    save_net(weights_dir / "inpaint.safetensors", "inpaint_ffc", seed=1, **hparams)
    image = photo(datasets, 96, 96)
    mask = random_mask(96, 96, "medium", seed=3)
    doc = ImageDoc(pixels=image[None], dtype="uint8", mode="RGB")
    fast = run_repair(doc, "inpaint", method="inpaint-fast", mask=mask, ctx=CPU).pixels[0]
    best = run_repair(doc, "inpaint", method="inpaint-learned", mask=mask, ctx=CPU).pixels[0]
    assert np.array_equal(fast[~mask], image[~mask]) and not np.array_equal(fast[mask], image[mask])
    assert np.abs(fast[mask] - best[mask]).mean() > 0.5  # the other file, the other fill
    # The same network under the learned method's name fills identically: one pipeline.
    other = tmp_path_factory.mktemp("same")
    (other / "inpaint.safetensors").write_bytes((weights_dir / "inpaint-fast.safetensors").read_bytes())
    monkeypatch.setattr(weights, "OVERRIDE", other)
    again = run_repair(doc, "inpaint", method="inpaint-learned", mask=mask, ctx=CPU).pixels[0]
    assert np.abs(again - fast).max() < 1e-3


def test_quality_comes_from_the_model_cards_not_from_descriptions(tmp_path, capsys):
    from core.methods import methods
    from core.methods.scores import quality_text, read_scores, scores_of, shared_bench, variants

    assert not [c.id for c in methods() if " dB" in c.description]  # no hand-written figures
    best, fast = variants(get_method("denoise-fast").card, methods("denoise"))
    assert (best.id, fast.id) == ("denoise-learned", "denoise-fast")
    bench = shared_bench([best, fast])
    assert bench == ("BSD68", "σ 25", "PSNR")  # the shipped cards' measurements that compare
    card_file = weights.locate("denoise-fast-gray.safetensors").with_suffix(".json")
    measured = json.loads(card_file.read_text())["scores"][0]["value"]  # what the card records
    assert quality_text(fast, bench) == f"PSNR {measured:.3f} dB on BSD68 σ 25"
    assert main(["models", "--task", "denoise", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["denoise-fast"]["scores"][0]["value"] == measured
    assert rows["denoise-fast"]["variant_of"] == "denoise-learned"
    assert rows["denoise-nlmeans"]["scores"] == [] and scores_of(get_method("denoise-nlmeans").card) == []
    # A card whose entries are not in the expected form gives no figures instead of wrong ones.
    (tmp_path / "x.json").write_text('{"scores": [{"set": "BSD68", "value": "high"}, {"metric": "PSNR"}]}')
    assert read_scores(tmp_path / "x.safetensors") == []


def test_every_shipped_fast_variant_compares_with_its_best_on_a_shared_bench():
    """The picker puts a fast model's score beside its best model's only when both cards measured the
    same set, condition and metric (a hole PSNR beside an image PSNR would mislead)."""
    from core.methods import methods
    from core.methods.scores import shared_bench, variants

    cards = methods()
    fast = [c for c in cards if c.variant_of and c.available]
    assert {c.id for c in fast} >= {"denoise-fast", "dejpeg-fast", "upscale-fast", "inpaint-fast"}
    for card in fast:
        assert shared_bench(variants(card, cards)) is not None, card.id


@pytest.mark.parametrize("blocks", [3, 16])
def test_an_upscaler_tile_overlap_covers_its_receptive_field(blocks):
    """A narrower overlap makes the fast upscaler's tiles cheaper; it must still hold every pixel that
    reaches an output pixel (one changed input pixel changes outputs only within it)."""
    torch.manual_seed(0)
    net = build_arch("sr_resnet", channels=1, features=8, blocks=blocks).eval()
    x = torch.rand(1, 1, 101, 101)
    bumped = x.clone()
    bumped[..., 50, 50] += 0.5
    with torch.no_grad():
        changed = (net(bumped, 2) - net(x, 2)).abs()[0, 0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    reach = max(int((rows - 101).abs().max()), int((cols - 101).abs().max())) // 2 + 1  # in input pixels
    assert reach <= net.needs.overlap
    assert net.needs.overlap == (40 if blocks == 16 else 14)

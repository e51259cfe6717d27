"""The inpainting networks (generator, discriminator, deep prior) and the training recipe, tiny, on CPU."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from core.archs import build_arch, load_weights

TINY = {"channels": 3, "width": 8, "depth": 2, "blocks": 1}


@pytest.mark.parametrize("size", [(37, 53), (64, 64)])
def test_generator_returns_an_image_of_the_input_size(size):
    net = build_arch("inpaint_ffc", **TINY).eval()
    image = torch.rand(2, 3, *size)
    mask = (torch.rand(2, 1, *size) > 0.7).float()
    with torch.no_grad():
        out = net(image, mask)
    assert out.shape == image.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_generator_sees_the_whole_image_in_one_block():
    """The Fourier blocks give an image-wide receptive field: a far corner influences the centre."""
    torch.manual_seed(0)
    net = build_arch("inpaint_ffc", **TINY).eval()
    image = torch.rand(1, 3, 96, 96, requires_grad=True)
    mask = torch.zeros(1, 1, 96, 96)
    mask[..., 32:64, 32:64] = 1.0
    net(image, mask)[0, :, 48, 48].sum().backward()
    assert image.grad[0, :, :8, :8].abs().sum() > 0


def test_hole_content_is_ignored():
    """Whatever was under the hole (the damage) cannot leak into the fill."""
    net = build_arch("inpaint_ffc", **TINY).eval()
    image = torch.rand(1, 3, 48, 48)
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., 10:30, 10:30] = 1.0
    other = image.clone()
    other[..., 10:30, 10:30] = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        assert torch.equal(net(image, mask), net(other, mask))


def test_discriminator_judges_patches_and_returns_features():
    net = build_arch("patch_discriminator", channels=3, width=8)
    logits, feats = net(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, 1, 8, 8)
    assert len(feats) == 4 and feats[0].shape[-1] == 32


def test_deep_prior_network_handles_odd_sizes():
    net = build_arch("dip_unet", channels=1, width=8, levels=3)
    out = net(torch.rand(1, 32, 29, 41))
    assert out.shape == (1, 1, 29, 41)


@pytest.fixture
def small_set(datasets, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for path in sorted((datasets / "images/train/color432").glob("*.jpg"))[:4]:
        shutil.copy(path, folder / path.name)
    return folder


def _args(small_set, tmp_path, *extra):
    from core.train.cli import build_parser
    from core.train.recipes import get_recipe

    recipe_cls = get_recipe("inpaint")
    argv = ["--data", str(small_set), "--out", str(tmp_path / "inpaint.safetensors"), "--device", "cpu"]
    argv += ["--width", "8", "--depth", "2", "--blocks", "1", "--batch", "2", "--crop", "64", *extra]
    return recipe_cls, build_parser(recipe_cls).parse_args(argv)


def test_recipe_steps_train_both_networks_and_resume(small_set, tmp_path):
    recipe_cls, args = _args(small_set, tmp_path, "--steps", "4", "--adv-start", "0", "--fm-weight", "1")
    recipe = recipe_cls(args, torch.device("cpu"))
    d_before = [p.detach().clone() for p in recipe.discriminator.parameters()]
    g_before = [p.detach().clone() for p in recipe.model.parameters()]
    clean = torch.rand(2, 3, 64, 64)
    gen = torch.Generator().manual_seed(0)
    losses = recipe.step(clean, gen, lambda: torch.autocast("cpu", enabled=False))
    assert {"d", "l1", "adv", "fm"} <= set(losses)
    assert all(np.isfinite(float(v)) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, recipe.discriminator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, recipe.model.parameters()))
    # The checkpoint state carries the discriminator too.
    other = recipe_cls(args, torch.device("cpu"))
    other.load_state(recipe.state())
    for a, b in zip(recipe.discriminator.state_dict().values(), other.discriminator.state_dict().values()):
        assert torch.equal(a, b)
    # Masks are drawn from the loop's generator: same seed, same batch.
    (_, m1), _ = recipe.make_batch(clean, torch.Generator().manual_seed(5))
    (_, m2), _ = recipe.make_batch(clean, torch.Generator().manual_seed(5))
    assert torch.equal(m1, m2) and 0 < float(m1.mean()) <= 0.5


def test_training_writes_weights_the_method_can_load(small_set, tmp_path):
    from core.train.loop import train

    recipe_cls, args = _args(small_set, tmp_path, "--steps", "2", "--val-count", "0", "--log-every", "1")
    out = train(recipe_cls, args, log=lambda line: None)
    model, info = load_weights(out)
    assert info["arch"] == "inpaint_ffc" and info["hparams"]["width"] == 8
    assert info["training"]["task"] == "inpaint"
    with torch.no_grad():
        y = model(torch.rand(1, 3, 40, 40), torch.ones(1, 1, 40, 40))
    assert y.shape == (1, 3, 40, 40)

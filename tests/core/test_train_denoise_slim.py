"""The slim denoiser: the shipped UNet with fewer residual blocks (UNetDenoiser.keeping) and its recipe
(`lacuna train denoise-slim`)."""

from __future__ import annotations

import shutil

import pytest
import torch

from core.archs import load_weights
from core.train.cli import main as train_main

SHIPPED = "resources/weights/denoise-gray.safetensors"


def test_keeping_every_block_is_the_same_network_and_fewer_blocks_start_close():
    full, _ = load_weights(SHIPPED)
    photo = torch.rand(1, 1, 48, 64)
    with torch.no_grad():
        assert torch.equal(full.keeping([3, 3, 3, 3])(photo, 0.1), full(photo, 0.1))
        slim = full.keeping([0, 1, 1, 1])
        assert sum(p.numel() for p in slim.parameters()) < 0.4 * sum(p.numel() for p in full.parameters())
        assert torch.equal(slim.head.weight, full.head.weight)
        assert torch.equal(slim.body[0].conv1.weight, full.body[0].conv1.weight)
    with pytest.raises(ValueError):
        full.keeping([4, 1, 1, 1])


def test_the_recipe_starts_from_the_shipped_network_and_records_its_task(datasets, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for path in sorted((datasets / "images" / "train" / "gray400").glob("*.png"))[:10]:
        shutil.copy(path, folder / path.name)
    out = tmp_path / "slim.safetensors"
    argv = ["denoise-slim", "--data", str(folder), "--out", str(out), "--channels", "1", "--init", SHIPPED]
    argv += ["--teacher", SHIPPED, "--widths", "32,64,128,256", "--blocks", "0,1,1,1", "--batch", "2"]
    argv += ["--crop", "32", "--device", "cpu", "--steps", "2", "--val-every", "2", "--val-count", "2"]
    assert train_main(argv) == 0
    model, info = load_weights(out)
    assert info["arch"] == "unet_denoiser" and info["hparams"]["blocks"] == [0, 1, 1, 1]
    assert info["training"]["task"] == "denoise" and info["training"]["teacher"] == SHIPPED
    assert model(torch.rand(1, 1, 24, 40), 0.1).shape == (1, 1, 24, 40)

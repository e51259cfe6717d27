"""The distilled "fast" recipes with the shipped networks as teachers: `lacuna train upscale-fast`,
`inpaint-fast` and `dejpeg-fast` run a few steps on real crops and export weights that load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from core.archs import load_weights
from core.train.cli import main as train_main

WEIGHTS = Path(__file__).resolve().parents[2] / "resources" / "weights"


@pytest.fixture()
def color_folder(datasets, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for path in sorted((datasets / "images" / "train" / "color432").glob("*.jpg"))[:10]:
        shutil.copy(path, folder / path.name)
    return folder


def _train(task: str, folder: Path, out: Path, teacher: str, *extra: str) -> str:
    argv = [task, "--data", str(folder), "--out", str(out), "--teacher", str(WEIGHTS / teacher)]
    argv += ["--teacher-every", "2", "--device", "cpu", "--steps", "3", "--val-every", "3"]
    argv += ["--val-count", "1"]
    assert train_main(argv + list(extra)) == 0
    return out


def _macs_per_output_pixel(model: torch.nn.Module, *inputs) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(*inputs)
    return counter.get_total_flops() / 2 / out[0, 0].numel()


def test_upscale_fast_learns_from_the_shipped_upscaler(color_folder, tmp_path, capsys):
    out = _train(
        "upscale-fast", color_folder, tmp_path / "upscale-fast.safetensors", "upscale.safetensors",
        "--batch", "2", "--crop", "64", "--lr-patch", "16",
    )  # fmt: skip
    assert "step 3/3" in capsys.readouterr().err
    student, info = load_weights(out)
    assert info["arch"] == "sr_resnet" and info["hparams"]["features"] == 48
    assert info["training"]["task"] == "upscale"
    assert info["training"]["teacher"].endswith("upscale.safetensors")
    teacher, _ = load_weights(WEIGHTS / "upscale.safetensors")
    low = torch.rand(1, 1, 32, 32)
    for scale in (2, 3, 4):
        assert student(low, scale).shape == (1, 1, 32 * scale, 32 * scale)
        ratio = _macs_per_output_pixel(teacher, low, scale) / _macs_per_output_pixel(student, low, scale)
        assert 6 <= ratio <= 9  # about a seventh of the teacher's work at every scale


def test_inpaint_fast_learns_from_the_shipped_inpainter(color_folder, tmp_path, capsys, monkeypatch):
    from core.train.recipes.inpaint_fast import FastInpaintRecipe

    seen: list[float] = []
    imitation = FastInpaintRecipe.imitation_loss
    monkeypatch.setattr(
        FastInpaintRecipe,
        "imitation_loss",
        lambda self, pred, taught: seen.append(1) or imitation(self, pred, taught),
    )
    out = _train(
        "inpaint-fast", color_folder, tmp_path / "inpaint-fast.safetensors", "inpaint.safetensors",
        "--batch", "2", "--crop", "64",
    )  # fmt: skip
    assert "step 3/3" in capsys.readouterr().err
    assert len(seen) == 1  # step 2 of 3: the teacher's term reaches the inpainting loss
    student, info = load_weights(out)
    assert info["arch"] == "inpaint_ffc"
    assert info["hparams"] == {"channels": 3, "width": 12, "depth": 3, "blocks": 2}
    assert info["training"]["task"] == "inpaint" and info["training"]["losses"]["adv_weight"] == 0.0
    teacher, _ = load_weights(WEIGHTS / "inpaint.safetensors")
    image, mask = torch.rand(1, 3, 128, 96), torch.zeros(1, 1, 128, 96)
    mask[..., 40:70, 30:60] = 1
    assert student(image, mask).shape == image.shape
    ratio = _macs_per_output_pixel(teacher, image, mask) / _macs_per_output_pixel(student, image, mask)
    assert 6 <= ratio <= 10


def test_dejpeg_fast_learns_from_the_shipped_jpeg_network(color_folder, tmp_path, capsys):
    out = _train(
        "dejpeg-fast", color_folder, tmp_path / "dejpeg-fast-gray.safetensors", "dejpeg-gray.safetensors",
        "--channels", "1", "--batch", "2", "--crop", "48",
    )  # fmt: skip
    assert "step 3/3" in capsys.readouterr().err
    student, info = load_weights(out)
    assert info["arch"] == "dejpeg_unet" and info["hparams"]["features"] == [16, 32, 64, 128]
    assert info["training"]["task"] == "dejpeg"
    assert info["training"]["teacher"].endswith("dejpeg-gray.safetensors")
    assert student(torch.rand(1, 1, 40, 56)).shape == (1, 1, 40, 56)
    teacher, _ = load_weights(WEIGHTS / "dejpeg-gray.safetensors")
    image = torch.rand(1, 1, 64, 64)
    assert 6 <= _macs_per_output_pixel(teacher, image) / _macs_per_output_pixel(student, image) <= 9

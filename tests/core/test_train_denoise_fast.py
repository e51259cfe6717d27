"""The fast denoiser (core/archs/fast_denoiser.py) and its recipe (`lacuna train denoise-fast`)."""

from __future__ import annotations

import argparse
import shutil

import pytest
import torch

from core.archs import build_arch, load_weights, save_weights
from core.train.cli import main as train_main
from core.train.recipes import get_recipe


def test_any_size_residual_and_scale_equivariant():
    net = build_arch("fast_denoiser", channels=1, width=8, layers=3).eval()
    noisy = torch.rand(2, 1, 21, 34)
    with torch.no_grad():
        out = net(noisy, 0.1)
        assert out.shape == noisy.shape
        # Bias-free and ReLU: scaling the input and the noise map scales the output.
        assert torch.allclose(net(3 * noisy, 0.3), 3 * out, atol=1e-5)
    assert net.needs.size_multiple == 2 and net.needs.overlap >= 6


@pytest.fixture()
def small_folder(datasets, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for path in sorted((datasets / "images" / "train" / "gray400").glob("*.png"))[:12]:
        shutil.copy(path, folder / path.name)
    return folder


def _count_teacher_calls(monkeypatch, task: str) -> list[int]:
    """A list that grows by one each time the task's recipe asks its teacher."""
    calls: list[int] = []
    recipe_cls = get_recipe(task)
    original = recipe_cls.__init__

    def spy_init(self, args, device):
        original(self, args, device)
        forward = self.teacher.forward
        self.teacher.forward = lambda *inputs: calls.append(1) or forward(*inputs)

    monkeypatch.setattr(recipe_cls, "__init__", spy_init)
    return calls


def test_distillation_asks_the_teacher(small_folder, tmp_path, capsys, monkeypatch):
    teacher_path = tmp_path / "teacher.safetensors"
    teacher = build_arch("unet_denoiser", channels=1, widths=[8, 16], blocks=1)
    save_weights(
        teacher, teacher_path, arch="unet_denoiser", hparams={"channels": 1, "widths": [8, 16], "blocks": 1}
    )
    calls = _count_teacher_calls(monkeypatch, "denoise-fast")
    out = tmp_path / "fast.safetensors"
    argv = ["denoise-fast", "--data", str(small_folder), "--out", str(out), "--channels", "1"]
    argv += ["--teacher", str(teacher_path), "--teacher-every", "2", "--width", "8", "--layers", "3"]
    argv += ["--batch", "2", "--crop", "32", "--device", "cpu", "--steps", "4", "--val-every", "4"]
    assert train_main(argv) == 0
    assert "step 4/4" in capsys.readouterr().err
    assert len(calls) == 2  # steps 2 and 4
    model, info = load_weights(out)
    assert info["arch"] == "fast_denoiser" and info["hparams"] == {"channels": 1, "width": 8, "layers": 3}
    assert info["training"]["teacher"] == str(teacher_path) and info["training"]["teacher_every"] == 2
    assert model(torch.rand(1, 1, 20, 20), 0.1).shape == (1, 1, 20, 20)


def test_dejpeg_fast_distils_the_jpeg_network(small_folder, tmp_path, capsys, monkeypatch):
    """The distillation of core.train.distill on another task: a small dejpeg network learns from
    the JPEG crops and from a teacher's answer on every second step."""
    hparams = {"channels": 1, "features": [8, 8], "blocks": 1}
    teacher_path = tmp_path / "teacher.safetensors"
    save_weights(build_arch("dejpeg_unet", **hparams), teacher_path, arch="dejpeg_unet", hparams=hparams)
    calls = _count_teacher_calls(monkeypatch, "dejpeg-fast")
    out = tmp_path / "dejpeg-fast.safetensors"
    argv = ["dejpeg-fast", "--data", str(small_folder), "--out", str(out), "--channels", "1"]
    argv += ["--teacher", str(teacher_path), "--teacher-every", "2", "--features", "8,16,16"]
    argv += ["--batch", "2", "--crop", "48", "--device", "cpu", "--steps", "4", "--val-every", "4"]
    assert train_main(argv) == 0
    assert "step 4/4" in capsys.readouterr().err
    assert len(calls) == 2  # steps 2 and 4, not in validation
    model, info = load_weights(out)
    assert info["arch"] == "dejpeg_unet" and info["hparams"]["features"] == [8, 16, 16]
    assert info["training"]["task"] == "dejpeg" and info["training"]["teacher_every"] == 2
    assert model(torch.rand(1, 1, 40, 40)).shape == (1, 1, 40, 40)
    # The fast defaults: about an eighth of the shipped network's work per pixel (counted in
    # tests/core/test_train_fast_recipes.py).
    parser = argparse.ArgumentParser()
    get_recipe("dejpeg-fast").add_arguments(parser)
    defaults = parser.parse_args([])
    assert defaults.features == "16,32,64,128" and defaults.blocks == 1


def test_a_trained_fast_denoiser_grows_deeper_computing_the_same_function(small_folder, tmp_path, capsys):
    """`--init` from a shallower fast denoiser of the same width: the identity layers spread between
    the trained ones leave its answer unchanged, so fine-tuning starts where the small one ended."""
    small = build_arch("fast_denoiser", channels=1, width=8, layers=4).eval()
    noisy = torch.rand(1, 1, 30, 30)
    deep = small.deepened(7).eval()
    with torch.no_grad():
        assert torch.equal(deep(noisy, 0.1), small(noisy, 0.1))
    assert sum(isinstance(m, torch.nn.Conv2d) for m in deep.body) == 7
    with pytest.raises(ValueError):
        small.deepened(3)

    start = tmp_path / "small.safetensors"
    save_weights(small, start, arch="fast_denoiser", hparams={"channels": 1, "width": 8, "layers": 4})
    out = tmp_path / "deep.safetensors"
    argv = ["denoise-fast", "--data", str(small_folder), "--out", str(out), "--channels", "1"]
    argv += ["--width", "8", "--layers", "7", "--init", str(start), "--batch", "2", "--crop", "32"]
    argv += ["--device", "cpu", "--steps", "2", "--val-every", "2"]
    assert train_main(argv) == 0
    assert load_weights(out)[1]["hparams"] == {"channels": 1, "width": 8, "layers": 7}
    # Another width cannot be grown into: refused with the reason.
    argv[argv.index("--width") + 1] = "16"
    with pytest.raises(Exception, match="same architecture options"):
        train_main(argv)

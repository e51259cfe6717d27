"""The denoising UNet, its training recipe, and the shared training loop (tiny networks, few steps)."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest
import torch

from core.archs import build_arch, load_weights
from core.train.cli import build_parser
from core.train.cli import main as train_main
from core.train.loop import schedule_factor, set_schedule
from core.train.recipes import get_recipe


def test_unet_any_size_and_residual():
    model = build_arch("unet_denoiser", channels=3, widths=[8, 16, 32], blocks=[1, 1, 2]).eval()
    for h, w in [(37, 53), (5, 3), (64, 64)]:
        x = torch.rand(2, 3, h, w)
        assert model(x, torch.tensor([0.1, 0.2])).shape == (2, 3, h, w)
        assert model(x, 0.1).shape == (2, 3, h, w)
        assert model(x, torch.full((2, 1, h, w), 0.1)).shape == (2, 3, h, w)
    torch.nn.init.zeros_(model.tail.weight)
    x = torch.rand(1, 3, 20, 30)
    assert torch.equal(model(x, 0.1), x)  # the network predicts a residual on top of its input


def test_unet_is_bias_free_hence_scale_equivariant():
    torch.manual_seed(0)
    model = build_arch("unet_denoiser", channels=1, widths=[8, 16], blocks=1).eval()
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(3 * x, 3 * 0.1), 3 * model(x, 0.1), atol=1e-5)


def _args(**over):
    recipe = get_recipe("denoise")
    args = build_parser(recipe).parse_args(["--data", "x", "--out", "y.safetensors", "--steps", "10"])
    args.widths, args.blocks = (8, 16), (1,)
    for key, value in over.items():
        setattr(args, key, value)
    return recipe, args


def test_recipe_noise_levels_and_map():
    recipe_cls, args = _args(map_jitter=0.0)
    recipe = recipe_cls(args, torch.device("cpu"))
    clean = torch.full((64, 1, 32, 32), 0.5)
    (noisy, shown), target = recipe.make_batch(clean, torch.Generator().manual_seed(0))
    assert torch.equal(target, clean) and shown.shape == (64, 1, 32, 32)
    sigma = shown[:, 0, 0, 0]
    measured = (noisy - clean).flatten(1).std(dim=1)
    assert torch.allclose(measured, sigma, atol=0.01)  # each sample's noise matches its map
    assert sigma.min() >= 0 and sigma.max() <= 55 / 255 and sigma.std() > 0.03  # uniform over the range
    assert noisy.min() < 0 or noisy.max() > 1  # unclipped, as in the protocol


def test_recipe_map_jitter_and_fixed_validation_sigma():
    recipe_cls, args = _args(map_jitter=1.0, jitter_range=0.15)
    recipe = recipe_cls(args, torch.device("cpu"))
    clean = torch.full((64, 1, 32, 32), 0.5)
    (noisy, shown), _ = recipe.make_batch(clean, torch.Generator().manual_seed(1))
    ratio = shown[:, 0, 0, 0] / (noisy - clean).flatten(1).std(dim=1).clamp(min=1e-3)
    keep = (noisy - clean).flatten(1).std(dim=1) > 5 / 255
    assert (ratio[keep] - 1).abs().max() < 0.25 and (ratio[keep] - 1).abs().max() > 0.03
    recipe._fixed_sigma = 25.0
    (noisy, shown), _ = recipe.make_batch(clean, torch.Generator().manual_seed(1))
    assert torch.allclose(shown, torch.full_like(shown, 25 / 255))


def test_schedule_warms_up_then_anneals():
    assert schedule_factor(0.0) == pytest.approx(0.01)
    assert schedule_factor(0.03) == pytest.approx(1.0)
    assert schedule_factor(0.5) < schedule_factor(0.2) < 1.0
    assert schedule_factor(1.0) == pytest.approx(0.01)
    recipe_cls, args = _args()
    recipe = recipe_cls(args, torch.device("cpu"))
    set_schedule(recipe, 1.0)
    assert recipe.optimizer.param_groups[0]["lr"] == pytest.approx(args.lr * 0.01)


@pytest.fixture()
def small_folder(datasets, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for path in sorted((datasets / "images" / "train" / "gray400").glob("*.png"))[:20]:
        shutil.copy(path, folder / path.name)
    return folder


def test_train_cli_writes_weights_and_resumes(small_folder, tmp_path, capsys):
    out = tmp_path / "denoise-gray.safetensors"
    common = ["denoise", "--data", str(small_folder), "--out", str(out), "--channels", "1", "--batch", "2"]
    common += ["--crop", "32", "--device", "cpu", "--widths", "8,16", "--blocks", "1", "--log-every", "2"]
    common += ["--val-every", "4", "--checkpoint-every", "2"]
    assert train_main([*common, "--steps", "4"]) == 0
    log = capsys.readouterr().err
    assert "step 4/4" in log and "validation PSNR" in log
    model, info = load_weights(out)
    assert info["arch"] == "unet_denoiser" and info["hparams"]["widths"] == [8, 16]
    assert info["training"]["steps"] == 4 and info["training"]["sigma_range"] == [0.0, 55.0]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["validation"][-1]["step"] == 4
    assert model(torch.rand(1, 1, 20, 20), 0.1).shape == (1, 1, 20, 20)

    assert train_main([*common, "--steps", "6", "--resume"]) == 0
    log = capsys.readouterr().err
    assert "resumed" in log and "at step 4" in log and "step 6/6" in log


def test_init_fine_tunes_from_a_weights_file(small_folder, tmp_path, capsys):
    base = tmp_path / "base.safetensors"
    common = ["denoise", "--data", str(small_folder), "--channels", "1", "--batch", "2", "--crop", "32"]
    common += ["--device", "cpu", "--widths", "8,16", "--blocks", "1", "--val-every", "1000"]
    assert train_main([*common, "--out", str(base), "--steps", "2"]) == 0
    tuned = tmp_path / "tuned.safetensors"
    # Zero steps: the fine-tuned file must hold exactly the starting weights.
    assert train_main([*common, "--out", str(tuned), "--steps", "0", "--init", str(base)]) == 0
    assert "starting from" in capsys.readouterr().err
    before, after = load_weights(base)[0].state_dict(), load_weights(tuned)[0].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # The record names what it started from, its learning rate and seed (a staged model's card).
    record = json.loads(tuned.with_suffix(".json").read_text())
    assert record["init"] == str(base) and record["seed"] == 0 and record["lr"] > 0

    wider = [a if a != "8,16" else "8,32" for a in common]
    with pytest.raises(Exception, match="same architecture"):
        train_main([*wider, "--out", str(tmp_path / "x.safetensors"), "--steps", "1", "--init", str(base)])


def test_time_limit_stops_and_saves(small_folder, tmp_path, capsys):
    out = tmp_path / "w.safetensors"
    argv = ["denoise", "--data", str(small_folder), "--out", str(out), "--channels", "1", "--batch", "2"]
    argv += ["--crop", "32", "--device", "cpu", "--widths", "8,16", "--blocks", "1"]
    argv += ["--steps", "100000", "--time-limit", "0.5"]
    assert train_main(argv) == 0
    assert "time limit reached" in capsys.readouterr().err
    _, info = load_weights(out)
    assert 0 < info["training"]["steps"] < 100000


def test_hyperparameters_from_arguments():
    recipe_cls, args = _args()
    args.widths, args.blocks = (8, 16, 32), (1, 2, 3)
    assert recipe_cls(args, torch.device("cpu")).hparams == {
        "channels": 3,
        "widths": [8, 16, 32],
        "blocks": [1, 2, 3],
    }
    assert isinstance(args, argparse.Namespace)


def test_missing_training_data_is_one_line_before_anything_is_read(tmp_path, capsys):
    """From a fresh clone without ../shared/datasets beside it the reproduce commands ended in a
    traceback; an empty folder too."""
    from core.cli import main

    out = str(tmp_path / "w.safetensors")
    gone = str(tmp_path / "no" / "such" / "folder")
    assert main(["train", "denoise", "--data", gone, "--out", out, "--device", "cpu"]) == 2
    assert capsys.readouterr().err == f"lacuna: {gone}: no such file or folder\n"
    for option in ("--init", "--val-data"):  # every path it would read is checked first
        args = ["train", "denoise", "--data", str(tmp_path), option, gone, "--out", out, "--device", "cpu"]
        assert main(args) == 2
        assert capsys.readouterr().err == f"lacuna: {gone}: no such file or folder\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "denoise", "--data", str(empty), "--out", out, "--device", "cpu"]) == 2
    assert capsys.readouterr().err.strip() == f"lacuna: no images found under {empty}"
    assert not (tmp_path / "w.safetensors").exists()

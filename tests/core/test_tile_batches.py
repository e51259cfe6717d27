"""Batches of tiles per network call (GPUs) and float16 for a network's forward pass on CUDA: checked
on the CPU, where the same code runs with the batch forced, against one tile per call."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from core.archs import load_weights
from core.documents import ImageDoc
from core.methods import weights
from core.repair import run_repair
from core.runtime import tiling
from core.runtime.context import RunContext, drive
from core.runtime.device import inference_precision
from core.runtime.tiling import plan_tiles, run_tiled, tile_corners

GPU = torch.device("meta")  # any device that is not the CPU plans like a GPU
UHD = (2160, 3840)  # a 4K frame


pytestmark = pytest.mark.usefixtures("one_thread")


def photo(datasets, height, width) -> np.ndarray:
    with Image.open(datasets / "images" / "bench" / "LIVE1" / "bikes.png") as im:
        return np.asarray(im.convert("RGB"), np.float32)[:height, :width] / 255.0


@pytest.mark.parametrize(("free_gib", "calls"), [(141, 1), (80, 2), (8, None)])
def test_a_4k_frame_goes_in_as_few_calls_as_the_memory_holds(monkeypatch, free_gib, calls):
    monkeypatch.setattr(tiling, "free_memory_bytes", lambda device: free_gib << 30)
    per_channel = 1024  # the learned denoiser's figure (3 kB per RGB pixel)
    tile, batch = plan_tiles(GPU, *UHD, 3, 32, per_channel)
    corners = tile_corners(*UHD, tile, 32)[0]
    needed = math.ceil(len(corners) / batch)
    if calls is not None:
        assert needed == calls
    else:
        assert needed > 2
    # A call never holds more than the budget (a quarter of the free memory), unless one tile alone does.
    assert batch == 1 or batch * tile * tile * 3 * per_channel <= (free_gib << 30) // 4
    assert plan_tiles(torch.device("cpu"), *UHD, 3, 32, per_channel)[1] == 1  # a CPU: one tile a call


def test_batched_tiles_run_in_fewer_calls_and_blend_the_same(datasets):
    image = photo(datasets, 300, 420)
    calls = []

    def fn(tiles):
        calls.append(tiles.shape[0])
        return torch.nn.functional.avg_pool2d(tiles, 5, stride=1, padding=2, count_include_pad=False)

    one = drive(run_tiled(fn, image, RunContext(device="cpu", tile=128, tile_batch=1), overlap=16))
    singles = list(calls)
    calls.clear()
    four = drive(run_tiled(fn, image, RunContext(device="cpu", tile=128, tile_batch=4), overlap=16))
    assert set(singles) == {1} and sum(calls) == len(singles) == len(tile_corners(300, 420, 128, 16)[0]) == 15
    assert calls == [4, 4, 4, 3]
    assert np.array_equal(one, four)


@pytest.mark.parametrize(
    ("task", "method", "params", "scale", "size"),
    [
        ("denoise", "denoise-fast", {"sigma": 25}, 1, (200, 264)),
        ("dejpeg", "dejpeg-learned", {}, 1, (200, 264)),
        ("upscale", "upscale-learned", {"scale": 2}, 2, (100, 132)),
    ],
)
def test_shipped_networks_give_the_same_pixels_batched(datasets, task, method, params, scale, size):
    """Tolerance: 1e-4 of the full range (a fortieth of an 8-bit level): a batch may make the CPU's
    convolution library pick another summation order."""
    if not all(weights.locate(name) for name in _weights_of(method)):
        pytest.skip(f"{method}: weights not installed")
    doc = ImageDoc(pixels=photo(datasets, *size)[None] * 255, dtype="uint8", mode="RGB")
    results = [
        run_repair(doc, task, method=method, ctx=RunContext(device="cpu", tile=64, tile_batch=b), **params)
        for b in (1, 5)
    ]
    assert results[0].pixels.shape == (1, size[0] * scale, size[1] * scale, 3)
    assert np.abs(results[0].pixels - results[1].pixels).max() <= 1e-4 * 255


def _weights_of(method_id: str) -> tuple[str, ...]:
    from core.methods import get_method

    return get_method(method_id).card.weights


def test_float16_for_the_forward_pass_on_cuda_only():
    assert inference_precision(torch.device("cuda"), "auto") == "float16"
    assert inference_precision(torch.device("cuda"), "bfloat16") == "bfloat16"  # asked for by name
    assert inference_precision(torch.device("cpu"), "auto") == "auto"


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("denoise-gray", lambda g, c, m: (g, torch.full_like(g, 25 / 255))),
        ("denoise-fast-gray", lambda g, c, m: (g, torch.full_like(g, 25 / 255))),
        ("dejpeg-color", lambda g, c, m: (c,)),
        ("upscale", lambda g, c, m: (g, 2)),
        ("inpaint", lambda g, c, m: (c, m)),
    ],
)
def test_shipped_networks_in_float16_stay_within_a_third_of_an_8_bit_level(datasets, name, inputs):
    """What CUDA's float16 autocast does, run by the CPU's float16 autocast on a real crop."""
    rgb = torch.from_numpy(photo(datasets, 96, 96).transpose(2, 0, 1).copy())[None]
    gray = rgb.mean(dim=1, keepdim=True)
    hole = torch.zeros_like(gray)
    hole[..., 30:60, 20:70] = 1.0
    net, _ = load_weights(weights.shipped_folder() / f"{name}.safetensors")
    args = inputs(gray, rgb, hole)
    with torch.no_grad():
        full = net(*args).float()
        with torch.autocast("cpu", dtype=torch.float16):
            half = net(*args).float()
    assert torch.isfinite(half).all()
    assert float((half - full).abs().max()) < 1 / (3 * 255)


def test_the_4k_speed_script_measures_every_variant(tmp_path):
    """scripts/speed_4k.py, which a lent GPU runs (scripts/gpu_jobs_4k.tsv), on a small frame here."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "speed_4k.py"
    spec = importlib.util.spec_from_file_location("speed_4k", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "rows.json"
    argv = ["--device", "cpu", "--method", "denoise-fast", "--size", "200x136", "--repeat", "1"]
    assert script.main([*argv, "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["precision"], r["tile_batch"]) for r in rows] == [
        ("float32", 1),
        ("float32", "auto"),
        ("auto", 1),
        ("auto", "auto"),
    ]
    assert all(r["output"] == "200x136" and r["seconds_per_frame"] > 0 for r in rows)
    assert rows[1]["max_diff_8bit"] <= 0.03  # batches change no pixel beyond float error

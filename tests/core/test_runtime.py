"""Runtime: tiling without seams, tile size from memory, out-of-memory retries, cancel, progress/ETA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.bench.metrics import psnr
from core.errors import CancelledError, MethodError
from core.runtime import tiling
from core.runtime.context import RunContext, drive
from core.runtime.device import autocast, pick_device, pick_dtype
from core.runtime.tiling import choose_tile, is_out_of_memory, run_tiled


def photo(datasets, name="bench/BSD68/test007.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("L"), np.float32)[..., None] / 255.0


@pytest.fixture(scope="module")
def denoiser(datasets):
    """A small UNet denoiser trained for a few seconds: a real, non-local network for seam tests."""
    from core.archs import build_arch

    torch.manual_seed(0)
    model = build_arch("unet_denoiser", channels=1, widths=[8, 16, 32], blocks=1)
    sources = sorted((datasets / "images" / "train" / "gray400").glob("*.png"))[:4]
    pics = [np.asarray(Image.open(p).convert("L"), np.float32) / 255 for p in sources]
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    rng = np.random.default_rng(0)
    for _ in range(25):
        crops = []
        for pic in pics:
            y, x = rng.integers(0, pic.shape[0] - 48, size=2)
            crops.append(pic[None, y : y + 48, x : x + 48])
        clean = torch.from_numpy(np.stack(crops))
        dirty = clean + torch.randn_like(clean) * 25 / 255
        loss = torch.nn.functional.l1_loss(model(dirty, 25 / 255), clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_tiled_matches_untiled_within_005_db(datasets, denoiser):
    clean = photo(datasets)
    rng = np.random.default_rng(0)
    noisy = (clean + rng.normal(0, 25 / 255, clean.shape)).astype(np.float32)

    def fn(t):
        return denoiser(t, 25 / 255)

    whole = drive(run_tiled(fn, noisy, RunContext(tile=1024), overlap=32))
    reports = []
    tiled = drive(run_tiled(fn, noisy, RunContext(tile=96), overlap=32), reports.append)
    assert len(reports) > 20  # 321×481 in 96-pixel tiles: really tiled
    gain = psnr(whole, clean, peak=1.0) - psnr(noisy, clean, peak=1.0)
    assert gain > 3.0  # the network does denoise
    assert abs(psnr(tiled, clean, peak=1.0) - psnr(whole, clean, peak=1.0)) < 0.05
    assert psnr(tiled, whole, peak=1.0) > 40.0  # and the two results are nearly the same image


def test_tiled_upscale_shape_and_blend_is_exact_for_pointwise_fn(datasets):
    image = photo(datasets)[:200, :300]
    out = drive(
        run_tiled(
            lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest") * 2,
            image,
            RunContext(tile=64),
            scale=2,
            overlap=8,
        )
    )
    assert out.shape == (400, 600, 1)
    expected = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1) * 2
    assert np.allclose(out, expected, atol=1e-5)


def test_tile_size_follows_memory(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(tiling, "free_memory_bytes", lambda device: 64 << 30)
    assert choose_tile(cpu, 3) == 640  # on a CPU, time per tile binds before memory
    assert choose_tile(torch.device("meta"), 3) > 1024  # a GPU takes what its memory allows
    monkeypatch.setattr(tiling, "free_memory_bytes", lambda device: 1 << 30)
    small = choose_tile(cpu, 3)
    assert 128 <= small < 1024 and small % 64 == 0
    assert choose_tile(cpu, 3, limit_mb=64) == 128
    assert choose_tile(cpu, 1, bytes_per_pixel_per_channel=512) > choose_tile(cpu, 1)


def test_out_of_memory_retries_with_smaller_tiles(datasets):
    image = photo(datasets)[:300, :300]
    sizes = []

    def fn(t):
        sizes.append(t.shape[-1])
        if t.shape[-1] > 128:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return t * 0.5

    reports = []
    out = drive(run_tiled(fn, image, RunContext(tile=512), overlap=16), reports.append)
    assert np.allclose(out, image * 0.5, atol=1e-6)
    assert sizes[0] == 300 and max(sizes[1:]) <= 256 and sizes[-1] <= 128
    assert any("retrying with" in r.message for r in reports)


def test_out_of_memory_falls_back_to_the_cpu(datasets):
    image = photo(datasets)[:160, :160]
    devices = []

    def fn(t):
        devices.append(t.device.type)
        if t.device.type != "cpu":
            raise torch.OutOfMemoryError("out of memory")
        return t + 1.0

    reports = []
    # "meta" stands in for a GPU: tensors move there, and every call on it runs out of memory.
    out = drive(run_tiled(fn, image, RunContext(tile=256), device=torch.device("meta")), reports.append)
    assert np.allclose(out, image + 1.0)
    assert devices[0] == "meta" and devices[-1] == "cpu"
    assert any("on the CPU" in r.message for r in reports)


def test_cpu_allocator_failure_is_retried_then_reported(datasets):
    image = photo(datasets)[:256, :256]
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))

    def fn(t):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB")

    with pytest.raises(MethodError, match="not enough memory"):
        drive(run_tiled(fn, image, RunContext(tile=256)))

    def broken(t):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):  # a real bug is not swallowed
        drive(run_tiled(broken, image, RunContext(tile=256)))


def test_cancel_event_stops_between_tiles(datasets):
    image = photo(datasets)
    ctx = RunContext(tile=96)
    calls = []

    def fn(t):
        calls.append(1)
        if len(calls) == 3:
            ctx.cancel_event.set()
        return t

    with pytest.raises(CancelledError):
        drive(run_tiled(fn, image, ctx, overlap=16))
    assert len(calls) == 3


def test_cancel_inside_a_network_stops_within_a_layer():
    ctx = RunContext()
    ran = []

    class Layer(torch.nn.Module):
        def __init__(self, index):
            super().__init__()
            self.index = index

        def forward(self, x):
            ran.append(self.index)
            if self.index == 2:
                ctx.cancel_event.set()  # as the stop button would, from another thread
            return x

    model = torch.nn.Sequential(*[Layer(i) for i in range(6)])
    with pytest.raises(CancelledError), ctx.cancel_inside(model):
        model(torch.zeros(1))
    assert ran == [0, 1, 2]
    ctx.cancel_event.clear()
    model(torch.zeros(1))  # the hooks are gone after the block
    assert ran[-1] == 5


def test_closing_the_generator_stops_work(datasets):
    image = photo(datasets)
    calls = []
    gen = run_tiled(lambda t: calls.append(1) or t, image, RunContext(tile=96), overlap=16)
    next(gen)
    next(gen)
    gen.close()
    assert len(calls) == 2


def test_progress_fractions_rise_and_eta_appears(datasets):
    reports = []
    drive(run_tiled(lambda t: t, photo(datasets), RunContext(tile=96), overlap=16), reports.append)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert all(r.eta is not None for r in reports[len(reports) // 2 :])
    assert "tile" in reports[0].message


def test_sub_context_spans_and_shared_cancel():
    ctx = RunContext()
    sub = ctx.sub(0.5, 1.0).sub(0.0, 0.5)
    assert sub.progress(1.0).fraction == pytest.approx(0.75)
    assert sub.progress(0.0).fraction == pytest.approx(0.5)
    ctx.cancel_event.set()
    with pytest.raises(CancelledError):
        sub.progress(0.1)


def test_device_and_precision_choice():
    cpu = pick_device("cpu")
    assert cpu.type == "cpu" and pick_dtype(cpu) == torch.float32
    assert pick_dtype(torch.device("cuda"), "float16") == torch.float16
    with autocast(cpu, "auto"):
        assert torch.ones(2).dtype == torch.float32
    if not torch.cuda.is_available():
        with pytest.raises(MethodError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(MethodError):
        pick_device("tpu9")

"""The backend seam (core.runtime.backends): torch and ONNX Runtime give the same pixels.

Stated tolerance: the float32 ONNX path differs from the float32 torch path by at most 1e-4 of the
[0, 1] range (0.03 of an 8-bit grey level) on every pixel, for each learned image method on a real
shared image; measured differences are about 1e-6 (float summation order). The int8 path is held to
a PSNR tolerance instead (it is an approximation by design).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import MethodError
from core.methods import get_method, load_all
from core.runtime import backends
from core.runtime.context import RunContext, drive

TOLERANCE = 1e-4


@pytest.fixture(autouse=True)
def _automatic_backend(monkeypatch):
    monkeypatch.delenv("LACUNA_BACKEND", raising=False)  # conftest pins torch for the other tests


def _read(path, mode: str) -> np.ndarray:
    with Image.open(path) as im:
        pixels = np.asarray(im.convert(mode), np.float32) / 255.0
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _run(method_id: str, image, mask, backend: str, **params) -> tuple[np.ndarray, RunContext]:
    load_all()
    ctx = RunContext(device="cpu", backend=backend)
    return drive(get_method(method_id).run(image, mask, ctx, **params)), ctx


def _cases(datasets):
    """(method, image, mask, params) for each learned image method, on crops of shared bench images
    with sizes that are not multiples of the networks' size multiples (the runner pads)."""
    bench = datasets / "images" / "bench"
    gray = _read(bench / "BSD68" / "test003.png", "L")[:150, :203]
    rng = np.random.default_rng(0)
    noisy = (gray + rng.normal(0, 25 / 255, gray.shape)).astype(np.float32)
    color = _read(bench / "CBSD68" / sorted(p.name for p in (bench / "CBSD68").iterdir())[2], "RGB")
    color = color[:170, :190]
    hole = np.zeros(color.shape[:2], bool)
    hole[60:100, 70:120] = True
    jpeg = _read(bench / "classic5" / sorted(p.name for p in (bench / "classic5").iterdir())[0], "L")
    from core.methods.dejpeg import jpeg_roundtrip

    blocky = jpeg_roundtrip(np.round(jpeg[:140, :180, 0] * 255).astype(np.uint8), 20)[..., None] / 255.0
    return {
        "denoise gray": ("denoise-learned", noisy, None, {"sigma": 25}),
        "denoise color": ("denoise-learned", color, None, {"sigma": 15}),
        "dejpeg": ("dejpeg-learned", blocky.astype(np.float32), None, {}),
        "upscale x2": ("upscale-learned", color[:90, :110], None, {"scale": 2}),
        "inpaint": ("inpaint-learned", color, hole, {}),
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", ["denoise gray", "denoise color", "dejpeg", "upscale x2", "inpaint"])
def test_torch_and_onnx_give_the_same_pixels(case, datasets):
    pytest.importorskip("onnxruntime")
    method_id, image, mask, params = _cases(datasets)[case]
    in_torch, torch_ctx = _run(method_id, image, mask, "torch", **params)
    in_onnx, onnx_ctx = _run(method_id, image, mask, "onnx", **params)
    assert torch_ctx.extras["backend"].startswith("torch")
    assert onnx_ctx.extras["backend"].startswith("onnx (ONNX Runtime"), onnx_ctx.notes
    assert in_onnx.shape == in_torch.shape
    assert np.abs(in_onnx - in_torch).max() <= TOLERANCE


@pytest.mark.slow
def test_int8_denoiser_stays_within_a_tenth_of_a_db(datasets):
    pytest.importorskip("onnxruntime")
    _method, noisy, _mask, params = _cases(datasets)["denoise gray"]
    clean = _read(datasets / "images" / "bench" / "BSD68" / "test003.png", "L")[:150, :203]
    in_torch, _ = _run("denoise-learned", noisy, None, "torch", **params)
    in_int8, ctx = _run("denoise-learned", noisy, None, "onnx-int8", **params)
    assert ctx.extras["backend"].startswith("onnx-int8"), ctx.notes

    def psnr(x):
        return 10 * np.log10(1.0 / np.mean((np.clip(x, 0, 1) - clean) ** 2))

    assert not np.array_equal(in_int8, in_torch)  # it really is another engine
    assert abs(psnr(in_int8) - psnr(in_torch)) < 0.1


def test_the_export_is_cached_by_the_weights_hash(datasets):
    pytest.importorskip("onnxruntime")
    from core.methods import weights
    from core.runtime.onnx_export import export, graph_path, weights_hash

    call = backends.NetworkCall(weights.require("dejpeg-gray.safetensors"))
    path = export(call)
    assert weights_hash(call.weights) in path.name and path == graph_path(call)
    stamp = path.stat().st_mtime_ns
    assert export(call) == path and path.stat().st_mtime_ns == stamp  # not exported again


def _cpu_bfloat16(monkeypatch, kind):
    from core.runtime import device

    monkeypatch.setattr(device, "cpu_bfloat16", lambda: kind)


def test_auto_prefers_onnx_on_a_cpu_and_torch_on_a_gpu(monkeypatch):
    monkeypatch.setattr(backends, "onnx_available", lambda: True)
    _cpu_bfloat16(monkeypatch, None)
    assert backends.choose_backend("auto", "cpu") == "onnx"
    assert backends.choose_backend("auto", "cuda") == "torch"
    assert backends.choose_backend("onnx-int8", "cpu") == "onnx-int8"
    with pytest.raises(MethodError, match="unknown backend"):
        backends.choose_backend("tensorrt", "cpu")


def test_auto_prefers_bfloat16_where_the_cpu_has_matrix_tiles(monkeypatch):
    monkeypatch.setattr(backends, "onnx_available", lambda: True)
    _cpu_bfloat16(monkeypatch, "AMX")
    assert backends.choose_backend("auto", "cpu") == "torch-bf16"
    assert backends.choose_backend("auto", "cpu", precision="float32") == "onnx"  # asked for float32
    assert "torch-bf16" in backends.available_backends()
    _cpu_bfloat16(monkeypatch, "AVX-512 BF16")  # dot products only: not measured faster, not automatic
    assert backends.choose_backend("auto", "cpu") == "onnx"
    assert backends.choose_backend("torch-bf16", "cpu") == "torch-bf16"
    _cpu_bfloat16(monkeypatch, None)
    assert "torch-bf16" not in backends.available_backends()
    with pytest.raises(MethodError, match="bfloat16 instructions"):
        backends.choose_backend("torch-bf16", "cpu")


def test_bfloat16_on_a_cpu_only_where_it_is_native(monkeypatch):
    import torch

    from core.runtime.device import pick_dtype

    cpu = torch.device("cpu")
    _cpu_bfloat16(monkeypatch, None)
    assert pick_dtype(cpu, "bfloat16") == torch.float32  # emulated would be slower than float32
    _cpu_bfloat16(monkeypatch, "AMX")
    assert pick_dtype(cpu, "bfloat16") == torch.bfloat16
    assert pick_dtype(cpu, "auto") == torch.float32 and pick_dtype(cpu, "float16") == torch.float32


@pytest.mark.slow
@pytest.mark.parametrize("case", ["denoise gray", "dejpeg", "upscale x2", "inpaint"])
def test_bfloat16_output_stays_close_to_float32(case, datasets):
    from core.runtime.device import cpu_bfloat16

    if not cpu_bfloat16():
        pytest.skip("this CPU has no native bfloat16")
    method_id, image, mask, params = _cases(datasets)[case]
    in_torch, _ = _run(method_id, image, mask, "torch", **params)
    in_bf16, ctx = _run(method_id, image, mask, "torch-bf16", **params)
    assert ctx.extras["backend"].startswith("torch-bf16 (torch"), ctx.notes
    assert not np.array_equal(in_bf16, in_torch)  # it really ran in another precision
    assert in_bf16.shape == in_torch.shape
    # The difference to float32 as a PSNR (the float32 result as reference): above 40 dB is far
    # below what the bench sees change (under 0.05 dB of PSNR against the clean image).
    error = np.mean((in_bf16 - in_torch) ** 2)
    assert 10 * np.log10(1.0 / error) > 40


def test_without_onnxruntime_only_the_speed_changes(monkeypatch, datasets):
    monkeypatch.setattr(backends, "onnx_available", lambda: False)
    _cpu_bfloat16(monkeypatch, None)
    assert backends.choose_backend("auto", "cpu") == "torch"
    with pytest.raises(MethodError, match=r"\[fast\]"):
        backends.choose_backend("onnx", "cpu")
    method_id, image, mask, params = _cases(datasets)["dejpeg"]
    out, ctx = _run(method_id, image, mask, "auto", **params)
    assert ctx.extras["backend"].startswith("torch")
    assert out.shape == image.shape and np.abs(out - image).max() > 0.01


def test_a_failed_export_falls_back_to_torch_with_a_note(monkeypatch, datasets):
    pytest.importorskip("onnxruntime")
    from core.runtime import onnx_export

    def broken(call, quantized, threads, small):
        raise RuntimeError("\x1b[96mno exporter\x1b[0m for this op\nmore detail")

    monkeypatch.setattr(onnx_export, "onnx_network", broken)
    monkeypatch.setattr(backends, "_FAILED", {})
    method_id, image, mask, params = _cases(datasets)["dejpeg"]
    out, ctx = _run(method_id, image, mask, "onnx", **params)
    expected, _ = _run(method_id, image, mask, "torch", **params)
    assert np.array_equal(out, expected)
    assert ctx.extras["backend"].startswith("torch")
    note = "the onnx backend could not run this network (no exporter for this op); torch ran it"
    assert ctx.notes == [note]


@pytest.mark.slow
def test_bench_reports_speed_and_psnr_difference_per_backend(datasets, capsys):
    pytest.importorskip("onnxruntime")
    import json

    from core.bench import dejpeg as bench

    argv = ["--set", str(datasets / "images/bench/classic5"), "--quality", "20", "--limit", "1"]
    argv += ["--method", "dejpeg-learned", "dejpeg-reapply", "--backend", "torch", "onnx", "--json"]
    assert bench.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    for label in ("dejpeg-learned@torch", "dejpeg-learned@onnx", "dejpeg-reapply"):
        assert summary[f"{label} s/MP"] > 0
    assert abs(summary["dejpeg-learned@onnx PSNR - torch float32"]) < 0.01
    assert summary["dejpeg-learned@onnx PSNR"] > summary["JPEG PSNR"] + 0.5
    assert summary["backend onnx"].startswith("onnx (ONNX Runtime")


def test_the_record_names_the_engine_that_ran_the_network(datasets, tmp_path):
    """bfloat16 and int8 give slightly other pixels than float32: the result's record says which ran,
    in the sidecar and read back from it."""
    from core import io
    from core.io.provenance import recorded_steps
    from core.repair import run_repair

    source = tmp_path / "test003.png"
    source.write_bytes((datasets / "images" / "bench" / "BSD68" / "test003.png").read_bytes())
    doc = io.read(source)
    out = run_repair(doc, "dejpeg", method="dejpeg-learned", ctx=RunContext(device="cpu", backend="torch"))
    assert out.provenance[-1].engine.startswith("torch (torch ") and "float32" in out.provenance[-1].engine
    written = io.write(out, tmp_path / "repaired.bmp")  # BMP: the record lives in the sidecar
    steps = recorded_steps(io.read(written), written)
    assert steps[-1].engine == out.provenance[-1].engine
    classical = run_repair(doc, "dejpeg", method="dejpeg-reapply")
    assert classical.provenance[-1].engine == ""  # no network ran


def test_a_network_onnx_cannot_take_runs_on_torch_without_trying(monkeypatch, tmp_path):
    """The learned interpolator (inputs of several shapes and a scalar time) is marked not exportable:
    "auto" runs it on torch silently instead of failing an export first; asked for onnx, it says so."""
    from core.archs import build_arch, save_weights
    from core.runtime import onnx_export

    monkeypatch.setattr(backends, "onnx_available", lambda: True)
    _cpu_bfloat16(monkeypatch, None)
    monkeypatch.setattr(onnx_export, "onnx_network", lambda *a, **k: pytest.fail("export was tried"))
    path = tmp_path / "interp.safetensors"
    hparams = {"width": 8, "fusion": 8}
    save_weights(build_arch("flow_refine_interp", **hparams), path, "flow_refine_interp", hparams)
    call = backends.NetworkCall(path, inputs=("frame0",), exportable=False)
    said = "the onnx backend cannot take this network; torch ran it"
    for requested, notes in (("auto", []), ("onnx", [said])):
        ctx = RunContext(device="cpu", backend=requested)
        backends.network(call, ctx)
        assert ctx.extras["backend"].startswith("torch") and ctx.notes == notes

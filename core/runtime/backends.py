"""THE seam between a learned method and the engine that runs its network: torch or ONNX Runtime.

A method states once how it calls its network (`NetworkCall`: the weights file, the names of the tensor
inputs, a fixed argument baked in) and gets back a function of tensors, the same whichever backend runs:

    net = network(NetworkCall(path, inputs=("noisy", "sigma")), ctx)
    clean = net(noisy_tile, sigma_map)

Backends:
- "torch": the module itself in float32 on the CPU (the precision policy's autocast on GPUs), NHWC
  layout where the network says it helps, torch's thread count from the machine.
- "torch-bf16": the same with bfloat16 autocast (inputs and outputs float32), where the CPU computes
  bfloat16 natively (core.runtime.device.cpu_bfloat16); on a GPU, torch in bfloat16.
- "onnx": the module exported to ONNX on first use (core.runtime.onnx_export, cached by the weights'
  hash in the user cache folder), run by ONNX Runtime on the CPU; the same pixels within float error.
- "onnx-int8": that graph with int8 weights and activations (static QDQ quantization calibrated on
  images bundled with scikit-image): faster where the CPU has int8 dot products, slightly less exact.

"auto" on the CPU is "torch-bf16" where the CPU has AMX matrix tiles (3-4× faster than float32 there,
within 0.05 dB: docs/benchmarks.md), else "onnx" when onnxruntime is installed (the optional extra
`[fast]`), else "torch"; on a GPU always "torch"; the environment variable LACUNA_BACKEND replaces
"auto" with a standing choice. Without onnxruntime only the speed changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import MethodError

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")
CHOICES = ("auto", *BACKENDS)


@dataclass(frozen=True)
class NetworkCall:
    """How a method calls its network, in tensors only: what the ONNX path exports and runs."""

    weights: Path  # the safetensors file; its hash names the exported graphs
    inputs: tuple[str, ...] = ("image",)  # (1, C, H, W) tensors, all of the image's height and width
    # A fixed non-tensor argument baked into the graph (the upscale factor): name -> value.
    fixed: tuple[tuple[str, int], ...] = ()
    scale: int = 1  # output height and width over the input's
    # For int8 calibration: a clean (H, W, 3) image in [0, 1] -> the inputs the method would give the
    # network for it (noise added, JPEG applied, ...): a list of float32 (1, C, H, W) array tuples in
    # `inputs` order, one tuple per setting worth covering (several noise levels, say).
    calibrate: Callable[[np.ndarray], list[tuple[np.ndarray, ...]]] | None = field(
        default=None, compare=False
    )
    # False for a network the ONNX path cannot export (inputs of several shapes, a scalar time):
    # torch runs it, without trying (and failing) an export on every first run.
    exportable: bool = True


def machine_threads() -> int:
    """Threads for inference: OMP_NUM_THREADS when set (a person or a batch worker chose), else the
    cores this process may run on."""
    chosen = os.environ.get("OMP_NUM_THREADS", "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def onnx_available() -> bool:
    """Whether the ONNX path can run here: ONNX Runtime, and torch's exporter with its libraries."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


def unavailable_reason(backend: str) -> str | None:
    """Why `backend` cannot run on this machine's CPU (what it needs), or None when it can."""
    from core.runtime.device import cpu_bfloat16

    if backend == "torch-bf16" and not cpu_bfloat16():
        return "needs a CPU with bfloat16 instructions (AMX or AVX-512 BF16)"
    if not backend.startswith("torch") and not onnx_available():
        return "needs ONNX Runtime: pip install 'lacuna-studio[fast]'"
    return None


def available_backends() -> list[str]:
    return [name for name in BACKENDS if unavailable_reason(name) is None]


def choose_backend(requested: str = "auto", device_type: str = "cpu", precision: str = "auto") -> str:
    """The backend to run: `requested` when it can run here (a clear error when not), else by "auto"
    (which honours a precision asked for: float32 never gets bfloat16)."""
    from core.runtime.device import cpu_bfloat16

    requested = (requested or "auto").lower()
    if requested == "auto":  # a standing choice for every run (a test suite, a batch server)
        requested = os.environ.get("LACUNA_BACKEND", "auto").strip().lower() or "auto"
    if requested not in CHOICES:
        raise MethodError(f"unknown backend {requested!r}; use one of {', '.join(CHOICES)}")
    on_cpu = device_type == "cpu"
    if requested == "auto":
        if not on_cpu:
            return "torch"
        if cpu_bfloat16() == "AMX" and precision in ("auto", "bfloat16"):
            return "torch-bf16"
        return "onnx" if onnx_available() else "torch"
    why = unavailable_reason(requested) if on_cpu or not requested.startswith("torch") else None
    if why and requested == "torch-bf16":
        raise MethodError(f"backend 'torch-bf16' {why}; this one has neither: use --backend torch or onnx")
    if why:
        raise MethodError(f"backend {requested!r} {why} (or use --backend torch)")
    return requested


def describe_backend(backend: str) -> str:
    """The backend in words for the CLI, `lacuna models` and the app."""
    threads = machine_threads()
    if backend.startswith("torch"):
        import torch

        from core.runtime.device import cpu_bfloat16

        kind = f"bfloat16 ({cpu_bfloat16() or 'GPU'})" if backend == "torch-bf16" else "float32"
        return f"torch {torch.__version__.split('+')[0]} {kind}, {threads} threads"
    import onnxruntime

    kind = "int8" if backend == "onnx-int8" else "float32"
    return f"ONNX Runtime {onnxruntime.__version__} {kind} on the CPU, {threads} threads"


TensorFn = Callable[..., "object"]


def network(call: NetworkCall, ctx) -> TensorFn:
    """A function of the call's input tensors returning the network's output tensor, run by the
    backend `ctx.backend` resolves to; records the backend in `ctx.extras["backend"]`."""
    device = ctx.torch_device()
    requested = getattr(ctx, "backend", "auto")
    backend = choose_backend(requested, device.type, ctx.precision)
    if not backend.startswith("torch") and not call.exportable:
        if (requested or "auto").lower() != "auto":
            ctx.note(f"the {backend} backend cannot take this network; torch ran it")
        backend = "torch"
    ctx.extras["backend"] = f"{backend} ({describe_backend(backend)})"
    in_torch = _torch_network(call, ctx, "bfloat16" if backend == "torch-bf16" else ctx.precision)
    failed = _FAILED.get((call, backend))
    if not backend.startswith("torch") and failed is None:
        try:
            from core.runtime.onnx_export import onnx_network

            return onnx_network(call, backend == "onnx-int8", machine_threads(), small=in_torch)
        except Exception as exc:  # noqa: BLE001 - an export failure costs speed, never the result
            failed = _FAILED[(call, backend)] = _first_line(exc)
    if failed is not None:
        ctx.note(f"the {backend} backend could not run this network ({failed}); torch ran it")
        ctx.extras["backend"] = f"torch ({describe_backend('torch')})"
    return in_torch


def plane_by_plane(net: TensorFn) -> TensorFn:
    """A gray network run on each channel of its first input in turn (a color image through a gray
    network); the other inputs (a noise map) go with every channel."""
    import torch

    def run(x, *rest):
        return torch.cat([net(x[:, c : c + 1], *rest) for c in range(x.shape[1])], dim=1)

    return run


# Calls whose export or quantization failed in this process, and why: tried once, not on every run.
_FAILED: dict[tuple[NetworkCall, str], str] = {}


def _first_line(exc: BaseException) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # the exporter colours its messages
    return text.splitlines()[0][:120] if text else type(exc).__name__


def _torch_network(call: NetworkCall, ctx, precision: str) -> TensorFn:
    import torch

    from core.archs import cached_weights
    from core.archs.needs import needs_of
    from core.runtime.device import autocast, inference_precision

    fixed = dict(call.fixed)
    _set_torch_threads()

    def run(*tensors):
        device = tensors[0].device  # after an out-of-memory fall-back to the CPU: CPU tensors
        model, _info = cached_weights(call.weights, device)
        needs = needs_of(model)
        if needs.channels_last and device.type in ("cpu", "cuda"):
            model.to(memory_format=torch.channels_last)  # once per cached network (idempotent)
            tensors = tuple(t.contiguous(memory_format=torch.channels_last) for t in tensors)
        with autocast(device, inference_precision(device, precision), needs), ctx.cancel_inside(model):
            return model(*tensors, *fixed.values()).float()

    return run


_THREADS_SET: list[int] = []


def _set_torch_threads() -> None:
    """torch's intra-op threads from the machine, once (torch may have read a smaller default)."""
    if not _THREADS_SET:
        import torch

        torch.set_num_threads(machine_threads())
        _THREADS_SET.append(torch.get_num_threads())


def calibration_images() -> list[np.ndarray]:
    """Natural images for int8 calibration that ship inside scikit-image (never downloaded): a
    128-pixel crop of each, float32 (H, W, 3) in [0, 1]."""
    from skimage import data

    crops = []
    for name in ("camera", "astronaut", "coffee", "chelsea", "brick", "gravel", "moon", "rocket"):
        image = np.asarray(getattr(data, name)(), np.float32) / 255.0
        image = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
        top, left = (image.shape[0] - 128) // 2, (image.shape[1] - 128) // 2
        crops.append(np.ascontiguousarray(image[top : top + 128, left : left + 128]))
    return crops

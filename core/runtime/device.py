"""Device choice and THE mixed-precision policy. Imported only when a method runs (it imports torch).

Precision: with "auto", float32 on the CPU, bfloat16 on CUDA GPUs that have it, else float16 (for a
network's forward pass alone, `inference_precision`: float16 on every CUDA GPU), and float32 on Apple's
MPS; a precision asked for by name is used where the device can (bfloat16 on a CPU with bfloat16
instructions: AMX tiles or AVX-512 BF16; float16 never on a CPU). A network that states it is not
correct in half precision (`NetworkNeeds.half`) always runs in float32. Inputs and outputs stay
float32: only the network's inner work runs in half precision (autocast). Inference, the zero-shot
fits and training all take their precision from `autocast` here.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from core.errors import MethodError


def pick_device(name: str = "auto") -> torch.device:
    """auto prefers CUDA, then Apple's MPS, then the CPU."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MethodError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise MethodError("device 'mps' was asked for but Apple's Metal backend is not available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise MethodError(f"unknown device {name!r}; use auto, cpu, cuda or mps") from exc


@functools.lru_cache(maxsize=8)
def explain_device(name: str = "auto") -> tuple[torch.device, str]:
    """The device `pick_device(name)` gives and why, in words a person can act on."""
    device = pick_device(name)
    if device.type == "cuda":
        return device, f"CUDA GPU {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return device, "Apple GPU (Metal)"
    if (name or "auto").lower() != "auto":
        return device, "asked for"
    return device, f"{_why_no_cuda()}; the CPU is used"


def _why_no_cuda() -> str:
    if torch.version.cuda is None:
        return "CUDA not available: this torch is a CPU-only build"
    try:
        torch.cuda.init()  # raises with the driver's own reason (too old, not loaded)
    except Exception as exc:  # noqa: BLE001 - any failure here is the reason we report
        return f"CUDA not available: {str(exc).strip().splitlines()[0][:160]}"
    return "CUDA not available: no NVIDIA GPU found"


def pick_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Half precision on GPUs that support it; on the CPU float32 unless bfloat16 is asked for and
    the CPU computes it natively (emulated bfloat16 would be slower than float32)."""
    if precision == "float32":
        return torch.float32
    if device.type == "cpu":
        return torch.bfloat16 if precision == "bfloat16" and cpu_bfloat16() else torch.float32
    if precision == "float16":
        return torch.float16
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def inference_precision(device: torch.device, precision: str = "auto") -> str:
    """The precision of a network's forward pass alone: "auto" on a CUDA GPU is float16 there, which
    keeps three more mantissa bits than bfloat16 at the same tensor-core speed, so the pixels stay
    closer to float32's (the networks tested on the CPU stay within a third of an 8-bit level; the
    ×4 upscaler measured 0.36 of a level).
    Training and the zero-shot fits keep `pick_dtype`'s bfloat16: float16 gradients would underflow."""
    if precision == "auto" and device.type == "cuda":
        return "float16"
    return precision


@functools.lru_cache(maxsize=1)
def cpu_bfloat16() -> str | None:
    """How this CPU computes bfloat16 natively: "AMX" (matrix tiles: convolutions 3-4× faster than
    float32, measured on a Xeon with AMX), "AVX-512 BF16" (dot products), or None (emulated)."""
    probes = (("AMX", "_is_amx_tile_supported"), ("AVX-512 BF16", "_is_avx512_bf16_supported"))
    for name, probe in probes:
        check = getattr(torch.cpu, probe, None)  # private in torch 2.x; absent means unknown
        try:
            if check is not None and check():
                return name
        except Exception:  # noqa: BLE001 - a failed probe means "not known to be there"
            continue
    return None


def free_memory_bytes(device: torch.device) -> int:
    """Free memory on the device; on the CPU, available system memory."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    from core.io.limits import available_memory_bytes

    return available_memory_bytes()


def autocast(device: torch.device, precision: str = "auto", needs=None) -> contextlib.AbstractContextManager:
    """Mixed precision on `device` by the policy above (a no-op where it says float32). `needs`: the
    network's `NetworkNeeds` (core.archs.needs), whose `half` can veto half precision."""
    dtype = pick_dtype(device, precision)
    if dtype == torch.float32 or (needs is not None and not needs.half):
        return contextlib.nullcontext()
    try:
        return torch.autocast(device.type, dtype=dtype)
    except RuntimeError:  # a backend without autocast support for this type
        return contextlib.nullcontext()

"""Network architectures: bare torch nn.Modules, one per file, built by name from hyperparameters.

    @register_arch("unet_denoiser")
    class UNetDenoiser(nn.Module): ...

    model = build_arch("unet_denoiser", channels=3)
    save_weights(model, "x.safetensors", arch="unet_denoiser", hparams={...}, card={...})
    model, meta = load_weights("x.safetensors")

The arch name and hyperparameters travel inside the safetensors metadata, so a weights file is enough
to rebuild its network. Loading never unpickles anything.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import MethodError

ARCH_MODULES = (
    "unet",
    "fast_denoiser",
    "sr",
    "dejpeg",
    "inpaint",
    "discriminator",
    "spec_unet",
    "detect",
    "interp",
    "packet_fill",
    "mel_envelope",
)
_ARCHS: dict[str, type[nn.Module]] = {}


def register_arch(name: str):
    def deco(cls: type[nn.Module]) -> type[nn.Module]:
        if name in _ARCHS:
            raise ValueError(f"architecture {name!r} registered twice")
        _ARCHS[name] = cls
        return cls

    return deco


def _import_all() -> None:
    for module in ARCH_MODULES:
        try:
            importlib.import_module(f"core.archs.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"core.archs.{module}":
                raise


def arch_class(name: str) -> type[nn.Module] | None:
    if name not in _ARCHS:
        _import_all()
    return _ARCHS.get(name)


def known_archs() -> list[str]:
    _import_all()
    return sorted(_ARCHS)


def build_arch(name: str, **hparams: Any) -> nn.Module:
    cls = arch_class(name)
    if cls is None:
        raise MethodError(f"unknown network architecture {name!r}")
    return cls(**hparams)


def save_weights(model: nn.Module, path: str | Path, arch: str, hparams: dict, **info: Any) -> None:
    from safetensors.torch import save_file

    # Half-precision storage keeps shipped files small; loading copies into float32 parameters.
    state = {
        k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    meta = {"arch": arch, "hparams": json.dumps(hparams)}
    meta.update({k: json.dumps(v) for k, v in info.items()})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=meta)


def load_weights(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The network a weights file describes, checked first (`validate_weights`) so a bad file gets one
    clear message instead of a traceback or a huge allocation."""
    from safetensors.torch import load_file

    from core.archs.validate import validate_weights

    path = Path(path)
    header = validate_weights(path)
    try:
        state = load_file(str(path), device=str(device))
    except Exception as exc:  # noqa: BLE001 - truncated tensor data behind a valid header
        raise MethodError(f"{path.name} is not a valid Lacuna weights file: {exc}") from exc
    model = build_arch(header.arch, **header.hparams)
    model.load_state_dict(state)
    model.eval().to(device)
    info = {**header.info, "hparams": header.hparams, "arch": header.arch}
    return model, info


_CACHE: dict[tuple[str, str], tuple[nn.Module, dict[str, Any]]] = {}


def cached_weights(path: str | Path, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """Load once per (file, device): repairs of many frames or tiles reuse the network."""
    key = (str(path), str(device))
    if key not in _CACHE:
        _CACHE[key] = load_weights(path, device)
    return _CACHE[key]

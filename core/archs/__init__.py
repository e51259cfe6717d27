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

ARCH_MODULES = ("unet", "sr", "dejpeg", "inpaint", "discriminator", "spec_unet", "detect")
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


def build_arch(name: str, **hparams: Any) -> nn.Module:
    if name not in _ARCHS:
        _import_all()
    if name not in _ARCHS:
        raise MethodError(f"unknown network architecture {name!r}")
    return _ARCHS[name](**hparams)


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
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise MethodError(f"weights file {path.name} is missing; train it with `lacuna train`")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(path), device=str(device))
    except Exception as exc:  # a damaged or foreign file
        raise MethodError(f"{path.name} is not a valid Lacuna weights file: {exc}") from exc
    if "arch" not in meta:
        raise MethodError(f"{path.name} has no architecture in its metadata")
    info = {k: json.loads(v) for k, v in meta.items() if k != "arch"}
    model = build_arch(meta["arch"], **info.get("hparams", {}))
    model.load_state_dict(state)
    model.eval().to(device)
    info["arch"] = meta["arch"]
    return model, info


_CACHE: dict[tuple[str, str], tuple[nn.Module, dict[str, Any]]] = {}


def cached_weights(path: str | Path, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """Load once per (file, device): repairs of many frames or tiles reuse the network."""
    key = (str(path), str(device))
    if key not in _CACHE:
        _CACHE[key] = load_weights(path, device)
    return _CACHE[key]

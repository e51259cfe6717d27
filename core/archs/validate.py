"""Check a weights file before any network is built from it: one clear message for each way it can be wrong.

A Lacuna weights file is a safetensors file whose metadata names the architecture (`arch`) and its
hyperparameters (`hparams`, a JSON object), as `lacuna train` writes it. The check reads only the
header (never unpickles, never loads tensors), builds the network on torch's "meta" device (no memory)
and compares every tensor name and shape. Loading a file and `lacuna models import` both use it.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import MethodError

# No shipped network has a width, depth or count above a few hundred; a larger number is a damaged or
# hostile file, caught before building the network would take minutes or all memory.
MAX_HPARAM = 4096
PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # a pickle stream, a torch.save zip


@dataclass
class WeightsHeader:
    arch: str
    hparams: dict[str, Any]
    info: dict[str, Any]  # the other metadata (training record, card), JSON-decoded where it is JSON
    shapes: dict[str, tuple[int, ...]]


def _safetensors_start(head: bytes, size: int) -> bool:
    """Whether the first 9 bytes begin a safetensors file: a little-endian header length that fits the
    file, then the header's JSON. The length's first byte can be 0x80, which also starts a pickle."""
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8


def read_header(path: Path) -> WeightsHeader:
    """The architecture, hyperparameters and tensor shapes a file declares, or a MethodError."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise MethodError(f"{path}: no such weights file")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head.startswith(PICKLE_MAGIC) and not _safetensors_start(head, path.stat().st_size):
        raise MethodError(
            f"{path.name} is a pickled PyTorch file, not safetensors; Lacuna never unpickles (it can run "
            "code): save it with safetensors and the metadata `lacuna train` writes"
        )
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            shapes = {key: tuple(fh.get_slice(key).get_shape()) for key in fh.keys()}
    except Exception as exc:  # noqa: BLE001 - safetensors raises several kinds for a foreign file
        raise MethodError(f"{path.name} is not a safetensors weights file ({_first_line(exc)})") from exc
    arch = meta.get("arch")
    if not arch:
        raise MethodError(f"{path.name} names no architecture in its metadata (not from `lacuna train`)")
    try:
        hparams = json.loads(meta.get("hparams", "{}"))
    except json.JSONDecodeError as exc:
        raise MethodError(f"{path.name}: its hyperparameters are not JSON ({exc.msg})") from exc
    if not isinstance(hparams, dict):
        raise MethodError(f"{path.name}: its hyperparameters are not a JSON object")
    info = {k: _maybe_json(v) for k, v in meta.items() if k not in ("arch", "hparams")}
    return WeightsHeader(arch, hparams, info, shapes)


def validate_weights(path: Path) -> WeightsHeader:
    """`read_header`, plus: the architecture is known, its hyperparameters fit it, every shape matches."""
    import torch

    from core.archs import arch_class, known_archs

    path = Path(path)
    header = read_header(path)
    cls = arch_class(header.arch)
    if cls is None:
        known = ", ".join(known_archs())
        raise MethodError(f"{path.name}: unknown architecture {header.arch!r} (this Lacuna knows {known})")
    try:
        inspect.signature(cls).bind(**header.hparams)
    except TypeError as exc:
        raise MethodError(f"{path.name}: hyperparameters do not fit {header.arch!r} ({exc})") from exc
    too_large = [name for name, value in header.hparams.items() if _largest(value) > MAX_HPARAM]
    if too_large:
        raise MethodError(
            f"{path.name}: absurdly large architecture ({', '.join(too_large)} above {MAX_HPARAM}); "
            "the file is damaged or not a Lacuna network"
        )
    try:
        with torch.device("meta"):  # shapes only: nothing is allocated
            model = cls(**header.hparams)
    except Exception as exc:  # noqa: BLE001 - a constructor rejecting the values
        reason = _first_line(exc)
        raise MethodError(f"{path.name}: hyperparameters do not build {header.arch!r} ({reason})") from exc
    expected = {key: tuple(t.shape) for key, t in model.state_dict().items()}
    _compare(path.name, header, expected)
    return header


def _compare(name: str, header: WeightsHeader, expected: dict[str, tuple[int, ...]]) -> None:
    missing = sorted(set(expected) - set(header.shapes))
    extra = sorted(set(header.shapes) - set(expected))
    wrong = [k for k in expected if k in header.shapes and header.shapes[k] != expected[k]]
    if not (missing or extra or wrong):
        return
    if wrong:
        k = wrong[0]
        detail = f"tensor {k!r} is {list(header.shapes[k])}, the network needs {list(expected[k])}"
    elif missing:
        detail = f"tensor {missing[0]!r} is missing"
    else:
        detail = f"tensor {extra[0]!r} is not part of the network"
    count = len(missing) + len(extra) + len(wrong)
    raise MethodError(
        f"{name}: does not match its architecture {header.arch!r}: {detail}"
        + (f" ({count} tensors differ)" if count > 1 else "")
    )


def _largest(value: Any) -> float:
    """The largest number in a hyperparameter (lists included); booleans and text count as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return abs(value) if value == value else float("inf")  # NaN counts as absurd
    if isinstance(value, (list, tuple)):
        return max((_largest(v) for v in value), default=0)
    return 0


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]

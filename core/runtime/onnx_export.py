"""The ONNX path of the backend seam (core.runtime.backends): export, int8 quantization, running.

A network is exported once per weights file, on first use, into the user cache folder (platformdirs),
named by the file's SHA-256: new weights get a new graph, nothing is ever downloaded. Height and width
are dynamic, in multiples of the network's `size_multiple`; the runner pads every input to that
multiple itself, as the network would (`NetworkNeeds.pad_mode`), and crops the output back, so the
graph holds no shape-dependent branches and gives the torch module's pixels.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.archs import cached_weights, load_weights
from core.archs.needs import NetworkNeeds, needs_of, pad_to_multiple
from core.io.quiet import quiet_libraries
from core.runtime.backends import NetworkCall, TensorFn, calibration_images

CPU = torch.device("cpu")
EXAMPLE_SIDE = 64  # the traced example: a multiple of every shipped network's size multiple
MIN_SIDE, MAX_SIDE = 16, 1 << 14  # the graphs' height and width range; smaller inputs run in torch
INT8_RECIPE = "int8-r2"  # in the int8 graphs' names: change it when `quantize` changes
EXPORT_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "onnx_ir", "root")


def cache_folder() -> Path:
    """LACUNA_CACHE_DIR/onnx when set (tests, portable installs), else the platform's cache folder."""
    from platformdirs import user_cache_path

    chosen = os.environ.get("LACUNA_CACHE_DIR")
    return (Path(chosen) if chosen else user_cache_path("lacuna", appauthor=False)) / "onnx"


def weights_hash(path: Path) -> str:
    from core.io.digest import file_sha256

    digest = file_sha256(path)
    if digest is None:
        raise FileNotFoundError(f"cannot read the weights {path}")
    return digest[:16]


# Bumped when an architecture computes differently with the same weights (session 29: the inpainting
# decoder's bilinear upsampling), so that graphs exported before are not reused.
EXPORT_REVISION = 2


def graph_path(call: NetworkCall, quantized: bool = False) -> Path:
    fixed = "".join(f"-{name}{value}" for name, value in call.fixed)
    suffix = f"-{INT8_RECIPE}" if quantized else ""
    name = f"{Path(call.weights).stem}{fixed}-{weights_hash(call.weights)}-r{EXPORT_REVISION}{suffix}.onnx"
    return cache_folder() / name


class _Fixed(nn.Module):
    """The network with its fixed arguments bound, returning float32: tensors in, a tensor out."""

    def __init__(self, model: nn.Module, fixed: tuple[int, ...]):
        super().__init__()
        self.model, self.fixed = model, fixed

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(*inputs, *self.fixed).float()


def _example(call: NetworkCall, model: nn.Module) -> tuple[torch.Tensor, ...]:
    channels = needs_of(model).channels
    # The image has the network's channels; masks and noise maps have one.
    return tuple(
        torch.rand(1, channels if n == 0 else 1, EXAMPLE_SIDE, EXAMPLE_SIDE) for n in range(len(call.inputs))
    )


def _write_atomically(target: Path, write) -> Path:
    """`write(tmp_path)`, then rename onto `target`: two processes exporting at once leave no half file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(suffix=".onnx", dir=target.parent)
    os.close(handle)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def export(call: NetworkCall) -> Path:
    """The float32 ONNX graph of the call's network, exported on first use."""
    target = graph_path(call)
    if target.exists():
        return target
    # A fresh copy: the cached one may have been converted inside inference mode, which export refuses.
    model, _info = load_weights(call.weights, CPU)
    multiple = needs_of(model).size_multiple
    wrapped = _Fixed(model, tuple(value for _name, value in call.fixed)).eval()
    smallest = -(-MIN_SIDE // multiple)
    height = torch.export.Dim("height", min=smallest, max=MAX_SIDE // multiple)
    width = torch.export.Dim("width", min=smallest, max=MAX_SIDE // multiple)
    dims = {2: height * multiple, 3: width * multiple} if multiple > 1 else {2: height, 3: width}

    def write(path: Path) -> None:
        with quiet_libraries(EXPORT_LOGGERS), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            torch.onnx.export(
                wrapped,
                _example(call, model),
                str(path),
                input_names=list(call.inputs),
                output_names=["output"],
                dynamic_shapes=(tuple(dims for _ in call.inputs),),  # one entry: *inputs
                dynamo=True,
                external_data=False,
            )

    return _write_atomically(target, write)


def quantize(call: NetworkCall) -> Path:
    """The int8 graph (static QDQ, per-channel weights, the first and last convolutions kept float32)
    calibrated on `calibration_images()` as the method would feed them. Dynamic quantization turns
    convolutions into ConvInteger, which ONNX Runtime runs several times slower than float32 (measured:
    7x on the denoiser); static QDQ gives QLinearConv, which is faster."""
    target = graph_path(call, quantized=True)
    if target.exists():
        return target
    if call.calibrate is None:
        raise ValueError("int8 needs calibration inputs: this network call gives none")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    feeds = [
        dict(zip(call.inputs, arrays)) for image in calibration_images() for arrays in call.calibrate(image)
    ]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    source = export(call)
    import onnx

    convolutions = [node.name for node in onnx.load(str(source)).graph.node if node.op_type == "Conv"]

    def write(path: Path) -> None:
        with quiet_libraries(EXPORT_LOGGERS):
            quantize_static(
                str(source),
                str(path),
                Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["Conv", "ConvTranspose"],  # elementwise steps stay float32
                # The first and last convolutions read and write image values: in float32 they halve
                # the loss (BSD68 σ25: -0.017 dB instead of -0.028) for almost no time.
                nodes_to_exclude=[convolutions[0], convolutions[-1]] if convolutions else [],
            )

    return _write_atomically(target, write)


class OnnxNetwork:
    """An exported network run by ONNX Runtime on the CPU; called like the torch module, with tensors."""

    def __init__(self, path: Path, call: NetworkCall, needs: NetworkNeeds, threads: int, small: TensorFn):
        import onnx
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: no notes on the terminal
        # The exporter states a wrong output shape for DFT (the spectral blocks of inpainting), which
        # makes ONNX Runtime's buffer reuse fail; those graphs run without it.
        if any(node.op_type == "DFT" for node in onnx.load(str(path), load_external_data=False).graph.node):
            options.enable_mem_reuse = False
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.call, self.needs, self.small = call, needs, small

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        if tensors[0].shape[0] > 1:  # the graph takes one image: a batch of tiles runs one by one
            return torch.cat([self(*(t[i : i + 1] for t in tensors)) for i in range(tensors[0].shape[0])])
        height, width = tensors[0].shape[-2:]
        if min(height, width) < MIN_SIDE:
            return self.small(*tensors)
        feeds = {
            name: pad_to_multiple(t.detach().float().cpu(), self.needs.size_multiple, self.needs.pad_mode)
            .contiguous()
            .numpy()
            for name, t in zip(self.call.inputs, tensors)
        }
        out = self.session.run(None, feeds)[0]
        scale = self.call.scale
        return torch.from_numpy(np.ascontiguousarray(out[..., : height * scale, : width * scale]))


_SESSIONS: dict[tuple[str, int], OnnxNetwork] = {}


def onnx_network(call: NetworkCall, quantized: bool, threads: int, small: TensorFn) -> OnnxNetwork:
    """The session for the call's graph (exported or quantized on first use); one per graph file and
    thread count, since building one costs about a second. `small` runs inputs under MIN_SIDE."""
    path = quantize(call) if quantized else export(call)
    key = (str(path), threads)
    if key not in _SESSIONS:
        needs = needs_of(cached_weights(call.weights, CPU)[0])
        _SESSIONS[key] = OnnxNetwork(path, call, needs, threads, small)
    return _SESSIONS[key]

"""What a network needs is stated by its architecture and read by padding, tiling and precision."""

from __future__ import annotations

import contextlib

import pytest
import torch

from core.archs import build_arch
from core.archs.needs import NetworkNeeds, needs_of, pad_to_multiple
from core.runtime.device import autocast


@pytest.mark.parametrize(
    "arch, hparams, multiple",
    [
        ("unet_denoiser", {"channels": 1, "widths": [8, 16, 32], "blocks": 1}, 4),
        ("dejpeg_unet", {"channels": 1, "features": [8, 16], "blocks": 1}, 2),
        ("inpaint_ffc", {"channels": 3, "width": 8, "depth": 2, "blocks": 1}, 4),
        ("dip_unet", {"channels": 3, "width": 8, "levels": 3}, 8),
    ],
)
def test_each_network_states_its_size_multiple_and_takes_any_size(arch, hparams, multiple):
    model = build_arch(arch, **hparams).eval()
    needs = needs_of(model)
    assert needs.size_multiple == multiple
    height, width = 2 * multiple + 1, 3 * multiple - 1  # not multiples: padded and cropped back
    x = torch.rand(1, needs.channels, height, width)
    with torch.no_grad():
        if arch == "unet_denoiser":
            y = model(x, 0.1)
        elif arch == "inpaint_ffc":
            y = model(x, torch.zeros(1, 1, height, width))
        else:
            y = model(x)
    assert y.shape[-2:] == (height, width)


def test_padding_reflects_and_falls_back_for_tiny_inputs():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    assert pad_to_multiple(x, 4)[0, 0, 3].tolist() == [3.0, 4.0, 5.0, 4.0]  # reflected
    tiny = torch.arange(6.0).reshape(1, 1, 2, 3)  # 2 rows to add to 2: reflection impossible
    assert pad_to_multiple(tiny, 4)[0, 0, 3].tolist() == [3.0, 4.0, 5.0, 5.0]
    assert torch.equal(pad_to_multiple(x, 1), x)


def test_the_precision_policy():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert isinstance(autocast(cpu, "float16"), contextlib.nullcontext)  # the CPU computes in float32
    assert isinstance(autocast(gpu, "float16", NetworkNeeds(half=False)), contextlib.nullcontext)
    assert isinstance(autocast(gpu, "float32"), contextlib.nullcontext)
    assert isinstance(autocast(gpu, "float16"), torch.autocast)

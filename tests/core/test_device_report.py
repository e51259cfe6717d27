"""The device a repair uses and why, in words (issue 16)."""

from __future__ import annotations

import pytest
import torch

from core.runtime.device import explain_device


@pytest.fixture(autouse=True)
def _fresh_answers():
    explain_device.cache_clear()  # each test changes what torch reports
    yield
    explain_device.cache_clear()


def test_auto_on_a_machine_without_cuda_says_why(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    device, why = explain_device("auto")
    assert device.type == "cpu"
    assert why == "CUDA not available: this torch is a CPU-only build; the CPU is used"


def test_an_old_driver_is_named(monkeypatch):
    def old_driver():
        raise RuntimeError("The NVIDIA driver on your system is too old (found version 11040).\nUpdate it")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.6")
    monkeypatch.setattr(torch.cuda, "init", old_driver)
    _device, why = explain_device("auto")
    assert why.startswith("CUDA not available: The NVIDIA driver on your system is too old (found version")


def test_an_explicit_device_is_reported_as_asked():
    assert explain_device("cpu") == (torch.device("cpu"), "asked for")

"""The app's side of issue 16: weights imported from the Repair menu, a replaced default named in the
method picker, and the device a repair ran on (and why) in the status bar."""

from __future__ import annotations

from core.archs import build_arch, save_weights
from core.methods import methods, weights
from core.runtime.context import RunContext
from desktop.jobs import finished_message
from desktop.widgets.method_picker import MethodPicker

SMALL = {"channels": 1, "features": 8, "blocks": 1, "scales": [2]}


def test_import_weights_from_the_app(window, tmp_path):
    source = tmp_path / "upscale.safetensors"
    save_weights(build_arch("sr_resnet", **SMALL), source, arch="sr_resnet", hparams=SMALL)
    window.import_weights(source)
    target = weights.user_folder() / "upscale.safetensors"
    assert target.read_bytes() == source.read_bytes()
    assert "Imported upscale.safetensors" in window.statusBar().currentMessage()
    assert "upscale-learned" in window.statusBar().currentMessage()


def test_a_pickle_is_refused_in_the_app_with_one_line(window, tmp_path):
    import torch

    source = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(2)}, source)
    window.import_weights(source)
    assert "never unpickles" in window.notice.text()
    assert not (weights.user_folder() / "model.safetensors").exists()


def test_the_picker_says_when_the_default_cannot_run(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "OVERRIDE", tmp_path)  # no weights at all
    picker = MethodPicker()
    qtbot.addWidget(picker)
    picker.set_cards(methods(), kind="image")
    assert picker.select("dejpeg-reapply")
    text = picker.reason.text()
    assert text.startswith("The default, ") and "cannot run (weights not installed: dejpeg-gray" in text
    assert text.endswith("runs instead.")
    monkeypatch.setattr(weights, "OVERRIDE", None)
    picker.set_cards(methods(), kind="image")
    assert picker.select("dejpeg-reapply") and picker.reason.text() == ""


def test_the_status_bar_says_where_a_repair_ran_and_what_happened():
    ctx = RunContext()
    ctx.torch_device()  # what a method does first
    ctx.note("out of memory on the GPU: continuing on the CPU")
    text = finished_message("Learned denoiser", ctx)
    # The device by name; why ("CUDA not available: ...") cut off the rest of the line (walk-through).
    assert text.startswith("Learned denoiser finished on cpu. ")
    assert text.endswith("Out of memory on the GPU: continuing on the CPU.")
    assert finished_message("Telea") == "Telea finished."

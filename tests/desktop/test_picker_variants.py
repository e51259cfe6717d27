"""The picker shows a method's "best" and "fast" variants side by side: the speed measured on this
machine (core.runtime.speed) and the quality recorded in each one's model card (core.methods.scores)."""

from __future__ import annotations

import html
import json

import pytest

from core.archs import build_arch, save_weights
from core.methods import load_all, methods, weights
from core.methods.scores import variants
from core.runtime import speed
from desktop.widgets.method_picker import MethodPicker

BSD68 = {"set": "BSD68", "condition": "σ 25", "metric": "PSNR", "unit": "dB"}


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "OVERRIDE", tmp_path / "weights")
    monkeypatch.setenv("LACUNA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "weights"


def install(folder, name, arch, scores=None, **hparams):
    save_weights(build_arch(arch, **hparams), folder / name, arch, hparams)
    if scores is not None:
        (folder / name).with_suffix(".json").write_text(json.dumps({"task": "denoise", "scores": scores}))


def _rows(picker) -> list[tuple[str, str, str]]:
    """The cells of the variants table, checked to be in what the card shows."""
    card = picker.current_card()
    rows = picker.variant_rows(variants(card, methods(card.task)), picker.params())
    for cell in (cell for row in rows for cell in row):
        assert f">{html.escape(cell)}</td>" in picker.variants.text()
    return rows


def test_best_and_fast_side_by_side_with_measured_speed_and_carded_quality(qtbot, weights_dir):
    load_all()
    unet = {"channels": 1, "widths": [8, 16], "blocks": 1}
    install(weights_dir, "denoise-gray.safetensors", "unet_denoiser", [{**BSD68, "value": 29.18}], **unet)
    install(weights_dir, "denoise-color.safetensors", "unet_denoiser", None, **{**unet, "channels": 3})
    fast_scores = [
        {"set": "Set12", "condition": "σ 25", "metric": "PSNR", "unit": "dB", "value": 29.9},
        {**BSD68, "value": 28.61},
    ]
    small = {"channels": 1, "width": 8, "layers": 3}
    install(weights_dir, "denoise-fast-gray.safetensors", "fast_denoiser", fast_scores, **small)
    speed.record("denoise-learned", "cpu", "torch", seconds=6.9, megapixels=1.0)
    speed.record("denoise-fast", "cpu", "torch-bf16", seconds=0.25, megapixels=1.0)

    picker = MethodPicker()
    qtbot.addWidget(picker)
    picker.set_cards(methods("denoise"))
    assert picker.select("denoise-fast")
    assert not picker.variants.isHidden()
    listed = picker.tree.topLevelItem(0)
    names = [listed.child(i).text(0) for i in range(listed.childCount())]
    assert names.index("Fast denoiser") == names.index("Learned denoiser  (default)") + 1  # side by side
    best, fast = _rows(picker)
    assert best[0] == "Learned denoiser (best)" and fast[0] == "Fast denoiser (fast)"
    assert best[1] == "medium: 6.9 s/MP of the result (cpu, torch)"
    assert fast[1] == "fast: 0.25 s/MP of the result (cpu, torch-bf16)"
    # Compared on the bench both were measured on; the card's text lists all of the fast one's scores.
    assert best[2] == "PSNR 29.18 dB on BSD68 σ 25" and fast[2] == "PSNR 28.61 dB on BSD68 σ 25"
    assert (
        "Quality (model card): PSNR 29.9 dB on Set12 σ 25; PSNR 28.61 dB on BSD68 σ 25"
        in picker.description.text()
    )

    # The same table from the best one's side; a method without variants shows none.
    assert picker.select("denoise-learned") and [row[0] for row in _rows(picker)][1] == "Fast denoiser (fast)"
    assert picker.select("denoise-nlmeans") and picker.variants.isHidden()


def test_a_variant_not_measured_or_not_installed_says_so(qtbot, weights_dir):
    load_all()
    unet = {"channels": 1, "widths": [8, 16], "blocks": 1}
    install(weights_dir, "denoise-gray.safetensors", "unet_denoiser", None, **unet)  # cards without scores
    install(weights_dir, "denoise-color.safetensors", "unet_denoiser", None, **{**unet, "channels": 3})
    picker = MethodPicker()
    qtbot.addWidget(picker)
    picker.set_cards(methods("denoise"))
    assert picker.select("denoise-fast")
    best, fast = _rows(picker)
    assert best[1] == "medium (estimate; not run here yet)" and best[2] == "not measured yet"
    assert fast[2] == "unknown: weights not installed"
    assert "Unavailable" in picker.reason.text()


def test_the_variants_compare_at_the_chosen_scale(qtbot):
    """The shipped upscalers were measured at ×2 and ×4: the table follows the scale chosen (a
    walk-through saw the ×2 figures beside scale 4)."""
    load_all()
    picker = MethodPicker()
    qtbot.addWidget(picker)
    picker.set_cards(methods("upscale"))
    assert picker.select("upscale-learned")
    assert all("×2" in row[2] for row in _rows(picker))
    picker.set_param("scale", 4)
    assert all("×4" in row[2] and "×2" not in row[2] for row in _rows(picker))


def test_a_typed_noise_level_picks_the_bench_measured_at_it(qtbot, weights_dir):
    """The σ box holds 50.0 and a bench was measured with --sigma 50: that bench's figures show."""
    load_all()
    unet = {"channels": 1, "widths": [8, 16], "blocks": 1}
    measured = {
        25: {"command": "lacuna bench denoise --set BSD68 --sigma 25"},
        50: {"command": "... --sigma 50"},
    }
    at = [
        {**BSD68, **measured[25], "value": 29.18},
        {**BSD68, **measured[50], "condition": "σ 50", "value": 26.2},
    ]
    install(weights_dir, "denoise-gray.safetensors", "unet_denoiser", at, **unet)
    install(weights_dir, "denoise-color.safetensors", "unet_denoiser", None, **{**unet, "channels": 3})
    fast = [
        {**BSD68, **measured[25], "value": 28.61},
        {**BSD68, **measured[50], "condition": "σ 50", "value": 25.4},
    ]
    small = {"channels": 1, "width": 8, "layers": 3}
    install(weights_dir, "denoise-fast-gray.safetensors", "fast_denoiser", fast, **small)
    picker = MethodPicker()
    qtbot.addWidget(picker)
    picker.set_cards(methods("denoise"))
    assert picker.select("denoise-learned")
    assert [row[2] for row in _rows(picker)] == ["PSNR 29.18 dB on BSD68 σ 25", "PSNR 28.61 dB on BSD68 σ 25"]
    picker.set_param("sigma", 50.0)
    assert [row[2] for row in _rows(picker)] == ["PSNR 26.2 dB on BSD68 σ 50", "PSNR 25.4 dB on BSD68 σ 50"]

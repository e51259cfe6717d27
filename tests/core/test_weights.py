"""Weights: found in the installed package and the user's folder, checked before a network is built,
imported with `lacuna models import` (issue 16; issue 20 item 6)."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from core.archs import build_arch, load_weights, save_weights
from core.cli import main
from core.errors import MethodError
from core.methods import choose_method, methods, weights

SMALL = {"channels": 1, "features": 8, "blocks": 1, "scales": [2]}


def small_net(path, arch="sr_resnet", hparams=SMALL, **meta_overrides):
    """A tiny network in the format `lacuna train` writes, with metadata optionally replaced."""
    save_weights(build_arch("sr_resnet", **SMALL), path, arch="sr_resnet", hparams=SMALL)
    if arch != "sr_resnet" or hparams is not SMALL or meta_overrides:
        state = {k: v.half() for k, v in build_arch("sr_resnet", **SMALL).state_dict().items()}
        meta = {"arch": arch, "hparams": hparams if isinstance(hparams, str) else json.dumps(hparams)}
        meta.update(meta_overrides)
        save_file(state, str(path), metadata=meta)
    return path


def test_every_learned_method_finds_its_shipped_weights_in_the_package():
    shipped = {p.name for p in weights.shipped_folder().glob("*.safetensors")}
    learned = [c for c in methods() if c.weights and set(c.weights) <= shipped]
    assert len(learned) >= 6
    for card in learned:
        assert card.available, card.unavailable_reason
        for path in card.found_weights().values():
            assert path.parent == weights.shipped_folder()
    assert (weights.samples_folder() / "ct_slice.dcm").is_file()


def test_a_file_in_the_user_folder_replaces_the_shipped_one(tmp_path, capsys):
    user = weights.user_folder()
    user.mkdir(parents=True, exist_ok=True)
    small_net(user / "upscale.safetensors")
    card = next(c for c in methods() if c.id == "upscale-learned")
    assert card.found_weights()["upscale.safetensors"] == user / "upscale.safetensors"
    assert main(["models", "--task", "upscale"]) == 0
    out = capsys.readouterr().out
    assert f"upscale.safetensors: user folder, {user / 'upscale.safetensors'}" in out


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(pickle.dumps({"weight": [1.0, 2.0]})), "pickled PyTorch file"),
        (lambda p: torch.save({"w": torch.zeros(2)}, p), "never unpickles"),
        (lambda p: p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), "not a safetensors"),
        (lambda p: save_file({"w": torch.zeros(2)}, str(p)), "names no architecture"),
        (lambda p: small_net(p, arch="resnet9000"), "unknown architecture 'resnet9000'"),
        (lambda p: small_net(p, hparams="{channels: 1"), "not JSON"),
        (lambda p: small_net(p, hparams=[1, 2]), "not a JSON object"),
        (lambda p: small_net(p, hparams={**SMALL, "dropout": 0.5}), "do not fit 'sr_resnet'"),
        (lambda p: small_net(p, hparams={**SMALL, "features": 16}), "does not match its architecture"),
        (lambda p: small_net(p, hparams={**SMALL, "blocks": 2}), "is missing"),
        (lambda p: small_net(p, hparams={**SMALL, "features": 10**7}), "absurdly large"),
        (lambda p: small_net(p, hparams={**SMALL, "scales": [2, 10**9]}), "absurdly large"),
    ],
)
def test_a_malformed_weights_file_gets_one_clear_message(tmp_path, make, message):
    path = tmp_path / "bad.safetensors"
    make(path)
    with pytest.raises(MethodError, match=message) as info:
        load_weights(path)
    assert "\n" not in str(info.value) and str(info.value).startswith("bad.safetensors")


def test_import_checks_and_copies_into_the_user_folder(tmp_path, capsys):
    source = small_net(tmp_path / "my_sr.safetensors")
    assert main(["models", "import", str(source), "--as", "upscale.safetensors"]) == 0
    target = weights.user_folder() / "upscale.safetensors"
    assert target.read_bytes() == source.read_bytes()
    assert "used by upscale-learned" in capsys.readouterr().err
    model, info = load_weights(weights.require("upscale.safetensors"))
    assert info["hparams"] == SMALL and list(model.scales) == [2]
    # Importing again does not replace it unless asked.
    assert main(["models", "import", str(source), "--as", "upscale.safetensors"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["models", "import", str(source), "--as", "upscale.safetensors", "--overwrite"]) == 0
    # The name without its suffix is the same name (a walk-through's `--as upscale` was refused).
    assert main(["models", "import", str(source), "--as", "upscale", "--overwrite"]) == 0
    assert target.read_bytes() == source.read_bytes() and not (weights.user_folder() / "upscale").exists()


def test_import_refuses_a_pickle_and_a_network_of_the_wrong_kind(tmp_path, capsys):
    pickled = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(2)}, pickled)
    assert main(["models", "import", str(pickled)]) == 2
    assert "never unpickles" in capsys.readouterr().err
    wrong_kind = small_net(tmp_path / "sr.safetensors")
    assert main(["models", "import", str(wrong_kind), "--as", "denoise-gray.safetensors"]) == 2
    err = capsys.readouterr().err
    assert "'sr_resnet' network" in err and "'unet_denoiser'" in err and "denoise-learned" in err
    assert not weights.user_folder().exists() or not any(weights.user_folder().iterdir())


def test_without_its_weights_the_default_is_replaced_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "OVERRIDE", tmp_path)
    method, note = choose_method("denoise")
    assert method.card.kind != "learned"
    assert "default method denoise-learned cannot run" in note and "denoise-gray.safetensors" in note
    assert f"ran {method.card.id}" in note
    assert choose_method("denoise", "denoise-nlmeans")[1] == ""


def test_the_cli_says_which_method_ran_instead_and_on_which_device(tmp_path, monkeypatch, capsys, datasets):
    monkeypatch.setattr(weights, "OVERRIDE", tmp_path / "empty")
    source = datasets / "images" / "bench" / "Set12" / "01.png"
    out = tmp_path / "out.png"
    assert main(["repair", str(source), "-o", str(out), "--task", "dejpeg", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["method"] == "dejpeg-reapply" and summary["weights"] == {}
    assert summary["fallback"].startswith("the default method dejpeg-learned cannot run (weights not")
    assert "lacuna: the default method dejpeg-learned cannot run" in captured.err
    assert summary["device"] == "cpu" and summary["device_reason"]  # this machine: no GPU


def test_every_shipped_model_card_states_its_terms():
    for path in sorted(weights.shipped_folder().glob("*.safetensors")):
        card = path.with_suffix(".md").read_text(encoding="utf-8")
        terms = card.split("## Terms", 1)[1]
        assert "MIT" in terms and "trained on" in terms, path.name
        assert any(licence in terms for licence in ("research use", "CC BY")), path.name


def test_a_weights_file_whose_header_length_starts_like_a_pickle_loads(tmp_path):
    """A safetensors file begins with its header's length, little-endian; 0x80 as its first byte (one
    file in 256 that `lacuna train` writes) must not be taken for a pickle stream's opening."""
    from core.archs import save_weights

    model = load_weights(small_net(tmp_path / "sr.safetensors"))[0]
    path = tmp_path / "odd.safetensors"
    for pad in range(600):
        save_weights(model, path, arch="sr_resnet", hparams=SMALL, note="x" * pad)
        if path.read_bytes()[:1] == b"\x80":  # what a pickle stream starts with
            break
    assert path.read_bytes()[:1] == b"\x80"
    loaded, info = load_weights(path)
    assert info["hparams"] == SMALL

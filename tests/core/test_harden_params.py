"""Issue 20, item 4: parameter values that are not valid are refused with their name and range, never
coerced (NaN, infinities, fractions for whole numbers, words that are not yes/no, negative tiles)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from core.cli import main as cli_main
from core.errors import MethodError
from core.methods import get_method, methods
from core.methods.registry import Param
from core.runtime.context import RunContext


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def speech(tmp_path):
    path = tmp_path / "talk.wav"
    t = np.arange(16000) / 16000.0
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


def _nlmeans(photo, out) -> list[str]:
    return ["repair", str(photo), "-o", str(out), "--task", "denoise", "--method", "denoise-nlmeans"]


def _fails_cleanly(argv, capsys) -> str:
    """The one-line error (after the line saying which method runs on which device, if any)."""
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("lacuna: ")
    return last


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", float("nan"), float("inf")])
def test_every_numeric_parameter_of_every_method_refuses_nan_and_infinity(bad):
    checked = 0
    for card in methods():
        for param in card.params:
            if isinstance(param.default, bool) or not isinstance(param.default, (int, float)):
                continue
            with pytest.raises(MethodError) as info:
                card.resolve_params({param.name: bad})
            assert repr(param.name) in str(info.value)
            checked += 1
    assert checked > 20  # sigma, context, lr, order_ms, context_ms, iterations, ... all of them


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("inpaint-learned", "context"),
        ("inpaint-dip", "lr"),
        ("fill-gap-ar", "order_ms"),
        ("fill-gap-learned", "context_ms"),
    ],
)
def test_the_reported_float_parameters_name_their_range(method, name):
    card = get_method(method).card
    param = next(p for p in card.params if p.name == name)
    with pytest.raises(MethodError) as info:
        card.resolve_params({name: "nan"})
    message = str(info.value)
    assert f"{param.minimum:g}" in message and f"{param.maximum:g}" in message and "'nan'" in message


def test_sigma_nan_on_the_command_line_writes_nothing(photo, tmp_path, capsys):
    out = tmp_path / "out.png"
    err = _fails_cleanly([*_nlmeans(photo, out), "--param", "sigma=nan"], capsys)
    assert "'sigma'" in err and "from 0 to 100" in err
    assert not out.exists()


def test_whole_number_parameters_refuse_fractions():
    scale = Param("scale", 2, choices=(2, 3, 4))
    with pytest.raises(MethodError, match="'scale' must be a whole number"):
        scale.coerce("2.9")
    assert scale.coerce("3") == 3 and scale.coerce(4.0) == 4
    iterations = Param("iterations", 100, minimum=1, maximum=500)
    with pytest.raises(MethodError, match="from 1 to 500"):
        iterations.coerce("0")
    with pytest.raises(MethodError):
        iterations.coerce(True)


def test_yes_no_parameters_refuse_other_words():
    ensemble = Param("ensemble", False)
    with pytest.raises(MethodError, match="'ensemble' must be true or false"):
        ensemble.coerce("maybe")
    assert ensemble.coerce("yes") is True and ensemble.coerce("Off") is False and ensemble.coerce(1) is True


def test_upscale_scale_fraction_on_the_command_line(photo, tmp_path, capsys):
    err = _fails_cleanly(
        [
            "repair",
            str(photo),
            "-o",
            str(tmp_path / "big.png"),
            "--task",
            "upscale",
            "--method",
            "upscale-bicubic",
            "--param",
            "scale=2.9",
        ],
        capsys,
    )
    assert "'scale'" in err and "2.9" in err


@pytest.mark.parametrize("tile", ["-1", "5"])
def test_tile_sizes_that_are_not_valid_are_refused(photo, tmp_path, capsys, tile):
    out = tmp_path / "out.png"
    err = _fails_cleanly([*_nlmeans(photo, out), "--tile", tile], capsys)
    assert "tile" in err and not out.exists()
    assert RunContext(tile=0).tile == 0 and RunContext(tile=96).tile == 96


@pytest.mark.parametrize(
    "gap", ["nan:nan", "0.1:inf", "0.5:0.2", "-1:0.2", "0.1:0.2@nan:4000", "0.1:0.2@4000:2000", "0.1"]
)
def test_gaps_that_are_not_valid_are_refused(speech, tmp_path, capsys, gap):
    out = tmp_path / "out.wav"
    err = _fails_cleanly(
        ["repair", str(speech), "-o", str(out), "--task", "fill-gap", f"--gap={gap}"], capsys
    )
    assert "--gap" in err and not out.exists()


def test_valid_values_still_pass():
    assert math.isclose(Param("sigma", 0.0, minimum=0.0, maximum=100.0).coerce(" 12.5 "), 12.5)
    assert Param("order", "linear", choices=("linear", "cubic")).coerce("cubic") == "cubic"
    assert Param("x", 1.0, minimum=0.0).coerce(np.float32(2.0)) == 2.0


def test_the_word_the_app_shows_for_0_is_taken_on_the_command_line_on_photos_and_scans(datasets, tmp_path):
    """The app shows 0 as "estimate" (a noise σ) or "none" (grain); typed on the command line the
    word was refused ("must be a number"), on a CT even where a photo took it (a review)."""
    from core.io import read

    ct = datasets / "medical" / "693_UNCI.dcm"
    results = {}
    for word in ("estimate", "0"):
        out = tmp_path / f"ct_{word}.dcm"
        args = ["repair", str(ct), "-o", str(out), "--task", "denoise", "--method", "denoise-bilateral"]
        assert cli_main([*args, "--param", f"sigma={word}"]) == 0
        results[word] = read(out).pixels
    assert np.array_equal(results["estimate"], results["0"])
    card = get_method("denoise-bilateral").card
    sigma = next(p for p in card.params if p.name == "sigma")
    assert sigma.coerce("Estimate") == 0 and sigma.from_word("nine") == "nine"
    with pytest.raises(MethodError):
        sigma.coerce("nine")

"""`lacuna bench speech` on real shared speech: loss traces, scores, and the missing-extra error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from core.audio.loss_trace import gilbert_elliott, read_trace, zeroed_packets
from core.bench.speech_losses import loss_traces, parse_losses
from core.cli import main
from core.errors import LacunaError, MethodError

SHORT = ("3005-163389-0007", "367-130732-0006")  # the two shortest bench utterances (2.0 s, 2.4 s)


def _runs(lost: np.ndarray) -> np.ndarray:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], lost.astype(np.int8), [0]])))
    return edges[1::2] - edges[::2]


@pytest.mark.parametrize("loss", [0.1, 0.2, 0.3])
def test_gilbert_elliott_has_the_asked_loss_and_mean_burst(loss):
    lost = gilbert_elliott(100_000, loss, np.random.default_rng(0), mean_burst=2.0)
    assert abs(lost.mean() - loss) < 0.01
    assert abs(_runs(lost).mean() - 2.0) < 0.08
    assert np.array_equal(lost, gilbert_elliott(100_000, loss, np.random.default_rng(0), mean_burst=2.0))


def test_impossible_losses_are_refused():
    with pytest.raises(MethodError, match="cannot have mean bursts"):
        gilbert_elliott(100, 0.8, np.random.default_rng(0), mean_burst=2.0)  # p would exceed 1
    with pytest.raises(LacunaError, match="a setting is `real` or geNN"):
        parse_losses("real,ge20,gilbert")


def test_real_traces_play_one_after_another_through_the_looped_traces(datasets):
    folder = datasets / "audio/speech/plc/test_files"
    joined = np.concatenate([read_trace(p) for p in sorted(folder.glob("*_is_lost.txt"))])
    first, second = loss_traces("real", [100, len(joined)], 0, folder)
    assert np.array_equal(first, joined[:100])
    assert np.array_equal(second, np.concatenate([joined[100:], joined[:100]]))  # wraps round


def test_later_draws_are_new_traces_and_the_first_is_the_single_draw(datasets):
    folder = datasets / "audio/speech/plc/test_files"
    packets = [300, 400]
    single = loss_traces("ge20", packets, 0, folder)
    first, second = (loss_traces("ge20", packets, 0, folder, draw, 2) for draw in (0, 1))
    assert all(np.array_equal(a, b) for a, b in zip(single, first))
    assert not any(np.array_equal(a, b) for a, b in zip(first, second))
    assert abs(np.concatenate(second).mean() - 0.2) < 0.08
    joined = np.concatenate([read_trace(p) for p in sorted(folder.glob("*_is_lost.txt"))])
    half = loss_traces("real", [100], 0, folder, 1, 2)[0]  # draw 1 of 2 starts half-way through
    assert np.array_equal(half, np.resize(np.roll(joined, -(len(joined) // 2)), 100))


def test_an_utterances_draws_are_pooled_before_the_bootstrap():
    from core.bench.speech import summarise

    def record(utterance, method, errors, draw):
        scores = {"plcmos": 3.0, "pesq": 3.0, "stoi": 0.9, "seconds": 0.0, "lost": 2, "packets": 10}
        place = {"utterance": utterance, "index": "ab".index(utterance), "loss": "ge20", "draw": draw}
        return place | {"method": method, "errors": errors, "words": 10, **scores}

    records = [
        record(u, m, e, d)
        for d in (0, 1)
        for u, m, e in (("a", "repeat", 4), ("a", "speech", 2 + d), ("b", "repeat", 6), ("b", "speech", 5))
    ]
    resamples = np.array([[0, 1], [0, 0], [1, 1]])  # both, a twice, b twice
    rows = {r["method"]: r for r in summarise(records, resamples)}
    assert rows["speech"]["WER"] == round((2 + 3 + 5 + 5) / 40, 3)
    assert rows["repeat"]["WER"] == round((4 + 4 + 6 + 6) / 40, 3)
    # a's pooled errors (5 vs 8) and b's (10 vs 12): the paired differences of the three resamples
    assert rows["speech"]["WER - repeat (95% CI)"].startswith("-0.125 (")
    low, high = (float(v) for v in rows["speech"]["WER - repeat (95% CI)"][8:-1].split(" to "))
    assert -0.15 <= low <= -0.1 and -0.15 <= high <= -0.1 and low < high


def test_no_draws_is_refused(datasets, capsys):
    code = main(["bench", "speech", "--set", str(datasets / "audio/speech/bench"), "--draws", "0"])
    assert code == 2 and "--draws 0: give at least one loss trace per utterance" in capsys.readouterr().err


def test_the_zeroed_packets_of_a_real_lossy_call_are_its_trace(datasets):
    folder = datasets / "audio/speech/plc"
    samples, rate = sf.read(folder / "audio_samples/corrupted/54.wav", always_2d=True)
    assert np.array_equal(zeroed_packets(samples, rate), read_trace(folder / "test_files/54_is_lost.txt"))


@pytest.fixture
def small_sets(datasets, tmp_path):
    """Two short bench utterances with their transcripts; the first 3 s of one plc sample (78% lost)."""
    speech = tmp_path / "speech"
    speech.mkdir()
    for name in SHORT:
        for suffix in (".wav", ".txt"):
            (speech / (name + suffix)).write_bytes(
                (datasets / "audio/speech/bench" / (name + suffix)).read_bytes()
            )
    samples = tmp_path / "samples"
    for part in ("clean", "corrupted", "improved"):
        audio, rate = sf.read(datasets / "audio/speech/plc/audio_samples" / part / "54.wav", dtype="int16")
        (samples / part).mkdir(parents=True)
        sf.write(samples / part / "54.wav", audio[: 3 * rate], rate, subtype="PCM_16")
    return speech, samples


@pytest.mark.slow
def test_bench_scores_clean_lossy_and_concealed_speech(datasets, small_sets, tmp_path, capsys):
    speech, samples = small_sets
    figure = tmp_path / "figure.png"
    args = ["bench", "speech", "--set", str(speech), "--loss", "ge30", "--json"]
    args += ["--plc-samples", str(samples), "--figure", str(figure)]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {(r["loss"], r["method"]): r for r in result["rows"]}
    assert set(rows) == {("none", "clean"), ("ge30", "zeros"), ("ge30", "repeat"), ("ge30", "ar")}
    for row in rows.values():
        assert all(math.isfinite(row[key]) for key in ("WER", "PLCMOS", "PESQ", "STOI")), row
    clean, zeros, repeat = rows[("none", "clean")], rows[("ge30", "zeros")], rows[("ge30", "repeat")]
    assert zeros["WER"] >= clean["WER"] and float(zeros["lost %"]) > 15
    assert zeros["PESQ"] < repeat["PESQ"] < clean["PESQ"] and zeros["STOI"] < repeat["STOI"] < clean["STOI"]
    low, high = (float(v) for v in zeros["WER 95% CI"].split("-"))
    assert low <= zeros["WER"] <= high
    assert repeat["WER - repeat (95% CI)"] == "+0.000 (+0.000 to +0.000)"
    delta, interval = zeros["WER - repeat (95% CI)"].split(" (")
    assert abs(float(delta) - (zeros["WER"] - repeat["WER"])) < 0.002
    d_low, d_high = (float(v) for v in interval.rstrip(")").split(" to "))
    assert d_low <= float(delta) <= d_high
    published = {r["method"]: r for r in result["plc_samples"]}
    assert list(published) == ["clean", "zeros (corrupted)", "tPLCnet (improved)", "repeat", "ar"]
    assert all(math.isfinite(r["PLCMOS"]) and math.isfinite(r["PESQ"]) for r in published.values())
    assert published["zeros (corrupted)"]["PESQ"] < published["clean"]["PESQ"]
    assert figure.stat().st_size > 10_000
    assert len(result["utterances"]) == 2 * 4  # clean, zeros, repeat, ar for each utterance


def test_a_missing_package_names_the_extra(monkeypatch, capsys, datasets):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pocketsphinx" else real(name, *a)
    )
    code = main(["bench", "speech", "--set", str(datasets / "audio/speech/bench")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "pocketsphinx" in err and "lacuna-studio[speech-bench]" in err


def test_a_mistyped_method_parameter_is_refused(datasets, capsys):
    code = main(["bench", "speech", "--set", str(datasets / "audio/speech/bench"), "--param", "hold=40"])
    assert code == 2
    assert "--param hold: none of fill-gap-repeat, fill-gap-ar takes it" in capsys.readouterr().err


def test_a_transcript_does_not_depend_on_what_was_decoded_before(datasets):
    from core.bench.speech_metrics import Recogniser

    bench = datasets / "audio/speech/bench"
    first, second = (sf.read(bench / f"{name}.wav")[0] for name in SHORT)
    recogniser = Recogniser()
    alone = recogniser.transcribe(first)
    recogniser.transcribe(second)
    assert alone and recogniser.transcribe(first) == alone

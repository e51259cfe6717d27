"""`lacuna bench fill-gap` on a few bench files: protocol, metrics and the figure."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from core.bench import fill_gap as bench


def test_bench_on_digits_reports_baselines_and_speech_metrics(datasets, tmp_path, capsys):
    figure = tmp_path / "fill.png"
    code = bench.main(
        [
            "--set",
            str(datasets / "audio" / "bench" / "digits"),
            "--gaps",
            "20,100",
            "--limit",
            "4",
            "--per-file",
            "2",
            "--method",
            "fill-gap-auto",
            "--json",
            "--figure",
            str(figure),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    rows = {(r["gap_ms"], r["method"]): r for r in report["images"]}
    for gap in (20.0, 100.0):
        for method in (*bench.BASELINES, "fill-gap-auto"):
            assert rows[(gap, method)]["n"] == 8
        assert rows[(gap, "fill-gap-silence")]["snr_db"] == 0.0  # silence: error == signal
        assert 1.0 <= rows[(gap, "fill-gap-ar")]["pesq"] <= 4.7  # digits are speech: PESQ is reported
    # Short gaps: AR beats silence on the log-spectral distance.
    assert rows[(20.0, "fill-gap-ar")]["lsd_db"] < rows[(20.0, "fill-gap-silence")]["lsd_db"]
    with Image.open(figure) as im:
        assert im.width > 600 and im.height > 300
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 20  # spectrograms, not a blank canvas


def test_gap_placement_is_reproducible_and_on_voiced_audio(datasets):
    import core.io

    doc = core.io.read(datasets / "audio" / "bench" / "clips" / "3436-172162-0000.ogg")
    rate = doc.sample_rate
    gap = int(0.1 * rate)
    a = bench.place_gap(doc.samples, rate, gap, np.random.default_rng([0, 1, 2]))
    b = bench.place_gap(doc.samples, rate, gap, np.random.default_rng([0, 1, 2]))
    assert a == b
    x = doc.samples[:, 0]
    loudest = np.sqrt(np.max(np.convolve(x**2, np.ones(rate // 100) / (rate // 100), "valid")))
    assert np.sqrt(np.mean(x[a : a + gap] ** 2)) >= loudest * 10 ** (bench.VOICED_DB / 20)
    assert bench.is_speech(datasets / "audio" / "bench" / "clips" / "3436-172162-0000.ogg", "auto")
    assert not bench.is_speech(
        datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg", "auto"
    )

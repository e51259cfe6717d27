"""A narrowband call's lost packets are filled within its band: the speech network, trained on wide-band
speech, had put harmonics and hiss up to 8 kHz into the packets of a call that holds nothing above 4 kHz
(seen in the audio view after Fill all; PLCMOS of the shared call 3.14 -> 3.50 once kept in band)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from core.audio.band import band_edge
from core.audio.loss_trace import read_trace, trace_spans
from core.io import read
from core.repair import run_repair


def _high_energy(x: np.ndarray, where: np.ndarray, rate: int, above: float = 4500.0) -> float:
    """The energy above `above` Hz of the recording `x` at the samples `where`."""
    from scipy.signal import butter, sosfiltfilt

    high = sosfiltfilt(butter(8, above, btype="high", fs=rate, output="sos"), x.astype(np.float64))
    return float(np.sum(high[where] ** 2))


def test_a_narrowband_calls_fill_stays_in_its_band_and_a_wideband_one_is_left_alone(datasets, monkeypatch):
    folder = datasets / "audio/speech/plc/test_files"
    call = read(folder / "2307.wav")
    spans = trace_spans(read_trace(folder / "2307_is_lost.txt"), call.sample_rate, len(call.samples))
    lost = np.zeros(len(call.samples), bool)
    for span in spans:
        lost[span.start : span.stop] = True
    assert 3800 < band_edge(call.samples[:, 0], lost, call.sample_rate) < 4100
    filled = run_repair(call, "fill-gap", method="fill-gap-speech", mask=spans)
    assert filled.provenance[-1].params["band_limit_hz"] == [3969]
    assert np.array_equal(filled.samples[~lost], call.samples[~lost])  # received samples untouched
    # The limit itself, on the waveform network's fill (the envelope stage, on by default, already
    # takes most of that band out by itself: above 4.5 kHz 0.00043 against 0.0077 unlimited).
    waveform = run_repair(call, "fill-gap", method="fill-gap-speech", mask=spans, envelope=False)
    kept = _high_energy(waveform.samples[:, 0], lost, call.sample_rate)
    assert _high_energy(filled.samples[:, 0], lost, call.sample_rate) < kept
    import core.audio.band

    monkeypatch.setattr(core.audio.band, "band_edge", lambda *args: None)  # the fill as it was
    unkept = run_repair(call, "fill-gap", method="fill-gap-speech", mask=spans, envelope=False)
    assert "band_limit_hz" not in unkept.provenance[-1].params
    assert kept < 0.1 * _high_energy(unkept.samples[:, 0], lost, call.sample_rate)

    # A wide-band recording (a bench utterance with a hole) holds its full band: no limit.
    utterance = sorted((datasets / "audio/speech/bench").glob("*.wav"))[0]
    wide, rate = sf.read(utterance, dtype="float32", always_2d=True)
    assert band_edge(wide[:, 0], np.zeros(len(wide), bool), rate) is None

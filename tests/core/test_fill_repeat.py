"""`fill-gap-repeat`, the packet-repetition baseline of VoIP concealment, on real shared speech."""

from __future__ import annotations

import numpy as np
import pytest

import core.io
from core.audio import fill
from core.audio.selection import TimeSpan
from core.repair import run_repair

PACKET = 320  # 20 ms at 16 kHz


@pytest.fixture(scope="module")
def utterance(datasets):
    return core.io.read(datasets / "audio/speech/bench/3005-163389-0000.wav")  # 16 kHz mono, 8.4 s


def _voiced_packets(x: np.ndarray) -> list[int]:
    """Packets of loud, low zero-crossing (voiced) speech, every third one so that the gaps stay apart."""
    packets = x[: len(x) // PACKET * PACKET].reshape(-1, PACKET)
    energy = np.sum(packets**2, axis=1)
    crossings = np.mean(np.abs(np.diff(np.sign(packets), axis=1)) > 0, axis=1)
    voiced = np.flatnonzero((energy > 0.05 * energy.max()) & (crossings < 0.1))
    return [int(i) for i in voiced[::3] if i > 2]


def _zeroed(samples: np.ndarray, spans: list[TimeSpan]) -> tuple[np.ndarray, np.ndarray]:
    """A copy of `samples` with the spans zeroed (lost packets), and the lost samples as a bool mask."""
    damaged = samples.copy()
    in_gap = np.zeros(len(samples), bool)
    for span in spans:
        damaged[span.start : span.stop] = 0.0
        in_gap[span.start : span.stop] = True
    return damaged, in_gap


def _gap_snr(x: np.ndarray, y: np.ndarray, in_gap: np.ndarray) -> float:
    """SNR (dB) of the fill `y` against the speech `x` over the lost samples (zeros score 0 dB)."""
    return 10 * np.log10(np.sum(x[in_gap] ** 2) / np.sum((x[in_gap] - y[in_gap].astype(np.float64)) ** 2))


def test_repeat_changes_only_the_gaps_and_beats_zeros_on_voiced_speech(utterance):
    x = utterance.samples[:, 0].astype(np.float64)
    lost = _voiced_packets(x)
    assert len(lost) > 20
    spans = [TimeSpan(i * PACKET, (i + 1) * PACKET) for i in lost]
    damaged, in_gap = _zeroed(utterance.samples, spans)
    out = run_repair(utterance.with_samples(damaged), "fill-gap", method="fill-gap-repeat", mask=spans)
    fade = int(round(fill.CROSSFADE_SECONDS * utterance.sample_rate))
    near = np.convolve(in_gap, np.ones(2 * fade + 1), mode="same") > 0  # the gaps and their crossfades
    changed = out.samples[:, 0] != damaged[:, 0]
    assert changed[in_gap].mean() > 0.99 and not changed[~near].any()
    snr = _gap_snr(x, out.samples[:, 0], in_gap)
    assert snr > 0.5, snr  # zeros score exactly 0 dB on the gaps


def test_long_gaps_hold_then_fade_to_silence(utterance):
    """The last pitch period repeated at full level for 20 ms, fading, silent from 60 ms on; nothing
    before the gap's crossfade changes."""
    rate = utterance.sample_rate
    x = utterance.samples[:, 0].astype(np.float64)
    start = _voiced_packets(x)[5] * PACKET
    stop = start + int(0.2 * rate)
    y = fill.fill_repeat(x, start, stop, rate)
    period = fill._repeat_period(x[:start], rate)
    assert int(0.0025 * rate) <= period < int(0.015 * rate)  # voiced: a pitch period, not the 20 ms packet
    ms = rate // 1000
    cycles = np.resize(x[start - period : start], 20 * ms)
    assert np.array_equal(y[start : start + 20 * ms], cycles)
    energy = [np.sum(y[start + a * ms : start + b * ms] ** 2) for a, b in ((0, 20), (20, 40), (40, 60))]
    assert energy[0] > energy[1] > energy[2] > 0
    assert np.all(y[start + 60 * ms : stop] == 0.0)
    fade = int(round(fill.CROSSFADE_SECONDS * rate))
    assert np.array_equal(y[: start - fade], x[: start - fade])


def test_repeat_from_both_sides_beats_one_sided_repeat_on_bursts(utterance):
    """Bursts of two lost packets of voiced speech: the non-causal repeat crossfades the periods of both
    sides at full level, comes closer to the speech than G.711-style repetition, and writes only the
    lost samples (every received sample bit-identical, no crossfade outside)."""
    x = utterance.samples[:, 0].astype(np.float64)
    bursts = [i for i in _voiced_packets(x)[::2] if i + 2 < len(x) // PACKET]
    spans = [TimeSpan(i * PACKET, (i + 2) * PACKET) for i in bursts]
    damaged, in_gap = _zeroed(utterance.samples, spans)
    lossy = utterance.with_samples(damaged)
    both = run_repair(lossy, "fill-gap", method="fill-gap-repeat-both", mask=spans).samples[:, 0]
    one = run_repair(lossy, "fill-gap", method="fill-gap-repeat", mask=spans).samples[:, 0]
    assert np.array_equal(both[~in_gap], damaged[~in_gap, 0])
    assert _gap_snr(x, both, in_gap) > _gap_snr(x, one, in_gap) + 0.5, (
        _gap_snr(x, both, in_gap),
        _gap_snr(x, one, in_gap),
    )


def test_repeat_from_both_sides_at_the_recording_edges_uses_the_side_it_has():
    rate = 16000
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 200 * t)  # a 5 ms period
    lost = np.zeros(rate, bool)
    lost[:400] = lost[-400:] = True
    y = fill.repeat_both_sides(np.where(lost, 0.0, x), lost, rate)
    assert np.allclose(y[lost], x[lost], atol=0.02)

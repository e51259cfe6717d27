"""The audio view's spectrogram levels are in dBFS: a full-scale sine reads 0 dB at its peak."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.audio.picture import column_spectrogram


@pytest.mark.parametrize("n_fft", [512, 2048])
def test_a_full_scale_sine_reads_0_dbfs_and_half_scale_minus_6(n_fft):
    rate = 16000
    t = np.arange(rate) / rate
    centres = np.arange(n_fft, rate - n_fft, 997)
    for amplitude, expected in ((1.0, 0.0), (0.5, -6.02)):
        sine = amplitude * np.sin(2 * np.pi * 1000.0 * t)  # 1 kHz falls on a bin of both sizes
        peak = column_spectrogram(sine, centres, n_fft).max(axis=0)
        assert peak == pytest.approx(expected, abs=0.05)


def test_real_speech_peaks_below_full_scale(datasets):
    samples, rate = sf.read(datasets / "audio/speech/bench/3005-163389-0007.wav")
    db = column_spectrogram(samples, np.arange(1024, len(samples) - 1024, 800), 1024)
    assert -40.0 < db.max() < 0.0 and np.abs(samples).max() < 1.0

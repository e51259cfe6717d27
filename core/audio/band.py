"""The band a recording holds, so that a fill holds no more.

A call recorded through a narrowband codec (a telephone line, G.711) holds nothing above 4 kHz even
when stored at 16 kHz. A concealment network trained on wide-band speech puts hiss and harmonics up
to 8 kHz into the packets it fills, heard as bright bursts in a dull call. `band_edge` finds where
the received audio's spectrum ends, from the frames that hold no lost sample; `limit_band` removes
what lies above it (zero-phase, so the fill keeps its timing).
"""

from __future__ import annotations

import numpy as np

FRAME = 512  # samples per spectrum frame at 16 kHz; scaled with the rate
SPEECH_BAND = (300.0, 3400.0)  # Hz: the telephone band, present in any speech recording
FLOOR_DB = 50.0  # the band ends where the spectrum stays this far below the speech band's level
MARGIN = 0.9  # a band edge above this share of the Nyquist frequency is no band limit
MAX_FRAMES = 2000  # frames whose spectra are averaged, spread over the recording


def band_edge(samples: np.ndarray, lost: np.ndarray, rate: int) -> float | None:
    """The frequency (Hz) above which the received part of the 1-D `samples` holds nothing (every
    bin beyond stays FLOOR_DB below the speech band), or None when it reaches the Nyquist frequency
    or too little was received to tell."""
    frame = max(64, int(round(FRAME * rate / 16000)))
    starts = np.arange(0, len(samples) - frame + 1, frame // 2)
    if not len(starts):
        return None
    lost_before = np.concatenate([[0], np.cumsum(lost, dtype=np.int64)])
    whole = starts[lost_before[starts + frame] == lost_before[starts]]  # frames with no lost sample
    if len(whole) < 8:
        return None
    whole = whole[:: max(1, len(whole) // MAX_FRAMES)]  # an hour's call: a sample of its frames
    window = np.hanning(frame)
    frames = np.stack([samples[s : s + frame] for s in whole]) * window
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(frame, 1.0 / rate)
    level = 10.0 * np.log10(power + 1e-30)
    speech = (freqs >= SPEECH_BAND[0]) & (freqs <= SPEECH_BAND[1])
    if not speech.any():
        return None
    above = np.nonzero(level > np.median(level[speech]) - FLOOR_DB)[0]
    edge = float(freqs[above.max()]) if len(above) else None
    return edge if edge is not None and edge < MARGIN * rate / 2 else None


def limit_band(samples: np.ndarray, edge: float, rate: int) -> np.ndarray:
    """The 1-D `samples` low-passed at `edge` Hz (8th-order Butterworth, forwards and backwards)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(8, edge, btype="low", fs=rate, output="sos")
    return sosfiltfilt(sos, np.asarray(samples, np.float64))

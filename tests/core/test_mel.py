"""The mel rule (`core.audio.mel`) and the log-mel loss of the speech concealment, on shared speech."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from core.audio.loss_trace import gilbert_elliott
from core.audio.mel import hz_to_mel, mel_filters, mel_to_hz
from core.train.recipes.fill_gap_speech import log_mel_loss

UTTERANCE = "audio/speech/train/1688-142285-0000.wav"


def test_mel_filters_tile_the_band_and_peak_where_the_scale_puts_them():
    filters = mel_filters(40, 512, 16000)
    assert filters.shape == (40, 257)
    assert np.allclose(mel_to_hz(hz_to_mel([0.0, 1000.0, 8000.0])), [0.0, 1000.0, 8000.0])
    assert abs(hz_to_mel(1000.0) - 1000.0) < 0.1  # the HTK scale's anchor
    bins = np.linspace(0, 8000, 257)
    peaks = bins[filters.argmax(axis=1)]
    assert np.all(np.diff(peaks) > 0)  # bands rise in frequency, wider towards the top
    assert np.diff(peaks)[-1] > 4 * np.diff(peaks)[0]
    inner = (bins >= peaks[0]) & (bins <= peaks[-1])
    assert np.all(filters.sum(axis=0)[inner] > 0.4)  # no gap between neighbouring bands


def test_log_mel_loss_ranks_concealments_of_lost_packets(datasets):
    clean, rate = sf.read(datasets / UTTERANCE, dtype="float32")
    assert rate == 16000
    clean = clean[: 16384 * 2]
    lost = np.repeat(gilbert_elliott(len(clean) // 320 + 1, 0.3, np.random.default_rng(1), 2.0), 320)
    lost = lost[: len(clean)].astype(bool)
    zeros = np.where(lost, 0.0, clean)
    previous = np.concatenate([np.zeros(320, np.float32), clean[:-320]])  # each lost packet: the one before
    repeated = np.where(lost, previous, clean)

    def loss(x):
        as_batch = torch.from_numpy(x[None].astype(np.float32))
        return log_mel_loss(as_batch, torch.from_numpy(clean[None])).item()

    assert loss(clean) == 0.0
    assert loss(zeros) > 2 * loss(repeated) > 0.0  # silence in a packet is far from speech's envelope
    # -6 dB everywhere: log energy off by log 4, a little less where the energy floor holds the pauses
    assert 0.8 * np.log(4.0) < loss(clean * 0.5) <= np.log(4.0) + 1e-4


def test_log_mel_loss_with_a_mask_weighs_only_the_frames_over_lost_samples(datasets):
    clean, _ = sf.read(datasets / UTTERANCE, dtype="float32")
    clean = torch.from_numpy(clean[None, :16384])
    mask = torch.zeros_like(clean)
    mask[:, 8000:8640] = 1.0  # two lost packets in the middle
    zeroed = clean * (1 - mask)
    far_off = clean.clone()
    far_off[:, :2000] *= 0.5  # changed, but more than a frame away from the lost samples

    assert log_mel_loss(far_off, clean, mask).item() == 0.0
    assert log_mel_loss(far_off, clean).item() > 0.0
    # The same silence averaged over the frames it touches instead of the whole crop: of the 103 frames
    # torch.stft centres every 160 samples, 512 long, exactly frames 49-55 overlap samples 8000-8639.
    frames, touched = 16384 // 160 + 1, 7
    whole = log_mel_loss(zeroed, clean).item()
    assert log_mel_loss(zeroed, clean, mask).item() == pytest.approx(whole * frames / touched, rel=1e-5)

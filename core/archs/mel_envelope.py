"""A small network that corrects the spectral ENVELOPE of a speech fill, not its waveform.

Input: (B, 3, L) = [the recording with lost samples zeroed, the lost-sample mask, a fill of the lost
samples] at 16 kHz, the layout of `core.archs.packet_fill`. Output: (B, 1, L), the recording with the
fill's short-time spectrum scaled per mel band in the frames that touch lost samples; received samples
are returned as given.

Why: a speech recogniser reads the envelope (mel energies) of the lost phonemes, and a waveform
network trained on waveform and STFT losses never came closer to the clean speech's log-mel energies
than the fill it corrects (docs/benchmarks.md, "Speech packet loss"). Scaling an STFT per band is a
much smaller job: log-mel energies of the filled recording (40 bands, 32 ms frames every 8 ms,
level-free) and each frame's lost share go through two convolutions and a two-layer bidirectional GRU
over the frames, which returns 40 log gains per frame (zero at the start: the network begins as the
fill itself). The gains are spread over the STFT bins by the mel filters and clamped to ±4 (×55).
"""

from __future__ import annotations

import torch
from torch import nn

from core.archs import register_arch

SAMPLE_RATE, N_FFT, HOP, BANDS = 16000, 512, 128, 40
MAX_LOG_GAIN = 4.0


@register_arch("mel_envelope")
class MelEnvelopeNet(nn.Module):
    multiple = 1  # any length: the STFT pads itself

    def __init__(self, hidden: int = 96):
        super().__init__()
        from core.audio.mel import mel_filters

        mel = torch.from_numpy(mel_filters(BANDS, N_FFT, SAMPLE_RATE)).float()  # (bands, bins)
        self.register_buffer("mel", mel, persistent=False)
        # A bin's band weights sum to 1, so a gain shared by neighbouring bands passes through unchanged.
        self.register_buffer("spread", (mel / mel.sum(0, keepdim=True).clamp_min(1e-8)).T, persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.read = nn.Sequential(
            nn.Conv1d(BANDS + 1, hidden, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=2),
            nn.GELU(),
        )
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.gains = nn.Linear(2 * hidden, BANDS)
        nn.init.zeros_(self.gains.weight)
        nn.init.zeros_(self.gains.bias)

    def log_gains(self, features: torch.Tensor) -> torch.Tensor:
        """(B, bands + 1, frames) features -> (B, bands, frames) log gains."""
        sequence, _ = self.gru(self.read(features).transpose(1, 2))
        return self.gains(sequence).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        received, lost, fill = x[:, 0].float(), x[:, 1].float(), x[:, 2].float()
        filled = torch.where(lost > 0, fill, received)
        spectrum = torch.stft(
            filled, N_FFT, HOP, window=self.window, pad_mode="constant", return_complex=True
        )
        power = filled.pow(2).mean(-1, keepdim=True)[..., None].clamp_min(1e-10)
        mel = torch.log(self.mel @ (spectrum.abs() ** 2 / power) + 1e-6)
        mel = mel - mel.mean(dim=(1, 2), keepdim=True)  # level-free: only the shape is read
        padded = nn.functional.pad(lost[:, None], (N_FFT // 2, N_FFT // 2))
        lost_share = nn.functional.avg_pool1d(padded, N_FFT, HOP)[:, :, : spectrum.shape[-1]]
        gains = self.log_gains(torch.cat([mel / 5.0, lost_share], 1)).clamp(-MAX_LOG_GAIN, MAX_LOG_GAIN)
        gains = gains * (lost_share > 0)  # frames of received samples only are left alone
        shaped = torch.istft(
            spectrum * torch.exp(self.spread @ gains), N_FFT, HOP, window=self.window, length=filled.shape[-1]
        )
        return torch.where(lost > 0, shaped, received)[:, None]

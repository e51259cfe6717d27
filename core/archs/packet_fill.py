"""A small waveform U-Net with a bidirectional LSTM that fills lost packets of speech (non-causal).

Input: (B, 3, L) = [the recording with lost samples zeroed, the lost-sample mask, a first fill of
the lost samples] at 16 kHz (`first_fill` names which: "ar", the AR method's, or "both-sides", the
pitch periods of both sides repeated in; `core.methods.fill_gap_speech.first_fill` makes it), L a multiple of
`stride ** depth` (the caller pads). Output: (B, 1, L), the first fill plus the network's
correction, for every sample; the caller keeps the received samples and takes only the lost ones.
The input is scaled by the RMS of its received samples so the network sees every recording at one
level; starting from a fill that already continues both edges, the network learns a correction
rather than a waveform from nothing.

Strided convolutions (kernel 2 x stride) shrink time by 4 per level to 16 ms frames after four
levels, where an LSTM reads the whole window in both directions: a lost packet is predicted from
the speech before and after it. Transposed convolutions with skip connections rebuild the waveform.
"""

from __future__ import annotations

import torch
from torch import nn

from core.archs import register_arch


def received_rms(audio: torch.Tensor, lost: torch.Tensor) -> torch.Tensor:
    """RMS over the received (not lost) samples along the last axis, kept as a length-1 axis."""
    received = 1.0 - lost
    power = (audio**2 * received).sum(-1, keepdim=True) / received.sum(-1, keepdim=True).clamp_min(1)
    return torch.sqrt(power)


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, 2 * stride, stride, padding=stride // 2)
        self.mix = nn.Conv1d(cout, 2 * cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.glu(self.mix(torch.relu(self.conv(x))), dim=1)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, last: bool):
        super().__init__()
        self.mix = nn.Conv1d(cin, 2 * cin, 1)
        self.conv = nn.ConvTranspose1d(cin, cout, 2 * stride, stride, padding=stride // 2)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(nn.functional.glu(self.mix(x), dim=1))
        return y if self.last else torch.relu(y)


@register_arch("packet_fill")
class PacketFillNet(nn.Module):
    def __init__(
        self, hidden: int = 32, depth: int = 4, stride: int = 4, lstm_layers: int = 1, first_fill: str = "ar"
    ):
        super().__init__()
        self.stride, self.depth, self.first_fill = stride, depth, first_fill
        widths = [hidden * 2**i for i in range(depth)]
        ins = [3, *widths[:-1]]
        self.down = nn.ModuleList(_Down(a, b, stride) for a, b in zip(ins, widths))
        self.up = nn.ModuleList(
            _Up(b, 1 if i == 0 else a, stride, last=i == 0) for i, (a, b) in enumerate(zip(ins, widths))
        )
        bottom = widths[-1]
        self.lstm = nn.LSTM(bottom, bottom, lstm_layers, batch_first=True, bidirectional=True)
        self.join = nn.Linear(2 * bottom, bottom)

    def zero_correction(self) -> None:
        """Output exactly the first fill (the last layer zeroed): a fine-tune then grows its correction
        from there instead of undoing one learned against another objective."""
        nn.init.zeros_(self.up[0].conv.weight)
        nn.init.zeros_(self.up[0].conv.bias)

    @property
    def multiple(self) -> int:
        return self.stride**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        audio, lost, first = x[:, :1], x[:, 1:2], x[:, 2:3]
        scale = received_rms(audio, lost).clamp_min(1e-4)
        h = torch.cat([audio / scale, lost, first / scale], dim=1)
        skips = []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        seq, _ = self.lstm(h.transpose(1, 2))
        h = self.join(seq).transpose(1, 2)
        for layer in reversed(self.up):
            h = layer(h + skips.pop())
        return first + h * scale

"""Training recipe for `lacuna train fill-gap`: spectrogram inpainting of random gaps in clean audio.

Data: every WAV/Ogg/FLAC under the --data folders, resampled to 16 kHz (scipy `resample_poly`) and held
on the training device as mono streams (each channel of a clip is a stream; short files such as the
spoken digits are joined, with 5 ms fades, into one stream per folder). A batch is random crops of
--crop samples, half from each folder on average.

Degradation (on the device): the STFT of each crop, a gap of 5-500 ms (log-uniform) centred on a frame
with energy (voiced/energetic regions), or, for --tf-fraction of the crops, a time-frequency rectangle
(a cough, a whistle); the network sees the normalised log-magnitude with the unknown bins zeroed plus
the mask and predicts every bin. Loss: L1, with the bins outside the gap weighted by --outside-weight.

GPU training (about 8 minutes of a shared H100; the learning rate anneals to whichever ends first):

    lacuna train fill-gap --data .gpu/data/audio/train/clips .gpu/data/audio/train/digits \
        --out resources/weights/fill-gap.safetensors --steps 20000 --time-limit 450 --batch 24

On the CPU the same recipe runs at ~0.2 it/s with --batch 4 on two shared cores (a smoke test only).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.audio import specnet
from core.audio.stft import MODEL_RATE, frame_params, log_magnitude, resample, stft
from core.errors import ReadError
from core.train.recipe import Recipe

AUDIO_SUFFIXES = {".wav", ".ogg", ".flac", ".oga"}


def read_mono_channels(path: Path) -> tuple[list[np.ndarray], int]:
    """Each channel of an audio file as float32, and the rate; soundfile, else scipy for WAV."""
    try:
        import soundfile as sf

        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except ImportError:
        if path.suffix.lower() != ".wav":
            raise
        from scipy.io import wavfile

        rate, data = wavfile.read(str(path))
        if data.dtype.kind in "iu":
            info = np.iinfo(data.dtype)
            data = (data.astype(np.float32) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
        data = np.asarray(data, np.float32).reshape(len(data), -1)
    return [np.ascontiguousarray(data[:, c]) for c in range(data.shape[1])], int(rate)


class AudioStreams:
    """Mono 16 kHz streams on a device; `batch()` draws random crops (B, crop)."""

    def __init__(self, folders: list[str | Path], device: torch.device, rate: int = MODEL_RATE, log=print):
        self.rate = rate
        self.device = device
        self.groups: list[list[torch.Tensor]] = []
        self.shares: list[float] | None = None  # how often each folder is drawn; None: equally
        fade = int(0.005 * rate)
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        for folder in folders:
            files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            long_streams, short_parts, skipped = [], [], []
            for path in files:
                try:
                    channels, file_rate = read_mono_channels(path)
                except Exception as exc:  # one unreadable file must not stop training
                    skipped.append(f"{path.name} ({exc})")
                    continue
                for x in channels:
                    x = resample(x, file_rate, rate)
                    if len(x) >= 4 * rate:
                        long_streams.append(x)
                    elif len(x) > 2 * fade:
                        x = x.copy()
                        x[:fade] *= ramp
                        x[-fade:] *= ramp[::-1]
                        short_parts.append(x)
            if short_parts:
                long_streams.append(np.concatenate(short_parts))
            if skipped:
                log(f"fill-gap data: skipped {len(skipped)} unreadable files in {folder}: {skipped[:3]}")
            if long_streams:
                self.groups.append([torch.from_numpy(s).to(device) for s in long_streams])
        if not self.groups:
            raise ReadError(f"no readable audio under {folders}")
        seconds = sum(len(s) for g in self.groups for s in g) / rate
        log(f"fill-gap data: {len(self.groups)} folders, {seconds / 60:.1f} min of audio at {rate} Hz")

    def hold_out(self, fraction: float = 0.05) -> AudioStreams:
        """Split the last `fraction` of every stream off as a validation set (never trained on)."""
        held = object.__new__(AudioStreams)
        held.rate, held.device, held.groups, held.shares = self.rate, self.device, [], self.shares
        for group in self.groups:
            cut = [int(len(s) * (1 - fraction)) for s in group]
            held.groups.append([s[c:] for s, c in zip(group, cut)])
            group[:] = [s[:c] for s, c in zip(group, cut)]
        return held

    def batch(self, size: int, crop: int, generator: torch.Generator) -> torch.Tensor:
        if self.shares is None:
            group_picks = torch.randint(len(self.groups), (size,), generator=generator).tolist()
        else:
            shares = torch.tensor(self.shares)
            group_picks = torch.multinomial(shares, size, replacement=True, generator=generator).tolist()
        crops = []
        for g in group_picks:
            group = self.groups[g]
            lengths = torch.tensor([float(len(s)) for s in group])
            s = int(torch.multinomial(lengths, 1, generator=generator))
            stream = group[s]
            if len(stream) <= crop:
                crops.append(torch.nn.functional.pad(stream, (0, crop - len(stream))))
                continue
            start = int(torch.randint(len(stream) - crop + 1, (1,), generator=generator))
            crops.append(stream[start : start + crop])
        return torch.stack(crops)


class FillGapRecipe(Recipe):
    task = "fill-gap"
    arch = "spec_unet"
    default_steps = 6000
    default_batch = 24
    default_crop = 32000  # samples at 16 kHz: 2 s, 251 frames
    default_lr = 5e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("fill-gap")
        group.add_argument("--gap-min-ms", type=float, default=5.0)
        group.add_argument("--gap-max-ms", type=float, default=500.0)
        group.add_argument(
            "--tf-fraction", type=float, default=0.2, help="share of time-frequency rectangles"
        )
        group.add_argument("--outside-weight", type=float, default=0.05, help="loss weight of known bins")
        group.add_argument("--base", type=int, default=16, help="UNet width (16: ~2.7 M weights)")
        group.add_argument("--val-crops", type=int, default=48)

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        self.n_fft, self.hop = frame_params(MODEL_RATE)

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"in_channels": 2, "base": args.base, "depth": 4}

    def card_info(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "sample_rate": MODEL_RATE,
            "n_fft": self.n_fft,
            "hop": self.hop,
            "gap_ms": [self.args.gap_min_ms, self.args.gap_max_ms],
        }

    # --- data --------------------------------------------------------------------------------------
    def load_data(self, args: argparse.Namespace) -> AudioStreams:
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        return AudioStreams(args.data, self.device, log=log)

    def load_validation(self, args: argparse.Namespace, data: AudioStreams) -> list[torch.Tensor]:
        held = data.hold_out(0.05)
        gen = torch.Generator().manual_seed(4321)
        crops = held.batch(args.val_crops, args.crop, gen)
        return [crops[i : i + 8] for i in range(0, len(crops), 8)]

    # --- degradation -------------------------------------------------------------------------------
    def _unknown_mask(self, logmag: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, F, T) bool: a time gap on an energetic frame, or a T-F rectangle."""
        b, nf, nt = logmag.shape
        dev = logmag.device
        args = self.args
        # Gap centre: a frame whose energy is within 30 dB of the crop's loudest (voiced/energetic).
        energy = torch.exp(2 * logmag).mean(dim=1)
        voiced = (energy > energy.amax(dim=1, keepdim=True) * 1e-3).float() + 1e-4
        cdf = torch.cumsum(voiced, dim=1)
        cdf = cdf / cdf[:, -1:]
        u = torch.rand(b, 1, generator=generator).to(dev)
        centre_frame = torch.searchsorted(cdf, u).clamp(max=nt - 1).squeeze(1)
        lo, hi = math.log(args.gap_min_ms), math.log(args.gap_max_ms)
        gap_ms = torch.exp(lo + (hi - lo) * torch.rand(b, generator=generator)).to(dev)
        gap = (gap_ms * MODEL_RATE / 1000).round()
        start = centre_frame * self.hop - gap // 2
        stop = start + gap
        half = self.n_fft // 2
        centres = torch.arange(nt, device=dev) * self.hop
        # A frame is unknown when its window overlaps the gap's samples.
        frames = (centres[None] - half < stop[:, None]) & (centres[None] + half > start[:, None])
        unknown = frames[:, None, :].expand(b, nf, nt).clone()
        # Time-frequency rectangles: only a band of bins inside the time span is unknown.
        tf = (torch.rand(b, generator=generator) < args.tf_fraction).to(dev)
        f0 = (torch.rand(b, generator=generator) * nf * 0.7).long().to(dev)
        width = (nf * (0.05 + 0.45 * torch.rand(b, generator=generator))).long().to(dev)
        bins = torch.arange(nf, device=dev)
        band = (bins[None] >= f0[:, None]) & (bins[None] < (f0 + width)[:, None])
        unknown = torch.where(tf[:, None, None], unknown & band[:, :, None], unknown)
        return unknown

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        logmag = log_magnitude(stft(clean.float(), self.n_fft, self.hop))
        unknown = self._unknown_mask(logmag, generator)
        normed, _, _ = specnet.normalise(logmag, unknown)
        inputs = specnet.network_input(normed, unknown)
        weight = torch.where(unknown, 1.0, self.args.outside_weight)
        # The loss needs the weights: they travel as the target's second channel.
        return (inputs,), torch.stack([normed, weight], dim=1)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        truth, weight = target[:, :1], target[:, 1:]
        return (weight * (pred - truth).abs()).sum() / weight.sum()

    @torch.no_grad()
    def validate(self, batches: list[torch.Tensor], generator: torch.Generator) -> float:
        """SNR (dB) of the normalised log-magnitude inside the gaps: higher is better."""
        self.model.eval()
        signal = error = 0.0
        for clean in batches:
            (inputs,), target = self.make_batch(clean.to(self.device), generator)
            pred = self.model(inputs).float()
            truth, inside = target[:, :1], target[:, 1:] == 1.0
            centred = truth - (truth * inside).sum() / inside.sum().clamp_min(1)
            signal += float((centred[inside] ** 2).sum())
            error += float(((pred - truth)[inside] ** 2).sum())
        return 10 * math.log10(max(signal, 1e-12) / max(error, 1e-12))


RECIPE = FillGapRecipe

"""Training recipe for `lacuna train fill-gap-speech`: concealing lost packets of speech.

Data: every WAV/Ogg/FLAC under the --data folders as 16 kHz mono streams (`AudioStreams` of the
fill-gap recipe); the first folder (the speech) is drawn --speech-share of the time, the others
equally for the rest. A batch is random crops of --crop samples.

Degradation (on the fly, from the seeded generator): each crop loses packets by a Gilbert–Elliott
trace (`core.audio.loss_trace.gilbert_elliott`) with a loss rate drawn from --loss-rate (5-45 %), a
mean burst drawn from --burst (1-3 packets; longer where the rate needs it) and a packet length of 10,
20 or 30 ms on a random grid offset; --long-share of the crops instead lose one span of 40-240 ms
(a silence found by the detector, a longer outage). The lost samples are zeroed; the network sees
them with the mask and the first fill --first-fill names (the AR method's by default, or both sides'
pitch periods repeated in; `core.methods.fill_gap_speech.network_input`) and predicts the waveform
as a correction of that fill.

Loss: L1 on the lost samples plus a multi-resolution STFT loss (spectral convergence and log
magnitude at 256/512/1024-point frames) on the concealed crop, both on level-normalised audio, so
the fill is neither muffled (plain L1 alone drifts towards quiet averages) nor noisy.
`--mel-weight W` adds W times a log-mel term over the frames that touch lost samples (`log_mel_loss`,
about a recogniser's filterbank); `--l1-weight 0` drops the waveform term, which rewards a quieter fill
wherever the phase of the lost speech cannot be known (in the middle of a burst). Both stay at their
stage-1 defaults (L1 on, no mel term); the fine-tune that uses them is in the weights' card.

CPU training from scratch (stage 1 of the shipped weights; their card's Reproduce section gives the
fine-tunes after it):

    OMP_NUM_THREADS=1 lacuna train fill-gap-speech --data ../shared/datasets/audio/speech/train \\
        ../shared/datasets/audio/train/digits ../shared/datasets/audio/train/clips \\
        --out stage1.safetensors --steps 5000 --time-limit 4200
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import torch

from core.archs.packet_fill import received_rms
from core.audio.loss_trace import gilbert_elliott
from core.audio.mel import mel_filters
from core.audio.stft import MODEL_RATE
from core.errors import MethodError
from core.methods.fill_gap_speech import network_input
from core.train.recipe import Recipe
from core.train.recipes.fill_gap import AudioStreams

PACKET_CHOICES_MS = (10.0, 20.0, 20.0, 20.0, 30.0)
STFT_SIZES = ((256, 64), (512, 128), (1024, 256))
MEL_BANDS, MEL_FFT, MEL_HOP = 40, 512, 160  # about a recogniser's filterbank: 32 ms frames every 10 ms
LOSS_RATES, MEAN_BURSTS = (0.05, 0.45), (1.0, 3.0)  # the ranges training traces are drawn from
VALIDATION_LOSS = 0.2  # the held-out crops lose 20 % of their 20 ms packets, mean burst 2


def packet_mask(
    length: int,
    rng: np.random.Generator,
    long_share: float,
    loss_rates: tuple[float, float] = LOSS_RATES,
    bursts: tuple[float, float] = MEAN_BURSTS,
) -> np.ndarray:
    """(length,) float32 mask of lost samples for one training crop: a Gilbert–Elliott trace whose loss
    rate and mean burst (packets) are drawn uniformly from `loss_rates` (below 1) and `bursts`."""
    mask = np.zeros(length, np.float32)
    if rng.random() < long_share:
        gap = int(rng.uniform(0.04, 0.24) * MODEL_RATE)
        start = int(rng.integers(0, length - gap))
        mask[start : start + gap] = 1.0
        return mask
    packet = int(rng.choice(PACKET_CHOICES_MS) * MODEL_RATE / 1000)
    offset = int(rng.integers(0, packet))
    packets = (length + offset) // packet + 1
    loss = rng.uniform(*loss_rates)
    burst, shortest = rng.uniform(*bursts), loss / (1.0 - loss)
    if burst <= shortest:
        # A rate p needs mean bursts of more than p / (1 - p) packets; right at that bound every
        # received run would be one packet long, so go 5-50% above it (received runs of 1-1.5 on average).
        burst = shortest * rng.uniform(1.05, 1.5)
    lost = gilbert_elliott(packets, loss, rng, mean_burst=burst)
    per_sample = np.repeat(lost, packet)[offset : offset + length]
    mask[: len(per_sample)] = per_sample
    return mask


def crop_snr(pred: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) SNR in dB over each crop's lost samples."""
    signal = (clean**2 * mask).sum(-1).clamp_min(1e-12)
    error = ((pred - clean) ** 2 * mask).sum(-1).clamp_min(1e-12)
    return 10 * torch.log10(signal / error)


def _log_stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-5)


def multires_stft_loss(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    total = pred.new_zeros(())
    for n_fft, hop in STFT_SIZES:
        p, t = _log_stft(pred, n_fft, hop), _log_stft(truth, n_fft, hop)
        convergence = torch.linalg.norm(t - p) / torch.linalg.norm(t).clamp_min(1e-5)
        total = total + convergence + (p.log() - t.log()).abs().mean()
    return total / len(STFT_SIZES)


def log_mel_loss(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute difference of log mel energies: the spectral envelope a speech recogniser reads,
    without the harmonic detail the fine STFT terms also weigh. With `mask` (B, samples) of lost
    samples, the mean is over the frames that overlap a lost sample only: the received frames are
    equal by construction and would only dilute the term."""
    filters = torch.from_numpy(mel_filters(MEL_BANDS, MEL_FFT, MODEL_RATE)).to(pred.device)
    p = filters @ _log_stft(pred, MEL_FFT, MEL_HOP) ** 2
    t = filters @ _log_stft(truth, MEL_FFT, MEL_HOP) ** 2
    distance = (torch.log(p + 1e-6) - torch.log(t + 1e-6)).abs()
    if mask is None:
        return distance.mean()
    # the frames torch.stft centres every MEL_HOP samples, each MEL_FFT long
    padded = torch.nn.functional.pad(mask[:, None], (MEL_FFT // 2, MEL_FFT // 2))
    touched = torch.nn.functional.max_pool1d(padded, MEL_FFT, MEL_HOP)[:, :, : distance.shape[-1]]
    return (distance * touched).sum() / (touched.sum() * MEL_BANDS).clamp_min(1)


def add_crop_arguments(
    group: argparse._ArgumentGroup,
    speech_share: float,
    loss_rates: tuple[float, float],
    bursts: tuple[float, float],
    first_fill: str,
    fills: tuple[str, ...] = ("ar", "both-sides"),
) -> None:
    """The options that say which crops a speech-concealment recipe trains on and how they lose
    packets; `fill-gap-speech` and `fill-gap-speech-envelope` share them with their own defaults."""
    group.add_argument(
        "--speech-share", type=float, default=speech_share, help="share of crops from folder 1"
    )
    group.add_argument("--long-share", type=float, default=0.15, help="share of crops with one long gap")
    for flag, default, what in (
        ("--loss-rate", loss_rates, "the packet loss rate"),
        ("--burst", bursts, "the mean burst (lost packets in a row)"),
    ):
        group.add_argument(
            flag,
            type=float,
            nargs=2,
            default=default,
            metavar=("LOW", "HIGH"),
            help=f"range of {what} drawn per crop",
        )
    group.add_argument("--val-crops", type=int, default=64)
    group.add_argument(
        "--first-fill",
        choices=fills,
        default=first_fill,
        help="the fill the network corrects: "
        + ", ".join(
            {
                "ar": "AR",
                "both-sides": "the pitch periods of both sides repeated in",
                "network": "the shipped waveform network's",
            }[f]
            for f in fills
        ),
    )


def check_crop_arguments(args: argparse.Namespace) -> None:
    """A one-line error for --loss-rate / --burst ranges that cannot be drawn."""
    low, high = args.loss_rate
    if not 0.0 <= low <= high < 1.0:
        raise MethodError(f"--loss-rate needs 0 <= LOW <= HIGH < 1, not {low:g} {high:g}")
    shortest, longest = args.burst
    if not 1.0 <= shortest <= longest:
        raise MethodError(f"--burst needs 1 <= LOW <= HIGH packets, not {shortest:g} {longest:g}")


class FillGapSpeechRecipe(Recipe):
    task = "fill-gap-speech"
    arch = "packet_fill"
    default_steps = 6000
    default_batch = 16
    default_crop = 16384  # 1.02 s at 16 kHz, a multiple of the network's 256-sample frame
    default_lr = 1e-3
    validation_key = "val_snr"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("fill-gap-speech")
        group.add_argument("--hidden", type=int, default=32, help="channels of the first level")
        group.add_argument("--lstm-layers", type=int, default=1)
        add_crop_arguments(
            group, speech_share=0.6, loss_rates=LOSS_RATES, bursts=MEAN_BURSTS, first_fill="ar"
        )
        group.add_argument("--l1-weight", type=float, default=1.0, help="weight of the waveform L1 term")
        group.add_argument("--stft-weight", type=float, default=1.0)
        group.add_argument("--mel-weight", type=float, default=0.0, help="weight of the log-mel term")
        group.add_argument(
            "--zero-correction",
            action="store_true",
            help="with --init: start from the first fill itself (the output layer zeroed, the rest kept)",
        )

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        check_crop_arguments(args)
        if args.zero_correction and not getattr(args, "init", None):
            raise MethodError("--zero-correction zeroes the output layer of the --init weights: give --init")
        first = {"first_fill": args.first_fill} if args.first_fill != "ar" else {}
        return {"hidden": args.hidden, "depth": 4, "stride": 4, "lstm_layers": args.lstm_layers, **first}

    def adapt_start(self, model: torch.nn.Module) -> torch.nn.Module | None:
        """Weights trained to correct one first fill can start a network that corrects another: the
        layers are the same, only what the third input row holds differs."""
        other = type(model)(**self.hparams)
        if [p.shape for p in other.state_dict().values()] != [p.shape for p in model.state_dict().values()]:
            return None
        other.load_state_dict(model.state_dict())
        return other

    def after_init(self) -> None:
        if self.args.zero_correction:
            self.model.zero_correction()

    def card_info(self) -> dict[str, Any]:
        return {
            "task": "fill-gap",
            "sample_rate": MODEL_RATE,
            "packet_ms": list(PACKET_CHOICES_MS),
            "loss_rate": list(self.args.loss_rate),
            "mean_burst": list(self.args.burst),
        }

    def load_data(self, args: argparse.Namespace) -> AudioStreams:
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        data = AudioStreams(args.data, self.device, log=log)
        if len(data.groups) > 1:
            rest = (1.0 - args.speech_share) / (len(data.groups) - 1)
            data.shares = [args.speech_share] + [rest] * (len(data.groups) - 1)
        return data

    def load_validation(self, args: argparse.Namespace, data: AudioStreams) -> list[torch.Tensor]:
        held = data.hold_out(0.05)
        held.shares = None
        gen = torch.Generator().manual_seed(4321)
        crops = held.batch(args.val_crops, args.crop, gen)
        rng = np.random.default_rng(4321)
        masks = []
        for _ in range(len(crops)):
            lost = gilbert_elliott(args.crop // 320 + 1, VALIDATION_LOSS, rng, mean_burst=2.0)
            masks.append(torch.from_numpy(np.repeat(lost, 320)[: args.crop].astype(np.float32)))
        masks = torch.stack(masks).to(crops.device)
        return [torch.stack([crops[i : i + 8], masks[i : i + 8]], 1) for i in range(0, len(crops), 8)]

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        if clean.dim() == 3:  # validation: the masks travel with the crops
            clean, mask = clean[:, 0], clean[:, 1]
        else:
            rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
            masks = [
                packet_mask(clean.shape[-1], rng, self.args.long_share, self.args.loss_rate, self.args.burst)
                for _ in range(len(clean))
            ]
            mask = torch.from_numpy(np.stack(masks)).to(clean.device)
        clean = clean.float()
        built = network_input(clean.cpu().numpy(), mask.cpu().numpy() > 0, self.first_fill())
        inputs = torch.from_numpy(built).to(clean.device)
        return (inputs,), torch.stack([clean, mask], dim=1)

    def first_fill(self) -> str:
        """The first fill the inputs carry (`core.methods.fill_gap_speech.first_fill`)."""
        return self.args.first_fill

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        clean, mask = target[:, 0], target[:, 1]
        scale = received_rms(clean, mask).clamp_min(1e-3)
        concealed = (clean * (1 - mask) + pred[:, 0] * mask) / scale
        truth = clean / scale
        l1 = ((concealed - truth).abs() * mask).sum() / mask.sum().clamp_min(1)
        total = self.args.l1_weight * l1 + self.args.stft_weight * multires_stft_loss(concealed, truth)
        if self.args.mel_weight:
            total = total + self.args.mel_weight * log_mel_loss(concealed, truth, mask)
        return total

    @torch.no_grad()
    def validate(self, batches: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean over held-out crops of the SNR (dB) over their lost samples (zeros score 0 dB).

        Per crop, then averaged: pooled over all crops, one loud music crop would decide the score.
        """
        self.model.eval()
        scores = []
        for batch in batches:
            (inputs,), target = self.make_batch(batch.to(self.device), generator)
            pred = self.model(inputs).float()[:, 0]
            clean, mask = target[:, 0], target[:, 1]
            scores += crop_snr(pred, clean, mask).tolist()
        return float(np.mean(scores))

    def describe_validation(self, value: float) -> str:
        return f"validation SNR over lost packets {value:.2f} dB (mean over crops)"


RECIPE = FillGapSpeechRecipe

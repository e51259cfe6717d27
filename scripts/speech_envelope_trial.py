"""A trial, not a shipped method: correct the spectral ENVELOPE of the both-sides fill instead of its
waveform, and measure what that gives the recogniser and a listener (docs/benchmarks.md, "Session 22").

    OMP_NUM_THREADS=1 python scripts/speech_envelope_trial.py train envelope.pt --seconds 1800
    OMP_NUM_THREADS=1 python scripts/speech_envelope_trial.py wer envelope.pt --loss real,ge20,ge30
    OMP_NUM_THREADS=1 python scripts/speech_envelope_trial.py quality envelope.pt --loss real,ge20

Why: on the real traces the recogniser gets most of a perfect concealment's gain back when only the
fill's spectral envelope is made the clean speech's (`truth-envelope` in scripts/speech_wer_probe.py),
and nothing when only its energy is. The shipped waveform network never came closer than its own
input, the both-sides fill, in log-mel distance; a network that only scales that fill's STFT per mel
band has a much smaller job. The network: log-mel energies of the filled recording (40 bands, 32 ms
frames every 8 ms) and the lost share of each frame in, two convolutions and a two-layer bidirectional
GRU over the frames, 40 log gains out (zero at the start: it begins as the fill itself), spread over
the STFT bins by the mel filters, applied in the frames that touch lost samples; received samples are
kept. Trained on the fill-gap-speech recipe's data and loss traces (loss 5-70%, mean bursts 1-5
packets) with its log-mel loss over the lost frames only; learning rate 1e-3, 100 steps of warm-up,
then cosine over --seconds.
`wer` runs scripts/speech_wer_probe.py with the variant `envelope` (this network on the both-sides
fill); `quality` prints log-mel distance and level (as scripts/speech_spectrum_probe.py), PLCMOS,
PESQ and STOI against the both-sides fill and the shipped fill-gap-speech, over all bench utterances.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.audio.loss_trace import trace_spans
from core.audio.mel import mel_filters
from core.bench.speech import conceal, load_utterances, lost_mask, zero_spans
from core.bench.speech_losses import PACKET_MS, loss_traces, packet_count
from core.methods.fill_gap_speech import network_input
from core.runtime.context import RunContext
from core.train.recipes.fill_gap import AudioStreams
from core.train.recipes.fill_gap_speech import MEL_BANDS, MEL_FFT, log_mel_loss, packet_mask

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "../shared/datasets/audio"
SET = DATA / "speech/bench"
TRACES = DATA / "speech/plc/test_files"
N_FFT, BANDS = MEL_FFT, MEL_BANDS  # the training loss's filterbank, on a finer hop
HOP = 128
MEL = torch.from_numpy(mel_filters(BANDS, N_FFT, 16000)).float()  # (bands, bins)
SPREAD = MEL / MEL.sum(0, keepdim=True).clamp_min(1e-8)  # a bin's band weights sum to 1 (0 outside)


class EnvelopeNet(nn.Module):
    def __init__(self, hidden: int = 96):
        super().__init__()
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

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        seq, _ = self.gru(self.read(features).transpose(1, 2))
        return self.gains(seq).transpose(1, 2)  # (B, bands, frames) log gains


def envelope_fill(net: EnvelopeNet, received, lost, fill) -> torch.Tensor:
    """(B, L) 16 kHz tensors (`lost` 0/1) -> the concealed recordings (B, L)."""
    filled = torch.where(lost > 0, fill, received)
    window = torch.hann_window(N_FFT)
    spectrum = torch.stft(filled, N_FFT, HOP, window=window, return_complex=True)
    mel = torch.log(MEL @ spectrum.abs() ** 2 + 1e-6)
    mel = mel - mel.mean(dim=(1, 2), keepdim=True)  # level-free
    padded = nn.functional.pad(lost[:, None], (N_FFT // 2, N_FFT // 2))
    lost_share = nn.functional.avg_pool1d(padded, N_FFT, HOP)[:, :, : spectrum.shape[-1]]
    gains = net(torch.cat([mel / 5.0, lost_share], 1)).clamp(-4, 4) * (lost_share > 0)
    shaped = torch.istft(
        spectrum * torch.exp(SPREAD.T @ gains), N_FFT, HOP, window=window, length=filled.shape[-1]
    )
    return torch.where(lost > 0, shaped, received)


def load(path: str) -> EnvelopeNet:
    state = torch.load(path, weights_only=True)
    net = EnvelopeNet(hidden=state["gains.weight"].shape[1] // 2)
    net.load_state_dict(state)
    return net.eval()


def fill_utterance(net: EnvelopeNet, clean: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """The both-sides fill of `clean` (samples,) where `lost`, its envelope corrected by `net`."""
    built = torch.from_numpy(network_input(clean[None].astype(np.float32), lost[None], "both-sides"))
    with torch.no_grad():
        return envelope_fill(net, built[:, 0], built[:, 1], built[:, 2])[0].numpy().astype(np.float64)


def train(args: argparse.Namespace) -> None:
    folders = [DATA / "speech/train", DATA / "train/digits", DATA / "train/clips"]
    data = AudioStreams(folders, torch.device("cpu"))
    data.shares = [0.7, 0.15, 0.15]
    net = EnvelopeNet()
    optimiser = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
    generator, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    start, step, smooth = time.time(), 0, None
    while time.time() - start < args.seconds:
        done = (time.time() - start) / args.seconds
        for group in optimiser.param_groups:  # warm-up, then cosine over the time limit
            group["lr"] = 1e-3 * min(1.0, step / 100) * 0.5 * (1 + math.cos(math.pi * done))
        clean = data.batch(16, 16384, generator).float()
        masks = np.stack([packet_mask(16384, rng, 0.15, (0.05, 0.7), (1.0, 5.0)) for _ in range(16)])
        built = torch.from_numpy(network_input(clean.numpy(), masks > 0, "both-sides"))
        lost = torch.from_numpy(masks)
        loss = log_mel_loss(envelope_fill(net, built[:, 0], lost, built[:, 2]), clean, lost)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        step += 1
        smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
        if step % 250 == 0:
            print(f"step {step}: log-mel loss {smooth:.4f}", flush=True)
            torch.save(net.state_dict(), args.weights)
    torch.save(net.state_dict(), args.weights)
    print(f"{step} steps", flush=True)


def wer(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import speech_wer_probe as probe

    net, plain = load(args.weights), probe.concealed

    def concealed(variant, utterance, spans, lost, ctx):
        if variant != "envelope":
            return plain(variant, utterance, spans, lost, ctx)
        clean = np.asarray(utterance.doc.samples, np.float64)
        return fill_utterance(net, clean[:, 0], lost)[:, None]

    probe.concealed = concealed
    sys.argv = [sys.argv[0], "--loss", args.loss, "--variants", "envelope"]
    sys.argv += ["--cache", args.cache] if args.cache else []
    probe.main()


def quality(args: argparse.Namespace) -> None:
    from core.bench.speech_metrics import PlcMos, pesq_stoi

    net, mos = load(args.weights), PlcMos()
    utterances = load_utterances(SET)
    packets = [packet_count(len(u.doc.samples), u.doc.sample_rate) for u in utterances]
    for loss in args.loss.split(","):
        scores: dict[str, list] = {}
        for u, trace in zip(utterances, loss_traces(loss, packets, 0, TRACES)):
            spans = trace_spans(trace, 16000, len(u.doc.samples), PACKET_MS)
            lost = lost_mask(spans, len(u.doc.samples))
            clean = np.asarray(u.doc.samples, np.float64)[:, 0]
            fills = {"envelope": fill_utterance(net, clean, lost)}
            for method in ("fill-gap-repeat-both", "fill-gap-speech"):
                doc, _ = conceal(zero_spans(u.doc, spans), spans, method, RunContext(seed=0), [])
                fills[method] = np.asarray(doc.samples, np.float64)[:, 0]
            truth, mask = (
                torch.from_numpy(clean[None]).float(),
                torch.from_numpy(lost[None].astype(np.float32)),
            )
            for name, audio in fills.items():
                distance = log_mel_loss(torch.from_numpy(audio[None]).float(), truth, mask).item()
                level = np.sqrt(np.mean(audio[lost] ** 2) / max(np.mean(clean[lost] ** 2), 1e-12))
                scores.setdefault(name, []).append(
                    (distance, level, mos.score(audio), *pesq_stoi(clean, audio, 16000))
                )
        for name, rows in scores.items():
            d, lv, m, pq, st = np.nanmean(rows, axis=0)  # PESQ/STOI are NaN where undefined
            line = f"{loss} {name}: log-mel distance {d:.3f}, level {lv:.3f}, PLCMOS {m:.3f}"
            print(f"{line}, PESQ {pq:.3f}, STOI {st:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("weights")
    t.add_argument("--seconds", type=float, default=1800)
    for name in ("wer", "quality"):
        s = sub.add_parser(name)
        s.add_argument("weights")
        s.add_argument("--loss", default="real,ge20,ge30")
        s.add_argument("--cache", default=None)
    args = p.parse_args()
    {"train": train, "wer": wer, "quality": quality}[args.command](args)


if __name__ == "__main__":
    main()

"""What the recogniser needs from a concealment: WER alone (no PLCMOS/PESQ) for fills and probes, on the
speech bench with exactly the losses of `lacuna bench speech` (same traces, seeds and scoring).

    OMP_NUM_THREADS=1 python scripts/speech_wer_probe.py --loss ge20,ge30 --cache wer.json \\
        --variants truth,truth*0.5,fill-gap-speech,fill-gap-speech+level,fill-gap-speech~reverse

Variants: `zeros`; a fill-gap method id (with `:K=V` parameters); `truth` (the clean samples put back in
the lost packets: what a perfect concealment scores) and `truth*G` (the same at gain G: how much the
level of a fill matters beside its content); `ID+level` (the method's fill scaled, per run of lost
packets, to the mean RMS of the 20 ms received on either side); `ID+firstlevel` (scaled, per run,
to the RMS the fill-gap-repeat-both fill has there: the level of the first fill the network corrects);
`ID~reverse` (fill-gap-speech run forwards and on the time-reversed recording, the two fills
averaged). Oracles on the fill-gap-repeat-both fill, to learn what a recogniser needs from the lost
speech: `truth@long` / `truth@short` (the clean samples put back in the runs of 100 ms and longer /
shorter only); `truth-envelope` (the fill's spectral envelope, 20 cepstral coefficients of 32 ms
frames every 8 ms, replaced by the clean speech's) and `truth-energy` (only each frame's energy).
Each line gives the corpus WER with its 95% bootstrap interval and the paired difference to repeat's,
as the bench does. `--cache FILE` keeps the per-utterance errors so a later run adds variants without
decoding the others again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import core.methods.fill_gap_speech as speech_method
from core.audio.loss_trace import trace_spans
from core.audio.selection import runs
from core.bench.speech import conceal, load_utterances, lost_mask, zero_spans
from core.bench.speech_losses import PACKET_MS, loss_traces, packet_count
from core.bench.speech_metrics import (
    Recogniser,
    bootstrap_draws,
    corpus_wer,
    paired_difference,
    to_rate,
    word_errors,
)
from core.runtime.context import RunContext

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "../shared/datasets/audio/speech/bench"
TRACES = ROOT / "../shared/datasets/audio/speech/plc/test_files"
NEIGHBOURS = 320  # 20 ms at 16 kHz
LONG_RUN = 1600  # 100 ms at 16 kHz
ORACLE_FFT, ORACLE_HOP, ORACLE_CEPSTRA = 512, 128, 20
FORWARD_ONLY = speech_method.conceal


def both_ways(model, x, lost, rate):
    """fill-gap-speech's fill averaged with its fill of the time-reversed recording."""
    forward = FORWARD_ONLY(model, x, lost, rate)
    backward = FORWARD_ONLY(model, x[:, ::-1].copy(), lost[:, ::-1].copy(), rate)[:, ::-1]
    return np.where(lost, 0.5 * (forward + backward), x)


def runs_scaled(audio: np.ndarray, lost: np.ndarray, target_rms, max_gain: float) -> np.ndarray:
    """`audio` (samples, ...) with each run of `lost` (samples,) scaled to `target_rms(start, stop)`,
    the gain kept between 0.5 and `max_gain`."""
    out = audio.copy()
    for start, stop in runs(lost):
        rms = np.sqrt(np.mean(audio[start:stop] ** 2)) + 1e-9
        out[start:stop] = audio[start:stop] * np.clip(target_rms(start, stop) / rms, 0.5, max_gain)
    return out


def neighbours_rms(audio: np.ndarray):
    """The mean RMS of the 20 ms received on either side of a run."""

    def target(start: int, stop: int) -> float:
        sides = [audio[max(0, start - NEIGHBOURS) : start], audio[stop : stop + NEIGHBOURS]]
        return float(np.mean([np.sqrt(np.mean(s**2)) for s in sides if len(s)]))

    return target


def cepstral_envelope(spectrum: np.ndarray) -> np.ndarray:
    """(bins, frames) smooth magnitude envelope: the log magnitude's first cepstral coefficients."""
    cepstrum = np.fft.irfft(np.log(np.abs(spectrum) + 1e-7), axis=0)
    cepstrum[ORACLE_CEPSTRA : len(cepstrum) - ORACLE_CEPSTRA + 1] = 0  # c[0..19] and their mirrors kept
    return np.exp(np.fft.rfft(cepstrum, axis=0).real)


def with_clean_shape(fill: np.ndarray, clean: np.ndarray, lost: np.ndarray, what: str) -> np.ndarray:
    """`fill` (samples,) with its per-frame envelope or energy (`what`) made the clean speech's, in the
    lost samples only."""
    from scipy.signal import istft, stft

    def spectrum(x):
        return stft(x, nperseg=ORACLE_FFT, noverlap=ORACLE_FFT - ORACLE_HOP, boundary="even", padded=True)[2]

    F, C = spectrum(fill), spectrum(clean)
    if what == "envelope":
        gain = cepstral_envelope(C) / np.maximum(cepstral_envelope(F), 1e-7)
    else:
        power = (np.abs(C) ** 2).sum(0) / np.maximum((np.abs(F) ** 2).sum(0), 1e-12)
        gain = np.sqrt(power)[None]
    shaped = istft(F * np.minimum(gain, 30.0), nperseg=ORACLE_FFT, noverlap=ORACLE_FFT - ORACLE_HOP)[1]
    return np.where(lost, shaped[: len(fill)], fill)


def oracle(variant: str, utterance, spans, lost: np.ndarray, ctx) -> np.ndarray:
    """The truth-* oracles on the fill-gap-repeat-both fill (mono utterances)."""
    clean = np.asarray(utterance.doc.samples, np.float64)
    doc, _ = conceal(zero_spans(utterance.doc, spans), spans, "fill-gap-repeat-both", ctx, [])
    fill = np.asarray(doc.samples, np.float64)
    if variant in ("truth-envelope", "truth-energy"):
        fill[:, 0] = with_clean_shape(fill[:, 0], clean[:, 0], lost, variant.split("-")[1])
        return fill
    for start, stop in runs(lost):
        if (stop - start >= LONG_RUN) == (variant == "truth@long"):
            fill[start:stop] = clean[start:stop]
    return fill


def concealed(variant: str, utterance, spans, lost: np.ndarray, ctx) -> np.ndarray:
    clean = np.asarray(utterance.doc.samples, np.float64)  # (samples, channels)
    if variant == "zeros":
        return np.asarray(zero_spans(utterance.doc, spans).samples)
    if variant in ("truth@long", "truth@short", "truth-envelope", "truth-energy"):
        return oracle(variant, utterance, spans, lost, ctx)
    if variant.startswith("truth"):
        if variant != "truth" and not variant.startswith("truth*"):
            raise SystemExit(f"unknown variant {variant!r}")
        gain = float(variant.partition("*")[2] or 1.0)
        return np.where(lost[:, None], clean * gain, clean)
    method, _, post = variant.partition("+")
    method, _, trick = method.partition("~")
    speech_method.conceal = both_ways if trick == "reverse" else FORWARD_ONLY
    method_id, *params = method.split(":")
    doc, _ = conceal(zero_spans(utterance.doc, spans), spans, method_id, ctx, params)
    audio = np.asarray(doc.samples, np.float64)
    if post == "firstlevel":
        first, _ = conceal(zero_spans(utterance.doc, spans), spans, "fill-gap-repeat-both", ctx, [])
        first_audio = np.asarray(first.samples, np.float64)
        return runs_scaled(audio, lost, lambda a, b: np.sqrt(np.mean(first_audio[a:b] ** 2)), 2.0)
    # at most 4x louder from the neighbours: a near-silent fill is not blown up into noise
    return runs_scaled(audio, lost, neighbours_rms(audio), 4.0) if post == "level" else audio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--loss", default="ge20,ge30,real")
    p.add_argument("--variants", required=True)
    p.add_argument("--cache", default=None)
    args = p.parse_args()
    cache_path = Path(args.cache) if args.cache else None
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.exists() else {}
    utterances = load_utterances(SET)
    recogniser, ctx = Recogniser(), RunContext(seed=0)
    draws = bootstrap_draws(len(utterances), 0)
    for loss in args.loss.split(","):
        packets = [packet_count(len(u.doc.samples), u.doc.sample_rate) for u in utterances]
        traces = loss_traces(loss, packets, 0, TRACES)
        for variant in ["fill-gap-repeat"] + [v for v in args.variants.split(",") if v != "fill-gap-repeat"]:
            key = f"{loss}/{variant}"
            if key not in cache:
                errors, words = [], []
                for u, lost_packets in zip(utterances, traces):
                    rate = u.doc.sample_rate
                    spans = trace_spans(lost_packets, rate, len(u.doc.samples), PACKET_MS)
                    lost = lost_mask(spans, len(u.doc.samples))
                    audio = concealed(variant, u, spans, lost, ctx)
                    e, w = word_errors(u.transcript, recogniser.transcribe(to_rate(audio, rate)))
                    errors.append(e)
                    words.append(w)
                cache[key] = {"errors": errors, "words": words}
                if cache_path:
                    cache_path.write_text(json.dumps(cache))
            errors, words = np.array(cache[key]["errors"]), np.array(cache[key]["words"])
            wer, low, high = corpus_wer(errors, words, draws)
            line = f"{key}: WER {wer:.3f} ({low:.3f}-{high:.3f})"
            if variant != "fill-gap-repeat":
                base = np.array(cache[f"{loss}/fill-gap-repeat"]["errors"])
                delta, d_low, d_high = paired_difference(errors, base, words, draws)
                line += f", minus repeat {delta:+.3f} ({d_low:+.3f} to {d_high:+.3f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()

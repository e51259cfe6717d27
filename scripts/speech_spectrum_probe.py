"""How close a concealment's spectrum is to the lost speech, and at what level: the measure behind the
fill-gap-speech card's "log-mel distance" and "level" figures.

    OMP_NUM_THREADS=1 python scripts/speech_spectrum_probe.py \\
        --methods fill-gap-repeat,fill-gap-ar,fill-gap-repeat-both,fill-gap-speech

Over the first --count bench utterances with the bench's 30% Gilbert–Elliott traces (same seeds as
`lacuna bench speech --loss ge30`): the mean absolute difference of 40-band log-mel energies (32 ms
frames every 10 ms, about a recogniser's filterbank) between concealed and clean speech over the frames
that touch lost samples, and the RMS of the fill over the lost samples as a fraction of the lost
speech's. Means over utterances. LACUNA_WEIGHTS_DIR=FOLDER measures other weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from core.audio.loss_trace import trace_spans
from core.bench.speech import conceal, load_utterances, lost_mask, zero_spans
from core.bench.speech_losses import PACKET_MS, loss_traces, packet_count
from core.runtime.context import RunContext
from core.train.recipes.fill_gap_speech import log_mel_loss

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "../shared/datasets/audio/speech/bench"
TRACES = ROOT / "../shared/datasets/audio/speech/plc/test_files"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", required=True, help="fill-gap method ids, comma-separated")
    p.add_argument("--loss", default="ge30")
    p.add_argument("--count", type=int, default=6, help="the first COUNT bench utterances")
    args = p.parse_args()
    utterances = load_utterances(SET)[: args.count]
    packets = [packet_count(len(u.doc.samples), u.doc.sample_rate) for u in utterances]
    traces = loss_traces(args.loss, packets, 0, TRACES)
    scores: dict[str, list[tuple[float, float]]] = {}
    for u, trace in zip(utterances, traces):
        spans = trace_spans(trace, u.doc.sample_rate, len(u.doc.samples), PACKET_MS)
        lost = lost_mask(spans, len(u.doc.samples))
        clean = np.asarray(u.doc.samples, np.float64)[:, 0]
        for method in args.methods.split(","):
            doc, _ = conceal(zero_spans(u.doc, spans), spans, method, RunContext(seed=0), [])
            concealed = np.asarray(doc.samples, np.float64)[:, 0]
            # the training loss's own rule: log-mel distance over the frames that touch lost samples
            as_batch = [torch.from_numpy(x[None].astype(np.float32)) for x in (concealed, clean, lost)]
            distance = log_mel_loss(*as_batch).item()
            level = np.sqrt(np.mean(concealed[lost] ** 2) / np.mean(clean[lost] ** 2))
            scores.setdefault(method, []).append((distance, level))
    for method, values in scores.items():
        distance, level = np.mean(values, axis=0)
        print(f"{method}: log-mel distance {distance:.3f}, level {level:.3f} of the lost speech's")


if __name__ == "__main__":
    main()

"""`lacuna bench speech --set FOLDER --loss real,ge10,ge20,ge30 [--methods ID,ID] [--traces FOLDER]
[--plc-samples FOLDER] [--param K=V] [--limit N] [--seed S] [--draws N] [--figure PNG] [--save JSON]
[--json]`.

Protocol (the speech-recovery protocol of the datasets README):
- every recording of the set with the `.txt` transcript beside it, in name order;
- per loss setting (`core.bench.speech_losses`: the real call traces, or Gilbert-Elliott at NN% loss
  with mean bursts of 2 packets and fixed seeds; `--draws N` traces per utterance, 1 by default), the
  lost 20 ms packets are zeroed ("zeros") and
  concealed by each method through `core.repair.run_repair` with the trace's spans as the selection,
  the path of `lacuna repair --loss-trace`;
- the baselines always run: zeros, `fill-gap-repeat`, `fill-gap-ar`; `--methods` adds others by id;
- scores (`core.bench.speech_metrics`) of the clean, lossy and concealed audio: corpus WER of
  pocketsphinx with a 95% bootstrap interval over utterances (1000 resamples, seed `--seed`; an
  utterance's draws are resampled together), and its paired difference to repeat's on the same
  resamples; PLCMOS;
  wide-band PESQ and STOI against the clean utterance (means over utterances);
- `--plc-samples`: against a published concealment (`core.bench.speech_plc`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.bench.common import check_methods, markdown_table, own_params
from core.bench.fill_gap import audio_files
from core.bench.speech_losses import PACKET_MS, loss_traces, packet_count, parse_losses
from core.bench.speech_metrics import (
    RATE,
    PlcMos,
    Recogniser,
    bootstrap_draws,
    corpus_wer,
    paired_difference,
    pesq_stoi,
    require,
    to_rate,
    word_errors,
)
from core.errors import LacunaError

BASELINES = ("fill-gap-repeat", "fill-gap-ar")
REFERENCE = "repeat"  # every other row's WER is also given as a paired difference to this baseline's
FIGURE_LOSS = "ge30"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench speech", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="folder of clean speech recordings with .txt transcripts")
    p.add_argument("--loss", default="real,ge10,ge20,ge30", help="real and/or geNN (NN%% Gilbert-Elliott)")
    p.add_argument("--methods", default="", help="fill-gap methods besides the baselines, comma-separated")
    p.add_argument(
        "--traces", default=None, help="folder of real *_is_lost.txt traces (default: ../plc/test_files)"
    )
    p.add_argument(
        "--plc-samples", default=None, help="folder with clean/, corrupted/ and improved/ recordings"
    )
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="for the methods that take K")
    p.add_argument("--limit", type=int, default=0, help="only the first N recordings")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--draws",
        type=int,
        default=1,
        help="loss traces drawn per utterance and setting, pooled: one trace's luck moves a small set's WER",
    )
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--figure", default=None, help=f"spectrograms of the first recording at {FIGURE_LOSS} (PNG)"
    )
    p.add_argument("--save", default=None, help="also write everything measured to this JSON file")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return p


@dataclass
class Utterance:
    name: str
    doc: Any  # AudioDoc
    transcript: str
    clean: np.ndarray  # mono 16 kHz, what is scored


def load_utterances(folder: str | Path, limit: int = 0) -> list[Utterance]:
    from core.io import read

    files = audio_files(folder)[: limit or None]
    utterances = []
    for path in files:
        text = path.with_suffix(".txt")
        if not text.is_file():
            raise LacunaError(f"{path.name}: no transcript {text.name} beside it")
        doc = read(path)
        utterances.append(
            Utterance(path.stem, doc, text.read_text().strip(), to_rate(doc.samples, doc.sample_rate))
        )
    return utterances


def label(method_id: str) -> str:
    return method_id.removeprefix("fill-gap-")


class Scorer:
    """Every score of one recording against its clean version."""

    def __init__(self, seed: int):
        self.recogniser = Recogniser()
        self.mos = PlcMos(seed)

    def __call__(self, clean: np.ndarray, audio: np.ndarray, transcript: str | None = None) -> dict[str, Any]:
        scores: dict[str, Any] = {"plcmos": self.mos.score(audio)}
        scores["pesq"], scores["stoi"] = pesq_stoi(clean, audio, RATE)
        if transcript is not None:
            hypothesis = self.recogniser.transcribe(audio)
            scores["errors"], scores["words"] = word_errors(transcript, hypothesis)
            scores["hypothesis"] = hypothesis
        return scores


def lost_mask(spans, length: int) -> np.ndarray:
    """(length,) bool: the samples the lost packets' spans cover."""
    lost = np.zeros(length, bool)
    for span in spans:
        lost[span.start : span.stop] = True
    return lost


def zero_spans(doc, spans):
    """The recording with the lost packets' samples set to zero: what a decoder without concealment plays."""
    samples = np.array(doc.samples, copy=True)
    samples[lost_mask(spans, len(samples))] = 0
    return doc.with_samples(samples)


def conceal(doc, spans, method_id: str, ctx, params: list[str]) -> tuple[Any, float]:
    """`method_id`'s concealment of the spans, as `lacuna repair` runs it (with the `--param K=V` values
    it takes), and the seconds it took."""
    from core.repair import run_repair

    if not spans:
        return doc, 0.0
    start = time.perf_counter()
    out = run_repair(doc, "fill-gap", method=method_id, mask=spans, ctx=ctx, **own_params(method_id, params))
    return out, time.perf_counter() - start


def check_params(pairs: list[str], method_ids: list[str]) -> None:
    """Every --param names a parameter of at least one method run (a typo is not silently ignored)."""
    from core.repair_cli import parse_params

    taken = set().union(*(own_params(m, pairs) for m in method_ids))
    unused = sorted(set(parse_params(pairs)) - taken)
    if unused:
        raise LacunaError(f"--param {unused[0]}: none of {', '.join(method_ids)} takes it")


def main(argv: list[str]) -> int:
    from core.audio.loss_trace import trace_spans
    from core.runtime.context import RunContext

    args = build_parser().parse_args(argv)
    if args.draws < 1:
        raise LacunaError(f"--draws {args.draws}: give at least one loss trace per utterance")
    require()
    losses = parse_losses(args.loss)
    extra = [m.strip() for m in args.methods.split(",") if m.strip()]
    ids = check_methods(list(BASELINES) + [m for m in extra if m not in BASELINES], "fill-gap")
    check_params(args.param, ids)
    utterances = load_utterances(args.set, args.limit)
    traces = args.traces or Path(args.set).resolve().parent / "plc" / "test_files"
    ctx = RunContext(device=args.device, seed=args.seed)
    score = Scorer(args.seed)
    records = [
        {"utterance": u.name, "index": k, "loss": "none", "method": "clean", "lost": 0, "packets": 0}
        | {"seconds": 0.0}
        | score(u.clean, u.clean, u.transcript)
        for k, u in enumerate(utterances)
    ]
    figure = None
    for index, loss in enumerate(losses):
        print(f"lacuna bench speech: {loss} ({index + 1}/{len(losses)})", file=sys.stderr)
        packets = [packet_count(len(u.doc.samples), u.doc.sample_rate) for u in utterances]
        drawn = [
            (draw, k, u, lost)
            for draw in range(args.draws)
            for k, (u, lost) in enumerate(
                zip(utterances, loss_traces(loss, packets, args.seed, traces, draw, args.draws))
            )
        ]
        for draw, k, u, lost in drawn:
            rate = u.doc.sample_rate
            spans = trace_spans(lost, rate, len(u.doc.samples), PACKET_MS)
            lossy = zero_spans(u.doc, spans)
            outputs = {"zeros": (lossy, 0.0)} | {
                label(m): conceal(lossy, spans, m, ctx, args.param) for m in ids
            }
            heard = {method: to_rate(doc.samples, rate) for method, (doc, _) in outputs.items()}
            for method, (_doc, seconds) in outputs.items():
                record = {"utterance": u.name, "index": k, "loss": loss, "method": method, "draw": draw}
                record |= {"lost": int(lost.sum()), "packets": len(lost), "seconds": seconds}
                records.append(record | score(u.clean, heard[method], u.transcript))
            shown = FIGURE_LOSS if FIGURE_LOSS in losses else losses[-1]
            if args.figure and draw == k == 0 and loss == shown:
                figure = (u.name, lost, {"clean": u.clean} | heard)
    resamples = bootstrap_draws(len(utterances), args.seed)
    summary = {
        "set": str(args.set),
        "utterances": len(utterances),
        "reference words": sum(r["words"] for r in records if r["method"] == "clean"),
        "packet": f"{PACKET_MS:g} ms",
        "real traces": str(traces) if "real" in losses else "-",
        "seed": args.seed,
        "loss traces per utterance": args.draws,
        "method parameters": " ".join(args.param) or "defaults",
        "WER interval": f"95% bootstrap over utterances, {resamples.shape[0]} resamples",
        "recogniser": "pocketsphinx en-US (the model in its wheel)",
        "device": str(ctx.torch_device()),
    }
    result: dict[str, Any] = {"title": f"speech packet loss on {Path(args.set).name}", "summary": summary}
    result["rows"] = summarise(records, resamples)
    if args.plc_samples:
        from core.bench.speech_plc import compare_published

        result["plc_samples"], summary["plc samples lost %"] = compare_published(
            args.plc_samples, ids, ctx, args.param, score
        )
    if figure:
        from core.bench.speech_figure import write_figure

        name, lost, signals = figure
        summary["figure"] = str(write_figure(name, RATE, lost, RATE * PACKET_MS / 1000, signals, args.figure))
    result["utterances"] = records
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=2, default=_plain) + "\n")
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=_plain)
        print()
    else:
        print_markdown(result)
    return 0


def summarise(records: list[dict[str, Any]], resamples: np.ndarray) -> list[dict[str, Any]]:
    """One row per loss setting and method, in the order measured (utterances in the same order)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["loss"], record["method"]), []).append(record)
    rows = []
    for (loss, method), group in groups.items():
        errors, words = per_utterance(group, "errors"), per_utterance(group, "words")
        wer, low, high = corpus_wer(errors, words, resamples)
        versus = "-"
        if (loss, REFERENCE) in groups and method != "clean":
            base = per_utterance(groups[(loss, REFERENCE)], "errors")
            delta, d_low, d_high = paired_difference(errors, base, words, resamples)
            versus = f"{delta:+.3f} ({d_low:+.3f} to {d_high:+.3f})"
        packets = sum(r["packets"] for r in group)
        rows.append(
            {
                "loss": loss,
                "method": method,
                "lost %": f"{100.0 * sum(r['lost'] for r in group) / packets:.1f}" if packets else "0",
                "WER": round(wer, 3),
                "WER 95% CI": f"{low:.3f}-{high:.3f}",
                f"WER - {REFERENCE} (95% CI)": versus,
                "PLCMOS": _mean(r["plcmos"] for r in group),
                "PESQ": _mean(r["pesq"] for r in group),
                "STOI": _mean(r["stoi"] for r in group),
                "fill s": round(sum(r["seconds"] for r in group), 2),  # every draw's
            }
        )
    return rows


def per_utterance(group: list[dict[str, Any]], key: str) -> list[int]:
    """`key` summed over each utterance's draws, in the utterances' order: the bootstrap resamples
    utterances, each with all its draws."""
    sums: dict[int, int] = {}
    for record in group:
        sums[record["index"]] = sums.get(record["index"], 0) + record[key]
    return [sums[index] for index in sorted(sums)]


def print_markdown(result: dict[str, Any]) -> None:
    print(f"## {result['title']}\n\n{markdown_table(result['rows'])}")
    if "plc_samples" in result:
        print("\n### Against the published concealment (tPLCnet) on the plc samples\n")
        print(markdown_table(result["plc_samples"]))
    print("\n**Summary**\n")
    for key, value in result["summary"].items():
        print(f"- {key}: {value}")


def _mean(values) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return round(float(np.mean(finite)), 3) if finite else float("nan")


def _plain(value: Any) -> Any:
    """JSON for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)

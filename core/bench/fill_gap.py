"""`lacuna bench fill-gap --set FOLDER --gaps 5,10,20,50,100,200,500 [--method ID ...] [--limit N]
[--per-file K] [--json] [--figure PATH]`.

Protocol:
- every audio file of the folder (sorted by name); `--per-file` gaps of each length per file, placed
  with fixed seeds (`default_rng([seed, file, gap, k])`) on voiced/energetic audio: the gap's RMS must
  be within 30 dB of the file's loudest 10 ms frame, with at least 50 ms of audio on both sides;
- the gap's samples are zeroed (a dropout) and the selection is a `TimeSpan`; each method runs through
  `core.repair.run_repair`, the path the app uses;
- metrics: SNR (dB) on the gap's samples; log-spectral distance (dB) on the STFT frames touching the
  gap (32 ms Hann, 8 ms hop, 80 dB floor below the clean frames' peak); for speech (a LibriSpeech
  sidecar, or a folder named like "digits"), PESQ (wide-band at 16 kHz, narrow-band for 8 kHz audio)
  and STOI on a window reaching 0.5 s either side of the gap;
- the baselines are always run: silence, linear crossfade, LSAR.
Each row is the mean over the gaps of one length; `n` says how many gaps it covers.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.bench.common import emit
from core.errors import LacunaError

BASELINES = ("fill-gap-silence", "fill-gap-crossfade", "fill-gap-ar")
AUDIO_SUFFIXES = {".wav", ".ogg", ".flac", ".oga", ".mp3", ".aif", ".aiff"}
VOICED_DB = -30.0
MIN_CONTEXT_SECONDS = 0.05
METRIC_WINDOW_SECONDS = 0.5


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench fill-gap", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="folder of clean recordings (a bench set)")
    p.add_argument("--gaps", default="5,10,20,50,100,200,500", help="gap lengths in ms")
    p.add_argument(
        "--method", nargs="+", default=None, help="methods besides the baselines (default: auto, learned)"
    )
    p.add_argument(
        "--per-file", type=int, default=0, help="gaps of each length per file (default 3; 1 for >50 files)"
    )
    p.add_argument("--limit", type=int, default=0, help="only the first N files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--speech", choices=["auto", "yes", "no"], default="auto", help="compute PESQ/STOI")
    p.add_argument("--figure", default=None, help="write spectrograms of three fills to this PNG")
    p.add_argument("--json", action="store_true")
    return p


def audio_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    files = (
        sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES) if folder.is_dir() else []
    )
    if not files:
        raise LacunaError(f"no audio files in {folder}")
    return files


def is_speech(path: Path, choice: str) -> bool:
    if choice != "auto":
        return choice == "yes"
    if any(word in path.parent.name.lower() for word in ("digit", "speech")):
        return True
    sidecar = path.with_suffix(".txt")
    text = sidecar.read_text(errors="replace").lower() if sidecar.is_file() else ""
    return "librispeech" in text or "speech" in text


def place_gap(samples: np.ndarray, rate: int, gap: int, rng: np.random.Generator) -> int | None:
    """Start of a gap of `gap` samples on energetic audio, or None if the file has no room for one."""
    mono = samples.mean(axis=1).astype(np.float64)
    margin = int(MIN_CONTEXT_SECONDS * rate)
    if len(mono) < gap + 2 * margin:
        return None
    hop = max(1, rate // 100)
    frames = len(mono) // hop
    rms = np.sqrt(np.mean(mono[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-20)
    floor = rms.max() * 10 ** (VOICED_DB / 20)
    voiced = np.flatnonzero(rms >= floor)
    for _ in range(64):
        centre = int(voiced[rng.integers(len(voiced))]) * hop + hop // 2
        start = int(np.clip(centre - gap // 2, margin, len(mono) - margin - gap))
        if np.sqrt(np.mean(mono[start : start + gap] ** 2)) >= floor:
            return start
    return None


def snr_db(clean: np.ndarray, result: np.ndarray) -> float:
    err = float(np.sum((clean - result) ** 2))
    sig = float(np.sum(clean**2))
    return float("inf") if err == 0 else 10.0 * math.log10(max(sig, 1e-20) / err)


def log_spectral_distance(clean: np.ndarray, result: np.ndarray, rate: int, start: int, stop: int) -> float:
    """Mean over the frames touching [start, stop) of the RMS difference of dB power spectra."""
    import torch

    from core.audio.stft import frame_params, frames_touching, stft

    n_fft, hop = frame_params(rate)
    a = torch.from_numpy(np.ascontiguousarray(clean.T, np.float64))
    b = torch.from_numpy(np.ascontiguousarray(result.T, np.float64))
    pa, pb = stft(a, n_fft, hop).abs() ** 2, stft(b, n_fft, hop).abs() ** 2
    f0, f1 = frames_touching(start, stop, n_fft, hop, pa.shape[-1])
    pa, pb = pa[..., f0:f1], pb[..., f0:f1]
    floor = pa.amax() * 1e-8 + 1e-20
    da, db = 10 * torch.log10(pa + floor), 10 * torch.log10(pb + floor)
    return float(torch.sqrt(((da - db) ** 2).mean(dim=-2)).mean())


def speech_scores(
    clean: np.ndarray, result: np.ndarray, rate: int, start: int, stop: int
) -> tuple[float, float]:
    """(PESQ, STOI) on mono audio reaching 0.5 s either side of the gap; NaN when undefined."""
    from core.bench.speech_metrics import pesq_stoi

    reach = int(METRIC_WINDOW_SECONDS * rate)
    lo, hi = max(0, start - reach), min(len(clean), stop + reach)
    return pesq_stoi(clean[lo:hi].mean(axis=1), result[lo:hi].mean(axis=1), rate)


def main(argv: list[str]) -> int:
    from core.audio.selection import TimeSpan
    from core.io import read
    from core.methods import get_method, methods
    from core.repair import run_repair
    from core.runtime.context import RunContext

    args = build_parser().parse_args(argv)
    gaps = [float(g) for g in args.gaps.replace(" ", "").split(",") if g]
    extra = args.method or [
        c.id for c in methods("fill-gap") if c.id in ("fill-gap-auto", "fill-gap-learned") and c.available
    ]
    ids = list(BASELINES) + [m for m in extra if m not in BASELINES]
    for mid in ids:
        card = get_method(mid).card
        if not card.available:
            raise LacunaError(f"method {mid} cannot run: {card.unavailable_reason}")
    files = audio_files(args.set)
    if args.limit:
        files = files[: args.limit]
    per_file = args.per_file or (1 if len(files) > 50 else 3)
    ctx = RunContext(device=args.device, seed=args.seed)

    acc: dict[tuple[float, str], dict[str, list[float]]] = {}
    examples: list[dict[str, Any]] = []
    for fi, path in enumerate(files):
        doc = read(path)
        clean = np.asarray(doc.samples, np.float32)
        rate = int(doc.sample_rate)
        speech = is_speech(path, args.speech)
        for gap_ms in gaps:
            gap = max(1, int(round(gap_ms * rate / 1000)))
            for k in range(per_file):
                rng = np.random.default_rng([args.seed, fi, int(gap_ms * 10), k])
                start = place_gap(clean, rate, gap, rng)
                if start is None:
                    continue
                damaged = clean.copy()
                damaged[start : start + gap] = 0.0
                broken = doc.with_samples(damaged)
                results = {}
                for mid in ids:
                    t0 = time.perf_counter()
                    out = run_repair(
                        broken, "fill-gap", method=mid, mask=TimeSpan(start, start + gap), ctx=ctx
                    )
                    seconds = time.perf_counter() - t0
                    result = np.asarray(out.samples)
                    results[mid] = result
                    scores = acc.setdefault((gap_ms, mid), {})
                    scores.setdefault("snr", []).append(
                        snr_db(clean[start : start + gap], result[start : start + gap])
                    )
                    scores.setdefault("lsd", []).append(
                        log_spectral_distance(clean, result, rate, start, start + gap)
                    )
                    scores.setdefault("seconds", []).append(seconds)
                    if speech:
                        p, s = speech_scores(clean, result, rate, start, start + gap)
                        scores.setdefault("pesq", []).append(p)
                        scores.setdefault("stoi", []).append(s)
                if k == 0:
                    examples.append(
                        {
                            "name": path.stem,
                            "gap_ms": gap_ms,
                            "start": start,
                            "stop": start + gap,
                            "rate": rate,
                            "clean": clean,
                            "results": results,
                        }
                    )

    rows = []
    for gap_ms in gaps:
        for mid in ids:
            scores = acc.get((gap_ms, mid))
            if not scores:
                continue
            row = {
                "gap_ms": gap_ms,
                "method": mid,
                "n": len(scores["snr"]),
                "snr_db": _mean(scores["snr"]),
                "lsd_db": _mean(scores["lsd"]),
            }
            if "pesq" in scores:  # over the speech files only
                row["n_speech"] = len(scores["pesq"])
                row["pesq"] = _mean(scores["pesq"])
                row["stoi"] = _mean(scores["stoi"])
            row["seconds"] = _mean(scores["seconds"])
            rows.append(row)
    if any("pesq" in r for r in rows):  # one column set for the table
        for r in rows:
            seconds = r.pop("seconds")
            r.setdefault("n_speech", 0)
            r.setdefault("pesq", float("nan"))
            r.setdefault("stoi", float("nan"))
            r["seconds"] = seconds
    summary = {
        "set": str(args.set),
        "files": len(files),
        "speech_files": sum(is_speech(p, args.speech) for p in files),
        "gaps_per_length_per_file": per_file,
        "seed": args.seed,
        "device": str(ctx.torch_device()),
    }
    if args.figure:
        summary["figure"] = str(write_figure(_pick_examples(examples), ids, args.figure))
    emit(rows, summary, args.json, f"fill-gap on {Path(args.set).name}")
    return 0


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _pick_examples(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Three fills for the figure: a short, a medium and the longest gap, from different files if any."""
    if not examples:
        return []
    by_gap = sorted({e["gap_ms"] for e in examples})
    wanted = (
        [by_gap[len(by_gap) // 3], by_gap[(2 * len(by_gap)) // 3], by_gap[-1]] if len(by_gap) >= 3 else by_gap
    )
    picked, used = [], set()
    for gap_ms in wanted:
        options = [e for e in examples if e["gap_ms"] == gap_ms]
        fresh = [e for e in options if e["name"] not in used] or options
        choice = fresh[0]
        used.add(choice["name"])
        picked.append(choice)
    return picked


def write_figure(examples: list[dict[str, Any]], ids: list[str], path: str | Path) -> Path:
    """One row per example: clean, with the gap, then each method's fill; dB spectrograms 0.4 s either
    side of the gap, the gap marked by two white ticks at the top."""
    from PIL import Image, ImageDraw, ImageFont

    from core.audio.picture import colorize, spectrogram_db
    from core.audio.stft import frame_params

    panel_w, panel_h, label_h, pad = 240, 160, 16, 6
    columns = ["clean", *[m.removeprefix("fill-gap-") for m in ids if m != "fill-gap-silence"]]
    canvas = Image.new(
        "RGB",
        (pad + len(columns) * (panel_w + pad), pad + len(examples) * (panel_h + 2 * label_h + pad)),
        (255, 255, 255),
    )
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1: the bitmap font
        font = ImageFont.load_default()
    for row, ex in enumerate(examples):
        rate, a, b = ex["rate"], ex["start"], ex["stop"]
        reach = int(0.4 * rate)
        lo, hi = max(0, a - reach), min(len(ex["clean"]), b + reach)
        n_fft, hop = frame_params(rate)
        signals = [ex["clean"]] + [ex["results"][m] for m in ids if m != "fill-gap-silence"]
        spectra = [spectrogram_db(s[lo:hi].mean(axis=1), n_fft, hop) for s in signals]
        top = max(float(s.max()) for s in spectra)
        y0 = pad + row * (panel_h + 2 * label_h + pad)
        title = f"{ex['name'][:40]}  |  gap {ex['gap_ms']:g} ms  |  from {a / rate:.2f} s"
        draw.text((pad, y0), title, fill=(0, 0, 0), font=font)
        for col, (name, spec) in enumerate(zip(columns, spectra)):
            x0 = pad + col * (panel_w + pad)
            image = Image.fromarray(colorize(spec, top, 80.0)).resize((panel_w, panel_h), Image.BILINEAR)
            canvas.paste(image, (x0, y0 + label_h))
            for edge in (a, b):
                x = x0 + int((edge - lo) / max(hi - lo, 1) * panel_w)
                draw.line([(x, y0 + label_h), (x, y0 + label_h + 8)], fill=(255, 255, 255), width=2)
            draw.text((x0, y0 + label_h + panel_h + 2), name, fill=(0, 0, 0), font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path

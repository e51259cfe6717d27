"""`lacuna bench speech --plc-samples FOLDER`: our concealment against a published one.

The folder holds `clean/`, `corrupted/` and `improved/` recordings of the same names (the shared
`plc/audio_samples`: real lossy calls, and the tPLCnet network's concealment of them). The lost packets
of `corrupted/` are exact zeros on the 20 ms grid (`core.audio.loss_trace.zeroed_packets`); each of our
methods conceals them through `core.repair.run_repair`. Scored against `clean/`: PLCMOS, wide-band PESQ
and STOI, means over the recordings (no transcripts here, so no WER).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import LacunaError


def compare_published(
    folder: str | Path, ids: list[str], ctx, params: list[str], score
) -> tuple[list[dict[str, Any]], float]:
    """Rows: clean, corrupted (zeros), improved (the published concealment), then each method; and the
    percentage of packets lost in the corrupted recordings."""
    from core.audio.loss_trace import trace_spans, zeroed_packets
    from core.bench.speech import conceal, label
    from core.bench.speech_losses import PACKET_MS
    from core.bench.speech_metrics import to_rate
    from core.io import read

    folder = Path(folder)
    names = sorted(p.name for p in (folder / "corrupted").glob("*.wav")) if folder.is_dir() else []
    if not names:
        raise LacunaError(f"no corrupted/*.wav in {folder}: give the plc audio_samples folder")
    per_method: dict[str, list[dict[str, Any]]] = {}
    lost_packets = total_packets = 0
    for name in names:
        docs = {}
        for part in ("clean", "corrupted", "improved"):
            if not (folder / part / name).is_file():
                raise LacunaError(f"{folder / part / name} is missing (needed beside corrupted/{name})")
            docs[part] = read(folder / part / name)
        rate = docs["corrupted"].sample_rate
        lost = zeroed_packets(docs["corrupted"].samples, rate, PACKET_MS)
        lost_packets, total_packets = lost_packets + int(lost.sum()), total_packets + len(lost)
        spans = trace_spans(lost, rate, len(docs["corrupted"].samples), PACKET_MS)
        outputs = {"clean": docs["clean"], "zeros (corrupted)": docs["corrupted"]}
        outputs["tPLCnet (improved)"] = docs["improved"]
        outputs |= {label(m): conceal(docs["corrupted"], spans, m, ctx, params)[0] for m in ids}
        clean = to_rate(docs["clean"].samples, docs["clean"].sample_rate)
        for method, doc in outputs.items():
            per_method.setdefault(method, []).append(score(clean, to_rate(doc.samples, doc.sample_rate)))
    rows = []
    for method, scores in per_method.items():
        row: dict[str, Any] = {"method": method, "recordings": len(scores)}
        for key, title in (("plcmos", "PLCMOS"), ("pesq", "PESQ"), ("stoi", "STOI")):
            row[title] = round(sum(s[key] for s in scores) / len(scores), 3)
        rows.append(row)
    return rows, round(100.0 * lost_packets / max(total_packets, 1), 1)

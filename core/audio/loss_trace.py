"""Packet-loss traces: which packets of a call recording were lost, as the selections to conceal.

A trace is a text file with one line per packet, `1` lost and `0` received (the format of the shared
`plc/*_is_lost.txt` traces and of common VoIP tools); packets are `packet_ms` long (20 ms by default)
from the start of the recording. Consecutive lost packets become one span.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.audio.selection import TimeSpan
from core.errors import MethodError

DEFAULT_PACKET_MS = 20.0


def read_trace(path: str | Path) -> np.ndarray:
    """The trace's packets as bools (True: lost); a MethodError naming the line that is not 0 or 1."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise MethodError(f"{path.name}: cannot read the loss trace ({exc})") from exc
    lost = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.strip()
        if not value:
            continue
        if value not in ("0", "1"):
            raise MethodError(
                f"{path.name}, line {number}: a loss trace holds 0 or 1 per line, not {value[:20]!r}"
            )
        lost.append(value == "1")
    if not lost:
        raise MethodError(f"{path.name}: the loss trace is empty")
    return np.asarray(lost, bool)


def trace_spans(
    lost: np.ndarray, sample_rate: int, length: int, packet_ms: float = DEFAULT_PACKET_MS
) -> list[TimeSpan]:
    """The lost packets as spans of samples, runs merged, clipped to the recording's `length`."""
    if not np.isfinite(packet_ms) or packet_ms <= 0:
        raise MethodError(f"--packet-ms must be a positive number of milliseconds, not {packet_ms!r}")
    packet = sample_rate * packet_ms / 1000.0
    spans: list[TimeSpan] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], lost, [False]]).astype(np.int8)))
    for first, stop in zip(edges[::2], edges[1::2]):
        start, end = int(round(first * packet)), min(int(round(stop * packet)), length)
        if start < end:
            spans.append(TimeSpan(start, end))
    return spans

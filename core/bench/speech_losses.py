"""The loss settings of `lacuna bench speech`: which 20 ms packets of each bench utterance are lost.

- `geNN` (say `ge20`): the Gilbert-Elliott model (`core.audio.loss_trace.gilbert_elliott`) at NN%
  loss with mean bursts of 2 packets; utterance k (in name order) gets the trace drawn by
  `numpy.random.default_rng([seed, NN, k])`.
- `real`: the real call traces `*_is_lost.txt` of the traces folder (the shared `plc/test_files`), in
  name order, joined end to end and looped; the utterances, in name order, play through them one
  after another: utterance 0 starts on the traces' first packet, utterance k on the packet after
  the last one of utterance k-1.

With several draws per utterance (`lacuna bench speech --draws N`), draw d > 0 of a `geNN` trace is
drawn by `default_rng([seed, NN, k, d])`, and of `real` starts d/N of the way into the joined traces;
draw 0 is the single draw above.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from core.audio.loss_trace import gilbert_elliott, read_trace
from core.errors import LacunaError

PACKET_MS = 20.0
MEAN_BURST = 2.0  # packets


def parse_losses(text: str) -> list[str]:
    """The comma-separated settings, each checked: `real` or `geNN` with NN a loss in percent."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise LacunaError("--loss names no setting: give real and/or geNN (say ge20 for 20% loss)")
    for name in names:
        if name != "real" and not re.fullmatch(r"ge\d{1,2}", name):
            raise LacunaError(f"--loss {name!r}: a setting is `real` or geNN (a loss of NN%, say ge20)")
    return names


def packet_count(samples: int, rate: int) -> int:
    return int(np.ceil(samples * 1000.0 / (rate * PACKET_MS)))


def loss_traces(
    name: str, packets: list[int], seed: int, traces_folder: str | Path, draw: int = 0, draws: int = 1
) -> list[np.ndarray]:
    """One trace (True: lost) per utterance, of `packets[k]` packets for utterance k: draw `draw` of
    `draws` per utterance."""
    if name == "real":
        return _real_traces(packets, traces_folder, draw / draws)
    percent = int(name[2:])
    return [
        gilbert_elliott(count, percent / 100.0, _rng(seed, percent, k, draw), MEAN_BURST)
        for k, count in enumerate(packets)
    ]


def _rng(seed: int, percent: int, k: int, draw: int) -> np.random.Generator:
    # draw 0 keeps the seed of the single-draw protocol, so its traces are the ones measured before
    return np.random.default_rng([seed, percent, k] if draw == 0 else [seed, percent, k, draw])


def _real_traces(packets: list[int], folder: str | Path, start: float = 0.0) -> list[np.ndarray]:
    files = sorted(Path(folder).glob("*_is_lost.txt")) if Path(folder).is_dir() else []
    if not files:
        raise LacunaError(f"no real loss traces (*_is_lost.txt) in {folder}: give --traces FOLDER")
    looped = np.concatenate([read_trace(path) for path in files])
    position, traces = int(start * len(looped)), []
    for count in packets:
        traces.append(np.resize(np.roll(looped, -position), count))
        position = (position + count) % len(looped)
    return traces

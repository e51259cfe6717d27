"""Repairing recordings: the audio method gets the document and the selections and returns a new one."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.audio.selection import as_selections, describe_bands, runs
from core.documents import AudioDoc
from core.repair.request import Request
from core.runtime.context import Progress


def repair_audio(request: Request) -> Generator[Progress, None, AudioDoc]:
    return (yield from request.method.run(request.document, request.mask, request.ctx, **request.params))


# Unchanged stretches shorter than this inside a fill (a sample equal by chance, a zero crossing) do
# not split it: the record lists fills, not every sample.
JOIN_SECONDS = 0.001


def changed_seconds(before: AudioDoc, after: AudioDoc) -> list[list[float]]:
    """The [start, end) seconds, to the millisecond, where any channel of `after` differs from
    `before`: what a repair reconstructed, measured rather than taken from the selection (a fill's
    crossfade reaches past it)."""
    if before.samples.shape != after.samples.shape:
        return [[0.0, round(len(after.samples) / after.sample_rate, 3)]]
    differs = np.any(np.asarray(before.samples) != np.asarray(after.samples), axis=1)
    join = int(JOIN_SECONDS * after.sample_rate)
    spans: list[list[int]] = []
    for a, b in runs(differs):
        if spans and a - spans[-1][1] <= join:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    # To the millisecond, outwards: a change shorter than half of one (a declick) keeps its length.
    # In whole numbers: 128640 / 16000 in floats is 8.0399999... (a walk-through read 8.039).
    whole = int(after.sample_rate)
    return [[(a * 1000 // whole) / 1000, -(-b * 1000 // whole) / 1000] for a, b in spans]


def bands_of(document: AudioDoc, selection) -> str:
    """The time-frequency selections a fill was limited to, for its record ("" for time spans)."""
    length, channels = document.samples.shape
    return describe_bands(as_selections(selection, length, channels), int(document.sample_rate))

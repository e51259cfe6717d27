"""Damage detection that proposes selections: clicks/crackle, dropouts and discontinuities.

- Clicks and crackle: impulses the signal's own short-term AR model cannot predict. The prediction
  error of a block-wise AR model (order ~1 ms) is white-ish for clean audio; an isolated error peak
  beyond `threshold` times a robust (median absolute deviation) scale is a click; the span covers the
  AR order after it, since one impulse spoils that many predictions. (Dense crackle whose clicks fall
  within 10 ms of each other fails the isolation test: lower `isolation` for such records.)
- Dropouts: runs of digital silence (every channel exactly constant, usually zero) of at least
  `min_dropout_ms`, inside audio that is not itself silent.
- Discontinuities: a jump between two consecutive samples far larger than the local sample-to-sample
  differences (a splice where samples were lost).
- Silences through voiced speech: a lost packet replaced by near-silence (comfort noise, a muted
  codec frame) rather than exact zeros. Speech itself pauses, but it fades into and out of a pause
  and rarely leaves a vowel for silence and back within a tenth of a second; a span whose level
  falls `silence_db` below the voiced speech on both sides within a few milliseconds, with periodic
  (voiced) audio right before and right after it, is such a dropout.

Each finding is a `Detection` with a `TimeSpan` ready to pass to `repair(..., mask=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter
from scipy.signal import lfilter

from core.audio.ar import ar_coefficients
from core.audio.selection import TimeSpan, runs

BLOCK_SECONDS = 0.05
SILENCE_FRAME_SECONDS = 0.002
# How far above the local scale of the prediction error a click stands: 16 kept the recall of
# planted clicks on training speech and music (228 of 240, as at 12) with 28% fewer marks on clean
# training speech (0.46 a second against 0.64; music 0.52 against 0.62), docs/benchmarks.md
CLICK_THRESHOLD = 16.0
CONTEXT_SECONDS = 0.1  # how far from a run of digital silence the sound that makes it a dropout may be
LONG_RUN_SECONDS = 0.01  # from this long, a run of digital silence looks that far for sound
TAIL_DB, TAIL_SECONDS = -75.0, 0.08  # a codec's fade beside a hole: below a call's room tone (-62 dBFS)


@dataclass(frozen=True)
class Detection:
    kind: str  # "click", "dropout", "silence" or "discontinuity"
    selection: TimeSpan
    score: float  # how far past the threshold (x threshold), or the dropout length in ms


def _merge(spans: list[tuple[int, int, float]], gap: int) -> list[tuple[int, int, float]]:
    merged: list[list] = []
    for start, stop, score in sorted(spans):
        if merged and start <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], stop)
            merged[-1][2] = max(merged[-1][2], score)
        else:
            merged.append([start, stop, score])
    return [(int(a), int(b), float(s)) for a, b, s in merged]


def ar_residual(x: np.ndarray, sample_rate: int, order: int | None = None) -> np.ndarray:
    """Prediction error of a block-wise AR model (blocks of 50 ms, model from the block's neighbourhood)."""
    p = order or max(8, int(round(0.001 * sample_rate)))
    block = max(int(BLOCK_SECONDS * sample_rate), 4 * p)
    out = np.zeros(len(x))
    for start in range(0, len(x), block):
        stop = min(len(x), start + block)
        lo, hi = max(0, start - block), min(len(x), stop + block)
        a = ar_coefficients([x[lo:hi]], p)
        seg = x[max(0, start - p) : stop]
        out[start:stop] = lfilter(a, [1.0], seg)[start - max(0, start - p) :]
    # The first p samples have no past to be predicted from: their "error" is the recording's start
    # (a clean test tone was taken for a click there and rewritten).
    out[:p] = 0.0
    return out


def find_clicks(
    samples: np.ndarray, sample_rate: int, threshold: float = CLICK_THRESHOLD, isolation: float = 2.5
) -> list[Detection]:
    """Impulsive, isolated outliers of the AR prediction error (any channel).

    A peak counts when it exceeds `threshold` times the local robust scale *and* `isolation` times every
    other error within 10 ms: voiced speech (glottal pulses every few ms) and note onsets (the error
    stays high afterwards) are not isolated; a click is.
    """
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    p = max(8, int(round(0.001 * sample_rate)))
    near, ring = max(2, int(0.001 * sample_rate)), int(0.01 * sample_rate)
    block = int(BLOCK_SECONDS * sample_rate)
    spans: list[tuple[int, int, float]] = []
    for ch in samples.T:
        e = np.abs(ar_residual(ch, sample_rate, p))
        # Robust local scale: median absolute error over ~0.15 s (subsampled: a median filter is slow).
        scale = median_filter(e[::8], size=max(3, int(3 * block / 8)), mode="nearest")
        scale = np.repeat(scale, 8)[: len(e)] / 0.6745 + 1e-5
        ratio = e / scale
        peaks = np.flatnonzero((ratio > threshold) & (ratio == maximum_filter1d(ratio, 2 * near + 1)))
        for t in peaks:
            around = np.concatenate([e[max(0, t - ring) : max(0, t - near)], e[t + near + p : t + ring]])
            if around.size and e[t] <= isolation * around.max():
                continue
            spans.append((int(t) - near, int(t) + p + near, float(ratio[t] / threshold)))
    merged = _merge(spans, gap=near)
    n = len(samples)
    return [Detection("click", TimeSpan(max(0, a), min(n, b)), s) for a, b, s in merged]


def find_dropouts(
    samples: np.ndarray, sample_rate: int, min_dropout_ms: float = 1.0, context_db: float = -80.0
) -> list[Detection]:
    """Runs where every channel holds one value (digital silence), inside audio that is not itself
    silent. `context_db` (dBFS, about 3 LSB of 16-bit audio at -80) only tells digital silence
    around the run from a recording's noise floor: a call's lost packets in a quiet passage sit in
    room tone 25 LSB loud (-62 dBFS), and at -50 dBFS a fifth of them went unfound."""
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    n = len(samples)
    stuck = np.all(np.diff(samples, axis=0) == 0, axis=1)  # stuck[t]: sample t+1 equals sample t
    min_len = max(2, int(round(min_dropout_ms * sample_rate / 1000)))
    around = int(0.02 * sample_rate)
    # The context is the loudest 20 ms within 100 ms of the run: a lossy codec leaves a tail of
    # -80 dBFS or less next to a hole (a walk-through's MP3: 174 ms of zeros taken for "2 clicks")
    reach = int(CONTEXT_SECONDS * sample_rate)
    level = 10 ** (context_db / 20)
    found = []
    for start, stop in runs(stuck):
        a, b = int(start), int(stop) + 1  # samples a..b-1 are equal
        if b - a < min_len or a == 0:
            # Silence from the first sample is the recording's own lead-in (a codec's priming: 8.7 ms
            # before the drums of a bench clip, which a fill turned into sound), not a dropout. A run
            # up to the last sample may be lost packets (the real call 1214.wav ends on two).
            continue
        # a run of a few ms in a pause of quantised speech is natural: only 20 ms beside it counts
        far = reach if b - a >= LONG_RUN_SECONDS * sample_rate else around
        before = samples[max(0, a - far) : a]
        after = samples[b : b + far]
        if max(_loudest(before, around), _loudest(after, around)) < level:  # natural silence: not damage
            continue
        if far == reach:  # a long hole: a lossy codec's faint tails beside it are part of it
            a, b = _with_faint_tails(samples, a, b, sample_rate)
        found.append(Detection("dropout", TimeSpan(a, min(n, b)), 1000.0 * (b - a) / sample_rate))
    return found


def _with_faint_tails(samples: np.ndarray, a: int, b: int, sample_rate: int) -> tuple[int, int]:
    """[a, b) grown over the millisecond stretches beside it that stay below TAIL_DB (at most
    TAIL_SECONDS each side): an MP3's decoder fades into and out of a hole over a few ms at -77 dBFS
    and less, and a fill reading them as the sound around the hole stayed as quiet (a walk-through's
    0.3 s gap filled at -52 dBFS)."""
    ms = max(1, int(0.001 * sample_rate))
    quiet, most = 10 ** (TAIL_DB / 20), int(TAIL_SECONDS * sample_rate)
    start = a
    while start - ms >= max(0, a - most) and np.abs(samples[start - ms : start]).max() < quiet:
        start -= ms
    stop = b
    while stop + ms <= min(len(samples), b + most) and np.abs(samples[stop : stop + ms]).max() < quiet:
        stop += ms
    # a tail ends in sound; faint samples all the way out are a quiet passage (a call's pause), kept
    if start <= a - most or start - ms < 0:
        start = a
    if stop >= b + most or stop + ms > len(samples):
        stop = b
    return start, stop


def find_voiced_silences(
    samples: np.ndarray,
    sample_rate: int,
    silence_db: float = 40.0,
    max_ms: float = 150.0,
    edge_db: float = 25.0,
) -> list[Detection]:
    """Spans of near-silence cut into voiced speech (see the module docstring), 2 ms resolution.

    A span qualifies when its 2 ms frames lie `silence_db` below the loudest frame within 100 ms,
    it lasts at most `max_ms`, the frames touching it on both sides are within `edge_db` of that
    level (the fall and the rise are abrupt), and the 40 ms on each side are periodic (voiced).
    Runs of exact zeros are left to `find_dropouts`.
    """
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    mono = samples.mean(axis=1)
    hop = max(1, int(round(SILENCE_FRAME_SECONDS * sample_rate)))
    count = len(mono) // hop
    if count < 3:
        return []
    level = 10 * np.log10((mono[: count * hop].reshape(count, hop) ** 2).mean(axis=1) + 1e-20)
    loudest = maximum_filter1d(level, 2 * int(0.1 / SILENCE_FRAME_SECONDS) + 1)
    quiet = level < loudest - silence_db
    side = int(round(0.04 * sample_rate))
    found = []
    for a, b in runs(quiet):
        if a == 0 or b >= count or (b - a) * SILENCE_FRAME_SECONDS * 1000 > max_ms:
            continue
        if level[a - 1] < loudest[a] - edge_db or level[b] < loudest[b - 1] - edge_db:
            continue
        start, stop = int(a) * hop, int(b) * hop
        if np.all(mono[start:stop] == mono[start]):
            continue  # digital silence: a dropout
        before, after = mono[max(0, start - side) : start], mono[stop : stop + side]
        if not (_periodic(before, sample_rate) and _periodic(after, sample_rate)):
            continue
        # One frame more on each side: the fall and the rise happen somewhere inside those frames.
        span = TimeSpan(max(0, start - hop), min(len(mono), stop + hop))
        found.append(Detection("silence", span, float(loudest[a] - level[a:b].mean())))
    return found


def _periodic(x: np.ndarray, sample_rate: int, threshold: float = 0.6) -> bool:
    """Voiced: the normalised autocorrelation peaks above `threshold` at a pitch lag (60-400 Hz)."""
    x = x - x.mean()
    lo, hi = int(sample_rate / 400), int(sample_rate / 60)
    if len(x) < 2 * hi or not np.any(x):
        return False
    best = 0.0
    for lag in range(lo, hi + 1):
        head, tail = x[:-lag], x[lag:]
        denom = np.sqrt(np.dot(head, head) * np.dot(tail, tail))
        if denom > 0:
            best = max(best, float(np.dot(head, tail) / denom))
    return best > threshold


def find_discontinuities(
    samples: np.ndarray, sample_rate: int, threshold: float = 10.0, isolation: float = 2.5
) -> list[Detection]:
    """Isolated sample-to-sample jumps far beyond the local differences (a splice where samples were
    lost): |x[t+1] - x[t]| over `threshold` robust scales of the differences within 20 ms, and over
    `isolation` times every other difference within 10 ms."""
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    n = len(samples)
    width = max(5, int(0.02 * sample_rate))
    near, ring = 2, max(4, int(0.01 * sample_rate))
    margin = max(2, int(0.001 * sample_rate))
    spans = []
    for ch in samples.T:
        d = np.abs(np.diff(ch))
        scale = median_filter(d, size=width, mode="nearest") / 0.6745 + 1e-6
        ratio = d / scale
        peaks = np.flatnonzero((ratio > threshold) & (ratio == maximum_filter1d(ratio, 2 * near + 1)))
        for t in peaks:
            around = np.concatenate([d[max(0, t - ring) : max(0, t - near)], d[t + near + 1 : t + ring]])
            if around.size and d[t] <= isolation * around.max():
                continue
            # A jump that comes back within a few samples is an impulse (a click), not a splice.
            net = abs(ch[min(len(ch) - 1, t + 6)] - ch[max(0, t - 2)])
            if net < 0.5 * d[t]:
                continue
            spans.append((int(t) + 1 - margin, int(t) + 1 + margin, float(ratio[t] / threshold)))
    merged = _merge(spans, gap=margin)
    return [Detection("discontinuity", TimeSpan(max(0, a), min(n, b)), s) for a, b, s in merged]


def detect(
    samples: np.ndarray,
    sample_rate: int,
    clicks: bool = True,
    dropouts: bool = True,
    discontinuities: bool = True,
    threshold: float = CLICK_THRESHOLD,
    silences: bool = True,
) -> list[Detection]:
    """All findings, sorted by position; a click overlapping a dropout or a jump is reported once."""
    found: list[Detection] = []
    if dropouts:
        found += find_dropouts(samples, sample_rate)
    if silences:
        found += find_voiced_silences(samples, sample_rate)
    if discontinuities:
        found += find_discontinuities(samples, sample_rate)
    if clicks:
        taken = [d.selection.span for d in found]
        for det in find_clicks(samples, sample_rate, threshold):
            a, b = det.selection.span
            if not any(a < tb and b > ta for ta, tb in taken):
                found.append(det)
    return sorted(found, key=lambda d: d.selection.span)


# What conceals a call's lost packets (the speech bench's real traces: PLCMOS 2.60, PESQ 2.33, STOI 0.88
# against AR's 2.37, 1.99, 0.81, which fill-gap's default runs on gaps this short; docs/benchmarks.md).
LOST_PACKETS_METHOD = "fill-gap-speech"
# Codec frame lengths of calls (G.711, AMR, Opus, ...): lost packets leave zero runs on their grid.
PACKET_MS = (30.0, 20.0, 10.0)  # longest first: a 30 ms grid's dropouts lie on the 10 ms grid too
# What marks a call that lost packets: at least this many dropouts, and this share of them on one grid.
MIN_PACKET_DROPOUTS = 3
ON_GRID_SHARE = 0.8


def packet_grid_ms(found: list[Detection], sample_rate: int) -> float | None:
    """The packet length (ms) when the dropouts found start and end on one packet grid counted from
    the first sample, as a call's lost packets do (the three real calls of the datasets: 197 of 203
    dropouts on the 20 ms grid); None for dropouts anywhere else (a scratched CD, a bad splice)."""
    dropouts = [d.selection.span for d in found if d.kind == "dropout"]
    if len(dropouts) < MIN_PACKET_DROPOUTS:
        return None
    for packet_ms in PACKET_MS:
        packet = sample_rate * packet_ms / 1000.0
        if packet != int(packet):
            continue
        on_grid = sum(1 for a, b in dropouts if a % int(packet) == 0 and b % int(packet) == 0)
        if on_grid >= ON_GRID_SHARE * len(dropouts):
            return packet_ms
    return None


def what_to_fill(
    found: list[Detection], sample_rate: int, length: int | None = None
) -> tuple[list[Detection], str, float | None]:
    """What a repair fills of what detection found, the record's selection line for it ('12 found by
    detection, dropouts on a 20 ms packet grid'), and the packet length (ms) of a call's lost packets
    (None: not a call). On a call only the dropouts are filled: what the click finder marks in its
    speech is plosives and consonants, which the concealment would overwrite."""
    grid_ms = packet_grid_ms(found, sample_rate)
    if grid_ms is None:
        return found, f"{len(found)} found by detection", None
    dropouts = [d for d in snapped_to_grid(found, sample_rate, length) if d.kind == "dropout"]
    left = left_in_speech(found)
    kept_out = f" (left as they are in the speech: {count_kinds(left)})" if left else ""
    return (
        dropouts,
        f"{len(dropouts)} found by detection, dropouts on a {grid_ms:g} ms packet grid{kept_out}",
        grid_ms,
    )


def call_warnings(found: list[Detection], grid_ms: float | None, length: int) -> tuple[str, ...]:
    """What to warn of when the dropouts of a call (`found` on a `grid_ms` packet grid; None: not a
    call) cover most of its `length` samples: as a loss trace of the call warns (core.audio.loss_trace)."""
    from core.audio.loss_trace import heavy_loss

    heavy = heavy_loss([d.selection for d in found], length) if grid_ms is not None else None
    return (heavy,) if heavy else ()


def left_in_speech(found: list[Detection]) -> list[Detection]:
    """What a call's repair leaves of what detection found: all but the dropouts (`what_to_fill`)."""
    return [d for d in found if d.kind != "dropout"]


def on_grid(dropout: Detection, packet: int, length: int | None = None) -> Detection:
    """A call's dropout trimmed to the whole packets it holds when it overhangs them by less than a
    quarter packet a side: received samples that happen to be exactly zero beside a lost packet (3
    in the real call 1214.wav) lengthen its run of zeros, and are not to be filled. A run to the
    recording's end (`length`) keeps its end: the last packet may be cut short."""
    span = dropout.selection
    start = -(-span.start // packet) * packet
    stop = span.stop if span.stop == length else span.stop // packet * packet
    if stop <= start or start - span.start >= packet / 4 or span.stop - stop >= packet / 4:
        return dropout
    if (start, stop) == (span.start, span.stop):
        return dropout
    return Detection(dropout.kind, TimeSpan(start, stop, span.channels), dropout.score)


def snapped_to_grid(found: list[Detection], sample_rate: int, length: int | None = None) -> list[Detection]:
    """`found` with a call's dropouts trimmed to its packet grid (`on_grid`); as found elsewhere."""
    grid_ms = packet_grid_ms(found, sample_rate)
    if grid_ms is None:
        return found
    packet = int(sample_rate * grid_ms / 1000.0)
    return [on_grid(d, packet, length) if d.kind == "dropout" else d for d in found]


PLURALS = {"discontinuity": "discontinuities"}


def count_kinds(found: list[Detection]) -> str:
    """'11 discontinuities, 10 clicks': how many of each kind, commonest first."""
    counts: dict[str, int] = {}
    for d in found:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{n} {PLURALS.get(kind, kind + 's') if n > 1 else kind}" for kind, n in ordered)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def _loudest(x: np.ndarray, width: int) -> float:
    """The RMS of the loudest `width`-sample stretch of `x` (stepped by half a stretch)."""
    width = max(1, width)
    step = max(1, width // 2)
    return max((_rms(x[i : i + width]) for i in range(0, max(1, len(x) - width + 1), step)), default=0.0)

"""Packet-loss traces: which packets of a call recording were lost, as the selections to conceal.

A trace is a text file with one line per packet, `1` lost and `0` received (the format of the shared
`plc/*_is_lost.txt` traces and of common VoIP tools); packets are `packet_ms` long (20 ms by default)
from the start of the recording. Consecutive lost packets become one span.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from core.audio.selection import TimeSpan, runs
from core.errors import MethodError

DEFAULT_PACKET_MS = 20.0
# Packet lengths of common speech codecs (Opus, G.711/G.722 over RTP, AMR, iLBC, G.729 bundles), the
# ones a trace whose length does not fit 20 ms is tried with.
COMMON_PACKET_MS = (20.0, 10.0, 30.0, 40.0, 60.0)
TRACE_SUFFIX = "_is_lost.txt"  # call.wav's trace is call_is_lost.txt, as the shared calls name them


def trace_beside(recording: str | Path) -> Path:
    """Where a recording's own loss trace lies: NAME_is_lost.txt in its folder (it may not exist)."""
    recording = Path(recording)
    return recording.with_name(f"{recording.stem}{TRACE_SUFFIX}")


def recording_of(trace: str | Path) -> Path | None:
    """The recording a trace named NAME_is_lost.txt lies beside (NAME.wav, .flac, ...), or None."""
    trace = Path(trace)
    if not trace.name.endswith(TRACE_SUFFIX):
        return None
    stem = trace.name[: -len(TRACE_SUFFIX)]
    found = sorted(p for p in trace.parent.glob(f"{stem}.*") if p != trace and p.is_file())
    return found[0] if found else None


def describe_trace(path: str | Path) -> dict:
    """What `lacuna info` says of a loss trace: its packets, the share lost and its bursts, and, with
    the recording beside it, the packet length its line count fits there (a MethodError if it is no
    trace)."""
    from core.audio.selection import runs

    packets = read_trace(path)
    bursts = [stop - start for start, stop in runs(packets)]
    lost = int(packets.sum())
    info: dict = {
        "path": str(path),
        "kind": "loss trace",
        "packets": f"{lost} of {len(packets)} lost ({100.0 * lost / len(packets):.1f}%)",
        "bursts": f"{len(bursts)}, {np.mean(bursts):.1f} packets on average, longest {max(bursts)}"
        if bursts
        else "none",
    }
    recording = recording_of(path)
    if recording is not None:
        import soundfile

        try:
            found = soundfile.info(str(recording))
        except (RuntimeError, OSError):  # soundfile.LibsndfileError is a RuntimeError
            return info
        packet_ms = packet_ms_that_fits(packets, found.samplerate, found.frames)
        seconds = found.frames / found.samplerate
        info["recording"] = f"{recording.name} ({seconds:.2f} s): read as {packet_ms:g} ms packets"
    return info


def looks_like_trace(path: str | Path) -> bool:
    """Whether a text file's first non-blank line is a packet's 0 or 1 (any other .txt, an inventory
    or a transcript, is not a loss trace)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    return first in (b"0", b"1")


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
    for first, stop in runs(lost):
        start, end = int(round(first * packet)), min(int(round(stop * packet)), length)
        if start < end:
            spans.append(TimeSpan(start, end))
    return spans


def length_mismatch(
    lost: np.ndarray, sample_rate: int, length: int, packet_ms: float = DEFAULT_PACKET_MS
) -> str | None:
    """What a user should hear about a trace that does not fit the recording (None when it does, to
    within a packet): a trace of another call, or a wrong --packet-ms. Packets past the end are
    ignored, and where the trace ends the rest of the recording counts as received."""
    packet = sample_rate * packet_ms / 1000.0
    needed = int(np.ceil(length / packet))
    if abs(len(lost) - needed) <= 1:
        return None
    covered = len(lost) * packet_ms / 1000.0
    what = (
        "the rest counts as received"
        if len(lost) < needed
        else f"{int(lost[needed:].sum())} lost packet(s) past the end are ignored"
    )
    return (
        f"the loss trace has {len(lost)} packets of {packet_ms:g} ms ({covered:.2f} s), the recording"
        f" {length / sample_rate:.2f} s ({needed} packets): {what}"
    )


def packet_ms_that_fits(lost: np.ndarray, sample_rate: int, length: int) -> float:
    """The common packet length whose packet count fits the recording's length (to within a packet);
    20 ms when it fits, or when no common length, or several, do (the caller then warns of the
    mismatch)."""
    fitting = [ms for ms in COMMON_PACKET_MS if length_mismatch(lost, sample_rate, length, ms) is None]
    return fitting[0] if len(fitting) == 1 else DEFAULT_PACKET_MS  # 20 ms comes first when it fits


class TracedLoss(NamedTuple):
    """A recording's lost packets as a trace file marks them."""

    spans: list[TimeSpan]  # the lost packets, runs merged
    origin: str  # the record's selection line: 'loss trace calls.txt: 89 of 470 packets of 20 ms lost'
    warnings: tuple[str, ...]  # a trace that does not fit the recording's length; most of it lost


# Above this share of a call lost, what fills it is mostly made up: worth saying before anyone relies
# on the words (the shared call 54.wav lost 78% of its packets).
HEAVY_LOSS = 0.5


def heavy_loss(spans: list[TimeSpan], length: int) -> str | None:
    """What to warn of when most of a recording of `length` samples is in the lost `spans`."""
    lost = sum(span.stop - span.start for span in spans) / max(length, 1)
    if lost <= HEAVY_LOSS:
        return None
    return f"{lost:.0%} of the recording is lost: what fills it is made up from what survives, not recovered"


def traced_loss(
    samples: np.ndarray, sample_rate: int, trace: Path, packet_ms: float | None = None
) -> TracedLoss:
    """Read `trace` for the recording `samples`, its packets `packet_ms` long (None: the common length
    its line count fits, `packet_ms_that_fits`); a MethodError when it marks the recording's received
    speech (`contradicts_recording`). `lacuna repair --loss-trace`, `lacuna batch --loss-traces` and
    the audio view's Loss trace… all take a trace this way."""
    trace = Path(trace)
    packets = read_trace(trace)
    fitted = None
    if packet_ms is None:
        packet_ms = packet_ms_that_fits(packets, sample_rate, len(samples))
        if packet_ms != DEFAULT_PACKET_MS:  # said, since a wrong guess would fill the wrong samples
            seconds = len(samples) / sample_rate
            fitted = f"read as {packet_ms:g} ms packets: its {len(packets)} lines fit {seconds:.2f} s"
    spans = trace_spans(packets, sample_rate, len(samples), packet_ms)  # refuses a bad packet_ms first
    mismatch = length_mismatch(packets, sample_rate, len(samples), packet_ms)
    contradiction = contradicts_recording(samples, packets, sample_rate, packet_ms)
    if contradiction:
        raise MethodError(f"{trace.name}: {contradiction}" + (f" ({mismatch})" if mismatch else ""))
    if sum(span.stop - span.start for span in spans) >= len(samples) > 0:
        # nothing received: what a concealment made of it would be silence or noise (a walk-through's
        # trace of all ones turned a clean utterance into near-silence)
        raise MethodError(f"{trace.name}: it marks every packet of the recording lost: nothing was received")
    counts = f"{int(packets.sum())} of {len(packets)} packets of {packet_ms:g} ms lost"
    warnings = tuple(filter(None, [fitted, mismatch, heavy_loss(spans, len(samples))]))
    return TracedLoss(spans, f"loss trace {trace.name}: {counts}", warnings)


def contradicts_recording(
    samples: np.ndarray, lost: np.ndarray, sample_rate: int, packet_ms: float = DEFAULT_PACKET_MS
) -> str | None:
    """Why a trace does not belong to this recording, or None. A recording whose lost packets were
    played as silence holds short runs of exact-zero packets inside its sound; when it holds some and
    the trace marks mostly others, filling them would overwrite received speech (a trace of another
    call, or a wrong --packet-ms). Silence at the ends (before the call was answered) and long silent
    stretches are not lost packets; a recording whose decoder concealed its losses holds no short
    silent runs, cannot say, and is trusted."""
    if not len(samples):
        return None
    silent = _lost_as_silence(zeroed_packets(samples, sample_rate, packet_ms), packet_ms)
    marked = np.zeros(len(silent), bool)
    marked[: min(len(lost), len(silent))] = np.asarray(lost, bool)[: len(silent)]
    if silent.sum() < 3 or not marked.any():
        return None
    agreeing = int((silent & marked).sum())
    if agreeing >= 0.5 * marked.sum():
        return None
    count = int(marked.sum())
    said = f"of the recording's packets of {packet_ms:g} ms it marks {count} lost, {agreeing} of them silent"
    guess = "a trace of another call, or packets of another length?"
    if agreeing < 0.5 * silent.sum():
        return f"{said}, but its {int(silent.sum())} silent packets lie mostly elsewhere: {guess}"
    # most silent packets are marked, and many more besides: the trace marks received sound
    return f"{said}: the other {count - agreeing} hold sound that filling would overwrite; {guess}"


# A silent run longer than this is silence, not a loss burst (the real calls' bursts: 2.5 packets of
# 20 ms on average, 7 at the 99th percentile). A duration, so that it holds at every packet length.
LONGEST_LOSS_MS = 200.0


def _lost_as_silence(zeroed: np.ndarray, packet_ms: float) -> np.ndarray:
    """The zeroed packets that look like lost ones: runs of at most LONGEST_LOSS_MS with sound on both
    sides."""
    longest = max(1, int(round(LONGEST_LOSS_MS / packet_ms)))
    looks_lost = np.zeros(len(zeroed), bool)
    for start, stop in runs(zeroed):
        if start > 0 and stop < len(zeroed) and stop - start <= longest:
            looks_lost[start:stop] = True
    return looks_lost


def gilbert_elliott(
    packets: int, loss: float, rng: np.random.Generator, mean_burst: float = 2.0
) -> np.ndarray:
    """A simulated trace (True: lost) from the two-state Gilbert-Elliott model: every packet sent in the
    bad state is lost, none in the good one. The bad state is left with probability r = 1 / mean_burst
    (so bursts are geometric with that mean) and entered with p = loss * r / (1 - loss), which makes
    `loss` the stationary loss rate; the first packet's state is drawn from that stationary law."""
    if not 0.0 <= loss < 1.0 or mean_burst < 1.0:
        raise MethodError(f"a Gilbert-Elliott loss is in [0, 1) with bursts of at least 1 packet, not {loss}")
    leave = 1.0 / mean_burst
    enter = loss * leave / (1.0 - loss)
    if enter > 1.0:
        raise MethodError(f"a {loss:.0%} loss cannot have mean bursts of {mean_burst:g} packets")
    draws = rng.random(packets)
    lost = np.empty(packets, bool)
    bad = bool(rng.random() < loss)
    for k in range(packets):
        lost[k] = bad
        bad = bool(draws[k] >= leave) if bad else bool(draws[k] < enter)
    return lost


def zeroed_packets(samples: np.ndarray, sample_rate: int, packet_ms: float = DEFAULT_PACKET_MS) -> np.ndarray:
    """The trace of a lossy recording whose lost packets were written as exact zeros (every sample of
    every channel of the packet); a partial last packet counts too."""
    samples = np.asarray(samples).reshape(len(samples), -1)
    packet = sample_rate * packet_ms / 1000.0
    count = int(np.ceil(len(samples) / packet))
    bounds = np.round(np.arange(count + 1) * packet).astype(int)
    silent = np.all(samples == 0, axis=1)
    return np.array([silent[a:b].all() for a, b in zip(bounds[:-1], bounds[1:])], bool)

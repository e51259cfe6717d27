"""Filling selections of a recording: windows, channels, and the time-domain and spectral paths.

Only a window around each selection is processed (the gap plus the context the method needs), and
only the selected samples (plus a 2 ms crossfade just outside a time gap) are written back; every other
sample of the document is returned bit-identical.

Two kinds of fillers:
- time-domain fillers (silence, linear crossfade, repeat the last packet, AR) fill samples [start, stop)
  of one channel; for a time-frequency selection their output replaces only the selected STFT bins;
- spectral fillers (the learned network, the deep prior) fill the log-magnitude of the unknown bins;
  the phase is then recovered by Griffin-Lim with the known bins and known samples clamped
  (`core.audio.phase`), starting from an AR fill's phase.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.audio import ar
from core.audio.selection import Selection, as_selections, runs
from core.audio.stft import MODEL_RATE, frame_params, resample, resample_reach
from core.documents import AudioDoc
from core.runtime.context import Progress, RunContext

CROSSFADE_SECONDS = 0.002
MAX_CONTEXT_SECONDS = 1.0  # spectral fillers read max(context, gap) each side, at most this
LSAR_INIT_MAX = 4096  # samples; longer gaps start the phase from a cheaper AR extrapolation
AR_EDGE_SECONDS = 0.05  # near a gap's edges the AR waveform is trusted more than the recovered phase
# Away from the edges the recovered phase is a guess: a fill with the true magnitude but unrelated
# phase has twice the error energy of silence (-3 dB SNR), so the middle of a long gap is played 6 dB
# down. On the speech bench at 200 ms this took the SNR from 2.1 dB below AR's to 0.7 dB below, and
# the log-spectral distance from 58 % under AR's to 53 % under (docs/benchmarks.md).
INCOHERENT_GAIN = 0.5
MATCH_MOST = 100.0  # a fill matched to its surroundings' loudness is raised by at most 40 dB
# Repeat-the-last-packet concealment: a 20 ms packet, pitch periods of 66..400 Hz voices, found by
# correlating the last 5 ms (on bench speech, 5 ms windows repeated with 0.4 dB more SNR than 10 or 20 ms)
REPEAT_SECONDS, PITCH_MIN_SECONDS, PITCH_MAX_SECONDS, PITCH_WINDOW_SECONDS = 0.02, 0.0025, 0.015, 0.005
VOICED_CORRELATION = 0.5  # below this the audio before the gap is not periodic enough to repeat a period

TimeFill = Callable[[np.ndarray, int, int, int], np.ndarray]


# --- time-domain fillers: (x (W,), start, stop, sample_rate) -> (W,) --------------------------------
def fill_silence(x: np.ndarray, start: int, stop: int, sample_rate: int) -> np.ndarray:
    y = x.copy()
    y[start:stop] = 0.0
    return y


CLICK_STEPS = 3.0  # a seam's step beyond this many times the received samples' RMS step is a click


def join_inside(filled: np.ndarray, lost: np.ndarray, sample_rate: int) -> np.ndarray:
    """`filled` (1-D: received samples, and a fill where `lost`) with the clicks taken out where a
    lost run meets the received samples: a step across the seam larger than CLICK_STEPS times the
    RMS of the received samples' own steps beside it. Only the excess is removed, faded out over
    the run's first (or last) CROSSFADE_SECONDS with a raised cosine, so a seam that is no click is
    left exactly as the fill made it and only lost samples change. (Continuing the recording's slope
    at every seam instead cost PLCMOS 0.1-0.17 on the speech bench: sample-to-sample slopes of speech
    at 16 kHz do not extrapolate.)"""
    out = np.array(filled, np.float64)
    length = len(out)
    reach_most = max(1, int(round(CROSSFADE_SECONDS * sample_rate)))
    spans = runs(lost)
    for k, (start, stop) in enumerate(spans):
        reach = min(reach_most, (stop - start) // 2)
        if reach < 1:
            continue
        fade = 0.5 * (1.0 + np.cos(np.pi * np.arange(reach) / reach))  # 1 at the seam, towards 0
        received_from = spans[k - 1][1] if k else 0  # the received samples beside it, not a fill
        received_to = spans[k + 1][0] if k + 1 < len(spans) else length
        if start > received_from:
            before = out[max(received_from, start - reach_most) : start]
            excess = _click(out[start] - out[start - 1], np.diff(before))
            out[start : start + reach] -= excess * fade
        if stop < received_to:
            after = out[stop : min(received_to, stop + reach_most)]
            excess = _click(out[stop] - out[stop - 1], np.diff(after))
            out[stop - reach : stop] += (excess * fade)[::-1]
    return out.astype(np.asarray(filled).dtype)


def _click(step: float, received_steps: np.ndarray) -> float:
    """How much of `step` is a click: what exceeds CLICK_STEPS times the received steps' RMS (signed)."""
    if len(received_steps) < 2:
        return 0.0
    allowed = CLICK_STEPS * float(np.sqrt(np.mean(received_steps**2)))
    return float(np.sign(step) * max(abs(step) - allowed, 0.0))


def fill_crossfade(x: np.ndarray, start: int, stop: int, sample_rate: int) -> np.ndarray:
    """Packet-loss-concealment baseline: the audio just before the gap fading out while the audio just
    after it fades in (linear ramps), zero where the recording has no such context."""
    gap = stop - start
    before = np.zeros(gap)
    after = np.zeros(gap)
    take = min(gap, start)
    before[gap - take :] = x[start - take : start]
    take = min(gap, len(x) - stop)
    after[:take] = x[stop : stop + take]
    ramp = (np.arange(gap) + 0.5) / gap
    y = x.copy()
    y[start:stop] = (1.0 - ramp) * before + ramp * after
    return y


def fill_repeat(
    x: np.ndarray, start: int, stop: int, sample_rate: int, hold_ms: float = 20.0, mute_ms: float = 60.0
) -> np.ndarray:
    """Packet-loss-concealment baseline (G.711 Appendix I style): the last pitch period before the gap
    (the last 20 ms when the audio there is not periodic) repeated over the gap, at full level for
    `hold_ms`, then fading linearly to silence at `mute_ms`. The repetition starts one period back
    and runs on past the gap, so the engine's crossfades just outside it join the recording smoothly."""
    y = x.copy()
    period = _repeat_period(x[:start], sample_rate)
    if period == 0:  # nothing before the gap to repeat
        y[start:stop] = 0.0
        return y
    fade = int(round(CROSSFADE_SECONDS * sample_rate))
    lead = min(fade, start - period) if start > period else 0
    end = min(len(x), stop + fade)
    cycle = x[start - period : start]
    offset = np.arange(end - start)
    elapsed = 1000.0 * offset / sample_rate
    gain = np.clip((mute_ms - elapsed) / max(mute_ms - hold_ms, 1e-9), 0.0, 1.0)
    y[start:end] = cycle[offset % period] * gain
    y[start - lead : start] = x[start - lead - period : start - period]  # one period back, joins y[start]
    return y


def _repeat_period(history: np.ndarray, sample_rate: int) -> int:
    """The pitch period (2.5..15 ms) maximising the normalised correlation of the last 5 ms of `history`
    with the audio one period earlier; 20 ms when that correlation is weak (unvoiced sound, silence)
    or the history is short."""
    packet = min(len(history), int(round(REPEAT_SECONDS * sample_rate)))
    lo, hi = int(PITCH_MIN_SECONDS * sample_rate), int(PITCH_MAX_SECONDS * sample_rate)
    window = int(round(PITCH_WINDOW_SECONDS * sample_rate))
    if len(history) < window + hi:
        return packet
    recent = history[-window:]
    lags = np.arange(lo, hi + 1)
    earlier = np.stack([history[len(history) - window - lag : len(history) - lag] for lag in lags])
    energy = np.sqrt(np.sum(recent**2) * np.sum(earlier**2, axis=1)) + 1e-20
    correlation = earlier @ recent / energy
    best = int(np.argmax(correlation))
    return int(lags[best]) if correlation[best] >= VOICED_CORRELATION else packet


def repeat_both_sides(x: np.ndarray, lost: np.ndarray, sample_rate: int) -> np.ndarray:
    """Non-causal packet repetition for file repair: every run of `lost` samples of the 1-D `x` filled
    at full level by the last pitch period before it repeated forwards and the first one after it
    repeated backwards, crossfaded linearly across the run (one side only at the recording's ends).
    Earlier fills feed later runs, in each direction, as in a decoder. Each part of a burst is
    concealed from the speech nearest to it, which keeps far more of the words for a recogniser than
    one-sided repetition (docs/benchmarks.md, "Speech packet loss")."""
    spans = runs(lost)
    forward = np.array(x, np.float64, copy=True)
    for start, stop in spans:
        forward[start:stop] = _continue_periodically(forward[:start], stop - start, sample_rate)
    backward = forward[::-1].copy()  # received samples as in x; the forward fills are overwritten
    n = len(backward)
    for start, stop in reversed(spans):
        a, b = n - stop, n - start
        backward[a:b] = _continue_periodically(backward[:a], b - a, sample_rate)
    backward = backward[::-1]
    out = np.array(x, np.float64, copy=True)
    for start, stop in spans:
        ramp = (np.arange(stop - start) + 0.5) / (stop - start)  # weight of the audio after the run
        if start == 0:
            ramp[:] = 1.0
        elif stop == n:
            ramp[:] = 0.0
        out[start:stop] = (1.0 - ramp) * forward[start:stop] + ramp * backward[start:stop]
    return out


def _continue_periodically(history: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    """`length` samples continuing `history` by repeating its last pitch period (zeros without one)."""
    period = _repeat_period(history, sample_rate)
    if period == 0:
        return np.zeros(length)
    return history[len(history) - period + np.arange(length) % period]


def fill_ar(x: np.ndarray, start: int, stop: int, sample_rate: int, order_ms: float = 20.0) -> np.ndarray:
    order = ar.default_order(sample_rate, order_ms)
    return ar.interpolate(x, start, stop, order=order, sample_rate=sample_rate)


def time_context(method: str, gap: int, sample_rate: int, order_ms: float = 20.0) -> int:
    """Samples of context each side a time-domain filler reads."""
    if method == "silence":
        return 0
    if method == "crossfade":
        return gap
    if method == "repeat":
        return int(max(REPEAT_SECONDS, PITCH_WINDOW_SECONDS + PITCH_MAX_SECONDS) * sample_rate) + 1
    return ar.context_length(gap, ar.default_order(sample_rate, order_ms))


@dataclass
class SpectralFill:
    """A spectral filler: `fill(logmag, unknown, ctx)` is a generator returning the filled log-magnitude
    (all torch tensors (C, F, T)); it runs at `max(rate, MODEL_RATE)` with the rate-normalised frame."""

    fill: Callable[..., Generator[Progress, None, Any]]
    context_seconds: float = 0.3
    gl_iterations: int = 32
    device: Any = "cpu"
    match_level: bool = False  # a long gap's fill raised to the loudness around it (see matched_gain)


# --- the driver -----------------------------------------------------------------------------------
def fill_document(
    doc: AudioDoc,
    selection: Any,
    ctx: RunContext,
    time_fill: TimeFill | None = None,
    time_context_fn: Callable[[int, int], int] | None = None,
    spectral: SpectralFill | None = None,
    numbering: tuple[int, int] | None = None,
) -> Generator[Progress, None, AudioDoc]:
    """Fill every selection of `doc` with one filler; returns a new document.

    `numbering` (skipped, total): when a method fills its selections in several calls, the progress
    counts them as one list ("selection 110 of 120"), not from 1 again in each call.
    """
    samples = np.asarray(doc.samples)
    length, channels = samples.shape
    selections = as_selections(selection, length, channels)
    skipped, total = numbering or (0, len(selections))
    out = samples.copy()
    rate = int(doc.sample_rate)
    for index, sel in enumerate(selections):
        sub = ctx.sub(index / len(selections), (index + 1) / len(selections))
        number = skipped + index + 1
        yield sub.progress(0.0, f"selection {number} of {total}")
        chans = list(sel.channels) if sel.channels is not None else list(range(channels))
        a, b = max(sel.span[0], 0), min(sel.span[1], length)
        if spectral is not None:
            n_fft = frame_params(max(rate, MODEL_RATE))[0] * rate // max(rate, MODEL_RATE)
            context = min(max(spectral.context_seconds * rate, b - a), MAX_CONTEXT_SECONDS * rate)
            margin = int(context) + 2 * n_fft
        else:
            n_fft = frame_params(rate)[0]
            margin = time_context_fn(b - a, rate) + 2 * n_fft
        lo, hi = max(0, a - margin), min(length, b + margin)
        window = out[lo:hi, chans].T.astype(np.float64)  # (C, W), earlier fills included
        local = sel.shifted(-lo)
        if spectral is not None:
            filled = yield from _spectral_path(window, local, rate, spectral, sub)
        else:
            filled = _time_path(window, local, rate, time_fill)
        r0, r1, weight = _write_range(local, window, filled, rate)
        blended = window[:, r0:r1] + weight * (filled[:, r0:r1] - window[:, r0:r1])
        out[lo + r0 : lo + r1, chans] = blended.T.astype(out.dtype)
        yield sub.progress(1.0, f"selection {number} of {total} filled")
    return doc.with_samples(out)


def _write_range(sel: Selection, window: np.ndarray, filled: np.ndarray, rate: int):
    """Which samples of the window to write back, with the crossfade weights (local coordinates):
    the selection's span and a short crossfade each side. A time-frequency fill changes every frame
    whose window touches the span, half a window (23 ms at 44.1 kHz) past each end; outside the
    crossfade that spill is dropped, so what a person did not select stays as it was (a user found
    2.97-3.18 s changed for a 3.00-3.15 s selection)."""
    width = window.shape[1]
    fade = int(round(CROSSFADE_SECONDS * rate))
    a, b = max(sel.span[0], 0), min(sel.span[1], width)
    r0, r1 = max(0, a - fade), min(width, b + fade)
    pos = np.arange(r0, r1)
    weight = np.ones(r1 - r0)
    weight[pos < a] = (pos[pos < a] - (a - fade) + 1) / (fade + 1)
    weight[pos >= b] = ((b + fade) - pos[pos >= b]) / (fade + 1)
    return r0, r1, weight


def _stft_grid(rate_doc: int, rate_proc: int, n_fft: int, hop: int, frames: int):
    """Bin frequencies, frame centres (in samples of the document) and half-window of a grid."""
    scale = rate_doc / rate_proc
    freqs = np.arange(n_fft // 2 + 1) * rate_proc / n_fft
    return freqs, np.arange(frames) * hop * scale, n_fft / 2 * scale


def _time_path(window: np.ndarray, sel: Selection, rate: int, time_fill: TimeFill) -> np.ndarray:
    a, b = max(sel.span[0], 0), min(sel.span[1], window.shape[1])
    filled = np.stack([time_fill(ch, a, b, rate) for ch in window])
    if sel.kind == "time":
        return filled
    # Time-frequency selection: only the selected bins take the fill's STFT.
    import torch

    from core.audio.stft import istft, stft

    n_fft, hop = frame_params(rate)
    orig = stft(torch.from_numpy(window), n_fft, hop)
    new = stft(torch.from_numpy(filled), n_fft, hop)
    freqs, centres, half = _stft_grid(rate, rate, n_fft, hop, orig.shape[-1])
    unknown = torch.from_numpy(sel.bins(freqs, centres, half))
    mixed = istft(torch.where(unknown, new, orig), n_fft, hop, window.shape[1]).numpy()
    touched = np.flatnonzero(unknown.numpy().any(axis=0))
    out = window.copy()
    if touched.size:
        r0 = max(0, int(np.floor(centres[touched[0]] - half)))
        r1 = min(window.shape[1], int(np.ceil(centres[touched[-1]] + half)))
        out[:, r0:r1] = mixed[:, r0:r1]
    return out


def _ar_init(x: np.ndarray, start: int, stop: int, rate: int) -> np.ndarray:
    """LSAR for short gaps; two-sided extrapolation (O(G p) instead of O(G^2)) for long ones."""
    order = ar.default_order(rate)
    if stop - start <= LSAR_INIT_MAX:
        return ar.interpolate(x, start, stop, order=order, iterations=1)
    return ar.extrapolate(x, start, stop, order)


def matched_gain(edges: np.ndarray, middle: np.ndarray, around: np.ndarray) -> float:
    """The gain on a fill's `middle` that makes `edges + gain · middle` as loud (RMS) as the audio
    `around` the gap, between 1 (never quieter than the fill as made) and MATCH_MOST. A fill whose
    phase is a guess is quieter on purpose (INCOHERENT_GAIN, and the network's magnitudes regress to
    the mean): closer to the truth, but heard as a dip; matched, it sounds continuous and is further
    from the truth (a walk-through heard a 500 ms fill in a drum loop 20 dB below its surroundings)."""
    target = float(np.sum(around**2)) / max(around.size, 1) * edges.size
    ss, es, ee = float(np.sum(middle**2)), float(np.sum(edges * middle)), float(np.sum(edges**2))
    if ss <= 0.0 or target <= ee:
        return 1.0
    gain = (-es + np.sqrt(max(es * es - ss * (ee - target), 0.0))) / ss  # |edges + g middle|² = target
    return float(np.clip(gain, 1.0, MATCH_MOST))


def _edge_ramp(length: int, edge: int) -> np.ndarray:
    """1 at both ends of a gap of `length` samples, falling to 0 over `edge` samples (raised cosine)."""
    k = np.arange(length, dtype=np.float64)
    distance = np.minimum(k + 0.5, length - k - 0.5)
    return 0.5 * (1.0 + np.cos(np.pi * np.clip(distance / max(edge, 1), 0.0, 1.0)))


def _spectral_path(
    window: np.ndarray, sel: Selection, rate: int, spectral: SpectralFill, ctx: RunContext
) -> Generator[Progress, None, np.ndarray]:
    import torch

    from core.audio.phase import griffin_lim
    from core.audio.stft import log_magnitude, magnitude_from_log, stft

    proc = max(rate, MODEL_RATE)
    x = resample(window, rate, proc, axis=1).astype(np.float64) if proc != rate else window
    width = x.shape[1]
    n_fft, hop = frame_params(proc)
    is_time = sel.kind == "time"
    a = int(np.floor(max(sel.span[0], 0) * proc / rate))
    b = int(np.ceil(min(sel.span[1], window.shape[1]) * proc / rate))
    if proc != rate:
        # The resampling filter smears the gap's samples over its half-length: treat those as lost too.
        pad = resample_reach(rate, proc)
        a, b = max(0, a - pad), min(width, b + pad)
    if is_time:
        x = x.copy()
        x[:, a:b] = 0.0  # the gap's samples are unknown whatever they hold
    device = torch.device(spectral.device)
    signal = torch.from_numpy(x).float().to(device)
    spec = stft(signal, n_fft, hop)
    freqs, centres, half = _stft_grid(rate, proc, n_fft, hop, spec.shape[-1])
    unknown = torch.from_numpy(sel.bins(freqs, centres, half)).to(device).expand(spec.shape).contiguous()
    logmag = yield from spectral.fill(log_magnitude(spec), unknown, ctx.sub(0.0, 0.6))
    magnitude = magnitude_from_log(logmag)
    frames = np.flatnonzero(unknown[0].cpu().numpy().any(axis=0))
    if frames.size == 0:
        return window.copy()
    # Phase recovery only near the unknown frames: a segment starting on a frame boundary, reaching
    # two windows past them, so its frames are the window's frames and the clamped context is enough.
    first = max(0, int(frames[0]) - 2 * (n_fft // hop))
    s0, s1 = first * hop, min(width, (int(frames[-1]) + 2 * (n_fft // hop)) * hop)
    t1 = first + s1 // hop - s0 // hop + 1
    seg = slice(s0, s1)
    if is_time:
        # Start from an AR fill: its phase continues the context coherently near the gap's edges.
        init = np.stack([_ar_init(ch, a, b, proc) for ch in x])[:, seg]
        init_t = torch.from_numpy(init).float().to(device)
        sample_known = torch.ones(width, dtype=torch.bool, device=device)
        sample_known[a:b] = False
        sample_known = sample_known[seg].expand_as(init_t)
    else:
        init_t, sample_known = signal[:, seg], None
    yield ctx.progress(0.7, "recovering the phase")
    part = signal[:, seg]
    known = stft(part, n_fft, hop)
    y_part = griffin_lim(
        magnitude[..., first:t1],
        known,
        unknown[..., first:t1],
        init_t,
        n_fft,
        hop,
        iterations=spectral.gl_iterations,
        signal=part if is_time else None,
        sample_known=sample_known,
    )
    y = x.copy()
    y[:, seg] = y_part.double().cpu().numpy()
    if is_time:
        # The AR fill predicts the first and last milliseconds of a gap sample-accurately, which no
        # magnitude-only method can: hand over from it to the spectral fill over AR_EDGE_SECONDS.
        trust = _edge_ramp(b - a, int(AR_EDGE_SECONDS * proc))
        edges = trust * init[:, a - s0 : b - s0]
        middle = (1.0 - trust) * INCOHERENT_GAIN * y[:, a:b]
        if spectral.match_level:
            around = np.concatenate([x[:, max(0, a - (b - a)) : a], x[:, b : b + (b - a)]], axis=1)
            middle *= np.array([[matched_gain(e, m, c)] for e, m, c in zip(edges, middle, around)])
        y[:, a:b] = edges + middle
        y[:, :a] = x[:, :a]  # bit-exact context at the processing rate (the crossfade blends the edge)
        y[:, b:] = x[:, b:]
    if proc != rate:
        y = resample(y, proc, rate, axis=1).astype(np.float64)[:, : window.shape[1]]
        if is_time:  # the gap was widened by the resampler's reach: outside it, the recording's own
            start, stop = max(sel.span[0], 0), min(sel.span[1], window.shape[1])
            y[:, :start], y[:, stop:] = window[:, :start], window[:, stop:]
    if not is_time:
        # Only frames holding selected bins may change; elsewhere keep the recording exactly.
        out = window.copy()
        r0 = max(0, int(np.floor(centres[frames[0]] - half)))
        r1 = min(window.shape[1], int(np.ceil(centres[frames[-1]] + half)))
        out[:, r0:r1] = y[:, r0:r1]
        return out
    return y

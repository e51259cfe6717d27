"""Audio gap filling (`fill-gap`): learned spectrogram inpainting, LSAR, a deep prior, and baselines.

Every method takes an AudioDoc and a selection (`core.audio.selection`: TimeSpan, TFRect, TFMask, or
a list of them), yields progress and returns a new AudioDoc in which only the selected samples (plus a
2 ms crossfade outside a time gap) differ. torch is imported only when a method runs.
"""

from __future__ import annotations

import numpy as np

from core.methods.registry import MethodCard, Param, register

WEIGHTS = "fill-gap.safetensors"
DEFAULT_THRESHOLD_MS = 50.0  # auto: AR up to this gap length, the network above
# Griffin-Lim with the context clamped keeps converging: with true magnitudes a 100 ms speech gap
# reached 7 dB SNR after 32 iterations and 11 dB after 100 (train clips).
GL_ITERATIONS = 48  # ~5 ms each at 48 kHz stereo: a 200 ms gap stays well under a second

_SPECTRAL = dict(operates_on="audio", modalities=("audio",), needs_mask=True)


# Off by default: the quieter middle is nearer the truth (the SNR the benchmarks hold it to).
MATCH_LEVEL = Param(
    "match_level",
    False,
    "raise a long gap's fill to the loudness around it: it sounds continuous instead of as a dip, but"
    " strays further from what was lost (the fill's middle is a guess, kept quieter by default)",
)


def _gap_ms(selections, rate: int) -> float:
    return max((s.span[1] - s.span[0]) for s in selections) * 1000.0 / rate


def _device(ctx) -> str:
    return str(ctx.torch_device())


def _time_method(name: str, **options):
    def run(doc, selection, ctx, **params):
        from core.audio import fill

        fillers = {
            "silence": fill.fill_silence,
            "crossfade": fill.fill_crossfade,
            "repeat": lambda x, a, b, r: fill.fill_repeat(
                x, a, b, r, hold_ms=params.get("hold_ms", 20.0), mute_ms=params.get("mute_ms", 60.0)
            ),
            "ar": lambda x, a, b, r: fill.fill_ar(x, a, b, r, order_ms=params.get("order_ms", 20.0)),
        }
        context = lambda gap, rate: fill.time_context(name, gap, rate, params.get("order_ms", 20.0))  # noqa: E731
        return (yield from fill.fill_document(doc, selection, ctx, fillers[name], context))

    return run


def run_repeat_both_sides(doc, selection, ctx):
    """Every lost run filled from the pitch periods on both of its sides (`repeat_both_sides`), each
    channel on its own; only the lost samples are written."""
    from core.audio.fill import repeat_both_sides
    from core.audio.selection import as_selections, lost_samples

    samples = np.asarray(doc.samples)
    length, channels = samples.shape
    lost = lost_samples(as_selections(selection, length, channels), length, channels, "fill-gap-repeat-both")
    out = samples.copy()
    for channel in range(channels):
        yield ctx.progress(channel / channels, f"channel {channel + 1} of {channels}")
        gone = lost[channel]
        filled = repeat_both_sides(samples[:, channel].astype(np.float64), gone, int(doc.sample_rate))
        out[gone, channel] = filled[gone].astype(out.dtype)
    yield ctx.progress(1.0, f"{int(lost.any(axis=0).sum())} lost samples filled")
    return doc.with_samples(out)


def _learned_spectral(ctx, context_ms: float, gl_iterations: int, match_level: bool = False):
    from core.archs import cached_weights
    from core.audio import fill, specnet
    from core.methods import weights

    device = ctx.torch_device()
    model, _info = cached_weights(weights.require(WEIGHTS), device)

    def predict(logmag, unknown, sub):
        yield sub.progress(0.1, "predicting the missing spectrogram")
        return specnet.predict_logmag(model, logmag, unknown)

    return fill.SpectralFill(predict, context_ms / 1000.0, gl_iterations, device, match_level)


def run_learned(doc, selection, ctx, context_ms=300.0, gl_iterations=GL_ITERATIONS, match_level=False):
    from core.audio import fill

    spectral = _learned_spectral(ctx, context_ms, gl_iterations, match_level)
    return (yield from fill.fill_document(doc, selection, ctx, spectral=spectral))


def run_dip(doc, selection, ctx, iterations=300, gl_iterations=GL_ITERATIONS, seed=0):
    from core.audio import fill
    from core.audio.dip import dip_fill

    def fit(logmag, unknown, sub):
        return (yield from dip_fill(logmag, unknown, sub, iterations=iterations, seed=seed))

    spectral = fill.SpectralFill(fit, 0.3, gl_iterations, ctx.torch_device())
    return (yield from fill.fill_document(doc, selection, ctx, spectral=spectral))


def run_auto(doc, selection, ctx, threshold_ms=DEFAULT_THRESHOLD_MS, match_level=False):
    """AR for short gaps (its phase-exact extrapolation wins), the network for longer ones."""
    from core.audio import fill
    from core.audio.selection import as_selections

    selections = as_selections(selection, doc.samples.shape[0], doc.channels)
    short = [s for s in selections if _gap_ms([s], doc.sample_rate) <= threshold_ms]
    long = [s for s in selections if s not in short]
    result = doc
    if short:
        context = lambda gap, rate: fill.time_context("ar", gap, rate)  # noqa: E731
        sub = ctx.sub(0.0, 0.5 if long else 1.0)
        numbering = (0, len(selections))
        result = yield from fill.fill_document(result, short, sub, fill.fill_ar, context, numbering=numbering)
    if long:
        sub = ctx.sub(0.5 if short else 0.0, 1.0)
        spectral = _learned_spectral(ctx, 300.0, GL_ITERATIONS, match_level)
        numbering = (len(short), len(selections))
        result = yield from fill.fill_document(result, long, sub, spectral=spectral, numbering=numbering)
    return result


LEARNED = MethodCard(
    id="fill-gap-learned",
    task="fill-gap",
    name="Spectrogram network",
    kind="learned",
    description="UNet fills the log-magnitude spectrogram; phase by context-clamped Griffin-Lim",
    weights=(WEIGHTS,),
    speed="fast",
    params=(
        Param("context_ms", 300.0, "context read on each side (at least the gap's length, ms)", 50.0, 1000.0),
        Param("gl_iterations", GL_ITERATIONS, "Griffin-Lim iterations for the phase", 0, 500),
        MATCH_LEVEL,
    ),
    **_SPECTRAL,
)

register(
    MethodCard(
        id="fill-gap-auto",
        task="fill-gap",
        name="Automatic",
        kind="learned",
        description=f"AR for gaps up to {DEFAULT_THRESHOLD_MS:.0f} ms, the spectrogram network for longer",
        weights=(WEIGHTS,),
        default=True,
        params=(
            Param("threshold_ms", DEFAULT_THRESHOLD_MS, "longest gap given to AR (ms)", 0.0, 10000.0),
            MATCH_LEVEL,
        ),
        **_SPECTRAL,
    ),
    run_auto,
)
register(LEARNED, run_learned)
register(
    MethodCard(
        id="fill-gap-ar",
        task="fill-gap",
        name="Autoregressive (LSAR)",
        kind="classical",
        description="Least-squares AR interpolation from both sides (Janssen); best for gaps up to ~50 ms",
        params=(Param("order_ms", 20.0, "AR model length (ms of history)", 0.5, 100.0),),
        **_SPECTRAL,
    ),
    _time_method("ar"),
)
register(
    MethodCard(
        id="fill-gap-dip",
        task="fill-gap",
        name="Deep prior",
        kind="zero-shot",
        description="An untrained UNet fitted to the clip's own spectrogram around the gap",
        speed="slow",
        params=(
            Param("iterations", 300, "fitting iterations", 10, 5000),
            Param("gl_iterations", GL_ITERATIONS, "Griffin-Lim iterations for the phase", 0, 500),
            Param("seed", 0, "random seed of the network and its input"),
        ),
        **_SPECTRAL,
    ),
    run_dip,
)
register(
    MethodCard(
        id="fill-gap-crossfade",
        task="fill-gap",
        name="Linear crossfade (baseline)",
        kind="classical",
        description="The audio before the gap fades out as the audio after it fades in",
        **_SPECTRAL,
    ),
    _time_method("crossfade"),
)
register(
    MethodCard(
        id="fill-gap-repeat",
        task="fill-gap",
        name="Repeat the last packet (baseline)",
        kind="classical",
        description="The standard VoIP concealment (G.711 Appendix I style): the last pitch period before "
        "the gap (the last 20 ms if not periodic) repeated, full level for hold_ms, silent from mute_ms",
        params=(
            Param("hold_ms", 20.0, "full level this long into a gap (ms), then a fade", 0.0, 1000.0),
            Param("mute_ms", 60.0, "silent from this far into a gap (ms)", 0.0, 1000.0),
        ),
        **_SPECTRAL,
    ),
    _time_method("repeat"),
)
register(
    MethodCard(
        id="fill-gap-repeat-both",
        task="fill-gap",
        name="Repeat from both sides",
        kind="classical",
        description="Non-causal packet concealment for file repair: the pitch period before each lost run "
        "repeated forwards and the one after it backwards, crossfaded across the run at full level",
        **_SPECTRAL,
    ),
    run_repeat_both_sides,
)
register(
    MethodCard(
        id="fill-gap-silence",
        task="fill-gap",
        name="Silence (baseline)",
        kind="classical",
        description="Mutes the selection (time spans) or its bins (T-F selections)",
        **_SPECTRAL,
    ),
    _time_method("silence"),
)

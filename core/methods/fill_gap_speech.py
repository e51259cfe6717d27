"""Speech packet-loss concealment (`fill-gap-speech`): a waveform network fills lost samples, and
a second network corrects the spectral envelope of its fill (`envelope=false` leaves it out).

The waveform network (`core.archs.packet_fill`, weights `fill-gap-speech.safetensors`) works at
16 kHz on windows of the recording around the lost spans, reading the speech on both sides
(non-causal: for file repair), and corrects a first fill that the weights name (`first_fill`): the
shipped network the pitch periods of both sides repeated into each lost run, earlier ones the AR
method's fill. The envelope network (`core.archs.mel_envelope`, weights
`fill-gap-speech-envelope.safetensors`; on by default since session 30) then scales that fill's
spectrum per mel band, which brings it closer to the lost speech's envelope (a recogniser's and a
listener's cue; docs/benchmarks.md, "Speech packet loss"). Other
rates are resampled to 16 kHz and the fill back (at 48 kHz the fill holds the band below 8 kHz, which
is where speech lives); each channel is concealed on its own. A fill holds no more band than the
received audio (`core.audio.band`: a narrowband call stays narrowband). Only lost samples are
written: every received sample stays bit-identical.
"""

from __future__ import annotations

import numpy as np

from core.methods.registry import MethodCard, Param, register

WEIGHTS = "fill-gap-speech.safetensors"
ENVELOPE_WEIGHTS = "fill-gap-speech-envelope.safetensors"
CONTEXT_SECONDS = 1.0  # speech read on each side of a run of lost spans
MAX_WINDOW_SECONDS = 12.0  # spans closer than this share one network call


def _windows(lost_any: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """[lo, hi) windows covering every lost sample with CONTEXT_SECONDS of audio on each side."""
    from core.audio.selection import runs

    context, limit = int(CONTEXT_SECONDS * rate), int(MAX_WINDOW_SECONDS * rate)
    windows: list[list[int]] = []
    for start, stop in runs(lost_any):
        lo, hi = max(0, start - context), min(len(lost_any), stop + context)
        if windows and lo <= windows[-1][1] and hi - windows[-1][0] <= limit:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    return [(lo, hi) for lo, hi in windows]


def _to_model_rate(x: np.ndarray, lost: np.ndarray, rate: int, model_rate: int):
    """The window at the model's rate, and its lost mask widened by the resampling filter's reach."""
    from core.audio.stft import resample, resample_reach

    if rate == model_rate:
        return x.astype(np.float32), lost
    y = resample(x, rate, model_rate, axis=1)
    width = y.shape[1]
    positions = (np.arange(width) * rate / model_rate).astype(int).clip(0, lost.shape[1] - 1)
    mask = lost[:, positions]
    reach = resample_reach(rate, model_rate)
    kernel = np.ones(2 * reach + 1)
    mask = np.stack([np.convolve(m.astype(float), kernel, "same") > 0 for m in mask])
    return y, mask


def first_fill(received: np.ndarray, lost: np.ndarray, kind: str) -> np.ndarray:
    """The fill of one 16 kHz row's lost samples that the network corrects: "ar" (LSAR from 100 ms
    each side) or "both-sides" (the pitch periods of both sides repeated in, at full level)."""
    from core.audio.ar import interpolate_runs
    from core.audio.fill import repeat_both_sides
    from core.audio.stft import MODEL_RATE

    if kind == "both-sides":
        return repeat_both_sides(received, lost, MODEL_RATE)
    return interpolate_runs(received, lost, MODEL_RATE)


def network_input(audio: np.ndarray, lost: np.ndarray, first: str = "ar") -> np.ndarray:
    """(B, 3, L) float32 input of the network from 16 kHz rows `audio` and their `lost` samples: the
    audio with the lost samples zeroed, the lost mask, and the network's `first` fill of the lost
    samples (`first_fill`), which it corrects. Training and repair both build it here."""
    received = np.where(lost, 0.0, audio).astype(np.float32)
    fills = np.stack([first_fill(row, gone, first) for row, gone in zip(received, lost)])
    return np.stack([received, lost.astype(np.float32), fills], axis=1).astype(np.float32)


def conceal(model, x: np.ndarray, lost: np.ndarray, rate: int, envelope=None) -> np.ndarray:
    """Fill the `lost` samples of `x` (C, W) with the network, its fill's envelope corrected by the
    `envelope` network if given; received samples are returned as given."""
    import torch

    from core.audio.stft import MODEL_RATE, resample

    y, mask = _to_model_rate(x, lost, rate, MODEL_RATE)
    width = y.shape[1]
    padded = -(-width // model.multiple) * model.multiple
    audio = np.zeros((len(y), padded), np.float32)
    audio[:, :width] = y
    gone = np.zeros((len(y), padded), bool)
    gone[:, :width] = mask
    device = next(model.parameters()).device
    inputs = torch.from_numpy(network_input(audio, gone, model.first_fill)).to(device)
    with torch.no_grad():
        pred = model(inputs).float()
        if envelope is not None:
            pred = envelope(torch.stack([inputs[:, 0], inputs[:, 1], pred[:, 0]], 1))
        pred = pred[:, 0, :width].cpu().numpy()
    if rate != MODEL_RATE:
        pred = resample(pred, MODEL_RATE, rate, axis=1)[:, : x.shape[1]]
        pred = np.pad(pred, ((0, 0), (0, x.shape[1] - pred.shape[1])))
    return np.where(lost, pred, x)


def run(doc, selection, ctx, envelope=True):
    from core.archs import cached_weights
    from core.audio.band import band_edge, limit_band
    from core.audio.fill import join_inside
    from core.audio.selection import as_selections, lost_samples
    from core.methods import weights

    samples = np.asarray(doc.samples)
    length, channels = samples.shape
    rate = int(doc.sample_rate)
    lost = lost_samples(as_selections(selection, length, channels), length, channels, "fill-gap-speech")
    model, _info = cached_weights(weights.require(WEIGHTS), ctx.torch_device())
    shaper = cached_weights(weights.require(ENVELOPE_WEIGHTS), ctx.torch_device())[0] if envelope else None
    out = samples.copy()
    edges = [band_edge(samples[:, c], lost[c], rate) for c in range(channels)]
    if any(edges):  # said, and in the record: the band the fill was kept to
        ctx.record_setting("band_limit_hz", [None if e is None else round(e) for e in edges])
        top = max(e for e in edges if e)
        ctx.note(
            f"the recording holds nothing above {top:.0f} Hz (a narrowband call, or a recording made at a"
            " lower rate): the fill is kept below"
        )
    windows = _windows(lost.any(axis=0), rate)
    for index, (lo, hi) in enumerate(windows):
        yield ctx.progress(index / len(windows), f"concealing stretch {index + 1} of {len(windows)}")
        filled = conceal(model, out[lo:hi].T.astype(np.float64), lost[:, lo:hi], rate, shaper)
        for c, edge in enumerate(edges):
            if edge is not None:  # a narrowband call: the fill holds no more than what was received
                filled[c] = np.where(lost[c, lo:hi], limit_band(filled[c], edge, rate), filled[c])
            filled[c] = join_inside(filled[c], lost[c, lo:hi], rate)  # no click where a fill meets
        out[lo:hi] = filled.T.astype(out.dtype)  # only lost samples differ from what was received
    yield ctx.progress(1.0, f"{int(lost.any(axis=0).sum())} lost samples concealed")
    return doc.with_samples(out)


register(
    MethodCard(
        id="fill-gap-speech",
        task="fill-gap",
        name="Speech packet concealment",
        kind="learned",
        description="A waveform network trained on speech fills lost packets and dropouts from both sides;"
        " a second network corrects the fill's spectral envelope",
        params=(
            Param(
                "envelope",
                True,
                "correct the fill's envelope (second network): higher PLCMOS, PESQ and STOI at every loss;"
                " off: the waveform network alone, about 2.4x faster",
            ),
        ),
        weights=(WEIGHTS, ENVELOPE_WEIGHTS),
        speed="fast",
        operates_on="audio",
        modalities=("audio",),
        needs_mask=True,
    ),
    run,
)

"""Damage detection on real clips with planted clicks, dropouts and splices."""

from __future__ import annotations

import numpy as np
import pytest

import core.io
from core.audio import detect
from core.repair import run_repair


@pytest.fixture(scope="module")
def trumpet(datasets):
    doc = core.io.read(datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
    return doc.with_samples(doc.samples[: 4 * doc.sample_rate])


@pytest.fixture(scope="module")
def speech(datasets):
    doc = core.io.read(datasets / "audio" / "bench" / "clips" / "3436-172162-0000.ogg")
    return doc.with_samples(doc.samples[: 6 * doc.sample_rate])


def _covered(found, position, slack=2):
    return any(d.selection.start - slack <= position <= d.selection.stop + slack for d in found)


def _plant_clicks(samples, rate, count, seed):
    rng = np.random.default_rng(seed)
    damaged = samples.copy()
    # Clicks at least 20 ms apart, each 1-3 samples of a decaying impulse of +-0.15..0.3.
    slots = rng.choice(
        np.arange(rate // 10, len(samples) - rate // 10, int(0.02 * rate)), count, replace=False
    )
    for t in slots:
        shape = np.array([1.0, 0.5, 0.2])[: rng.integers(1, 4)] * rng.uniform(0.15, 0.3) * rng.choice([-1, 1])
        damaged[t : t + len(shape)] += shape[:, None]
    return damaged, sorted(int(t) for t in slots)


@pytest.mark.parametrize("clip", ["trumpet", "speech"])
def test_planted_clicks_are_found_with_few_false_alarms(request, clip):
    doc = request.getfixturevalue(clip)
    rate = doc.sample_rate
    clean_found = detect.find_clicks(doc.samples, rate)
    damaged, planted = _plant_clicks(doc.samples, rate, 20, seed=1)
    found = detect.find_clicks(damaged, rate)
    hits = sum(_covered(found, t) for t in planted)
    assert hits >= 18, (hits, len(found))
    seconds = len(doc.samples) / rate
    assert len(clean_found) <= 1.5 * seconds  # false alarms on the clean clip


def test_detected_clicks_filled_by_ar_restore_the_clip(trumpet):
    rate = trumpet.sample_rate
    damaged, _ = _plant_clicks(trumpet.samples, rate, 10, seed=2)
    broken = trumpet.with_samples(damaged)
    found = detect.detect(damaged, rate)
    repaired = run_repair(broken, "fill-gap", method="fill-gap-ar", mask=[d.selection for d in found])
    error_before = np.sum((damaged - trumpet.samples) ** 2)
    error_after = np.sum((repaired.samples - trumpet.samples) ** 2)
    assert error_after < 0.2 * error_before
    assert sum(d.kind == "click" for d in found) >= 8  # impulses are reported as clicks, not splices


def test_dropouts_of_digital_silence(speech):
    rate = speech.sample_rate
    damaged = speech.samples.copy()
    loud = int(np.argmax(np.convolve(speech.samples[:, 0] ** 2, np.ones(800), "same")))
    a, b = loud - int(0.015 * rate), loud + int(0.015 * rate)
    damaged[a:b] = 0.0
    found = detect.find_dropouts(damaged, rate)
    spans = [d.selection.span for d in found]
    assert any(abs(s - a) <= 1 and abs(e - b) <= 1 for s, e in spans), spans
    # Natural silence (an all-zero clip) is not damage.
    assert detect.find_dropouts(np.zeros((rate, 1), np.float32), rate) == []


def test_a_dropout_in_an_mp3_is_found_beside_the_codecs_faint_tails(datasets, tmp_path):
    """A walk-through's MP3 with 0.3 s zeroed: the decoder's tails next to the hole lie below -80 dBFS
    for 20 ms, and the 174 ms of zeros were reported as '2 clicks'."""
    import soundfile

    speech = core.io.read(datasets / "audio/speech/plc/audio_samples/clean/54.wav")
    rate = speech.sample_rate
    damaged = speech.samples.copy()
    damaged[int(1.5 * rate) : int(1.8 * rate)] = 0.0
    soundfile.write(tmp_path / "dropout.mp3", damaged, rate, format="MP3")
    decoded = core.io.read(tmp_path / "dropout.mp3")
    found = [d for d in detect.find_dropouts(decoded.samples, rate) if d.kind == "dropout"]
    lost = [d.selection.span for d in found if d.selection.span[1] - d.selection.span[0] > 0.1 * rate]
    assert lost and all(1.45 * rate < s and e < 1.85 * rate for s, e in lost), [
        d.selection.span for d in found
    ]


def test_every_lost_packet_of_a_real_call_is_found_quiet_passages_too(datasets):
    """The real lossy call 1214.wav: its lost packets are exact zeros (the shared trace says which),
    some of them in pauses where only room tone is left around them."""
    doc = core.io.read(datasets / "audio" / "speech" / "plc" / "test_files" / "1214.wav")
    trace = datasets / "audio" / "speech" / "plc" / "test_files" / "1214_is_lost.txt"
    lost = np.repeat(np.loadtxt(trace).astype(bool), doc.sample_rate // 50)
    found = np.zeros(len(doc.samples), bool)
    for d in detect.find_dropouts(doc.samples, doc.sample_rate):
        found[d.selection.start : d.selection.stop] = True
    lost = np.pad(lost, (0, max(0, len(found) - len(lost))))[: len(found)]
    assert found[lost].mean() > 0.99
    # Outside them only a received sample that is itself zero, next to a lost packet (3 of 112,320).
    extra = found & ~lost
    assert extra.sum() < 10 and not doc.samples[extra].any()


def test_splices_are_found(trumpet):
    """Cut 5 ms out of loud passages: the jumps at the splices are proposed."""
    rate = trumpet.sample_rate
    x = trumpet.samples
    energy = np.convolve(x[:, 0] ** 2, np.ones(400), "same")
    cuts = []
    pieces, last = [], 0
    for t in (int(0.7 * rate), int(1.6 * rate), int(2.5 * rate)):
        t = t + int(np.argmax(energy[t : t + rate // 4]))
        pieces.append(x[last:t])
        cuts.append(sum(len(p) for p in pieces))
        last = t + int(0.005 * rate)
    pieces.append(x[last:])
    spliced = np.concatenate(pieces)
    found = detect.detect(spliced, rate)
    assert all(_covered(found, c) for c in cuts), (cuts, [d.selection.span for d in found])


def test_near_silent_packets_cutting_through_voiced_speech_are_found(datasets):
    """Lost 20 ms packets replaced by -70 dB noise (not exact zeros) inside real read speech: most
    of those with voiced speech on both sides are found, and the clean utterances raise nothing."""
    from core.audio.loss_trace import gilbert_elliott

    rng = np.random.default_rng(7)
    voiced_lost = voiced_found = 0
    for path in sorted((datasets / "audio/speech/bench").glob("*.wav"))[:6]:
        clean = core.io.read(path)
        x, rate = clean.samples[:, 0].astype(np.float64), clean.sample_rate
        assert detect.find_voiced_silences(clean.samples, rate) == []  # natural pauses are not damage
        lost = np.repeat(gilbert_elliott(len(x) // 320 + 1, 0.1, rng, mean_burst=1.5), 320)[: len(x)]
        damaged = x.copy()
        damaged[lost] = rng.normal(0.0, 3e-4, lost.sum())
        found = np.zeros(len(x), bool)
        for d in detect.detect(damaged[:, None], rate, clicks=False, discontinuities=False):
            found[d.selection.start : d.selection.stop] = True
        edges = np.flatnonzero(np.diff(np.concatenate([[0], lost.astype(np.int8), [0]])))
        side = int(0.04 * rate)
        for a, b in zip(edges[::2], edges[1::2]):
            voiced = a > side and b + side < len(x)
            if voiced and detect._periodic(x[a - side : a], rate) and detect._periodic(x[b : b + side], rate):
                voiced_lost += 1
                voiced_found += found[a:b].mean() > 0.8
    assert voiced_lost > 30
    assert voiced_found >= 0.6 * voiced_lost, (voiced_found, voiced_lost)


def test_lost_packets_are_told_from_dropouts_off_the_packet_grid(datasets):
    """A call's lost packets start and end on its 20 ms grid; dropouts elsewhere (a scratched CD) do not."""
    import core.io
    from core.audio.detect import detect, packet_grid_ms

    call = core.io.read(datasets / "audio/speech/plc/test_files/2307.wav")
    assert packet_grid_ms(detect(call.samples, call.sample_rate), call.sample_rate) == 20.0
    music = core.io.read(datasets / "audio/bench/clips/sorohanro_-_solo-trumpet-06.ogg")
    samples, rate = music.samples[: 3 * music.sample_rate].copy(), music.sample_rate
    for start in (0.3137, 0.9071, 1.5023, 2.2011):  # off any 10/20/30 ms grid
        samples[int(start * rate) : int(start * rate) + int(0.017 * rate)] = 0.0
    found = detect(samples, rate)
    assert sum(d.kind == "dropout" for d in found) == 4
    assert packet_grid_ms(found, rate) is None


def test_a_recordings_silent_lead_in_is_not_a_dropout(datasets):
    """The drum clip's first 8.7 ms are digital silence (its codec's priming): not a dropout to fill."""
    import core.io
    from core.audio.detect import find_dropouts

    drums = core.io.read(datasets / "audio/bench/clips/admiralbob77_-_Choice_-_Drum-bass.ogg")
    assert (drums.samples[:384] == 0).all()
    assert find_dropouts(drums.samples, drums.sample_rate) == []


def test_a_test_tone_has_no_click_at_its_start():
    """Walk-through 53: a clean 440 Hz test tone was taken for a click in its first
    2 ms (the prediction had no past samples there), and `repair --detect` rewrote them."""
    rate = 48_000
    t = np.arange(rate) / rate
    tone = np.round(0.5 * np.sin(2 * np.pi * 440 * t)[:, None] * 32767) / 32767  # 16-bit, as saved
    assert not detect.find_clicks(tone, rate)
    clicked = tone.copy()
    clicked[rate // 2] += 0.2  # past the start, a click on the tone is found
    (found,) = detect.find_clicks(clicked, rate)
    assert _covered([found], rate // 2)

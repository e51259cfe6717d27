"""`fill-gap-speech` on shared read speech: a loss trace through `lacuna repair`, other rates and channels."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import core.io
from core.audio.loss_trace import gilbert_elliott
from core.audio.selection import TFRect, TimeSpan
from core.audio.stft import resample
from core.cli import main
from core.documents import AudioDoc
from core.errors import MethodError
from core.repair import run_repair

UTTERANCE = "audio/speech/bench/367-130732-0006.wav"  # 2.4 s, a female speaker
PACKET = 320  # 20 ms at 16 kHz


def _snr_db(fill: np.ndarray, clean: np.ndarray) -> float:
    return 10 * np.log10(np.sum(clean**2) / np.sum((fill - clean) ** 2))


def test_a_trace_concealed_through_lacuna_repair_changes_only_the_lost_packets(datasets, tmp_path):
    source = datasets / UTTERANCE
    clean, rate = sf.read(source, dtype="int16")
    lost = gilbert_elliott(len(clean) // PACKET + 1, 0.3, np.random.default_rng(5), mean_burst=2.0)
    trace = tmp_path / "trace.txt"
    trace.write_text("".join(f"{int(v)}\n" for v in lost))
    lossy_path, out = tmp_path / "lossy.wav", tmp_path / "concealed.wav"
    per_sample = np.repeat(lost, PACKET)[: len(clean)]
    sf.write(lossy_path, np.where(per_sample, 0, clean).astype(np.int16), rate)
    args = ["repair", str(lossy_path), "-o", str(out), "--task", "fill-gap", "--method", "fill-gap-speech"]
    assert main([*args, "--loss-trace", str(trace)]) == 0
    after, _ = sf.read(out, dtype="int16")
    assert np.array_equal(after[~per_sample], clean[~per_sample])  # received packets bit for bit
    assert np.mean(after[per_sample] != 0) > 0.95  # the holes are filled


def test_a_fill_meets_the_received_speech_without_a_click(datasets):
    """A walk-through found clicks where fills met a narrowband call (2307: a step of 0.062 at
    5.30 s where the signal moved 0.0055 a sample). A seam's step beyond CLICK_STEPS times the RMS
    of the received samples' own steps is taken out; other seams are left as the fill made them, and
    only lost samples change."""
    from core.audio.fill import CLICK_STEPS, join_inside
    from core.audio.loss_trace import traced_loss

    calls = datasets / "audio/speech/plc/test_files"
    doc = core.io.read(calls / "2307.wav")
    spans = traced_loss(doc.samples, doc.sample_rate, calls / "2307_is_lost.txt").spans
    received = np.asarray(doc.samples, np.float64)[:, 0]
    filled = np.asarray(run_repair(doc, "fill-gap", method="fill-gap-speech", mask=spans).samples)[:, 0]
    lost = np.zeros(len(received), bool)
    for span in spans:
        lost[span.start : span.stop] = True
    assert np.array_equal(filled[~lost], received[~lost])
    for span in spans:
        for seam, beside in (
            (span.start, received[span.start - 32 : span.start]),
            (span.stop, received[span.stop : span.stop + 32]),
        ):
            allowed = CLICK_STEPS * np.sqrt(np.mean(np.diff(beside) ** 2))
            assert abs(filled[seam] - filled[seam - 1]) <= allowed + 3e-4, seam  # 16-bit samples
    seam = next(s.stop for s in spans if abs(s.stop / doc.sample_rate - 5.30) < 0.01)
    assert abs(filled[seam] - filled[seam - 1]) < 0.01  # the walk-through's 0.062

    # On a line: a fill that starts and ends 0.3 away has its clicks taken out; one that continues
    # the line is left as it is.
    line = np.linspace(0.0, 1.0, 400)
    hole = np.zeros(400, bool)
    hole[100:300] = True  # 200 samples; the join bends at most 2 ms (32 samples at 16 kHz) at each end
    joined = join_inside(np.where(hole, line + 0.3, line), hole, 16000)
    step = line[1] - line[0]
    assert np.allclose(joined[~hole], line[~hole])
    assert abs(joined[100] - joined[99]) <= CLICK_STEPS * step + 1e-9
    assert abs(joined[300] - joined[299]) <= CLICK_STEPS * step + 1e-9
    assert np.allclose(joined[132:268], line[132:268] + 0.3)  # the middle of the fill is its own
    assert np.array_equal(join_inside(line, hole, 16000), line)


@pytest.mark.parametrize("rate", [8000, 48000])
def test_other_rates_and_one_channel_of_two(datasets, rate):
    """At 8 and 48 kHz, stereo, packets lost on the left channel only: the right one stays exact, and
    the left one's lost packets come closer to the speech than repeating the last packet does."""
    speech = core.io.read(datasets / UTTERANCE)
    mono = resample(speech.samples[:, 0], speech.sample_rate, rate)
    stereo = np.stack([mono, 0.5 * np.roll(mono, rate // 10)], axis=1).astype(np.float32)
    doc = AudioDoc(stereo, rate)
    packet = rate // 50
    lost = gilbert_elliott(len(mono) // packet, 0.2, np.random.default_rng(1), mean_burst=2.0)
    spans = [TimeSpan(k * packet, (k + 1) * packet, channels=(0,)) for k in np.flatnonzero(lost)]
    damaged = stereo.copy()
    for span in spans:
        damaged[span.start : span.stop, 0] = 0.0
    result = run_repair(doc.with_samples(damaged), "fill-gap", method="fill-gap-speech", mask=spans)
    out = np.asarray(result.samples)
    assert result.sample_rate == rate
    assert np.array_equal(out[:, 1], damaged[:, 1])
    per_sample = np.zeros(len(out), bool)
    for span in spans:
        per_sample[span.start : span.stop] = True
    assert np.array_equal(out[~per_sample, 0], damaged[~per_sample, 0])
    repeat = run_repair(doc.with_samples(damaged), "fill-gap", method="fill-gap-repeat", mask=spans)
    ours = _snr_db(out[per_sample, 0], stereo[per_sample, 0])
    assert ours > _snr_db(np.asarray(repeat.samples)[per_sample, 0], stereo[per_sample, 0]) + 1.0


def test_a_frequency_band_is_refused_with_one_line(datasets):
    speech = core.io.read(datasets / UTTERANCE)
    band = TFRect(1000, 3000, 300.0, 3000.0)
    with pytest.raises(MethodError, match="time spans"):
        run_repair(speech, "fill-gap", method="fill-gap-speech", mask=[band])


def test_a_network_fine_tuned_to_correct_the_both_sides_fill_keeps_that_choice(tmp_path):
    """`lacuna train fill-gap-speech --first-fill both-sides --init AR_WEIGHTS`: the layers carry over
    unchanged, and the saved weights tell `fill-gap-speech` to build the both-sides fill as input."""
    import argparse

    import torch

    from core.archs import load_weights, save_weights
    from core.archs.packet_fill import PacketFillNet
    from core.audio.fill import repeat_both_sides
    from core.methods.fill_gap_speech import network_input
    from core.train.recipes.fill_gap_speech import FillGapSpeechRecipe

    torch.manual_seed(0)
    old = PacketFillNet(hidden=8)
    parser = argparse.ArgumentParser()
    FillGapSpeechRecipe.add_arguments(parser)
    args = parser.parse_args(["--hidden", "8", "--first-fill", "both-sides"])
    args.lr, args.steps = 1e-4, 10
    started = FillGapSpeechRecipe(args, torch.device("cpu")).adapt_start(old)
    path = tmp_path / "fill-gap-speech.safetensors"
    save_weights(started, path, arch="packet_fill", hparams={"hidden": 8, "first_fill": "both-sides"})
    model, _ = load_weights(path, torch.device("cpu"))
    assert model.first_fill == "both-sides" and old.first_fill == "ar"
    rng = np.random.default_rng(0)
    audio = np.sin(np.arange(4096) * 0.07)[None] + 0.05 * rng.standard_normal((1, 4096))
    lost = np.zeros((1, 4096), bool)
    lost[0, 1000:1640] = True
    built = network_input(audio, lost, model.first_fill)
    received = np.where(lost[0], 0.0, audio[0]).astype(np.float32)
    assert np.allclose(built[0, 2], repeat_both_sides(received, lost[0], 16000), atol=1e-6)
    x = torch.from_numpy(built)
    with torch.no_grad():
        assert torch.allclose(old(x), model(x), atol=1e-3)  # float16 weights on disk


def test_zero_correction_starts_a_fine_tune_at_the_first_fill_and_it_still_learns():
    """`--zero-correction`: the network outputs its first fill exactly, and a step of training moves
    it (the zeroed layer still receives a gradient)."""
    import argparse

    import torch

    from core.train.recipes.fill_gap_speech import FillGapSpeechRecipe

    parser = argparse.ArgumentParser()
    FillGapSpeechRecipe.add_arguments(parser)
    args = parser.parse_args(["--hidden", "8", "--first-fill", "both-sides", "--zero-correction"])
    args.lr, args.steps, args.init = 1e-3, 10, "start.safetensors"
    recipe = FillGapSpeechRecipe(args, torch.device("cpu"))
    recipe.after_init()
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(
        (np.sin(np.arange(2 * 4096) * 0.07) + 0.1 * rng.standard_normal(8192)).astype(np.float32)
    )
    (inputs,), target = recipe.make_batch(clean.reshape(2, 4096), torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(recipe.model(inputs)[:, 0], inputs[:, 2])
    recipe.optimise(recipe.loss(recipe.model(inputs), target))
    with torch.no_grad():
        assert not torch.equal(recipe.model(inputs)[:, 0], inputs[:, 2])


def test_lacuna_train_zero_correction_starts_from_the_first_fill(datasets, tmp_path):
    """`lacuna train fill-gap-speech --init W --zero-correction --steps 0`: the saved network outputs its
    first fill exactly; without --init the option is refused."""
    import shutil

    import torch

    from core.archs import load_weights, save_weights
    from core.archs.packet_fill import PacketFillNet
    from core.train.cli import main as train_main

    folder = tmp_path / "speech"
    folder.mkdir()
    shutil.copy(datasets / "audio/speech/train/1688-142285-0000.wav", folder)
    start = tmp_path / "start.safetensors"
    hparams = {"hidden": 8, "depth": 4, "stride": 4, "lstm_layers": 1, "first_fill": "both-sides"}
    torch.manual_seed(0)
    save_weights(PacketFillNet(**hparams), start, arch="packet_fill", hparams=hparams)
    common = ["fill-gap-speech", "--data", str(folder), "--hidden", "8", "--first-fill", "both-sides"]
    common += ["--crop", "1024", "--batch", "2", "--val-crops", "8", "--device", "cpu", "--zero-correction"]
    out = tmp_path / "tuned.safetensors"
    assert train_main([*common, "--out", str(out), "--steps", "0", "--init", str(start)]) == 0
    model, _ = load_weights(out, torch.device("cpu"))
    inputs = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 1024)).astype(np.float32))
    with torch.no_grad():
        assert torch.equal(model(inputs)[:, 0], inputs[:, 2])
    with pytest.raises(MethodError, match="--zero-correction"):
        train_main([*common, "--out", str(tmp_path / "x.safetensors"), "--steps", "0"])


def test_training_loss_rate_and_burst_options_shape_the_drawn_traces():
    """`--loss-rate` and `--burst` set the Gilbert–Elliott traces the recipe's batches lose packets by:
    a heavy range loses far more of each crop in longer runs; a rate that needs longer bursts than the
    range allows still draws (its bursts are lengthened) instead of failing; ranges that cannot be
    drawn are refused with a one-line error."""
    import argparse

    import torch

    from core.audio.selection import runs
    from core.train.recipes.fill_gap_speech import FillGapSpeechRecipe

    parser = argparse.ArgumentParser()
    FillGapSpeechRecipe.add_arguments(parser)
    defaults = parser.parse_args([])
    assert tuple(defaults.loss_rate) == (0.05, 0.45) and tuple(defaults.burst) == (1.0, 3.0)
    rng = np.random.default_rng(0)
    clean = torch.from_numpy((0.1 * rng.standard_normal((60, 4096))).astype(np.float32))

    def masks(*options: str) -> np.ndarray:
        args = parser.parse_args(["--hidden", "8", "--long-share", "0", "--burst", "1", "2", *options])
        args.lr, args.steps = 1e-3, 10
        recipe = FillGapSpeechRecipe(args, torch.device("cpu"))
        _, target = recipe.make_batch(clean, torch.Generator().manual_seed(0))
        return target[:, 1].numpy() > 0

    heavy, light = masks("--loss-rate", "0.7", "0.8"), masks()
    assert 0.65 < heavy.mean() < 0.85 and 0.15 < light.mean() < 0.35

    def mean_run(lost: np.ndarray) -> float:
        return float(np.mean([stop - start for row in lost for start, stop in runs(row)]))

    # Both ask for bursts of 1-2 packets; 70-80% loss needs more than 2.3-4: the heavy ones were lengthened.
    assert mean_run(heavy) > 1.6 * mean_run(light)
    for bad in (["--loss-rate", "0.2", "1.0"], ["--loss-rate", "0.5", "0.2"], ["--burst", "0.5", "2"]):
        args = parser.parse_args(bad)
        with pytest.raises(MethodError, match="--loss-rate|--burst"):
            FillGapSpeechRecipe(args, torch.device("cpu"))


def test_the_envelope_stage_brings_the_fill_closer_to_the_lost_speechs_spectrum(datasets):
    """The shipped envelope network, after the waveform network: on a training utterance at 30% loss
    the concealed speech's log-mel energies over the lost frames come closer to the clean speech's
    than the waveform network's fill alone (`envelope=false`), and received samples stay exact."""
    import torch

    from core.train.recipes.fill_gap_speech import log_mel_loss

    speech = core.io.read(datasets / "audio/speech/train/1688-142285-0000.wav")
    clean = np.asarray(speech.samples[:, 0], np.float32)
    lost = gilbert_elliott(len(clean) // PACKET + 1, 0.3, np.random.default_rng(2), mean_burst=2.0)
    per_sample = np.repeat(lost, PACKET)[: len(clean)]
    spans = [TimeSpan(k * PACKET, (k + 1) * PACKET) for k in np.flatnonzero(lost)]
    damaged = speech.with_samples(np.where(per_sample, 0.0, clean)[:, None].astype(np.float32))

    def distance(**params) -> float:
        out = np.asarray(
            run_repair(damaged, "fill-gap", method="fill-gap-speech", mask=spans, **params).samples
        )
        assert np.array_equal(out[~per_sample, 0], np.where(per_sample, 0.0, clean)[~per_sample])
        as_row = lambda x: torch.from_numpy(np.asarray(x, np.float32)[None])  # noqa: E731
        return log_mel_loss(as_row(out[:, 0]), as_row(clean), as_row(per_sample)).item()

    shaped, waveform_only = distance(), distance(envelope=False)  # the stage is on by default
    assert shaped < 0.95 * waveform_only


def test_the_envelope_network_starts_as_the_fill_and_lacuna_train_writes_it(datasets, tmp_path):
    """`lacuna train fill-gap-speech-envelope --steps 0`: a network that returns its fill unchanged
    (gains start at zero) and received samples exactly; the card records the training traces."""
    import shutil

    import torch

    from core.archs import load_weights
    from core.train.cli import main as train_main

    folder = tmp_path / "speech"
    folder.mkdir()
    shutil.copy(datasets / "audio/speech/train/1688-142285-0000.wav", folder)
    out = tmp_path / "envelope.safetensors"
    options = ["--data", str(folder), "--hidden", "8", "--crop", "4096", "--batch", "2", "--val-crops", "4"]
    assert train_main(["fill-gap-speech-envelope", *options, "--out", str(out), "--steps", "0"]) == 0
    model, info = load_weights(out, torch.device("cpu"))
    assert info["arch"] == "mel_envelope" and info["training"]["loss_rate"] == [0.05, 0.7]
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.standard_normal((1, 3, 4096)).astype(np.float32))
    inputs[:, 1] = torch.from_numpy((np.repeat(rng.random(13) < 0.3, 320)[:4096]).astype(np.float32))
    with torch.no_grad():
        y = model(inputs)[0, 0]
    lost = inputs[0, 1] > 0
    assert torch.equal(y[~lost], inputs[0, 0][~lost])
    assert torch.allclose(y[lost], inputs[0, 2][lost], atol=1e-4)
    with pytest.raises(MethodError, match="--burst"):
        train_main(
            ["fill-gap-speech-envelope", *options, "--out", str(out), "--steps", "0", "--burst", "3", "1"]
        )


def test_the_envelope_stage_can_train_on_the_shipped_waveform_networks_fill(datasets):
    """`--first-fill network`: the fill the envelope network learns to correct is the one it corrects
    in repair, the shipped waveform network's fill of the batch's lost samples (`conceal`)."""
    import argparse

    import torch

    import core.io
    from core.archs import load_weights
    from core.methods import weights
    from core.methods.fill_gap_speech import WEIGHTS, conceal
    from core.train.recipes.fill_gap_speech_envelope import FillGapSpeechEnvelopeRecipe

    parser = argparse.ArgumentParser()
    FillGapSpeechEnvelopeRecipe.add_arguments(parser)
    args = parser.parse_args(["--hidden", "8", "--first-fill", "network"])
    args.lr, args.steps, args.init, args.crop = 1e-3, 10, None, 8000
    with pytest.raises(MethodError, match="a multiple of 256"):  # the waveform network's frames
        FillGapSpeechEnvelopeRecipe(args, torch.device("cpu"))
    args.crop = 8192
    recipe = FillGapSpeechEnvelopeRecipe(args, torch.device("cpu"))
    speech = np.asarray(core.io.read(datasets / "audio/speech/train/1688-142285-0000.wav").samples)[:, 0]
    clean = torch.from_numpy(speech[16000 : 16000 + 2 * 8192].astype(np.float32)).reshape(2, 8192)
    (inputs,), target = recipe.make_batch(clean, torch.Generator().manual_seed(0))
    lost = target[:, 1].numpy() > 0
    assert 0 < lost.mean() < 1
    waveform = load_weights(weights.require(WEIGHTS), torch.device("cpu"))[0]
    for row in range(2):
        received = np.where(lost[row], 0.0, clean[row].numpy())[None].astype(np.float64)
        expected = conceal(waveform, received, lost[row][None], 16000)[0]
        assert np.allclose(inputs[row, 2].numpy()[lost[row]], expected[lost[row]], atol=1e-4)
        assert torch.equal(
            inputs[row, 0][~torch.from_numpy(lost[row])], clean[row][~torch.from_numpy(lost[row])]
        )


def test_detected_lost_packets_of_a_real_call_are_its_traced_packets_not_the_zeros_beside_them(datasets):
    """A walk-through compared `repair --detect` on the real call 1214.wav with its trace: 3 received
    samples that happen to be exactly zero beside lost packets were filled too. Detection trims a
    call's dropouts to the packet grid, and then marks exactly the packets the trace marks."""
    import core.io
    from core.audio.detect import detect, what_to_fill
    from core.audio.loss_trace import traced_loss

    folder = datasets / "audio/speech/plc/test_files"
    call = core.io.read(folder / "1214.wav")
    n = len(call.samples)
    found, _, grid = what_to_fill(detect(call.samples, call.sample_rate), call.sample_rate, n)
    assert grid == 20.0
    marked, lost = np.zeros(n, bool), np.zeros(n, bool)
    for d in found:
        marked[d.selection.start : d.selection.stop] = True
    for span in traced_loss(call.samples, call.sample_rate, folder / "1214_is_lost.txt").spans:
        lost[span.start : span.stop] = True
    assert np.array_equal(marked, lost)

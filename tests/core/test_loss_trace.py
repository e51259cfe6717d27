"""A real packet-loss trace applied to a shared call recording and concealed through `lacuna repair
--loss-trace`: only the lost packets change, bit for bit everything else is the input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

import core.io
from core.audio.loss_trace import length_mismatch, read_trace, trace_spans
from core.cli import main
from core.errors import MethodError
from core.io.provenance import recorded_steps

PACKET = 320  # 20 ms at 16 kHz


def test_lacuna_repair_conceals_only_the_lost_packets(datasets, tmp_path):
    folder = datasets / "audio/speech/plc/test_files"
    lossy, trace = folder / "2307.wav", folder / "2307_is_lost.txt"
    out = tmp_path / "concealed.wav"
    code = main(["repair", str(lossy), "-o", str(out), "--task", "fill-gap", "--loss-trace", str(trace)])
    assert code == 0
    before, rate = sf.read(lossy, dtype="int16")
    after, rate_out = sf.read(out, dtype="int16")
    assert rate == rate_out == 16000 and before.shape == after.shape
    lost = np.repeat(read_trace(trace), PACKET)[: len(before)]
    lost = np.concatenate([lost, np.zeros(len(before) - len(lost), bool)])
    assert lost.sum() == 31 * PACKET
    assert np.array_equal(after[~lost], before[~lost])  # untouched outside the lost packets
    assert (before[lost] == 0).all() and np.abs(after[lost]).mean() > 50  # the holes are filled
    # With a trace and no --method, the speech packet concealment runs.
    step = json.loads(out.with_name(out.name + ".lacuna.json").read_text())["steps"][-1]
    assert step["method"] == "fill-gap-speech"
    # The record names the trace and lists every stretch that was changed, as measured on the output.
    assert step["selection"].startswith("loss trace 2307_is_lost.txt: 31 of ")
    changed = np.zeros(len(before), bool)
    for start, end in step["changed_seconds"]:
        changed[round(start * rate) : round(end * rate)] = True
    assert np.array_equal(changed, lost)  # the lost packets, joined where they touch
    reopened = recorded_steps(core.io.read(out), out)[-1]
    assert reopened.changed_seconds == step["changed_seconds"] and reopened.selection == step["selection"]


def test_the_record_gives_a_packet_at_8_04_s_as_8_04_s():
    """A walk-through read lost packet 402 of 1214.wav as [8.039, 8.061] in the record: 128640 / 16000
    in floats is 8.0399999..., floored. The milliseconds are counted in whole numbers."""
    from core.documents import AudioDoc
    from core.repair.audio import changed_seconds

    before = AudioDoc(samples=np.zeros((200_000, 1), np.float32), sample_rate=16000)
    filled = before.samples.copy()
    filled[128640:128960] = 0.5
    assert changed_seconds(before, before.with_samples(filled)) == [[8.04, 8.06]]


def test_a_trace_of_another_length_is_warned_about_and_the_original_kept(datasets, tmp_path, capsys):
    folder = datasets / "audio/speech/plc/test_files"
    short = tmp_path / "short.txt"
    short.write_text(
        "".join(f"{line}\n" for line in read_trace(folder / "2307_is_lost.txt").astype(int)[:250])
    )
    out = tmp_path / "concealed.wav"
    code = main(
        ["repair", str(folder / "2307.wav"), "-o", str(out), "--task", "fill-gap", "--loss-trace", str(short)]
    )
    assert code == 0 and out.exists()
    assert "warning: short.txt: the loss trace has 250 packets of 20 ms (5.00 s)" in capsys.readouterr().err
    # A trace that fits (the call's own) says nothing.
    assert length_mismatch(read_trace(folder / "2307_is_lost.txt"), 16000, len(sf.read(out)[0])) is None


def test_trace_spans_merge_runs_and_follow_the_packet_length():
    spans = trace_spans(np.array([0, 1, 1, 0, 1], bool), 16000, 10_000, packet_ms=10)
    assert [(s.start, s.stop) for s in spans] == [(160, 480), (640, 800)]


def test_a_bad_trace_line_is_named(tmp_path):
    bad = tmp_path / "trace.txt"
    bad.write_text("0\n1\nlost\n")
    with pytest.raises(MethodError, match="trace.txt, line 3: a loss trace holds 0 or 1 per line"):
        read_trace(bad)


def test_detection_finds_exactly_the_zeroed_packets_of_a_real_lossy_call(datasets):
    """Without the trace, `--detect`'s dropout finder marks the lost packets (exact zeros), nothing else."""
    from core.audio.detect import detect

    folder = datasets / "audio/speech/plc/test_files"
    samples, rate = sf.read(folder / "2307.wav", dtype="float32", always_2d=True)
    marked = np.zeros(len(samples), bool)
    for finding in detect(samples, rate):
        if finding.kind == "dropout":
            marked[finding.selection.start : finding.selection.stop] = True
    lost = np.repeat(read_trace(folder / "2307_is_lost.txt"), PACKET)[: len(samples)]
    lost = np.concatenate([lost, np.zeros(len(samples) - len(lost), bool)])
    assert np.array_equal(marked, lost)


def test_detected_dropouts_on_a_packet_grid_are_concealed_as_a_calls_lost_packets(datasets, tmp_path, capsys):
    """`--detect` on a call whose dropouts sit on the 20 ms packet grid runs the speech concealment
    (no trace needed), says so, and records why; a gap given by hand keeps the task's default."""
    call = datasets / "audio/speech/plc/test_files/2307.wav"
    out = tmp_path / "detected.wav"
    assert main(["repair", str(call), "-o", str(out), "--task", "fill-gap", "--detect"]) == 0
    said = capsys.readouterr().err
    assert "lost packets: fill-gap-speech conceals them" in said
    step = json.loads(out.with_name(out.name + ".lacuna.json").read_text())["steps"][-1]
    assert step["method"] == "fill-gap-speech" and "20 ms packet grid" in step["selection"]
    # What it will fill is said before it runs (a walk-through's --detect said nothing of it).
    count = int(step["selection"].split()[0])
    assert f"lacuna: detection marked {count} dropouts, " in said and " s) to fill" in said
    by_hand = tmp_path / "by_hand.wav"
    assert main(["repair", str(call), "-o", str(by_hand), "--task", "fill-gap", "--gap", "1.0:1.02"]) == 0
    step = json.loads(by_hand.with_name(by_hand.name + ".lacuna.json").read_text())["steps"][-1]
    assert step["method"] != "fill-gap-speech" and "packet" not in capsys.readouterr().err


def test_a_trace_that_marks_received_speech_is_refused_and_nothing_written(datasets, tmp_path, capsys):
    """The real call 1214.wav played its lost packets as silence: another call's trace, or its own read
    with the wrong --packet-ms, marks mostly packets that hold speech, and filling them would overwrite
    it; both are refused in one line. Its own trace is not."""
    folder = datasets / "audio/speech/plc/test_files"
    call = folder / "1214.wav"
    out = tmp_path / "concealed.wav"
    for trace, packet_ms in ((folder / "54_is_lost.txt", "20"), (folder / "1214_is_lost.txt", "10")):
        args = ["repair", str(call), "-o", str(out), "--task", "fill-gap", "--loss-trace", str(trace)]
        assert main([*args, "--packet-ms", packet_ms]) == 2
        said = capsys.readouterr().err
        assert "a trace of another call, or packets of another length?" in said
        # 54's trace marks most of 1214's silent packets and much sound besides; 1214's own, read as
        # 10 ms packets, marks mostly other packets than the silent ones
        assert ("hold sound that filling would overwrite" in said) == (packet_ms == "20")
        assert ("lie mostly elsewhere" in said) == (packet_ms == "10")
        # Read as 10 ms packets, 1214's trace is half the call's length: said in the same line.
        assert ("(the loss trace has 468 packets of 10 ms" in said) == (packet_ms == "10")
        assert not out.exists()
    own = [
        "repair",
        str(call),
        "-o",
        str(out),
        "--task",
        "fill-gap",
        "--loss-trace",
        str(folder / "1214_is_lost.txt"),
    ]
    assert main(own) == 0 and out.exists()


def test_repair_detect_on_a_call_fills_its_lost_packets_and_no_speech(datasets, tmp_path):
    """`--detect` on the real call 1214.wav: the click finder also marks plosives in its speech, which
    the speech concealment would overwrite; on a call only the dropouts are filled, and the record says
    how many clicks were left."""
    import json

    call = datasets / "audio/speech/plc/test_files/1214.wav"
    out = tmp_path / "concealed.wav"
    assert main(["repair", str(call), "-o", str(out), "--task", "fill-gap", "--detect"]) == 0
    before, after = sf.read(call)[0], sf.read(out)[0]
    changed = before != after
    assert changed.sum() > 10_000 and not before[changed].any()  # only the silent lost packets
    step = json.loads(out.with_name(out.name + ".lacuna.json").read_text())["steps"][-1]
    assert step["method"] == "fill-gap-speech" and "(left as they are in the speech: " in step["selection"]


def test_a_concealed_call_with_silence_before_it_was_answered_keeps_its_own_trace():
    """The decoder concealed its losses (no zeroed packets in the speech) and the first 200 ms are
    digital silence: the silence is not lost packets, so the call's own trace is not refused."""
    from core.audio.loss_trace import contradicts_recording

    rng = np.random.default_rng(0)
    rate = 16000
    call = rng.normal(0.0, 0.1, 10 * rate)
    call[: rate // 5] = 0.0
    lost = np.zeros(500, bool)
    lost[rng.choice(np.arange(20, 500), 25, replace=False)] = True
    assert contradicts_recording(call[:, None], lost, rate) is None
    zeroed = call.copy()  # the same call with other packets played as silence: refused
    for k in rng.choice(np.arange(20, 500), 25, replace=False):
        zeroed[k * 320 : (k + 1) * 320] = 0.0
    assert "lie mostly elsewhere" in contradicts_recording(zeroed[:, None], lost, rate)


def test_a_trace_marking_every_packet_is_refused_for_the_sound_it_marks(datasets, tmp_path, capsys):
    """A walk-through's trace of all ones on 1214.wav was refused with "its silent packets lie mostly
    elsewhere", though every one of them was marked: the reason is the sound it marks."""
    folder = datasets / "audio/speech/plc/test_files"
    call = folder / "1214.wav"
    packets = len(read_trace(folder / "1214_is_lost.txt"))
    trace = tmp_path / "all_lost.txt"
    trace.write_text("1\n" * packets)
    out = tmp_path / "concealed.wav"
    args = ["repair", str(call), "-o", str(out), "--task", "fill-gap", "--loss-trace", str(trace)]
    assert main(args) == 2
    said = capsys.readouterr().err.strip()
    assert len(said.splitlines()) == 1 and "elsewhere" not in said, said
    assert f"it marks {packets} lost, 115 of them silent: the other {packets - 115} hold sound" in said
    assert not out.exists()


def test_dropouts_found_over_most_of_a_call_are_warned_of_as_a_traces_are(datasets, tmp_path, capsys):
    """A walk-through: the trace of 54.wav warned that 78% of the call is lost; --detect, finding the
    same packets, filled them without a word."""
    call = datasets / "audio/speech/plc/audio_samples/corrupted/54.wav"
    out = tmp_path / "concealed.wav"
    assert main(["repair", str(call), "-o", str(out), "--task", "fill-gap", "--detect"]) == 0
    said = capsys.readouterr().err
    # 77% (the trace: 77.9%): packets lost deep in a silence of the call are left as they are
    assert "warning: 77% of the recording is lost: what fills it is made up" in said
    record = json.loads(out.with_name(out.name + ".lacuna.json").read_text())["steps"][-1]
    assert any("77% of the recording is lost" in w for w in record["warnings"])


def test_a_trace_marking_every_packet_of_a_recording_without_silence_is_refused(datasets, tmp_path, capsys):
    """A walk-through's trace of all ones on a clean utterance (no silent packet to contradict it) was
    taken, and the "concealment" wrote near-silence over the whole recording."""
    utterance = datasets / "audio/speech/bench/3005-163389-0007.wav"
    samples, rate = sf.read(utterance)
    trace = tmp_path / "all_lost.txt"
    trace.write_text("1\n" * int(np.ceil(len(samples) / (rate * 0.02))))
    out = tmp_path / "concealed.wav"
    assert (
        main(["repair", str(utterance), "-o", str(out), "--task", "fill-gap", "--loss-trace", str(trace)])
        == 2
    )
    said = capsys.readouterr().err.strip()
    assert said.endswith("all_lost.txt: it marks every packet of the recording lost: nothing was received")
    assert not out.exists()


def test_a_trace_of_10_ms_packets_is_read_as_such(datasets, tmp_path, capsys):
    """The refusal of a trace that marks received speech counts silent runs in milliseconds: the
    call's own losses written per 10 ms packet (runs up to 180 ms) are not taken for another call's."""
    folder = datasets / "audio/speech/plc/test_files"
    ten = tmp_path / "ten.txt"
    ten.write_text(
        "".join(f"{v}\n" for v in np.repeat(read_trace(folder / "2307_is_lost.txt"), 2).astype(int))
    )
    out = tmp_path / "concealed.wav"
    args = [
        "repair",
        str(folder / "2307.wav"),
        "-o",
        str(out),
        "--task",
        "fill-gap",
        "--loss-trace",
        str(ten),
    ]
    assert main([*args, "--packet-ms", "10"]) == 0
    before, _ = sf.read(folder / "2307.wav", dtype="int16")
    after, _ = sf.read(out, dtype="int16")
    lost = np.repeat(read_trace(ten), PACKET // 2)[: len(before)]
    assert np.array_equal(after[~lost], before[~lost]) and np.abs(after[lost]).mean() > 50
    # Without --packet-ms the trace's length tells: its 936 lines fit the call's 9.36 s in 10 ms packets.
    fitted = tmp_path / "fitted.wav"
    capsys.readouterr()
    assert main(["repair", *args[1:3], str(fitted), *args[4:]]) == 0
    assert "ten.txt: read as 10 ms packets: its 936 lines fit 9.36 s" in capsys.readouterr().err
    assert np.array_equal(sf.read(fitted, dtype="int16")[0], after)
    step = json.loads(fitted.with_name(fitted.name + ".lacuna.json").read_text())["steps"][-1]
    assert step["selection"] == "loss trace ten.txt: 62 of 936 packets of 10 ms lost"


def test_a_call_that_lost_most_of_its_packets_is_said_to_be_mostly_made_up(datasets, tmp_path, capsys):
    folder = datasets / "audio/speech/plc/test_files"
    out = tmp_path / "54.wav"
    trace = folder / "54_is_lost.txt"
    assert (
        main(
            [
                "repair",
                str(folder / "54.wav"),
                "-o",
                str(out),
                "--task",
                "fill-gap",
                "--loss-trace",
                str(trace),
            ]
        )
        == 0
    )
    assert "54_is_lost.txt: 78% of the recording is lost: what fills it is made up" in capsys.readouterr().err
    step = json.loads(out.with_name(out.name + ".lacuna.json").read_text())["steps"][-1]
    assert any("78% of the recording is lost" in w for w in step["warnings"])  # in the record too
    assert (
        main(
            [
                "repair",
                str(folder / "2307.wav"),
                "-o",
                str(tmp_path / "2307.wav"),
                "--task",
                "fill-gap",
                "--loss-trace",
                str(folder / "2307_is_lost.txt"),
            ]
        )
        == 0
    )
    assert "made up" not in capsys.readouterr().err  # 7% lost


def test_packet_ms_without_a_trace_is_refused(datasets, tmp_path, capsys):
    call = datasets / "audio/speech/plc/test_files/2307.wav"
    args = ["repair", str(call), "-o", str(tmp_path / "out.wav"), "--task", "fill-gap", "--detect"]
    assert main([*args, "--packet-ms", "20"]) == 2
    assert "--packet-ms is the packet length of a --loss-trace" in capsys.readouterr().err
    # So are the image detection's settings, which a recording's detection would ignore (a walk-through).
    assert main([*args, "--detect-param", "coarse=false"]) == 2
    assert "--detect-param sets the detection of images; a recording's has none" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


def test_threshold_sets_how_far_a_recordings_clicks_stand_out(datasets, tmp_path, capsys):
    """A walk-through's clean read speech got 34 'clicks' filled and no way to ask for fewer."""
    clip = datasets / "audio/speech/train"
    clip = sorted(clip.glob("*.wav"))[0]
    args = ["repair", str(clip), "--task", "fill-gap", "--detect", "--method", "fill-gap-ar"]
    counts = []
    for threshold in ("8", "40"):
        assert main([*args, "-o", str(tmp_path / f"t{threshold}.wav"), "--threshold", threshold]) in (0, 2)
        said = capsys.readouterr().err
        clicks = [w for w in said.split("detection marked ")[-1].split(",") if "click" in w]
        counts.append(int(clicks[0].split()[0]) if clicks else 0)
    assert counts[0] > counts[1], counts
    gap = ["repair", str(clip), "--task", "fill-gap", "--gap", "1:1.1", "--threshold", "20"]
    assert main([*gap, "-o", str(tmp_path / "x.wav")]) == 2
    assert "--threshold sets what --detect marks" in capsys.readouterr().err
    plain = ["repair", str(clip), "--task", "fill-gap", "-o", str(tmp_path / "y.wav")]
    assert main([*plain, "--threshold", "20"]) == 2  # nothing selected: said for the flag given
    assert "--threshold sets what --detect marks" in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "z.wav"), "--threshold", "0.5"]) == 2  # the images' scale
    assert "not the images' 0-1" in capsys.readouterr().err


def test_a_call_repaired_without_a_selection_is_pointed_to_the_trace_beside_it(datasets, tmp_path, capsys):
    """A walk-through: `lacuna info` and the app name the trace beside a call, but `repair` without a
    selection only said that nothing was selected."""
    call = datasets / "audio/speech/plc/test_files/1214.wav"
    out = tmp_path / "out.wav"
    assert main(["repair", str(call), "-o", str(out), "--task", "fill-gap"]) == 2
    # The trace's path as the call's was given, so that the hint can be pasted (a walk-through).
    assert f"add --loss-trace {call.with_name('1214_is_lost.txt')}" in capsys.readouterr().err
    assert not out.exists()

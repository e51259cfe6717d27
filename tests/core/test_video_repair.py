"""Video end to end: a shared clip loses frames, `lacuna repair` rebuilds them; what comes out is checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("av")

from core.cli import main  # noqa: E402
from core.io import read, write  # noqa: E402
from core.video.backend import av  # noqa: E402
from core.video.source import probe  # noqa: E402

DROPPED = (10, 20, 21)


def audio_packets(path):
    with av().open(str(path)) as container:
        stream = container.streams.audio[0]
        return [(p.pts, bytes(p)) for p in container.demux(stream) if p.size]


@pytest.fixture
def damaged_clip(datasets, tmp_path):
    """realshort.mp4 with frames 10, 20 and 21 taken out (timestamps of the others kept), lossless."""
    source = read(datasets / "video" / "bench" / "realshort.mp4")
    kept = [slot for i, slot in enumerate(source.slots) if i not in DROPPED]
    damaged = tmp_path / "damaged.mkv"
    write(source.with_timeline(kept, {}), damaged, codec="ffv1", sidecar=False)
    return source, damaged


def test_lacuna_repair_inserts_dropped_frames_at_their_times(damaged_clip, tmp_path, capsys):
    source, damaged = damaged_clip
    assert probe(damaged).frame_count == 36 - len(DROPPED)
    # Frames missing do not make it slower (a walk-through's 25 fps clip said 24.75): its rate is the
    # one it declares, which its usual step bears out, not 33 frames over the duration's 27.5.
    assert abs(float(probe(damaged).rate) - float(source.info.rate)) < 0.01 and source.info.rate > 30
    out = tmp_path / "repaired.mkv"

    assert main(["repair", str(damaged), "-o", str(out), "--task", "fill-frames", "--codec", "ffv1"]) == 0

    repaired = probe(out)
    assert repaired.frame_count == 36
    # every frame at its original time (Matroska stores milliseconds)
    assert np.abs(np.array(repaired.times) - np.array(source.info.times)).max() < 1e-3
    # the audio stream is copied packet for packet
    assert audio_packets(out) == audio_packets(damaged)
    assert [p for _, p in audio_packets(out)] == [p for _, p in audio_packets(source.path)]
    # provenance in the container and in the sidecar
    steps = json.loads(repaired.tags["LACUNA_PROVENANCE"])["steps"]
    assert steps[-1]["task"] == "fill-frames" and steps[-1]["method"] == "fill-frames-flow"
    sidecar = json.loads((tmp_path / "repaired.mkv.lacuna.json").read_text())
    assert sidecar["steps"][-1]["method"] == "fill-frames-flow"
    # the rebuilt frames resemble the lost ones far better than repeating a neighbour would
    original = source.window(0, 36)
    rebuilt = read(out).window(0, 36)
    for i in DROPPED:
        error = np.abs(rebuilt[i].astype(float) - original[i]).mean()
        repeat_error = np.abs(original[i - 1].astype(float) - original[i]).mean()
        assert error < 0.8 * repeat_error
    # untouched frames come through a lossless codec bit for bit
    assert np.array_equal(rebuilt[5], original[5])


def test_damage_scan_lists_the_gaps_with_times(damaged_clip):
    from core.info import describe

    _, damaged = damaged_clip
    info = describe(damaged)
    dropped = [d for d in info["damage"] if d["kind"] == "dropped"]
    assert [(d["frame"], d["count"]) for d in dropped] == [
        (9, 1),
        (18, 2),
    ]  # frames 10 and 20-21 of the original
    assert dropped[0]["time"] == pytest.approx(9 * 1001 / 30000, abs=2e-3)


def test_a_lossy_codec_and_a_container_that_cannot_hold_it(damaged_clip, tmp_path):
    from core.errors import WriteError

    source, _ = damaged_clip
    out = write(source, tmp_path / "copy.mp4", codec="h264")
    assert probe(out).codec == "h264" and probe(out).frame_count == 36
    with pytest.raises(WriteError, match="cannot hold ffv1"):
        write(source, tmp_path / "copy2.mp4", codec="ffv1")
    with pytest.raises(WriteError, match="aac audio"):
        write(source, tmp_path / "copy.webm")


def test_the_shipped_learned_method_rebuilds_the_lost_frames_closer_than_the_classical_one(
    damaged_clip, tmp_path
):
    """`--method fill-frames-learned` with the shipped weights: the same frames inserted at the same
    times, named in the provenance, and nearer the lost originals than the classical method's."""
    source, damaged = damaged_clip
    original = source.window(0, 36)
    errors = {}
    for method in ("fill-frames-flow", "fill-frames-learned"):
        out = tmp_path / f"{method}.mkv"
        args = ["repair", str(damaged), "-o", str(out), "--task", "fill-frames", "--method", method]
        assert main([*args, "--codec", "ffv1"]) == 0
        repaired = probe(out)
        assert repaired.frame_count == 36
        assert json.loads(repaired.tags["LACUNA_PROVENANCE"])["steps"][-1]["method"] == method
        rebuilt = read(out).window(0, 36)
        errors[method] = np.mean([np.mean((rebuilt[i].astype(float) - original[i]) ** 2) for i in DROPPED])
    assert errors["fill-frames-learned"] < errors["fill-frames-flow"]

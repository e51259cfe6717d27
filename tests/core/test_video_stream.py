"""Long clips stream: a frame-range repair is computed while the result is written, a window of frames
at a time, never the whole clip in memory or in temporary files; audio and timestamps come through."""

from __future__ import annotations

import json
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("av")

from core.io import read, write  # noqa: E402
from core.repair import run_repair  # noqa: E402
from core.runtime.context import drive  # noqa: E402
from core.video import store  # noqa: E402
from core.video.backend import av  # noqa: E402
from core.video.source import probe  # noqa: E402

FRAMES, HEIGHT, WIDTH = 300, 120, 160


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("stream") / "moving.mkv")


def make_clip(path):
    """A moving pattern, 300 frames at 25 fps, lossless, with a FLAC sound track."""
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 256, (HEIGHT, WIDTH + FRAMES, 3), np.uint8)
    with av().open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("flac", rate=8000, layout="mono")
        for i in range(FRAMES):
            frame = av().VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, i : i + WIDTH]), "rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        samples = (np.sin(np.arange(FRAMES * 320) * 0.05) * 8000).astype(np.int16)[None]
        sound = av().AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        sound.sample_rate, sound.pts, sound.time_base = 8000, 0, Fraction(1, 8000)
        for packet in [*audio.encode(sound), *audio.encode(None), *video.encode(None)]:
            out.mux(packet)
    return path


def trace_decoded_frames(monkeypatch):
    """Decoded frames as numpy copies, which Python's allocation tracer sees (FFmpeg's own it does not)."""
    from core.video import document

    open_reader = document.open_reader

    class CopyingReader:
        def __init__(self, info):
            self.reader = open_reader(info)

        def frames(self, start, stop, raw=False):
            for index, frame in self.reader.frames(start, stop, raw):
                yield index, frame if frame is None or raw else np.array(frame)

        def close(self):
            self.reader.close()

    monkeypatch.setattr(document, "open_reader", CopyingReader)


def audio_packets(path):
    with av().open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(container.streams.audio[0]) if p.size]


def test_a_range_repair_streams_into_the_writer_with_bounded_memory(clip, tmp_path, monkeypatch):
    spilled = []
    monkeypatch.setattr(store.tempfile, "mkdtemp", lambda **kw: spilled.append(kw) or str(tmp_path))
    doc = read(clip)
    result = run_repair(doc, "denoise", method="denoise-bilateral", sigma=15)
    assert result.rebuilt() == list(range(FRAMES)) and len(result.store) == 0  # planned, nothing made yet
    reports = []
    tracemalloc.start()
    try:
        out = write(result, tmp_path / "denoised.mkv", codec="ffv1", on_progress=reports.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # every frame went from the decoder through the method into the encoder: none was kept, none spilled
    whole_clip = FRAMES * HEIGHT * WIDTH * 3
    assert peak < whole_clip / 4, f"{peak} bytes at peak; the clip is {whole_clip} bytes of RGB"
    assert not spilled and len(result.store) == 0 and result.pending is not None
    assert [r.message for r in reports if r.message.startswith("frame")][-1] == f"frame {FRAMES}/{FRAMES}"
    written = probe(out)
    assert written.pts == doc.info.pts  # every frame at its time
    assert audio_packets(out) == audio_packets(clip)  # the sound copied packet for packet
    sidecar = json.loads(out.with_name(out.name + ".lacuna.json").read_text())
    assert sidecar["steps"][-1]["method"] == "denoise-bilateral"
    repaired = read(out)
    assert not np.array_equal(repaired.frame(70), doc.frame(70))


def test_fill_frames_makes_its_frames_while_writing(clip, tmp_path):
    source = read(clip)
    kept = [slot for i, slot in enumerate(source.slots) if i not in (40, 90, 91)]
    damaged = write(source.with_timeline(kept, {}), tmp_path / "dropped.mkv", codec="ffv1", sidecar=False)
    result = run_repair(read(damaged), "fill-frames", method="fill-frames-blend")
    assert result.frame_count == FRAMES and len(result.store) == 0 and result.pending is not None
    out = write(result, tmp_path / "filled.mkv", codec="ffv1")
    assert probe(out).pts == source.info.pts
    assert audio_packets(out) == audio_packets(clip)


def test_writing_leaves_the_document_alone_and_records_the_codec_in_both_places(clip, tmp_path):
    import copy

    doc = run_repair(read(clip), "denoise", method="denoise-bilateral", frames=[5], sigma=15)
    metadata, slots = copy.deepcopy(doc.metadata), list(doc.slots)
    out = write(doc, tmp_path / "copy.mp4", codec="h264")
    assert doc.metadata == metadata and doc.slots == slots
    inside = json.loads(probe(out).tags["lacuna_provenance"])
    sidecar = json.loads(out.with_name(out.name + ".lacuna.json").read_text())
    assert inside["conversion"] == sidecar["conversion"]
    assert sidecar["conversion"] == [
        "video encoded with h264 (libx264)",
        "h264 is lossy: every frame is encoded again, the untouched ones too; FFV1 (.mkv) keeps them",
    ]
    assert inside["output"] == sidecar["output"] == "copy.mp4"
    assert inside["steps"] == sidecar["steps"] and inside["steps"][-1]["method"] == "denoise-bilateral"


def test_fill_frames_decodes_only_the_stretches_around_the_damage(clip):
    import dataclasses

    from core.video.fill import stretches

    doc = read(clip)
    doc.info = dataclasses.replace(doc.info, keyframes=(doc.info.pts[0], doc.info.pts[50], doc.info.pts[200]))
    # anchors with no keyframe between them are read on; a keyframe between two means a seek
    assert stretches(doc, [3, 10, 60, 70, 250]) == [(3, 10), (60, 70), (250, 250)]
    assert stretches(doc, [3, 49, 50]) == [(3, 49), (50, 50)]


def test_audio_that_starts_before_the_video_shifts_no_timestamp(tmp_path):
    """AAC starts 1024 samples early (encoder priming): the output keeps every frame's time all the same."""
    path = tmp_path / "primed.mp4"
    with av().open(str(path), "w") as out:
        video = out.add_stream("mjpeg", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuvj420p"
        audio = out.add_stream("aac", rate=48000, layout="mono")
        tone = (np.sin(np.arange(48000) * 0.05) * 0.2).astype(np.float32)[None]
        sound = av().AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        sound.sample_rate, sound.pts, sound.time_base = 48000, 0, Fraction(1, 48000)
        packets = [*audio.encode(sound), *audio.encode(None)]
        for i in range(25):
            picture = av().VideoFrame.from_ndarray(np.full((48, 64, 3), i * 10, np.uint8), "rgb24")
            packets += video.encode(picture)
        for packet in [*packets, *video.encode(None)]:
            out.mux(packet)
    assert audio_packets(path)[0][0] < 0  # the priming packet
    source = read(path)
    for name in ("copy.mkv", "copy.mp4"):
        out = write(source, tmp_path / name, codec="mjpeg", sidecar=False)
        assert np.abs(np.array(probe(out).times) - np.array(source.info.times)).max() < 1e-3, name
        assert [p for _, p in audio_packets(out)] == [p for _, p in audio_packets(path)]


def test_frames_a_repair_replaced_are_passed_over_not_held(clip, monkeypatch):
    """Walking past a long replaced range holds a frame or two, not every source frame under it."""
    from core.video.document import Slot

    doc = read(clip)
    trace_decoded_frames(monkeypatch)
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    slots = [Slot(s.pts, None if 50 <= i < 250 else i) for i, s in enumerate(doc.slots)]
    edited = doc.with_timeline(slots, {s.pts: frame for s in slots if s.source is None})
    tracemalloc.start()
    try:
        count = sum(1 for _ in edited.walk())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == FRAMES
    assert peak < 20 * frame.nbytes, f"{peak / frame.nbytes:.0f} frames' worth held at peak"


@pytest.mark.parametrize(
    "task, params, frames_out",
    [
        ("remove-dust", {}, FRAMES),
        ("deflicker", {"radius": 5}, FRAMES),
        ("retime", {"fps": 50}, 2 * FRAMES),  # the last frame shown for its own time too
    ],
)
def test_repairs_that_need_neighbours_stream_too(clip, tmp_path, monkeypatch, task, params, frames_out):
    """Dust (the frames either side), flicker (brightness levels, measured when planned) and retime (the
    two frames around each new time) hold a few frames while writing, never the clip."""
    doc = read(clip)
    result = run_repair(doc, task, **params)
    assert result.frame_count == frames_out and result.pending is not None and len(result.store) == 0
    trace_decoded_frames(monkeypatch)
    reports = []
    tracemalloc.start()
    try:
        out = write(result, tmp_path / f"{task}.mkv", codec="ffv1", on_progress=reports.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    whole_clip = FRAMES * HEIGHT * WIDTH * 3
    print(f"{task}: {peak / (HEIGHT * WIDTH * 3):.1f} frames' worth at peak")
    assert peak < whole_clip / 4, f"{peak} bytes at peak; the clip is {whole_clip} bytes of RGB"
    assert len(result.store) == 0 and result.pending is not None
    assert [r.message for r in reports] == [f"frame {n}/{frames_out}" for n in range(1, frames_out + 1)]
    assert list(probe(out).pts) == [s.pts for s in result.slots]
    assert audio_packets(out) == audio_packets(clip)


def test_a_repair_on_a_pending_result_keeps_both_pending_and_frames_are_made_alone(clip, tmp_path):
    """Denoise frames 10-29, then frames 20-39 of that result: nothing is made until walked; a frame
    asked for alone is the one the whole walk makes; the first repair's frames outside the second's
    range stay its own, and the written clip holds both."""
    doc = read(clip)
    denoised = run_repair(doc, "denoise", method="denoise-bilateral", frames=list(range(10, 30)), sigma=15)
    both = run_repair(denoised, "denoise", method="denoise-bilateral", frames=list(range(20, 40)), sigma=30)
    assert both.planned() == list(range(10, 40)) and len(both.store) == 0 and len(denoised.store) == 0
    walked = both.window(0, 45)
    assert len(both.store) == 0 and both.pending is not None
    for index in (5, 12, 25, 35):
        assert np.array_equal(both.frame(index), walked[index]), index
    source, first = doc.window(0, 45), denoised.window(0, 45)
    assert np.array_equal(walked[15], first[15]) and not np.array_equal(walked[15], source[15])
    assert not np.array_equal(walked[25], first[25]) and not np.array_equal(walked[35], source[35])
    assert np.array_equal(walked[5], source[5]) and np.array_equal(walked[42], source[42])
    streamed = read(write(both, tmp_path / "both.mkv", codec="ffv1", sidecar=False)).window(0, 45)
    drive(both.compute())  # into the store, as the desktop did before it streamed
    assert both.pending is None and len(both.store) == 30
    stored = read(write(both, tmp_path / "stored.mkv", codec="ffv1", sidecar=False)).window(0, 45)
    assert all(np.array_equal(a, b) for a, b in zip(streamed, stored))

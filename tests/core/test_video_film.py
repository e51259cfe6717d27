"""Old film on real degraded frames: specks found in one frame only are removed, flicker is evened out."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from core.io import read  # noqa: E402
from core.repair import run_repair  # noqa: E402
from core.video.document import Slot  # noqa: E402


@pytest.fixture(scope="module")
def film(datasets):
    return read(datasets / "video" / "oldfilm" / "001")


def test_a_speck_in_one_frame_is_removed_and_the_rest_left_alone(film):
    frames = film.window(0, 8)
    speckled = frames[4].copy()
    speckled[100:106, 200:205] = 250  # a bright speck of dust, in this frame only
    slots = [Slot(s.pts, None) if i == 4 else s for i, s in enumerate(film.slots)]
    doc = film.with_timeline(slots, {film.slots[4].pts: speckled})

    result = run_repair(doc, "remove-dust", frames=[3, 4, 5])

    cleaned = result.frame(4).astype(float)
    assert np.abs(cleaned[100:106, 200:205] - frames[4][100:106, 200:205]).mean() < 25
    assert np.abs(speckled[100:106, 200:205] - frames[4][100:106, 200:205].astype(float)).mean() > 100
    changed = np.abs(cleaned - speckled).max(axis=-1) > 0
    assert changed.mean() < 0.02  # only specks change, not the picture
    assert result.frame(0) is not None and np.array_equal(result.frame(0), frames[0])


def test_specks_are_found_on_a_flickering_reel_and_nothing_else_is_darkened(film):
    """A walk-through ran Remove dust before Remove flicker, as the app lists them, on a reel whose
    frames pumped by ±30%: 31 of 48 specks stayed and dark blotches appeared on the face and wall."""
    frames = film.window(0, 8)
    gains = (1.0, 1.25, 0.8, 1.3, 0.75, 1.2, 0.85, 1.0)
    pumped = [np.clip(f.astype(np.float32) * g, 0, 255).astype(np.uint8) for f, g in zip(frames, gains)]
    specks = [(100, 200), (150, 300), (250, 120), (60, 420)]
    for y, x in specks:
        pumped[4][y : y + 6, x : x + 5] = 255  # bright dust, in this frame only
    slots = [Slot(s.pts, None) if i < 8 else s for i, s in enumerate(film.slots)]
    doc = film.with_timeline(slots, {film.slots[i].pts: pumped[i] for i in range(8)})

    cleaned = run_repair(doc, "remove-dust", frames=[3, 4, 5]).frame(4).astype(float)
    for y, x in specks:
        assert cleaned[y : y + 6, x : x + 5].mean() < 235, (y, x)  # the speck is gone
    dust = np.zeros(cleaned.shape[:2], bool)
    for y, x in specks:
        dust[y - 2 : y + 8, x - 2 : x + 7] = True
    darkened = (pumped[4].astype(float) - cleaned).max(axis=-1) > 30
    assert darkened[~dust].mean() < 0.002  # the picture itself is left as it was


def test_flicker_is_evened_out(film):
    frames = film.window(0, 24)
    pumped = {}
    slots = []
    for i, slot in enumerate(film.slots):
        gain = 1.25 if i % 3 == 0 else 1.0  # every third frame flashes brighter
        pumped[slot.pts] = np.clip(frames[i] * gain, 0, 255).astype(np.uint8)
        slots.append(Slot(slot.pts, None))
    doc = film.with_timeline(slots, pumped)

    result = run_repair(doc, "deflicker", radius=4)

    def steps(pictures):
        return np.abs(np.diff([p.mean() for p in pictures])).mean()

    assert steps(result.window(0, 24)) < 0.4 * steps(doc.window(0, 24))


def test_dust_and_flicker_stream_yet_match_the_whole_clip_computation(film):
    """Planned, then made a frame at a time while walked: the same pixels as computing each frame from
    the whole clip decoded at once (the neighbours either side for dust; brightness levels measured on
    every frame and smoothed over the clip for flicker)."""
    from core.video.oldfilm import luma_levels, smooth, without_specks

    frames = film.window(0, film.frame_count)
    from core.runtime.context import RunContext

    ctx = RunContext()
    dust = run_repair(film, "remove-dust", ctx=ctx)
    assert dust.pending is not None and len(dust.store) == 0  # nothing made yet
    last = film.frame_count - 1
    assert f"remove-dust left frame 0 and frame {last} as they are" in ctx.notes[-1]  # said, not found
    assert dust.planned() == list(range(1, film.frame_count - 1))  # the ends have one neighbour only
    expected = [frames[0]]
    for i in range(1, film.frame_count - 1):
        cleaned = without_specks(frames[i], frames[i - 1], frames[i + 1], 30.0, 400)
        expected.append(frames[i] if cleaned is None else cleaned)
    expected.append(frames[-1])
    got = dust.window(0, film.frame_count)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert sum(not np.array_equal(a, b) for a, b in zip(got, frames)) > 10  # old film: specks everywhere
    assert np.array_equal(dust.frame(7), expected[7]) and len(dust.store) == 0  # one frame, made alone

    flicker = run_repair(film, "deflicker", frames=list(range(3, 15)), radius=3)
    assert flicker.pending is not None and flicker.rebuilt() == list(range(3, 15))
    means, spreads = (np.array(v) for v in zip(*[luma_levels(f) for f in frames[3:15]]))
    gains = smooth(spreads, 3) / spreads
    offsets = smooth(means, 3)
    got = flicker.window(0, film.frame_count)
    for i, frame in enumerate(got):
        if not 3 <= i < 15:
            assert np.array_equal(frame, frames[i])
            continue
        k = i - 3
        want = np.clip(np.rint((frames[i].astype(np.float32) - means[k]) * gains[k] + offsets[k]), 0, 255)
        assert np.array_equal(frame, want.astype(np.uint8)), i


def test_only_frames_with_dust_change_and_the_others_keep_their_bit_depth(film, tmp_path):
    """A 10-bit clip with a speck on one frame: written losslessly after remove-dust, that frame is
    cleaned and every other frame is the source's, bit for bit at 10 bits (never through 8-bit RGB)."""
    from core.io import write
    from core.runtime.context import drive

    y, x = np.mgrid[0:96, 0:152]
    pattern = (np.sin(x / 7.0) * np.cos(y / 9.0) * 0.4 + 0.5 + x / 1024) * 65535
    frames = [
        np.stack([p, p * 0.8, p * 0.6], axis=-1) for p in (pattern[:, 2 * i : 2 * i + 128] for i in range(12))
    ]
    frames[5][40:46, 60:65] = 65535  # a speck of dust on one frame
    clip = make_ten_bit_clip(tmp_path / "ten_bit.mkv", frames)
    result = run_repair(read(clip), "remove-dust")
    assert result.planned() == list(range(1, 11)) and result.rebuilt() == []  # not known until made
    out = write(result, tmp_path / "clean.mkv", codec="ffv1", sidecar=False)
    source, cleaned = raw_frames(clip), raw_frames(out)
    assert {fmt for fmt, _ in cleaned} == {"yuv420p10le"}
    assert [i for i, (a, b) in enumerate(zip(source, cleaned)) if not np.array_equal(a[1], b[1])] == [5]
    assert drive(result.compute()).rebuilt() == [5]


def test_on_real_film_at_10_bits_the_frames_without_dust_go_through_untouched(film, tmp_path):
    """The old film's first 12 frames as a 10-bit clip (its 8-bit pictures plus a faint ramp below
    8 bits): with a threshold that finds specks on some frames only, exactly those change; the rest
    come out of the lossless writer bit for bit."""
    from core.io import write
    from core.video.oldfilm import without_specks

    width = film.info.width // 2 * 2  # 4:2:0 takes an even width
    ramp = np.linspace(0, 200, width)[None, :, None]  # finer than one 8-bit step (257)
    frames = [f[:, :width].astype(np.float64) * 257 * 0.99 + ramp for f in film.window(0, 12)]
    clip = read(make_ten_bit_clip(tmp_path / "film10.mkv", frames))
    decoded = clip.window(0, 12)
    dusty = [
        i
        for i in range(1, 11)
        if without_specks(decoded[i], decoded[i - 1], decoded[i + 1], 80, 400) is not None
    ]
    assert 0 < len(dusty) < 10, dusty  # some frames with dust found, some without
    out = write(
        run_repair(clip, "remove-dust", threshold=80), tmp_path / "clean.mkv", codec="ffv1", sidecar=False
    )
    source, cleaned = raw_frames(clip.path), raw_frames(out)
    assert {fmt for fmt, _ in cleaned} == {"yuv420p10le"}
    assert [i for i, (a, b) in enumerate(zip(source, cleaned)) if not np.array_equal(a[1], b[1])] == dusty


def make_ten_bit_clip(path, frames: list[np.ndarray]):
    """`frames` (RGB, 0-65535) as a 10-bit 4:2:0 FFV1 clip at 25 fps; returns its path."""
    from core.video.backend import av

    height, width = frames[0].shape[:2]
    with av().open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p10le"
        for rgb in frames:
            picture = np.ascontiguousarray(np.clip(np.rint(rgb), 0, 65535).astype(np.uint16))
            for packet in stream.encode(av().VideoFrame.from_ndarray(picture, format="rgb48le")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def raw_frames(path) -> list[tuple[str, np.ndarray]]:
    """Every frame as FFmpeg decodes it: its pixel format and planes, unconverted."""
    from core.video.backend import av

    with av().open(str(path)) as container:
        return [(f.format.name, f.to_ndarray()) for f in container.decode(video=0)]


def test_the_damage_scan_says_what_it_looked_for_not_that_a_dusty_film_is_clean(film):
    from core.video.damage import scan, summary

    text = summary(scan(film))  # a film with dust and flicker, and no dropped frames
    # it said "no damage found"; then a walk-through read "damage: no dropped ... found" on a dusty film
    assert text == (
        "no dropped, repeated, broken or blocky frames or cuts found (a frame lost before a constant-rate"
        " encode is told only by a jump in steady motion; dust, scratches and flicker are for Detect"
        " damage, remove-dust and deflicker)"
    )

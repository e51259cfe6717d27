"""Damage finding on real clips with damage we put in: duplicates, a damaged frame, a scene cut."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip("av")

from core.io import read, write  # noqa: E402
from core.runtime.context import RunContext, drive  # noqa: E402
from core.video.damage import scan  # noqa: E402
from core.video.document import Slot  # noqa: E402
from core.video.fill import fill_frames  # noqa: E402
from core.video.interpolate import flow  # noqa: E402

DUPLICATES = (15, 40, 41)
SMEARED = 25
CUT = 60


@pytest.fixture(scope="module")
def edited_clip(datasets, tmp_path_factory):
    """carphone (120 frames) with frozen frames, one smeared frame, and a cut to another shot at 60."""
    phone = read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    other = read(datasets / "video" / "bench" / "realshort.mp4").window(0, 36)
    frames = phone.window(0, 120)
    slots, store = [], {}
    for i, slot in enumerate(phone.slots):
        picture = frames[i]
        if i in DUPLICATES:
            picture = frames[i - 1] if i - 1 not in DUPLICATES else frames[DUPLICATES[1] - 1]
        elif i == SMEARED:
            picture = cv2.resize(cv2.resize(frames[i], (11, 9)), (176, 144), interpolation=cv2.INTER_NEAREST)
        elif i >= CUT:
            picture = cv2.resize(other[(i - CUT) % 36], (176, 144), interpolation=cv2.INTER_AREA)
        slots.append(Slot(slot.pts, None))
        store[slot.pts] = picture
    path = tmp_path_factory.mktemp("video") / "edited.mkv"
    write(phone.with_timeline(slots, store), path, codec="ffv1", sidecar=False)
    return read(path), frames


def test_scan_finds_duplicates_the_smeared_frame_and_the_cut(edited_clip):
    doc, _ = edited_clip
    found = scan(doc)
    kinds = {}
    for d in found:
        kinds.setdefault(d.kind, []).append(d.frame)
    assert kinds.get("duplicate") == list(DUPLICATES)
    assert SMEARED in kinds.get("corrupt", []) + kinds.get("blocky", [])
    assert kinds.get("cut") == [CUT]
    assert found[0].time == pytest.approx(doc.time(found[0].frame))


def test_fill_replaces_duplicates_in_place_and_never_mixes_shots(edited_clip):
    doc, frames = edited_clip
    damage = scan(doc)
    # a range around found damage repairs that damage; the rest of the range stays as it was
    repaired = drive(fill_frames(doc, flow, RunContext(), targets=list(range(10, 50)), damage=damage))
    assert repaired.frame_count == doc.frame_count
    assert [s.pts for s in repaired.slots] == [s.pts for s in doc.slots]
    assert repaired.rebuilt() == sorted([*DUPLICATES, SMEARED])
    # before/after set a frame rebuilt in place against itself (a review: against the frame before it)
    assert [doc.counterpart(repaired, i) for i in (15, 40, 41)] == [15, 40, 41]
    # a range where nothing was found rebuilds its own frames: the last frame before the cut, on purpose
    result = drive(fill_frames(doc, flow, RunContext(), targets=[CUT - 1], damage=damage))
    assert result.rebuilt() == [CUT - 1]
    before_cut = result.frame(CUT - 1).astype(int)
    # the frame before the cut comes from the old shot alone, never a blend of two shots: the frame
    # before it repeated, with the parts of its own picture that agree kept (each pixel between the two)
    own, repeated = doc.frame(CUT - 1).astype(int), doc.frame(CUT - 2).astype(int)
    assert np.all(np.abs(before_cut - own) <= np.abs(repeated - own) + 1)
    assert np.all(np.abs(before_cut - repeated) <= np.abs(repeated - own) + 1)
    assert not np.array_equal(before_cut, own) and not np.array_equal(before_cut, repeated)
    # a rebuilt duplicate lies between its neighbours, not equal to the frozen copy
    rebuilt = repaired.frame(15).astype(float)
    truth = frames[15].astype(float)
    assert np.abs(rebuilt - truth).mean() < np.abs(frames[14].astype(float) - truth).mean()


def test_a_damaged_packet_is_found_where_its_smear_starts(datasets, tmp_path):
    """Random bytes over two thirds of one frame's packet: the decoder smears blocks from that frame on."""
    from core.video.backend import av

    source = datasets / "video" / "bench" / "carphone_pristine.mp4"
    with av().open(str(source)) as container:
        packets = sorted(
            (p.pts, p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size
        )
    _, pos, size = packets[40]
    data = bytearray(source.read_bytes())
    data[pos + size // 3 : pos + size] = (
        np.random.default_rng(1).integers(0, 256, size - size // 3, np.uint8).tobytes()
    )
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))

    found = [d for d in scan(read(damaged)) if d.kind in ("blocky", "corrupt", "undecodable")]
    assert found and found[0].frame == 40
    assert not [d for d in scan(read(source)) if d.kind in ("blocky", "corrupt", "undecodable")]


def test_runs_are_handed_the_good_frames_just_outside_never_across_a_cut_or_a_doubtful_frame(edited_clip):
    """A method that follows curved motion gets the frame beside each anchor, at its time, only when
    it is in the anchor's shot and the scan does not doubt it."""
    from core.video.fill import FIXES, make_plan

    doc, _ = edited_clip
    damage = scan(doc)
    plan = make_plan(doc, damage, FIXES["all"], 3, targets=[15, 27, 61])
    outers = {run.slots[0].pts: (run.outer_before, run.outer_after) for run in plan.runs}
    assert outers[doc.slots[15].pts] == (13, 17)
    assert outers[doc.slots[27].pts] == (None, 29)  # 25 is the smeared frame
    assert outers[doc.slots[61].pts] == (None, 63)  # 59 belongs to the shot before the cut at 60
    seen = []

    def recording(a, b, ts, outer=None):
        seen.append((ts, outer))
        return flow(a, b, ts)

    result = drive(fill_frames(doc, recording, RunContext(), targets=[27], damage=damage))
    result.frame(27)
    (ts, outer), *_ = seen
    assert ts == [pytest.approx(0.5)] and outer.before is None
    pts = [doc.slots[i].pts for i in (26, 28, 29)]
    assert np.array_equal(outer.after, doc.frame(29))
    assert outer.t_after == pytest.approx((pts[2] - pts[0]) / (pts[1] - pts[0]))  # by the timestamps


def test_frames_lost_where_a_cut_is_show_the_shot_nearer_in_time(edited_clip, tmp_path):
    """The last frame of one shot and the first of the next both lost: the scan sees the cut only at
    the next good frame, so each lost frame takes its nearer neighbour's shot (both right here; giving
    both to the old shot, as before, showed the old shot where the new one had begun)."""
    doc, _ = edited_clip
    lost = (CUT - 1, CUT)
    kept = [s for i, s in enumerate(doc.slots) if i not in lost]
    damaged = read(write(doc.with_timeline(kept, {}), tmp_path / "lost.mkv", codec="ffv1", sidecar=False))
    result = drive(fill_frames(damaged, flow, RunContext(), fix="dropped"))
    assert np.abs(np.subtract([s.pts for s in result.slots], [s.pts for s in doc.slots])).max() <= 1
    assert np.array_equal(result.frame(CUT - 1), doc.frame(CUT - 2))  # the old shot's last good frame
    assert np.array_equal(result.frame(CUT), doc.frame(CUT + 1))  # the new shot's first good frame


def test_a_black_frame_in_a_shot_is_a_damaged_frame_not_a_cut(datasets, tmp_path):
    """A walk-through blanked one frame of a shot: the jump back to the picture after it was taken
    for a scene cut, so the black frame was neither reported nor rebuilt."""
    phone = read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    frames = phone.window(0, 30)
    slots = [Slot(s.pts, None) for s in phone.slots[:30]]
    store = {s.pts: (np.zeros_like(f) if i == 15 else f) for i, (s, f) in enumerate(zip(slots, frames))}
    path = write(phone.with_timeline(slots, store), tmp_path / "black.mkv", codec="ffv1", sidecar=False)
    found = scan(read(path))
    assert [(d.kind, d.frame) for d in found] == [("corrupt", 15)]
    from core.video.damage import summary

    # where, not only how many, and counted from what (`lacuna info` from 0, the app's view from 1)
    unseen = "no dropped frame seen (a frame lost before a constant-rate encode is told only by a jump"
    assert summary(found) == f"1 corrupt (at 15); frames counted from 0; {unseen} in steady motion)"
    assert summary(found, first=1).startswith("1 corrupt (at 16); frames counted from 1; no dropped")


@pytest.mark.parametrize("white", [15, 16])  # the last frame of a shot, and the first of the next
def test_a_flash_at_a_real_cut_does_not_hide_the_cut(datasets, tmp_path, white):
    """A review: with the jump back from a one-off frame excused, a white frame at bikes.mp4's cut
    at 76 hid the cut, and fill-frames blended the two shots. A jump out of it into another shot
    is still a cut."""
    bikes = read(datasets / "video" / "bench" / "bikes.mp4")
    frames = bikes.window(60, 90)
    slots = [Slot(s.pts, None) for s in bikes.slots[60:90]]
    store = {
        s.pts: (np.full_like(f, 255) if i == white else f) for i, (s, f) in enumerate(zip(slots, frames))
    }
    path = write(bikes.with_timeline(slots, store), tmp_path / "flash.mkv", codec="ffv1", sidecar=False)
    cuts = [d.frame for d in scan(read(path)) if d.kind == "cut"]
    assert cuts == [white + 1], cuts  # where the new shot's picture begins after the flash


def test_fill_frames_on_a_clip_with_nothing_to_rebuild_writes_nothing(datasets, tmp_path, capsys):
    """A walk-through's undamaged clip was re-encoded (97 -> 151 kB, 40 dB from its own frames) and
    called a reconstruction by `lacuna info`."""
    from core.cli import main

    target = tmp_path / "out.mp4"
    args = ["repair", str(datasets / "video" / "bench" / "realshort.mp4"), "--task", "fill-frames"]
    assert main([*args, "-o", str(target)]) == 3  # told apart from a failure
    told = capsys.readouterr().err
    assert "nothing written: nothing to rebuild: no dropped, repeated, broken" in told
    assert not target.exists()
    assert main([*args, "-o", str(target), "--json"]) == 3  # a script still gets an object to read
    said = json.loads(capsys.readouterr().out)
    assert said["status"] == "nothing to do" and said["output"] is None
    assert said["message"].startswith("nothing to rebuild")
    # In a batch such a clip is skipped, not failed (the run exited 1 for undamaged clips).
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(datasets / "video" / "bench" / "realshort.mp4", folder)
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "--task", "fill-frames", "--quiet"]) == 0
    assert "0 failed, 1 skipped" in capsys.readouterr().err
    assert main(["batch", str(folder), "-o", str(tmp_path / "shown"), "--task", "fill-frames"]) == 0
    assert (
        "skipped: realshort.mp4: nothing to rebuild: no dropped, repeated" in capsys.readouterr().err
    )  # why, per item


def test_a_packet_the_decoder_refuses_loses_its_frame_and_no_more(datasets, tmp_path):
    """One damaged packet in the middle of a long group of pictures: the decoder refuses it, and the
    reader used to stop there, calling every later frame undecodable (hundreds, past any repair)."""
    from core.video.backend import av

    frames = read(datasets / "video" / "bench" / "carphone_pristine.mp4").window(0, 40)
    clip = tmp_path / "one_group.mp4"
    with av().open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"
        for picture in frames:
            container.mux(stream.encode(av().VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    with av().open(str(clip)) as container:
        video = container.streams.video[0]
        packets = sorted((p.pts, p.pos, p.size) for p in container.demux(video) if p.size)
    _, pos, size = packets[20]
    data = bytearray(clip.read_bytes())
    data[pos + size // 3 : pos + size] = bytes(size - size // 3)  # zeroed: the decoder refuses it
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    doc = read(damaged)
    missing = [i for i, frame in doc.frames() if frame is None]
    assert missing == [20]
    found = scan(doc)
    assert [d.frame for d in found if d.kind == "undecodable"] == [20]
    # the frames after it predict from it until the next keyframe (there is none: to the end), and
    # may carry its damage: said, and said again when only frame 20 is rebuilt (walk-through 42)
    from core.video.damage import summary

    assert "1 undecodable (at 20 [may carry on to 39])" in summary(found)
    ctx = RunContext()
    drive(fill_frames(doc, flow, ctx, fix="damaged", damage=found))
    first, last = doc.time(21), doc.time(39)
    assert any(note.startswith(f"the frames from {first:.3f} s to {last:.3f} s may") for note in ctx.notes)


@pytest.mark.parametrize("black", [15, 16])  # the last frame of a shot, and the first of the next
def test_a_black_frame_beside_a_real_cut_is_a_damaged_frame_and_the_cut_stays_one(datasets, tmp_path, black):
    """Walk-through 40 blanked a frame just before bikes.mp4's cut at 76: the scan said two cuts, one
    into the black frame and one out of it, and the black frame was neither reported nor rebuilt."""
    bikes = read(datasets / "video" / "bench" / "bikes.mp4")
    frames = bikes.window(60, 90)
    slots = [Slot(s.pts, None) for s in bikes.slots[60:90]]
    store = {s.pts: (np.zeros_like(f) if i == black else f) for i, (s, f) in enumerate(zip(slots, frames))}
    path = write(bikes.with_timeline(slots, store), tmp_path / "black.mkv", codec="ffv1", sidecar=False)
    found = [(d.kind, d.frame) for d in scan(read(path)) if d.kind in ("cut", "corrupt")]
    assert found == [("corrupt", black), ("cut", black + 1)]  # the new shot's picture begins after it


def credit_roll(path, speed: float, blocks_at: int | None = None):
    """White lines of text scrolling up a black frame at `speed` px a frame (x264, 25 fps); with
    `blocks_at`, that frame has a patch of flat 8x8 blocks, as a damaged packet decodes."""
    from core.video.backend import av

    page = np.zeros((1200, 640, 3), np.uint8)
    for line, y in enumerate(range(60, 1200, 40)):
        cv2.putText(
            page, f"Assistant editor {line:02d}", (150, y), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255,) * 3, 2
        )
    rng = np.random.default_rng(0)
    with av().open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt, stream.options = 640, 360, "yuv420p", {"crf": "18"}
        for n in range(60):
            top = round(n * speed)
            picture = np.ascontiguousarray(page[top : top + 360])
            if n == blocks_at:
                patch = rng.integers(0, 256, (12, 20, 3), np.uint8)
                picture[96:192, 160:320] = np.repeat(np.repeat(patch, 8, axis=0), 8, axis=1)
            container.mux(stream.encode(av().VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    return read(path)


@pytest.mark.parametrize("speed", [2.0, 1.5])
def test_a_clean_credit_roll_is_not_called_blocky(tmp_path, speed):
    """Walk-through 41: lines of text scrolling onto the codec's 8-px grid on a beat (every 4th frame
    at 2 px a frame, a 16-frame pattern at 1.5) were called blocky on a third of a clean credit roll,
    and fill-frames replaced those frames."""
    from core.video.damage import _blocky_runs, measure

    doc = credit_roll(tmp_path / "credits.mp4", speed)
    grid_meetings = _blocky_runs(np.asarray(measure(doc.frames()).blocks), set())
    assert len(grid_meetings) >= 3  # the block-edge measure does jump, on the beat
    assert [d for d in scan(doc) if d.kind == "blocky"] == []


def test_a_damaged_frame_in_a_credit_roll_is_still_found(tmp_path):
    """Walk-through 42: the beat rule threw every blocky find away, the damaged frame among them."""
    doc = credit_roll(tmp_path / "credits.mp4", 2.0, blocks_at=30)
    assert [d.frame for d in scan(doc) if d.kind == "blocky"] == [30]


def test_a_beat_is_how_a_clip_was_made_and_a_find_off_it_stays():
    from core.video.damage import Damage, on_a_beat

    def at(*frames, count=1):
        return [Damage("dropped", f, 0.0, count=count) for f in frames]

    conversion = [3, 7, 11, 15, 19, 23]  # 30 fps made 24: a jump every 4th frame
    assert on_a_beat(at(*conversion), 25) == set(conversion)
    assert on_a_beat(at(*conversion, 21), 25) == set(conversion)  # a real loss beside them stays found
    assert on_a_beat(at(3, 11, 15, 23, 27), 25) == {3, 11, 15, 23, 27}  # some jumps unseen
    assert on_a_beat(at(39, 68, 126), 25) == set()  # walk-through 42's three real losses
    assert on_a_beat(at(10, 20, 30), 25) == set()  # three evenly spaced say too little
    # a find of two frames belongs to the beat at either of its frames (a credit roll's first finds)
    assert on_a_beat([*at(5, count=2), *at(2, 10, 14, 18)], 48) == {2, 5, 10, 14, 18}

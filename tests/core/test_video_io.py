"""Video files and folders: image sequences, VFR and rotation kept, frames spilled to disk, ranges."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from core.io import read, write  # noqa: E402
from core.repair import run_repair  # noqa: E402
from core.runtime.context import drive  # noqa: E402
from core.video.source import SEQUENCE_TICKS, probe  # noqa: E402
from core.video.store import FrameStore  # noqa: E402


def test_a_folder_of_numbered_frames_is_a_video(datasets, tmp_path):
    doc = read(datasets / "video" / "oldfilm" / "001")
    assert doc.kind == "video" and doc.frame_count == 24
    assert doc.frame(3).shape == (340, 579, 3)
    out = write(doc, tmp_path / "film.mkv")
    assert probe(out).frame_count == 24
    assert np.array_equal(read(out).frame(3), doc.frame(3))  # lossless: RGB frames stay RGB


def test_numbers_missing_from_a_film_scan_are_dropped_frames_and_rebuilt(datasets, tmp_path):
    """The shared film scan numbers its frames 100, 102, ...: one step is one frame. Three files taken
    out are three dropped frames at their places, which fill-frames puts back."""
    import shutil

    from core.video.damage import scan

    film = tmp_path / "film"
    shutil.copytree(datasets / "video" / "oldfilm" / "001", film)
    assert [d.kind for d in scan(read(film))] == []  # every other number is the scanner's stride
    for number in (110, 122, 124):
        (film / f"{number}.png").unlink()
    doc = read(film)
    ticks = SEQUENCE_TICKS  # a frame's time in ticks of the time base, so other rates fit between
    assert doc.frame_count == 21 and doc.info.pts[:6] == tuple(n * ticks for n in (0, 1, 2, 3, 4, 6))
    found = [(d.kind, d.frame, d.count) for d in scan(doc)]
    assert found == [("dropped", 4, 1), ("dropped", 9, 2)]
    rebuilt = run_repair(doc, "fill-frames")
    assert rebuilt.frame_count == 24
    # The record says which frames are made, not taken from the film (a walk-through missed it).
    record = rebuilt.provenance[-1].as_dict()
    assert (
        record["changed_frames"] == "3 frames: 5, 11-12 (inserted), counted from 0 (as files: 110, 122, 124)"
    )


def test_a_film_scan_repaired_into_a_folder_is_a_film_scan_again(datasets, tmp_path):
    """`-o FOLDER`: one picture per frame, numbered as the scan numbers them (the dropped ones get the
    numbers they were missing); untouched frames are the scan's own files byte for byte."""
    import shutil

    from core.video.write_sequence import _naming

    film = tmp_path / "film"
    shutil.copytree(datasets / "video" / "oldfilm" / "001", film)
    for number in (110, 122, 124):
        (film / f"{number}.png").unlink()
    out = tmp_path / "clean"
    assert write(run_repair(read(film), "fill-frames"), out) == out
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.png" for n in range(100, 148, 2)]
    assert (out / "126.png").read_bytes() == (film / "126.png").read_bytes()
    assert read(out).frame_count == 24
    assert _naming((), 1, [])[0](7, 3584) == "frame_000007"  # a clip from a video file: by place


def test_an_empty_folder_takes_the_frames_and_a_full_one_is_not_replaced(datasets, tmp_path):
    """A folder made for the frames takes them (a walk-through's `-o film_dust_dir` was refused with
    'already exists; allow replacing it'); a folder holding anything is not replaced without asking,
    and a picture suffix points to the folder form."""
    from core.errors import WriteError

    film = read(datasets / "video" / "oldfilm" / "001")
    made = tmp_path / "frames"
    made.mkdir()
    assert write(film, made) == made and len(list(made.iterdir())) == 24
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(WriteError, match="already exists"):
        write(film, keep)
    assert [p.name for p in keep.iterdir()] == ["notes.txt"]
    with pytest.raises(WriteError, match="or a folder name for one picture per frame"):
        write(film, tmp_path / "frame.png")


def test_variable_frame_rate_and_rotation_are_kept(datasets, tmp_path):
    source = read(datasets / "video" / "train" / "fire2.mp4")  # a phone clip: VFR, turned 180°
    assert source.info.rotation == 180
    out = write(source, tmp_path / "fire.mov", codec="mjpeg")
    written = probe(out)
    assert written.rotation == 180
    assert np.allclose(written.times, source.info.times, atol=1e-4)
    assert len(set(np.diff(written.pts))) > 1  # still variable


def test_frame_store_spills_to_disk_past_its_budget():
    store = FrameStore(budget_bytes=100)
    a = np.full((8, 8, 3), 7, np.uint8)
    store.put(1, a)
    store.put(2, a + 1)
    assert len(store) == 2 and store._files  # noqa: SLF001 - the second frame went to disk
    assert np.array_equal(store.get(2), a + 1)
    folder = store._folder  # noqa: SLF001
    store.close()
    assert not folder.exists()


def test_an_image_method_runs_over_a_frame_range_only(datasets):
    doc = read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    reports = []
    result = run_repair(doc, "denoise", method="denoise-nlmeans", frames=[3, 4, 5], sigma=15)
    assert result.rebuilt() == [3, 4, 5]
    assert result.provenance[-1].task == "denoise"
    drive(result.compute(), reports.append)  # the frames are made here (or while writing), with progress
    before, after = doc.window(2, 7), result.window(2, 7)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[4], after[4])
    assert not np.array_equal(before[1], after[1])
    assert any("frame 2/3" in r.message for r in reports)


def test_retime_doubles_the_rate_keeping_the_source_frames(datasets):
    source = read(datasets / "video" / "bench" / "carphone_pristine.mp4")
    doc = source.with_timeline(source.slots[:20], {})
    result = run_repair(doc, "retime", fps=60000 / 1001)
    # 20 frames at 29.97 fps last 20/29.97 s (the last one shown for its own time): 40 at 59.94, the
    # last of them the last source frame shown again (39 frames ended at its start, a walk-through
    # found 250 frames at 25 fps becoming 499 at 50 and the clip shorter than its audio)
    assert result.frame_count == 40
    assert np.array_equal(result.frame(39), doc.frame(19))
    kept = [s for s in result.slots if s.source is not None]
    assert [s.pts for s in kept] == [s.pts for s in doc.slots]
    assert float(result.info.rate) == pytest.approx(60000 / 1001, rel=1e-3)
    middle = result.frame(1).astype(float)
    assert np.abs(middle - doc.frame(0)).mean() > 0 and np.abs(middle - doc.frame(1)).mean() > 0


def test_a_film_scan_retimed_gets_a_frame_at_every_time_of_the_new_rate(datasets, tmp_path):
    """A walk-through retimed the shared film scan (a folder of frames, 24 fps) to 48 fps: the new
    frames fell on the scan's one tick per frame, two at every time. Its time base now has ticks
    between frames; written as a clip and as a folder, every frame has a time of its own."""
    import shutil

    film = tmp_path / "film"
    film.mkdir()
    for path in sorted((datasets / "video" / "oldfilm" / "001").glob("*.png"))[:4]:
        shutil.copy(path, film / path.name)
    from core.runtime.context import RunContext

    ctx = RunContext()
    result = run_repair(read(film), "retime", fps=48, ctx=ctx)
    assert result.frame_count == 8  # 4 frames at 24 fps last 1/6 s: 8 frames at 48
    assert "retimed from 24 to 48 fps: 4 frames become 8" in ctx.notes  # said, the rate a default or not
    clip = read(write(result, tmp_path / "film48.mkv"))
    seconds = np.array([clip.info.time(s.pts) for s in clip.slots])
    assert clip.frame_count == 8 and np.allclose(np.diff(seconds), 1 / 48, atol=1e-3), seconds
    # A folder holds no timing: eight frames, numbered on as the scan's files are (every other number).
    write(result, tmp_path / "film48")
    names = sorted(p.name for p in (tmp_path / "film48").iterdir())
    assert names == [f"{100 + 2 * k}.png" for k in range(8)]


def test_retime_streams_and_never_mixes_two_shots(datasets):
    """bikes.mp4 cuts at frame 30: at 60 fps each new frame is its source frame when one lies within half
    an output tick, else the flow in-between of its two source frames, computed while walked; across
    the cut it shows one side as it is."""
    from core.video.interpolate import flow

    source = read(datasets / "video" / "bench" / "bikes.mp4")
    doc = source.with_timeline(source.slots[:40], {})
    frames = doc.window(0, 40)
    result = run_repair(doc, "retime", fps=60.0)
    assert result.pending is not None and len(result.store) == 0
    pts = [s.pts for s in doc.slots]
    half_tick = 0.5 / (60 * doc.info.time_base)  # bikes runs at 25 fps
    across = 0
    for index, (slot, frame) in enumerate(zip(result.slots, result.window(0, result.frame_count))):
        after = int(np.searchsorted(pts, slot.pts))
        if after == len(pts):  # within the last frame's own time: it is shown again
            assert np.array_equal(frame, frames[-1]), index
            continue
        if slot.source is not None or pts[min(after, 39)] == slot.pts:
            assert np.array_equal(frame, frames[after]), index
            continue
        a, b = frames[after - 1], frames[after]
        if pts[after] - slot.pts <= half_tick:  # within half an output tick of a source frame: shown as it is
            assert np.array_equal(frame, b), index
        elif slot.pts - pts[after - 1] <= half_tick:
            assert np.array_equal(frame, a), index
        elif after == 30:
            across += 1
            assert np.array_equal(frame, a) or np.array_equal(frame, b), index
        else:
            t = (slot.pts - pts[after - 1]) / (pts[after] - pts[after - 1])
            assert np.array_equal(frame, flow(a, b, [t])[0]), index
    assert across >= 1  # a new frame falls between the two shots


def test_the_numbering_step_of_a_scan_and_what_breaks_it():
    """One frame is the commonest step between file numbers when all lie on it; a stray number (111
    among 100, 102, ...) or one given twice leaves the files one frame apart in name order, instead
    of doubling every time (review)."""
    from core.video.source import numbering_step

    assert numbering_step([100, 102, 104, 108]) == 2  # 106 is a dropped frame
    assert numbering_step([1, 2, 3, 5]) == 1
    assert numbering_step([100, 102, 104, 111, 112]) is None
    assert numbering_step([1, 1, 2]) is None


def test_a_codec_the_target_cannot_take_is_refused_before_the_repair_runs(datasets, tmp_path, capsys):
    """A folder of frames takes no codec, a WebM no FFV1: one line, before 'running', nothing written."""
    from core.cli import main

    film = str(datasets / "video" / "oldfilm" / "001")
    for target in ("frames", "film.webm"):
        args = ["repair", film, "-o", str(tmp_path / target), "--task", "remove-dust", "--codec", "ffv1"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "running" not in err and ("take no codec" in err or "cannot hold ffv1" in err)
    assert not list(tmp_path.iterdir())


def test_an_odd_frame_size_is_refused_for_h264_before_the_repair_runs(datasets, tmp_path, capsys):
    """A walk-through: the film scan (579×340) saved as .mp4 ran the whole repair, then failed with
    libx264's raw error. Refused first, one line naming what can hold it; .mkv and VP9 still work."""
    from core.cli import main
    from core.errors import WriteError
    from core.io import read, write

    film = datasets / "video" / "oldfilm" / "001"
    for target, codec in (
        ("film.mp4", []),
        ("film.mkv", ["--codec", "h264"]),
        ("film.mov", ["--codec", "h265"]),
    ):
        args = ["repair", str(film), "-o", str(tmp_path / target), "--task", "remove-dust", *codec]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "running" not in err and len(err.strip().splitlines()) == 1
        assert "needs an even width and height, and these frames are 579×340" in err and ".mkv" in err
    assert not list(tmp_path.iterdir())
    doc = read(film)
    with pytest.raises(WriteError, match="even width"):  # the app's Save as takes this way
        write(doc, tmp_path / "saved.mp4")
    assert not list(tmp_path.iterdir())
    # An upscale by 2 makes the size even: not refused for the source's size (a review).
    up = tmp_path / "up.mp4"
    args = ["repair", str(film), "-o", str(up), "--task", "upscale", "--method", "upscale-bicubic"]
    assert main(args) == 0
    assert (read(up).info.width, read(up).info.height) == (1158, 680)


def test_numbered_photos_of_different_sizes_are_no_film(datasets, tmp_path, capsys):
    """A walk-through's folder photo_1.png, photo_2.png, photo_3.png (three scanned portraits) was read
    as a film and `lacuna info` and `lacuna detect` died with a traceback; it is a folder of photos."""
    import shutil

    from core.cli import main
    from core.errors import ReadError
    from core.video.source import probe_sequence

    photos = tmp_path / "photos"
    photos.mkdir()
    for k, name in enumerate(("old_w_scratch_b", "old_a", "old_h"), 1):
        shutil.copy(datasets / "images/real_damage" / f"{name}.png", photos / f"photo_{k}.png")
    assert main(["info", str(photos)]) == 0
    assert "3 pictures" in capsys.readouterr().out
    assert main(["detect", str(photos), "-o", str(tmp_path / "m.png")]) == 2
    assert "use batch repair" in capsys.readouterr().err and not (tmp_path / "m.png").exists()
    with pytest.raises(
        ReadError, match=r"differ in size \(photo_1.png 256×256, photo_2.png 298×450, photo_3"
    ):
        probe_sequence(photos)

    # In a film scan a stray picture of another size reads as a damaged frame, wherever it lies.
    for stray in ("101.png", "105.png"):  # the second film frame; one of the pictures compared
        film = tmp_path / stray
        shutil.copytree(datasets / "video" / "oldfilm" / "001", film)
        shutil.copy(datasets / "images/real_damage/old_a.png", film / stray)
        doc = read(film)
        at = sorted(p.name for p in film.iterdir()).index(stray)
        assert doc.frame_count == 25 and doc.frame(at) is None and doc.frame(at + 1).shape == (340, 579, 3)


def test_retime_keeps_a_cut_at_its_own_time(datasets):
    """25 -> 50 fps puts a new frame exactly between the last frame of a shot and the cut: it showed
    the new shot, so the cut came 20 ms early and its first frame showed twice (a walk-through)."""
    source = read(datasets / "video" / "bench" / "bikes.mp4")  # a cut at frame 30
    doc = source.with_timeline(source.slots[:34], {})
    result = run_repair(doc, "retime", fps=50.0)
    frames = doc.window(0, 34)
    assert np.array_equal(result.frame(59), frames[29])  # between 29 and the cut: the outgoing shot
    assert np.array_equal(result.frame(60), frames[30])


def test_a_folder_of_one_picture_names_it(datasets, tmp_path, capsys):
    """A walk-through's one-frame folder was said to hold "no DICOM series or film frames"."""
    import shutil

    from core.cli import main

    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(sorted((datasets / "video" / "oldfilm" / "001").glob("*.png"))[0], folder / "100.png")
    assert main(["detect", str(folder), "-o", str(tmp_path / "m.png")]) == 2
    assert "one: the folder holds one file, 100.png: open it itself" in capsys.readouterr().err


def _planes(path):
    from core.video.backend import av

    with av().open(str(path)) as container:
        return [
            [
                np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width].copy()
                for p in frame.planes
            ]
            for frame in container.decode(video=0)
        ]


@pytest.mark.parametrize("computed", [False, True], ids=["streamed", "computed"])
def test_a_frame_repaired_under_a_mask_keeps_the_source_samples_outside_it(datasets, tmp_path, computed):
    # RGB converted back to yuv420p is not the source: on this clip up to 27 levels of luma, 97% of it
    source = datasets / "video" / "bench" / "realshort.mp4"
    mask = np.zeros((240, 320), bool)
    mask[100:130, 151:190] = True  # an odd left edge: the chroma sample it shares is repaired
    result = run_repair(read(source), "inpaint", method="inpaint-telea", mask=mask, frames=[10, 11])
    if computed:  # the app computes the frames before saving; the command line streams them
        drive(result.compute(), lambda _: None)
    write(result, tmp_path / "out.mkv")
    before, after = _planes(source), _planes(tmp_path / "out.mkv")
    chroma_mask = mask.reshape(120, 2, 160, 2).any(axis=(1, 3))  # each chroma sample covers 2x2 pixels
    for index in (10, 11):
        luma_before, luma_after = before[index][0], after[index][0]
        assert np.array_equal(luma_before[~mask], luma_after[~mask])
        assert not np.array_equal(luma_before[mask], luma_after[mask])
        for plane in (1, 2):
            assert np.array_equal(before[index][plane][~chroma_mask], after[index][plane][~chroma_mask])
    assert all(np.array_equal(b[0], a[0]) for b, a in zip(before[:10], after[:10], strict=True))


def test_a_sequences_missing_frames_are_named_by_file(datasets, tmp_path):
    """A walk-through's reel lacked f_0005.png and lacuna info said only "1 dropped (after 3)"."""
    import shutil

    from core.info import describe, format_info

    reel = tmp_path / "reel"
    reel.mkdir()
    frames = sorted((datasets / "video" / "oldfilm" / "001").iterdir())[:10]
    for number, path in enumerate(frames, 1):
        if number not in (5, 7):
            shutil.copy(path, reel / f"f_{number:04d}.png")
    text = format_info(describe(reel))
    assert "missing files   2: f_0005.png, f_0007.png" in text
    assert "2 dropped" in text  # the frame count the damage scan gives, as before


def test_a_clip_cut_short_is_said_to_end_early(datasets, tmp_path, capsys):
    """Walk-through 53: the first half of a clip was read as a whole clip half as long (`lacuna info`
    said "no damage found"; a repair wrote it with exit 0). Its header gives the length it lost."""
    from core.cli import main
    from core.video.backend import av

    whole = tmp_path / "whole.mkv"  # the bench clip's packets, remuxed: Matroska heads with its length
    with av().open(str(datasets / "video/bench/realshort.mp4")) as source, av().open(str(whole), "w") as out:
        stream = source.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in source.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                out.mux(packet)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    assert probe(whole).warnings == ()
    assert main(["info", str(cut)]) == 0
    said = capsys.readouterr().out
    assert "cut.mkv: the file ends early: its header gives 1.20 s, its frames stop after 0.60 s" in said
    assert main(["repair", str(cut), "-o", str(tmp_path / "out.mkv"), "--task", "deflicker"]) == 0
    assert "the file ends early" in capsys.readouterr().err

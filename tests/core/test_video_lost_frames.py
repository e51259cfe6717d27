"""Frames lost before a constant-rate encode: no gap in the timestamps, only a jump in steady motion.

The clip is a stretch of a steady pan from the training clip (Big Buck Bunny, frames 100-140), made
small and written at a constant 24 fps with frames taken out, as a capture that lost frames and an
encoder that numbered the rest one after another leave it.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from core.io import read  # noqa: E402
from core.runtime.context import RunContext, drive  # noqa: E402
from core.video.damage import carried, scan  # noqa: E402
from core.video.fill import fill_frames  # noqa: E402
from core.video.interpolate import flow  # noqa: E402

COUNT = 41  # frames of the steady pan (tests/conftest.py)
LOST = 20  # index in the stretch of the frame taken out


@pytest.fixture(scope="module")
def pan(steady_pan) -> list[np.ndarray]:
    assert len(steady_pan) == COUNT
    return steady_pan


def dropped(doc) -> list[tuple[int, int]]:
    return [(d.frame, d.count) for d in scan(doc) if d.kind == "dropped"]


def test_the_whole_pan_has_no_frame_called_lost(pan, constant_rate, tmp_path):
    assert dropped(constant_rate(pan, tmp_path / "whole.mkv")) == []


@pytest.mark.parametrize("lost", [1, 2])
def test_frames_lost_in_a_steady_pan_are_found_after_the_frame_before(pan, constant_rate, tmp_path, lost):
    doc = constant_rate(pan[:LOST] + pan[LOST + lost :], tmp_path / "lost.mkv")
    assert dropped(doc) == [(LOST - 1, lost)]


def test_fill_frames_puts_the_lost_frame_back_and_moves_the_rest_later(pan, constant_rate, tmp_path):
    """The pan keeps its pace: the frames after the loss show one frame time later (where they were
    before the loss, and against the audio that ran on), the clip one frame longer."""
    whole = constant_rate(pan, tmp_path / "whole.mkv")
    doc = constant_rate(pan[:LOST] + pan[LOST + 1 :], tmp_path / "lost.mkv")
    result = drive(fill_frames(doc, flow, RunContext(), fix="dropped"))
    assert result.frame_count == COUNT
    # at the whole clip's times, but for a millisecond's rounding (the step is 41.67 ms)
    assert np.abs(np.subtract([s.pts for s in result.slots], [s.pts for s in whole.slots])).max() <= 1
    assert result.rebuilt() == [LOST]
    assert [s.source for s in result.slots[LOST + 1 :]] == list(range(LOST, COUNT - 1))
    made, truth = result.frame(LOST).astype(float), pan[LOST].astype(float)
    assert np.abs(made - truth).mean() < 0.5 * np.abs(pan[LOST - 1] - truth).mean()
    assert np.array_equal(result.frame(LOST + 1), doc.frame(LOST))
    # before/after views compare a moved frame with itself, not with the frame now at its old time
    assert doc.counterpart(result, LOST + 1) == LOST and result.counterpart(doc, LOST) == LOST + 1
    assert doc.counterpart(result, LOST) == LOST - 1  # the frame put back: the one shown before it


def test_marks_after_the_moved_frames_stay_on_them(pan, constant_rate, tmp_path):
    """A frozen frame later in the clip keeps its mark on the same picture, one place later, when only
    the lost frame is rebuilt (the marks used to follow the time, which moved)."""
    frames = pan[:LOST] + pan[LOST + 1 :]
    frames[30] = frames[29]
    doc = constant_rate(frames, tmp_path / "lost_and_frozen.mkv")
    damage = scan(doc)
    assert [(d.kind, d.frame) for d in damage] == [("dropped", LOST - 1), ("duplicate", 30)]
    result = drive(fill_frames(doc, flow, RunContext(), fix="dropped", damage=damage))
    assert [(d.kind, d.frame) for d in carried(damage, doc, result)] == [("duplicate", 31)]


def test_a_repair_still_to_be_made_after_the_loss_moves_with_its_frame(pan, constant_rate, tmp_path):
    """An earlier repair's frames, planned and not yet made, stay on the frames they repair when the
    frames after a loss move later (they were keyed by time)."""
    from core.video.document import Pending

    doc = constant_rate(pan[:LOST] + pan[LOST + 1 :], tmp_path / "lost.mkv")
    grey = np.full_like(pan[0], 128)
    at = doc.slots[30].pts

    def make(wanted):
        yield from ((pts, grey) for pts in sorted(wanted))

    slots = [s.repaired("test") if s.pts == at else s for s in doc.slots]
    repaired = doc.with_pending(slots, Pending(frozenset({at}), make))
    result = drive(fill_frames(repaired, flow, RunContext(), fix="dropped"))
    assert np.array_equal(result.frame(31), grey)
    assert not np.array_equal(result.frame(30), grey)
    assert np.array_equal(result.window(29, 33)[2], grey)  # walked in order too


def test_frames_left_out_on_a_beat_are_how_the_clip_was_made_not_losses(pan, constant_rate, tmp_path):
    """Walk-through 41: a clip made 24 fps from 30 by leaving every fifth frame out keeps its time
    (its sound lasts as long); called lost, fill-frames slowed it by a quarter."""
    from core.video.damage import measure

    doc = constant_rate([f for i, f in enumerate(pan) if i % 5 != 4], tmp_path / "from30.mkv")
    jumps = [i for i, p in enumerate(measure(doc.frames()).pace) if p is not None and p.lost()]
    assert len(jumps) >= 3 and set(np.diff(jumps)) == {4}  # the motion does jump, on a beat
    assert dropped(doc) == []


def test_a_range_puts_back_only_the_losses_inside_it(pan, constant_rate, tmp_path):
    """Walk-through 41: with a range, a loss was put back squeezed between two frames (nothing moved
    later), and a range ending at frame 100 put back a loss after frame 148."""
    whole = constant_rate(pan, tmp_path / "whole.mkv")
    doc = constant_rate(pan[:LOST] + pan[LOST + 1 :], tmp_path / "lost.mkv")
    away = drive(fill_frames(doc, flow, RunContext(), targets=[LOST + 5]))
    assert [s.pts for s in away.slots] == [s.pts for s in doc.slots]  # rebuilt in place, nothing put back
    beside = drive(fill_frames(doc, flow, RunContext(), targets=[LOST]))  # the frame just after the loss
    assert np.abs(np.subtract([s.pts for s in beside.slots], [s.pts for s in whole.slots])).max() <= 1
    # In/Out around the loss (walk-through 42: refused as a 9-frame run, or its real frames rebuilt)
    around = drive(fill_frames(doc, flow, RunContext(), targets=list(range(LOST - 3, LOST + 5))))
    assert around.rebuilt() == [LOST] and around.frame_count == COUNT


def test_the_clip_made_longer_is_said_and_kept_in_the_record(pan, constant_rate, tmp_path, capsys):
    import json

    from core.cli import main
    from core.io.provenance import sidecar_path

    lost = constant_rate(pan[:LOST] + pan[LOST + 1 :], tmp_path / "lost.mkv")
    out = tmp_path / "out.mkv"
    assert main(["repair", str(lost.path), "--task", "fill-frames", "-o", str(out)]) == 0
    said = "1 frame(s) lost without a gap in the timestamps (told by the jump in the motion) put back"
    assert said in capsys.readouterr().err
    record = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    assert any(said in warning for step in record["steps"] for warning in step.get("warnings", []))
    assert read(out).frame_count == COUNT

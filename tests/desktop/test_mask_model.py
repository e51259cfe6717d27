"""Mask editing and undo history without a window."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.history import GLOBAL, Entry, History
from desktop.mask_model import (
    Box,
    MaskStack,
    brush_alpha,
    fill_polygon,
    flood_fill,
    stroke_segment,
)


def test_stroke_covers_capsule_without_gaps():
    mask = np.zeros((100, 200), np.uint8)
    box = stroke_segment(mask, (20.0, 50.0), (180.0, 50.0), radius=5, hardness=1.0)
    # Every pixel centre on the line between the two points is fully painted: no gaps between stamps.
    assert (mask[50, 20:180] == 255).all()
    assert (mask[50 - 3 : 50 + 3, 25:175] == 255).all()
    # Nothing beyond the radius, and the returned box holds everything painted.
    assert mask[50 - 7, 100] == 0 and mask[50 + 7, 100] == 0 and mask[50, 10] == 0
    assert mask.sum() == mask[box.slices].sum() and box.y0 >= 44 and box.y1 <= 56


def test_hardness_feathers_the_edge():
    hard = np.zeros((64, 64), np.uint8)
    soft = np.zeros((64, 64), np.uint8)
    stroke_segment(hard, (32, 32), (32, 32), radius=20, hardness=1.0)
    stroke_segment(soft, (32, 32), (32, 32), radius=20, hardness=0.2)
    assert hard[32, 32] == soft[32, 32] == 255
    # 15 px from the centre: inside the hard disk, on the soft brush's ramp.
    assert hard[32, 32 + 15] == 255
    assert 0 < soft[32, 32 + 15] < 255
    ramp = brush_alpha(np.array([0.0, 10.0, 16.0, 19.0, 21.0]), 20, 0.5)
    assert list(ramp) == sorted(ramp, reverse=True) and ramp[0] == 255 and ramp[-1] == 0


def test_eraser_removes_paint():
    mask = np.full((50, 50), 255, np.uint8)
    stroke_segment(mask, (10, 25), (40, 25), radius=4, erase=True)
    assert mask[25, 25] == 0 and mask[0, 0] == 255


def test_stroke_outside_the_image_is_clipped():
    mask = np.zeros((10, 10), np.uint8)
    box = stroke_segment(mask, (-50, -50), (-40, -40), radius=3)
    assert box.empty and not mask.any()
    stroke_segment(mask, (-5, 5), (15, 5), radius=2)
    assert mask[5].all()


def test_polygon_and_flood_fill():
    mask = np.zeros((40, 40), np.uint8)
    fill_polygon(mask, [(10, 10), (30, 10), (30, 30), (10, 30)], 255)
    assert mask[20, 20] == 255 and mask[5, 5] == 0 and mask[10:30, 10:30].all()
    # Draw a ring, then bucket-fill its inside only.
    ring = np.zeros((40, 40), np.uint8)
    ring[5:35, 5] = ring[5:35, 34] = ring[5, 5:35] = ring[34, 5:35] = 255
    box = flood_fill(ring, 20, 20, 255)
    assert ring[5:35, 5:35].all() and ring[0, 0] == 0 and box == Box(6, 34, 6, 34)
    # Magic wand on an image: fills the bright square only.
    image = np.zeros((40, 40))
    image[10:20, 10:20] = 100
    wand = np.zeros((40, 40), np.uint8)
    flood_fill(wand, 12, 12, 255, image=image, tolerance=5)
    assert wand.sum() == 100 * 255


def test_one_drag_is_one_undo_step_per_slice():
    stack = MaskStack(frames=3, height=64, width=64)
    history = History()
    mask = stack.begin(1)
    last = (5.0, 5.0)
    for x in range(10, 60, 5):  # many mouse moves, one stroke
        stack.touch(stroke_segment(mask, last, (float(x), 30.0), radius=3))
        last = (float(x), 30.0)
    edit = stack.end("brush")
    history.push(Entry(edit.lane, edit.label, edit, edit.nbytes))
    painted = stack.get(1).copy()
    assert painted.any() and not stack.any(0)

    # A stroke on slice 2, then undo on slice 1 must undo slice 1's stroke, not slice 2's.
    edit2, _ = stack.rectangle(2, (0, 0), (10, 10))
    history.push(Entry(edit2.lane, edit2.label, edit2, edit2.nbytes))
    entry = history.undo(1)
    stack.apply(entry.payload, undo=True)
    assert not stack.any(1) and stack.any(2)
    entry = history.redo(1)
    stack.apply(entry.payload, undo=False)
    assert np.array_equal(stack.get(1), painted)
    assert history.undo(0) is None  # nothing was done on slice 0


def test_global_entries_interleave_by_time():
    history = History()
    history.push(Entry(("mask", 0), "a", "a", 1))
    history.push(Entry(GLOBAL, "repair", "r", 1))
    history.push(Entry(("mask", 0), "b", "b", 1))
    assert [history.undo(0).label for _ in range(3)] == ["b", "repair", "a"]
    assert [history.redo(0).label for _ in range(3)] == ["a", "repair", "b"]


def test_new_edit_clears_redo_and_memory_cap_drops_oldest():
    history = History(cap_bytes=250)
    for n in range(5):
        history.push(Entry(("mask", 0), str(n), n, 100))
    assert history.nbytes <= 250
    labels = []
    while (e := history.undo(0)) is not None:
        labels.append(e.label)
    assert labels == ["4", "3"]
    history.push(Entry(("mask", 0), "new", None, 10))
    assert history.redo(0) is None


def test_one_shot_operations_are_undoable():
    stack = MaskStack(1, 50, 50)
    edit, _ = stack.rectangle(0, (10, 10), (20, 20))
    assert stack.get(0)[10:20, 10:20].all() and stack.get(0).sum() == 100 * 255
    grown, _ = stack.grow(0, 3)
    assert stack.get(0)[7, 15] == 255 and stack.get(0)[5, 15] == 0
    stack.apply(grown, undo=True)
    shrunk, _ = stack.shrink(0, 2)
    assert stack.get(0)[10, 15] == 0 and stack.get(0)[15, 15] == 255
    stack.apply(shrunk, undo=True)
    inverted, _ = stack.invert(0)
    assert stack.get(0)[0, 0] == 255 and stack.get(0)[15, 15] == 0
    stack.apply(inverted, undo=True)
    cleared, _ = stack.clear(0)
    assert not stack.any(0)
    stack.apply(cleared, undo=True)
    assert stack.get(0).sum() == 100 * 255
    assert stack.clear(0)[0] is not None and stack.clear(0)[0] is None  # clearing nothing is no edit


def test_replace_all_and_shape_check():
    stack = MaskStack(2, 8, 8)
    new = np.zeros((2, 8, 8), np.uint8)
    new[1, 2:4, 2:4] = 255
    edit = stack.replace_all(new)
    # A whole-stack edit (a loaded mask, a detection) is undone from any frame, though it changed
    # one only: filed under that frame, an undo elsewhere took back an older one (a walk-through).
    assert edit.lane == GLOBAL and np.array_equal(stack.as_array(), new)
    with pytest.raises(ValueError):
        stack.replace_all(np.zeros((3, 8, 8)))


def test_a_diagonal_stroke_stores_only_the_tiles_it_touched():
    stack = MaskStack(1, 2000, 3000)
    mask = stack.begin(0)
    # As the window paints: the brush's path is kept too (a detection's slider keeps it painted).
    stack.touch(stroke_segment(mask, (10.0, 10.0), (2990.0, 1990.0), radius=8, swept=stack.sweeping(False)))
    edit = stack.end("brush")
    assert edit.swept is not None and not edit.swept.erased
    painted = stack.get(0).copy()
    box_bytes = 2000 * 3000 * 2  # before + after of the stroke's bounding box
    assert edit.nbytes < box_bytes / 8
    stack.apply(edit, undo=True)
    assert not stack.any(0)
    stack.apply(edit, undo=False)
    assert np.array_equal(stack.get(0), painted)


def test_a_proposal_keeps_clear_where_the_video_eraser_passed_over_nothing_shown():
    """The video view's eraser path (`Stroke.swept`), handed to the proposal, stays clear when a lower
    threshold proposes pixels there that were not shown when it was erased."""
    from desktop.proposal import Proposal
    from desktop.workspaces.video.mask import Stroke

    score = np.zeros((40, 60), np.float32)
    score[10:30, 10:50] = 0.3  # proposed only at a threshold below 0.3
    score[15:25, 20:25] = 0.9  # proposed at the default
    proposal = Proposal(score, 0.5)
    shown = proposal.masks()
    assert shown[20, 22] == 255 and shown[20, 40] == 0
    stroke = Stroke(shown, 15, 20, 4, erase=True)
    stroke.to(45, 20)
    assert stroke.swept[20, 40] == 255 and stroke.mask[20, 22] == 0 and stroke.swept[5, 5] == 0
    lower = proposal.masks(0.2, stroke.mask, stroke.swept > 0)
    assert lower[16:25, 15:46].max() == 0  # the eraser's path, shown before or not
    assert lower[12, 30] == 255 and lower[28, 30] == 255  # the rest of the region follows the slider


def test_a_brush_over_proposed_pixels_keeps_them_when_the_threshold_is_raised():
    """Brushing over what the detector already proposed was no edit: the next higher threshold took
    those pixels away (a walk-through, 18 px at very low sensitivity). The brush's path is the edit,
    undone and redone with it."""
    from desktop.proposal import Proposal

    score = np.zeros((40, 60), np.float32)
    score[10:30, 10:50] = 0.3  # proposed only below 0.3
    proposal = Proposal(score, 0.2)
    stack = MaskStack(1, 40, 60)
    stack.replace_all(proposal.masks(), "detect damage")
    mask = stack.begin(0)
    stack.touch(stroke_segment(mask, (15.0, 20.5), (45.0, 20.5), radius=3, swept=stack.sweeping(False)))
    edit = stack.end("brush")
    assert edit is not None and edit.swept is not None and not edit.swept.erased
    assert not edit.patches  # nothing changed in the mask: the path alone is the edit
    raised = proposal.masks(0.5, stack.as_array(), stack.swept(), 0.2, stack.brushed())
    assert raised[0][20, 16:45].min() == 255  # the brush's path stays
    assert raised[0][12, 30] == 0 and raised[0][28, 30] == 0  # the rest follows the slider
    stack.apply(edit, undo=True)
    assert stack.brushed() is None
    raised = proposal.masks(0.5, stack.as_array(), stack.swept(), 0.2, stack.brushed())
    assert not raised.any()  # the stroke undone: nothing of it is kept


def test_the_video_brush_path_keeps_proposed_pixels_painted():
    from desktop.proposal import Proposal
    from desktop.workspaces.video.mask import Stroke

    score = np.zeros((40, 60), np.float32)
    score[10:30, 10:50] = 0.3
    proposal = Proposal(score, 0.2)
    shown = proposal.masks()
    stroke = Stroke(shown, 15, 20, 4, erase=False)
    stroke.to(45, 20)
    assert np.array_equal(stroke.mask, shown)  # it painted nothing new
    raised = proposal.masks(0.5, stroke.mask, None, 0.2, stroke.swept > 0)
    assert raised[20, 16:45].min() == 255 and raised[12, 30] == 0

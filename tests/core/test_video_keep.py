"""A frame rebuilt in place keeps the parts of its decoded picture that agree with the rebuilt one
(walk-through 42: interpolation made lightly damaged frames of a fast pan worse)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from core.bench.metrics import psnr  # noqa: E402
from core.io import read  # noqa: E402
from core.runtime.context import RunContext, drive  # noqa: E402
from core.video.agree import keep_agreeing  # noqa: E402
from core.video.fill import fill_frames  # noqa: E402
from core.video.interpolate import flow  # noqa: E402


@pytest.fixture(scope="module")
def phone(datasets):
    return read(datasets / "video" / "bench" / "carphone_pristine.mp4")


def test_a_frame_broken_in_part_keeps_its_unbroken_part_and_loses_the_broken_one(phone):
    before, truth, after = phone.window(39, 42)
    broken = truth.copy()
    broken[64:112, 80:144] = truth[16:64, 16:80]  # blocks from the wrong place, as a lost packet leaves
    rebuilt = flow(before, after, [0.5])[0]

    kept = keep_agreeing(broken, rebuilt)

    assert np.array_equal(kept[68:108, 84:140], rebuilt[68:108, 84:140])  # nothing of the broken blocks
    assert np.all(kept == truth, axis=-1).mean() > 0.4  # the agreeing half exactly as decoded
    assert psnr(kept, truth) > psnr(rebuilt, truth) + 1.0  # measured 34.4 against 33.0 dB
    assert psnr(kept, truth) > psnr(broken, truth)


def test_rebuilding_a_frame_that_is_not_broken_keeps_most_of_it(phone):
    """A range over a good frame (or a frame the scan doubts wrongly) no longer trades it for an
    interpolation: where the two agree the frame stays as decoded."""
    result = drive(fill_frames(phone, flow, RunContext(), targets=[60]))
    truth = phone.frame(60)
    interpolated = flow(phone.frame(59), phone.frame(61), [0.5])[0]

    assert result.rebuilt() == [60]
    assert np.all(result.frame(60) == truth, axis=-1).mean() > 0.6  # measured 0.79
    assert psnr(result.frame(60), truth) > psnr(interpolated, truth) + 5.0  # measured 44.3 against 35.9 dB

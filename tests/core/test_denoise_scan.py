"""The scan denoiser (`denoise-scan`): the default for denoising a CT, never a photo's, and it works on a
real CT slice in HU it was not trained on (the shared head CT, the volume the bench claim rests on)."""

from __future__ import annotations

import numpy as np
import pytest

from core.bench.scan_slices import body_masks
from core.io import read
from core.methods import choose_method
from core.repair import run_repair
from core.runtime.context import RunContext
from core.scan_noise import low_dose_noise, pixel_mm

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def head_ct(datasets):
    """One whole slice of the shared head CT (HU): its body is the head (a crop would leave bone only)."""
    return read(datasets / "medical/head_ct_ge/14.dcm")


def test_it_is_the_ct_default_and_never_a_photos():
    assert choose_method("denoise", modality="ct") == (choose_method("denoise", "denoise-scan")[0], "")
    assert choose_method("denoise", modality="photo")[0].card.id == "denoise-learned"


def test_it_removes_most_of_simulated_low_dose_noise_and_leaves_a_clean_slice_nearly_alone(head_ct):
    clean = head_ct.pixels[0, ..., 0]
    body = body_masks(head_ct.pixels)[0]
    noise = low_dose_noise(clean, pixel_mm(head_ct), 5e5, 360, seed=3)
    noisy = head_ct.with_pixels((clean + noise)[None, ..., None])
    out = run_repair(noisy, "denoise", ctx=RunContext(device="cpu"))
    step = out.provenance[-1]
    assert step.method == "denoise-scan" and not step.warnings
    before = float(np.sqrt(np.mean(noise[body] ** 2)))
    after = float(np.sqrt(np.mean((out.pixels[0, ..., 0] - clean)[body] ** 2)))
    assert after < 0.5 * before, (before, after)  # 31 HU -> 11 measured
    # On the slice as scanned (its own faint noise only), the change is far below the low-dose noise.
    change = run_repair(head_ct, "denoise", ctx=RunContext(device="cpu")).pixels[0, ..., 0] - clean
    assert float(np.sqrt(np.mean(change[body] ** 2))) < 0.2 * before  # 1.7 HU measured


def test_each_slices_progress_says_which_slice_it_is(datasets):
    """A series denoised slice by slice: the method's own "denoising tile 1/1" read the same for all 28."""
    from core.repair import repair

    series = read(datasets / "medical/head_ct_ge")
    run, messages = repair(series, "denoise", frames=[3, 4], ctx=RunContext(device="cpu")), []
    while True:
        try:
            messages.append(next(run).message)
        except StopIteration:
            break
    assert "slice 1 of 2: denoising tile 1/1" in messages and "slice 2 of 2: denoising tile 1/1" in messages
    assert all(m.startswith(("slice 1 of 2", "slice 2 of 2")) for m in messages if m != "done"), messages


def test_a_routine_ct_is_told_why_it_barely_changed_and_how_to_ask_for_more(head_ct):
    """The head CT's noise is a coarse grain (its reconstruction kernel): σ estimated at the pixel
    scale is under 1 HU and the result moved by a fraction of a HU, which nothing said."""
    ctx = RunContext(device="cpu")
    out = run_repair(head_ct, "denoise", ctx=ctx)
    estimated = out.provenance[-1].params["sigma"]
    assert estimated < 1.0
    hint = next(n for n in ctx.notes if "noise estimated at the pixel scale" in n)
    assert f"{estimated:.2g} HU" in hint and "set sigma to a few HU" in hint
    body = head_ct.pixels > -500
    quiet = np.abs(out.pixels - head_ct.pixels)[body].mean()
    asked = RunContext(device="cpu")
    stronger = run_repair(head_ct, "denoise", ctx=asked, sigma=3.0)
    assert not any("pixel scale" in n for n in asked.notes)
    assert np.abs(stronger.pixels - head_ct.pixels)[body].mean() > 1.5 * quiet


def test_a_skull_stripped_mrs_zero_background_stays_zero(datasets):
    """Masks built as 'background == 0' must hold after a denoise: the scan denoiser had made 541,741
    of FLAIR's zero voxels non-zero, up to 59 voxels from the brain (a walk-through)."""
    import numpy as np

    from core.io import read
    from core.repair import run_repair

    flair = read(datasets / "medical/FLAIR.nii.gz")
    out = run_repair(flair, "denoise", method="denoise-scan").pixels
    background = flair.pixels == 0
    assert background.mean() > 0.5
    assert (out[background] != 0).sum() < 0.002 * background.sum()  # zeros inside the brain may change
    assert np.abs(out - flair.pixels)[~background].mean() > 0.5  # and the brain was denoised

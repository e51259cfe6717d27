"""inpaint-slices: a hole in a slice of a real scan filled from the slices around it, measured against
biharmonic inside the hole; single images refused or given the fallback with a note; its uncertainty
map; the scan defaults that choose it."""

from __future__ import annotations

import numpy as np
import pytest

from core.bench.inpaint_volume import holes
from core.errors import MethodError
from core.io import read
from core.methods import choose_method
from core.repair import run_repair


@pytest.fixture(scope="module")
def shear(datasets):
    return read(datasets / "medical/shear.nii.gz")


def test_a_hole_in_a_held_back_ct_slice_is_filled_closer_than_biharmonic(shear):
    chosen, mask = holes(shear, "medium", 2)
    truth = shear.pixels[..., 0]
    maes = {}
    for method in ("inpaint-slices", "inpaint-biharmonic"):
        out = run_repair(shear, "inpaint", method=method, mask=mask).pixels[..., 0]
        maes[method] = float(np.abs(out - truth)[mask].mean())
        assert np.array_equal(out[~mask], truth[~mask])
    assert maes["inpaint-slices"] < 0.5 * maes["inpaint-biharmonic"], maes


def test_a_hole_six_slices_deep_gets_no_values_the_slices_around_it_do_not_hold(shear):
    """A walk-through's hole over the edge of a 92 HU insert, six slices deep: the spline through two
    slices each side filled it up to 625 HU (read as bone), 53 HU off on average; linear 36."""
    truth = shear.pixels[..., 0]
    mask = np.zeros(truth.shape, bool)
    mask[24:30, 200:240, 130:170] = True
    result = run_repair(shear, "inpaint", method="inpaint-slices", mask=mask)
    assert result.provenance[-1].params["order_across_deep_holes"] == "shape-preserving cubic (PCHIP)"
    out = result.pixels[..., 0]
    assert truth[mask].max() < 110.0 and out[mask].max() < 250.0  # 207: the slice's own edge carried in
    assert np.abs(out - truth)[mask].mean() < 35.0
    assert np.array_equal(out[~mask], truth[~mask])
    # how sure, slice by slice: least in the hole's middle, where a fill is furthest from both sides
    # (the spread across the fills alone read highest next to the intact slices)
    per_slice = [result.uncertainty[k][mask[k]].mean() for k in range(24, 30)]
    assert min(per_slice[2:4]) > max(per_slice[0], per_slice[5]), per_slice


def test_its_uncertainty_map_covers_the_hole_in_the_scans_units(shear):
    mask = np.zeros(shear.pixels.shape[:3], bool)
    mask[27, 180:260, 100:200] = True
    out = run_repair(shear, "inpaint", mask=mask)
    record = out.provenance[-1]
    assert record.method == "inpaint-slices"  # the default on a volume
    assert "the fills from the slice below and above alone" in record.uncertainty["measure"]
    spread = out.uncertainty
    assert spread.shape == mask.shape and not spread[~mask].any()
    # In HU (the NIfTI's scaled units): tissue edges move a few HU to a few hundred between slices.
    assert 1.0 < record.uncertainty["mean"] < 300.0 and spread[mask].max() > record.uncertainty["mean"]


def test_its_uncertainty_is_calibrated_on_the_same_holes_placed_on_intact_slices(shear):
    """Uncalibrated, the spread across the fill and each neighbour alone read 82 HU on shear's thick holes
    where the fill is 20 HU off: it is scaled so that on held-out fills its mean is their error."""
    chosen, mask = holes(shear, "medium", 2)
    out = run_repair(shear, "inpaint", method="inpaint-slices", mask=mask)
    measure = out.provenance[-1].uncertainty["measure"]
    scale = float(measure.split("(x ")[1].rstrip(")"))
    assert 0.2 < scale < 0.5  # this phantom's slices change more than the cubic fill misses
    error = np.abs(out.pixels - shear.pixels)[..., 0][mask].mean()
    spread = out.uncertainty[mask].mean()
    assert 0.7 < spread / error < 1.5 and spread / scale / error > 2.5, (spread, error, scale)


def test_a_single_slice_is_refused_by_name_and_falls_back_by_default(datasets):
    ct = read(datasets / "medical/693_UNCI.dcm")
    mask = np.zeros(ct.pixels.shape[1:3], bool)
    mask[200:230, 200:240] = True
    with pytest.raises(MethodError, match="single slice: use inpaint-biharmonic"):
        run_repair(ct, "inpaint", method="inpaint-slices", mask=mask)
    method, note = choose_method("inpaint", modality="ct", frames=1)
    assert method.card.id == "inpaint-biharmonic" and "inpaint-slices cannot run" in note
    assert run_repair(ct, "inpaint", mask=mask).provenance[-1].method == "inpaint-biharmonic"


def test_a_hole_painted_on_every_slice_is_refused(shear):
    mask = np.zeros(shear.pixels.shape[1:3], bool)
    mask[180:200, 100:120] = True  # one 2-D mask: the same place on every slice
    with pytest.raises(MethodError, match="marked on every other slice too"):
        run_repair(shear, "inpaint", method="inpaint-slices", mask=mask)


def test_with_frames_only_those_slices_are_filled_from_their_neighbours(shear):
    mask = np.zeros(shear.pixels.shape[1:3], bool)
    mask[180:220, 100:140] = True
    out = run_repair(shear, "inpaint", method="inpaint-slices", mask=mask, frames=[27]).pixels
    changed = np.flatnonzero(np.any(out != shear.pixels, axis=(1, 2, 3)))
    assert list(changed) == [27]


@pytest.mark.parametrize("modality", ["ct", "mr", "scan"])
def test_it_is_the_inpainting_default_on_ct_and_mr_volumes(modality):
    assert choose_method("inpaint", modality=modality)[0].card.id == "inpaint-slices"
    assert choose_method("inpaint", modality="photo")[0].card.id == "inpaint-learned"
    assert choose_method("inpaint", modality="xray", frames=1)[0].card.id == "inpaint-biharmonic"


def test_one_mask_for_every_slice_runs_the_per_slice_method_by_default(shear):
    """`lacuna repair VOLUME --mask hole.png` (one 2-D mask, no --frames) hides the same place on every
    slice: no slice shows it, so the default is chosen as for a single slice, with a note."""
    mask = np.zeros(shear.pixels.shape[1:3], bool)
    mask[180:200, 100:120] = True
    out = run_repair(shear, "inpaint", mask=mask)
    record = out.provenance[-1]
    assert record.method == "inpaint-biharmonic"
    assert np.array_equal(out.pixels[:, ~mask], shear.pixels[:, ~mask])
    assert not np.array_equal(out.pixels[:, mask], shear.pixels[:, mask])


def test_a_hole_with_one_intact_neighbour_is_not_called_certain(shear):
    """At the volume's last slice only the slice below shows the hole: the spread compares the fill
    with the slice's own biharmonic fill, not with itself (which would read zero)."""
    last = shear.pixels.shape[0] - 1
    mask = np.zeros(shear.pixels.shape[:3], bool)
    mask[last, 180:260, 100:200] = True
    out = run_repair(shear, "inpaint", method="inpaint-slices", mask=mask)
    spread = out.uncertainty[last][mask[last]]
    assert spread.mean() > 1.0  # HU; the fill against itself would read exactly 0


def test_a_hole_reaching_the_end_of_the_volume_is_said_and_its_map_reads_as_its_error(shear):
    """A walk-through's hole over slices 0-5, where the phantom ends: filled as body from above, 833 HU
    off, with a calibrated spread reading 118 HU and nothing said."""
    from core.runtime.context import RunContext

    mask = np.zeros(shear.pixels.shape[:3], bool)
    mask[0:6, 200:240, 130:170] = True
    ctx = RunContext()
    out = run_repair(shear, "inpaint", method="inpaint-slices", mask=mask, ctx=ctx)
    error = np.abs(out.pixels - shear.pixels)[..., 0][mask].mean()
    assert 0.7 < out.uncertainty[mask].mean() / error < 1.5, (out.uncertainty[mask].mean(), error)
    assert any("reaches the end of the volume on slices 0-5" in note for note in ctx.notes), ctx.notes
    assert "filled from one side only" in out.provenance[-1].uncertainty["measure"]


def test_an_empty_mask_is_refused_but_a_stack_without_holes_comes_back_unchanged(shear):
    """The whole mask empty: one clear error. One stack of a 4-D series without holes (the method is
    run stack by stack): that stack comes back as it was, so the other stacks still get filled."""
    from core.methods import get_method
    from core.runtime.context import RunContext, drive

    empty = np.zeros(shear.pixels.shape[:3], bool)
    with pytest.raises(MethodError, match="nothing is marked"):
        run_repair(shear, "inpaint", method="inpaint-slices", mask=empty)
    stack = shear.pixels[:6, :64, :64]
    out = drive(get_method("inpaint-slices").run(stack, empty[:6, :64, :64], RunContext()))
    assert np.array_equal(out, stack)


def test_the_cli_with_one_mask_for_a_volume_runs_biharmonic_and_says_why(datasets, tmp_path, capsys):
    from PIL import Image

    from core.cli import main

    volume = datasets / "medical/shear.nii.gz"
    height, width = read(volume).pixels.shape[1:3]
    hole = np.zeros((height, width), np.uint8)
    hole[180:200, 100:120] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    out = tmp_path / "out.nii.gz"
    assert (
        main(
            ["repair", str(volume), "-o", str(out), "--task", "inpaint", "--mask", str(tmp_path / "hole.png")]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "inpaint-slices cannot run" in err and "running inpaint-biharmonic" in err
    assert out.is_file()


def test_every_hole_seen_is_the_methods_own_rule_on_the_whole_mask():
    """The default choice weighs a per-slice mask with `every_hole_seen`; it must say what the method
    itself finds slice by slice (`intact_slices`), on masks of every kind of overlap."""
    from core.methods.inpaint_slices import every_hole_seen, intact_slices

    rng = np.random.default_rng(0)
    answers = set()
    for _ in range(40):
        slices = int(rng.integers(2, 7))
        holes = np.zeros((slices, 40, 40), bool)
        for k in range(slices):
            for _ in range(int(rng.integers(0, 3))):
                y, x = rng.integers(0, 36, 2)
                holes[k, y : y + 4, x : x + 4] = True
        expected = all(intact_slices(holes, k) for k in range(slices) if holes[k].any())
        assert every_hole_seen(holes) == expected
        answers.add(expected)
    assert answers == {True, False}  # both cases were drawn


def test_a_nifti_mask_on_the_scans_grid_gives_each_slice_its_own_hole(datasets, tmp_path, capsys):
    """A researcher's mask is a NIfTI on the scan's grid (FSL, ITK-SNAP, 3D Slicer): it is read voxel
    for voxel; one on another grid, or of another size, is refused in one line."""
    import nibabel as nib

    from core.cli import main

    volume = datasets / "medical/shear.nii.gz"
    image = nib.load(volume)
    labels = np.zeros(image.shape, np.uint8)
    labels[130:170, 200:240, 27] = 3  # nibabel's (i, j, k): a label of any value marks
    nib.save(nib.Nifti1Image(labels, image.affine), tmp_path / "mask.nii.gz")
    out = tmp_path / "out.nii.gz"
    mask = str(tmp_path / "mask.nii.gz")
    args = ["repair", str(volume), "-o", str(out), "--task", "inpaint", "--mask", mask]
    assert main(args) == 0
    before, after = image.get_fdata(), nib.load(out).get_fdata()
    changed = np.abs(after - before) > 0.5
    assert changed.any() and not changed[labels == 0].any()
    assert "inpaint-slices" in capsys.readouterr().err  # the per-slice method, not one hole for all

    nib.save(nib.Nifti1Image(labels, image.affine @ np.diag([2.0, 1, 1, 1])), tmp_path / "other.nii.gz")
    nib.save(nib.Nifti1Image(labels[:, :, :20], image.affine), tmp_path / "short.nii.gz")
    for name, said in (("other", "another grid"), ("short", "306×422×54 voxels); this one is 306×422×20")):
        args[-1], args[3] = str(tmp_path / f"{name}.nii.gz"), str(tmp_path / f"{name}_out.nii.gz")
        assert main(args) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / f"{name}_out.nii.gz").exists()


def test_a_nifti_mask_of_a_dicom_series_is_put_on_its_voxels_even_stored_flipped(datasets, tmp_path):
    """A converter (dcm2niix) may store the rows of a series the other way round: the mask's affine
    says so, and the mask lands where it was drawn, not mirrored (a review found it mirrored)."""
    import nibabel as nib

    from core.io import write
    from core.io.masks import read_scan_mask

    series = read(datasets / "medical/head_ct_ge")
    own = nib.load(write(series, tmp_path / "ct.nii.gz"))
    drawn = np.zeros(own.shape, np.uint8)
    drawn[100:140, 50:80, 10] = 2  # (i, j, k) in Lacuna's NIfTI of the series
    flip = np.diag([1.0, -1.0, 1.0, 1.0])
    flip[1, 3] = own.shape[1] - 1
    nib.save(nib.Nifti1Image(drawn[:, ::-1, :], own.affine @ flip), tmp_path / "flipped.nii.gz")
    alpha = read_scan_mask(tmp_path / "flipped.nii.gz", series)
    assert np.array_equal(alpha > 0, drawn.transpose(2, 1, 0) > 0)
    # a probability map's fractions are alpha as painted, not all-or-nothing
    soft = (drawn / 4.0).astype(np.float32)
    nib.save(nib.Nifti1Image(soft, own.affine), tmp_path / "soft.nii.gz")
    assert set(np.unique(read_scan_mask(tmp_path / "soft.nii.gz", series))) == {0.0, 0.5}
    # shifted by a voxel: another grid
    nib.save(
        nib.Nifti1Image(
            drawn, own.affine @ np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
        ),
        tmp_path / "moved.nii.gz",
    )
    with pytest.raises(MethodError, match="another grid"):
        read_scan_mask(tmp_path / "moved.nii.gz", series)


def test_a_qform_only_mask_of_a_tilted_series_is_refused_saying_why(datasets, tmp_path):
    """The head CT's slices lean 18.5° (gantry tilt); a mask saved with only a qform, which cannot
    hold that shear, was refused as "on another grid" without a word of the tilt."""
    import nibabel as nib

    from core.io import write
    from core.io.masks import read_scan_mask

    series = read(datasets / "medical/head_ct_ge")
    own = nib.load(write(series, tmp_path / "ct.nii.gz"))
    drawn = np.zeros(own.shape, np.uint8)
    drawn[100:140, 50:80, 10] = 1
    qform_only = nib.Nifti1Image(drawn, None)
    qform_only.set_qform(own.get_qform(), code=1)
    qform_only.set_sform(None, code=0)
    nib.save(qform_only, tmp_path / "q.nii.gz")
    with pytest.raises(MethodError, match=r"tilted by 18\.5° \(a gantry tilt\).*a qform cannot"):
        read_scan_mask(tmp_path / "q.nii.gz", series)

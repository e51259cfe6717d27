"""Thinner slices (core.repair.thinning): new slices inserted between a real volume's own, the acquired
ones kept bit for bit, written back to NIfTI and DICOM at their new positions."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest

from core import io
from core.errors import MethodError
from core.info import describe
from core.io.dicom.header import private_record
from core.io.dicom.overlay import changed_pixels
from core.io.uncertainty_map import read_map
from core.repair import run_repair
from core.repair.thinning import plan

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def head(datasets):
    """The tilted, unevenly spaced head CT (4 mm then 7 mm apart), a 48 × 48 crop."""
    doc = io.read(datasets / "medical/head_ct_ge")
    return doc.with_pixels(doc.pixels[:, 210:258, 190:238].copy())


@pytest.fixture(scope="module")
def shear(datasets):
    """Ten 2.37 mm slices of the sheared CT volume, a 64 × 64 crop."""
    doc = io.read(datasets / "medical/shear.nii.gz")
    doc = doc.with_pixels(doc.pixels[20:30, 180:244, 120:184].copy())
    doc.metadata["nifti_shape"] = [64, 64, 10]
    return doc


def test_a_factor_splits_every_gap_and_a_spacing_only_the_wide_ones():
    z = np.array([0.0, 4.0, 8.0, 9.0, 16.0])
    halves = plan(z, thin=2)
    assert halves.positions.tolist() == [0, 2, 4, 6, 8, 8.5, 9, 12.5, 16]
    assert halves.inserted == [1, 3, 5, 7] and halves.kept == [0, 2, 4, 6, 8]
    at_most_3 = plan(z, spacing=3.0)  # 4 mm gaps in two, the 1 mm gap left, the 7 mm gap in three
    assert np.allclose(np.diff(at_most_3.positions), [2, 2, 2, 2, 1, 7 / 3, 7 / 3, 7 / 3])
    assert len(plan(z * 1.0004, spacing=2.0).positions) == 10  # 4.0016 mm gaps halved, not thirded
    with pytest.raises(MethodError, match="not both"):
        plan(z, thin=2, spacing=1.0)
    with pytest.raises(MethodError, match="inserts no slice"):
        plan(z, spacing=10.0)
    with pytest.raises(MethodError, match="at most 16"):
        plan(z, spacing=0.1)


def test_thinned_nifti_keeps_its_slices_and_halves_the_affine_s_slice_step(shear, tmp_path):
    out = run_repair(shear, "fill-slice", method="fill-slice-self", thin=2, steps=20)
    assert out.frames == 19 and out.spacing[0] == pytest.approx(shear.spacing[0] / 2)
    assert out.metadata["made_slice_thickness"] == pytest.approx(shear.spacing[0] / 2)  # sharpened to it
    assert np.array_equal(out.pixels[::2], shear.pixels)  # the acquired slices, bit for bit
    assert out.changed[1::2].all() and not out.changed[::2].any()  # inserted slices marked whole
    assert (out.uncertainty[1::2] > 0).mean() > 0.5 and not out.uncertainty[::2].any()
    record = out.provenance[-1].as_dict()
    assert record["params"]["inserted_slices"] == 9 and record["params"]["slices_after"] == 19
    assert record["uncertainty"]["pixels"] == 9 * 64 * 64
    # new slices are between their neighbours' values, not blank
    inner = out.pixels[1::2]
    assert np.abs(inner - (shear.pixels[:-1] + shear.pixels[1:]) / 2).mean() < 0.2 * np.ptp(shear.pixels)

    saved = io.write(out, tmp_path / "thin.nii.gz")
    img = nib.load(saved)
    source = shear.writeback.affine
    assert img.shape == (64, 64, 19)
    assert np.allclose(img.affine[:, 2], source[:, 2] / 2) and np.allclose(img.affine[:, 3], source[:, 3])
    assert np.allclose(img.header.get_zooms()[2], shear.spacing[0] / 2, atol=1e-5)
    # The qform says the same as the sform, with the source's code (nibabel had set it to 0).
    before = nib.load(shear.path).header
    assert int(before["qform_code"]) > 0 and int(img.header["qform_code"]) == int(before["qform_code"])
    moved = before.get_qform() @ np.linalg.solve(source, img.affine)  # as the sform moved
    assert np.allclose(img.get_qform(), moved, atol=1e-3)
    again = io.read(saved)
    assert np.array_equal(again.pixels[::2], shear.pixels)
    spread, described = read_map(saved)
    assert spread.shape == (19, 64, 64) and described["units"] == "HU"


def test_a_thinned_tilted_series_is_written_slice_by_slice_at_its_new_positions(head, tmp_path):
    out = run_repair(head, "fill-slice", method="fill-slice-interp", order="cubic", spacing=2.5)
    inserted = [i for i in range(out.frames) if out.changed[i].all()]
    kept = [i for i in range(out.frames) if i not in inserted]
    assert len(kept) == head.frames and out.frames == 67  # 4 mm gaps in two, 7 mm gaps in three
    assert np.array_equal(out.pixels[kept], head.pixels)
    folder = io.write(out, tmp_path / "thin_series")

    files = sorted(folder.iterdir())
    written = [pydicom.dcmread(f) for f in files]
    sources = {ds.SOPInstanceUID: (ds, z) for ds, z in zip(head.writeback.datasets, head.writeback.positions)}
    assert [int(ds.InstanceNumber) for ds in written] == list(range(1, 68))
    assert len({ds.SOPInstanceUID for ds in written} | set(sources)) == 67 + head.frames  # all new
    assert len({ds.SeriesInstanceUID for ds in written}) == 1
    for i in inserted:
        ds = written[i]
        (below, z0), (above, z1) = (sources[r.ReferencedSOPInstanceUID] for r in ds.SourceImageSequence)
        t = (out.positions[i] - z0) / (z1 - z0)
        assert 0 < t < 1
        expected = (1 - t) * np.array(below.ImagePositionPatient, float) + t * np.array(
            above.ImagePositionPatient, float
        )  # across the tilt the new slice moves sideways too
        assert np.allclose(np.array(ds.ImagePositionPatient, float), expected, atol=1e-4)
        assert float(ds.SliceLocation) == pytest.approx(
            (1 - t) * float(below.SliceLocation) + t * float(above.SliceLocation), abs=1e-4
        )
        assert "inserted between acquired slices" in ds.ImageComments
        assert changed_pixels(ds).all()
        # no neighbour's private tags (GE's slice location among them), Lacuna's record kept
        assert [e.value for e in ds if e.tag.is_private_creator] == ["Lacuna"]
        assert "lacuna" in (private_record(ds) or "").lower()
    assert all(changed_pixels(written[i]) is None for i in kept)
    assert any(e.tag.is_private_creator and e.value != "Lacuna" for e in written[kept[0]])  # GE's kept
    assert "SpacingBetweenSlices" not in written[0]  # uneven: no single spacing to state

    shown = describe(folder)  # `lacuna info`: the new count, and how far apart the slices now are
    assert shown["slices"] == 67 and shown["slice_spacing"] == pytest.approx([1.0807, 2.3321], abs=1e-3)
    again = io.read(folder)
    assert again.frames == 67 and np.allclose(again.positions, out.positions, atol=1e-4)
    assert np.array_equal(again.pixels[kept], head.pixels)
    assert again.metadata["gantry_tilt_degrees"] == pytest.approx(
        head.metadata["gantry_tilt_degrees"], abs=0.01
    )


def test_evenly_thinned_series_states_its_new_spacing(head, tmp_path):
    even = head.with_pixels(head.pixels[:6])
    even.positions = head.positions[:6]
    even.metadata["inplane_offsets_mm"] = head.metadata["inplane_offsets_mm"][:6]
    even.writeback = type(head.writeback)(head.writeback.datasets[:6], head.writeback.positions[:6])
    out = run_repair(even, "fill-slice", method="fill-slice-interp", thin=2)
    written = [pydicom.dcmread(f) for f in sorted(io.write(out, tmp_path / "even").iterdir())]
    assert len(written) == 11
    assert [float(ds.SpacingBetweenSlices) for ds in written] == pytest.approx([2.0003] * 11, abs=1e-3)
    assert describe(tmp_path / "even")["slices"] == 11


def test_slices_the_self_supervised_method_inserts_state_their_thinner_thickness(head, tmp_path):
    even = head.with_pixels(head.pixels[:6])
    even.positions = head.positions[:6]
    even.metadata["inplane_offsets_mm"] = head.metadata["inplane_offsets_mm"][:6]
    even.writeback = type(head.writeback)(head.writeback.datasets[:6], head.writeback.positions[:6])
    acquired = float(head.writeback.datasets[0].SliceThickness)
    for method, extra in (("fill-slice-self", {"steps": 10}), ("fill-slice-interp", {})):
        out = run_repair(even, "fill-slice", method=method, thin=2, **extra)
        written = [pydicom.dcmread(f) for f in sorted(io.write(out, tmp_path / method).iterdir())]
        thickness = [float(ds.SliceThickness) for ds in written]
        assert thickness[0::2] == [acquired] * 6  # the acquired slices keep theirs
        made = min(acquired, 2.0003) if method == "fill-slice-self" else acquired
        assert thickness[1::2] == pytest.approx([made] * 5, abs=1e-3)


def test_thinning_is_refused_with_a_mask_or_named_slices(shear):
    with pytest.raises(MethodError, match="whole volume"):
        run_repair(shear, "fill-slice", thin=2, mask=np.ones(shear.pixels.shape[:3], bool))
    with pytest.raises(MethodError, match="not both"):
        run_repair(shear, "fill-slice", thin=2, slices="3")


def test_the_thinning_bench_scores_the_inserted_slices_against_the_removed_ones(head, tmp_path, capsys):
    import json

    from core.bench.fill_slice import main, thick_case

    seen, asked, pairs = thick_case(head, 2, thick=False)
    assert seen.frames == 14 and asked == {"thin": 2}
    # inserted slice i of the thinned volume lands on true slice i wherever the spacing was even
    assert pairs and all(i == j for i, j in pairs) and len(pairs) == 12  # not across the 1 mm step
    blurred, _, _ = thick_case(head, 2, thick=True)
    assert blurred.metadata["slice_thickness"] == 8.0 and not np.array_equal(blurred.pixels, seen.pixels)

    saved = io.write(head, tmp_path / "head_crop")
    assert main(["--set", str(saved), "--thin", "2", "--method", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    row = report["images"][0]
    assert row["scored"] == 12
    linear, cubic = (float(row[f"{m} PSNR / SSIM / MAE"].split(" / ")[0]) for m in ("linear", "cubic"))
    assert 15 < linear < 60 and 15 < cubic < 60


def test_an_enhanced_multiframe_ct_gets_a_frame_placed_between_its_two(datasets, tmp_path):
    doc = io.read(datasets / "medical/eCT_Supplemental.dcm")
    assert doc.positions == [159.0, 149.0]  # frames run down the normal
    out = run_repair(doc, "fill-slice", method="fill-slice-interp", thin=2)
    ds = pydicom.dcmread(io.write(out, tmp_path / "thin.dcm"))
    groups = ds.PerFrameFunctionalGroupsSequence
    assert ds.NumberOfFrames == 3 and len(groups) == 3
    z = [float(g.PlanePositionSequence[0].ImagePositionPatient[2]) for g in groups]
    assert z == [-159.0, -154.0, -149.0] and float(ds.SpacingBetweenSlices) == 5.0
    assert changed_pixels(ds).reshape(3, -1).all(axis=1).tolist() == [False, True, False]
    again = io.read(tmp_path / "thin.dcm")
    assert again.positions == [159.0, 154.0, 149.0] and np.array_equal(again.pixels[[0, 2]], doc.pixels)


def test_the_person_is_told_what_thinning_inserted_and_how_to_split_only_wide_gaps(head):
    """The CLI said only 'wrote ct_fill-slice'; thin=2 on an uneven series also halves its closest slices."""
    from core.runtime.context import RunContext

    ctx = RunContext()
    out = run_repair(head, "fill-slice", method="fill-slice-interp", ctx=ctx, thin=2)
    z = np.abs(np.diff(head.positions))
    said = f"inserted {out.frames - head.frames} slices between the {head.frames} acquired:"
    line = next(n for n in ctx.notes if n.startswith(said))
    assert f"({z.min():.3g}-{z.max():.3g} mm before)" in line
    assert f"thin=2 divided every gap, spacing={np.median(z) / 2:.3g} would divide only" in line
    advised = plan(np.asarray(head.positions, float), spacing=float(f"{np.median(z) / 2:.3g}"))
    closest = int(np.argmin(z))  # following the advice leaves the closest gap whole, the others split
    assert advised.kept[closest + 1] - advised.kept[closest] == 1 and len(advised.inserted) > 0
    ctx = RunContext()
    run_repair(head, "fill-slice", method="fill-slice-interp", ctx=ctx, spacing=2.5)
    assert not any("unevenly" in n for n in ctx.notes) and any(n.startswith("inserted ") for n in ctx.notes)


def test_a_fill_slice_with_nothing_named_suggests_thinning_only_where_slices_are_thick(datasets, tmp_path):
    """A walk-through's FLAIR with every other slice dropped (2 mm slices, 1 mm pixels) got a generic
    error; an isotropic volume was told to thin too."""
    flair = nib.load(datasets / "medical/FLAIR.nii.gz")
    affine = flair.affine.copy()
    affine[:3, 2] *= 2
    nib.save(nib.Nifti1Image(np.asarray(flair.dataobj)[:, :, ::2], affine), tmp_path / "half.nii.gz")
    with pytest.raises(MethodError, match="2 mm apart against 1 mm pixels: thin=2"):
        run_repair(io.read(tmp_path / "half.nii.gz"), "fill-slice")
    with pytest.raises(MethodError) as refused:
        run_repair(io.read(datasets / "medical/FLAIR.nii.gz"), "fill-slice")
    assert "thin=" not in str(refused.value)

"""What `lacuna info` and the info panel say about scans: what the file stores, and no invented spacing."""

from __future__ import annotations

import numpy as np

from core.info import describe, format_info


def test_a_radiograph_without_spacing_tags_has_unknown_spacing(datasets):
    info = describe(datasets / "medical/RG3_J2KR.dcm")
    assert info["spacing"] == [None, None, None]
    assert "spacing (mm)    unknown × unknown × unknown (columns × rows × slices)" in format_info(info)


def test_a_series_reports_its_real_spacing(datasets):
    info = describe(datasets / "medical/head_ct_ge")
    assert info["spacing"][1:] == [0.488281, 0.488281] and info["spacing"][0] > 1


def test_stored_values_are_the_files_values_and_the_types_range_is_named_as_such(datasets):
    info = describe(datasets / "medical/693_UNCI.dcm")
    # The CT stores raw values that the rescale intercept maps to HU: stored values are the raw ones.
    lo, hi = info["value_range"]
    slope, intercept = 1.0, -1024.0
    assert info["stored_values"] == [round((lo - intercept) / slope), round((hi - intercept) / slope)]
    text = format_info(info)
    assert "stored range" not in text and "type holds" in text and "stored values" in text
    assert info["rescale"] == "× 1 − 1024 (one stored step is 1)"


def test_a_scaled_uint8_nifti_says_its_scaling_and_how_coarse_a_stored_step_is(datasets):
    """shear.nii.gz stores a CT as uint8 scaled by 7.11: info read 'stored as uint8' beside -1024..789."""
    import nibabel as nib

    proxy = nib.load(datasets / "medical/shear.nii.gz").dataobj
    info = describe(datasets / "medical/shear.nii.gz")
    assert info["dtype"] == "uint8" and info["stored_values"] == [0, 255]
    assert info["rescale"] == f"× {proxy.slope:.6g} − 1024 (one stored step is {proxy.slope:.3g})"
    assert "rescale         × 7.1098 − 1024" in format_info(info)
    assert "rescale" not in describe(datasets / "medical/FLAIR.nii.gz")  # stored as it is shown


def test_a_niftis_size_and_spacing_read_in_its_own_axis_order_with_its_transforms(datasets):
    """A walk-through's researcher read `54 × 422 × 306` for a file nibabel calls (306, 422, 54), and
    nothing of the sform and qform, which differ on this sheared CT."""
    import nibabel as nib

    image = nib.load(datasets / "medical/shear.nii.gz")
    text = format_info(describe(datasets / "medical/shear.nii.gz"))
    i, j, k = image.shape
    di, dj, dk = (f"{z:.6g}" for z in np.linalg.norm(image.affine[:3, :3], axis=0))
    assert f"shape           {i} × {j} × {k} (columns × rows × slices)" in text
    assert f"spacing (mm)    {di} × {dj} × {dk} (columns × rows × slices)" in text
    assert "transforms      sform (aligned) and qform (aligned) differ" in text
    flair = format_info(describe(datasets / "medical/FLAIR.nii.gz"))
    assert (
        "orientation     RAS\n  oblique         19.0° from the nearest axes" in flair
    )  # rotated in its file
    assert "sform (aligned) and qform (aligned), the same" in flair
    assert describe(datasets / "medical/FLAIR.nii.gz")["shape"] == [140, 160, 124, 1]  # JSON: slices first


def test_a_series_says_its_padding_value_which_filters_keep(datasets):
    assert "padding value   -1500" in format_info(describe(datasets / "medical/head_ct_ge"))
    assert "padding value" not in format_info(describe(datasets / "medical/FLAIR.nii.gz"))


def test_an_ultrasound_cine_loops_frames_are_frames_in_time_not_slices(datasets):
    """A review: lacuna info (and the app's frame bar) called a US cine's two frames "slices"."""
    from core.info import describe, format_info
    from core.io import read
    from core.io.geometry import frames_over_time

    path = datasets / "medical" / "OBXXXX1A_2frame.dcm"
    text = format_info(describe(path))
    assert "800 × 600 × 2 (columns × rows × frames), 3 channels" in text
    assert "frames          2" in text and "slices" not in text and "gaps" not in text
    assert frames_over_time(read(path))
    assert not frames_over_time(read(datasets / "medical" / "head_ct_ge"))  # a CT's are slices
    assert not frames_over_time(read(datasets / "medical" / "emri_small.dcm"))

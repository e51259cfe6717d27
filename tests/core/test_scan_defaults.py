"""Safe by default on scans: no photo-trained network is a scan's default, a named one warns in the
record, and intensity parameters (σ) are typed and recorded in the scan's units."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import MethodError
from core.io import read, write
from core.io.dicom.derive import provenance_of
from core.methods import choose_method, methods
from core.methods.modality import DICOM_MODALITIES, modality_of, suits
from core.repair import run_repair
from core.runtime.context import RunContext
from core.tasks import TASKS


@pytest.fixture(scope="module")
def ct(datasets):
    """The shared CT slice (HU), cropped to keep the tests quick."""
    doc = read(datasets / "medical/693_UNCI.dcm")
    return doc.with_pixels(doc.pixels[:, 180:300, 160:300])


def image_tasks() -> list[str]:
    return sorted({c.task for c in methods() if c.operates_on in ("image", "volume") and c.task in TASKS})


@pytest.mark.parametrize("modality", sorted(set(DICOM_MODALITIES.values()) | {"scan"}))
def test_no_photo_trained_network_is_the_default_on_any_scan_modality(modality):
    for task in image_tasks():
        card = choose_method(task, modality=modality)[0].card
        assert suits(card, modality), (task, modality, card.id)
        assert card.kind != "learned" or modality in card.modalities, (task, modality, card.id)


def test_photos_keep_their_learned_defaults():
    for task in ("denoise", "inpaint", "dejpeg", "upscale"):
        assert choose_method(task, modality="photo")[0].card.kind == "learned", task


def test_the_shared_ct_is_repaired_with_scan_defaults(ct):
    assert modality_of(ct) == "ct"
    mask = np.zeros(ct.pixels.shape[1:3], bool)
    mask[10:20, 15:30] = True  # where the slice has structure: a fill of a uniform patch changes nothing
    out = run_repair(ct, "inpaint", mask=mask)
    assert out.provenance[-1].method == "inpaint-biharmonic"
    assert not out.provenance[-1].warnings


def test_a_photo_network_named_on_a_ct_warns_in_the_notes_and_the_record(ct, tmp_path):
    mask = np.zeros(ct.pixels.shape[1:3], bool)
    mask[50:60, 60:75] = True
    ctx = RunContext(device="cpu")
    out = run_repair(ct, "inpaint", method="inpaint-learned", mask=mask, ctx=ctx)
    warning = out.provenance[-1].warnings[0]
    assert "photographs" in warning and "CT" in warning and warning in ctx.notes
    saved = write(out, tmp_path / "filled.dcm")
    recorded = provenance_of(saved)["steps"][-1]
    assert recorded["method"] == "inpaint-learned" and recorded["warnings"] == [warning]


def test_an_estimated_sigma_is_recorded_in_hu_not_as_zero(ct, tmp_path):
    out = run_repair(ct, "denoise", method="denoise-bilateral")
    params = out.provenance[-1].params
    assert params["sigma"] > 0 and params["sigma_estimated"] is True and params["sigma_units"] == "HU"
    saved = write(out, tmp_path / "denoised.dcm")
    assert provenance_of(saved)["steps"][-1]["params"]["sigma"] == params["sigma"]


def test_a_typed_sigma_is_in_hu_on_a_ct(ct, monkeypatch):
    import core.methods.denoise as denoise

    seen = []
    real = denoise.sigma_or_estimate
    monkeypatch.setattr(denoise, "sigma_or_estimate", lambda c, s, ctx: seen.append(s) or real(c, s, ctx))
    out = run_repair(ct, "denoise", method="denoise-nlmeans", sigma=20)
    lo, hi = ct.value_range
    assert seen and seen[0] == pytest.approx(20 / (hi - lo) * 255)  # the method's own 0-255 scale
    params = out.provenance[-1].params
    assert params["sigma"] == pytest.approx(20) and "sigma_estimated" not in params
    with pytest.raises(MethodError, match=r"'sigma' must be from 0 to [\d.]+ HU on this scan"):
        run_repair(ct, "denoise", method="denoise-nlmeans", sigma=1e6)


def test_ct_in_hu_is_recognised_by_the_file_or_by_air_when_the_file_does_not_say(ct):
    """One rule (core.methods.modality.is_ct) for σ units, bench noise and display windows."""
    from core.methods.modality import is_ct
    from core.repair.units import unit_name

    assert is_ct(ct) and unit_name(ct) == "HU"
    with_air = ct.pixels.copy()
    with_air[:, :4] = -1000.0  # air outside the head, as in a whole slice
    unnamed = ct.with_pixels(with_air)
    unnamed.modality = ""  # a NIfTI does not say; its values reach air
    assert is_ct(unnamed) and unit_name(unnamed) == "HU"
    mr_like = ct.with_pixels(with_air)
    mr_like.modality = "MR"  # the file's word wins over the values
    assert not is_ct(mr_like) and unit_name(mr_like) == "stored units"
    unnamed_positive = unnamed.with_pixels(with_air + 1000.0)
    assert not is_ct(unnamed_positive)


def test_a_nifti_ct_gets_the_ct_defaults(datasets):
    """shear.nii.gz does not name its modality but reaches air: its defaults are a CT's (the scan
    denoiser, not non-local means), while the FLAIR, which cannot be told from its values, stays 'scan'."""
    shear = read(datasets / "medical/shear.nii.gz")
    assert modality_of(shear) == "ct"
    assert choose_method("denoise", modality=modality_of(shear))[0].card.id == "denoise-scan"
    assert modality_of(read(datasets / "medical/FLAIR.nii.gz")) == "scan"
    # Walk-through 53: non-local means ran on the FLAIR with no word why, and the scan denoiser, named,
    # was "not validated on this scan" though its card scores it on this very file: both say why now.
    chosen, why = choose_method("denoise", modality="scan")
    assert chosen.card.id == "denoise-nlmeans"
    assert why.startswith("denoise-nlmeans, not denoise-scan: the file does not say which kind of scan")
    assert "--method denoise-scan" in why
    from core.methods import get_method
    from core.methods.modality import warning

    said = warning(get_method("denoise-scan").card, "scan")
    assert "does not say which kind of scan it is" in said and "not validated" not in said
    assert choose_method("denoise", modality=modality_of(shear))[1] == ""  # a CT: nothing to explain

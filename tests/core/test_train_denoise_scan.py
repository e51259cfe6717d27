"""`lacuna train denoise-scan`: pairs made from real scan slices with the bench's noise (core.scan_noise),
normalised as the engine hands a slice to the method, never from the bench's held-back slices."""

from __future__ import annotations

import numpy as np
import pytest

from core.bench.denoise_volume import DEFAULT_SLICES
from core.bench.scan_slices import body_masks, held_back
from core.io import read
from core.methods.noise_level import estimate_sigma_255
from core.scan_noise import low_dose_noise, pixel_mm
from core.train.scan_bank import ScanBank, resolve, stack, training_slices

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ct_bank():
    """The pydicom CT slice (128×128, HU) at two doses."""
    return ScanBank.build(["pydicom:CT_small.dcm"], [2e5, 1e6], [0.04], views=180, log=lambda _: None)


def test_ct_pairs_carry_the_benchs_low_dose_noise(ct_bank):
    (s,) = ct_bank.slices
    doc = read(resolve("pydicom:CT_small.dcm"))
    clean = doc.pixels[0, ..., 0]
    assert s.ct and np.array_equal(s.clean, clean)
    body = body_masks(doc.pixels)[0]
    bank_std = [float((noisy - clean)[body].std()) for noisy in s.noisy]
    bench_std = [float(low_dose_noise(clean, pixel_mm(doc), d, 180, seed=99)[body].std()) for d in (2e5, 1e6)]
    # The same rule with other photons: the same spread (Poisson: σ ∝ 1/√dose, so 5× the dose, ÷2.2).
    assert bank_std == pytest.approx(bench_std, rel=0.1)
    assert bank_std[0] / bank_std[1] == pytest.approx(np.sqrt(5), rel=0.15)


def test_the_network_sees_the_slice_as_the_engine_normalises_it(ct_bank):
    (s,) = ct_bank.slices
    noisy, target, sigma = stack(s, 0).numpy()
    lo, hi = s.ranges[0]
    doc = read(resolve("pydicom:CT_small.dcm"))
    # The volume's value range, widened to hold the noisy slice (as the noisy volume's range on the bench).
    assert lo == min(doc.value_range[0], s.noisy[0].min()) and hi == max(doc.value_range[1], s.noisy[0].max())
    assert np.allclose(noisy * (hi - lo) + lo, s.noisy[0], atol=1e-2)
    assert np.allclose(target * (hi - lo) + lo, s.clean, atol=1e-2)
    # The σ map: what the denoisers estimate on that normalised slice when no σ is given.
    assert np.allclose(sigma, estimate_sigma_255(noisy[..., None]) / 255.0, rtol=1e-4)


def test_mr_pairs_carry_rician_noise_of_the_given_fraction(datasets):
    bank = ScanBank.build([str(datasets / "medical/emri_small.dcm")], [5e5], [0.05], 180, log=lambda _: None)
    s = bank.slices[0]
    assert not s.ct
    doc = read(datasets / "medical/emri_small.dcm")
    bodies = body_masks(doc.pixels)
    sigma = 0.05 * np.percentile(doc.pixels[..., 0][bodies], 99)
    bright = s.clean > 10 * sigma  # Rician is nearly Gaussian of σ where the signal is strong
    assert (s.noisy[0] - s.clean)[bright].std() == pytest.approx(sigma, rel=0.15)


def test_the_benchs_held_back_slices_and_their_neighbours_are_never_trained_on(datasets):
    doc = read(datasets / "medical/FLAIR.nii.gz")
    bodies = body_masks(doc.pixels)
    picked = set(training_slices(bodies))
    for k in held_back(bodies, DEFAULT_SLICES):
        assert not picked & {k - 1, k, k + 1}
    assert len(picked) > 60  # the rest of the body is used


def test_a_short_run_fine_tunes_the_fast_denoiser_and_caches_its_bank(tmp_path, capsys):
    from core.archs import load_weights
    from core.train.cli import main as train_main

    out = tmp_path / "scan.safetensors"
    argv = ["denoise-scan", "--data", "pydicom:CT_small.dcm", "pydicom:MR_small.dcm", "--out", str(out)]
    argv += ["--channels", "1", "--width", "8", "--layers", "3", "--doses", "5e5", "--mr-fractions", "0.04"]
    argv += ["--views", "90", "--batch", "2", "--crop", "32", "--device", "cpu", "--steps", "2"]
    assert train_main(argv) == 0
    assert out.with_suffix(".bank.npz").is_file()
    model, info = load_weights(out)
    assert info["arch"] == "fast_denoiser" and info["training"]["modalities"] == ["ct", "mr"]
    assert train_main([*argv, "--steps", "3"]) == 0
    assert "from " + str(out.with_suffix(".bank.npz")) in capsys.readouterr().err  # made once, reused

"""`lacuna bench denoise --set VOLUME`: realistic scan noise (low-dose CT from the projections, Rician
MR) on held-back slices of the shared volumes, scored over the body in the volume's units."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.bench import denoise as bench
from core.scan_noise import WATER_PER_MM, low_dose_noise, rician


def water_disk(size: int = 256, diameter_mm: float = 200.0, pixel_mm: float = 1.0):
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    radius2 = xx**2 + yy**2
    return np.where(radius2 <= (diameter_mm / 2 / pixel_mm) ** 2, 0.0, -1000.0), radius2


@pytest.mark.parametrize("dose, views", [(1e4, 360), (4e4, 180)])
def test_low_dose_noise_of_a_water_phantom_has_the_std_fbp_predicts(dose, views):
    """At the centre of a 20 cm water disk every ray crosses 200 mm of water, so each projection's
    variance is e^(μD)/dose; FBP with the ramp filter (gain 2|f|, iradon's π/2N scale, linear
    interpolation between bins whose noise correlates by -6/π²) turns it into
    var = π² e^(μD) / (12 N dose) × (2/3 - 2/π²) in μ·pixel units."""
    pixel = 1.0
    phantom, radius2 = water_disk(pixel_mm=pixel)
    noise = low_dose_noise(phantom, pixel, dose, views, seed=0)
    centre = radius2 <= 15**2
    variance = np.pi**2 * np.exp(WATER_PER_MM * 200.0) / (12 * views * dose) * (2 / 3 - 2 / np.pi**2)
    expected_hu = 1000.0 / (WATER_PER_MM * pixel) * np.sqrt(variance)
    assert abs(noise[centre].mean()) < 0.2 * expected_hu  # unbiased
    assert noise[centre].std() == pytest.approx(expected_hu, rel=0.1)
    assert np.abs(noise[radius2 > 130**2]).mean() < noise[centre].std()  # outside the body: little


def test_rician_noise_keeps_magnitudes_positive_and_biases_the_dark_up():
    plane = np.zeros((200, 200), np.float32)
    plane[:, 100:] = 100.0
    noisy = rician(plane, 10.0, seed=1)
    assert (noisy >= 0).all()
    # Rayleigh in the background: mean σ·sqrt(π/2); nearly Gaussian of σ on a bright signal.
    assert noisy[:, :100].mean() == pytest.approx(10.0 * np.sqrt(np.pi / 2), rel=0.05)
    assert noisy[:, 100:].std() == pytest.approx(10.0, rel=0.05)


def test_bench_on_an_mr_volume_scores_the_body_of_held_back_slices(datasets, capsys):
    argv = ["--set", str(datasets / "medical/FLAIR.nii.gz"), "--limit", "2", "--json"]
    assert bench.main([*argv, "--method", "denoise-bilateral", "--sigma", "8"]) == 0
    report = json.loads(capsys.readouterr().out)
    summary = report["summary"]
    assert summary["noise"] == "Rician (MR)" and summary["sigma"] == 8.0 and len(summary["slices"]) == 2
    noisy, denoised = summary["noisy input"], summary["denoise-bilateral"]
    assert 4.0 < noisy["RMSE (stored units)"] < 12.0  # about σ, over the body only
    assert denoised["RMSE (stored units)"] < noisy["RMSE (stored units)"]
    assert [row["slice"] for row in report["images"]] == summary["slices"]


def test_a_photo_set_still_needs_sigma(datasets):
    with pytest.raises(Exception, match="--sigma is needed"):
        bench.main(["--set", str(datasets / "images/bench/Set12"), "--limit", "1"])

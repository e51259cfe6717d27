"""The noise scanners make, simulated on clean slices: low-dose CT (projection domain) and Rician MR.

One rule for both users: `lacuna bench denoise --set VOLUME` adds it to held-back slices, and
`lacuna train denoise-scan` adds it to training slices, so the network learns exactly the noise it
is measured on.

- CT: the slice in HU becomes linear attenuation (water 0.0192/mm, at about 70 keV) times the pixel
  size; its parallel-beam projections (skimage.transform.radon, `views` angles over 180°) give each
  ray's transmission; the detected photons are Poisson with mean `dose` (photons per ray before the
  patient) times that transmission; their log is the noisy projection, and the difference to the
  clean one, filtered and back-projected (iradon, ramp filter), is the noise in HU. It is streaky,
  correlated and strongest behind dense bone, as in a real low-dose scan; its standard deviation
  follows FBP's variance formula (tests check it on a water phantom).
- MR: the magnitude of the image plus complex Gaussian noise of σ per channel (Rician).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WATER_PER_MM = 0.0192  # linear attenuation of water at about 70 keV
MR_SIGMA_FRACTION = 0.04  # the bench's default Rician σ: this fraction of the body's 99th percentile


def low_dose_noises(
    hu: np.ndarray, pixel_mm: float, doses: Sequence[float], views: int, seed: int
) -> list[np.ndarray]:
    """The noise (HU, the shape of the slice `hu`) of one scan per dose in `doses` (photons per ray),
    `views` projection angles; the scan at `doses[i]` draws its photons with seed `seed + i`. The clean
    projections are computed once for all doses (half the cost of each)."""
    from skimage.transform import iradon, radon

    attenuation = np.clip(1.0 + hu.astype(np.float64) / 1000.0, 0.0, None) * WATER_PER_MM * pixel_mm
    angles = np.linspace(0.0, 180.0, views, endpoint=False)
    clean = radon(attenuation, angles, circle=False)
    size = max(hu.shape)
    top, left = (size - hu.shape[0]) // 2, (size - hu.shape[1]) // 2
    noises = []
    for i, dose in enumerate(doses):
        counts = np.random.default_rng(seed + i).poisson(dose * np.exp(-clean))
        # No photon through: as if one came (the scanner's floor).
        noisy = -np.log(np.maximum(counts, 1) / dose)
        noise = iradon(noisy - clean, angles, output_size=size, circle=False, filter_name="ramp")
        noise = noise[top : top + hu.shape[0], left : left + hu.shape[1]]
        noises.append((noise / (WATER_PER_MM * pixel_mm) * 1000.0).astype(np.float32))
    return noises


def low_dose_noise(hu: np.ndarray, pixel_mm: float, dose: float, views: int, seed: int) -> np.ndarray:
    """The noise (HU) of one scan of the slice `hu` with `dose` photons per ray (see `low_dose_noises`)."""
    return low_dose_noises(hu, pixel_mm, [dose], views, seed)[0]


def rician(plane: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The magnitude of `plane` plus complex Gaussian noise of `sigma` per channel (MR magnitude images)."""
    rng = np.random.default_rng(seed)
    real = plane.astype(np.float64) + rng.normal(0.0, sigma, plane.shape)
    imaginary = rng.normal(0.0, sigma, plane.shape)
    return np.hypot(real, imaginary).astype(np.float32)


def pixel_mm(document) -> float:
    """The in-plane pixel size (mm) the CT simulation uses: the smaller of the row and column spacing."""
    return float(min(getattr(document, "spacing", (1.0, 1.0, 1.0))[1:]))

"""In-memory documents: float32 data plus the metadata needed to write it back faithfully.

Image-like documents hold `pixels` shaped (frames, height, width, channels) in the file's own value
scale (0..255 for 8-bit, 0..65535 for 16-bit, Hounsfield units for CT after the modality LUT).
`AudioDoc` holds `samples` shaped (frames, channels) in [-1, 1].
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Provenance:
    """What was done to produce a derived document."""

    method: str
    task: str
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    version: str = ""
    date: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "task": self.task,
            "params": self.params,
            "source": self.source,
            "software": f"Lacuna {self.version}",
            "date": self.date,
        }


@dataclass
class ImageDoc:
    """A photo or a stack of pages. `pixels`: float32 (frames, H, W, C), C in {1, 3, 4}."""

    pixels: np.ndarray
    path: Path | None = None
    format: str = "PNG"  # the Pillow/tifffile format name it came from
    dtype: str = "uint8"  # the stored sample type to write back ("uint8", "uint16", "float32")
    mode: str = "RGB"  # "L", "RGB", "RGBA" (per-frame channel layout)
    metadata: dict[str, Any] = field(default_factory=dict)  # exif, icc_profile, dpi, ...
    provenance: list[Provenance] = field(default_factory=list)

    kind = "image"

    @property
    def value_range(self) -> tuple[float, float]:
        """The nominal range of the stored type, used to normalise for networks."""
        if self.dtype == "uint16":
            return 0.0, 65535.0
        if self.dtype == "uint8":
            return 0.0, 255.0
        return float(np.nanmin(self.pixels)), float(np.nanmax(self.pixels))

    def with_pixels(self, pixels: np.ndarray) -> ImageDoc:
        clone = copy.copy(self)
        clone.pixels = pixels.astype(np.float32, copy=False)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        return clone


@dataclass
class VolumeDoc:
    """A medical image: one slice, a multi-frame object or a sorted series.

    `pixels`: float32 (frames, H, W, C) in physical units (HU for CT after the modality LUT).
    `spacing`: (slice, row, column) in millimetres where known.
    `window`: (centre, width) from the file, for display.
    `datasets`: the pydicom datasets (without pixel data) the frames came from, for writing back;
    `affine`: the NIfTI affine (4x4) where the source is NIfTI.
    """

    pixels: np.ndarray
    path: Path | None = None
    format: str = "DICOM"  # "DICOM" or "NIfTI"
    modality: str = ""  # "CT", "MR", "US", ...
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    window: tuple[float, float] | None = None
    photometric: str = "MONOCHROME2"
    stored_range: tuple[float, float] | None = None  # physical range representable by the stored type
    affine: np.ndarray | None = None
    positions: list[float] = field(default_factory=list)  # slice positions along the normal (mm)
    gaps: list[int] = field(default_factory=list)  # indices after which a slice is missing
    metadata: dict[str, Any] = field(default_factory=dict)
    datasets: list[Any] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)

    kind = "volume"

    @property
    def value_range(self) -> tuple[float, float]:
        """The range methods normalise by: the data's own min..max, within `stored_range`.

        Not the stored type's full range: a 16-bit CT can hold -32768..32767 HU but uses a few
        thousand of them, and an MR stored in 12 bits often uses a tenth of 0..4095; normalising by
        the type would hand networks an almost uniform grey image.
        """
        lo, hi = float(np.nanmin(self.pixels)), float(np.nanmax(self.pixels))
        if self.stored_range is not None:
            lo, hi = max(lo, self.stored_range[0]), min(hi, self.stored_range[1])
        if not hi > lo:
            return self.stored_range if self.stored_range is not None else (lo, lo + 1.0)
        return lo, hi

    def with_pixels(self, pixels: np.ndarray) -> VolumeDoc:
        clone = copy.copy(self)
        clone.pixels = pixels.astype(np.float32, copy=False)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        return clone


@dataclass
class AudioDoc:
    """A recording. `samples`: float32 (frames, channels) in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None
    format: str = "WAV"  # soundfile major format name
    subtype: str = "PCM_16"  # soundfile subtype name
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: list[Provenance] = field(default_factory=list)

    kind = "audio"

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / float(self.sample_rate)

    def with_samples(self, samples: np.ndarray) -> AudioDoc:
        clone = copy.copy(self)
        clone.samples = samples.astype(np.float32, copy=False)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        return clone


Document = ImageDoc | VolumeDoc | AudioDoc

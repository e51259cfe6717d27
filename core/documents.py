"""In-memory documents: float32 data plus the metadata needed to write it back faithfully.

Image-like documents are frame stacks (`FrameStack`): `pixels` shaped (frames, height, width,
channels) in the file's own value scale (0..255 for 8-bit, 0..65535 for 16-bit, Hounsfield units for
CT after the modality LUT), plus format-owned `writeback` data.
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
    warnings: list[str] = field(default_factory=list)  # what a person must know about the result
    uncertainty: dict[str, Any] = field(default_factory=dict)  # a fill's spread (core.repair.uncertainty)
    # What ran a learned network (backend, precision, threads): bfloat16 and int8 give slightly other pixels.
    engine: str = ""
    # A recording's [start, end) seconds this step changed (core.repair.audio measures them), and what
    # the step was limited to ("loss trace calls.txt: 89 of 470 packets of 20 ms", "mask m.png",
    # "frames 0-9 (counted from 0)"): a reader can tell what is reconstructed.
    changed_seconds: list[list[float]] = field(default_factory=list)
    selection: str = ""
    # A video's frames this step rebuilt or may have changed, by why ("frames 40-41 (inserted), 12
    # (duplicate) of the result, counted from 0").
    changed_frames: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "task": self.task,
            "params": self.params,
            "source": self.source,
            "software": f"Lacuna {self.version}",
            "date": self.date,
            **({"warnings": list(self.warnings)} if self.warnings else {}),
            **({"uncertainty": dict(self.uncertainty)} if self.uncertainty else {}),
            **({"engine": self.engine} if self.engine else {}),
            **({"selection": self.selection} if self.selection else {}),
            **({"changed_seconds": [list(s) for s in self.changed_seconds]} if self.changed_seconds else {}),
            **({"changed_frames": self.changed_frames} if self.changed_frames else {}),
        }


@dataclass
class FrameStack:
    """The base of documents made of frames (images, pages, slices; video next).

    `pixels`: float32 (frames, H, W, C) in the document's own units. `writeback`: what the format that
    read the file needs to write it back (DICOM headers, a NIfTI header and affine); it belongs to that
    format and nobody else looks inside.
    """

    pixels: np.ndarray
    path: Path | None = None
    format: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: list[Provenance] = field(default_factory=list)
    writeback: Any = None
    # (frames, H, W) bool: the pixels repairs have changed since the file was read (None: none yet).
    # Formats that can mark them for any viewer do (a DICOM overlay plane).
    changed: np.ndarray | None = None
    # (frames, H, W) float32: how unsure the last fill is, per pixel, in document units (scans).
    uncertainty: np.ndarray | None = None

    kind = "frames"

    @property
    def frames(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def value_range(self) -> tuple[float, float]:
        """The range methods normalise by (the data's own, unless a kind of document knows better)."""
        lo, hi = float(np.nanmin(self.pixels)), float(np.nanmax(self.pixels))
        return (lo, hi) if hi > lo else (lo, lo + 1.0)

    def stacks(self) -> list[slice]:
        """The runs of frames a method for whole stacks treats as one stack (all of them here)."""
        return [slice(0, self.frames)]

    def with_pixels(self, pixels: np.ndarray):
        """A copy holding `pixels` (same metadata and history, which the copy may extend)."""
        clone = copy.copy(self)
        clone.pixels = pixels.astype(np.float32, copy=False)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        return clone


@dataclass
class ImageDoc(FrameStack):
    """A photo or a stack of pages. `pixels`: float32 (frames, H, W, C), C in {1, 3, 4}."""

    format: str = "PNG"  # the Pillow/tifffile format name it came from
    dtype: str = "uint8"  # the stored sample type to write back ("uint8", "uint16", "float32")
    mode: str = "RGB"  # "L", "RGB", "RGBA" (per-frame channel layout)

    kind = "image"

    @property
    def value_range(self) -> tuple[float, float]:
        """The nominal range of the stored type, used to normalise for networks."""
        if self.dtype == "uint16":
            return 0.0, 65535.0
        if self.dtype == "uint8":
            return 0.0, 255.0
        return float(np.nanmin(self.pixels)), float(np.nanmax(self.pixels))


@dataclass
class VolumeDoc(FrameStack):
    """A medical image: one slice, a multi-frame object, a sorted series, or a 4-D series.

    `pixels`: float32 (frames, H, W, C) in physical units (HU for CT after the modality LUT). A 4-D
    series holds `time_points` volumes of `slices` slices each, time-major: frame t * slices + k.
    `spacing`: (slice, row, column) in millimetres where known. `window`: (centre, width) from the
    file, for display.
    """

    format: str = "DICOM"  # "DICOM" or "NIfTI"
    modality: str = ""  # "CT", "MR", "US", ...
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    window: tuple[float, float] | None = None
    photometric: str = "MONOCHROME2"
    stored_range: tuple[float, float] | None = None  # physical range representable by the stored type
    positions: list[float] = field(default_factory=list)  # slice positions along the normal (mm)
    gaps: list[int] = field(default_factory=list)  # indices after which a slice is missing
    time_points: int = 1

    kind = "volume"

    @property
    def slices(self) -> int:
        return self.frames // max(self.time_points, 1)

    def volume(self, time_point: int) -> slice:
        """The frames of one time point."""
        return slice(time_point * self.slices, (time_point + 1) * self.slices)

    def stacks(self) -> list[slice]:
        """Each time point is a stack of its own: nothing is filled across time."""
        return [self.volume(t) for t in range(self.time_points)]

    @property
    def datasets(self) -> list[Any]:
        """Deprecated (remove once the desktop uses `core.io.formats.header_for(doc, frame)`): the
        DICOM headers, now the DICOM format's write-back data."""
        return list(getattr(self.writeback, "datasets", None) or [])

    @property
    def value_range(self) -> tuple[float, float]:
        """The range methods normalise by: the data's own min..max, within `stored_range`.

        Not the stored type's full range: a 16-bit CT can hold -32768..32767 HU but uses a few
        thousand of them, and an MR stored in 12 bits often uses a tenth of 0..4095; normalising by
        the type would hand networks an almost uniform grey image. Slices cut from a volume
        (`lacuna detect --frames`) keep the whole volume's range, so a slice scores as it does in it.
        """
        whole = self.metadata.get("volume_range")
        if whole is not None:
            return float(whole[0]), float(whole[1])
        lo, hi = float(np.nanmin(self.pixels)), float(np.nanmax(self.pixels))
        if self.stored_range is not None:
            lo, hi = max(lo, self.stored_range[0]), min(hi, self.stored_range[1])
        if not hi > lo:
            return self.stored_range if self.stored_range is not None else (lo, lo + 1.0)
        return lo, hi


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


Document = ImageDoc | VolumeDoc | AudioDoc  # FrameStack subclasses and AudioDoc

"""Training pairs for the scan denoiser: slices of CT and MR files with the noise the bench simulates.

Radon/iradon costs seconds a slice, far too slow per sample, so the noisy realisations are made once
(`ScanBank.build`) and cached on disk; training then takes random crops of them.

Which slices: every slice of each file whose body (core.bench.scan_slices) covers at least a tenth of
its largest slice's, except the slices `lacuna bench denoise --set` holds back from that file (its
default four) and their immediate neighbours: a file benched later is never trained on where it is
scored. Slices smaller than 64 pixels a side are left out.

Each slice gets one realisation per level: CT low-dose noise at `doses` photons per ray, MR Rician
noise of σ = each of `mr_fractions` times the body's 99th percentile (core.scan_noise, the bench's
rule). The network sees what the engine will hand it: the noisy slice normalised to [0, 1] by the
volume's value range (widened to hold the noisy slice, as the noisy volume's range is on the bench),
and a σ map of the noise level estimated on that normalised slice (core.methods.noise_level), which is
what the denoisers do when no σ is given.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.errors import ReadError

MIN_SIDE = 64
BODY_SHARE = 0.1


def resolve(spec: str) -> Path:
    """A file or folder, or `pydicom:NAME` for a test file that ships inside pydicom (CT_small.dcm)."""
    if spec.startswith("pydicom:"):
        from pydicom.data import get_testdata_file

        found = get_testdata_file(spec.removeprefix("pydicom:"))
        if not found:
            raise ReadError(f"pydicom has no test file {spec!r}")
        return Path(found)
    return Path(spec)


def training_slices(bodies: np.ndarray) -> list[int]:
    """The slices of a volume that may be trained on (see the module docstring)."""
    from core.bench.denoise_volume import DEFAULT_SLICES
    from core.bench.scan_slices import held_back

    area = bodies.reshape(bodies.shape[0], -1).sum(axis=1)
    banned: set[int] = set()
    if bodies.shape[0] >= 3:
        for k in held_back(bodies, DEFAULT_SLICES):
            banned |= {k - 1, k, k + 1}
    return [k for k in range(bodies.shape[0]) if k not in banned and area[k] >= BODY_SHARE * area.max()]


@dataclass
class Slice:
    """One clean slice (document units) and its noisy realisations, with what normalises each."""

    source: str
    index: int
    ct: bool
    clean: np.ndarray  # (H, W) float32
    noisy: np.ndarray  # (levels, H, W) float32
    ranges: np.ndarray  # (levels, 2): lo, hi the engine would normalise each realisation by
    sigmas: np.ndarray  # (levels,): the σ estimated on each normalised realisation (0-255 scale)
    box: tuple[int, int, int, int]  # the body's bounding box: top, bottom, left, right


@dataclass
class ScanBank:
    slices: list[Slice] = field(default_factory=list)
    ct_share: float = 0.7  # of each batch, when both kinds are present

    # --- building ----------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        specs: list[str],
        doses: list[float],
        mr_fractions: list[float],
        views: int,
        cache: Path | None = None,
        log=print,
    ) -> ScanBank:
        """The bank for these files and noise levels, read from `cache` when it was made with the same
        settings, else made (minutes: a radon transform per CT slice) and written there."""
        key = json.dumps([specs, doses, mr_fractions, views, BODY_SHARE, MIN_SIDE])
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        if cache is not None and cache.is_file():
            bank = cls.load(cache, digest)
            if bank is not None:
                log(f"scan bank: {len(bank.slices)} slices from {cache}")
                return bank
        bank = cls()
        for spec in specs:
            bank.slices += _file_slices(spec, doses, mr_fractions, views, log)
        if not bank.slices:
            raise ReadError(f"no usable slice in {specs}")
        if cache is not None:
            bank.save(cache, digest)
        return bank

    def save(self, path: Path, digest: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"digest": np.array(digest)}
        for n, s in enumerate(self.slices):
            meta = json.dumps({"source": s.source, "index": s.index, "ct": s.ct, "box": list(s.box)})
            arrays |= {
                f"{n}_meta": np.array(meta),
                f"{n}_clean": s.clean,
                f"{n}_noisy": s.noisy,
                f"{n}_ranges": s.ranges,
                f"{n}_sigmas": s.sigmas,
            }
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, digest: str) -> ScanBank | None:
        with np.load(path) as f:
            if str(f["digest"]) != digest:
                return None
            bank = cls()
            n = 0
            while f"{n}_meta" in f:
                meta = json.loads(str(f[f"{n}_meta"]))
                bank.slices.append(
                    Slice(
                        meta["source"],
                        meta["index"],
                        meta["ct"],
                        f[f"{n}_clean"],
                        f[f"{n}_noisy"],
                        f[f"{n}_ranges"],
                        f[f"{n}_sigmas"],
                        tuple(meta["box"]),
                    )
                )
                n += 1
        return bank

    # --- sampling ----------------------------------------------------------------------------------
    def hold_out(self, count: int) -> list[Slice]:
        """Remove `count` slices (every realisation of each) for validation, half CT and half MR when
        the bank has both, spread over each kind's slices."""
        kinds = [[s for s in self.slices if s.ct], [s for s in self.slices if not s.ct]]
        kinds = [k for k in kinds if k]
        held: list[Slice] = []
        for n, kind in enumerate(kinds):
            share = count // len(kinds) + (n < count % len(kinds))
            if 0 < share and 2 * share <= len(kind):
                picks = np.linspace(0, len(kind) - 1, share + 2).round().astype(int)[1:-1]
                held += [kind[i] for i in picks]
        self.slices = [s for s in self.slices if all(s is not h for h in held)]
        return held

    def batch(self, size: int, crop: int, generator: torch.Generator) -> torch.Tensor:
        """(size, 3, crop, crop): the normalised noisy crop, the clean crop (same normalisation) and the
        σ map (σ/255), each crop inside a slice's body box, flipped and rotated at random."""
        groups = [[s for s in self.slices if s.ct], [s for s in self.slices if not s.ct]]
        groups = [g for g in groups if g]
        shares = torch.tensor([self.ct_share, 1.0 - self.ct_share] if len(groups) == 2 else [1.0])
        out = []
        for g in torch.multinomial(shares, size, replacement=True, generator=generator).tolist():
            group = groups[g]
            s = group[int(torch.randint(len(group), (1,), generator=generator))]
            level = int(torch.randint(len(s.noisy), (1,), generator=generator))
            top, left = _corner(s, crop, generator)
            window = (slice(top, top + crop), slice(left, left + crop))
            sample = stack(s, level, window)
            k = int(torch.randint(8, (1,), generator=generator))
            sample = torch.rot90(sample, k % 4, dims=(1, 2))
            out.append(torch.flip(sample, dims=(2,)) if k >= 4 else sample)
        return torch.stack(out)


def stack(s: Slice, level: int, window=(slice(None), slice(None))) -> torch.Tensor:
    """(3, h, w): realisation `level` of slice `s` as the network sees it, the clean target, the σ map."""
    lo, hi = s.ranges[level]
    span = (hi - lo) or 1.0
    noisy = (s.noisy[level][window] - lo) / span
    clean = (s.clean[window] - lo) / span
    sigma = np.full_like(noisy, s.sigmas[level] / 255.0)
    return torch.from_numpy(np.stack([noisy, clean, sigma]).astype(np.float32))


def _corner(s: Slice, crop: int, generator: torch.Generator) -> tuple[int, int]:
    """A crop's top-left corner with its centre inside the body box, the crop inside the slice."""
    h, w = s.clean.shape
    top, bottom, left, right = s.box
    y = int(torch.randint(top, max(bottom, top + 1), (1,), generator=generator)) - crop // 2
    x = int(torch.randint(left, max(right, left + 1), (1,), generator=generator)) - crop // 2
    return min(max(y, 0), h - crop), min(max(x, 0), w - crop)


def _file_slices(spec: str, doses, mr_fractions, views: int, log) -> list[Slice]:
    from core.bench.scan_slices import body_masks
    from core.io import read
    from core.methods.modality import is_ct
    from core.methods.noise_level import estimate_sigma_255
    from core.scan_noise import low_dose_noises, pixel_mm, rician

    document = read(resolve(spec))
    pixels = document.pixels[..., 0]
    bodies = body_masks(document.pixels)
    ct = is_ct(document)
    lo, hi = document.value_range
    stored = document.stored_range or (-np.inf, np.inf)
    body_p99 = float(np.percentile(pixels[bodies], 99))
    picked = [k for k in training_slices(bodies) if min(pixels.shape[1:]) >= MIN_SIDE]
    log(f"scan bank: {spec}: {'CT' if ct else 'MR'}, {len(picked)} of {len(pixels)} slices")
    slices = []
    for k in picked:
        seed = int(hashlib.sha256(f"{spec}:{k}".encode()).hexdigest()[:8], 16)
        clean = pixels[k].astype(np.float32)
        if ct:
            noises = low_dose_noises(clean, pixel_mm(document), doses, views, seed)
            noisy = np.stack([clean + n for n in noises])
        else:
            noisy = np.stack([rician(clean, f * body_p99, seed + i) for i, f in enumerate(mr_fractions)])
        ranges = np.array(
            [[max(min(lo, n.min()), stored[0]), min(max(hi, n.max()), stored[1])] for n in noisy], np.float32
        )
        normalised = [(n - r[0]) / ((r[1] - r[0]) or 1.0) for n, r in zip(noisy, ranges)]
        sigmas = np.array([estimate_sigma_255(n[..., None]) for n in normalised], np.float32)
        rows, cols = np.nonzero(bodies[k])
        box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
        slices.append(Slice(spec, k, ct, clean, noisy.astype(np.float32), ranges, sigmas, box))
    return slices

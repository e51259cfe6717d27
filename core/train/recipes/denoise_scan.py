"""Training recipe for `lacuna train denoise-scan`: a plain fast denoiser (core/archs/fast_denoiser.py)
fine-tuned on CT and MR slices with the noise their scanners make (low-dose CT in the projection
domain, Rician MR: core.scan_noise, the rule `lacuna bench denoise --set` measures with).

--data names scan files (NIfTI, DICOM files or series folders; `pydicom:CT_small.dcm` for a test file
that ships inside pydicom). The pairs come from core.train.scan_bank: made once, cached beside --out
(`--bank` to put it elsewhere), then random crops. A few slices of the bank are held out to validate
on (validation PSNR on the [0, 1] scale at the middle noise level of each kind). Never give it a
volume a claim rests on: the bench's held-back slices of each file are left out, but only those.

    git show 0759eba:resources/weights/denoise-fast-gray.safetensors > plain-fast-gray.safetensors
    OMP_NUM_THREADS=1 lacuna train denoise-scan --channels 1 --width 64 --layers 12 \
        --init plain-fast-gray.safetensors \
        --data ../shared/datasets/medical/shear.nii.gz ../shared/datasets/medical/FLAIR.nii.gz ... \
        --out runs/denoise-scan/denoise-scan.safetensors --device cpu --precision bfloat16
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from core.train.recipes.denoise_fast import FastDenoiseRecipe
from core.train.scan_bank import ScanBank


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.replace(" ", "").split(",") if v]


class ScanDenoiseRecipe(FastDenoiseRecipe):
    task = "denoise-scan"
    default_steps = 10000
    default_batch = 32
    default_crop = 64
    default_lr = 3e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        group = parser.add_argument_group("denoise-scan")
        group.add_argument(
            "--doses",
            type=_floats,
            default=[1.25e5, 2.5e5, 5e5, 1e6, 2e6],
            help="CT: photons per ray of each noisy realisation (the bench's default is 5e5)",
        )
        group.add_argument(
            "--mr-fractions",
            type=_floats,
            default=[0.02, 0.03, 0.04, 0.06, 0.08],
            help="MR: Rician σ of each realisation, a fraction of the body's 99th percentile (bench: 0.04)",
        )
        group.add_argument("--views", type=int, default=360, help="CT: projection angles over 180°")
        group.add_argument("--ct-share", type=float, default=0.7, help="share of CT crops in a batch")
        group.add_argument("--bank", default=None, help="the noisy-pair cache (default: beside --out)")

    def load_data(self, args: argparse.Namespace) -> ScanBank:
        import sys

        cache = Path(args.bank) if args.bank else Path(args.out).with_suffix(".bank.npz")
        bank = ScanBank.build(
            args.data,
            args.doses,
            args.mr_fractions,
            args.views,
            cache=cache,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        bank.ct_share = args.ct_share
        return bank

    def load_validation(self, args: argparse.Namespace, bank: ScanBank) -> list[torch.Tensor]:
        """Whole held-out slices at the middle noise level (the bench's default dose / σ)."""
        from core.train.scan_bank import stack

        held = bank.hold_out(args.val_count)
        return [stack(s, len(s.noisy) // 2)[None].to(self.device) for s in held]

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """`clean` is the bank's (B, 3, h, w) stack: noisy, clean, σ map."""
        noisy, target, sigma = clean[:, :1], clean[:, 1:2], clean[:, 2:3]
        return (noisy.contiguous(memory_format=torch.channels_last), sigma), target

    def card_info(self) -> dict[str, Any]:
        args = self.args
        return {
            "task": "denoise",
            "modalities": ["ct", "mr"],
            "noise": "CT: low-dose, projection domain (core.scan_noise); MR: Rician",
            "doses": args.doses,
            "mr_fractions": args.mr_fractions,
            "views": args.views,
            "ct_share": args.ct_share,
            "loss": args.loss,
            "noise_map": "sigma estimated on the normalised noisy slice (core.methods.noise_level), /255",
            "normalisation": "the volume's value range, widened to hold the noisy slice",
        }


RECIPE = ScanDenoiseRecipe

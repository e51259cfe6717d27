"""Training data: every image of a folder held in memory, random crops drawn on the training device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.errors import ReadError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def image_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ReadError(f"no images found under {folder}")
    return files


class ImageCrops:
    """Uint8 images kept on `device`; `batch()` returns float crops in [0, 1], (B, C, crop, crop).

    Gray training (channels=1) converts color images to luma; color training replicates gray ones.
    Crops are flipped and rotated at random (the 8 dihedral transforms).
    """

    def __init__(self, folders: list[str | Path], channels: int, device: torch.device, min_side: int = 0):
        self.channels = channels
        self.device = device
        self.images: list[torch.Tensor] = []
        for folder in folders:
            for path in image_files(folder):
                with Image.open(path) as im:
                    im = im.convert("L" if channels == 1 else "RGB")
                    arr = np.asarray(im, dtype=np.uint8)
                if arr.ndim == 2:
                    arr = arr[..., None]
                if min(arr.shape[:2]) < min_side:
                    continue
                self.images.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).to(device))
        if not self.images:
            raise ReadError(f"no usable images in {folders}")

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, size: int, crop: int, generator: torch.Generator) -> torch.Tensor:
        picks = torch.randint(len(self.images), (size,), generator=generator).tolist()
        crops = []
        for index in picks:
            img = self.images[index]
            _, h, w = img.shape
            c = min(crop, h, w)
            y = int(torch.randint(h - c + 1, (1,), generator=generator))
            x = int(torch.randint(w - c + 1, (1,), generator=generator))
            patch = img[:, y : y + c, x : x + c]
            if c < crop:
                patch = torch.nn.functional.interpolate(
                    patch[None].float(), size=(crop, crop), mode="bilinear"
                )[0]
            k = int(torch.randint(8, (1,), generator=generator))
            patch = torch.rot90(patch, k % 4, dims=(1, 2))
            if k >= 4:
                patch = torch.flip(patch, dims=(2,))
            crops.append(patch)
        return torch.stack(crops).float().div_(255.0)

    def hold_out(self, count: int) -> list[torch.Tensor]:
        """Remove the last `count` images from training and return them for validation."""
        count = min(count, len(self.images) // 10)
        held = self.images[len(self.images) - count :] if count else []
        self.images = self.images[: len(self.images) - count]
        return [img[None].float() / 255.0 for img in held]

    def full_images(self, limit: int = 8) -> list[torch.Tensor]:
        """A few whole images (1, C, H, W) in [0, 1] for validation."""
        return [img[None].float() / 255.0 for img in self.images[:limit]]

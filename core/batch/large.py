"""Images larger than memory: TIFF and OME-TIFF are read and written tile by tile; other formats are
refused up front, with their size and the memory they would need, instead of exhausting memory.

A large TIFF is repaired in bands of output tiles. Each band is read with a margin of context rows
(only the stored tiles or strips it touches are decoded, with tifffile's own segment access), cut
into windows that go through `core.repair` like any image (learned methods then tile on their own
in `core.runtime.tiling`), and the window centres are written as the tiles of a tiled BigTIFF
streamed by tifffile. Memory stays at a few bands, whatever the image size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import MethodError, TooLargeError

FLOAT_COPIES = (
    4  # float32 copies of the pixels a repair in memory holds at once (source, normalised, result, kept)
)
OUT_TILE = 512  # edge of the written tiles, and the height of a band
WINDOW = 2048  # width of the windows handed to the method
MARGIN = 32  # context on each side of a window, cropped away (the tiled runtime's overlap)
TILEABLE_DTYPES = ("uint8", "uint16")


def memory_needed(width: int, height: int, channels: int) -> int:
    return width * height * channels * 4 * FLOAT_COPIES


def memory_budget(memory_limit_mb: int = 0) -> int:
    import torch

    from core.runtime.device import free_memory_bytes

    free = free_memory_bytes(torch.device("cpu"))
    return min(free, memory_limit_mb << 20) if memory_limit_mb else free


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _header(path: Path) -> tuple[int, int, int, str]:
    """(width, height, channels, format name) from the header alone."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            return int(page.imagewidth), int(page.imagelength), int(page.samplesperpixel), "TIFF"
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # only the header is read here; the size is judged below
    with Image.open(path) as im:
        return im.width, im.height, len(im.getbands()), str(im.format)


def needs_tiles(path: Path, memory_limit_mb: int = 0) -> bool:
    """True for a TIFF too large to repair in memory; raises TooLargeError for any other such image."""
    from core.io import limits

    try:
        width, height, channels, fmt = _header(Path(path))
    except Exception:  # noqa: BLE001 - not judged here: the reader gives its own one-line error
        return False
    need = memory_needed(width, height, channels)
    budget = memory_budget(memory_limit_mb)
    if need <= budget and width * height <= limits.MAX_PIXELS:
        return False
    why = f"{path.name}: {width}×{height} pixels need about {_gb(need)} to repair in memory"
    why += f" ({_gb(budget)} available)"
    if fmt != "TIFF":
        raise TooLargeError(f"{why}, and {fmt} cannot be read by tiles; save it as a tiled TIFF")
    reason = TiffTiles.refusal(Path(path))
    if reason:
        raise TooLargeError(f"{why}, and it cannot be read by tiles: {reason}")
    return True


class TiffTiles:
    """Rows of the first image of a TIFF, decoding only the stored tiles or strips they touch."""

    def __init__(self, path: Path):
        import tifffile

        self.tif = tifffile.TiffFile(path)
        self.page = self.tif.pages[0]
        self.height, self.width = int(self.page.imagelength), int(self.page.imagewidth)
        self.channels = int(self.page.samplesperpixel)
        self.dtype = np.dtype(self.page.dtype)

    @staticmethod
    def refusal(path: Path) -> str:
        """Why this TIFF cannot be repaired tile by tile ("" if it can)."""
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page, series = tif.pages[0], tif.series[0]
            if len(series.pages) > 1:
                return f"it holds {len(series.pages)} planes; only single-plane images are tiled"
            if str(page.dtype) not in TILEABLE_DTYPES:
                return f"its samples are {page.dtype}; tiles work on 8- and 16-bit images"
            if page.samplesperpixel not in (1, 3) or page.planarconfig != 1:
                return "tiles work on gray or RGB images with interleaved samples"
        return ""

    def __enter__(self) -> TiffTiles:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tif.close()

    def rows(self, top: int, bottom: int) -> np.ndarray:
        """Rows [top, bottom) (clamped to the image), all columns: (rows, width, channels)."""
        top, bottom = max(top, 0), min(bottom, self.height)
        out = np.zeros((bottom - top, self.width, self.channels), self.dtype)
        page, fh = self.page, self.tif.filehandle
        chunk_rows, across = int(page.chunks[0]), int(page.chunked[1])
        for chunk_row in range(top // chunk_rows, (bottom - 1) // chunk_rows + 1):
            for column in range(across):
                index = chunk_row * across + column
                if not page.databytecounts[index]:
                    continue  # a sparse tile: zeros
                fh.seek(page.dataoffsets[index])
                data = fh.read(page.databytecounts[index])
                segment, position, _ = page.decode(data, index, jpegtables=page.jpegtables)
                if segment is None:
                    continue
                segment = segment.reshape(segment.shape[-3:])
                y, x = int(position[2]), int(position[3])
                h, w = min(segment.shape[0], self.height - y), min(segment.shape[1], self.width - x)
                y0, y1 = max(y, top), min(y + h, bottom)
                out[y0 - top : y1 - top, x : x + w] = segment[y0 - y : y1 - y, :w]
        return out


def _to_stored(pixels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.rint(pixels), info.min, info.max).astype(dtype)


def repair_by_tiles(source: Path, target: Path, recipe, ctx) -> tuple[Path, dict[str, Any]]:
    """Repair a large TIFF band by band into a tiled BigTIFF at `target`; (path, resolved params)."""
    from core.documents import ImageDoc
    from core.io import provenance
    from core.io.atomic import allow_replace, atomic_write
    from core.methods import get_method
    from core.repair import run_repair
    from core.tasks import task as get_task

    card = get_method(recipe.method).card
    if get_task(card.task).resizes or card.operates_on != "image" or card.needs_mask:
        raise MethodError(f"{source.name}: too large for memory, and {card.id} cannot run tile by tile")
    import tifffile

    last: list[ImageDoc] = []
    with TiffTiles(source) as reader:
        template = ImageDoc(
            pixels=np.zeros((1, 1, 1, reader.channels), np.float32),
            path=source,
            format="TIFF",
            dtype=str(reader.dtype),
            mode="L" if reader.channels == 1 else "RGB",
        )

        def window(band: np.ndarray, band_top: int, top: int, bottom: int, left: int, right: int):
            lo, hi = max(left - MARGIN, 0), min(right + MARGIN, reader.width)
            doc = template.with_pixels(band[None, :, lo:hi].astype(np.float32))
            result = run_repair(doc, recipe.task, method=recipe.method, ctx=ctx, **recipe.params)
            last[:] = [result]
            rows = slice(top - band_top, bottom - band_top)
            return result.pixels[0, rows, left - lo : right - lo]

        def tiles() -> Iterator[np.ndarray]:
            for top in range(0, reader.height, OUT_TILE):
                bottom = min(top + OUT_TILE, reader.height)
                band_top = max(top - MARGIN, 0)
                band = reader.rows(band_top, bottom + MARGIN)
                out = np.empty((bottom - top, reader.width, reader.channels), reader.dtype)
                for left in range(0, reader.width, WINDOW):
                    right = min(left + WINDOW, reader.width)
                    out[:, left:right] = _to_stored(
                        window(band, band_top, top, bottom, left, right), out.dtype
                    )
                for x in range(0, reader.width, OUT_TILE):
                    tile = out[:, x : x + OUT_TILE]
                    yield tile[..., 0] if reader.channels == 1 else tile

        shape = (reader.height, reader.width) + (() if reader.channels == 1 else (reader.channels,))
        compressed = reader.page.compression != 1
        ome = target.name.lower().endswith((".ome.tif", ".ome.tiff"))

        def write(tmp: Path) -> None:
            tifffile.imwrite(
                tmp,
                tiles(),
                shape=shape,
                dtype=reader.dtype,
                tile=(OUT_TILE, OUT_TILE),
                photometric="minisblack" if reader.channels == 1 else "rgb",
                compression="zlib" if compressed else None,
                bigtiff=True,
                ome=ome,
                metadata={} if ome else None,
            )

        # Replacing: a result left by a run that was killed before it recorded the item as done.
        with allow_replace():
            written = atomic_write(target, write)
            provenance.write_sidecar(last[0], written)
    result = last[0]
    return written, dict(result.provenance[-1].params)

"""ndarray <-> QImage: the one place where document pixels become display pixels.

Display images are 32-bit (Format_RGB32 / ARGB32_Premultiplied), the formats QPainter draws without
converting, backed by numpy buffers that the caller keeps alive (`Frame.buffer`). Windowing maps a
frame in file units (HU for CT) to 0..255 gray; MONOCHROME1 inverts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QColor, QImage

PRESETS: dict[str, tuple[float, float]] = {
    "Lung": (-600.0, 1500.0),
    "Soft tissue": (40.0, 400.0),
    "Brain": (40.0, 80.0),
    "Bone": (400.0, 1800.0),
}

_GRAY_TO_RGB32 = (np.uint32(0xFF000000) | (np.arange(256, dtype=np.uint32) * np.uint32(0x010101))).astype(
    np.uint32
)


@dataclass
class Frame:
    """A QImage and the numpy buffer it points into (QImage does not own numpy memory)."""

    image: QImage
    buffer: np.ndarray


CHECKER = 8  # px of the squares transparency is shown over
CHECKER_TONES = (255, 204)  # white and light grey, as image editors show it


def over_checkerboard(rgb8: np.ndarray, alpha8: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) colours composited by their uint8 alpha over a checkerboard."""
    h, w = alpha8.shape
    rows, cols = np.arange(h)[:, None] // CHECKER, np.arange(w)[None, :] // CHECKER
    board = np.where((rows + cols) % 2 == 0, *CHECKER_TONES).astype(np.float32)
    a = alpha8.astype(np.float32)[..., None] / 255.0
    return np.rint(rgb8 * a + board[..., None] * (1.0 - a)).astype(np.uint8)


def wrap_rgb32(buffer: np.ndarray, premultiplied_alpha: bool = False) -> Frame:
    """Wrap a C-contiguous uint32 (H, W) array as a QImage without copying."""
    buffer = np.ascontiguousarray(buffer, dtype=np.uint32)
    h, w = buffer.shape
    fmt = QImage.Format.Format_ARGB32_Premultiplied if premultiplied_alpha else QImage.Format.Format_RGB32
    return Frame(QImage(buffer.data, w, h, w * 4, fmt), buffer)


def window_to_range(window: tuple[float, float]) -> tuple[float, float]:
    centre, width = window
    width = max(float(width), 1e-6)
    return centre - width / 2.0, centre + width / 2.0


def apply_window(frame: np.ndarray, window: tuple[float, float], invert: bool = False) -> np.ndarray:
    """Map a (H, W) or (H, W, C) float frame to uint8 through a centre/width window."""
    lo, hi = window_to_range(window)
    if lo == 0.0 and hi == 255.0 and not invert:
        # 8-bit data in its natural window (the common photo case): values are already bytes.
        return np.clip(frame, 0.0, 255.0).astype(np.uint8)
    scale = np.float32(255.0 / (hi - lo))
    out = np.subtract(frame, np.float32(lo), dtype=np.float32)
    out *= scale
    np.clip(out, 0.0, 255.0, out=out)
    out = out.astype(np.uint8)
    if invert:
        np.subtract(255, out, out=out)
    return out


def display_frame(frame: np.ndarray, window: tuple[float, float], invert: bool = False) -> Frame:
    """A document frame (H, W, C) in file units -> an RGB32 QImage; an alpha channel is shown over a
    checkerboard (walk-through 43: a transparent PNG looked opaque, its hidden colours shown)."""
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    gray8 = apply_window(frame[..., :3] if frame.ndim == 3 else frame, window, invert)
    if frame.ndim == 3 and frame.shape[2] == 4:
        gray8 = over_checkerboard(gray8, apply_window(frame[..., 3], window))
    if gray8.ndim == 2:
        return wrap_rgb32(_GRAY_TO_RGB32[gray8])
    # RGB32 is 0xFFRRGGBB, i.e. bytes B, G, R, 255 in little-endian memory: fill the bytes directly.
    h, w = gray8.shape[:2]
    packed = np.empty((h, w, 4), np.uint8)
    packed[..., 0] = gray8[..., 2]
    packed[..., 1] = gray8[..., 1]
    packed[..., 2] = gray8[..., 0]
    packed[..., 3] = 255
    return wrap_rgb32(packed.view("<u4")[..., 0])


def auto_window(
    frame: np.ndarray, low: float = 0.5, high: float = 99.5, body: str | None = None
) -> tuple[float, float]:
    """A window spanning the frame's histogram between two percentiles (on a subsample: fast).

    `body` (a scan's modality, "" when unknown): only the values of the body count, not the padding
    outside the scanned circle nor the air around the patient, which would take most grey levels.
    """
    data = frame if frame.ndim == 2 else frame[..., : min(3, frame.shape[-1])]
    step = max(1, int(np.sqrt(data.shape[0] * data.shape[1] / 250_000)))
    sample = data[::step, ::step].ravel()
    sample = sample[np.isfinite(sample)]
    if body is not None:
        sample = body_values(sample, body)
    if sample.size == 0:
        return 0.5, 1.0
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        hi = lo + 1.0
    return float((lo + hi) / 2.0), float(hi - lo)


CT_AIR_HU = -900.0  # air is -1000 HU, padding lower still; lung (-500..-900) is body


def body_values(sample: np.ndarray, modality: str) -> np.ndarray:
    """The values of a scan's body: in HU above air for CT; otherwise without the padding value and
    above Otsu's background/body threshold."""
    from skimage.filters import threshold_otsu

    if modality.upper() == "CT":
        inside = sample[sample > CT_AIR_HU]
        return inside if inside.size else sample
    if sample.size == 0:
        return sample
    floor = sample.min()
    if np.mean(sample == floor) > 0.01:  # a padding value fills the corners of many CT slices
        sample = sample[sample > floor]
    if sample.size < 100 or sample.min() == sample.max():
        return sample
    inside = sample[sample > threshold_otsu(sample)]
    return inside if inside.size >= 0.05 * sample.size else sample


def overlay_lut(color: QColor, opacity: float) -> np.ndarray:
    """Mask value 0..255 -> premultiplied ARGB32 of `color` at up to `opacity`."""
    alpha = np.round(np.arange(256) * float(np.clip(opacity, 0.0, 1.0))).astype(np.uint32)
    r, g, b = (np.uint32(c) for c in (color.red(), color.green(), color.blue()))
    return (
        (alpha << 24) | ((r * alpha // 255) << 16) | ((g * alpha // 255) << 8) | (b * alpha // 255)
    ).astype(np.uint32)


def new_overlay(height: int, width: int) -> Frame:
    return wrap_rgb32(np.zeros((height, width), np.uint32), premultiplied_alpha=True)


def paint_overlay(overlay: Frame, mask: np.ndarray | None, lut: np.ndarray, box=None) -> None:
    """Refresh the overlay from the mask, only inside `box` (a mask_model.Box) when given."""
    if mask is None:
        overlay.buffer[...] = 0
        return
    if box is None:
        np.take(lut, mask, out=overlay.buffer)
    elif not box.empty:
        ys, xs = box.slices
        overlay.buffer[ys, xs] = lut[mask[ys, xs]]


OUTLINE_ARGB = np.uint32(0xFFFFD200)  # opaque amber: seen on gray anatomy, not a colour of the scan


def outline(region: np.ndarray, width: int = 2) -> Frame | None:
    """The rim (`width` pixels, inside) of a (H, W) bool region, as an overlay; None when it has none.
    Worked out on the region's bounding box and a margin, not the whole picture."""
    from scipy.ndimage import binary_erosion, binary_fill_holes

    if not region.any():
        return None
    ys, xs = np.nonzero(region)
    (h, w), m = region.shape, width + 1
    y0, y1 = max(0, ys.min() - m), min(h, ys.max() + 1 + m)
    x0, x1 = max(0, xs.min() - m), min(w, xs.max() + 1 + m)
    part = binary_fill_holes(region[y0:y1, x0:x1])
    # beyond the margin only the picture's own edge is met: a fill reaching it has no rim there,
    # but a picture filled whole (a slice made, not acquired) is framed
    rim = part & ~binary_erosion(part, iterations=width, border_value=0 if region.all() else 1)
    if not rim.any():
        return None
    overlay = new_overlay(h, w)
    overlay.buffer[y0:y1, x0:x1][rim] = OUTLINE_ARGB
    return overlay


def _heat_lut() -> np.ndarray:
    """A perceptually ordered dark-purple -> orange -> pale-yellow ramp (premultiplied, opaque-ish)."""
    stops = np.array([[40, 0, 90], [150, 20, 130], [235, 80, 50], [250, 180, 40], [255, 255, 200]], float)
    t = np.linspace(0, len(stops) - 1, 256)
    idx = np.minimum(t.astype(int), len(stops) - 2)
    frac = (t - idx)[:, None]
    rgb = stops[idx] * (1 - frac) + stops[idx + 1] * frac
    alpha = np.linspace(170, 235, 256)
    rgb = rgb * alpha[:, None] / 255.0
    lut = (alpha.astype(np.uint32) << 24) | (rgb[:, 0].astype(np.uint32) << 16)
    lut |= (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2].astype(np.uint32)
    lut[0] = 0  # unchanged pixels stay fully transparent
    return lut.astype(np.uint32)


HEAT_LUT = _heat_lut()


def difference_map(before: np.ndarray, after: np.ndarray, kept_from: float = 0.0) -> tuple[Frame, float, int]:
    """|after - before| of two (H, W, C) frames as a colour-mapped overlay.

    Any changed pixel gets at least the first visible colour, so even a change of one unit shows;
    changes below `kept_from` (half the step the file stores: a save rounds them away) are none.
    Returns the overlay, the largest difference (file units) and the number of changed pixels.
    """
    diff = np.abs(after.astype(np.float32) - before.astype(np.float32))
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    diff[diff < kept_from] = 0.0
    return heat_overlay(diff)


def heat_overlay(values: np.ndarray) -> tuple[Frame, float, int]:
    """Non-negative (H, W) values as a colour-mapped overlay (a difference, a fill's uncertainty);
    every non-zero pixel visible; returns the overlay, the largest value and the non-zero count."""
    nonzero = values > 0
    peak = float(values.max()) if values.size else 0.0
    level = np.zeros(values.shape, np.uint8)
    if peak > 0:
        level = np.clip(np.ceil(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        level[nonzero & (level == 0)] = 1
    return wrap_rgb32(HEAT_LUT[level], premultiplied_alpha=True), peak, int(nonzero.sum())


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage as a (H, W, 4) uint8 BGRA array (a copy)."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    h, w = image.height(), image.width()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return data.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()

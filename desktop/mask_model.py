"""Damage masks and their edit history: plain numpy, no Qt, so painting is tested without a window.

A mask is uint8 (H, W) per frame: 0 = keep, 255 = repair, values between are a soft (feathered)
edge that the desktop uses to blend a repair result into the original. Every edit returns the
rectangle it touched (`Box`) so the view redraws only that part, and produces a `MaskEdit` (the
before/after pixels of that rectangle) that `desktop.history.History` can undo and redo.

Coordinates are image pixels as floats: pixel (row i, column j) covers [j, j+1) x [i, i+1), so its
centre is (j + 0.5, i + 0.5).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from desktop.history import GLOBAL, frame_lane

TILE = 64  # undo patches are stored in tiles of this size


@dataclass(frozen=True)
class Box:
    """A half-open pixel rectangle [y0, y1) x [x0, x1)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def empty(self) -> bool:
        return self.y1 <= self.y0 or self.x1 <= self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: Box | None) -> Box:
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        return Box(
            min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1)
        )


def _clip_box(y0: float, y1: float, x0: float, x1: float, shape: tuple[int, int]) -> Box:
    h, w = shape
    return Box(
        max(0, int(np.floor(y0))),
        min(h, int(np.ceil(y1))),
        max(0, int(np.floor(x0))),
        min(w, int(np.ceil(x1))),
    )


# --- pure operations on one (H, W) uint8 array; each returns the box it changed (maybe empty) ---


def brush_alpha(distance: np.ndarray, radius: float, hardness: float) -> np.ndarray:
    """Coverage 0..255 of a round brush at `distance` from its centre line.

    hardness 1 gives a hard disk with a one-pixel anti-aliased rim; lower hardness widens the rim
    (the feather) inwards, down to a cone at hardness 0.
    """
    ramp = max(radius * (1.0 - hardness), 1.0)
    alpha = np.clip((radius - distance) * (255.0 / ramp), 0.0, 255.0)
    return (alpha + 0.5).astype(np.uint8)


def stroke_segment(
    mask: np.ndarray,
    start: tuple[float, float],
    end: tuple[float, float],
    radius: float,
    hardness: float = 1.0,
    erase: bool = False,
    swept: np.ndarray | None = None,
) -> Box:
    """Paint (or erase) a round brush swept from `start` to `end` (x, y): a capsule, so fast mouse
    moves leave no gaps between stamps. Where it passed is also marked in the bool `swept`, if given
    (also where the mask already held what it paints)."""
    (ax, ay), (bx, by) = start, end
    box = _clip_box(
        min(ay, by) - radius, max(ay, by) + radius, min(ax, bx) - radius, max(ax, bx) + radius, mask.shape
    )
    if box.empty:
        return box
    ys = np.arange(box.y0, box.y1, dtype=np.float32)[:, None] + np.float32(0.5 - ay)
    xs = np.arange(box.x0, box.x1, dtype=np.float32)[None, :] + np.float32(0.5 - ax)
    dx, dy = np.float32(bx - ax), np.float32(by - ay)
    length2 = float(dx * dx + dy * dy)
    if length2 < 1e-6:
        distance = np.sqrt(xs * xs + ys * ys)
    else:
        # Distance to the segment: project onto it, clamp to the ends.
        t = np.clip((xs * dx + ys * dy) * np.float32(1.0 / length2), 0.0, 1.0)
        distance = np.sqrt((xs - t * dx) ** 2 + (ys - t * dy) ** 2)
    alpha = brush_alpha(distance, radius, hardness)
    region = mask[box.slices]
    if erase:
        np.minimum(region, 255 - alpha, out=region)
    else:
        np.maximum(region, alpha, out=region)
    if swept is not None:  # an eraser's: where it took at least half (its soft rim's outer half is
        # not its path); a brush's: wherever it painted, as the mask shows it painted there
        swept[box.slices] |= alpha >= 128 if erase else alpha > 0
    return box


def fill_rect(
    mask: np.ndarray, corner_a: tuple[float, float], corner_b: tuple[float, float], value: int
) -> Box:
    """Set every pixel whose centre lies in the rectangle spanned by two (x, y) corners."""
    (ax, ay), (bx, by) = corner_a, corner_b
    box = _clip_box(
        round(min(ay, by)), round(max(ay, by)), round(min(ax, bx)), round(max(ax, bx)), mask.shape
    )
    if not box.empty:
        mask[box.slices] = value
    return box


def fill_polygon(mask: np.ndarray, points: Sequence[tuple[float, float]], value: int) -> Box:
    """Set every pixel whose centre lies inside the polygon of (x, y) points (a lasso)."""
    if len(points) < 3:
        return Box(0, 0, 0, 0)
    pts = np.asarray(points, dtype=np.float64)
    box = _clip_box(pts[:, 1].min(), pts[:, 1].max() + 1, pts[:, 0].min(), pts[:, 0].max() + 1, mask.shape)
    if box.empty:
        return box
    from skimage.draw import polygon  # imported on first use: keeps start-up fast

    # skimage samples integer coordinates; shift so that they stand for pixel centres.
    rows, cols = polygon(
        pts[:, 1] - 0.5 - box.y0, pts[:, 0] - 0.5 - box.x0, (box.y1 - box.y0, box.x1 - box.x0)
    )
    if rows.size == 0:
        return Box(0, 0, 0, 0)
    mask[box.slices][rows, cols] = value
    return box


def flood_fill(
    mask: np.ndarray,
    x: float,
    y: float,
    value: int,
    image: np.ndarray | None = None,
    tolerance: float = 0.0,
) -> Box:
    """Paint-bucket fill from pixel (x, y).

    Without `image`: fill the connected region of the mask that has the clicked pixel's state (fills
    the inside of an outline drawn with the brush). With `image` (H, W) and a tolerance: fill the
    connected pixels whose image value is within `tolerance` of the clicked one (a magic wand).
    """
    h, w = mask.shape
    col, row = int(np.floor(x)), int(np.floor(y))
    if not (0 <= row < h and 0 <= col < w):
        return Box(0, 0, 0, 0)
    from skimage.segmentation import flood

    if image is not None:
        region = flood(np.asarray(image, dtype=np.float64), (row, col), tolerance=float(tolerance))
    else:
        region = flood(mask > 0, (row, col))
    if not region.any():
        return Box(0, 0, 0, 0)
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    box = Box(int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    mask[box.slices][region[box.slices]] = value
    return box


def bounding_box(mask: np.ndarray) -> Box:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return Box(0, 0, 0, 0)
    cols = np.flatnonzero(mask.any(axis=0))
    return Box(int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def grow(mask: np.ndarray, pixels: float) -> Box:
    """Extend the mask by `pixels` (Euclidean distance) in every direction."""
    import cv2

    if pixels <= 0 or not mask.any():
        return Box(0, 0, 0, 0)
    outside = (mask == 0).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 5)  # distance to the nearest masked pixel
    before = mask.copy()
    mask[distance <= pixels] = 255
    return bounding_box(mask != before)


def shrink(mask: np.ndarray, pixels: float) -> Box:
    """Pull the mask's edge in by `pixels`."""
    import cv2

    if pixels <= 0 or not mask.any():
        return Box(0, 0, 0, 0)
    inside = (mask > 0).astype(np.uint8)
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5)  # distance to the nearest unmasked pixel
    before = mask.copy()
    mask[(distance > 0) & (distance <= pixels)] = 0
    return bounding_box(mask != before)


# --- edits and history ---


@dataclass
class Patch:
    frame: int
    y0: int
    x0: int
    before: np.ndarray
    after: np.ndarray


@dataclass
class Swept:
    """Where an eraser (or a painting tool) passed in one edit, whether the mask held something there
    or not: the frame and (y, x, bool patch) tiles that hold some of it."""

    frame: int
    tiles: list[tuple[int, int, np.ndarray]]
    erased: bool = True

    @property
    def nbytes(self) -> int:
        return sum(patch.nbytes for _, _, patch in self.tiles)


@dataclass
class MaskEdit:
    """One undo step of mask editing: the changed rectangles of one or more frames."""

    label: str
    patches: list[Patch]
    uid: int = 0  # set by the autosave journal to name the edit in undo/redo records
    swept: Swept | None = None  # the eraser's or brush's path: undone and redone with the edit
    threshold: float | None = None  # a detection's step: the sensitivity it shows
    whole: bool = False  # an edit of the whole stack (a detection, a loaded mask): undone from any frame

    @property
    def nbytes(self) -> int:
        swept = self.swept.nbytes if self.swept is not None else 0
        return swept + sum(p.before.nbytes + p.after.nbytes for p in self.patches)

    @property
    def lane(self) -> Hashable:
        if self.whole:  # though it changed one frame only, it is not that frame's edit
            return GLOBAL
        frames = {p.frame for p in self.patches} | ({self.swept.frame} if self.swept is not None else set())
        return frame_lane(frames.pop()) if len(frames) == 1 else GLOBAL


def _tiles(flags: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """The TILE-sized tiles of the bool `flags` holding some True, as (y, x, view): a diagonal stroke
    across a large image touches a few percent of its bounding box, and the history and the autosave
    would hold the rest for nothing."""
    h, w = flags.shape
    rows, cols = -(-h // TILE), -(-w // TILE)
    padded = np.zeros((rows * TILE, cols * TILE), bool)
    padded[:h, :w] = flags
    touched = padded.reshape(rows, TILE, cols, TILE).any(axis=(1, 3))
    out = []
    for r, c in zip(*np.nonzero(touched)):
        y, x = int(r) * TILE, int(c) * TILE
        out.append((y, x, flags[y : y + TILE, x : x + TILE]))
    return out


class MaskStack:
    """The masks of a document's frames, allocated lazily, with the editing operations.

    Operations on one frame go through `begin(frame)` ... `end(label)`, which makes them a single
    undoable `MaskEdit` however many calls (mouse moves) they took. `apply()` undoes/redoes an edit.
    """

    def __init__(self, frames: int, height: int, width: int):
        self.frames, self.height, self.width = frames, height, width
        self._masks: dict[int, np.ndarray] = {}
        # How many eraser edits in effect passed over each pixel, shown or not: a detection's
        # sensitivity slider keeps those pixels clear, not only what was proposed when they were
        # erased; undoing the edit takes its path back. `_brushed` counts the painting edits the
        # same way: what was painted over a proposal stays when the sensitivity is raised.
        self._swept: dict[int, np.ndarray] = {}
        self._brushed: dict[int, np.ndarray] = {}
        self._sweeping: np.ndarray | None = None  # the active edit's path (bool, the frame's size)
        self._erasing = True  # whether that path is an eraser's
        self._active: int | None = None
        self._before: np.ndarray | None = None
        self._dirty: Box | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.frames, self.height, self.width

    def get(self, frame: int) -> np.ndarray:
        """The frame's mask, allocated (all zero) on first use; edit it only between begin() and end()."""
        if not 0 <= frame < self.frames:
            raise IndexError(f"frame {frame} outside 0..{self.frames - 1}")
        mask = self._masks.get(frame)
        if mask is None:
            mask = self._masks[frame] = np.zeros((self.height, self.width), np.uint8)
        return mask

    def peek(self, frame: int) -> np.ndarray | None:
        return self._masks.get(frame)

    def any(self, frame: int | None = None) -> bool:
        if frame is not None:
            mask = self._masks.get(frame)
            return mask is not None and bool(mask.any())
        return any(bool(m.any()) for m in self._masks.values())

    def painted_frames(self) -> list[int]:
        return sorted(i for i, m in self._masks.items() if m.any())

    def as_array(self) -> np.ndarray:
        """All frames as (frames, H, W) uint8 (zeros where never painted)."""
        out = np.zeros(self.shape, np.uint8)
        for i, mask in self._masks.items():
            out[i] = mask
        return out

    def sweeping(self, erase: bool = True) -> np.ndarray:
        """The active edit's path (bool, the frame's size): the brush, eraser, rectangle and lasso
        mark where they passed; `erase` says which kind of path it is."""
        if self._sweeping is None:
            self._sweeping = np.zeros((self.height, self.width), bool)
        self._erasing = erase
        return self._sweeping

    def swept(self) -> np.ndarray | None:
        """Where eraser edits now in effect passed, (frames, H, W) bool; None where none did."""
        return self._paths(self._swept)

    def brushed(self) -> np.ndarray | None:
        """Where painting edits now in effect passed or painted, (frames, H, W) bool; None: nowhere."""
        return self._paths(self._brushed)

    def _paths(self, layers: dict[int, np.ndarray]) -> np.ndarray | None:
        if not any(layer.any() for layer in layers.values()):
            return None
        out = np.zeros(self.shape, bool)
        for frame, layer in layers.items():
            out[frame] = layer > 0
        return out

    def _sweep(self, swept: Swept, step: int) -> None:
        layers = self._swept if swept.erased else self._brushed
        layer = layers.get(swept.frame)
        if layer is None:
            layer = layers[swept.frame] = np.zeros((self.height, self.width), np.int16)
        for y, x, patch in swept.tiles:
            layer[y : y + patch.shape[0], x : x + patch.shape[1]] += patch.astype(np.int16) * step

    # --- an edit session ---

    @property
    def editing(self) -> bool:
        return self._active is not None

    def begin(self, frame: int) -> np.ndarray:
        if self._active is not None:
            raise RuntimeError("an edit is already in progress")
        mask = self.get(frame)
        self._active, self._before, self._dirty, self._sweeping = frame, mask.copy(), None, None
        return mask

    def touch(self, box: Box) -> Box:
        """Record that the active edit changed `box`; returns it (for the caller's redraw)."""
        if not box.empty:
            self._dirty = box.union(self._dirty)
        return box

    def end(self, label: str) -> MaskEdit | None:
        """Close the session; None when nothing changed."""
        if self._active is None:
            return None
        frame, before, dirty, sweeping = self._active, self._before, self._dirty, self._sweeping
        erasing = self._erasing and sweeping is not None
        self._active = self._before = self._dirty = self._sweeping = None
        if not erasing and dirty is not None:  # a painting edit: its path includes what it turned on
            turned_on = np.zeros((self.height, self.width), bool)
            turned_on[dirty.slices] = (before[dirty.slices] < 128) & (self._masks[frame][dirty.slices] >= 128)
            sweeping = turned_on if sweeping is None else sweeping | turned_on
        swept = None
        if sweeping is not None and sweeping.any():
            tiles = [
                (y, x, sweeping[y : y + t.shape[0], x : x + t.shape[1]].copy())
                for y, x, t in _tiles(sweeping)
            ]
            swept = Swept(frame, tiles, erasing)
            self._sweep(swept, +1)
        if dirty is None:
            return MaskEdit(label, [], swept=swept) if swept is not None else None
        mask = self._masks[frame]
        patches = []
        for y, x, tile in _tiles(before[dirty.slices] != mask[dirty.slices]):
            ys = slice(dirty.y0 + y, dirty.y0 + y + tile.shape[0])
            xs = slice(dirty.x0 + x, dirty.x0 + x + tile.shape[1])
            patches.append(Patch(frame, ys.start, xs.start, before[ys, xs].copy(), mask[ys, xs].copy()))
        return MaskEdit(label, patches, swept=swept) if patches or swept is not None else None

    def cancel(self) -> Box | None:
        """Abandon the active session, restoring the frame; returns the box to redraw."""
        if self._active is None:
            return None
        frame, dirty = self._active, self._dirty
        if dirty is not None:
            self._masks[frame][dirty.slices] = self._before[dirty.slices]
        self._active = self._before = self._dirty = self._sweeping = None  # its path is not kept
        return dirty

    # --- one-shot operations (each a complete edit) ---

    def _one_shot(self, frame: int, label: str, op) -> tuple[MaskEdit | None, Box]:
        mask = self.begin(frame)
        box = self.touch(op(mask))
        return self.end(label), box

    def rectangle(self, frame, corner_a, corner_b, erase=False):
        def op(m):
            fill_rect(self.sweeping(erase), corner_a, corner_b, True)
            return fill_rect(m, corner_a, corner_b, 0 if erase else 255)

        return self._one_shot(frame, "rectangle", op)

    def lasso(self, frame, points, erase=False):
        def op(m):
            fill_polygon(self.sweeping(erase), points, True)
            return fill_polygon(m, points, 0 if erase else 255)

        return self._one_shot(frame, "lasso", op)

    def fill(self, frame, x, y, erase=False, image=None, tolerance=0.0):
        value = 0 if erase else 255
        return self._one_shot(frame, "fill", lambda m: flood_fill(m, x, y, value, image, tolerance))

    def invert(self, frame):
        def op(m):
            np.subtract(255, m, out=m)
            return Box(0, m.shape[0], 0, m.shape[1])

        return self._one_shot(frame, "invert", op)

    def clear(self, frame):
        def op(m):
            box = bounding_box(m)
            if not box.empty:  # cleared, as if erased all over: no proposal comes back to it
                self.sweeping()[...] = True
            m[box.slices] = 0
            return box

        return self._one_shot(frame, "clear", op)

    def grow(self, frame, pixels):
        return self._one_shot(frame, f"grow {pixels:g} px", lambda m: grow(m, pixels))

    def shrink(self, frame, pixels):
        return self._one_shot(frame, f"shrink {pixels:g} px", lambda m: shrink(m, pixels))

    def replace_all(self, masks: np.ndarray, label: str = "load mask") -> MaskEdit | None:
        """Replace every frame (a loaded mask file): one edit spanning all frames."""
        masks = np.asarray(masks)
        if masks.ndim == 2:
            masks = masks[None]
        if masks.shape != self.shape:
            raise ValueError(f"the mask has shape {masks.shape}, the document {self.shape}")
        patches = []
        for i in range(self.frames):
            old = self._masks.get(i)
            new = masks[i].astype(np.uint8)
            if old is None and not new.any():
                continue
            old = old if old is not None else np.zeros_like(new)
            if not np.array_equal(old, new):
                patches.append(Patch(i, 0, 0, old.copy(), new.copy()))
                self.get(i)[...] = new
        return MaskEdit(label, patches, whole=True) if patches else None

    def apply(self, edit: MaskEdit, undo: bool) -> list[tuple[int, Box]]:
        """Revert (undo=True) or re-apply an edit; returns the (frame, box) pairs changed."""
        if edit.swept is not None:
            self._sweep(edit.swept, -1 if undo else +1)
        changed = []
        for p in edit.patches:
            data = p.before if undo else p.after
            box = Box(p.y0, p.y0 + data.shape[0], p.x0, p.x0 + data.shape[1])
            self.get(p.frame)[box.slices] = data
            changed.append((p.frame, box))
        return changed

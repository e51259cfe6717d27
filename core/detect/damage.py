"""Synthetic damage of old photos and film, drawn on clean images with a known ground-truth mask.

Used to train the learned detector (on the fly, on crops) and by `lacuna bench detect` (fixed seeds,
on whole bench images). Each kind paints an opacity layer and a colour into one overlay; the damaged
image is `clean * (1 - alpha) + colour * alpha`. The truth is where the overlay is visible: opacity of
at least 0.3 and a change of at least 4/255 in some channel (a white scratch on white paper is no damage
anyone can see, and no detector can be asked to find it).

Widths and sizes are in pixels, not relative to the image (a scratch on a scan is a few pixels wide
whatever the crop); only a scratch's length and a tear's span scale with the picture's side. The number
of marks grows with the area, so a bench image and a training crop look alike.

    damaged, truth = draw(clean, ("scratch", "dust"), np.random.default_rng(3))

Only numpy and OpenCV (imported lazily).
"""

from __future__ import annotations

import numpy as np

KINDS = ("scratch", "crease", "dust", "blotch", "tear", "dead", "line")
# The groups `lacuna bench detect --damage` names.
GROUPS = {
    "scratches": ("scratch", "crease", "line"),
    "dust": ("dust", "dead"),
    "blotches": ("blotch", "tear"),
    "mixed": KINDS,
}
# Colours of stains and blotches. "pale" looks like a clean sepia highlight (a face, a collar): the
# detector's training leaves it out (`lacuna train detect --stains`) so it does not learn to propose
# bright smooth skin; the bench keeps all four.
STAINS = {
    "brown": (0.45, 0.3, 0.12),
    "yellow": (0.75, 0.62, 0.3),
    "dark": (0.12, 0.1, 0.08),
    "pale": (0.9, 0.88, 0.8),
}
REFERENCE_AREA = 128 * 128  # counts below are per this many pixels
VISIBLE_ALPHA = 0.3
VISIBLE_CHANGE = 4.0 / 255.0


def _cv2():
    import cv2

    return cv2


def kinds_of(names: str | tuple[str, ...]) -> tuple[str, ...]:
    """A group name ("mixed"), a kind ("crease") or a tuple of them, as a tuple of kinds."""
    if isinstance(names, str):
        names = (names,)
    out: list[str] = []
    for name in names:
        if name in GROUPS:
            out += GROUPS[name]
        elif name in KINDS:
            out.append(name)
        else:
            raise ValueError(f"unknown damage {name!r}; choose from {', '.join((*GROUPS, *KINDS))}")
    return tuple(dict.fromkeys(out))


def draw(
    clean: np.ndarray,
    kinds: str | tuple[str, ...],
    rng: np.random.Generator,
    amount: float = 1.0,
    layers: dict[str, np.ndarray] | None = None,
    stains: tuple[str, ...] = tuple(STAINS),
    bright: float = 1.0,
    fine_lines: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Damage `clean` (H, W, C) float in [0, 1]: returns (damaged float32, truth bool (H, W)).

    Every kind asked for is drawn at least once; `amount` scales how many marks of each. A `layers`
    dict, if given, receives each kind's own opacity (H, W), to tell which kind a damaged pixel is;
    `stains` names the colours of STAINS that blotches take (a name given twice is drawn twice as
    often); `bright` below 1 makes bright marks rarer and dark ones more common; `fine_lines` draws
    scratches, creases and hairs at any width, not only OpenCV's (training only: `_Stroke`).
    """
    clean = np.asarray(clean, np.float32)
    if clean.ndim == 2:
        clean = clean[..., None]
    height, width, channels = clean.shape
    alpha = np.zeros((height, width), np.float32)
    colour = np.zeros((height, width, channels), np.float32)
    area_factor = height * width / REFERENCE_AREA
    for kind in kinds_of(kinds):
        layer = _Layer(height, width, channels, stains, bright, fine_lines)
        _PAINTERS[kind](layer, rng, area_factor * amount)
        if layers is not None:
            layers[kind] = layer.alpha
        # Later marks cover earlier ones ("over" compositing of premultiplied colours).
        colour = layer.colour + colour * (1.0 - layer.alpha[..., None])
        alpha = layer.alpha + alpha * (1.0 - layer.alpha)
    safe = np.maximum(alpha, 1e-6)[..., None]
    # `colour` is premultiplied by the coverage so far; divide to get the overlay's own colour.
    overlay = colour / safe
    damaged = clean * (1.0 - alpha[..., None]) + overlay * alpha[..., None]
    damaged = np.clip(damaged, 0.0, 1.0).astype(np.float32)
    change = np.abs(damaged - clean).max(axis=-1)
    truth = (alpha >= VISIBLE_ALPHA) & (change >= VISIBLE_CHANGE)
    return damaged, truth


# A mark counts as bright (a crack through the emulsion, showing the paper) from this lift of the
# channels' mean over the clean picture.
BRIGHT_LIFT = 0.15


def fold_shadows(
    clean: np.ndarray, damaged: np.ndarray, truth: np.ndarray, rng: np.random.Generator, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """`share` of the bright marks of `draw`'s (damaged, truth) given the dark 1-px rim a real crack
    has beside it (the fold's shadow: the clean picture darkened to 45-80%, one shade per mark),
    counted as damage where visible. Training only (`lacuna train detect --rims`): a detector taught
    this marks a real crack's rim itself, which a repair of drawn-only marks leaves as a dark line."""
    if share <= 0:  # the default: no work on every training crop
        return damaged, truth
    bright = truth & (damaged.mean(-1) - clean.mean(-1) > BRIGHT_LIFT)
    if not bright.any():
        return damaged, truth
    cv2 = _cv2()
    count, labels = cv2.connectedComponents(bright.astype(np.uint8), connectivity=8)
    chosen = rng.random(count) < share
    chosen[0] = False  # the background
    marks = np.where(chosen[labels], labels, 0).astype(np.float32)
    # Each rim pixel takes the label of a mark it touches (the dilation's largest), hence its shade.
    nearest = cv2.dilate(marks, np.ones((3, 3), np.uint8)).astype(int)
    rim = (nearest > 0) & ~truth
    shade = rng.uniform(0.45, 0.8, count).astype(np.float32)
    damaged = damaged.copy()
    damaged[rim] = clean[rim] * shade[nearest[rim]][:, None]
    visible = rim & (np.abs(damaged - clean).max(axis=-1) >= VISIBLE_CHANGE)
    return damaged, truth | visible


class _Layer:
    """One kind's marks: opacity (H, W) and colour premultiplied by it (H, W, C)."""

    def __init__(
        self,
        height: int,
        width: int,
        channels: int,
        stains: tuple[str, ...],
        bright: float,
        fine_lines: bool = False,
    ):
        self.height, self.width, self.channels = height, width, channels
        self.stains, self.bright = stains, bright
        self.stroke = _Stroke(height, width, fine_lines)
        self.alpha = np.zeros((height, width), np.float32)
        self.colour = np.zeros((height, width, channels), np.float32)

    def is_bright(self, rng: np.random.Generator, chance: float) -> bool:
        """Whether a mark is bright (else dark): `chance` for its kind, times the draw's `bright`."""
        return bool(rng.random() < chance * self.bright)

    def paint(self, shape: np.ndarray, opacity: float, colour: np.ndarray) -> None:
        """Add a mark: `shape` float (H, W) in [0, 1] (anti-aliased coverage)."""
        a = shape * opacity
        self.colour = colour * a[..., None] + self.colour * (1.0 - a[..., None])
        self.alpha = a + self.alpha * (1.0 - a)


class _Stroke:
    """Lines of a mark's coverage, 0-1 (H, W).

    OpenCV's anti-aliased lines come in few widths (thickness 1 is about 1.4 px wide, 2 about 3.5,
    3-4 about 5.5, 5-6 about 7.5), so the bench's scratches have those widths only, and a detector
    trained on them alone missed bright lines 2-2.5 px wide at every angle, on a flat grey too
    (session 52). With `fine` (training) a line is drawn FINE times larger with hard edges and
    averaged down: widths from continuous ranges (`width`), drawn to the nearest half pixel."""

    FINE = 4
    # OpenCV's anti-aliased width of each thickness (coverage summed across the line, px); 0: the
    # thinnest hairline a fine stroke draws.
    DRAWN = {0: 0.8, 1: 1.4, 2: 3.5, 3: 5.5, 4: 5.5, 5: 7.5, 6: 7.5}

    def __init__(self, height: int, width: int, fine: bool):
        self.shape, self.fine = (height, width), fine

    def width(self, rng: np.random.Generator, low: int, high: int) -> float:
        """A width for OpenCV thicknesses low..high - 1: one of them as the bench draws it, or with
        `fine` any width from thickness low - 1's (0.8 px for low 1) to thickness high - 1's."""
        if not self.fine:
            return int(rng.integers(low, high))
        return float(rng.uniform(self.DRAWN[low - 1], self.DRAWN[high - 1]))

    def thinner(self, width: float) -> float:
        """A branch's width: a thickness less (about 2 px), at least the thinnest."""
        return max(self.DRAWN[0], width - 2.0) if self.fine else max(1, int(width) - 1)

    def canvas(self) -> np.ndarray:
        scale = self.FINE if self.fine else 1
        return np.zeros((self.shape[0] * scale, self.shape[1] * scale), np.uint8)

    def polyline(self, canvas: np.ndarray, points: np.ndarray, width: float) -> None:
        """Draw `_polyline`'s points (2 fractional bits) `width` wide onto `canvas`."""
        cv2 = _cv2()
        if not self.fine:
            cv2.polylines(canvas, [points], False, 255, int(width), cv2.LINE_AA, shift=2)
            return
        # A hard line of thickness t is 2 * (t // 2) + 1 fine pixels wide: the odd count nearest.
        across = max(3, 2 * int(round((width * self.FINE - 1) / 2)) + 1)
        cv2.polylines(canvas, [points * self.FINE], False, 255, across - 1, cv2.LINE_8, shift=2)

    def coverage(self, canvas: np.ndarray) -> np.ndarray:
        if not self.fine:
            return _coverage(canvas)
        cv2 = _cv2()
        small = cv2.resize(canvas.astype(np.float32), self.shape[::-1], interpolation=cv2.INTER_AREA)
        return small / 255.0


def _count(rng: np.random.Generator, per_area: tuple[float, float], factor: float) -> int:
    """How many marks: a Poisson draw around the per-area mean, at least one."""
    mean = rng.uniform(*per_area) * factor
    return max(1, int(rng.poisson(mean)))


def _tone(rng: np.random.Generator, channels: int, bright: bool) -> np.ndarray:
    """Paper white (slightly warm) for bright damage, near black for dark."""
    if bright:
        base = rng.uniform(0.8, 1.0)
        tint = np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.82, 1.0)], np.float32)
    else:
        base = rng.uniform(0.0, 0.2)
        tint = np.ones(3, np.float32)
    value = np.clip(base * tint, 0, 1)
    return value[:channels] if channels >= 3 else np.full(channels, value.mean(), np.float32)


def _canvas(layer: _Layer) -> np.ndarray:
    return np.zeros((layer.height, layer.width), np.uint8)


def _coverage(canvas: np.ndarray) -> np.ndarray:
    return canvas.astype(np.float32) / 255.0


def _polyline(
    rng: np.random.Generator,
    layer: _Layer,
    segments: int,
    step: tuple[float, float],
    turn: float,
    keep: float = 1.0,
    heading: float | None = None,
):
    """Points of a random walk starting anywhere, as int32 (N, 2) x, y with 2 fractional bits.

    `turn`: spread of each change of direction (radians); `keep` < 1 pulls the direction back towards
    the first one, so a crack zigzags along a line instead of curling up; `heading`: the first
    direction (radians; random if None).
    """
    x, y = rng.uniform(0, layer.width), rng.uniform(0, layer.height)
    angle = base = rng.uniform(0, 2 * np.pi) if heading is None else heading
    points = [(x, y)]
    for _ in range(segments):
        angle = base + keep * (angle - base) + rng.normal(0.0, turn)
        length = rng.uniform(*step)
        x, y = x + length * np.cos(angle), y + length * np.sin(angle)
        points.append((x, y))
    return np.round(np.array(points) * 4).astype(np.int32)  # 2 fractional bits for cv2's shift


def _scratch(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Long, gently curving lines: thin (1-2 px) mostly, some thick (3-6 px); bright or dark. Fine
    strokes are also, one in five, straight along a row or column, as a film's line scratches run."""
    stroke = layer.stroke
    side = max(layer.height, layer.width)
    for _ in range(_count(rng, (0.3, 1.2), factor)):
        canvas = stroke.canvas()
        thick = rng.random() < 0.25
        width = stroke.width(rng, 3, 7) if thick else stroke.width(rng, 1, 3)
        segments = int(rng.integers(2, 8))
        step = (side * 0.05, side * 0.25)
        if stroke.fine and rng.random() < 0.2:
            points = _polyline(rng, layer, segments, step, 0.01, heading=int(rng.integers(4)) * np.pi / 2)
        else:
            points = _polyline(rng, layer, segments, step, 0.15)
        stroke.polyline(canvas, points, width)
        opacity = rng.uniform(0.55, 1.0)
        layer.paint(stroke.coverage(canvas), opacity, _tone(rng, layer.channels, layer.is_bright(rng, 0.7)))


def _crease(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Cracks of a folded print: jagged, branching, bright lines 1-3 px wide."""
    stroke = layer.stroke
    for _ in range(_count(rng, (0.2, 0.8), factor)):
        canvas = stroke.canvas()
        width = stroke.width(rng, 1, 4)
        trunk = _polyline(rng, layer, int(rng.integers(10, 50)), (2.0, 7.0), 0.5, keep=0.6)
        stroke.polyline(canvas, trunk, width)
        for _ in range(int(rng.integers(0, 4))):  # branches leave the trunk at random points
            start = trunk[int(rng.integers(len(trunk)))] / 4.0
            branch = _polyline(rng, layer, int(rng.integers(3, 15)), (2.0, 6.0), 0.5, keep=0.6)
            branch = branch - branch[0] + np.round(start * 4).astype(np.int32)
            stroke.polyline(canvas, branch, stroke.thinner(width))
        opacity = rng.uniform(0.7, 1.0)
        layer.paint(stroke.coverage(canvas), opacity, _tone(rng, layer.channels, layer.is_bright(rng, 0.85)))


def _dust(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Specks and fibres: many small dots (radius 0.5-3 px) and a few short hairs, dark or bright."""
    cv2 = _cv2()
    bright = layer.is_bright(rng, 0.5)
    canvas = _canvas(layer)
    for _ in range(_count(rng, (4.0, 20.0), factor)):
        centre = (int(rng.uniform(0, layer.width) * 4), int(rng.uniform(0, layer.height) * 4))
        axes = (int(rng.uniform(0.6, 3.0) * 4), int(rng.uniform(0.6, 3.0) * 4))
        cv2.ellipse(canvas, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, shift=2)
    stroke = layer.stroke
    hairs = stroke.canvas() if stroke.fine else canvas  # the bench's hairs share the specks' canvas
    for _ in range(int(rng.poisson(0.5 * factor))):
        hair = _polyline(rng, layer, int(rng.integers(3, 10)), (1.5, 4.0), 0.5)
        stroke.polyline(hairs, hair, stroke.width(rng, 1, 2) if stroke.fine else 1)
    coverage = np.maximum(_coverage(canvas), stroke.coverage(hairs)) if stroke.fine else _coverage(canvas)
    layer.paint(coverage, rng.uniform(0.7, 1.0), _tone(rng, layer.channels, bright))


def _blotch(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Stains and blotches: irregular soft-edged blobs (radius 4-25 px), brown, yellow, dark or pale."""
    cv2 = _cv2()
    for _ in range(_count(rng, (0.2, 0.8), factor)):
        canvas = _canvas(layer)
        cx, cy = rng.uniform(0, layer.width), rng.uniform(0, layer.height)
        radius = rng.uniform(4.0, 25.0)
        for _ in range(int(rng.integers(3, 8))):  # overlapping ellipses make a ragged outline
            ox, oy = rng.normal(0, radius * 0.5, 2)
            axes = (int(radius * rng.uniform(0.4, 1.0) * 4), int(radius * rng.uniform(0.4, 1.0) * 4))
            centre = (int((cx + ox) * 4), int((cy + oy) * 4))
            cv2.ellipse(canvas, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, shift=2)
        shape = cv2.GaussianBlur(_coverage(canvas), (0, 0), rng.uniform(0.5, 2.0))
        names = layer.stains
        tone = np.array(STAINS[names[int(rng.integers(len(names)))]], np.float32) * rng.uniform(0.85, 1.15)
        tone = np.clip(tone, 0, 1)
        tone = tone[: layer.channels] if layer.channels >= 3 else np.full(layer.channels, tone.mean())
        layer.paint(np.clip(shape * 1.3, 0, 1), rng.uniform(0.5, 0.95), tone.astype(np.float32))


def _tear(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Torn or chipped borders: a ragged paper-coloured region entering from one edge."""
    cv2 = _cv2()
    h, w = layer.height, layer.width
    for _ in range(max(1, int(rng.poisson(0.4 * min(factor, 4.0))))):
        edge = int(rng.integers(4))
        length = int(rng.uniform(0.15, 0.6) * (w if edge in (0, 2) else h))
        start = rng.uniform(0, (w if edge in (0, 2) else h) - length)
        along = np.linspace(start, start + length, 24)
        depth = np.abs(np.sin(np.linspace(0, np.pi, 24))) * rng.uniform(3, 16) + rng.uniform(0, 4, 24)
        if edge == 0:
            pts = [(a, d) for a, d in zip(along, depth)] + [(along[-1], -1), (along[0], -1)]
        elif edge == 2:
            pts = [(a, h - 1 - d) for a, d in zip(along, depth)] + [(along[-1], h), (along[0], h)]
        elif edge == 1:
            pts = [(d, a) for a, d in zip(along, depth)] + [(-1, along[-1]), (-1, along[0])]
        else:
            pts = [(w - 1 - d, a) for a, d in zip(along, depth)] + [(w, along[-1]), (w, along[0])]
        canvas = _canvas(layer)
        cv2.fillPoly(canvas, [np.round(np.array(pts) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
        layer.paint(_coverage(canvas), 1.0, _tone(rng, layer.channels, layer.is_bright(rng, 0.8)))


def _dead(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Dead or hot sensor pixels: isolated single pixels (some 2x2) stuck at a saturated value."""
    count = _count(rng, (2.0, 10.0), factor)
    ys = rng.integers(0, layer.height, count)
    xs = rng.integers(0, layer.width, count)
    shape = np.zeros((layer.height, layer.width), np.float32)
    shape[ys, xs] = 1.0
    big = rng.random(count) < 0.2
    shape[np.minimum(ys[big] + 1, layer.height - 1), xs[big]] = 1.0
    shape[ys[big], np.minimum(xs[big] + 1, layer.width - 1)] = 1.0
    value = np.where(rng.random(layer.channels) < 0.5, 0.0, 1.0).astype(np.float32)
    layer.paint(shape, 1.0, np.broadcast_to(value, (layer.channels,)).copy())


def _line(layer: _Layer, rng: np.random.Generator, factor: float) -> None:
    """Dead scanner lines and film line scratches: a full row or column, 1-2 px, constant colour."""
    shape = np.zeros((layer.height, layer.width), np.float32)
    for _ in range(max(1, int(rng.poisson(0.3 * np.sqrt(factor))))):
        thickness = int(rng.integers(1, 3))
        if rng.random() < 0.5:
            y = int(rng.integers(0, layer.height - thickness + 1))
            shape[y : y + thickness] = 1.0
        else:
            x = int(rng.integers(0, layer.width - thickness + 1))
            shape[:, x : x + thickness] = 1.0
    layer.paint(shape, rng.uniform(0.6, 1.0), _tone(rng, layer.channels, layer.is_bright(rng, 0.6)))


_PAINTERS = {
    "scratch": _scratch,
    "crease": _crease,
    "dust": _dust,
    "blotch": _blotch,
    "tear": _tear,
    "dead": _dead,
    "line": _line,
}

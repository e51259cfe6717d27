"""The entry point for detection, used by the CLI, the bench and the desktop.

    detection = run_detect(document)                 # the default method, its default threshold
    mask = detection.mask()                          # bool (frames, H, W): the proposal
    looser = detection.mask(0.3)                     # a sensitivity slider re-thresholds, no re-run

`detect` is a generator like `core.repair.repair`: it yields `Progress` and returns a `Detection`.
Image methods run frame by frame; the methods that compare frames get the whole frame stack. The document is
normalised to [0, 1] from its value range first, as for repair.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.errors import MethodError
from core.methods import default_method, get_method
from core.methods.modality import NAMES, is_scan, modality_of
from core.runtime.context import Progress, RunContext, drive

# Hysteresis, as in edge detection: a pixel scoring at least this fraction of the threshold joins a
# proposal it touches. A scratch scores unevenly along its length; its weak stretches are kept
# without proposing isolated weak pixels elsewhere. Only for the learned detector, whose scores are
# probabilities: the classical residuals are high all over texture, where hysteresis would flood.
LEARNED = ("detect-learned", "detect-learned-frames")
LOW_FRACTION = dict.fromkeys(LEARNED, 0.3)


def propose(score: np.ndarray, threshold: float, low_fraction: float = 1.0) -> np.ndarray:
    """The proposal for scores (H, W) or (frames, H, W): the one rule the CLI, bench and desktop use."""
    from skimage.filters import apply_hysteresis_threshold

    score = np.asarray(score, np.float32)
    if low_fraction >= 1.0:
        return score >= threshold
    if score.ndim == 3:
        return np.stack([propose(frame, threshold, low_fraction) for frame in score])
    # skimage keeps scores strictly above its thresholds; "from which a pixel is proposed" means at
    # least: the exact rules' marks score 1 and stay proposed at the strictest threshold, 1.
    low, high = (np.nextafter(np.float32(t), np.float32(0)) for t in (low_fraction * threshold, threshold))
    return apply_hysteresis_threshold(score, low, high)


@dataclass(frozen=True)
class RepairRule:
    """How a proposal becomes the mask that detect-and-repair fills. Inpainting a few clean pixels
    costs little and a missed mark costs a lot, so this mask is more generous than the proposal that
    scores best as detection: a lower threshold (`scale` times the detection threshold at the default
    0.5 and below, less lowered above it: `repair_cut`) and `grow` pixels more. A closing by `close`
    px (joining the two edges of a wide stroke) and holes up to `holes` pixels filled (the inside of a
    blotch) are there for scripts/detect_repair_rule.py to weigh; the shipped rule uses neither."""

    scale: float = 1.0
    low_fraction: float = 1.0
    close: int = 0
    holes: int = 0
    grow: int = 0


# Chosen on held-out training images (scripts/detect_repair_rule.py; docs/benchmarks.md), not on a bench.
# Closing and hole filling were dropped in session 50: with the stage-11 detector they filled clean
# picture that crossing scratches close in (0.24 dB lost there) and smoothed a scan's crackled corner
# into a flat patch. The pixel of growth stays for a real crack's dark rim (walk-through 45).
REPAIR_RULES = dict.fromkeys(LEARNED, RepairRule(scale=0.7, low_fraction=0.3, grow=1))


def what_to_check(method_id: str, document: Any = None) -> str:
    """What a detector takes for damage that is not, in a few words ('' if its card names nothing);
    '' on a scan, where `scan_caveat` says what matters (walk-through 47: a CT was told of foliage)."""
    from core.methods import get_method

    if document is not None and is_scan(modality_of(document)):
        return ""
    return get_method(method_id).card.check


def method_for_clip(method: str | None, frame_count: int) -> str:
    """The detection method to run on frames of a clip of `frame_count` frames: `method`, else the
    clip default (the learned detector checked against the neighbouring frames, core.detect.frames:
    alone, it proposed content that stays in the shot, and a repair of a few frames painted a flower
    pot out there and nowhere else), the photos' default on a clip of one frame."""
    return method or default_method("detect", "video", frames=frame_count).card.id


# Detect-and-repair refuses a repair mask over this share of the picture: beyond it, the detection
# marked content, not damage, and inpainting would have little left to fill from.
MOST_TO_REPAIR = 0.5


def check_share_to_repair(mask: np.ndarray, instead: str = "raise --threshold") -> float:
    """The share of the picture `mask` (bool) marks to repair; MethodError beyond MOST_TO_REPAIR,
    saying what to do `instead`."""
    share = float(np.mean(mask)) if np.size(mask) else 0.0
    if share > MOST_TO_REPAIR:
        raise MethodError(
            f"detection marked {share * 100:.1f}% of the picture, over half: content rather than damage;"
            f" {instead}"
        )
    return share


def repair_cut(threshold: float, scale: float) -> float:
    """The repair mask's threshold for a detection threshold: `scale` times it up to 0.5 (the
    default, where the rule was chosen), above it easing to the threshold itself at 1, so the
    strictest end of the app's Sensitivity slider fills no more than the detector is sure of (a
    walk-through: there it still marked much, every mark scoring 0.7 widened down to 0.21)."""
    return max(scale * threshold, threshold - 2.0 * (1.0 - scale) * threshold * (1.0 - threshold))


def repair_mask(score: np.ndarray, threshold: float, rule: RepairRule) -> np.ndarray:
    """The mask to repair for scores (H, W) or (frames, H, W) under `rule`."""
    from skimage.morphology import disk

    score = np.asarray(score, np.float32)
    if score.ndim == 3:
        return np.stack([repair_mask(frame, threshold, rule) for frame in score])
    mask = propose(score, repair_cut(threshold, rule.scale), rule.low_fraction)
    if rule.close:
        import cv2

        kernel = disk(rule.close).astype(np.uint8)
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    if rule.holes:
        mask = _fill_holes(mask, rule.holes)
    if rule.grow:
        from core.masks import dilate

        mask = dilate(mask, rule.grow)
    return mask


# A hole larger than this share of the picture is picture, not the inside of a stain (a 24-px crop
# across a crack had the side beyond it filled: 57% to repair; walk-through 46).
MOST_HOLE_SHARE = 0.03


def _fill_holes(mask: np.ndarray, most: int) -> np.ndarray:
    """`mask` with its holes up to `most` pixels (and MOST_HOLE_SHARE of the picture) filled, but never
    the largest unmarked region: in a picture smaller than `most` that is the picture itself
    (walk-through 45: one speck on a 24-px picture became a mask of all of it)."""
    from scipy import ndimage
    from skimage.morphology import remove_small_holes

    filled = remove_small_holes(mask, max_size=min(most, int(MOST_HOLE_SHARE * mask.size)))
    labels, count = ndimage.label(~mask)
    if count:
        sizes = np.bincount(labels.ravel())[1:]
        filled &= labels != 1 + int(np.argmax(sizes))
    return filled


@dataclass
class Detection:
    """Per-pixel damage scores in [0, 1] and the threshold from which a pixel is proposed."""

    score: np.ndarray  # float32 (frames, H, W)
    threshold: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)  # the method's other parameters, as run

    @property
    def low_fraction(self) -> float:
        return LOW_FRACTION.get(self.method, 1.0)

    def mask(self, threshold: float | None = None, grow: int = 0) -> np.ndarray:
        """The proposal, bool (frames, H, W); `grow` widens it by that many pixels (a disk)."""
        from core.masks import dilate

        cut = self.threshold if threshold is None else float(threshold)
        found = propose(self.score, cut, self.low_fraction)
        if grow > 0:
            found = np.stack([dilate(frame, grow) for frame in found])
        return found

    @property
    def rule(self) -> RepairRule:
        """How this method's proposal becomes the mask to repair."""
        return REPAIR_RULES.get(self.method, RepairRule(low_fraction=self.low_fraction))

    def repair_mask(self, threshold: float | None = None) -> np.ndarray:
        """The mask detect-and-repair fills, bool (frames, H, W): the method's RepairRule applied."""
        cut = self.threshold if threshold is None else float(threshold)
        return repair_mask(self.score, cut, self.rule)

    def repair_step(self, document: Any, frames: list[int] | None = None) -> tuple[np.ndarray, Any]:
        """What detect-and-repair fills in `document` (the one this detection scored) and the
        provenance step saying where it came from: (repair mask bool (frames, H, W), Provenance).
        What `lacuna repair --detect` and `lacuna batch --detect` fill; with `frames`, the ones
        repaired, whose share the step records (as the command line says it)."""
        found = self.repair_mask()  # more generous than the proposal: a missed mark costs more
        from core.io.provenance import source_of

        return found, self.provenance(found[frames] if frames else found, source_of(document))

    def provenance(self, repaired: np.ndarray, source: str = "", edited: bool = False):
        """This detection as a step of a result's provenance, `repaired` (bool) the mask it gave the
        repair (`edited`: by hand too, after or before): whoever reads the sidecar learns that the
        mask was proposed, by what, and how much."""
        import datetime

        from core.documents import Provenance
        from core.version import __version__

        return Provenance(
            method=self.method,
            task="detect",
            params={
                **self.params,
                "threshold": round(float(self.threshold), 4),
                "repair_rule": asdict(self.rule),
                "mask_share": round(float(np.mean(repaired)), 4),
                "edited_by_hand": bool(edited),
            },
            source=source,
            version=__version__,
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            warnings=[
                "the mask started from a detector's proposal and was edited by hand"
                if edited
                else "the mask was proposed by a detector, not painted by a person"
            ],
        )


def scan_caveat(document: Any) -> str | None:
    """What a person must know before filling what detection proposes on a scan; None for photos."""
    modality = modality_of(document)
    if not is_scan(modality):
        return None
    return f"{not_made_for(NAMES.get(modality, 'scans'))}; check every proposed mark before repairing"


def not_made_for(scans: str) -> str:
    """Why detection is not trusted on scans, said alike by `lacuna repair` and `lacuna batch`."""
    return f"damage detection was made for photos and film, not {scans}: anatomy can look like damage to it"


def check_detect_task(tasks: tuple[str, ...], detect: bool) -> None:
    """--detect proposes what to fill: it needs a task that fills marked pixels or spans (inpaint,
    fill-gap), said before anything runs (a walk-through's `--task denoise --detect` denoised the
    scratches' pixels only and left them, and `--task upscale --detect` recorded a detection it
    never used)."""
    from core.tasks import task

    if detect and not any(task(t).default_scope in ("mask", "selection") for t in tasks):
        named = ", ".join(tasks)
        raise MethodError(
            f"--detect proposes what to fill, and {named} fills no marked pixels: use --task inpaint"
            " (photos, scans, video) or --task fill-gap (audio)"
        )


def check_unreviewed(unreviewed: bool, detect: bool) -> None:
    """--unreviewed means something only with --detect (both `lacuna repair` and `lacuna batch`)."""
    if unreviewed and not detect:
        raise MethodError("--unreviewed lets --detect fill what it proposes on scans; give --detect too")


def detect(
    document: Any,
    method: str | None = None,
    threshold: float | None = None,
    ctx: RunContext | None = None,
    **params: Any,
) -> Generator[Progress, None, Detection]:
    """Score `document` (an image or volume document) with a `detect` method."""
    from core.repair import normalise

    pixels = getattr(document, "pixels", None)
    if getattr(document, "kind", "") == "video":  # streamed, not held: detection takes a range of frames
        raise MethodError(
            "a clip is detected a range of frames at a time: `lacuna repair CLIP --detect --frames A-B`"
            " (or `lacuna detect CLIP --frames A-B`); for dust and flicker over a whole film, remove-dust"
            " and deflicker find them themselves"
        )
    if pixels is None:
        raise MethodError("damage detection works on images, volumes and video frames; audio has its own")
    ctx = ctx or RunContext()
    modality = modality_of(document)
    frames = len(pixels)
    chosen = get_method(method) if method else default_method("detect", modality, frames=frames)
    card = chosen.card
    caveat = scan_caveat(document)
    if caveat:  # the proposal would be filled like any other: say so before it is
        ctx.note(caveat)
    if card.task != "detect":
        raise MethodError(f"method {card.id!r} is for {card.task!r}, not damage detection")
    if not card.available:
        raise MethodError(f"method {card.id!r} cannot run: {card.unavailable_reason}")
    resolved = card.resolve_params({**params, **({} if threshold is None else {"threshold": threshold})})
    cut = resolved.pop("threshold")
    normed = normalise(np.asarray(pixels), document.value_range)
    if card.operates_on == "volume":
        if frames < 2:
            raise MethodError(f"{card.name} compares frames; this document has only one")
        score = yield from chosen.run(normed, None, ctx, **resolved)
    else:
        maps = []
        for index in range(frames):
            sub = ctx.sub(index / frames, (index + 1) / frames)
            maps.append((yield from chosen.run(normed[index], None, sub, **resolved)))
        score = np.stack(maps)
    if getattr(document, "mode", "") == "RGBA":  # what is not seen is not damage (walk-through 45)
        score = np.where(normed[..., 3] > 0, score, 0.0)
    yield ctx.progress(1.0, "done")
    return Detection(np.asarray(score, np.float32), float(cut), card.id, resolved)


def detection_window(first: int, last: int, count: int, context: int = 1) -> tuple[int, int]:
    """The frames [lo, hi] to score for frames first..last of `count`: `context` more on each side
    where there are, so that a method comparing frames judges the first and last against a neighbour
    on both sides, not two on one side."""
    return max(first - context, 0), min(last + context, count - 1)


def run_detect(
    document: Any, on_progress: Callable[[Progress], None] | None = None, **kwargs: Any
) -> Detection:
    """Drive `detect` to the end, calling `on_progress` for each report."""
    return drive(detect(document, **kwargs), on_progress)


def detect_image(
    image: np.ndarray,
    method: str | None = None,
    threshold: float | None = None,
    ctx: RunContext | None = None,
    **params: Any,
) -> Detection:
    """Detection on one (H, W, C) float image in [0, 1] (the bench's damaged copies); scores (1, H, W)."""
    from core.documents import ImageDoc

    # On the 8-bit scale, so the engine's normalisation gives back exactly these values.
    doc = ImageDoc(pixels=np.asarray(image, np.float32)[None] * 255.0, dtype="uint8")
    return run_detect(doc, method=method, threshold=threshold, ctx=ctx, **params)

"""Damage detection: score every pixel for how likely it is damage; `core.detect.run` thresholds it.

- detect-learned (default): the project's autoencoder + segmentation head (core/archs/detect.py),
  trained on synthetic scratches, creases, dust, stains, tears and dead pixels drawn on clean photos;
  a second pass at half size finds the whole of a torn border, and exact tests add the stuck pixels
  and dead lines the network misses (`core.detect.signatures`).
- detect-classical: dust-and-scratches residuals (median and morphological top-hats), no training.
- detect-temporal: frames of a video or film scan; a mark present in one frame and not in its
  motion-compensated neighbours; with the same exact tests (a stuck pixel or a line scratch stays
  put from frame to frame, where comparing frames cannot see it).
- detect-learned-frames (the default for a clip's frames): the learned detector on each frame, each
  mark kept as far as it is not on the neighbouring frames too (`core.detect.frames`).

Every `run` returns the score map, float32 in [0, 1]: (H, W) for image methods, (frames, H, W) for
the volume-level methods that compare frames. Each card's `threshold` is the score from which a pixel
is proposed.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

WEIGHTS = "detect.safetensors"
TRUST = (
    " It finds marks that do not belong to photographed content; it cannot tell damage from real"
    " content that looks like it (stars, rain, fine wires, text), and on CT or MR it should not be"
    " trusted: anatomy is not damage."
)


# What the learned detector takes for damage that is not (the real scanned portraits and harbour views),
# in as few words as the Detect damage box has room for.
LEARNED_CHECK = "pale faces and collars, glasses frames, masts, ropes or a hair bow can be proposed too"


def _threshold(default: float) -> Param:
    # Above 0: every score is, so a threshold of 0 proposes the whole picture (a walk-through's repair
    # of it painted a photo over with one brown).
    return Param("threshold", default, "score from which a pixel is proposed (lower finds more)", 0.01, 1.0)


# A stuck pixel or a dead line has an exact signature (core/detect/signatures.py) that the network,
# trained on crops, and the frame comparison, which sees only what changes, both miss.
_SIGNATURES = Param(
    "signatures", True, "also mark stuck pixels and dead lines across the picture (exact tests)"
)


def _colour(image: np.ndarray) -> np.ndarray:
    """RGB planes of an image in [0, 1]: gray is replicated, alpha left out."""
    if image.shape[2] >= 3:
        return image[..., :3]
    return np.repeat(image[..., :1], 3, axis=2)


# A second pass at half size for torn and chipped borders: a tear along a whole image's edge is far
# longer than on the 128-pixel crops the network was trained on, a nearly straight paper-white band
# that looks like a bright border of the picture, and at full size only its inner rim is found. At
# half size it fits the network's view. Only the coarse pass's confident regions that touch the
# image's edge join: elsewhere, at half size, a pale face or collar looks like a stain (seen on the
# real scanned portraits). Chosen on held-out training images with mixed damage: F1 0.779 -> 0.811,
# squared error inside the repair mask 0.79 -> 0.89 of the damage's, detect-and-repair 23.74 -> 24.74 dB.
COARSE_SCALE = 0.5
COARSE_CONFIDENCE = 0.7


# The network learned damage at the scale of its training photos (481 × 321). A smaller photo, a print
# scanned at a lower resolution, holds its scratches and specks finer than that: it is scored enlarged
# to the training photos' long side. Held-out training images with mixed damage, scanned at half and
# three-quarter size: F1 0.664 -> 0.787 and 0.764 -> 0.792, AP 0.745 -> 0.876 and 0.836 -> 0.881
# (scripts/detect_scan_scale.py); enlarged by more than that, or a full-size photo enlarged, worse.
TRAINING_LONG_SIDE = 480
SMALLEST_AS_IS = 400  # px, long side: a photo nearly the training photos' size is scored as it is
MOST_ENLARGED = 4.0
# A print scanned at a high resolution (or photographed whole by a camera) holds its damage coarser
# than the network learned it, so it is scored reduced. The same held-out images scanned at 4x (1924
# px): F1 0.417 as it is, 0.740 at 962 px, 0.793 at 722, 0.800 at 481 (fewer false marks on sepia
# prints at 722; walk-through 45's 6040-px portrait: 0.05% proposed and its scratches missed).
# Between the two, photos are scored as they are: the bench video's 1280-px frames, whose drawn
# damage keeps its size in pixels, and the real scans up to 1016 px stay as they were measured.
LARGEST_AS_IS = 1400  # px, long side
LARGE_SCORED_AT = 720  # px, long side


def auto_scale(image: np.ndarray) -> float:
    """How much to enlarge or reduce `image` (H, W, C) for the network: a photo much smaller than the
    training photos (long side under SMALLEST_AS_IS) to their long side, a photo far larger (over
    LARGEST_AS_IS) to LARGE_SCORED_AT; others not at all."""
    long_side = max(image.shape[:2])
    if long_side > LARGEST_AS_IS:
        return LARGE_SCORED_AT / long_side
    if long_side >= SMALLEST_AS_IS:
        return 1.0
    return min(MOST_ENLARGED, TRAINING_LONG_SIDE / max(long_side, 1))


def _learned_params() -> tuple[Param, ...]:
    """The learned detector's parameters, alone and checked against neighbouring frames."""
    return (
        _threshold(0.5),
        Param(
            "scale",
            0.0,
            "run at this multiple of the size; 0: a photo under 400 px on its long side is enlarged to"
            " the training photos' 480, one over 1400 px (a high-resolution scan) reduced to 720",
            0.0,
            MOST_ENLARGED,
        ),
        Param("coarse", True, "also look at half size for torn and chipped borders"),
        Param(
            "ensemble",
            False,
            "average 8 rotated/flipped passes: a little better on the bench, 5-7× the detection time",
        ),
        _SIGNATURES,
    )


def _run_learned(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    scale: float = 0.0,
    coarse: bool = True,
    ensemble: bool = False,
    signatures: bool = True,
    **_: object,
) -> Generator[Progress, None, np.ndarray]:
    work = np.ascontiguousarray(_colour(image), np.float32)
    scale = scale or auto_scale(work)
    yield ctx.progress(0.0, "looking for damage")
    if not coarse:
        score = yield from _learned_pass(work, scale, ensemble, ctx)
    else:
        score = yield from _learned_pass(work, scale, ensemble, ctx.sub(0.0, 0.8))
        half = scale * COARSE_SCALE
        message = "detecting at half size, tile"
        wide = yield from _learned_pass(work, half, ensemble, ctx.sub(0.8, 1.0), message)
        score = np.maximum(score, np.where(_from_border(wide >= COARSE_CONFIDENCE), wide, 0.0))
    return _with_signatures(score, work, signatures)


def _with_signatures(score: np.ndarray, image: np.ndarray, signatures: bool) -> np.ndarray:
    """`score` (H, W) with the exact defects of `image` (H, W, 3) scored 1, when `signatures` is on."""
    from core.detect.signatures import exact_defects

    if signatures:
        score = np.where(exact_defects(image), 1.0, score)
    return score.astype(np.float32)


def _each_with_signatures(scores: np.ndarray, frames: np.ndarray, signatures: bool) -> np.ndarray:
    """`_with_signatures` on each frame of a stack (frames, H, W, C) and its scores (frames, H, W)."""
    return np.stack([_with_signatures(s, _colour(f), signatures) for s, f in zip(scores, frames)])


def _from_border(mask: np.ndarray) -> np.ndarray:
    """The parts of `mask` (H, W) that touch the image's edge: where tears and chips come in from."""
    from scipy import ndimage

    labels, count = ndimage.label(mask)
    keep = np.zeros(count + 1, bool)
    keep[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    keep[0] = False  # the background
    return keep[labels]


def _learned_pass(
    work: np.ndarray, scale: float, ensemble: bool, ctx: RunContext, message: str = "detecting, tile"
) -> Generator[Progress, None, np.ndarray]:
    """The network's probabilities for RGB `work` (H, W, 3) run at `scale` of its size, at full size."""
    import cv2
    import torch

    from core.archs import cached_weights
    from core.methods import weights
    from core.runtime.ensemble import self_ensemble
    from core.runtime.tiling import run_tiled

    model, _info = cached_weights(weights.require(WEIGHTS), ctx.torch_device())
    height, width = work.shape[:2]
    if scale != 1.0:
        size = (max(16, round(width * scale)), max(16, round(height * scale)))
        enlarge = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_AREA
        work = np.clip(cv2.resize(work, size, interpolation=enlarge), 0.0, 1.0)

    def probability(tile: torch.Tensor) -> torch.Tensor:
        logits, _reconstruction = model(tile)
        return torch.sigmoid(logits)

    def score(tile: torch.Tensor) -> torch.Tensor:
        return self_ensemble(probability, tile, count=8 if ensemble else 1)

    result = yield from run_tiled(score, work, ctx, overlap=32, message=message, pixel_bytes=1024)
    result = result[..., 0]
    if scale != 1.0:
        back = cv2.INTER_AREA if scale > 1.0 else cv2.INTER_LINEAR
        result = cv2.resize(result, (width, height), interpolation=back)
    return np.clip(result, 0.0, 1.0).astype(np.float32)


def _run_classical(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    radius: int = 3,
    line_length: int = 9,
    **_: object,
) -> Generator[Progress, None, np.ndarray]:
    from core.detect.classical import dust_and_scratches

    yield ctx.progress(0.0, "measuring residuals")
    return dust_and_scratches(_colour(image), radius, line_length)


def _run_learned_frames(
    frames: np.ndarray, mask: np.ndarray | None, ctx: RunContext, signatures: bool = True, **params: object
) -> Generator[Progress, None, np.ndarray]:
    from core.detect.classical import departures
    from core.detect.frames import checked_against_neighbours

    count = frames.shape[0]
    scores = []
    for t in range(count):  # the exact rules after the check: what they find stays put
        sub = ctx.sub(0.8 * t / count, 0.8 * (t + 1) / count)
        scores.append((yield from _run_learned(frames[t], None, sub, signatures=False, **params)))
    yield ctx.progress(0.8, f"comparing {count} frames with their neighbours")
    checked = checked_against_neighbours(np.stack(scores), departures(frames))
    yield ctx.progress(1.0, f"compared {count} frames")
    return _each_with_signatures(checked, frames, signatures)


def _run_temporal(
    frames: np.ndarray, mask: np.ndarray | None, ctx: RunContext, signatures: bool = True, **_: object
) -> Generator[Progress, None, np.ndarray]:
    from core.detect.classical import temporal

    count = frames.shape[0]
    done: list[int] = []
    yield ctx.progress(0.0, f"comparing {count} frames with their neighbours")
    scores = temporal(frames, on_frame=done.append)
    yield ctx.progress(1.0, f"compared {len(done)} frames")
    return _each_with_signatures(scores, frames, signatures)


register(
    MethodCard(
        id="detect-learned",
        task="detect",
        name="Learned damage detector (autoencoder)",
        kind="learned",
        description="Proposes scratches, creases, dust, stains and tears with a network trained by the"
        " project; photos, gray or colour, 8 or 16 bit. Bright smooth areas of old sepia portraits"
        " (faces, collars) and thin bright objects on a dark ground (a mast, rigging, a rope, a hair"
        " bow) can be proposed too, and a repair then smears them: check the mask before repairing." + TRUST,
        modalities=("photo", "gray"),
        params=_learned_params(),
        weights=(WEIGHTS,),
        default=True,
        check=LEARNED_CHECK,
    ),
    _run_learned,
)

register(
    MethodCard(
        id="detect-learned-frames",
        task="detect",
        name="Learned detector, checked against neighbouring frames",
        kind="learned",
        description="For video and film frames: the learned damage detector on each frame, each mark"
        " kept only as far as it is not on the frames before and after it too (after optical-flow"
        " alignment), so content that stays in the shot is not proposed; damage that stays too (a"
        " scratch running through the shot) is left to the learned detector on its own." + TRUST,
        modalities=("video", "film"),
        params=_learned_params(),
        weights=(WEIGHTS,),
        operates_on="volume",
        clip_default=True,
        check="masts, ropes and pale smooth areas can be proposed too",
    ),
    _run_learned_frames,
)

register(
    MethodCard(
        id="detect-classical",
        scan_default=True,
        task="detect",
        name="Dust and scratches (median and top-hat residuals)",
        kind="classical",
        description="Marks pixels that stand out from their neighbourhood; no training, but texture and"
        " fine detail are proposed too." + TRUST,
        check="fine texture (foliage, knit, rigging, hair) is proposed too",
        modalities=("photo", "gray"),
        params=(
            _threshold(0.375),
            Param("radius", 3, "median window radius in pixels (specks up to about this size)", 1, 10),
            Param("line_length", 9, "top-hat window in pixels (lines thinner than this)", 3, 31),
        ),
    ),
    _run_classical,
)

register(
    MethodCard(
        id="detect-temporal",
        task="detect",
        name="Temporal speck detector (motion-compensated)",
        kind="classical",
        description="For video and film frames: marks what is in one frame and not in its neighbours"
        " after optical-flow alignment. Needs at least two frames; fast motion and scene cuts"
        " can be proposed too.",
        check="fast motion can be proposed too",
        modalities=("video", "film"),
        params=(_threshold(0.15), _SIGNATURES),
        operates_on="volume",
    ),
    _run_temporal,
)

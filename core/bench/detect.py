"""`lacuna bench detect`: damage detection on bench images with fixed-seed synthetic damage.

    lacuna bench detect --set ../shared/datasets/images/bench/CBSD68 --damage scratches,dust,blotches,mixed
    lacuna bench detect --set .../CBSD68 --damage mixed --repair          # + detect-and-repair PSNR
    lacuna bench detect --video ../shared/datasets/video/bench --frames 6 # frames of the bench clips
    lacuna bench detect --real ../shared/datasets/images/real_damage --figure docs/figures/detect_real.png

Protocol: image i (in name order) of the set gets `core.detect.damage.draw(clean, kinds, seed)` with
seed = i + 10000 * (position of the damage group in scratches, dust, blotches, mixed), so a group's
damage does not depend on which others were asked for. Every method runs through `core.detect.run`
as a user's detection would, at its card's default threshold. Scores, pooled over all pixels of the
set: average precision (threshold-free), F1 and IoU of the proposal at the threshold.
`--repair` also fills each image with learned inpainting on the method's repair mask (what `lacuna
repair --detect` fills: `Detection.repair_mask`), on the true mask, and reports PSNR over the whole
image next to the damaged input's. Video: the first `--frames` frames of
each clip, each frame with its own damage (seed = frame + 1000 * clip); the methods that compare
frames see the whole stack; each method also runs on the same frames undamaged, and the share of
their pixels it proposes is content a repair would have changed ("clean frames marked %").
`--real` has no ground truth: it writes a figure of the proposals to judge by eye.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.bench.common import SUFFIXES, check_methods, emit, own_params
from core.bench.metrics import psnr
from core.detect.damage import GROUPS
from core.errors import LacunaError

GROUP_ORDER = ("scratches", "dust", "blotches", "mixed")
BINS = 1000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench detect", description=__doc__.split("\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--set", help="a folder of clean bench images")
    where.add_argument("--video", help="a folder of bench video clips (frames decoded with OpenCV)")
    where.add_argument("--real", help="a folder of really damaged photos: proposals figure only")
    p.add_argument("--damage", default="mixed", help=f"comma-separated groups: {', '.join(GROUP_ORDER)}")
    p.add_argument("--method", nargs="+", default=None, help="detect method ids (default: all that apply)")
    p.add_argument("--limit", type=int, default=0, help="only the first N images (or clips)")
    p.add_argument("--frames", type=int, default=6, help="video: frames per clip")
    p.add_argument("--repair", action="store_true", help="also detect-and-repair PSNR (learned inpainting)")
    p.add_argument("--grow", type=int, default=0, help="widen repair masks by this many pixels more")
    p.add_argument("--gray", action="store_true", help="read the set as gray (BSD68 is gray already)")
    p.add_argument("--weights", default=None, help="a folder to take detect.safetensors from")
    p.add_argument("--device", default="auto")
    p.add_argument("--figure", default=None, help="--real: write the proposals figure here (PNG)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="for methods that take K")
    p.add_argument("--json", action="store_true")
    return p


# --- scores ---------------------------------------------------------------------------------------------


class PixelScores:
    """Pooled pixel counts for one (damage, method): score histograms for AP, hits at the threshold."""

    def __init__(self) -> None:
        self.positive = np.zeros(BINS, np.int64)
        self.negative = np.zeros(BINS, np.int64)
        self.hits = self.proposed = self.actual = 0
        self.images = 0

    def add(self, score: np.ndarray, proposal: np.ndarray, truth: np.ndarray) -> None:
        bins = np.minimum((np.asarray(score, np.float64) * BINS).astype(np.int64), BINS - 1)
        self.positive += np.bincount(bins[truth], minlength=BINS)
        self.negative += np.bincount(bins[~truth], minlength=BINS)
        self.hits += int(np.count_nonzero(proposal & truth))
        self.proposed += int(np.count_nonzero(proposal))
        self.actual += int(np.count_nonzero(truth))
        self.images += 1

    def average_precision(self) -> float:
        """Area under the precision-recall curve, thresholds at the histogram's bin edges (high to low)."""
        tp = np.cumsum(self.positive[::-1])
        fp = np.cumsum(self.negative[::-1])
        total = max(int(self.positive.sum()), 1)
        precision = tp / np.maximum(tp + fp, 1)
        recall = tp / total
        return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))

    def best_threshold(self) -> tuple[float, float]:
        """(threshold, F1) with the highest F1 over the bin edges: an oracle on a bench set, the way to
        choose a method's default threshold on a training set."""
        tp = np.cumsum(self.positive[::-1])[::-1]  # tp[b]: positives scoring at least b / BINS
        fp = np.cumsum(self.negative[::-1])[::-1]
        f1 = 2.0 * tp / np.maximum(tp + fp + int(self.positive.sum()), 1)
        best = int(np.argmax(f1))
        return best / BINS, float(f1[best])

    def summary(self) -> dict[str, float]:
        best = self.best_threshold()
        precision = self.hits / max(self.proposed, 1)
        recall = self.hits / max(self.actual, 1)
        return {
            "AP": round(self.average_precision(), 4),
            "F1": round(2.0 * self.hits / max(self.proposed + self.actual, 1), 4),
            "IoU": round(self.hits / max(self.proposed + self.actual - self.hits, 1), 4),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "best threshold": round(best[0], 3),
            "F1 there": round(best[1], 4),
            "images": self.images,
        }


def psnr_entry(values: list[float]) -> float:
    return round(float(np.mean(values)), 3)


# --- data -----------------------------------------------------------------------------------------------


def load_clean(folder: str | Path, gray: bool, limit: int) -> list[tuple[str, np.ndarray]]:
    """(name, float32 (H, W, C) in [0, 1]) per image; gray files stay one channel."""
    from PIL import Image

    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
    if not files:
        raise LacunaError(f"no images in {folder}")
    images = []
    for path in files[: limit or None]:
        with Image.open(path) as im:
            mode = "L" if gray or im.mode in ("L", "I;16", "I") else "RGB"
            arr = np.asarray(im.convert(mode), np.float32) / 255.0
        images.append((path.stem, arr[..., None] if arr.ndim == 2 else arr))
    return images


def parse_groups(text: str) -> list[str]:
    groups = [g.strip() for g in text.split(",") if g.strip()]
    for g in groups:
        if g not in GROUPS:
            raise LacunaError(f"unknown damage {g!r}; choose from {', '.join(GROUP_ORDER)}")
    return groups


def choose_methods(asked: list[str] | None, frames: bool) -> list[str]:
    from core.methods import methods

    if asked:
        return check_methods(asked, "detect")
    return [c.id for c in methods("detect") if c.available and (frames or c.operates_on == "image")]


# --- runs -----------------------------------------------------------------------------------------------


def bench_images(args: argparse.Namespace) -> tuple[list[dict], dict]:
    from core.detect.damage import draw
    from core.detect.run import detect_image
    from core.runtime.context import RunContext

    images = load_clean(args.set, args.gray, args.limit)
    method_ids = choose_methods(args.method, frames=False)
    rows, summary = [], {}
    for group in parse_groups(args.damage):
        scores = {m: PixelScores() for m in method_ids}
        repair: dict[str, list[float]] = {}
        for index, (_name, clean) in enumerate(images):
            seed = index + 10000 * GROUP_ORDER.index(group)
            damaged, truth = draw(clean, group, np.random.default_rng(seed))
            damaged = np.round(damaged * 255.0) / 255.0  # what an 8-bit file would hold
            proposals = {}
            for method_id in method_ids:
                own = own_params(method_id, args.param)
                found = detect_image(damaged, method=method_id, ctx=RunContext(device=args.device), **own)
                proposal = found.mask(grow=0)[0]
                scores[method_id].add(found.score[0], proposal, truth)
                proposals[method_id] = repair_proposal(found, args.grow)
            if args.repair:
                for key, value in repair_scores(clean, damaged, truth, proposals, args.device).items():
                    repair.setdefault(key, []).append(value)
        for method_id in method_ids:
            entry = {"damage": group, "method": method_id, **scores[method_id].summary()}
            if args.repair:
                entry["repair PSNR"] = psnr_entry(repair[method_id])
            rows.append(entry)
        if args.repair:
            summary[f"{group}: damaged input PSNR"] = psnr_entry(repair["damaged"])
            summary[f"{group}: repair with the true mask PSNR"] = psnr_entry(repair["true mask"])
    return rows, summary


def repair_proposal(found, grow: int) -> np.ndarray:
    """The mask `lacuna repair --detect` would fill (the method's repair rule), widened by `grow`."""
    from core.masks import dilate

    mask = found.repair_mask()[0]
    return dilate(mask, grow) if grow else mask


def repair_scores(
    clean, damaged, truth, proposals: dict[str, np.ndarray], device: str, with_truth: bool = True
) -> dict[str, float]:
    """Whole-image PSNR (0..255) of the damaged input and of learned inpainting on each mask (and on
    the true mask, unless `with_truth` is false)."""
    from core.documents import ImageDoc
    from core.repair import run_repair
    from core.runtime.context import RunContext

    doc = ImageDoc(pixels=(damaged * 255.0)[None].astype(np.float32), dtype="uint8")
    reference = clean * 255.0
    out = {"damaged": psnr(damaged * 255.0, reference)}
    masks = {"true mask": truth, **proposals} if with_truth else proposals
    for key, mask in masks.items():
        if not mask.any():
            out[key] = out["damaged"]
            continue
        result = run_repair(
            doc, "inpaint", method="inpaint-learned", mask=mask, ctx=RunContext(device=device)
        )
        out[key] = psnr(np.round(result.pixels[0]), reference)
    return out


def bench_video(args: argparse.Namespace) -> tuple[list[dict], dict]:
    from core.detect.damage import draw
    from core.detect.run import run_detect
    from core.documents import ImageDoc
    from core.runtime.context import RunContext

    method_ids = choose_methods(args.method, frames=True)
    clips = sorted(
        p for p in Path(args.video).iterdir() if p.suffix.lower() in (".mp4", ".webm", ".mkv", ".avi")
    )
    if not clips:
        raise LacunaError(f"no video clips in {args.video}")
    scores = {m: PixelScores() for m in method_ids}
    clean_marked: dict[str, list[float]] = {}
    rows = []
    for clip_index, clip in enumerate(clips[: args.limit or None]):
        frames = read_frames(clip, args.frames)
        damaged, truths = [], []
        for t, frame in enumerate(frames):
            hurt, truth = draw(
                frame, ("dust", "blotch", "scratch"), np.random.default_rng(t + 1000 * clip_index)
            )
            damaged.append(np.round(hurt * 255.0))
            truths.append(truth)
        doc = ImageDoc(pixels=np.stack(damaged).astype(np.float32), dtype="uint8")
        clean = ImageDoc(pixels=np.round(np.stack(frames) * 255.0).astype(np.float32), dtype="uint8")
        for method_id in method_ids:
            own = own_params(method_id, args.param)
            found = run_detect(doc, method=method_id, ctx=RunContext(device=args.device), **own)
            per_clip = PixelScores()
            for t in range(len(frames)):
                proposal = found.mask()[t]
                scores[method_id].add(found.score[t], proposal, truths[t])
                per_clip.add(found.score[t], proposal, truths[t])
            # what it proposes on the same frames undamaged: content it would have repaired away
            marked = float(
                run_detect(clean, method=method_id, ctx=RunContext(device=args.device), **own).mask().mean()
            )
            clean_marked.setdefault(method_id, []).append(marked)
            rows.append(
                {"clip": clip.name, "method": method_id, **per_clip.summary(), CLEAN: _percent(marked)}
            )
    rows += [
        {"clip": "all clips", "method": m, **scores[m].summary(), CLEAN: _percent(np.mean(clean_marked[m]))}
        for m in method_ids
    ]
    return rows, {}


CLEAN = "clean frames marked %"


def _percent(share: float) -> float:
    return round(100.0 * float(share), 3)


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first `count` frames of a clip as float32 RGB in [0, 1] (OpenCV's FFmpeg backend)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while len(frames) < count:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame[..., ::-1].astype(np.float32) / 255.0)
    finally:
        capture.release()
    if len(frames) < 2:
        raise LacunaError(f"{path.name}: could not decode two frames with OpenCV")
    return frames


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.weights:
        from core.bench.common import use_weights_folder

        use_weights_folder(args.weights)
    if args.real:
        from core.bench.detect_figure import real_figure

        if not args.figure:
            raise LacunaError("--real writes a figure: give --figure PATH.png")
        path = real_figure(args.real, args.figure, choose_methods(args.method, frames=False), args.device)
        print(f"figure: {path}")
        return 0
    if args.video:
        rows, summary = bench_video(args)
        title = f"Damage detection on frames of {Path(args.video).name} ({args.frames} per clip)"
    else:
        rows, summary = bench_images(args)
        title = f"Damage detection on {Path(args.set).name} ({args.damage})"
    emit(rows, summary, args.json, title)
    return 0

"""Training recipe for `lacuna train fill-frames`: the flow-refining interpolation network.

Data (`--data`): the clips of the folders given (video/train) and the still images of any folder
(images/train/color432). Clip frames are scaled to 640 and to 320 pixels wide and kept in
memory-mapped cache files, so a long clip costs disk, not memory. A sample is two frames `g` apart
(g = 2, 3 or 4) and one between them at t = m/g, from one shot: pairs that span a scene cut or hold
a frozen frame (found by `core.video.damage`) are never drawn; the last 10% of each clip is held out
for validation. The frame just before and just after the two are given too, as at inference, so the
motion can follow a curve (`core.video.interpolate.displacements`); each is withheld one time in
five (the clip's end, a cut), and the motion is then straight on that side. Stills give synthetic
motion: the whole picture moves along a curve (shift with a bend the inference's bound allows, small
rotation and zoom), and a patch of another picture slides over it at another speed, making
occlusions; half are JPEG-compressed. Crops are flipped at random and time is reversed half the
time. DIS flow between the two outer frames is computed as at inference: on whole clip frames (once,
into the cache, then cropped with the frames; flow computed on a crop alone is worse near its borders
than on the frame, and the network would learn to mend faults it never meets), and for stills on a
view 32 pixels wider on each side than the crop.

    nice -n 19 lacuna train fill-frames --data ../shared/datasets/video/train \
        ../shared/datasets/images/train/color432 --out resources/weights/fill-frames.safetensors \
        --steps 6000 --batch 8 --crop 160 --time-limit 3600 --resume
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from core.errors import ReadError
from core.train.recipe import Recipe
from core.video.interpolate import BEND_LIMIT, dense_flow, displacements

# Clip frames are scaled to these widths: the bench and users' clips run from 176 to 1280 pixels
# wide at their own size, so motion and detail come at more than one scale.
CLIP_WIDTHS = (640, 320)
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi"}
STILL_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
HOLD_OUT = 0.1
GAPS = (2, 3, 4)  # frames between the two a sample interpolates from
FLOW_GAPS = (1, *GAPS)  # gap 1: from each frame to the one just outside
WITHHELD = 0.2  # how often a side's outer frame is left out (straight-line motion on that side)
STILL_MARGIN = 32  # flow for a still's crop is computed on a view this much wider on each side
# Largest bend of a still's synthetic motion, as a fraction of its shift. The bend at time t is
# 4 t (1 - t) times it, within BEND_LIMIT times the straight motion t * shift for every t in (0, 1).
STILL_BEND = BEND_LIMIT / 4
STILL_COMPRESSED = 0.5  # share of still samples JPEG-compressed (quality 50-95), all five frames alike


def _flows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return dense_flow(a, b), dense_flow(b, a)


def _bend(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    """A random bend (the departure from the straight line at t = 1/2) of at most STILL_BEND of the
    shift: the curve then stays within BEND_LIMIT at every t, so the target frame is one the bounded
    motion of inference can reach (a stage trained on bends of up to 8 px lost 1.3 dB on held-out
    clips; the shipped stage, with them held, gained on every bench clip)."""
    angle = rng.uniform(0, 2 * np.pi)
    return rng.uniform(0, STILL_BEND) * np.linalg.norm(shift) * np.array([np.cos(angle), np.sin(angle)])


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


class ClipFrames:
    """The frames of one clip at one width, in a memory-mapped cache, and the triplets one may draw."""

    def __init__(self, frames: np.ndarray, bad: set[int], flows_file: Path):
        self.frames = frames
        self.bad = bad
        self.count = len(frames)
        self.split = int(self.count * (1 - HOLD_OUT))
        # flows[g, s] = (s -> s + gap, s + gap -> s) for FLOW_GAPS[g], in float16 (a hundredth of a pixel)
        self.flows = np.lib.format.open_memmap(
            flows_file,
            mode="w+",
            dtype=np.float16,
            shape=(len(FLOW_GAPS), self.count, 2, *frames.shape[1:3], 2),
        )
        self.neighbours = {v: set(self.starts(1, v)) for v in (False, True)}  # s: s and s + 1 in one shot
        for g, gap in enumerate(FLOW_GAPS):
            for start in self.starts(gap, False) + self.starts(gap, True):
                self.flows[g, start] = _flows(self.frames[start], self.frames[start + gap])

    @classmethod
    def at_widths(cls, path: Path, cache: Path) -> list[ClipFrames]:
        """The clip at every CLIP_WIDTHS: decoded once, and shots and damage found once, on the clip as
        it is."""
        from core.io import read
        from core.video.damage import scan

        doc = read(path)
        bad = {d.frame for d in scan(doc) if d.kind in ("cut", "duplicate", "undecodable", "corrupt")}
        sizes = [(width, round(doc.info.height * width / doc.info.width) // 2 * 2) for width in CLIP_WIDTHS]
        names = [f"{doc.path.stem}.{width}" for width in CLIP_WIDTHS]
        scaled = [
            np.lib.format.open_memmap(
                cache / f"{name}.npy", mode="w+", dtype=np.uint8, shape=(doc.frame_count, h, w, 3)
            )
            for name, (w, h) in zip(names, sizes)
        ]
        for index, frame in doc.frames():
            if frame is not None:
                for frames, size in zip(scaled, sizes):
                    frames[index] = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return [cls(frames, bad, cache / f"{name}.flows.npy") for frames, name in zip(scaled, names)]

    def starts(self, gap: int, validation: bool) -> list[int]:
        lo, hi = (self.split, self.count - gap) if validation else (0, self.split - gap)
        return [s for s in range(lo, hi) if not any(s < f <= s + gap for f in self.bad)]


class InterpolationData:
    """`batch()` gives (B, 18, crop, crop): frame0, frame1, frame_t (3 each), flow01, flow10, motion0,
    motion1 (2 each), t."""

    def __init__(self, folders: list[str], log=print):
        self.cache = Path(tempfile.mkdtemp(prefix="lacuna-interp-"))
        weakref.finalize(self, shutil.rmtree, self.cache, True)  # the frame cache goes with the data
        self.clips: list[ClipFrames] = []
        self.stills: list[np.ndarray] = []
        for folder in folders:
            for path in sorted(Path(folder).iterdir()):
                if path.suffix.lower() in VIDEO_SUFFIXES:
                    self.clips += ClipFrames.at_widths(path, self.cache)
                    log(f"{path.name}: {self.clips[-1].count} frames")
                elif path.suffix.lower() in STILL_SUFFIXES:
                    self.stills.append(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
        if not self.clips and not self.stills:
            raise ReadError(f"no clips or images in {folders}")
        log(f"{len(self.clips)} clips, {len(self.stills)} stills")

    def batch(self, size: int, crop: int, generator: torch.Generator) -> torch.Tensor:
        rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
        samples = []
        for _ in range(size):
            use_clip = self.clips and (not self.stills or rng.random() < 0.6)
            sample = self._clip_sample(rng, crop) if use_clip else self._still_sample(rng, crop)
            samples.append(_pack(*sample, rng))
        return torch.from_numpy(np.stack(samples))

    def _clip_sample(self, rng: np.random.Generator, crop: int, validation: bool = False):
        # Every triplet alike likely: a short clip drawn as often as a long one was learnt by heart.
        clips = [c for c in self.clips if min(c.frames.shape[1:3]) >= crop]
        clip = clips[rng.choice(len(clips), p=_shares([c.count for c in clips]))]
        gap = int(rng.choice([2, 2, 3, 4]))
        starts = clip.starts(gap, validation)
        if not starts:
            gap, starts = 2, clip.starts(2, validation)
        s = int(rng.choice(starts))
        m = int(rng.integers(1, gap))
        h, w = clip.frames.shape[1:3]
        y, x = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
        window = clip.frames[[s, s + m, s + gap], y : y + crop, x : x + crop]
        flows = clip.flows[FLOW_GAPS.index(gap), s, :, y : y + crop, x : x + crop].astype(np.float32)
        near = clip.flows[0, :, :, y : y + crop, x : x + crop]
        ok = clip.neighbours[validation]
        g0 = near[s - 1, 1].astype(np.float32) if s - 1 in ok and rng.random() >= WITHHELD else None
        g1 = near[s + gap, 0].astype(np.float32) if s + gap in ok and rng.random() >= WITHHELD else None
        t = m / gap
        d0, d1 = displacements(t, flows[0], flows[1], g0, -1 / gap, g1, 1 + 1 / gap)
        return window[0], window[2], window[1], t, flows[0], flows[1], d0, d1

    def _still_sample(self, rng: np.random.Generator, crop: int):
        back = self.stills[rng.integers(len(self.stills))]
        front = self.stills[rng.integers(len(self.stills))]
        gap = int(rng.integers(2, 5))
        t, outer = int(rng.integers(1, gap)) / gap, 1 / gap
        shift, patch_shift = rng.uniform(-16, 16, 2), rng.uniform(-24, 24, 2)
        accel, patch_accel = _bend(rng, shift), _bend(rng, patch_shift)  # bend at t = 1/2, pixels
        angle, zoom = rng.uniform(-3, 3), rng.uniform(-0.03, 0.03)
        size = int(rng.integers(crop // 4, crop // 2))
        py, px = rng.integers(0, front.shape[0] - size), rng.integers(0, front.shape[1] - size)
        patch = front[py : py + size, px : px + size]
        view_side = crop + 2 * STILL_MARGIN
        at = STILL_MARGIN + rng.integers(0, crop - size, 2)
        centre = (back.shape[1] / 2, back.shape[0] / 2)
        frames = []
        for tau in (-outer, 0.0, t, 1.0, 1.0 + outer):
            bend = 4 * tau * (1 - tau)  # 1 at tau = 1/2, 0 at both frames
            matrix = cv2.getRotationMatrix2D(centre, angle * tau, 1 + zoom * tau)
            matrix[:, 2] += shift * tau + accel * bend
            moved = cv2.warpAffine(
                back, matrix, (back.shape[1], back.shape[0]), borderMode=cv2.BORDER_REFLECT
            )
            oy = (moved.shape[0] - view_side) // 2
            ox = (moved.shape[1] - view_side) // 2
            view = moved[oy : oy + view_side, ox : ox + view_side].copy()
            place = at + patch_shift * tau + patch_accel * bend
            y, x = np.clip(np.round(place).astype(int), 0, view_side - size)
            view[y : y + size, x : x + size] = patch
            frames.append(view)
        if rng.random() < STILL_COMPRESSED:  # as a video codec leaves them
            quality = int(rng.integers(50, 96))
            frames = [_jpeg(f, quality) for f in frames]
        before, a, mid, b, after = frames
        f01, f10 = _flows(a, b)
        g0 = dense_flow(a, before) if rng.random() >= WITHHELD else None
        g1 = dense_flow(b, after) if rng.random() >= WITHHELD else None
        d0, d1 = displacements(t, f01, f10, g0, -outer, g1, 1 + outer)
        inner = slice(STILL_MARGIN, STILL_MARGIN + crop)
        return (*(f[inner, inner] for f in (a, b, mid)), t, *(f[inner, inner] for f in (f01, f10, d0, d1)))

    def validation(self, count: int, crop: int) -> list[torch.Tensor]:
        rng = np.random.default_rng(12345)
        held = []
        for _ in range(count if self.clips else 0):
            sample = self._clip_sample(rng, crop, validation=True)
            held.append(torch.from_numpy(_pack(*sample, None))[None])
        return held


def _shares(counts: list[int]) -> np.ndarray:
    return np.asarray(counts, dtype=np.float64) / sum(counts)


def _pack(
    a: np.ndarray,
    b: np.ndarray,
    mid: np.ndarray,
    t: float,
    f01: np.ndarray,
    f10: np.ndarray,
    d0: np.ndarray,
    d1: np.ndarray,
    rng: np.random.Generator | None,
) -> np.ndarray:
    fields = [f01, f10, d0, d1]  # flows and motions: (H, W, 2) in pixels
    if rng is not None:
        if rng.random() < 0.5:  # time reversed: the frames, their flows and their motions swap
            a, b, t, fields = b, a, 1 - t, [f10, f01, d1, d0]
        if rng.random() < 0.5:  # mirrored left-right: flows point the other way in x
            a, b, mid = a[:, ::-1], b[:, ::-1], mid[:, ::-1]
            fields = [f[:, ::-1] * np.float32([-1, 1]) for f in fields]
        if rng.random() < 0.5:
            a, b, mid = a[::-1], b[::-1], mid[::-1]
            fields = [f[::-1] * np.float32([1, -1]) for f in fields]
    pictures = np.concatenate([a, b, mid], axis=-1).astype(np.float32) / 255.0
    t_map = np.full(a.shape[:2] + (1,), t, np.float32)
    return np.concatenate([pictures, *fields, t_map], axis=-1).transpose(2, 0, 1).copy()


def _unpack(batch: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    a, b, mid = batch[:, 0:3], batch[:, 3:6], batch[:, 6:9]
    f01, f10, d0, d1 = (batch[:, c : c + 2] for c in (9, 11, 13, 15))
    return (a, b, f01, f10, d0, d1, batch[:, 17, 0, 0]), mid


class FillFramesRecipe(Recipe):
    task = "fill-frames"
    arch = "flow_refine_interp"
    default_steps = 6000
    default_batch = 8
    default_crop = 160
    default_lr = 5e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--width", type=int, default=32, help="features at half resolution")
        parser.add_argument("--fusion", type=int, default=16, help="features at full resolution")

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"width": args.width, "fusion": args.fusion}

    def load_data(self, args: argparse.Namespace) -> InterpolationData:
        return InterpolationData(args.data, log=lambda line: print(line, flush=True))

    def load_validation(self, args: argparse.Namespace, data: InterpolationData) -> list[torch.Tensor]:
        held = data.validation(args.val_count * 4, args.crop)
        if held and not args.resume:  # the bar to beat: the classical method (untrained) or the start
            start = "the starting network" if getattr(args, "init", None) else "classical flow"
            print(f"{start} on validation: {self.validate(held, None):.2f} dB", flush=True)
        return held

    def make_batch(self, clean: torch.Tensor, generator: torch.Generator):
        return _unpack(clean)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((pred - target) ** 2 + 1e-6).mean()  # Charbonnier

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean PSNR on held-out clip samples (the last 10% of each training clip)."""
        self.model.eval()
        scores = []
        for sample in images:
            inputs, target = _unpack(sample.to(self.device))
            pred = self.model(*inputs).clamp(0, 1)
            mse = torch.mean((pred - target) ** 2).item()
            scores.append(10 * np.log10(1.0 / max(mse, 1e-12)))
        return float(np.mean(scores)) if scores else 0.0

    def card_info(self) -> dict[str, Any]:
        return {"task": self.task, "note": "refines DIS optical flow; inputs in [0, 1], flows in pixels"}

    def export_model(self) -> nn.Module:
        return self.model


RECIPE = FillFramesRecipe

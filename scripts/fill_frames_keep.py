"""What fill-frames gains by keeping the parts of a frame it rebuilds in place that agree with the
rebuilt picture (core.video.agree), against the rebuilt picture alone.

Each clip's first 150 frames are encoded with H.264 (at most 640 wide); then, one at a time, the packet
of every `--every`-th P or B frame (from frame 5 on) gets random bytes over its last 67%, 25% and 8%
(fixed seeds), as a damaged download or disk does; the damaged clip is scanned and repaired with
`fill-frames-flow --fix damaged`. Every frame rebuilt in place whose damaged copy still decodes is
scored (PSNR, RGB, against the clean decode): the damaged copy as decoded, the interpolation alone,
and the interpolation with the agreeing parts kept. Frames whose damaged copy equals the clean decode
are frames the scan doubted wrongly; they are counted apart, with the good frames `--good` rebuilds
(as a range over a frame where the scan found nothing does).

`--pans N` adds N fast pans (6-11 px a frame) across training photos (images/train/color432, not its
last 8), made here: the training clips hold little fast motion. The tolerances were set on the
training clips and these pans:

    OMP_NUM_THREADS=2 python scripts/fill_frames_keep.py ../shared/datasets/video/train/* --pans 6 --every 4
    OMP_NUM_THREADS=2 python scripts/fill_frames_keep.py ../shared/datasets/video/bench/* --every 13 --good 10
"""

from __future__ import annotations

import argparse
import fractions
import tempfile
from pathlib import Path

import cv2
import numpy as np

from core.bench.metrics import psnr
from core.errors import NothingToDoError
from core.io import read
from core.runtime.context import RunContext, drive
from core.video.backend import av
from core.video.fill import fill_frames
from core.video.interpolate import flow

FRAMES = 150
WIDTH = 640
PARTS = (0.67, 0.25, 0.08)  # share of the packet overwritten
TRAIN_PHOTOS = Path(__file__).resolve().parent.parent / "../shared/datasets/images/train/color432"


def encode(frames, path: Path) -> Path:
    """Frames (uint8 RGB) as H.264 at 25 fps, cut to even sizes and at most WIDTH wide."""
    container = av().open(str(path), "w")
    stream = None
    for index, frame in enumerate(frames):
        height, width = frame.shape[:2]
        if width > WIDTH:
            frame = cv2.resize(frame, (WIDTH, round(height * WIDTH / width)), interpolation=cv2.INTER_AREA)
        frame = np.ascontiguousarray(frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2])
        if stream is None:
            stream = container.add_stream("libx264", rate=25)
            stream.height, stream.width = frame.shape[:2]
            stream.pix_fmt = "yuv420p"
        picture = av().VideoFrame.from_ndarray(frame, format="rgb24")
        picture.pts, picture.time_base = index, fractions.Fraction(1, 25)
        container.mux(stream.encode(picture))
    container.mux(stream.encode())
    container.close()
    return path


def clip_frames(path: Path):
    with av().open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= FRAMES:
                return
            yield frame.to_ndarray(format="rgb24")


def pan_frames(photo: Path, rng: np.random.Generator, size=(480, 272), frames=60):
    """A steady fast pan across a photo enlarged twice."""
    big = cv2.resize(cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB), None, fx=2, fy=2)
    if big.shape[0] > big.shape[1]:
        big = np.ascontiguousarray(np.rot90(big))
    height, width = big.shape[:2]
    vx, vy = rng.uniform(6, 11) * rng.choice([-1, 1]), rng.uniform(-2, 2)
    x0, y0 = (width - size[0] - 1 if vx < 0 else 0), (height - size[1]) / 2
    for f in range(int(min(frames, (width - size[0] - 1) / abs(vx)))):
        y = np.clip(y0 + vy * f, 0, height - size[1] - 1)
        shift = np.float32([[1, 0, -(x0 + vx * f)], [0, 1, -y]])
        yield cv2.warpAffine(big, shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def decoded(path: Path) -> list[np.ndarray]:
    with av().open(str(path)) as container:
        by_pts = {f.pts: f.to_ndarray(format="rgb24") for f in container.decode(video=0)}
    return [by_pts[k] for k in sorted(by_pts)]


def damaged_copies(path: Path, every: int, folder: Path):
    """(frame, share, damaged path) for every `every`-th P or B frame's packet and each share."""
    with av().open(str(path)) as container:
        packets = [(p.pts, p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    with av().open(str(path)) as container:
        kinds = {f.pts: int(f.pict_type) for f in container.decode(video=0)}
    order = sorted(p[0] for p in packets)
    seed = 0
    for pts, pos, size in packets:
        frame = order.index(pts)
        if kinds.get(pts) not in (2, 3) or frame < 5 or frame % every:  # 2, 3: P and B
            continue
        for share in PARTS:
            data = bytearray(path.read_bytes())
            start = pos + int(size * (1 - share))
            data[start : pos + size] = np.random.default_rng(seed).bytes(pos + size - start)
            seed += 1
            damaged = folder / f"damaged{seed}.mp4"
            damaged.write_bytes(bytes(data))
            yield frame, share, damaged


def scored(clean: list[np.ndarray], damaged: Path, targets=None) -> list[tuple[float, float, float]]:
    """(damaged copy, interpolation alone, with the agreeing parts kept) PSNR per frame rebuilt in place:
    the damage the scan finds, or the frames `targets` names (a range where the scan found nothing)."""
    doc = read(damaged)
    made: list[list[np.ndarray]] = []

    def recording(a, b, ts, outer=None):
        made.append(flow(a, b, ts, outer))
        return made[-1]

    try:
        result = drive(fill_frames(doc, recording, RunContext(), fix="damaged", targets=targets))
    except NothingToDoError:
        return []
    rebuilt = result.rebuilt()
    out = []
    for index in rebuilt:
        slot = result.slots[index]
        shown = doc.frame(slot.replaces) if slot.replaces is not None else None
        if shown is None or slot.replaces >= len(clean):
            continue
        made.clear()
        kept = result.frame(index)
        if not made:  # repeated, not interpolated (the clip's end, a cut)
            continue
        place = sum(1 for j in rebuilt if j < index and all(k in rebuilt for k in range(j, index)))
        truth = clean[slot.replaces]
        out.append((psnr(shown, truth), psnr(made[-1][place], truth), psnr(kept, truth)))
    return out


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--pans", type=int, default=0, help="fast pans across training photos to add")
    parser.add_argument("--every", type=int, default=13, help="damage every N-th P or B frame's packet")
    parser.add_argument(
        "--good", type=int, default=0, help="also rebuild every N-th good frame, as a range over it does"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lacuna-keep-"))
    sources = [(clip.name, clip_frames(clip)) for clip in args.clips]
    photos = sorted(TRAIN_PHOTOS.glob("*"))[:-8]
    rng = np.random.default_rng(5)
    for _ in range(args.pans):
        photo = photos[int(rng.integers(len(photos)))]
        sources.append((f"pan across {photo.name}", pan_frames(photo, rng)))
    rows = []
    for number, (name, frames) in enumerate(sources):
        encoded = encode(frames, folder / f"clip{number}.mp4")
        clean = decoded(encoded)
        if args.good:
            for frame in range(5, len(clean) - 5, args.good):
                for row in scored(clean, encoded, targets=[frame]):
                    rows.append(row)
                    print(f"{name} good frame {frame}: " + " / ".join(f"{v:.2f}" for v in row), flush=True)
        for frame, share, damaged in damaged_copies(encoded, args.every, folder):
            for row in scored(clean, damaged):
                rows.append(row)
                scores = " / ".join(f"{v:.2f}" for v in row)
                print(f"{name} packet {frame} ({share:.0%}): {scores}", flush=True)
    table = np.array(rows).reshape(-1, 3)
    wrong = table[:, 0] >= 99  # the copy is the clean decode: a good frame rebuilt
    for label, rows_of in (("damaged frames", table[~wrong]), ("good frames rebuilt", table[wrong])):
        if len(rows_of):
            capped = np.minimum(rows_of, 60.0)
            gain = capped[:, 2] - capped[:, 1]
            print(
                f"{label}: {len(rows_of)}; PSNR (dB, capped at 60) damaged copy {capped[:, 0].mean():.2f},"
                f" interpolation alone {capped[:, 1].mean():.2f}, with agreeing parts kept"
                f" {capped[:, 2].mean():.2f}; kept minus alone: worst {gain.min():+.2f},"
                f" best {gain.max():+.2f}"
            )


if __name__ == "__main__":
    main()

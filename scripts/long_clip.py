"""Make a long clip for the memory check, either by stream-copying a short one end to end (no
re-encoding) or by drawing a synthetic moving pattern at any size with a few frames dropped.

    .venv/bin/python scripts/long_clip.py ../shared/datasets/video/bench/bigbuckbunny.mp4 /tmp/long.mp4
    .venv/bin/python scripts/long_clip.py --synthetic 1920x1080 /tmp/long1080.mp4 --drop 7

Copies: each copy's packets are shifted in time after the previous copy, video and audio alike, so the
result plays as one continuous clip of the source repeated. Synthetic: a textured picture panning
at 25 fps, H.264 (x264 "ultrafast", so a 10-minute 1080p clip takes minutes, not hours) with a mono
AAC tone; `--drop N` leaves out N frames spread over the clip (their timestamps stay missing, so
`lacuna info` lists them as dropped and fill-frames rebuilds them).
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import av
import numpy as np

RATE = 25
SAMPLE_RATE = 48000


def copies(source: str, out_path: str, minutes: float) -> None:
    with av.open(source) as probe:
        duration = float(probe.duration) / av.time_base
    count = max(1, int(minutes * 60 / duration + 0.999))
    with av.open(out_path, "w") as out:
        with av.open(source) as first:
            streams = {
                s.index: out.add_stream_from_template(s)
                for s in first.streams
                if s.type in ("video", "audio")
            }
            bases = {s.index: s.time_base for s in first.streams}
        for copy in range(count):
            with av.open(source) as src:
                for packet in src.demux(*[src.streams[i] for i in streams]):
                    if packet.dts is None:
                        continue
                    shift = round(copy * duration / bases[packet.stream.index])
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
    print(f"{count} copies of {duration:.2f} s -> {out_path}")


def synthetic(size: str, out_path: str, minutes: float, drop: int) -> None:
    width, height = (int(v) for v in size.lower().split("x"))
    frames = int(minutes * 60 * RATE)
    dropped = set(np.linspace(frames * 0.1, frames * 0.9, drop).astype(int).tolist()) if drop else set()
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (height // 8 + 1, (width + frames * 2) // 8 + 1, 3), np.uint8)
    texture = np.repeat(np.repeat(tile, 8, axis=0), 8, axis=1)[:height]  # 8-pixel squares, panning
    with av.open(out_path, "w") as out:
        video = out.add_stream("libx264", rate=RATE, options={"preset": "ultrafast", "crf": "23"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        samples_per_frame = SAMPLE_RATE // RATE
        for i in range(frames):
            tone = np.sin(
                2 * np.pi * 440 * (np.arange(samples_per_frame) + i * samples_per_frame) / SAMPLE_RATE
            )
            sound = av.AudioFrame.from_ndarray(
                (tone * 0.2).astype(np.float32)[None], format="flt", layout="mono"
            )
            sound.sample_rate, sound.pts, sound.time_base = (
                SAMPLE_RATE,
                i * samples_per_frame,
                Fraction(1, SAMPLE_RATE),
            )
            for packet in audio.encode(sound):
                out.mux(packet)
            if i in dropped:
                continue
            picture = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(texture[:, 2 * i : 2 * i + width]), "rgb24"
            )
            picture.pts, picture.time_base = i, Fraction(1, RATE)
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in [*video.encode(None), *audio.encode(None)]:
            out.mux(packet)
    print(f"{frames - len(dropped)} frames of {width}x{height} ({len(dropped)} dropped) -> {out_path}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("source", nargs="?", help="a clip to repeat (or use --synthetic)")
    p.add_argument("out")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--synthetic", metavar="WxH", help="draw a moving pattern of this size instead")
    p.add_argument("--drop", type=int, default=0, help="synthetic: frames to leave out")
    args = p.parse_args()
    if args.synthetic:
        synthetic(args.synthetic, args.out, args.minutes, args.drop)
    elif args.source:
        copies(args.source, args.out, args.minutes)
    else:
        p.error("give a source clip or --synthetic WxH")


if __name__ == "__main__":
    main()

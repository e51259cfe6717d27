"""Make a long clip for the memory check by stream-copying a short one end to end (no re-encoding).

    .venv/bin/python scripts/long_clip.py ../shared/datasets/video/bench/bigbuckbunny.mp4 /tmp/long.mp4

Each copy's packets are shifted in time after the previous copy, video and audio alike, so the result
plays as one continuous clip of the source repeated.
"""

from __future__ import annotations

import argparse

import av


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("source")
    p.add_argument("out")
    p.add_argument("--minutes", type=float, default=10.0)
    args = p.parse_args()
    with av.open(args.source) as probe:
        duration = float(probe.duration) / av.time_base
    copies = max(1, int(args.minutes * 60 / duration + 0.999))
    with av.open(args.out, "w") as out:
        with av.open(args.source) as first:
            streams = {
                s.index: out.add_stream_from_template(s)
                for s in first.streams
                if s.type in ("video", "audio")
            }
            bases = {s.index: s.time_base for s in first.streams}
        for copy in range(copies):
            with av.open(args.source) as src:
                for packet in src.demux(*[src.streams[i] for i in streams]):
                    if packet.dts is None:
                        continue
                    shift = round(copy * duration / bases[packet.stream.index])
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
    print(f"{copies} copies of {duration:.2f} s -> {args.out}")


if __name__ == "__main__":
    main()

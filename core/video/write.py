"""Write a `VideoDoc`: frames encoded in order with the source's timestamps, audio remuxed untouched.

Untouched frames are decoded from the source and re-encoded straight from FFmpeg's own frames (so a
lossless codec keeps them exactly); rebuilt frames go from RGB to the output's pixel format with the
source's colour matrix and range, and a frame repaired in place keeps the source's own samples
wherever the repair left its picture as it was. The source's audio packets are copied as they are,
interleaved by time. A pending repair is computed while writing, so the clip streams through in a
window of frames.
Provenance goes into the container's metadata (and, as always, into the sidecar), with the same notes.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import WriteError
from core.io.atomic import atomic_write, full_suffix
from core.io.formats import Written
from core.runtime.context import Progress
from core.video.backend import av
from core.video.document import Remade, VideoDoc
from core.video.source import to_rgb

# The codecs a person picks from: name -> (FFmpeg encoder, pixel format, encoder options).
CODECS: dict[str, tuple[str, str, dict[str, str]]] = {
    "ffv1": ("ffv1", "yuv420p", {"level": "3", "slicecrc": "1"}),
    "h264": ("libx264", "yuv420p", {"crf": "16", "preset": "medium"}),
    "h265": ("libx265", "yuv420p", {"crf": "18", "preset": "medium", "x265-params": "log-level=error"}),
    "vp9": ("libvpx-vp9", "yuv420p", {"crf": "24", "b": "0", "row-mt": "1"}),
    "mjpeg": ("mjpeg", "yuvj420p", {"q:v": "2"}),
}
LOSSY_NOTE = "{} is lossy: every frame is encoded again, the untouched ones too; FFV1 (.mkv) keeps them"
# FFV1 keeps the source's own pixel format where it can, so a lossless copy is exact.
FFV1_FORMATS = {"yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le", "gray", "bgr0"}
# What each container can hold, and the codec it gets when none is named.
CONTAINERS: dict[str, tuple[tuple[str, ...], str]] = {
    ".mkv": (("ffv1", "h264", "h265", "vp9", "mjpeg"), "ffv1"),
    ".mp4": (("h264", "h265", "vp9", "mjpeg"), "h264"),
    ".mov": (("h264", "h265", "mjpeg"), "h264"),
    ".webm": (("vp9",), "vp9"),
    ".avi": (("ffv1", "h264", "mjpeg"), "ffv1"),
}
AUDIO_LEAD = 0.5  # seconds of audio muxed ahead of the video, so the muxer can interleave
MOV_FLAGS = {"movflags": "use_metadata_tags"}  # MP4/MOV keep Lacuna's own tags
# The source's times as they are: an audio stream that starts before the video (AAC priming) must not
# shift every timestamp to make it non-negative, as the muxers do by default.
KEEP_TIMES = {"avoid_negative_ts": "disabled"}


def pick_codec(target: Path, codec: str | None) -> str:
    ext = full_suffix(target).lower()
    if ext not in CONTAINERS:
        kinds = ", ".join(CONTAINERS)
        raise WriteError(f"{target.name}: a video is saved as {kinds}, not {ext or 'no suffix'}")
    allowed, default = CONTAINERS[ext]
    codec = (codec or default).lower()
    if codec not in CODECS:
        raise WriteError(f"unknown video codec {codec!r}; choose one of {', '.join(CODECS)}")
    if codec not in allowed:
        raise WriteError(f"{target.name}: {ext} cannot hold {codec}; it takes {', '.join(allowed)}")
    return codec


# x264 and x265 encode 4:2:0 pictures in whole chroma samples: an odd width or height is refused by
# the encoder, after every frame before it was computed. Said before anything runs instead (`lacuna
# repair` checks the source's size first, unless the repair resizes; the writer the first frame's).
EVEN_SIZED = ("h264", "h265")


def check_frame_size(target: Path, codec: str, width: int, height: int) -> None:
    """Refuse a frame size `codec` cannot encode, naming what can."""
    if codec in EVEN_SIZED and (width % 2 or height % 2):
        raise WriteError(
            f"{target.name}: {codec} needs an even width and height, and these frames are {width}×{height};"
            " FFV1 (lossless, the default of .mkv) and VP9 (the default of .webm) take any size"
        )


def write_video(
    doc: VideoDoc,
    target: Path,
    codec: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    **_: Any,
) -> Written:
    """Encode `doc` to `target`; a pending repair is computed frame by frame on the way. `on_progress`
    hears of every frame written (and may raise `CancelledError` to stop: nothing is left behind). The
    document is not changed; what was chosen is returned as notes."""
    target = Path(target)
    chosen = pick_codec(target, codec)
    notes = (f"video encoded with {chosen} ({CODECS[chosen][0]})",)
    if chosen != "ffv1":  # said, as a lossy audio format's is (a walk-through's .webm changed every frame)
        notes += (LOSSY_NOTE.format(chosen),)
    atomic_write(target, lambda tmp: _encode(doc, tmp, target, chosen, notes, on_progress))
    return Written(target, notes)


def _encode(doc: VideoDoc, tmp: Path, target: Path, codec: str, notes, on_progress) -> None:
    from core.io.provenance import as_json, summary

    _av = av()
    ext = full_suffix(target).lower()
    info = doc.info
    encoder, pix_fmt, options = CODECS[codec]
    if codec == "ffv1":
        pix_fmt = _lossless_format(info.pix_fmt)
    frames = _frames_to_encode(doc, pix_fmt, on_progress)
    first = next(frames)  # its size is the output's (an upscale changes it)
    try:
        check_frame_size(target, codec, first.width, first.height)
    except WriteError:
        frames.close()
        raise
    options_for_container = MOV_FLAGS if ext in (".mp4", ".mov") else KEEP_TIMES
    with _av.open(str(tmp), "w", format=_format_name(ext), options=options_for_container) as out:
        out.metadata["comment"] = summary(doc)
        out.metadata["lacuna_provenance"] = as_json(doc, target, notes)
        stream = out.add_stream(encoder, rate=info.rate or Fraction(25))
        stream.width, stream.height, stream.pix_fmt = first.width, first.height, pix_fmt
        stream.time_base = stream.codec_context.time_base = info.time_base * _coarser(doc)
        stream.codec_context.options = dict(options)
        if info.colorspace not in (0, 2):
            stream.codec_context.colorspace = info.colorspace
        if info.color_range:
            stream.codec_context.color_range = info.color_range
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        audio = _AudioCopy(out, info) if info.audio is not None and not info.sequence else None
        try:
            for frame in itertools.chain([first], frames):
                if audio is not None:
                    audio.until(frame.pts * info.time_base + AUDIO_LEAD)
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
            if audio is not None:
                audio.until(None)
        finally:
            frames.close()
            if audio is not None:
                audio.close()


def _lossless_format(source: str) -> str:
    if source in FFV1_FORMATS:
        return source
    return "bgr0" if source.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "pal")) else "yuv420p"


def _format_name(ext: str) -> str:
    return {".mkv": "matroska", ".webm": "webm", ".mp4": "mp4", ".mov": "mov", ".avi": "avi"}[ext]


def _coarser(doc: VideoDoc) -> int:
    """How many of a frame sequence's ticks (SEQUENCE_TICKS per frame, for times between frames)
    make one tick of the written clip's time base: every frame time a whole number of them. AVI
    writes one chunk per tick (a review saw 1/24000 written as 600 fps, empty chunks between)."""
    if not doc.info.sequence:
        return 1
    return max(1, math.gcd(*(slot.pts for slot in doc.slots)))


def _frames_to_encode(doc: VideoDoc, pix_fmt: str, on_progress):
    """FFmpeg frames in timeline order, each stamped with its slot's pts, reported as they come."""
    _av = av()
    info = doc.info
    colour = {}
    if info.colorspace not in (0, 2):
        colour["dst_colorspace"] = info.colorspace
    colour["dst_color_range"] = info.color_range or 1  # limited ("tv") range unless the source is full
    total = doc.frame_count

    def from_rgb(rgb: np.ndarray):
        return _av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt, **colour)

    def as_output(frame):
        if frame.format.name != pix_fmt or (frame.width, frame.height) != (info.width, info.height):
            frame = frame.reformat(format=pix_fmt, src_color_range=frame.color_range, **colour)
        return frame

    for index, frame in doc.walk(raw=True, originals=True):
        slot = doc.slots[index]
        if on_progress is not None:
            on_progress(Progress((index + 1) / total, f"frame {index + 1}/{total}"))
        if isinstance(frame, Remade):
            made, original = from_rgb(frame.rgb), frame.original
            if original is not None and frame.rgb.shape[:2] == (original.height, original.width):
                unchanged = np.all(frame.rgb == to_rgb(original), axis=-1)
                made = _with_source_samples(made, as_output(original), unchanged)
            frame = made
        elif isinstance(frame, np.ndarray):  # a frame rebuilt where there was none, RGB
            frame = from_rgb(frame)
        elif frame is None:
            raise WriteError(f"frame {slot.source} of the source cannot be decoded; repair it first")
        else:
            frame = as_output(frame)
        frame.pts = slot.pts // _coarser(doc)
        frame.time_base = info.time_base * _coarser(doc)
        frame.pict_type = 0  # let the encoder choose: the source's frame types mean nothing here
        yield frame


def _with_source_samples(made, source, unchanged: np.ndarray):
    """`made` (a frame rebuilt in place, in the output's pixel format) with `source`'s own samples
    wherever the repair left the picture as it was (`unchanged`, per pixel): RGB converted back
    is not the source (chroma subsampled again, values outside the video range clipped: up to 27
    levels of luma on a bench clip), and only the repaired pixels may differ. A subsampled chroma
    sample is kept when every pixel it covers is unchanged. Packed formats are left as made."""
    planar = len(made.planes) == len(made.format.components)
    same_size = (made.width, made.height) == (source.width, source.height) == unchanged.shape[::-1]
    if not planar or not same_size or not unchanged.any():
        return made
    height, width = unchanged.shape
    for plane, (new, old) in enumerate(zip(made.planes, source.planes, strict=True)):
        bits = max(c.bits for c in made.format.components if c.plane == plane)
        dtype = np.dtype(np.uint8) if bits <= 8 else np.dtype("<u2")  # the formats written: little-endian
        fy, fx = -(-height // new.height), -(-width // new.width)
        padded = np.ones((new.height * fy, new.width * fx), bool)
        padded[:height, :width] = unchanged
        keep = padded.reshape(new.height, fy, new.width, fx).all(axis=(1, 3))
        rows = new.line_size // dtype.itemsize
        into = np.frombuffer(memoryview(new), dtype).reshape(new.height, rows)[:, : new.width]
        into[keep] = np.frombuffer(memoryview(old), dtype).reshape(old.height, -1)[:, : new.width][keep]
    return made


class _AudioCopy:
    """The source's first audio stream, copied packet by packet into `out` up to a given time."""

    def __init__(self, out, info):
        self.container = av().open(str(info.path))
        source = self.container.streams[info.audio.index]
        try:
            self.stream = out.add_stream_from_template(source)
        except ValueError as exc:
            self.container.close()
            raise WriteError(
                f"this container cannot hold the source's {info.audio.codec} audio, which is copied"
                " untouched; save as .mkv (it holds any codec)"
            ) from exc
        self.stream.time_base = source.time_base
        self.out = out
        self.packets = self.container.demux(source)
        self.held = None

    def until(self, seconds) -> None:
        """Mux every packet whose time is before `seconds` (all that remain when None)."""
        while True:
            packet = self.held or next(self.packets, None)
            self.held = None
            if packet is None:
                return
            if packet.dts is None:
                continue  # the demuxer's flush packet
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base > seconds:
                self.held = packet
                return
            packet.stream = self.stream
            self.out.mux(packet)

    def close(self) -> None:
        self.container.close()


def provenance_from_tags(tags: dict[str, str]) -> list[dict[str, Any]]:
    """The steps a Lacuna-written video records in its container (empty for other videos)."""
    lowered = {k.lower(): v for k, v in tags.items()}
    text = lowered.get("lacuna_provenance")
    if not text:
        return []
    try:
        return list(json.loads(text).get("steps", []))
    except (ValueError, AttributeError):
        return []

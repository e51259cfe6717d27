"""What a video file holds, and its frames decoded in windows (never the whole clip at once).

`probe(path)` reads the container's packets (no decoding) to list every frame's presentation time,
so variable frame rates, dropped frames (gaps in the times) and the keyframes to seek to are known
up front. `FrameReader` then decodes only the frames asked for, seeking to the keyframe before them.
Frames come out as uint8 RGB (H, W, 3), converted with the stream's own colour matrix and range.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ReadError
from core.io.limits import MAX_PIXELS
from core.video.backend import av


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int
    index: int  # the stream's index in the container (its packets are remuxed untouched)


@dataclass(frozen=True)
class VideoInfo:
    """A video stream as the container describes it. Times are `pts * time_base` seconds."""

    path: Path
    container: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    time_base: Fraction
    rate: Fraction  # the average frame rate (nominal; VFR clips keep their own times in `pts`)
    pts: tuple[int, ...]  # every frame's presentation timestamp, sorted
    keyframes: tuple[int, ...]  # pts of the keyframes (seek points)
    corrupt: tuple[int, ...] = ()  # pts of packets the demuxer flagged as corrupt
    rotation: int = 0  # degrees counter-clockwise the player turns the picture
    color_range: int = 0  # FFmpeg's AVColorRange (1 = limited "tv", 2 = full "pc")
    colorspace: int = 2  # FFmpeg's AVColorSpace (1 = BT.709, 5/6 = BT.601, 9 = BT.2020, 2 = unknown)
    bit_depth: int = 8
    audio: AudioInfo | None = None
    stream_index: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    sequence: tuple[Path, ...] = ()  # the frame files of an image-sequence folder
    warnings: tuple[str, ...] = ()  # what a reader should know of the file (it ends early)

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def time(self, pts: int) -> float:
        return float(pts * self.time_base)

    @property
    def times(self) -> list[float]:
        return [self.time(p) for p in self.pts]

    @property
    def nominal_step(self) -> int:
        """The usual distance between frames in pts units (median, robust to gaps)."""
        if len(self.pts) < 2:
            return max(1, round(1 / (self.rate * self.time_base))) if self.rate else 1
        return int(np.median(np.diff(self.pts)))


def probe(path: Path) -> VideoInfo:
    """Describe the first video stream of `path` from its packets; raises ReadError if there is none."""
    path = Path(path)
    _av = av()
    try:
        container = _av.open(str(path))
    except _av.error.FFmpegError as exc:
        raise ReadError(f"{path.name}: not a video FFmpeg can open ({exc.strerror or exc})") from exc
    with container:
        if not container.streams.video:
            raise ReadError(f"{path.name}: the file has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise ReadError(f"{path.name}: the video stream declares no picture size")
        if ctx.width * ctx.height > MAX_PIXELS:
            raise ReadError(f"{path.name}: {ctx.width}×{ctx.height} frames exceed the pixel limit")
        pts, keys, corrupt = _packet_times(container, stream)
        if not pts:
            raise ReadError(f"{path.name}: the video stream holds no frames")
        audio = None
        if container.streams.audio:
            a = container.streams.audio[0]
            audio = AudioInfo(a.codec_context.name, int(a.rate or 0), int(a.channels or 0), a.index)
        first = _first_frame(container, stream)
        pix_fmt = ctx.pix_fmt or ""
        cut = _ends_early(path.name, container, stream, pts)
        return VideoInfo(
            path=path,
            container=container.format.name,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            pix_fmt=pix_fmt,
            time_base=stream.time_base,
            rate=_nominal_rate(pts, stream),
            pts=tuple(pts),
            keyframes=tuple(keys),
            corrupt=tuple(corrupt),
            rotation=_rotation(first),
            color_range=int(getattr(first, "color_range", 0) or 0) if first is not None else 0,
            colorspace=int(getattr(first, "colorspace", 2) or 2) if first is not None else 2,
            bit_depth=_bit_depth(pix_fmt),
            audio=audio,
            stream_index=stream.index,
            tags={str(k): str(v) for k, v in container.metadata.items()},
            warnings=(cut,) if cut else (),
        )


def _ends_early(name: str, container, stream, pts: list[int]) -> str:
    """What to say of a file whose header promises far more than its frames hold: a copy or download
    cut short (walk-through 53: half an MKV read as a whole 0.5 s clip, with nothing said); "" if not.
    The video stream's own duration where the container gives it, else the container's (which an
    audio stream a little longer than the video stretches: hence the margin)."""
    if stream.duration and stream.time_base:
        declared = float(stream.duration * stream.time_base)
    elif container.duration:
        declared = container.duration / 1_000_000  # FFmpeg's AV_TIME_BASE
    else:
        return ""
    step = float(np.median(np.diff(pts))) if len(pts) > 1 else 0.0
    held = float((pts[-1] - pts[0] + step) * stream.time_base)
    if declared <= 1.2 * held + 2 * float(step * stream.time_base):
        return ""
    return (
        f"{name}: the file ends early: its header gives {declared:.2f} s, its frames stop after"
        f" {held:.2f} s ({len(pts)} frames); the rest is missing (a copy or download cut short?)"
    )


def _nominal_rate(pts: list[int], stream) -> Fraction:
    """The rate the clip was made at: of the rates the stream declares (its base rate, FFmpeg's guess,
    the average), the first whose frame step is the clip's usual one where most steps are that one
    (a clip with dropped frames is not slower: a walk-through's 25 fps clip missing two frames said
    24.75), else the average (a variable frame rate)."""
    average = Fraction(stream.average_rate or stream.guessed_rate or 0)
    steps = np.diff(np.asarray(pts, np.int64))
    if not steps.size or not stream.time_base:
        return average
    usual = float(np.median(steps))
    # Within a tick where steps are many ticks (a millisecond time base rounds 33.37 to 33 or 34);
    # exactly where a step is a tick or two (one tick per frame: a drop is 2).
    within = 1.0 if usual >= 10 else 0.1
    if usual <= 0 or np.mean(np.abs(steps - usual) <= within) < STEADY_SHARE:
        return average
    for declared in (stream.base_rate, stream.guessed_rate, stream.average_rate):
        if declared:
            step = 1 / (Fraction(declared) * Fraction(stream.time_base))
            if abs(float(step) - usual) <= within:
                return Fraction(declared)
    return average


def _packet_times(container, stream) -> tuple[list[int], list[int], list[int]]:
    pts, keys, corrupt = [], [], []
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0 or getattr(packet, "is_discard", False):
            continue  # the flush packet, or a frame an edit list hides
        pts.append(int(packet.pts))
        if packet.is_keyframe:
            keys.append(int(packet.pts))
        if packet.is_corrupt:
            corrupt.append(int(packet.pts))
    pts = sorted(set(pts))
    return pts, sorted(keys), corrupt


def decoded(container, stream) -> Iterator[Any]:
    """The stream's frames from where the container stands, packet by packet: a packet the decoder
    refuses (damaged bytes) loses its frame and no more; decoding goes on with the next one (one bad
    packet in a recording had made every frame after it undecodable)."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av().error.FFmpegError:
            continue
        yield from frames


def _first_frame(container, stream):
    container.seek(0)
    try:
        for frame in container.decode(stream):
            return frame
    except av().error.FFmpegError:
        return None
    return None


def _rotation(frame) -> int:
    """The display matrix's rotation (degrees, counter-clockwise), 0 when there is none."""
    if frame is None:
        return 0
    angle = getattr(frame, "rotation", 0) or 0
    return int(round(angle)) % 360


def _bit_depth(pix_fmt: str) -> int:
    for depth in (16, 14, 12, 10, 9):
        if str(depth) in pix_fmt:
            return depth
    return 8


class FrameReader:
    """Decodes frames of one probed video by index, seeking to the keyframe before each request.

    Frames that the decoder does not produce (a damaged packet) come back as None.
    """

    def __init__(self, info: VideoInfo):
        self.info = info
        self._index = {p: i for i, p in enumerate(info.pts)}
        self._container = None

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _open(self):
        if self._container is None:
            self._container = av().open(str(self.info.path))
        return self._container

    def frames(self, start: int = 0, stop: int | None = None, raw: bool = False) -> Iterator[tuple[int, Any]]:
        """(index, RGB frame or None) for frames start..stop-1, in order, decoding sequentially.

        `raw=True` gives FFmpeg's own frames (for writing untouched frames without an RGB round trip).
        """
        info = self.info
        stop = info.frame_count if stop is None else min(stop, info.frame_count)
        if start >= stop:
            return
        container = self._open()
        stream = container.streams.video[info.stream_index]
        seek_to = self._keyframe_before(info.pts[start])
        container.seek(seek_to, stream=stream, backward=True, any_frame=False)
        expected = start
        for frame in decoded(container, stream):
            index = self._index.get(frame.pts)
            if index is None or index < expected:
                continue
            while expected < index and expected < stop:  # frames the decoder skipped: damaged
                yield expected, None
                expected += 1
            if index >= stop:
                return
            yield index, frame if raw else to_rgb(frame)
            expected = index + 1
        while expected < stop:
            yield expected, None
            expected += 1

    def window(self, start: int, stop: int) -> list[np.ndarray | None]:
        return [frame for _, frame in self.frames(start, stop)]

    def _keyframe_before(self, pts: int) -> int:
        keys = self.info.keyframes
        at = bisect.bisect_right(keys, pts) - 1
        return keys[at] if at >= 0 else self.info.pts[0]


def to_rgb(frame) -> np.ndarray:
    """uint8 RGB (H, W, 3), using the frame's own colour matrix and range (FFmpeg's swscale)."""
    return frame.to_ndarray(format="rgb24", src_color_range=frame.color_range)


SEQUENCE_SUFFIXES = {".png", ".tif", ".tiff", ".dpx", ".jpg", ".jpeg", ".bmp", ".exr"}
STEADY_SHARE = 0.8  # a clip whose steps are this often one value has a constant frame rate
SEQUENCE_RATE = Fraction(24)  # image sequences carry no timing: film's rate unless the user says
# Ticks of a sequence's time base per frame: times between its frames (a retime to 48 or 25 fps) have
# ticks of their own (a walk-through's retime of a film scan to 48 fps put two frames on every tick).
SEQUENCE_TICKS = 1000


def frame_digits(path: Path) -> str | None:
    """The digits that number a frame's file: the last run of digits in its name ('f_0005' -> '0005')."""
    import re

    runs = re.findall(r"\d+", path.stem)
    return runs[-1] if runs else None


def numbered_frames(folder: Path) -> list[tuple[int, Path]]:
    """(frame number, file) of an image-sequence folder's frames, in number order ([] if it is not
    one): the number is `frame_digits`."""
    files = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SEQUENCE_SUFFIXES]
    numbered = [(int(digits), p) for p in files if (digits := frame_digits(p)) is not None]
    return sorted(numbered) if len(numbered) >= 2 else []


def numbering_step(numbers: list[int]) -> int | None:
    """How far apart two frames' file numbers are (a scanner numbering every other frame: 2), the
    commonest difference between neighbours, when every number lies on that step from the first;
    None when they do not (a stray number, one given twice): then the files are frames one apart,
    in name order, and a missing number is not a dropped frame."""
    gaps = np.diff(np.asarray(numbers, np.int64))
    if not gaps.size or (gaps <= 0).any():
        return None
    values, counts = np.unique(gaps, return_counts=True)
    step = int(values[np.argmax(counts)])
    return step if all((n - numbers[0]) % step == 0 for n in numbers) else None


def missing_frame_files(files: tuple[Path, ...] | list[Path]) -> list[str]:
    """The names a numbered sequence lacks between its first and last frame ('f_0005.png'), made
    from the file before each gap with its number replaced (same width, same step); [] when the
    numbers are not on one step (then a missing number is not a missing frame)."""
    numbered = [(int(frame_digits(p)), p) for p in files]
    step = numbering_step([n for n, _ in numbered])
    if step is None:
        return []
    missing = []
    for (number, path), (following, _) in zip(numbered, numbered[1:]):
        digits = frame_digits(path)
        head, _, tail = path.stem.rpartition(digits)
        for absent in range(number + step, following, step):
            missing.append(f"{head}{absent:0{len(digits)}d}{tail}{path.suffix}")
    return missing


def sequence_files(folder: Path) -> list[Path]:
    """The numbered frames of an image-sequence folder, in frame-number order ([] if it is not one:
    numbered pictures of different sizes are photos, not the frames of one film)."""
    files = [p for _, p in numbered_frames(folder)]
    return files if sizes_differ(files) is None else []


SIZE_SAMPLES = 16  # pictures whose sizes are compared, spread over the folder
FILM_SHARE = 0.75  # a film: at least this share of them has one size (a stray reads as a damaged frame)


def sizes_differ(files: list[Path]) -> str | None:
    """'photo_1.png 256×256, photo_2.png 450×298' when no one size holds FILM_SHARE of the pictures
    spread over `files` (the first, the last and some between): photos, not a film's frames; else
    None. Read from the headers (Pillow); a format it cannot read (DPX, EXR) is not compared."""
    from PIL import Image

    picks = sorted({round(k * (len(files) - 1) / (SIZE_SAMPLES - 1)) for k in range(SIZE_SAMPLES)})
    sizes: dict[tuple[int, int], list[Path]] = {}
    for index in picks if files else []:
        try:
            with Image.open(files[index]) as picture:
                sizes.setdefault(picture.size, []).append(files[index])
        except Exception:  # noqa: BLE001 - any unreadable header: not compared (read as damaged)
            continue
    compared = sum(len(paths) for paths in sizes.values())
    if not compared or max(len(paths) for paths in sizes.values()) >= FILM_SHARE * compared:
        return None
    return ", ".join(f"{paths[0].name} {w}×{h}" for (w, h), paths in sizes.items())


def probe_sequence(folder: Path, rate: Fraction = SEQUENCE_RATE) -> VideoInfo:
    """A folder of numbered PNG/TIFF/DPX frames as a video at `rate` frames per second."""
    folder = Path(folder)
    numbered = numbered_frames(folder)
    files = [p for _, p in numbered]
    if not files:
        raise ReadError(f"{folder.name}: not a folder of numbered frames")
    differ = sizes_differ(files)
    if differ:
        raise ReadError(
            f"{folder.name}: its numbered pictures differ in size ({differ}), so they are not the frames"
            " of one film; repair a folder of photos with lacuna batch"
        )
    # A frame's time follows its number, so a number missing from a scan's sequence is a dropped
    # frame (core.video.damage); numbers given twice leave the files one frame apart in name order.
    step = numbering_step([n for n, _ in numbered])
    first = numbered[0][0]
    places = tuple((n - first) // step for n, _ in numbered) if step else tuple(range(len(files)))
    pts = tuple(place * SEQUENCE_TICKS for place in places)
    _av = av()
    with _av.open(str(files[0])) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        codec = stream.codec_context.name
    pix_fmt = first.format.name
    if first.width * first.height > MAX_PIXELS:
        raise ReadError(f"{files[0].name}: {first.width}×{first.height} frames exceed the pixel limit")
    return VideoInfo(
        path=folder,
        container="image2",
        codec=codec,
        width=first.width,
        height=first.height,
        pix_fmt=pix_fmt,
        time_base=1 / (Fraction(rate) * SEQUENCE_TICKS),
        rate=Fraction(rate),
        pts=pts,
        keyframes=pts,
        bit_depth=_bit_depth(pix_fmt),
        sequence=tuple(files),
    )


def _decoded(path: Path):
    """The picture in `path` as FFmpeg decodes it, or None when it cannot."""
    _av = av()
    try:
        with _av.open(str(path)) as container:
            return next(container.decode(container.streams.video[0]))
    except (_av.error.FFmpegError, StopIteration):
        return None


class SequenceReader:
    """Frames of an image sequence by index; a file that cannot be decoded gives None."""

    def __init__(self, info: VideoInfo):
        self.info = info

    def __enter__(self) -> SequenceReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def frames(self, start: int = 0, stop: int | None = None, raw: bool = False):
        files = self.info.sequence
        stop = len(files) if stop is None else min(stop, len(files))
        for index in range(start, stop):
            frame = _decoded(files[index])
            if frame is not None and (frame.width, frame.height) != (self.info.width, self.info.height):
                frame = None  # a picture of another size is no frame of this film: read as damaged
            if frame is not None:
                frame.pts = self.info.pts[index]
            yield index, frame if raw or frame is None else to_rgb(frame)

    def window(self, start: int, stop: int) -> list[np.ndarray | None]:
        return [frame for _, frame in self.frames(start, stop)]


def open_reader(info: VideoInfo) -> FrameReader | SequenceReader:
    return SequenceReader(info) if info.sequence else FrameReader(info)

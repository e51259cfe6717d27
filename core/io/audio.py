"""Audio through soundfile (libsndfile): WAV, FLAC, Ogg Vorbis, MP3, AIFF and friends.

Samples are float32 (frames, channels) in [-1, 1]. A result is saved with the source's sample
rate, channel count and subtype (PCM_16, PCM_24, FLOAT, VORBIS, ...) unless `subtype=` asks for
another, or the target format cannot hold it (then the format's default). Integer subtypes are
clipped to [-1, 1] first so that loud repairs never wrap around.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.documents import AudioDoc
from core.errors import ReadError, WriteError
from core.io import limits, provenance
from core.io.atomic import atomic_write
from core.io.describe import minmax
from core.io.formats import FileFormat, Written, as_extension

WRITE_FORMATS = {
    ".wav": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".mp3": "MP3",
    ".aif": "AIFF",
    ".aiff": "AIFF",
    ".w64": "W64",
    ".rf64": "RF64",
    ".caf": "CAF",
    ".au": "AU",
}
FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}
METADATA_KEYS = (
    "title",
    "copyright",
    "software",
    "artist",
    "comment",
    "date",
    "album",
    "license",
    "tracknumber",
    "genre",
)
COMMENT_JOIN = "; "  # between a file's own comment and the summary of what Lacuna did


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def read_audio(path: Path) -> AudioDoc:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ReadError(f"{path.name}: not an audio file Lacuna can read ({_first_line(exc)})") from exc
    if info.frames <= 0 or info.channels <= 0:
        raise ReadError(f"{path.name}: the file contains no audio samples (0 frames)")
    limits.check_samples(path, int(info.frames) * int(info.channels))
    limits.check_memory(path, int(info.frames) * int(info.channels) * 4)  # float32 samples
    try:
        with sf.SoundFile(str(path)) as f:
            samples = f.read(dtype="float32", always_2d=True)
            metadata = {k: v for k, v in f.copy_metadata().items() if v}
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise ReadError(f"{path.name}: the audio data is damaged ({_first_line(exc)})") from exc
    if samples.shape[0] == 0:
        raise ReadError(f"{path.name}: the file contains no audio samples (0 frames)")
    short = (
        wav_shortfall(path, samples.shape[0] / info.samplerate) if info.format in ("WAV", "WAVEX") else None
    )
    if short:  # libsndfile reads what is there and says nothing (a walk-through's half-cut WAV)
        metadata["read_warnings"] = [short]
    return AudioDoc(
        samples=np.ascontiguousarray(samples, dtype=np.float32),
        sample_rate=int(info.samplerate),
        path=path,
        format=str(info.format),
        subtype=str(info.subtype),
        metadata=metadata,
    )


def wav_shortfall(path: Path, seconds_read: float) -> str | None:
    """A warning when a WAV file's data chunk declares more bytes than the file holds after it (cut
    off in a copy or a download), else None. A size of 0 or 0xFFFFFFFF is a stream writer's "unknown"."""
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":  # RIFX (big-endian) and RF64 sizes differ
            return None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            name, size = head[:4], struct.unpack("<I", head[4:])[0]
            if name == b"data":
                break
            f.seek(size + (size & 1), 1)  # chunks are padded to an even length
        held = path.stat().st_size - f.tell()
    if size in (0, 0xFFFFFFFF) or held >= size or held <= 0:
        return None
    promised = seconds_read * size / held
    return (
        f"{path.name}: the file is truncated: its header promises {promised:.2f} s of audio and it holds"
        f" {seconds_read:.2f} s; the rest is missing"
    )


def choose_subtype(fmt: str, wanted: str | None, source: str) -> str:
    import soundfile as sf

    if wanted:
        if not sf.check_format(fmt, wanted):
            choices = ", ".join(sf.available_subtypes(fmt))
            raise WriteError(f"{fmt} cannot hold subtype {wanted!r} (choose one of {choices})")
        return wanted
    # A lossy source's encoding stays only in its own kind of file: WAV "holds" MPEG Layer III in
    # libsndfile's table but cannot write it (a walk-through's MP3 saved as .wav failed)
    lossy_elsewhere = source in LOSSY_SUBTYPES and fmt not in LOSSY_CONTAINERS
    if source and sf.check_format(fmt, source) and not lossy_elsewhere:
        return source
    return sf.default_subtype(fmt)


# Encodings that change every sample, not only the repaired ones.
LOSSY_SUBTYPES = frozenset({"VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"})
LOSSY_CONTAINERS = frozenset({"OGG", "MP3"})  # the files made for those encodings
_LOSSY_NOTE = (
    "encoded as {} (lossy): samples outside the repair change too; save as .flac or .wav to keep them"
    " bit-identical"
)


# Integer samples are rounded here, the same for every container: libsndfile's own conversion of
# float samples rounds differently for WAV and FLAC (a walk-through found the same fill saved as both
# a level apart in 18,766 samples).
INTEGER_BITS = {"PCM_16": 16, "PCM_24": 24}


def quantised(samples: np.ndarray, bits: int) -> np.ndarray:
    """Float samples in [-1, 1] as the integers a `bits`-bit file stores, in int16 (16 bits) or
    int32 (24 bits, in the upper bytes, as soundfile takes them): rounded to nearest, full scale
    clipped to the largest code."""
    top = 2 ** (bits - 1)
    codes = np.clip(np.rint(np.asarray(samples, np.float64) * top), -top, top - 1)
    return codes.astype(np.int16) if bits == 16 else (codes.astype(np.int32) << (32 - bits))


def write_audio(doc: AudioDoc, target: Path, subtype: str | None = None, **options: Any) -> Written:
    import soundfile as sf

    fmt = WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise WriteError(
            f"{target.name}: cannot save audio {as_extension(target.suffix)} "
            f"(use {', '.join(sorted(WRITE_FORMATS))})"
        )
    if fmt not in sf.available_formats():
        raise WriteError(f"{target.name}: this libsndfile cannot write {fmt}")
    chosen = choose_subtype(fmt, subtype, doc.subtype)
    samples = np.asarray(doc.samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise WriteError(f"{target.name}: no samples to write (shape {samples.shape})")
    if chosen not in FLOAT_SUBTYPES:
        samples = np.clip(samples, -1.0, 1.0)
    if chosen in INTEGER_BITS:
        samples = quantised(samples, INTEGER_BITS[chosen])
    summary = provenance.summary(doc)
    # the file's own comment stays first (a walk-through's "call with guest" was replaced by the summary)
    own = str(doc.metadata.get("comment") or "").split(COMMENT_JOIN + "Lacuna ")[0].strip()
    if own and not own.startswith("Lacuna "):
        summary = own + COMMENT_JOIN + summary

    def write(tmp: Path) -> None:
        with sf.SoundFile(
            str(tmp),
            "w",
            samplerate=int(doc.sample_rate),
            channels=samples.shape[1],
            subtype=chosen,
            format=fmt,
        ) as f:
            kept = [
                (k, v)
                for k, v in doc.metadata.items()
                if k in METADATA_KEYS and k not in ("software", "comment")
            ]
            for key, value in (*kept, ("software", "Lacuna"), ("comment", summary)):
                try:  # not every container has room for text (then the sidecar has it)
                    setattr(f, key, value)
                except (RuntimeError, sf.LibsndfileError):
                    pass
            f.write(samples)

    lossy = chosen in LOSSY_SUBTYPES  # said, as a video's encoding is (a walk-through's .ogg changed)
    return Written(atomic_write(target, write), (_LOSSY_NOTE.format(chosen),) if lossy else ())


def describe(doc: AudioDoc, scan: bool = True) -> dict[str, Any]:
    frames, channels = doc.samples.shape
    info = {
        "subtype": doc.subtype,
        "sample_rate": int(doc.sample_rate),
        "channels": int(channels),
        "frames": int(frames),
        "duration": round(doc.duration, 6),
        "shape": [int(frames), int(channels)],
        "value_range": minmax(doc.samples),  # as read, in [-1, 1]; the file stores its `subtype`
        "tags": {k: str(v) for k, v in doc.metadata.items() if k in METADATA_KEYS},  # the file's own
    }
    if scan:  # what `lacuna repair --detect` would fill, as a video's info lists its damage
        info["damage_summary"] = damage_summary(doc)
        trace = trace_summary(doc)
        if trace:
            info["loss_trace"] = trace
    return info


def trace_summary(doc: AudioDoc) -> str | None:
    """The loss trace beside a call (NAME_is_lost.txt), as `lacuna repair --loss-trace` would read it:
    '1214_is_lost.txt: 117 of 468 packets of 20 ms lost', or why it would be refused;
    None without one."""
    from core.audio.loss_trace import trace_beside, traced_loss
    from core.errors import LacunaError

    if doc.path is None or not trace_beside(doc.path).is_file():
        return None
    try:
        loss = traced_loss(doc.samples, doc.sample_rate, trace_beside(doc.path))
    except LacunaError as exc:
        return f"beside it, refused: {exc}"
    return "; ".join([loss.origin.removeprefix("loss trace "), *loss.warnings])


SCAN_SECONDS = 600  # longer recordings are scanned by `lacuna repair --detect` only, not to describe them


def damage_summary(doc: AudioDoc) -> str:
    """What `lacuna repair --detect` would fill: '89 dropouts on a 20 ms packet grid (a call's lost
    packets); left as they are in the speech: 11 discontinuities, 10 clicks', or what was looked for."""
    import warnings

    from core.audio.detect import count_kinds, detect, left_in_speech, what_to_fill

    samples = doc.samples
    if not samples.size or doc.duration > SCAN_SECONDS:
        return f"not scanned (empty, or longer than {SCAN_SECONDS // 60} minutes)"
    if not np.isfinite(samples).all():
        return "not scanned: some samples are not numbers (NaN or infinite)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a describe must not print numpy's remarks
            found = detect(samples, doc.sample_rate)
    except (ValueError, FloatingPointError, MemoryError) as exc:
        return f"not scanned ({type(exc).__name__})"
    if not found:
        return "no clicks or dropouts found"
    filled, _, grid = what_to_fill(found, doc.sample_rate, len(doc.samples))
    if grid is None:
        return count_kinds(found)
    left = left_in_speech(found)  # not by identity: the dropouts filled are trimmed to the grid
    rest = f"; left as they are in the speech: {count_kinds(left)}" if left else ""
    return f"{len(filled)} dropouts on a {grid:g} ms packet grid (a call's lost packets){rest}"


def _magic(head: bytes) -> bool:
    if head[:4] in (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"riff") or head[:3] == b"ID3":
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # an MPEG audio frame sync


FORMAT = FileFormat(
    name="audio",
    title="audio: WAV, FLAC, Ogg, MP3",
    extensions=(".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".w64", ".rf64", ".caf", ".au"),
    magic=_magic,
    read=read_audio,
    write=write_audio,
    writes={"audio": tuple(WRITE_FORMATS)},
    saved_as={name: ext for ext, name in reversed(WRITE_FORMATS.items())},
    describe=describe,
)

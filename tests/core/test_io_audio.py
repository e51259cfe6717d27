"""Audio: the shared clips, every writable format, rate/channels/subtype kept, loud samples clipped."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import core.io as io
from core.errors import ReadError, WriteError


def _tone(frames=4000, channels=2, rate=22050):
    t = np.arange(frames) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], -1).astype(
        np.float32
    )


@pytest.mark.parametrize(
    "ext,subtype",
    [
        (".wav", "PCM_16"),
        (".wav", "PCM_24"),
        (".wav", "FLOAT"),
        (".flac", "PCM_16"),
        (".flac", "PCM_24"),
        (".aiff", "PCM_16"),
    ],
)
def test_lossless_round_trip_keeps_rate_channels_subtype(tmp_path, ext, subtype):
    src = tmp_path / f"tone{ext}"
    sf.write(src, _tone(channels=3), 22050, subtype=subtype)
    doc = io.read(src)
    assert doc.samples.dtype == np.float32 and doc.samples.shape == (4000, 3)
    assert doc.subtype == subtype and doc.sample_rate == 22050
    out = io.write(doc, tmp_path / f"out{ext}")
    again = io.read(out)
    assert (again.sample_rate, again.channels, again.subtype) == (22050, 3, subtype)
    np.testing.assert_array_equal(again.samples, doc.samples)


@pytest.mark.parametrize("ext,subtype", [(".ogg", "VORBIS"), (".mp3", "MPEG_LAYER_III")])
def test_lossy_formats_read_and_write(tmp_path, ext, subtype):
    if ext == ".mp3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3")
    src = tmp_path / "tone.wav"
    sf.write(src, _tone(frames=22050), 22050)
    out = io.write(io.read(src), tmp_path / f"tone{ext}")
    again = io.read(out)
    assert again.subtype == subtype and again.sample_rate == 22050 and again.channels == 2
    assert abs(again.samples.shape[0] - 22050) < 2048  # encoders may pad a frame
    assert np.abs(again.samples).max() > 0.3
    # Every sample is re-encoded, not only a repair's: the record (and so the console) says so.
    from core.io.provenance import parse_record, sidecar_path

    record = parse_record(sidecar_path(out).read_text(encoding="utf-8"))
    assert any(f"encoded as {subtype} (lossy)" in note for note in record["conversion"])
    flac = io.write(io.read(src), tmp_path / "tone.flac")
    assert "conversion" not in parse_record(sidecar_path(flac).read_text(encoding="utf-8"))


def test_shared_clips_read(datasets):
    clip = sorted((datasets / "audio" / "bench" / "clips").glob("*.ogg"))[0]
    doc = io.read(clip)
    assert doc.format == "OGG" and doc.subtype == "VORBIS"
    assert doc.samples.shape[0] > doc.sample_rate  # more than a second
    digit = sorted((datasets / "audio" / "bench" / "digits").glob("*.wav"))[0]
    doc = io.read(digit)
    assert (doc.sample_rate, doc.channels, doc.subtype) == (8000, 1, "PCM_16")


def test_subtype_option_and_impossible_subtype(tmp_path):
    src = tmp_path / "a.wav"
    sf.write(src, _tone(channels=1), 8000, subtype="PCM_16")
    doc = io.read(src)
    assert io.read(io.write(doc, tmp_path / "f.wav", subtype="FLOAT")).subtype == "FLOAT"
    with pytest.raises(WriteError, match="FLAC cannot hold subtype 'FLOAT'"):
        io.write(doc, tmp_path / "f.flac", subtype="FLOAT")
    # a source subtype the target cannot hold falls back to the target's default
    ogg = io.write(doc, tmp_path / "v.ogg")
    assert io.read(io.write(io.read(ogg), tmp_path / "v.flac")).subtype == "PCM_16"


def test_loud_results_are_clipped_not_wrapped(tmp_path):
    src = tmp_path / "a.wav"
    sf.write(src, _tone(channels=1), 8000, subtype="PCM_16")
    doc = io.read(src)
    loud = doc.samples.copy()
    loud[10] = 1.7
    loud[11] = -3.0
    again = io.read(io.write(doc.with_samples(loud), tmp_path / "loud.wav"))
    assert again.samples[10, 0] > 0.999 and again.samples[11, 0] == -1.0


def test_empty_wav_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 1), np.float32), 8000)
    with pytest.raises(ReadError, match=r"^empty\.wav: the file contains no audio samples"):
        io.read(path)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_a_fill_saved_as_wav_and_flac_holds_the_same_samples(datasets, tmp_path, subtype):
    """A walk-through saved one concealment as .wav and .flac: 18,766 filled samples a level apart
    (libsndfile rounds float samples differently per container); the received ones were equal."""
    from core.documents import AudioDoc

    call = io.read(datasets / "audio/speech/plc/test_files/2307.wav")
    filled = call.samples.copy()
    filled[1000:3000] = 0.3 * np.sin(np.arange(2000) / 7.0)[:, None]  # between the int16 codes
    doc = AudioDoc(filled, call.sample_rate, subtype=subtype)
    wav, flac = (io.write(doc, tmp_path / f"x.{ext}") for ext in ("wav", "flac"))
    a, b = (sf.read(path, dtype="int32")[0] for path in (wav, flac))
    assert np.array_equal(a, b)
    received = sf.read(datasets / "audio/speech/plc/test_files/2307.wav", dtype="int32")[0]
    assert np.array_equal(a[:1000], received[:1000]) and np.array_equal(a[3000:], received[3000:])
    bits = int(subtype[4:])
    expected = np.rint(filled[1000:3000, 0].astype(np.float64) * 2 ** (bits - 1)).astype(np.int64)
    assert np.array_equal(a[1000:3000] >> (32 - bits), expected)


def test_a_recordings_own_comment_is_kept_before_what_lacuna_did(tmp_path):
    """A walk-through's WAV comment 'call with guest' was replaced by Lacuna's summary."""
    from core.audio.selection import TimeSpan
    from core.repair import run_repair

    noise = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    with sf.SoundFile(tmp_path / "call.wav", "w", 16000, 1, "PCM_16") as f:
        f.comment, f.title = "call with guest", "episode 1"
        f.write(noise)
    doc = io.read(tmp_path / "call.wav")
    once = io.write(run_repair(doc, "fill-gap", mask=[TimeSpan(3200, 4000)]), tmp_path / "once.wav")
    again = run_repair(io.read(once), "fill-gap", mask=[TimeSpan(8000, 8800)])
    with sf.SoundFile(io.write(again, tmp_path / "twice.wav")) as f:
        assert f.comment.startswith("call with guest; Lacuna ") and f.comment.count("call with guest") == 1
        assert f.title == "episode 1"

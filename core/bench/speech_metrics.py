"""Scores of the speech benchmark: an offline recogniser's word errors, PLCMOS, PESQ and STOI.

- Recognition: pocketsphinx with the en-US model shipped in its wheel, on 16 kHz 16-bit audio
  (batch cepstral normalisation, so a result does not depend on what was decoded before); its text
  and the reference are lower-cased and stripped of punctuation before `jiwer` aligns them.
- Corpus WER: all word errors over all reference words; its 95% interval is a bootstrap over
  utterances (the same resamples for every row, so rows are compared on the same draws).
- PLCMOS (v2, `speechmos`, ONNX model in the wheel): the mean of its 15 rater embeddings, drawn with a
  fixed seed so a score is reproducible. PESQ wide-band and STOI against the clean utterance.
Every model is read from the installed packages; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

from core.errors import LacunaError

RATE = 16000  # the rate of the recogniser's model, of PLCMOS and of wide-band PESQ
EXTRA = "speech-bench"
PACKAGES = ("pocketsphinx", "jiwer", "speechmos", "onnxruntime", "pesq", "pystoi")  # their modules' names too
BOOTSTRAP_RESAMPLES = 1000


def require() -> None:
    """A one-line error naming the extra when a package of the speech benchmark is missing."""
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise LacunaError(
            f"lacuna bench speech needs {', '.join(missing)}: "
            f"pip install 'lacuna-studio[{EXTRA}]' (or -e \".[{EXTRA}]\" in a checkout)"
        )


def to_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float64 at 16 kHz, clipped to [-1, 1] as a 16-bit file would be."""
    from core.audio.stft import resample

    mono = np.asarray(samples, np.float64).reshape(len(samples), -1).mean(axis=1)
    if rate != RATE:
        mono = resample(mono, rate, RATE)
    return np.clip(mono, -1.0, 1.0)


class Recogniser:
    """pocketsphinx's default en-US acoustic model, dictionary and language model, decoding whole
    utterances offline. A fresh decoder per utterance: one decoder carries state from utterance to
    utterance (its noise filter among others), which changed up to two words of an utterance's
    transcript depending on what had been decoded before it."""

    def __init__(self):
        from pocketsphinx import Config

        self.config = Config(samprate=RATE, cmn="batch", loglevel="FATAL")

    def transcribe(self, audio: np.ndarray) -> str:
        """The words heard in mono 16 kHz float audio."""
        from pocketsphinx import Decoder

        decoder = Decoder(self.config)
        pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr if hypothesis is not None else ""


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words), case and punctuation ignored."""
    import jiwer

    normalise = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    if not normalise(reference)[0]:
        raise LacunaError(f"an empty transcript: {reference!r}")
    if not normalise(hypothesis)[0]:  # nothing recognised: every reference word is deleted
        return len(normalise(reference)[0]), len(normalise(reference)[0])
    out = jiwer.process_words(
        reference, hypothesis, reference_transform=normalise, hypothesis_transform=normalise
    )
    return out.substitutions + out.deletions + out.insertions, out.substitutions + out.deletions + out.hits


def bootstrap_draws(count: int, seed: int, resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """(resamples, count) utterance indices drawn with replacement."""
    return np.random.default_rng(seed).integers(0, count, size=(resamples, count))


def corpus_wer(errors: np.ndarray, words: np.ndarray, draws: np.ndarray) -> tuple[float, float, float]:
    """(WER, 2.5th and 97.5th percentile of the bootstrap WERs)."""
    errors, words = np.asarray(errors, np.float64), np.asarray(words, np.float64)
    resampled = errors[draws].sum(axis=1) / np.maximum(words[draws].sum(axis=1), 1.0)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float(errors.sum() / words.sum()), float(low), float(high)


def paired_difference(
    errors: np.ndarray, base_errors: np.ndarray, words: np.ndarray, draws: np.ndarray
) -> tuple[float, float, float]:
    """(WER - base WER, 2.5th and 97.5th percentile) on the same utterances and bootstrap draws: a
    tighter test than two separate intervals, since both rows move together with the draws."""
    errors, base_errors = np.asarray(errors, np.float64), np.asarray(base_errors, np.float64)
    words = np.asarray(words, np.float64)
    resampled = (errors[draws].sum(axis=1) - base_errors[draws].sum(axis=1)) / np.maximum(
        words[draws].sum(axis=1), 1.0
    )
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float((errors.sum() - base_errors.sum()) / words.sum()), float(low), float(high)


class PlcMos:
    """PLCMOS v2 with its rater embeddings drawn from a fixed seed (speechmos draws them from numpy's
    global generator, which is set for the call and given back unchanged)."""

    def __init__(self, seed: int = 0):
        from speechmos import plcmos

        self.model = plcmos.PLCMOS()
        self.seed = seed

    def score(self, audio: np.ndarray) -> float:
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            return float(self.model.get_mos(np.clip(audio, -1.0, 1.0).astype(np.float32)))
        finally:
            np.random.set_state(state)


def pesq_stoi(reference: np.ndarray, degraded: np.ndarray, rate: int) -> tuple[float, float]:
    """(PESQ, STOI) of mono audio (PESQ wide-band at 16 kHz and up, narrow-band at 8 kHz after
    resampling); NaN where a score is undefined (too short, no speech found) or its package missing."""
    from core.audio.stft import resample

    pesq_score = stoi_score = float("nan")
    try:
        from pesq import pesq

        target = 16000 if rate >= 16000 else 8000
        pesq_score = float(
            pesq(
                target,
                resample(reference, rate, target),
                resample(degraded, rate, target),
                "wb" if target == 16000 else "nb",
            )
        )
    except Exception:  # too short, no utterance found, or the package is missing
        pass
    try:
        from pystoi import stoi

        with warnings.catch_warnings():  # "not enough STFT frames" for short clips: NaN below
            warnings.simplefilter("ignore")
            stoi_score = float(stoi(reference, degraded, rate, extended=False))
        if stoi_score <= 1e-4:  # pystoi's answer when the speech is shorter than its 384 ms segment
            stoi_score = float("nan")
    except Exception:
        pass
    return pesq_score, stoi_score

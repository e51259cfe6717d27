"""The audio click detector's threshold: marks per second on clean training speech (every 4th of
audio/speech/train) and music (the first 8 s of audio/train/clips), and the recall of planted clicks
(10 per recording, the recipe of tests/core/test_audio_detect.py) on both. Training data only.

    OMP_NUM_THREADS=2 python scripts/audio_click_threshold.py 12 16 20 24
"""

import glob
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
from test_audio_detect import _covered, _plant_clicks

import core.io
from core.audio import detect

speech = sorted(glob.glob("../shared/datasets/audio/speech/train/*.wav"))[::4]  # 17 utterances
clips = sorted(glob.glob("../shared/datasets/audio/train/clips/*.ogg"))
docs = [core.io.read(p) for p in speech]
music = []
for p in clips:
    d = core.io.read(p)
    music.append(d.with_samples(d.samples[: 8 * d.sample_rate]))
for thr in map(float, sys.argv[1:]):
    fa = sec = 0
    hits = total = 0
    for d in docs:
        fa += len(detect.find_clicks(d.samples, d.sample_rate, threshold=thr))
        sec += len(d.samples) / d.sample_rate
    for i, d in enumerate(docs + music):
        dam, planted = _plant_clicks(d.samples, d.sample_rate, 10, seed=i)
        f = detect.find_clicks(dam, d.sample_rate, threshold=thr)
        hits += sum(_covered(f, t) for t in planted)
        total += len(planted)
    mfa = sum(len(detect.find_clicks(d.samples, d.sample_rate, threshold=thr)) for d in music) / sum(
        len(d.samples) / d.sample_rate for d in music
    )
    print(
        f"threshold {thr:g}: speech false alarms {fa / sec:.2f}/s, music {mfa:.2f}/s,"
        f" recall {hits}/{total} = {hits / total:.3f}",
        flush=True,
    )

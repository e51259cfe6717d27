"""The fill-gap training recipe on real audio, and its weights driving the learned method."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import core.io
from core.audio.selection import TFRect, TimeSpan
from core.audio.stft import MODEL_RATE, stft
from core.repair import run_repair
from core.train.cli import build_parser
from core.train.cli import main as train_main
from core.train.recipes.fill_gap import FillGapRecipe


@pytest.fixture(scope="module")
def data_dirs(datasets, tmp_path_factory):
    """A few spoken digits and a 6 s excerpt of a 44.1 kHz training clip (train sets only)."""
    root = tmp_path_factory.mktemp("fillgap")
    digits, clips = root / "digits", root / "clips"
    digits.mkdir()
    clips.mkdir()
    for path in sorted((datasets / "audio" / "train" / "digits").glob("*_george_*.wav"))[:12]:
        shutil.copy(path, digits / path.name)
    music, rate = sf.read(
        datasets / "audio" / "train" / "clips" / "Kevin_MacLeod_-_Vibe_Ace.ogg", frames=6 * 44100
    )
    sf.write(clips / "vibe.wav", music, rate)
    (clips / "notes.txt").write_text("not audio: skipped")
    return digits, clips


def test_batches_hide_gaps_on_energetic_audio(data_dirs):
    digits, clips = data_dirs
    args = build_parser(FillGapRecipe).parse_args(
        [
            "--data",
            str(clips),
            str(digits),
            "--out",
            "x.safetensors",
            "--steps",
            "4",
            "--base",
            "8",
            "--val-crops",
            "8",
        ]
    )
    recipe = FillGapRecipe(args, torch.device("cpu"))
    data = recipe.load_data(args)
    assert data.rate == MODEL_RATE and len(data.groups) == 2
    val = recipe.load_validation(args, data)
    assert sum(len(v) for v in val) == 8
    gen = torch.Generator().manual_seed(0)
    clean = data.batch(16, 16000, gen)
    assert clean.shape == (16, 16000) and torch.isfinite(clean).all()
    (inputs,), target = recipe.make_batch(clean, gen)
    assert inputs.shape == (16, 2, 257, 126) and target.shape == (16, 2, 257, 126)
    mask = inputs[:, 1] > 0.5
    assert torch.all(inputs[:, 0][mask] == 0)  # unknown bins are hidden from the network
    frames_per_crop = mask.any(dim=1).sum(dim=1).float()
    assert frames_per_crop.min() >= 1 and frames_per_crop.max() <= 500 / 8 + 5  # 5-500 ms gaps
    # Gaps are centred on energetic frames: within 30 dB of the crop's loudest frame.
    energy = stft(clean, 512, 128).abs().pow(2).mean(dim=1)
    for b in range(16):
        columns = torch.nonzero(mask[b].any(dim=0)).flatten()
        centre = int(columns[len(columns) // 2])
        assert energy[b, centre - 1 : centre + 2].max() >= 1e-3 * energy[b].max()
    import contextlib

    loss = recipe.step(clean, gen, contextlib.nullcontext)
    assert np.isfinite(float(loss["loss"]))
    assert np.isfinite(recipe.validate(val, torch.Generator().manual_seed(1)))


def test_training_cli_writes_weights_the_learned_method_uses(data_dirs, tmp_path, monkeypatch, datasets):
    import core.methods.weights as weights

    digits, clips = data_dirs
    out = tmp_path / "fill-gap.safetensors"
    code = train_main(
        [
            "fill-gap",
            "--data",
            str(clips),
            str(digits),
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch",
            "2",
            "--crop",
            "8000",
            "--base",
            "8",
            "--device",
            "cpu",
            "--val-every",
            "2",
            "--val-crops",
            "4",
            "--log-every",
            "1",
        ]
    )
    assert code == 0 and out.is_file()
    monkeypatch.setattr(weights, "OVERRIDE", tmp_path)
    doc = core.io.read(datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
    doc = doc.with_samples(doc.samples[: 2 * doc.sample_rate])
    rate = doc.sample_rate
    for sel in (TimeSpan(rate, rate + rate // 5), TFRect(rate // 2, rate // 2 + rate // 10, 500.0, 3000.0)):
        result = run_repair(doc, "fill-gap", method="fill-gap-learned", mask=sel, gl_iterations=4)
        changed = np.flatnonzero(np.any(result.samples != doc.samples, axis=1))
        assert (
            changed.size
            and changed[0] >= sel.span[0] - 0.04 * rate
            and changed[-1] < sel.span[1] + 0.04 * rate
        )
        assert np.all(np.isfinite(result.samples))
    # With weights installed, the default hands long gaps to the network.
    auto = run_repair(doc, "fill-gap", mask=TimeSpan(rate, rate + rate // 5))
    assert auto.provenance[-1].method == "fill-gap-auto"


def test_ranks_sharing_a_device_stop_together_at_the_time_limit(data_dirs, tmp_path):
    """Two torchrun ranks on one device (gloo) train until --time-limit: they must stop at the same
    step (each reading its own clock had left one waiting for the other forever) and save once."""
    import json
    import os
    import re
    import subprocess
    import sys

    digits, _ = data_dirs
    out = tmp_path / "fill-gap.safetensors"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "core.cli", "train", "fill-gap", "--data", str(digits), "--out", str(out)]
    command += ["--steps", "100000", "--time-limit", "3", "--batch", "2", "--crop", "8000", "--base", "8"]
    command += ["--device", "cpu", "--val-every", "100000", "--val-crops", "4", "--log-every", "100000"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    said = [line for line in run.stderr.splitlines() if "Warning" not in line and "warn(" not in line]
    assert run.returncode == 0, "\n".join(said[:40])
    stops = re.findall(r"time limit reached at step (\d+)", run.stdout + run.stderr)
    assert len(stops) == 2 and stops[0] == stops[1]
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["ranks"] == 2 and record["steps"] == int(stops[0])

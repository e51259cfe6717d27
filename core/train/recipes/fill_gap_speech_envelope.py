"""Training recipe for `lacuna train fill-gap-speech-envelope`: the envelope stage of speech concealment.

The network (`core.archs.mel_envelope`) scales, per mel band and frame, the spectrum of a fill of the
lost packets; `fill-gap-speech` runs it on its waveform network's fill. It is trained on the fill
that the waveform network itself corrects, the pitch periods of both sides repeated in
(`--first-fill both-sides`), so that it does not depend on one set of waveform weights; applied to
the waveform network's fill it scored better still (docs/benchmarks.md, "Speech packet loss").
`--first-fill network` trains it on the fill it corrects in repair, the shipped waveform network's
(frozen, run on each batch; the card records which weights), usually as a fine-tune (`--init`).

Data and losses of the crops: those of `fill-gap-speech` (`add_crop_arguments`), with heavier loss by
default (5-70%, mean bursts of 1-5 packets: the real call traces lose up to 78% in bursts of up to 9)
and more speech (70% of the crops). Loss: `log_mel_loss` over the frames that touch lost samples:
the envelope is all this network can change. Validation: the same distance on held-out crops at 20%
loss (lower is better).

CPU training of the shipped weights (one thread, about 5,000 steps in the half hour):

    OMP_NUM_THREADS=1 lacuna train fill-gap-speech-envelope --data ../shared/datasets/audio/speech/train \\
        ../shared/datasets/audio/train/digits ../shared/datasets/audio/train/clips \\
        --out envelope.safetensors --steps 100000 --time-limit 1800
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.audio.stft import MODEL_RATE
from core.errors import MethodError
from core.methods.fill_gap_speech import WEIGHTS as WAVEFORM_WEIGHTS
from core.train.recipes.fill_gap_speech import (
    PACKET_CHOICES_MS,
    FillGapSpeechRecipe,
    add_crop_arguments,
    check_crop_arguments,
    log_mel_loss,
)

LOSS_RATES, MEAN_BURSTS = (0.05, 0.7), (1.0, 5.0)


class FillGapSpeechEnvelopeRecipe(FillGapSpeechRecipe):
    task = "fill-gap-speech-envelope"
    arch = "mel_envelope"
    default_steps = 100000  # bounded by --time-limit in practice
    validation_key = "val_log_mel"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("fill-gap-speech-envelope")
        group.add_argument("--hidden", type=int, default=96, help="width of the GRU")
        add_crop_arguments(
            group,
            speech_share=0.7,
            loss_rates=LOSS_RATES,
            bursts=MEAN_BURSTS,
            first_fill="both-sides",
            fills=("ar", "both-sides", "network"),
        )

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        check_crop_arguments(args)
        if args.first_fill == "network":  # the waveform network takes lengths of whole frames only
            multiple = self.waveform_network().multiple
            if args.crop % multiple:
                raise MethodError(f"--first-fill network needs a --crop that is a multiple of {multiple}")
        return {"hidden": args.hidden}

    def after_init(self) -> None:
        """Nothing to adjust: the waveform recipe's --zero-correction has no counterpart here."""

    def first_fill(self) -> str:
        """With --first-fill network the inputs carry the waveform network's own first fill, which it
        then corrects (`make_batch`)."""
        return (
            self.waveform_network().first_fill if self.args.first_fill == "network" else self.args.first_fill
        )

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        (inputs,), target = super().make_batch(clean, generator)
        if self.args.first_fill == "network":  # the fill it corrects in repair: the waveform network's
            with torch.no_grad():
                fill = self.waveform_network()(inputs).float()[:, 0]
            inputs = torch.stack([inputs[:, 0], inputs[:, 1], fill], 1)
        return (inputs,), target

    def waveform_network(self) -> torch.nn.Module:
        """The shipped waveform network, frozen (loaded once)."""
        from core.archs import cached_weights
        from core.methods import weights

        model = cached_weights(weights.require(WAVEFORM_WEIGHTS), self.device)[0]
        return model.eval()

    def card_info(self) -> dict[str, Any]:
        return {
            "task": "fill-gap",
            "stage": "envelope",
            "sample_rate": MODEL_RATE,
            "packet_ms": list(PACKET_CHOICES_MS),
            "loss_rate": list(self.args.loss_rate),
            "mean_burst": list(self.args.burst),
            "trained_on_fill": self.args.first_fill,
            **({"waveform_weights": self.waveform_identity()} if self.args.first_fill == "network" else {}),
        }

    def waveform_identity(self) -> str:
        """The waveform weights this stage learned to follow: file name and the start of its SHA-256."""
        import hashlib

        from core.methods import weights

        digest = hashlib.sha256(Path(weights.require(WAVEFORM_WEIGHTS)).read_bytes()).hexdigest()
        return f"{WAVEFORM_WEIGHTS} sha256:{digest[:16]}"

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        clean, mask = target[:, 0], target[:, 1]
        return log_mel_loss(pred[:, 0], clean, mask)

    @torch.no_grad()
    def validate(self, batches: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean over held-out crops of the log-mel distance over their lost frames."""
        self.model.eval()
        scores = []
        for batch in batches:
            (inputs,), target = self.make_batch(batch.to(self.device), generator)
            pred = self.model(inputs).float()
            scores += [self.loss(pred[i : i + 1], target[i : i + 1]).item() for i in range(len(pred))]
        return float(np.mean(scores))

    def describe_validation(self, value: float) -> str:
        return f"validation log-mel distance over lost frames {value:.4f} (mean over crops; lower is better)"


RECIPE = FillGapSpeechEnvelopeRecipe

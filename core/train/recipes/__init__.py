"""Training recipes by task name; each module defines `RECIPE`, a `core.train.recipe.Recipe` subclass."""

from __future__ import annotations

import importlib

from core.errors import LacunaError

RECIPES = {
    "denoise": "core.train.recipes.denoise",
    "denoise-fast": "core.train.recipes.denoise_fast",
    "denoise-scan": "core.train.recipes.denoise_scan",
    "denoise-slim": "core.train.recipes.denoise_slim",
    "upscale": "core.train.recipes.upscale",
    "upscale-fast": "core.train.recipes.upscale_fast",
    "dejpeg": "core.train.recipes.dejpeg",
    "dejpeg-fast": "core.train.recipes.dejpeg_fast",
    "inpaint": "core.train.recipes.inpaint",
    "inpaint-fast": "core.train.recipes.inpaint_fast",
    "fill-gap": "core.train.recipes.fill_gap",
    "fill-gap-speech": "core.train.recipes.fill_gap_speech",
    "fill-gap-speech-envelope": "core.train.recipes.fill_gap_speech_envelope",
    "detect": "core.train.recipes.detect",
    "fill-frames": "core.train.recipes.fill_frames",
}


def get_recipe(task: str):
    if task not in RECIPES:
        raise LacunaError(f"no training recipe for {task!r}; tasks: {', '.join(RECIPES)}")
    return importlib.import_module(RECIPES[task]).RECIPE

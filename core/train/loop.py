"""The training loop shared by every task: crops, steps, validation, checkpoint/resume, export."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from core.archs import save_weights
from core.runtime.device import autocast, pick_device, pick_dtype
from core.train.recipe import Recipe


def _autocast_factory(
    device: torch.device, precision: str
) -> Callable[[], contextlib.AbstractContextManager]:
    """Training takes its precision from the one policy (core.runtime.device.autocast)."""
    return lambda: autocast(device, precision)


def _distributed(device: str = "auto") -> tuple[int, int]:
    """(rank, world size) under torchrun; (0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        # NCCL needs a GPU of its own per rank. Several ranks sharing fewer GPUs (so that batches whose
        # degradation is built on the CPU are built on more cores), or on the CPU, use gloo.
        on_gpus = str(device).startswith(("auto", "cuda")) and torch.cuda.device_count() >= world
        torch.distributed.init_process_group("nccl" if on_gpus else "gloo")
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def train(recipe_cls: type[Recipe], args: argparse.Namespace, log: Callable[[str], None] = print) -> Path:
    rank, world = _distributed(args.device)
    device = pick_device(args.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed + rank)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    recipe = recipe_cls(args, device)
    if getattr(args, "init", None):
        _start_from(recipe, Path(args.init), device)
        recipe.after_init()
        log(f"starting from {args.init}")
    if world > 1:
        recipe.model = torch.nn.parallel.DistributedDataParallel(recipe.model)
    data = recipe.load_data(args) if hasattr(recipe, "load_data") else _image_data(recipe, args, device)
    if hasattr(recipe, "load_validation"):
        val = recipe.load_validation(args, data)
    else:
        val = _image_val(recipe, args, device, data)
    generator = torch.Generator(device="cpu").manual_seed(args.seed + 1000 * rank)
    val_generator_seed = args.seed + 12345
    autocast = _autocast_factory(device, args.precision)

    out = Path(args.out)
    ckpt = Path(args.checkpoint or out.with_suffix(".ckpt"))
    start = 0
    if args.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        recipe.load_state(state["recipe"])
        start = int(state["step"])
        generator.manual_seed(args.seed + start + 1000 * rank)  # each rank its own batches again
        log(f"resumed from {ckpt} at step {start}")

    history: list[dict] = []
    t0 = time.monotonic()
    best = float("-inf")
    for step in range(start, args.steps):
        clean = data.batch(args.batch, args.crop, generator).to(device, non_blocking=True)
        losses = recipe.step(clean, generator, autocast)
        done = step + 1
        if args.time_limit:
            # The learning rate follows whichever runs out first, steps or time, so a run cut short
            # by --time-limit (a shared GPU, say) still anneals fully instead of stopping at a high rate.
            fraction = max(done / args.steps, (time.monotonic() - t0) / args.time_limit)
            fraction = _agreed(fraction, world, device)
            set_schedule(recipe, fraction)
        if rank == 0 and (done % args.log_every == 0 or done == args.steps):
            rate = (done - start) / max(time.monotonic() - t0, 1e-6)
            eta = (args.steps - done) / max(rate, 1e-6)
            if args.time_limit:
                eta = min(eta, max(args.time_limit - (time.monotonic() - t0), 0.0))
            # float() here, not in step(): a host sync on every step would stall the GPU queue.
            loss_text = " ".join(f"{k}={float(v):.4f}" for k, v in losses.items())
            log(f"step {done}/{args.steps} {loss_text} {rate:.1f} it/s eta {eta / 60:.1f} min")
        if rank == 0 and val and (done % args.val_every == 0 or done == args.steps):
            psnr = recipe.validate(val, torch.Generator().manual_seed(val_generator_seed))
            history.append({"step": done, recipe.validation_key: round(psnr, 3)})
            log(f"step {done}: {recipe.describe_validation(psnr)}")
            best = max(best, psnr)
        if rank == 0 and (done % args.checkpoint_every == 0 or done == args.steps):
            _save_checkpoint(ckpt, recipe, done)
        if args.time_limit and fraction > 1.0:
            log(f"time limit reached at step {done}")
            if rank == 0:
                _save_checkpoint(ckpt, recipe, done)
            args.steps_done = done
            break
    else:
        args.steps_done = args.steps

    if rank == 0:
        model = recipe.export_model()
        model = getattr(model, "module", model)
        info = recipe.card_info()
        info.update(
            {
                "steps": int(args.steps_done),
                "batch": args.batch,
                "ranks": world,  # each rank draws its own batch: world × batch crops a step
                "crop": args.crop,
                "data": [str(d) for d in args.data],
                # what a later stage started from and how it learned: the card's command says the same
                "init": str(args.init) if getattr(args, "init", None) else None,
                "lr": args.lr,
                "seed": args.seed,
                "hardware": _hardware(device),
                # What autocast really used: bfloat16 asked for is float32 on CPUs without it.
                "precision": str(pick_dtype(device, args.precision)).removeprefix("torch."),
                "validation": history[-5:],
                "seconds": round(time.monotonic() - t0, 1),
            }
        )
        save_weights(model, out, arch=recipe.arch, hparams=recipe.hparams, training=info)
        out.with_suffix(".json").write_text(json.dumps(info, indent=2))
        log(f"saved {out}")
    if world > 1:
        # Every rank leaves together, its process group shut down: a rank exiting with gloo's threads
        # still running aborted ("terminate called without an active exception") on a loaded CPU.
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return out


def _agreed(fraction: float, world: int, device: torch.device) -> float:
    """The largest of the ranks' `fraction`s: every rank must use the same learning rate and stop at
    the same step, or the others would wait for it forever in the gradient reduction."""
    if world == 1:
        return fraction
    value = torch.tensor([fraction], dtype=torch.float64, device=device)  # NCCL reduces GPU tensors only
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return float(value)


def schedule_factor(fraction: float, warmup: float = 0.03, floor: float = 0.01) -> float:
    """Learning-rate multiplier at `fraction` of the run: linear warm-up, then cosine down to `floor`."""
    fraction = min(max(fraction, 0.0), 1.0)
    if fraction < warmup:
        return max(fraction / warmup, floor)
    t = (fraction - warmup) / (1.0 - warmup)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


def set_schedule(recipe: Recipe, fraction: float) -> None:
    """Set every optimizer of the recipe to its peak rate times `schedule_factor(fraction)`.

    The peak is the rate the optimizer was built with (`max_lr` / `initial_lr` once a scheduler has
    touched the group). The recipe's own scheduler keeps stepping but this overrides it.
    """
    factor = schedule_factor(fraction)
    for value in vars(recipe).values():
        if isinstance(value, torch.optim.Optimizer):
            for group in value.param_groups:
                peak = group.setdefault("peak_lr", group.get("max_lr", group.get("initial_lr", group["lr"])))
                group["lr"] = peak * factor


def _image_data(recipe: Recipe, args: argparse.Namespace, device: torch.device):
    from core.train.data import ImageCrops

    return ImageCrops(args.data, args.channels, device, min_side=getattr(args, "min_side", 0))


def _image_val(recipe: Recipe, args: argparse.Namespace, device: torch.device, data):
    """Validation images: --val-data if given, else a few held out of the training folders."""
    if args.val_data:
        from core.train.data import ImageCrops

        return ImageCrops([args.val_data], args.channels, device).full_images(args.val_count)
    return data.hold_out(args.val_count)


def _start_from(recipe: Recipe, path: Path, device: torch.device) -> None:
    """Fine-tuning: copy a weights file's parameters into the recipe's freshly built network."""
    from core.archs import load_weights
    from core.errors import MethodError

    model, meta = load_weights(path, device)
    if meta.get("arch") != recipe.arch or meta.get("hparams") != json.loads(json.dumps(recipe.hparams)):
        # A recipe may turn another shape into its own (a shallower network deepened, same function).
        adapt = getattr(recipe, "adapt_start", None)
        model = adapt(model) if adapt else None
    if model is None:
        raise MethodError(
            f"{path.name} holds {meta.get('arch')} {meta.get('hparams')}, but this run builds "
            f"{recipe.arch} {recipe.hparams}: give the same architecture options as the file was trained with"
        )
    recipe.model.load_state_dict(model.state_dict())


def _save_checkpoint(path: Path, recipe: Recipe, step: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"recipe": recipe.state(), "step": step}, tmp)
    os.replace(tmp, path)


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"

"""fill-slice-self: missing slices rebuilt by a small network that learns from the volume's own in-plane
detail, after SMORE (Zhao et al., 2020); our own implementation, no outside data, no weights.

Across the slices a volume is coarse; within a slice it is fine. Seen from the side (x against z), a
volume is a picture that is coarse in one direction only, and the slices themselves show what that
direction looks like when it is fine. So:

1. Training pairs come from the good slices: each is blurred along y by the slice profile (what a
   slice's thickness adds to a pixel's own width: nothing for 1 mm slices of 1 mm pixels) and sampled
   along y at the same millimetre offsets as the good slices around each missing one; the target is a
   whole row of the plane (never a blend of two), the rows around it are read at their offsets by
   cubic interpolation, and the cubic interpolation between them is the first guess.
2. A small network learns to correct that guess from the rows around it, seeing 31 pixels along x
   (structures move several pixels across a gap), by squared error (what PSNR scores).
3. It is applied through the volume from both sides (the x–z and y–z views) and the corrections are
   averaged. Slices without two good neighbours on each side are interpolated as `fill-slice-interp`
   does. Spacing is taken from the slices' positions, so uneven spacing is honoured.

Thinner slices (`thin`, `spacing`: core.repair.thinning) are rebuilt the same way, with one change: the
new slices are to be as thick as they are apart (never thicker than the acquired ones), so the target
rows are blurred by that thinner profile while the rows around them keep the acquired one: the network
learns to sharpen across the slices as well as to interpolate (SMORE's point).
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.methods.fill_slice import (
    SLICES,
    THINNING,
    _targets,
    aligned,
    interpolate_slice,
    positions_of,
    shifts_of,
)
from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

CONTEXT = 2  # good slices used on each side
CROP = 64  # training crops span this many pixels along the row
BATCH = 32
KERNEL = (3, 7)  # rows x pixels along the row: five layers see 31 pixels along x


def _pattern(z: np.ndarray, good: np.ndarray, index: int) -> np.ndarray | None:
    """The good neighbours' offsets from slice `index` in mm (2 below, 2 above), or None near an end."""
    below, above = good[good < index][-CONTEXT:], good[good > index][:CONTEXT]
    if below.size < CONTEXT or above.size < CONTEXT:
        return None
    return np.concatenate([below, above])


def _cubic_weights(offsets: np.ndarray) -> np.ndarray:
    """Weights of the cubic spline through values at `offsets`, evaluated at 0 (a spline is linear)."""
    from scipy.interpolate import CubicSpline

    return CubicSpline(offsets, np.eye(len(offsets)), axis=0)(0.0)


def profile_sigma(thickness: float, pixel: float) -> float:
    """The Gaussian (sd in pixels) that makes an in-plane row look like a slice `thickness` mm thick: the
    slice profile beyond the pixel's own width, so 1 mm slices of 1 mm pixels are not blurred at all."""
    return float(np.sqrt(max(thickness**2 - pixel**2, 0.0)) / pixel / 2.355)


def rows_at(plane: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Rows of `plane` at fractional heights `ys` by Catmull-Rom: a whole-number height is that row
    exactly (linear interpolation would blur the rows the network learns from)."""
    lo = np.floor(ys).astype(int)
    t = (ys - lo)[:, None]
    taps = (
        (-(t**3) + 2 * t**2 - t) / 2,
        (3 * t**3 - 5 * t**2 + 2) / 2,
        (-3 * t**3 + 4 * t**2 + t) / 2,
        (t**3 - t**2) / 2,
    )
    return sum(tap * plane[lo - 1 + i] for i, tap in enumerate(taps))


def _profiled(planes: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    """`planes` blurred along y by `sigma` pixels (as they are, below a third of a pixel)."""
    from scipy.ndimage import gaussian_filter1d

    return [gaussian_filter1d(plane, sigma, axis=0) for plane in planes] if sigma > 0.3 else planes


def _network(width: int = 32, depth: int = 5):
    from torch import nn

    pad = (KERNEL[0] // 2, KERNEL[1] // 2)
    layers: list = [nn.Conv2d(2, width, KERNEL, padding=pad), nn.PReLU(width)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, KERNEL, padding=pad), nn.PReLU(width)]
    layers.append(nn.Conv2d(width, 1, KERNEL, padding=pad))
    nn.init.zeros_(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)  # untrained, the method is cubic interpolation
    return nn.Sequential(*layers)


def _stack(rows: np.ndarray, guess: np.ndarray, offsets_scaled: np.ndarray) -> np.ndarray:
    """(N, 2, 5, L): the four neighbour rows with the guess in the middle, and each row's offset."""
    image = np.concatenate([rows[:, :CONTEXT], guess[:, None], rows[:, CONTEXT:]], axis=1)
    where = np.insert(offsets_scaled, CONTEXT, 0.0).astype(np.float32)
    plane = np.broadcast_to(where[None, :, None], image.shape)
    return np.stack([image, plane], axis=1).astype(np.float32)


def _run_self(
    volume: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    slices: str = "",
    steps: int = 5000,
    width: int = 32,
) -> Generator[Progress, None, np.ndarray]:
    import torch

    chosen, region = _targets(volume, mask, slices, ctx)
    good = np.array([i for i in range(volume.shape[0]) if i not in set(chosen)])
    z = positions_of(volume, ctx)
    geometry = ctx.extras.get("geometry") or {}
    pixel = float(min(geometry.get("pixel", (1.0, 1.0))))
    thickness = float(geometry.get("thickness") or (np.median(np.diff(z)) if z.size > 1 else 1.0))
    made = float(geometry.get("made_thickness") or thickness)  # thinner where the slices are being thinned
    out = volume.copy()
    plans = {k: _pattern(z, good, k) for k in chosen}
    learnable = {k: p for k, p in plans.items() if p is not None}
    shifts = shifts_of(ctx)
    for k in [k for k, p in plans.items() if p is None]:
        out[k][region[k]] = interpolate_slice(volume, good, k, "cubic", z, shifts)[region[k]]
    if not learnable:
        return out
    # Offsets in in-plane pixels: what a gap through the slices spans within a slice.
    patterns = {k: (z[p] - z[k]) / pixel for k, p in learnable.items()}
    scale = max(float(np.abs(np.concatenate(list(patterns.values()))).max()), 1.0)
    weights = {k: _cubic_weights(o) for k, o in patterns.items()}

    # The good slices blurred along y by the slice profile, one gray plane each (channels averaged); the
    # targets by the profile of the slices to make (thinner ones when thinning: SMORE's deblurring).
    gray = [volume[g].mean(axis=-1) for g in good]
    planes = _profiled(gray, profile_sigma(thickness, pixel))
    made_planes = planes if made >= thickness else _profiled(gray, profile_sigma(made, pixel))
    device = ctx.torch_device() if ctx.device != "auto" else "cpu"
    torch.manual_seed(ctx.seed)
    rng = np.random.default_rng(ctx.seed)
    net = _network(width).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    keys = list(patterns)
    for step in range(steps):
        rows, guesses, targets, where = [], [], [], []
        for _ in range(BATCH):
            k = keys[rng.integers(len(keys))]
            offsets = patterns[k]
            g = rng.integers(len(planes))
            plane, made_plane = planes[g], made_planes[g]
            if rng.random() < 0.5:
                plane, made_plane = plane.T, made_plane.T  # in-plane detail both ways: x–z and y–z
            reach = int(np.ceil(np.abs(offsets).max())) + 3  # the cubic's taps reach a row further
            h, w = plane.shape
            if h <= 2 * reach or w < CROP:
                continue
            y0 = int(rng.integers(reach, h - reach))  # the target is a row of the plane, not a blend
            x0 = int(rng.integers(0, w - CROP + 1))
            sampled = rows_at(plane[:, x0 : x0 + CROP], y0 + np.concatenate([offsets, [0.0]]))
            if made_plane is not plane:
                sampled[-1] = made_plane[y0, x0 : x0 + CROP]
            if rng.random() < 0.5:
                sampled = sampled[:, ::-1]
            rows.append(sampled[:-1])
            targets.append(sampled[-1])
            guesses.append(weights[k] @ sampled[:-1])
            where.append(offsets / scale)
        if not rows:
            break
        batch = np.stack([_stack(r[None], g[None], o)[0] for r, g, o in zip(rows, guesses, where)])
        inputs = torch.from_numpy(batch).to(device)
        target = torch.from_numpy(np.stack(targets).astype(np.float32)).to(device)
        pred = inputs[:, 0, CONTEXT] + net(inputs)[:, 0, CONTEXT]
        loss = torch.mean((pred - target) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 25 == 0:
            yield ctx.progress(0.8 * (step + 1) / steps, f"learning from the slices: step {step + 1}/{steps}")

    net.eval()
    for n, (k, offsets) in enumerate(patterns.items()):
        # The neighbours on this slice's grid (a tilted series is sheared slice by slice).
        near = np.stack([aligned(volume, j, k, shifts).mean(axis=-1) for j in learnable[k]])  # (4, H, W)
        guess = np.tensordot(weights[k], near, axes=1)
        correction = np.zeros_like(guess)
        for view in (0, 1):  # x–z (one picture per row y), then y–z (one per column x)
            stack = near
            if view == 1:
                stack, g = stack.transpose(0, 2, 1), guess.T
            else:
                g = guess
            rows = stack.transpose(1, 0, 2)  # (H, 4, W): one picture per line
            fixes = []
            with torch.inference_mode():
                for start in range(0, rows.shape[0], 64):
                    part = _stack(rows[start : start + 64], g[start : start + 64], offsets / scale)
                    fixes.append(net(torch.from_numpy(part).to(device))[:, 0, CONTEXT].cpu().numpy())
            fix = np.concatenate(fixes)
            correction += fix.T if view == 1 else fix
        estimate = np.clip(guess + correction / 2.0, 0.0, 1.0).astype(np.float32)
        rebuilt = np.repeat(estimate[..., None], volume.shape[-1], axis=-1)
        out[k][region[k]] = rebuilt[region[k]]
        yield ctx.progress(0.8 + 0.2 * (n + 1) / len(patterns), f"slice {k} rebuilt")
    return out


register(
    MethodCard(
        id="fill-slice-self",
        task="fill-slice",
        name="Self-supervised slice recovery (SMORE-like)",
        kind="zero-shot",
        description=(
            "Learns from the volume's own in-plane detail how its structures continue across a gap, then "
            "rebuilds the missing slices from both side views; no weights, no outside data; about 4-6 "
            "minutes per volume on one CPU thread. Uses the slices' positions, so uneven spacing is honoured."
        ),
        modalities=("ct", "mr"),
        params=(
            SLICES,
            Param("steps", 5000, "training steps on the volume's own slices", 0, 20000),
            Param("width", 32, "channels of the network", 8, 128),
            *THINNING,
        ),
        speed="slow",
        operates_on="volume",
    ),
    _run_self,
)

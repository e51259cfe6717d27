"""Smoke test of an installed Lacuna, run from outside the repository: a wheel in a fresh venv, or the
one-folder desktop build.

    .venv/bin/python scripts/smoke_installed.py INSTALLED_LACUNA --within FOLDER [--gui]

Checks, each through the installed `lacuna` command in an empty working folder:
- `lacuna models --json`: every learned method is available and its weights were found inside FOLDER (the
  installation), not in this source tree;
- `lacuna info` on a shared DICOM (lossless JPEG, decoded without GPL code);
- `lacuna repair` for every task with its default method and `--json`: the default ran (no fallback), and
  a learned default loaded its weights from FOLDER;
- `lacuna batch` on a folder, with its progress bar;
- with --gui: the app starts offscreen and quits by itself.
Inputs are made here from ../shared/datasets. Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("LACUNA_DATASETS", ROOT.parent / "shared" / "datasets"))


def run(lacuna: list[str], args: list[str], cwd: Path, env: dict[str, str]) -> str:
    started = time.monotonic()
    done = subprocess.run([*lacuna, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"FAILED ({done.returncode}): lacuna {' '.join(args)}\n{done.stderr[-2000:]}")
    print(f"ok  {seconds:5.1f} s  lacuna {' '.join(args)}")
    return done.stdout


def make_inputs(folder: Path) -> dict[str, Path]:
    photo = np.asarray(Image.open(DATASETS / "images" / "bench" / "CBSD68" / "101085.png").convert("RGB"))
    photo = photo[:160, :200]
    Image.fromarray(photo).save(folder / "photo.png")
    Image.fromarray(photo).save(folder / "photo.jpg", quality=20)
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[60:80, 40:150] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    return {
        "photo": folder / "photo.png",
        "jpeg": folder / "photo.jpg",
        "mask": folder / "mask.png",
        "volume": DATASETS / "medical" / "emri_small.dcm",
        "speech": DATASETS / "audio" / "bench" / "digits" / "0_yweweler_0.wav",
    }


def repairs(inputs: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(task, arguments) for one repair per task, each with the task's default method."""
    return [
        ("denoise", [str(inputs["photo"]), "-o", "denoised.png"]),
        ("upscale", [str(inputs["photo"]), "-o", "upscaled.png"]),
        ("dejpeg", [str(inputs["jpeg"]), "-o", "dejpeg.png"]),
        ("inpaint", [str(inputs["photo"]), "-o", "inpainted.png", "--mask", str(inputs["mask"])]),
        ("fill-slice", [str(inputs["volume"]), "-o", "filled.dcm", "--param", "slices=4"]),
        # 100 ms: longer than the 50 ms the automatic method gives to AR, so its network runs.
        ("fill-gap", [str(inputs["speech"]), "-o", "filled.wav", "--gap", "0.10:0.20"]),
    ]


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("lacuna", help="the installed lacuna executable")
    parser.add_argument("--within", required=True, help="the installation folder its weights must come from")
    parser.add_argument("--gui", action="store_true", help="also start the app offscreen")
    args = parser.parse_args(argv)
    lacuna = [str(Path(args.lacuna).resolve())]
    within = Path(args.within).resolve()
    work = Path(tempfile.mkdtemp(prefix="lacuna-smoke-"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["LACUNA_WEIGHTS_DIR"] = str(work / "no-user-weights")  # only the installed weights count
    env["QT_QPA_PLATFORM"] = "offscreen"

    cards = json.loads(run(lacuna, ["models", "--json"], work, env))
    shipped = {p.name for p in (ROOT / "resources" / "weights").glob("*.safetensors")}
    learned = [c for c in cards if c["weights"] and set(c["weights"]) <= shipped]
    not_shipped = [c["id"] for c in cards if c["weights"] and not set(c["weights"]) <= shipped]
    problems = [c["id"] for c in learned if not c["available"]]
    outside = [p for c in learned for p in c["weights"].values() if p and not Path(p).is_relative_to(within)]
    if problems or outside or len(learned) < 6:
        raise SystemExit(f"FAILED: unavailable {problems}, weights outside {within}: {outside}")
    print(f"    {len(learned)} learned methods available, weights from {within}")
    if not_shipped:
        print(f"    learned methods whose weights are not shipped yet: {', '.join(not_shipped)}")
    info = run(lacuna, ["info", str(DATASETS / "medical" / "JPEG-LL.dcm")], work, env)
    if "1024" not in info:
        raise SystemExit(f"FAILED: lacuna info did not describe JPEG-LL.dcm:\n{info}")

    defaults = {c["task"]: c for c in cards if c["default"] and c["id"] not in not_shipped}
    done = []
    inputs = make_inputs(work)
    for task, task_args in repairs(inputs):
        done.append(task)
        summary = json.loads(run(lacuna, ["repair", *task_args, "--task", task, "--json"], work, env))
        card = defaults[task]
        if summary["method"] != card["id"] or summary["fallback"]:
            raise SystemExit(f"FAILED: {task} ran {summary['method']} instead of {card['id']}: {summary}")
        used = [Path(p) for p in summary["weights"].values()]
        if card["kind"] == "learned" and not (used and all(p.is_relative_to(within) for p in used)):
            raise SystemExit(f"FAILED: {task}'s learned default did not load installed weights: {summary}")
        if not (work / Path(summary["output"]).name).exists():
            raise SystemExit(f"FAILED: {task} wrote nothing at {summary['output']}")
        device = f"{summary['device']} ({summary['device_reason']})"
        print(f"    {task}: {card['id']} ({card['kind']}) on {device}")
    # A folder through `lacuna batch` with its progress bar (not --quiet): the bar needs rich.
    folder = work / "batch-in"
    folder.mkdir()
    (folder / "photo.png").write_bytes(inputs["photo"].read_bytes())
    run(
        lacuna,
        ["batch", str(folder), "-o", str(work / "batch-out"), "--task", "denoise", "--workers", "1"],
        work,
        env,
    )
    if not list((work / "batch-out").glob("photo*.png")):
        raise SystemExit("FAILED: lacuna batch wrote no result")
    skipped = sorted(set(defaults) - set(done))
    if skipped:
        print(f"    defaults not run here (another command, or an optional extra): {', '.join(skipped)}")
    if args.gui:
        run(lacuna, ["--quit-after", "1500", "open", str(work / "photo.png")], work, env)
    print(f"all checks passed ({len(done)} tasks repaired with their default method)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`lacuna batch` on a 200-file mixed archive: mirrored outputs, manifest, resume after kill -9."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from batch_archive import CLI_RECIPE, RECIPE, tree_digest

from core.batch import Batch, BatchRequest, plan
from core.batch.manifest import FILE_NAME
from core.batch.report import REPORT_NAME
from core.errors import LacunaError, MethodError
from core.io import read

ROOT = Path(__file__).resolve().parents[3]


def outputs(root: Path) -> list[Path]:
    """Result files and series folders (not sidecars, the manifest, the report or hidden temporary files)."""
    found = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        hidden = any(part.startswith(".") for part in p.relative_to(root).parts)
        if hidden or FILE_NAME in p.name or p.name == REPORT_NAME:
            continue
        if p.name.endswith(".lacuna.json") or "/head_ct_denoise/" in f"/{rel}":
            continue
        if p.is_file() or p.name == "head_ct_denoise":
            found.append(p)
    return found


def states(output: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(f"file:{output / FILE_NAME}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {row["key"]: row for row in db.execute("SELECT * FROM items")}
    finally:
        db.close()


def test_archive_is_repaired_into_a_mirrored_tree_and_the_originals_are_untouched(archive, reference):
    output, summary, before = reference
    assert tree_digest(archive) == before
    # 160 images, one CT series and 8 recordings with a click; 3 clean recordings; 1 truncated PNG
    assert (summary.succeeded, summary.failed, summary.skipped) == (169, 1, 3)
    assert summary.failures == [("photos/broken.png", summary.failures[0][1])]
    assert "truncated" in summary.failures[0][1] and "\n" not in summary.failures[0][1]
    assert summary.text().count("broken.png") == 1  # the reader's "broken.png: ..." not repeated

    rows = states(output)
    assert rows["photos/broken.png"]["state"] == "failed"
    assert rows["tapes/" + sorted(p.name for p in (archive / "tapes").iterdir())[-1]]["state"] == "skipped"
    assert rows["scans/head_ct"]["state"] == "done" and rows["scans/head_ct"]["method"] == "denoise-bilateral"
    assert json.loads(rows["photos/gray/roll0/g000.png"]["params"])["sigma"] == 10.0

    source = read(archive / "photos" / "gray" / "roll0" / "g000.png")
    result = read(output / "photos" / "gray" / "roll0" / "g000_denoise.png")
    assert result.pixels.shape == source.pixels.shape
    assert not np.array_equal(result.pixels, source.pixels)
    assert (output / "photos" / "color" / "box0" / "c004_denoise.png").is_file()  # JPEG in, PNG out
    assert (output / "photos" / "gray" / "roll3" / "g003_denoise.tif").is_file()
    series = read(output / "scans" / "head_ct_denoise")
    assert series.pixels.shape == read(archive / "scans" / "head_ct").pixels.shape
    sidecar = json.loads((output / "tapes" / "0_yweweler_0_fill-gap.wav.lacuna.json").read_text())
    assert sidecar["steps"][-1]["method"] == "fill-gap-ar"


def test_a_rerun_skips_what_is_done_and_retries_only_the_failure(archive, reference, tmp_path):
    output, _, _ = reference
    summary = Batch(BatchRequest(archive, output, **RECIPE)).run()
    assert (summary.succeeded, summary.failed, summary.done_before) == (0, 1, 169)
    attempts = {key: row["attempts"] for key, row in states(output).items()}
    assert attempts.pop("photos/broken.png") == 2
    assert set(attempts.values()) == {1}


def test_another_recipe_into_the_same_output_folder_is_refused(archive, reference):
    output, _, _ = reference
    # It names what differs in the command's words (it had said "other recipes settings").
    with pytest.raises(LacunaError, match="of other tasks, methods, parameters or detection settings;"):
        Batch(BatchRequest(archive, output, tasks=("denoise",))).run()
    # and the dry run says so too (a walk-through's dry run called every item of the other batch done)
    from core.cli import main

    assert main(["batch", str(archive), "-o", str(output), "--task", "denoise", "--dry-run"]) == 2


def test_kill_9_mid_run_loses_nothing_and_redoes_at_most_the_items_in_flight(archive, reference, tmp_path):
    reference_output = reference[0]
    output = tmp_path / "out"
    command = [sys.executable, "-m", "core.cli", "batch", str(archive), "-o", str(output), *CLI_RECIPE]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen(
        [*command, "--workers", "2", "--quiet"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while run.poll() is None:
            time.sleep(0.02)
            try:
                rows = list(states(output).values())
            except sqlite3.OperationalError:
                continue  # the manifest is not made yet
            # killed while an item runs: between two items both workers can be idle, and an item seen
            # running can end before the kill (seen twice), so the batch is frozen first and read again
            if sum(r["state"] == "done" for r in rows) >= 40 and any(r["state"] == "running" for r in rows):
                os.killpg(run.pid, signal.SIGSTOP)
                try:
                    rows = list(states(output).values())
                except sqlite3.OperationalError:
                    rows = []  # frozen while writing: let it go on and look again
                if any(r["state"] == "running" for r in rows):
                    break
                os.killpg(run.pid, signal.SIGCONT)
        assert run.poll() is None, "the batch ended before it could be killed"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the whole batch: the command and its worker processes
        run.wait()

    killed = states(output)
    in_flight = {key for key, row in killed.items() if row["state"] == "running"}
    assert 1 <= len(in_flight) <= 2  # one item per worker
    assert any(row["state"] == "pending" for row in killed.values())

    rerun = subprocess.run(
        [*command, "--workers", "1", "--json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 1, rerun.stderr  # the truncated PNG still fails
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["done_before"] >= 40 and summary["failed"] == 1

    final = states(output)
    assert {key: row["state"] for key, row in final.items()} == {
        key: row["state"] for key, row in states(reference_output).items()
    }
    twice = {key for key, row in final.items() if row["attempts"] > 1}
    assert twice <= in_flight | {"photos/broken.png"}

    ours = outputs(output)
    assert [p.relative_to(output) for p in ours] == [
        p.relative_to(reference_output) for p in outputs(reference_output)
    ]
    for path in ours:
        mine, theirs = read(path), read(reference_output / path.relative_to(output))
        data = "samples" if hasattr(mine, "samples") else "pixels"
        assert np.array_equal(getattr(mine, data), getattr(theirs, data)), path


def test_dry_run_lists_the_items_and_writes_nothing(archive, tmp_path):
    output = tmp_path / "out"
    command = [sys.executable, "-m", "core.cli", "batch", str(archive), "-o", str(output), *CLI_RECIPE]
    listed = subprocess.run(
        [*command, "--dry-run", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    items = {row["key"]: row for row in json.loads(listed.stdout)["items"]}
    assert len(items) == 160 + 1 + 11 + 1
    assert items["scans/head_ct"]["kind"] == "dicom"
    assert items["tapes/0_yweweler_0.wav"]["action"] == "fill-gap what detection finds, with fill-gap-ar"
    assert not output.exists()


def test_include_and_exclude_globs_choose_the_items(archive, tmp_path):
    from core.batch.items import find_items

    found = [i.key for i in find_items(archive, include=["*.tif"], exclude=["roll3/*", "*/roll3/*"])]
    assert found == []
    found = [i.key for i in find_items(archive, include=["photos/gray/*"], exclude=["*.png"])]
    assert found and all(key.endswith(".tif") for key in found)
    assert len(found) == 20


def test_cancel_stops_the_batch_and_leaves_the_rest_to_do(archive, tmp_path):
    request = BatchRequest(archive, tmp_path / "out", include=("photos/color/*",), **RECIPE)

    class CancelAfterFive:
        def __init__(self):
            self.seen = 0

        def start(self, total, todo):
            assert (total, todo) == (80, 80)

        def item(self, outcome):
            self.seen += 1
            if self.seen == 5:
                batch.cancel()

        def finish(self, summary):
            pass

    batch = Batch(request, reporter=CancelAfterFive())
    summary = batch.run()
    assert summary.cancelled and summary.succeeded == 5
    assert sorted(row["state"] for row in states(tmp_path / "out").values()).count("pending") == 75
    resumed = Batch(request).run()
    assert (resumed.succeeded, resumed.done_before, resumed.cancelled) == (75, 5, False)


def test_an_item_cancelled_in_flight_is_to_do_for_the_bar_and_the_cluster():
    """The command line's bar counts what finished, not an item stopped in flight; a Dask future
    cancelled in flight comes back to do, not failed (a review)."""
    import concurrent.futures
    import io
    from types import SimpleNamespace

    from core.batch.dask_engine import DaskEngine
    from core.batch.progress import BarReporter
    from core.batch.worker import DONE, PENDING, Outcome

    reporter = BarReporter(io.StringIO())
    reporter.start(3, 3)
    reporter.item(Outcome("a.png", DONE))
    reporter.item(Outcome("b.png", PENDING, error="cancelled"))
    assert reporter.bar.tasks[0].completed == 1
    reporter.bar.stop()

    class Cancelled:
        def result(self):
            raise concurrent.futures.CancelledError()

    engine, future = DaskEngine.__new__(DaskEngine), Cancelled()
    engine.futures = [future]
    job = SimpleNamespace(key="c.png", recipe=SimpleNamespace(method="denoise-bilateral"))
    outcome = engine._result(future, job)
    assert outcome.cancelled and outcome.key == "c.png" and not engine.futures


def test_detect_finds_what_a_masked_method_repairs_and_skips_undamaged_images(datasets, tmp_path):
    import shutil

    from PIL import Image

    source = tmp_path / "prints"
    source.mkdir()
    shutil.copy(datasets / "images" / "real_damage" / "old_w_scratch_b.png", source / "scratched.png")
    Image.new("L", (64, 64), 128).save(source / "blank.png")
    request = BatchRequest(source, tmp_path / "out", ("inpaint",), ("inpaint-telea",), detect=True)
    summary = Batch(request).run()
    assert (summary.succeeded, summary.failed, summary.skipped) == (1, 0, 1)
    rows = states(tmp_path / "out")
    assert rows["blank.png"]["state"] == "skipped" and "no damage" in rows["blank.png"]["error"]
    before, after = (
        read(source / "scratched.png").pixels,
        read(tmp_path / "out" / "scratched_inpaint.png").pixels,
    )
    changed = (before != after).any(axis=-1)
    assert 0 < changed.mean() < 0.5  # the scratches, not the whole print
    # The sidecar says the mask was proposed by the detector, before the fill.
    steps = json.loads((tmp_path / "out" / "scratched_inpaint.png.lacuna.json").read_text())["steps"]
    assert [(s["task"], s["method"]) for s in steps] == [
        ("detect", "detect-learned"),
        ("inpaint", "inpaint-telea"),
    ]


def test_a_masked_method_without_detect_is_refused_up_front(archive, tmp_path):
    with pytest.raises(LacunaError, match="add --detect"):
        Batch(BatchRequest(archive, tmp_path / "out", ("inpaint",))).run()
    assert not (tmp_path / "out").exists()


def test_detected_lost_packets_of_a_call_get_the_speech_concealment(datasets, tmp_path):
    """A folder of recordings with --detect and no method: a real call whose dropouts lie on its 20 ms
    packet grid is concealed by fill-gap-speech (as `lacuna repair --detect` does); a recording whose
    damage is not on a grid keeps the task's default; a method named keeps it everywhere."""
    import shutil

    import soundfile as sf

    source = tmp_path / "calls"
    source.mkdir()
    shutil.copy(datasets / "audio" / "speech" / "plc" / "test_files" / "2307.wav", source / "call.wav")
    music, rate = sf.read(datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
    music = music[: 3 * rate].copy()
    music[rate + 101 : rate + 101 + rate // 20] = 0.0  # one 50 ms dropout, off any packet grid
    sf.write(source / "trumpet.wav", music, rate)
    request = BatchRequest(source, tmp_path / "out", ("fill-gap",), detect=True)
    assert "fill-gap-speech on calls" in request.recipes()["audio"].action()
    summary = Batch(request).run()
    assert (summary.succeeded, summary.failed) == (2, 0)
    rows = states(tmp_path / "out")
    assert rows["call.wav"]["method"] == "fill-gap-speech"
    assert rows["trumpet.wav"]["method"] == "fill-gap-auto"
    step = json.loads((tmp_path / "out" / "call_fill-gap.wav.lacuna.json").read_text())["steps"][-1]
    assert step["method"] == "fill-gap-speech"
    assert "found by detection, dropouts on a 20 ms packet grid" in step["selection"]
    named = BatchRequest(source, tmp_path / "out2", ("fill-gap",), ("fill-gap-ar",), detect=True)
    assert named.recipes()["audio"].for_calls == ""
    Batch(named).run()
    assert {row["method"] for row in states(tmp_path / "out2").values()} == {"fill-gap-ar"}


def test_a_scan_gets_the_method_lacuna_repair_picks_for_its_modality(datasets, tmp_path):
    """No method named: a CT slice in a batch is denoised by the network validated on CT, as
    `lacuna repair` denoises it, not by the generic scan default the recipe names for unknown scans."""
    import shutil

    from core.methods import default_method
    from core.methods.modality import modality_of

    source = tmp_path / "scans"
    source.mkdir()
    shutil.copy(datasets / "medical" / "693_UNCI.dcm", source / "ct.dcm")
    request = BatchRequest(source, tmp_path / "out", ("denoise",))
    recipe = request.recipes()["dicom"]
    assert recipe.by_modality and "each scan's modality" in recipe.action()
    assert Batch(request).run().succeeded == 1
    expected = default_method("denoise", modality_of(read(source / "ct.dcm"))).card.id
    assert expected == "denoise-scan" != recipe.method
    assert [row["method"] for row in states(tmp_path / "out").values()] == [expected]
    named = BatchRequest(source, tmp_path / "out2", ("denoise",), params={"sigma": 10})
    assert not named.recipes()["dicom"].by_modality  # a parameter given is for the method named


def test_each_dicom_series_of_a_folder_is_an_item_and_subfolders_are_not_read_twice(datasets, tmp_path):
    """A study folder as archives hold them: two series side by side (the head CT split by its series
    UID), a loose single-file scan, a file that is not DICOM, and a subfolder with one more scan. Each
    series is repaired once, by itself; nothing is dropped silently."""
    import shutil

    import pydicom
    from pydicom.uid import generate_uid

    medical = datasets / "medical"
    study = tmp_path / "study"
    (study / "sub").mkdir(parents=True)
    other = generate_uid()
    files = sorted((medical / "head_ct_ge").iterdir(), key=lambda p: float(pydicom.dcmread(p).SliceLocation))
    for index, path in enumerate(files):
        ds = pydicom.dcmread(path)
        if index >= 10:  # the last 18 slices: a second series in the same folder
            ds.SeriesInstanceUID = other
        ds.save_as(study / path.name)
    shutil.copy(medical / "emri_small.dcm", study / "loose.dcm")
    shutil.copy(medical / "693_UNCI.dcm", study / "sub" / "ct.dcm")
    (study / "notes.dcm").write_text("not a scan")
    shutil.copy(medical / "emri_small.dcm", study / "DICOMDIR")  # a CD's index: not an item
    request = BatchRequest(study, tmp_path / "out", ("denoise",), ("denoise-bilateral",))
    summary = Batch(request).run()
    rows = states(tmp_path / "out")
    assert sorted(rows) == ["loose.dcm", "notes.dcm", "series-1", "series-2", "sub/ct.dcm"]
    assert (summary.succeeded, summary.failed) == (4, 1) and "not a DICOM file" in rows["notes.dcm"]["error"]
    out = tmp_path / "out"
    assert len(list((out / "series-1_denoise").glob("*.dcm"))) == 18  # the largest first
    assert len(list((out / "series-2_denoise").glob("*.dcm"))) == 10
    assert (out / "loose_denoise.dcm").is_file() and (out / "sub" / "ct_denoise.dcm").is_file()
    assert read(out / "series-2_denoise").slices == 10


def test_loss_traces_beside_the_calls_are_concealed_and_a_wrong_one_fails(datasets, tmp_path):
    """`--loss-traces`: each recording's NAME_is_lost.txt marks its lost packets; only those change,
    by the speech concealment; a recording without one is skipped, one whose trace marks its speech
    fails with the reason (a walk-through had no way to use the traces in a batch)."""
    import shutil

    import soundfile as sf

    from core.audio.loss_trace import read_trace, trace_spans

    plc = datasets / "audio" / "speech" / "plc" / "test_files"
    calls = tmp_path / "calls"
    calls.mkdir()
    for name in ("2307.wav", "2307_is_lost.txt", "1214.wav", "54.wav", "54_is_lost.txt"):
        shutil.copy(plc / name, calls / name)
    shutil.copy(plc / "54_is_lost.txt", calls / "1214_is_lost.txt")  # another call's trace
    bench = sorted((datasets / "audio" / "speech" / "bench").glob("*.wav"))[0]
    shutil.copy(bench, calls / "read.wav")
    # --dry-run says beforehand which recordings the run will skip (it listed them all as to fill).
    from core.cli import main

    listed = tmp_path / "dry.txt"
    with open(listed, "w") as out, contextlib.redirect_stdout(out):
        assert (
            main(
                [
                    "batch",
                    str(calls),
                    "-o",
                    str(tmp_path / "out"),
                    "--task",
                    "fill-gap",
                    "--loss-traces",
                    "--dry-run",
                ]
            )
            == 0
        )
    lines = {line.split(" -> ")[0].split()[-1]: line for line in listed.read_text().splitlines()}
    assert lines["2307.wav"].endswith(f" -> {tmp_path / 'out' / '2307_fill-gap.wav'}")  # where it goes
    assert "skip (no loss trace beside it (read_is_lost.txt)" in lines["read.wav"]
    assert "skip" not in lines["2307.wav"] and "skip" not in lines["1214.wav"]
    summary = Batch(BatchRequest(calls, tmp_path / "out", ("fill-gap",), loss_traces=True)).run()
    rows = states(tmp_path / "out")
    assert rows["2307.wav"]["state"] == "done" and rows["2307.wav"]["method"] == "fill-gap-speech"
    assert rows["read.wav"]["state"] == "skipped" and "no loss trace beside it" in rows["read.wav"]["error"]
    assert rows["1214.wav"]["state"] == "failed" and "a trace of another call" in rows["1214.wav"]["error"]
    assert (summary.succeeded, summary.failed, summary.skipped) == (2, 1, 1)
    # A call that lost most of its packets is concealed, and its record says the fill is made up.
    record = json.loads((tmp_path / "out" / "54_fill-gap.wav.lacuna.json").read_text())["steps"][-1]
    assert any("78% of the recording is lost" in w for w in record["warnings"])
    before, rate = sf.read(plc / "2307.wav")
    after, _ = sf.read(tmp_path / "out" / "2307_fill-gap.wav")
    lost = np.zeros(len(before), bool)
    for span in trace_spans(read_trace(plc / "2307_is_lost.txt"), rate, len(before)):
        lost[span.start : span.stop] = True
    assert np.array_equal(after[~lost], before[~lost]) and np.any(after[lost] != before[lost])


def test_dropouts_over_most_of_a_call_are_warned_of_in_the_batch_record(datasets, tmp_path):
    """A review: --detect in a batch filled 54.wav (77% of it lost) without the warning the CLI gives."""
    calls = tmp_path / "calls"
    calls.mkdir()
    (calls / "54.wav").write_bytes((datasets / "audio/speech/plc/test_files/54.wav").read_bytes())
    summary = Batch(BatchRequest(calls, tmp_path / "out", ("fill-gap",), detect=True)).run()
    assert summary.succeeded == 1
    record = json.loads((tmp_path / "out" / "54_fill-gap.wav.lacuna.json").read_text())["steps"][-1]
    assert any("of the recording is lost: what fills it is made up" in w for w in record["warnings"])
    # the report says what detection marked in a recording too (a walk-through's column was empty)
    report = (tmp_path / "out" / "lacuna-batch-report.csv").read_text(encoding="utf-8-sig")
    assert "found by detection, dropouts on a 20 ms packet grid" in report
    # and on the console, above the bar (a walk-through found it only in the record)
    import io

    from core.batch.progress import BarReporter
    from core.batch.worker import Outcome

    (row,) = states(tmp_path / "out").values()
    stream = io.StringIO()
    reporter = BarReporter(stream)
    reporter.item(Outcome("54.wav", "done", params=json.loads(row["params"])))
    assert "warning: 54.wav: 77% of the recording is lost" in stream.getvalue()


def test_what_the_writer_could_not_keep_is_warned_of_as_the_command_line_does(datasets, tmp_path):
    """A walk-through: `lacuna repair` said a uint8 volume was stored as float32, the batch did not."""
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "FLAIR.nii.gz").write_bytes((datasets / "medical/FLAIR.nii.gz").read_bytes())
    summary = Batch(BatchRequest(scans, tmp_path / "out", ("denoise",), methods=("denoise-bilateral",))).run()
    assert summary.succeeded == 1
    (row,) = states(tmp_path / "out").values()
    assert any("stored as float32" in w for w in json.loads(row["params"])["warnings"])


def test_an_uncertainty_map_beside_a_result_is_not_an_item(datasets, tmp_path):
    """A walk-through ran batch on a folder where `lacuna repair` had written its results: the fill's
    uncertainty map (a float TIFF) was planned to be inpainted as a photo. A TIFF of that name with
    no result beside it is an item as any other."""
    import shutil

    from core.batch.items import find_items

    photo = sorted((datasets / "images/bench/Set5").glob("*.png"))[0]
    shutil.copy(photo, tmp_path / "a.png")
    shutil.copy(photo, tmp_path / "b.tif")
    shutil.copy(tmp_path / "b.tif", tmp_path / "a.png.uncertainty.tif")
    shutil.copy(tmp_path / "b.tif", tmp_path / "lone.png.uncertainty.tif")
    flair = datasets / "medical/FLAIR.nii.gz"
    shutil.copy(flair, tmp_path / "c.nii.gz")
    shutil.copy(flair, tmp_path / "c.nii.gz.uncertainty.nii.gz")  # a NIfTI result's map
    keys = [i.key for i in find_items(tmp_path)]
    assert keys == ["a.png", "b.tif", "c.nii.gz", "lone.png.uncertainty.tif"]


def test_an_output_deleted_since_is_repaired_again_and_the_dry_run_says_so(datasets, tmp_path):
    """A walk-through deleted one result and ran the batch again: '10 skipped (10 done before)' and
    no result. The manifest's word 'done' holds only while the output is there."""
    import shutil

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("old_a.png", "old_h.png"):
        shutil.copy(datasets / "images/real_damage" / name, photos)
    request = BatchRequest(photos, tmp_path / "out", ("denoise",), ("denoise-bilateral",))
    assert Batch(request).run().succeeded == 2
    gone = tmp_path / "out" / "old_a_denoise.png"
    kept = tmp_path / "out" / "old_h_denoise.png"
    kept_bytes = kept.read_bytes()
    gone.unlink()
    command = [sys.executable, "-m", "core.cli", "batch", str(photos), "-o", str(tmp_path / "out")]
    command += ["--task", "denoise", "--method", "denoise-bilateral", "--dry-run", "--json"]
    listed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    actions = {row["key"]: row["action"] for row in json.loads(listed.stdout)["items"]}
    assert actions["old_a.png"].endswith("again (its output is gone)")
    assert actions["old_h.png"] == "skip (done)"
    where = {row["key"]: row.get("output") for row in json.loads(listed.stdout)["items"]}
    assert where == {"old_a.png": str(gone), "old_h.png": None}  # where it goes; nothing for a skip
    summary = Batch(request).run()
    assert (summary.succeeded, summary.done_before, summary.redone) == (1, 1, 1)
    assert "repaired again: their outputs were gone" in summary.text()
    assert gone.is_file() and kept.read_bytes() == kept_bytes


def test_an_empty_folder_or_an_unwritable_output_is_one_line_before_anything_is_written(
    datasets, tmp_path, monkeypatch
):
    """Nothing to do is said (`lacuna info` says it too), not reported as a batch of 0 succeeded; an
    output folder that cannot take a file is refused before the batch starts (it raised a traceback
    from the manifest's lock file on a read-only file system)."""
    import tempfile

    from core.batch import plan

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a picture")
    with pytest.raises(LacunaError, match="no file in this folder tree is one Lacuna reads"):
        Batch(BatchRequest(empty, tmp_path / "out", ("denoise",))).run()
    assert not (tmp_path / "out").exists()

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes((datasets / "images/real_damage/old_a.png").read_bytes())
    with pytest.raises(LacunaError, match="no file Lacuna reads matches --include"):
        plan(BatchRequest(photos, tmp_path / "out", ("denoise",), include=("*.tif",)))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(LacunaError, match="is a file, not a folder"):
        plan(BatchRequest(photos, blocker / "out", ("denoise",)))

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(LacunaError, match=r"cannot write into .* \(Read-only file system\)"):
        Batch(BatchRequest(photos, tmp_path / "out", ("denoise",))).run()
    assert not (tmp_path / "out").exists()


def test_a_folder_of_film_frames_is_one_film_for_a_film_task_and_photos_otherwise(datasets, tmp_path):
    """A walk-through's archive held a reel's numbered frames beside a photo: `--task remove-dust`
    skipped every frame as 'no task for image files' though `lacuna repair reel1` reads a film."""
    import shutil

    pytest.importorskip("av")
    archive = tmp_path / "archive"
    reel = archive / "reel1"
    reel.mkdir(parents=True)
    for path in sorted((datasets / "video/oldfilm/001").iterdir())[:6]:
        shutil.copy(path, reel)
    shutil.copy(datasets / "images/real_damage/old_a.png", archive)

    films = BatchRequest(archive, tmp_path / "out", ("remove-dust",))
    summary = Batch(films).run()
    assert (summary.succeeded, summary.skipped) == (1, 1)  # the reel; the photo has no film task
    written = sorted(p.name for p in (tmp_path / "out" / "reel1_remove-dust").iterdir())
    assert written == sorted(p.name for p in reel.iterdir())

    from core.batch import plan

    found = plan(BatchRequest(archive, tmp_path / "out3", ("remove-dust",), include=("*.png",))).items
    assert [(item.key, item.kind) for item in found] == [("old_a.png", "image"), ("reel1", "video")]
    found = plan(BatchRequest(archive, tmp_path / "out3", ("remove-dust",), exclude=("reel1/*",))).items
    assert [item.key for item in found] == ["old_a.png"]
    # With a photo task as well, numbered pictures stay photos (a scanner's numbered photos of one
    # size look like a film's frames) and get the photo task
    photos = plan(BatchRequest(archive, tmp_path / "out2", ("remove-dust", "denoise"))).items
    assert "reel1" not in [item.key for item in photos]
    photos = plan(BatchRequest(archive, tmp_path / "out2", ("denoise",), ("denoise-bilateral",))).items
    assert sorted(item.key for item in photos) == [
        "old_a.png",
        *(f"reel1/{p.name}" for p in sorted(reel.iterdir())),
    ]


def test_a_truncated_picture_and_detection_on_a_scan_are_warned_of_per_item(datasets, tmp_path):
    """A walk-through's archive batch counted a JPEG cut off mid-scan (70% decoder grey) a plain
    success, and filled 12.9% of an MR that detection proposed, with none of the warnings `lacuna
    repair` gives for either."""
    archive = tmp_path / "archive"
    archive.mkdir()
    whole = (datasets / "images/train/color432/100007.jpg").read_bytes()
    (archive / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (archive / "mr.dcm").write_bytes((datasets / "medical/emri_small.dcm").read_bytes())
    # A scan's proposal is filled only when asked for (as `lacuna repair --detect --unreviewed`).
    refused = BatchRequest(archive, tmp_path / "out", ("inpaint",), ("inpaint-telea",), detect=True)
    with pytest.raises(MethodError, match=r"not the scans here \(mr.dcm\): anatomy can look like damage"):
        plan(refused)
    assert not (tmp_path / "out").exists()
    request = replace(refused, unreviewed=True)
    summary = Batch(request).run()
    rows = states(tmp_path / "out")
    assert summary.failed == 0, summary.failures
    said = {key: json.loads(row["params"] or "{}").get("warnings", []) for key, row in rows.items()}
    assert any(w.startswith("the file is truncated: its image data ends early") for w in said["cut.jpg"])
    assert any("damage detection was made for photos and film, not MR" in w for w in said["mr.dcm"])
    assert not any("damage detection was made" in w for w in said["cut.jpg"])  # a photo's detection
    # and said again under the closing summary (walk-through 53: a truncated PNG among "5 succeeded")
    text = summary.text()
    assert "2 done with a warning (the report's warnings column)" in text
    assert "warning: cut.jpg: the file is truncated" in text
    assert summary.as_dict()["warned"][0]["key"] in ("cut.jpg", "mr.dcm")
    record = json.loads((tmp_path / "out" / "mr_inpaint.dcm.lacuna.json").read_text())
    assert any("not MR" in w for w in record["steps"][-1]["warnings"])


def test_a_clip_with_detect_is_skipped_saying_why_and_unused_tasks_are_named(datasets, tmp_path, capsys):
    """A walk-through's dry run planned `inpaint what detection finds` for two clips that then failed
    (a clip is detected a range of frames at a time), and `--task remove-dust` after `--task denoise`
    was silently used for nothing: the reel's numbered pictures were taken as photos."""
    import shutil

    from core.cli import main

    pytest.importorskip("av")
    archive = tmp_path / "archive"
    (archive / "reel").mkdir(parents=True)
    for path in sorted((datasets / "video/oldfilm/001").iterdir())[:4]:
        shutil.copy(path, archive / "reel")
    shutil.copy(datasets / "video/bench/realshort.mp4", archive)
    out = str(tmp_path / "out")
    assert main(["batch", str(archive), "-o", out, "--task", "inpaint", "--detect", "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert "skip (a clip's damage is detected a range of frames at a time" in listed
    # the clip keeps its recipe in the batch's description, so a batch an earlier version began resumes
    described = BatchRequest(archive, tmp_path / "out", ("inpaint",), detect=True).description()
    assert described["recipes"]["video"]["detect"] is True
    asked = ["--task", "denoise", "--task", "fill-gap", "--detect", "--dry-run"]  # no recording here
    assert main(["batch", str(archive), "-o", out, *asked]) == 0
    assert "--task fill-gap is used for no item: no file here is one it repairs" in capsys.readouterr().err
    args = ["batch", str(archive), "-o", out, "--task", "denoise", "--task", "remove-dust", "--dry-run"]
    assert main(args) == 0
    assert (
        "note: --task remove-dust is used for no item: the numbered pictures in reel are taken as photos"
        in capsys.readouterr().err
    )
    # remove-dust first: the clip takes it and the pictures get denoise, so no task is left unused
    args = ["batch", str(archive), "-o", out, "--task", "remove-dust", "--task", "denoise", "--dry-run"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == []


def test_a_batch_leaves_a_csv_report_and_a_later_batch_leaves_its_output_alone(datasets, tmp_path, capsys):
    """A walk-through's archivist found only lacuna-batch.sqlite beside the outputs (no report to read),
    and a second batch over the collection planned to repair the first one's results again."""
    import csv
    import shutil

    from core.cli import main

    collection = tmp_path / "collection"
    collection.mkdir()
    shutil.copy(datasets / "images/real_damage/old_a.png", collection)
    (collection / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    whole = (datasets / "images/train/color432/100007.jpg").read_bytes()
    (collection / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (collection / "inventory.txt").write_text("Accession 1987/14\n")
    shutil.copy(datasets / "audio/speech/plc/test_files/54_is_lost.txt", collection / "old_a_is_lost.txt")
    first = collection / "_repaired"
    args = ["batch", str(collection), "--task", "denoise", "--method", "denoise-bilateral", "--quiet"]
    assert main([*args, "-o", str(first)]) == 1  # broken.png failed
    said = capsys.readouterr().err
    assert f"report (a row per item, and per file left out): {first / 'lacuna-batch-report.csv'}" in said
    # what is not read is said, not silently passed over (a loss trace beside its file is Lacuna's)
    assert "note: 1 file(s) no format of Lacuna's reads are left out: inventory.txt\n" in said
    assert (first / "lacuna-batch-report.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # for spreadsheets
    with open(first / "lacuna-batch-report.csv", newline="", encoding="utf-8-sig") as fh:
        rows = {row["item"]: row for row in csv.DictReader(fh)}
    assert rows["old_a.png"]["state"] == "done" and rows["old_a.png"]["output"] == "old_a_denoise.png"
    assert rows["broken.png"]["state"] == "failed" and rows["broken.png"]["why"]
    assert rows["cut.jpg"]["warnings"].startswith("the file is truncated")
    assert main([*args, "-o", str(first), "--dry-run"]) == 0  # a rerun's list says what is retried
    lines = capsys.readouterr().out.splitlines()
    assert "again (it failed before) broken.png" in next(line for line in lines if " broken.png" in line)
    assert "skip (done)" in next(line for line in lines if " old_a.png" in line)
    assert main([*args, "-o", str(collection / "_repaired2"), "--dry-run"]) == 0
    assert "_repaired/" not in capsys.readouterr().out  # the first batch's results are not originals


def test_a_batch_stopped_midway_leaves_its_report_with_the_rest_to_do(datasets, tmp_path):
    import csv
    import shutil

    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted((datasets / "images/real_damage").glob("*.png"))[:3]:
        shutil.copy(path, photos)
    steps = Batch(BatchRequest(photos, tmp_path / "out", ("denoise",), ("denoise-bilateral",))).steps()
    next(steps)  # one item done, then the run is stopped (as an interrupt stops it)
    steps.close()
    with open(tmp_path / "out" / "lacuna-batch-report.csv", newline="", encoding="utf-8-sig") as fh:
        states_written = sorted(row["state"] for row in csv.DictReader(fh))
    assert states_written == ["done", "pending", "pending"]


def test_an_interrupted_batch_says_how_to_go_on(archive, tmp_path, capsys, monkeypatch):
    from core.batch import runner
    from core.cli import main

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.Batch, "run", interrupted)
    assert main(["batch", str(archive), "-o", str(tmp_path / "out"), "--task", "denoise"]) == 130
    assert (
        "interrupted; what was done is kept: run the same command again to go on" in capsys.readouterr().err
    )


def test_lossless_video_saves_each_clips_result_as_ffv1_and_a_reel_as_frames(datasets, tmp_path, capsys):
    """A walk-through's archive batch re-encoded every clip as h264, its own warning advising FFV1
    (.mkv), which a batch could not ask for."""
    import shutil

    from core.cli import main
    from core.video.source import probe

    pytest.importorskip("av")
    clips = tmp_path / "clips"
    (clips / "reel").mkdir(parents=True)
    shutil.copy(datasets / "video/bench/realshort.mp4", clips)
    for path in sorted((datasets / "video/oldfilm/001").iterdir())[:4]:
        shutil.copy(path, clips / "reel")
    out = tmp_path / "out"
    args = ["batch", str(clips), "-o", str(out), "--task", "deflicker", "--quiet"]
    assert main([*args, "--lossless-video"]) == 0
    assert probe(out / "realshort_deflicker.mkv").codec == "ffv1"
    assert not (out / "realshort_deflicker.mp4").exists()
    assert (out / "reel_deflicker").is_dir()  # a reel's frames stay frames
    report = (out / "lacuna-batch-report.csv").read_text(encoding="utf-8-sig")
    assert "realshort_deflicker.mkv" in report and "lossy" not in report  # no re-encoding warned of
    assert main(args) == 2  # the same folder without the option: another batch
    assert "clips saved another way (--lossless-video)" in capsys.readouterr().err
    # a second take of the same name in another format would be written over the first: refused
    shutil.copy(datasets / "video/bench/realshort.mp4", clips / "realshort.mov")
    assert main([*args, "-o", str(tmp_path / "out2"), "--lossless-video", "--dry-run"]) == 2
    said = capsys.readouterr().err
    assert "realshort.mov and realshort.mp4 would both be written as realshort_deflicker.mkv" in said


def test_a_source_changed_since_its_repair_is_repaired_again(datasets, tmp_path, capsys):
    """A walk-through scanned a photo again under the same name: the rerun kept the old result as done."""
    import shutil

    from core.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    real = sorted((datasets / "images/real_damage").glob("*.png"))
    shutil.copy(real[0], photos / "scan.png")
    shutil.copy(real[1], photos / "other.png")
    out = tmp_path / "out"
    args = ["batch", str(photos), "-o", str(out), "--task", "denoise", "--method", "denoise-bilateral"]
    assert main([*args, "--quiet"]) == 0
    first = read(out / "scan_denoise.png").pixels.shape
    shutil.copy(real[2], photos / "scan.png")  # scanned again: another picture under the same name
    capsys.readouterr()
    assert main([*args, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "again (its source has changed)" in next(line for line in lines if " scan.png" in line)
    assert "skip (done)" in next(line for line in lines if " other.png" in line)
    summary = Batch(BatchRequest(photos, out, ("denoise",), ("denoise-bilateral",))).run()
    assert (summary.succeeded, summary.changed) == (1, 1)
    assert read(out / "scan_denoise.png").pixels.shape == read(photos / "scan.png").pixels.shape != first


def test_lacunas_own_results_beside_their_sources_are_left_out(datasets, tmp_path, capsys):
    """Walk-through 45: `lacuna repair` writes beside the original, so a batch over that folder took
    the result for an original and wrote old_a_inpaint_inpaint.png; --include still names one."""
    import shutil

    from core.cli import main

    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(datasets / "images/real_damage/old_a.png", folder)
    repair = ["repair", str(folder / "old_a.png"), "--task", "denoise", "--method", "denoise-bilateral"]
    assert main(repair) == 0 and (folder / "old_a_denoise.png.lacuna.json").is_file()
    capsys.readouterr()
    args = ["batch", str(folder), "-o", str(tmp_path / "out"), "--task", "denoise", "--dry-run"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert " old_a.png ->" in captured.out and "old_a_denoise.png ->" not in captured.out
    said = "note: 1 earlier result(s) of Lacuna beside their sources (as their records say) are left out:"
    assert f"{said} old_a_denoise.png" in captured.err
    assert main([*args, "--include", "old_a_denoise.png"]) == 0
    assert "old_a_denoise.png ->" in capsys.readouterr().out
    # A pattern that names the sources too (only PNGs) does not bring results back (walk-through 47).
    assert main([*args, "--include", "*.png"]) == 0
    captured = capsys.readouterr()
    assert " old_a.png ->" in captured.out and "old_a_denoise.png ->" not in captured.out
    # The run's report accounts for the result it left out (walk-through 47: no row said so).
    run = ["batch", str(folder), "-o", str(tmp_path / "ran"), "--task", "denoise", "--method"]
    assert main([*run, "denoise-bilateral", "--quiet"]) == 0
    with open(tmp_path / "ran/lacuna-batch-report.csv", encoding="utf-8-sig") as fh:
        rows = {row["item"]: row for row in csv.DictReader(fh)}
    assert rows["old_a.png"]["state"] == "done"
    assert rows["old_a_denoise.png"]["state"] == "left out"
    assert "earlier result of Lacuna" in rows["old_a_denoise.png"]["why"]
    capsys.readouterr()
    # Moved away from its source with its sidecar, it is an item (walk-through 47: it was left out,
    # and a folder of only such results was said to hold nothing Lacuna reads).
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("old_a_denoise.png", "old_a_denoise.png.lacuna.json"):
        shutil.copy(folder / name, moved / name)
    assert main(["batch", str(moved), "-o", str(tmp_path / "o1"), "--task", "denoise", "--dry-run"]) == 0
    assert "old_a_denoise.png ->" in capsys.readouterr().out
    # Without its sidecar (walk-through 46), the record in the file names its source beside it; a
    # result moved away from its source, or a picture named like one without a record, is an item.
    (folder / "old_a_denoise.png.lacuna.json").unlink()
    shutil.copy(datasets / "images/real_damage/old_b.png", folder / "old_a_copy.png")
    assert main(args) == 0
    captured = capsys.readouterr()
    assert f"{said} old_a_denoise.png" in captured.err and "old_a_copy.png ->" in captured.out
    # A series' result is a folder beside the series, its record beside it: left out too (a review).
    study = tmp_path / "study"
    (study / "ct").mkdir(parents=True)
    for name in ("12.dcm", "13.dcm"):
        shutil.copy(datasets / "medical/head_ct_ge" / name, study / "ct" / name)
    assert main(["repair", str(study / "ct"), "--task", "denoise", "--method", "denoise-bilateral"]) == 0
    assert (study / "ct_denoise").is_dir()
    capsys.readouterr()
    assert main(["batch", str(study), "-o", str(tmp_path / "o3"), "--task", "denoise", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert " ct ->" in captured.out and "ct_denoise ->" not in captured.out
    assert f"{said} ct_denoise" in captured.err
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.move(folder / "old_a_denoise.png", alone / "old_a_denoise.png")
    assert main(["batch", str(alone), "-o", str(tmp_path / "o2"), "--task", "denoise", "--dry-run"]) == 0
    assert "old_a_denoise.png ->" in capsys.readouterr().out

"""Detect dropouts -> Fill all -> undo on a real lossy call, the difference of a fill, and the History
dock, in the real window (offscreen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gui_helpers import audio, open_file
from PySide6.QtCore import Qt

from core.audio.loss_trace import read_trace
from core.audio.selection import TimeSpan
from core.methods import default_method
from core.methods.modality import modality_of

PACKET = 320  # 20 ms at 16 kHz


@pytest.fixture
def call(datasets):
    return datasets / "audio/speech/plc/test_files/2307.wav"


def _lost_samples(call, length: int) -> np.ndarray:
    """The samples of the packets the call's trace says were lost."""
    lost = np.repeat(read_trace(call.with_name("2307_is_lost.txt")), PACKET)[:length]
    return np.concatenate([lost, np.zeros(length - len(lost), bool)])


def test_detect_dropouts_fill_all_undo_on_a_real_lossy_call(qtbot, window, call):
    assert open_file(window, call)
    ws = audio(window)
    panel, c = ws.panel, ws.controller
    lossy = c.doc.samples.copy()
    lost = _lost_samples(call, len(lossy))
    assert lost.sum() == 31 * PACKET and np.all(lossy[lost] == 0)

    # Detect dropouts, on the worker: the selection holds exactly the zeroed packets.
    qtbot.mouseClick(panel.dropouts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    selected = np.zeros(len(lossy), bool)
    for sel in c.selections:
        assert isinstance(sel, TimeSpan)
        selected[sel.start : sel.stop] = True
    assert np.array_equal(selected, lost)
    assert "Detected" in panel.status.text() and ws.progress.bar.value() == 1000
    assert panel.status.toolTip() == panel.status.text()  # a line cut short is whole in its tip
    # Too long for the bar, it ends in "…" (two walk-throughs found it cut mid-word).
    panel.status.resize(120, panel.status.height())
    shown = panel.status._elidedText()
    assert shown.endswith("…") and len(shown) < len(panel.status.text())
    # The dropouts sit on a 20 ms packet grid: a call's lost packets, so the speech concealment is
    # picked in place of the default (nobody had picked another method).
    assert "20 ms packet grid" in panel.status.text()
    assert ws.picker.current_method() == "fill-gap-speech"
    assert default_method("fill-gap", modality_of(c.doc)).card.id != "fill-gap-speech"

    # Fill all: the method picked in the Fill panel, one job, one undo step.
    qtbot.mouseClick(panel.fill_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy, timeout=120_000)
    filled = c.doc.samples
    assert c.doc.provenance[-1].method == "fill-gap-speech"
    # Its record says where the selection came from, as the command line's does (a walk-through).
    runs = len(c.selections)  # the 31 packets lie in runs
    assert c.doc.provenance[-1].selection == f"{runs} found by Detect dropouts on a 20 ms packet grid"
    # Every lost packet is filled: nearly all of its samples are no longer zero.
    nonzero_share = np.any(filled[lost] != 0, axis=1).reshape(-1, PACKET).mean(axis=1)
    assert len(nonzero_share) == 31 and nonzero_share.min() > 0.9
    assert np.array_equal(filled[~lost], lossy[~lost])  # nothing outside the packets changed
    assert len(c.fills()) == 1 and window.undo_action.isEnabled()
    # The filled selections stay (to play, or fill again after an undo) but no longer cover what filled
    # them: marked along the top edge only (a walk-through found the 89 bands hid the result).
    view = panel.spectrogram
    assert c.filled and view.filled and c.selections
    sel = max(c.selections, key=lambda s: s.stop - s.start)
    panel.viewport.reveal(sel.start, sel.stop)
    x = int(panel.viewport.x_of((sel.start + sel.stop) / 2))
    y = view.height() // 2

    def pixel(selections, filled):
        view.set_selections(selections, filled=filled)
        return view.grab().toImage().pixel(x, y)

    assert pixel(c.selections, True) == pixel([], False) != pixel(c.selections, False)
    panel.refresh()

    # The difference of the fill is the fill itself (the holes were zeros), placed on the packets.
    diff, start = c.difference("previous")
    assert np.array_equal(diff, (filled - lossy)[start : start + len(diff)])
    assert np.all(lost[start : start + len(diff)][np.any(diff != 0, axis=1)])

    # The History dock lists it: method, the 31 detected spans, the time.
    history = ws.history_panel
    assert history.list.count() == 1
    record = history.records[-1]
    assert record.method == c.doc.provenance[-1].method and len(record.selections) == len(c.selections)
    assert record.method in history.details.text() and "Selection: " in history.details.text()

    # One undo restores the lossy call exactly, the dropouts still selected; the History dock empties.
    detected = list(c.selections)
    window.undo_action.trigger()
    assert np.array_equal(c.doc.samples, lossy) and not panel.spectrogram.filled  # holes again
    assert c.selections == detected and panel.fill_all_button.isEnabled()
    assert history.list.count() == 0 and c.difference() is None
    window.redo_action.trigger()
    assert np.array_equal(c.doc.samples, filled) and history.list.count() == 1


def test_fill_all_uses_the_method_picked_in_the_fill_panel(qtbot, window, call):
    assert open_file(window, call)
    ws = audio(window)
    panel, c = ws.panel, ws.controller
    lossy = c.doc.samples.copy()
    assert ws.picker.select("fill-gap-repeat")
    qtbot.mouseClick(panel.dropouts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.selections), timeout=60_000)
    qtbot.mouseClick(panel.fill_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and len(c.fills()) == 1, timeout=60_000)
    assert c.doc.provenance[-1].method == "fill-gap-repeat"
    assert len(ws.history_panel.records[-1].selections) == 10 and not np.array_equal(c.doc.samples, lossy)


def test_fill_all_while_a_is_shown_goes_back_to_b_and_says_why_nothing_changed(qtbot, window, call):
    """A walk-through pressed Fill all again while "A: before" was shown: it read "Nothing changed."
    beside the holes of A, as if the fill had failed."""
    assert open_file(window, call)
    ws = audio(window)
    panel, c = ws.panel, ws.controller
    qtbot.mouseClick(panel.dropouts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.selections), timeout=60_000)
    assert ws.picker.current_method() == "fill-gap-speech"  # fills a hole the same whatever it holds
    qtbot.mouseClick(panel.fill_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and len(c.fills()) == 1, timeout=120_000)
    filled = c.doc.samples.copy()
    panel.ab_button.click()
    assert c.showing_before and panel.ab_button.text() == "A: before"
    qtbot.mouseClick(panel.fill_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy, timeout=120_000)
    assert not c.showing_before and panel.ab_button.text() == "B: after" and panel.spectrogram.filled
    assert np.array_equal(c.doc.samples, filled) and len(c.fills()) == 1
    assert "filled already; undo the fill to try another method" in panel.status.text()


def test_dropouts_over_most_of_a_call_are_warned_of(qtbot, window, datasets):
    """As loading 54.wav's loss trace warns that most of the call is lost, so does Detect dropouts."""
    assert open_file(window, datasets / "audio/speech/plc/test_files/54.wav")
    ws = audio(window)
    said = []
    ws.controller.warning.connect(said.append)
    qtbot.mouseClick(ws.panel.dropouts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(ws.controller.selections), timeout=60_000)
    assert said == [
        "77% of the recording is lost: what fills it is made up from what survives, not recovered"
    ]


def test_detecting_dropouts_can_be_cancelled(qtbot, window, call):
    assert open_file(window, call)
    ws = audio(window)
    c = ws.controller
    assert c.detect_dropouts() and ws.busy
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not ws.busy and "Cancelled" in ws.progress.message.text()
    assert c.jobs.wait(60)
    qtbot.wait(50)
    assert c.selections == []  # the late result of the cancelled run is thrown away


def test_difference_to_the_original_after_two_fills_and_the_history_of_a_reopened_file(
    qtbot, window, call, tmp_path
):
    assert open_file(window, call)
    ws = audio(window)
    c = ws.controller
    original = c.doc.samples.copy()
    n = len(original)
    for lo, method in ((0.30, "fill-gap-ar"), (0.60, "fill-gap-crossfade")):
        c.set_selections([TimeSpan(int(lo * n), int(lo * n) + 800)])
        assert ws.picker.select(method)
        ws.picker.request_run()
        qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert [r.method for r in ws.history_panel.records] == ["fill-gap-ar", "fill-gap-crossfade"]
    # Picking the first fill in the History dock shows where it acted and changes nothing.
    history, viewport, shown = ws.history_panel, ws.panel.viewport, c.doc
    viewport.zoom(16.0, 0)  # zoomed in on the start of the call, far from both fills
    history.list.setCurrentRow(0)
    a, b = history.records[0].changed
    first, last = viewport.visible()
    assert first <= a < b <= last and c.doc is shown and len(c.fills()) == 2
    assert "fill-gap-ar" in history.details.text()
    diff, start = c.difference("original")
    assert np.array_equal(diff, (c.doc.samples - original)[start : start + len(diff)])
    assert start <= int(0.30 * n) and start + len(diff) >= int(0.60 * n) + 800
    last, last_start = c.difference("previous")
    assert last_start >= int(0.60 * n) - 800  # only the second fill

    # Played through the existing player (offscreen: a message instead of sound, never an error).
    messages = []
    c.status.connect(messages.append)
    played = ws.panel.play_difference("original")
    assert "the difference (original state), peak" in messages[-1]
    if not played:  # what it says last is why, not "Playing" (a walk-through read both)
        assert messages[-1].startswith("Not played:") and ws.panel.player.last_error in messages[-1]
    ws.panel.stop()

    # Saved and reopened: the two fills come back (from the file's provenance) as earlier repairs.
    out = window.save_to(tmp_path / "filled.wav")
    assert out is not None and ws.panel.status.text() == "Saved filled.wav"  # not the last fill's line
    assert open_file(window, out)
    records = ws.history_panel.records
    assert [r.method for r in records] == ["fill-gap-ar", "fill-gap-crossfade"]
    assert all(r.earlier and r.changed is None for r in records)
    assert "earlier session" in ws.history_panel.details.text()
    # The saved record says where each fill acted: its stretch covers the 800 samples selected.
    rate = c.doc.sample_rate
    for record, lo in zip(records, (0.30, 0.60)):
        (start, end), *_ = record.changed_seconds
        assert start <= int(lo * n) / rate + 0.001 and end >= (int(lo * n) + 800) / rate - 0.001
    ws.history_panel.list.setCurrentRow(0)
    assert "Changed (" in ws.history_panel.details.text()


def test_dropouts_found_a_chunk_at_a_time_are_those_found_at_once(call):
    """Detection in 5.2 s pieces (progress, cancel between them) finds what one pass over the whole
    call finds, also the run that crosses a piece's boundary."""
    from core.audio.detect import detect
    from core.runtime.context import drive
    from desktop.workspaces.audio.controller import dropouts

    samples, rate = sf.read(call, dtype="float32", always_2d=True)
    samples = np.concatenate([samples] * 3)  # 28 s: several boundaries
    reports = []
    pieces = drive(dropouts(samples, rate, chunk_s=5.2, overlap_s=1.0), reports.append)
    whole = detect(samples, rate, clicks=False, discontinuities=False)
    assert [d.selection.span for d in pieces] == [d.selection.span for d in whole] and len(whole) >= 30
    assert len(reports) >= 6 and reports[-1].fraction == 1.0
    # The lost packets at 5.12-5.30 s straddle the 5.2 s boundary: found once, whole.
    assert [d.selection.span for d in pieces if d.selection.start < 5.2 * rate < d.selection.stop] == [
        (int(5.12 * rate), int(5.30 * rate))
    ]


def test_the_method_picked_for_a_calls_packets_does_not_stay_for_the_next_recording(
    qtbot, window, call, datasets
):
    assert open_file(window, call)
    ws = audio(window)
    ws.controller.detect_dropouts()
    qtbot.waitUntil(lambda: not ws.busy, timeout=60_000)
    assert ws.picker.current_method() == "fill-gap-speech"
    assert open_file(window, datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
    music = ws.controller.doc
    assert ws.picker.current_method() == default_method("fill-gap", modality_of(music)).card.id


def test_a_calls_loss_trace_loaded_in_the_app_selects_its_lost_packets_and_fill_all_conceals_them(
    qtbot, window, datasets, tmp_path, monkeypatch
):
    """What `lacuna repair --loss-trace` does, from the audio view: the trace beside the call is
    offered, its packets become the selection, Fill all conceals exactly them, one undo."""
    import shutil

    from PySide6.QtWidgets import QFileDialog

    folder = datasets / "audio/speech/plc/test_files"
    call = Path(shutil.copy(folder / "1214.wav", tmp_path / "1214.wav"))
    trace = Path(shutil.copy(folder / "1214_is_lost.txt", tmp_path / "1214_is_lost.txt"))
    assert open_file(window, call)
    ws = audio(window)
    panel, c = ws.panel, ws.controller
    # Offered where it is seen (the status bar says what opened), not applied unasked.
    assert "its loss trace 1214_is_lost.txt lies beside it" in window.statusBar().currentMessage()
    assert c.selections == []
    lossy = c.doc.samples.copy()
    lost = np.repeat(read_trace(trace), PACKET)[: len(lossy)]
    assert lost.sum() == 117 * PACKET

    # The button opens the file dialog on the call's own trace.
    asked = []

    def pick(_parent, _caption, where, _filter):
        asked.append(where)
        return str(trace), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(pick))
    qtbot.mouseClick(panel.trace_button, Qt.MouseButton.LeftButton)
    assert asked == [str(trace)]
    selected = np.zeros(len(lossy), bool)
    for sel in c.selections:
        selected[sel.start : sel.stop] = True
    assert np.array_equal(selected, lost)
    assert "117 of 468 packets of 20 ms lost" in panel.status.text()
    assert ws.picker.current_method() == "fill-gap-speech"  # a call's lost packets

    qtbot.mouseClick(panel.fill_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and len(c.fills()) == 1, timeout=120_000)
    filled = c.doc.samples
    assert np.array_equal(filled[~lost], lossy[~lost]) and not np.array_equal(filled[lost], lossy[lost])
    step = c.doc.provenance[-1]
    assert step.method == "fill-gap-speech"
    assert step.selection.startswith("loss trace 1214_is_lost.txt: 117 of 468 packets of 20 ms lost")
    window.undo_action.trigger()
    assert np.array_equal(c.doc.samples, lossy)


def test_a_trace_of_another_call_is_refused_and_a_10_ms_trace_is_read_as_one(window, datasets, tmp_path):
    folder = datasets / "audio/speech/plc/test_files"
    assert open_file(window, folder / "2307.wav")
    c = audio(window).controller
    errors = []
    c.error.connect(errors.append)
    # 1214's trace marks 117 packets, most of them received speech in 2307 (whose 31 lost are silent).
    assert not c.load_loss_trace(folder / "1214_is_lost.txt")
    assert c.selections == [] and "a trace of another call" in errors[-1]
    assert not c.load_loss_trace(tmp_path / "missing.txt") and "cannot read the loss trace" in errors[-1]
    # The call's own trace written per 10 ms packet: its length fits 10 ms packets, read as such.
    ten = tmp_path / "ten.txt"
    ten.write_text(
        "".join(f"{v}\n" for v in np.repeat(read_trace(folder / "2307_is_lost.txt"), 2).astype(int))
    )
    assert c.load_loss_trace(ten)
    assert c.selection_origin == "loss trace ten.txt: 62 of 936 packets of 10 ms lost"
    assert sum(s.stop - s.start for s in c.selections) == 31 * PACKET


def test_a_call_mostly_lost_is_said_in_the_notice_bar(window, datasets):
    folder = datasets / "audio/speech/plc/test_files"
    assert open_file(window, folder / "54.wav")
    c = audio(window).controller
    assert c.load_loss_trace(folder / "54_is_lost.txt")
    # Not in the status line a fill then replaces (a walk-through saw it only for a moment).
    assert "78% of the recording is lost" in window.notice.text()


def test_a_recorded_per_channel_setting_reads_without_brackets():
    """A walk-through's History showed `band_limit_hz = [3969, None]`."""
    from desktop.workspaces.audio.repair_log import RepairRecord

    record = RepairRecord("fill-gap-speech", {"band_limit_hz": [3969, None], "envelope": True})
    assert "Parameters: band_limit_hz = 3969 / none, envelope = True" in record.details(16000)


def test_a_calls_own_trace_loads_after_a_fill(qtbot, window, datasets):
    """A walk-through filled 54.wav's dropouts, then loaded its own loss trace: refused as "a trace
    of another call", the sound it marked being Lacuna's own fill. It is checked against the
    recording as opened."""
    folder = datasets / "audio/speech/plc/test_files"
    assert open_file(window, folder / "54.wav")
    ws = audio(window)
    c = ws.controller
    assert ws.picker.select("fill-gap-repeat")
    qtbot.mouseClick(ws.panel.dropouts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and bool(c.selections), timeout=60_000)
    qtbot.mouseClick(ws.panel.fill_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy and len(c.fills()) == 1, timeout=60_000)
    errors = []
    c.error.connect(errors.append)
    assert c.load_loss_trace(folder / "54_is_lost.txt"), errors
    assert not errors and "377 of 484 packets of 20 ms lost" in c.selection_origin

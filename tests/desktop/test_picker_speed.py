"""The method picker's speed badge and text come from measurement on this machine (core.runtime.speed)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from core.methods import load_all, methods
from core.runtime import speed
from desktop.widgets.method_picker import MethodPicker


def _badges(picker) -> list[str]:
    found = [picker.badges.itemAt(i).widget() for i in range(picker.badges.count())]
    return [w.text() for w in found if isinstance(w, QLabel)]


@pytest.fixture
def picker(qtbot, tmp_path, monkeypatch):
    """A picker showing non-local means, with no speed measured yet (a fresh store)."""
    monkeypatch.setenv("LACUNA_CACHE_DIR", str(tmp_path))
    load_all()
    shown = MethodPicker()
    qtbot.addWidget(shown)
    shown.set_cards(methods("denoise"))
    assert shown.select("denoise-nlmeans")
    return shown


def test_the_badge_shows_the_measured_label_not_the_cards(picker):
    card_estimate = next(c for c in methods("denoise") if c.id == "denoise-nlmeans").speed
    assert card_estimate.upper() in _badges(picker)
    assert "an estimate until its first run here measures it" in picker.description.text()

    speed.record("denoise-nlmeans", "cpu", speed.NO_NETWORK, seconds=0.3, megapixels=1.0)
    picker.set_cards(methods("denoise"))
    assert picker.select("denoise-nlmeans")
    assert "FAST" in _badges(picker)
    assert "fast: 0.3 s per megapixel of the result, measured here (cpu)" in picker.description.text()


def test_a_clips_method_does_not_promise_a_measurement_it_never_gets(picker):
    """A walk-through's dust removal said "an estimate until its first run here measures it" after its
    run: whole-clip repairs are never timed per megapixel."""
    picker.set_cards(methods("remove-dust"), kind="video")
    assert picker.select("dust-temporal")
    text = picker.description.text()
    assert "a clip's repairs are not timed here" in text and "until its first run" not in text


def test_the_card_says_the_speed_a_run_measured_when_the_run_ends(picker):
    """A walk-through: after a repair in the app the card still said 'not run here yet'."""
    picker.set_param("strength", 0.8)
    picker.set_busy(True)  # the run measures the method, as its first run here does
    speed.record("denoise-nlmeans", "cpu", speed.NO_NETWORK, seconds=12.0, megapixels=1.0)
    picker.set_busy(False)
    assert "12 s per megapixel of the result, measured here" in picker.description.text()
    assert "SLOW" in _badges(picker)
    assert picker.params()["strength"] == 0.8  # what was typed stays


def test_with_methods_listed_and_none_chosen_the_card_asks_for_a_method_not_a_document(picker):
    """A walk-through's clip was open while the card said "Open a document and choose a repair method"."""
    picker.tree.setCurrentItem(None)
    assert picker.title.text() == "No method selected"
    assert picker.description.text() == "Choose a repair method from the list."
    picker.request_run()  # Repair with a task's heading selected: said (a walk-through waited on it)
    assert picker.reason.text().startswith("Choose a repair method first")

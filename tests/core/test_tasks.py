"""The task registry: every method's task is registered, and messages list every task."""

from __future__ import annotations

import pytest

from core.errors import MethodError
from core.methods import default_method, methods
from core.tasks import TASKS, task


def test_every_method_belongs_to_a_registered_task_and_every_task_has_a_method():
    cards = methods()
    assert {c.task for c in cards} == set(TASKS)
    assert [t for t in TASKS if TASKS[t].resizes] == ["upscale"]
    assert task("fill-slice").operates_on == "stack" and task("fill-gap").operates_on == "audio"


def test_an_unknown_task_is_answered_with_every_task():
    with pytest.raises(MethodError) as caught:
        default_method("deblur")
    message = str(caught.value)
    assert all(name in message for name in TASKS), message  # fill-slice included


def test_lacuna_models_lists_what_param_each_method_takes(capsys):
    """retime's fps was found only through a refusal ('it takes: fps, interpolation')."""
    from core.cli import main

    assert main(["models", "retime"]) == 0
    assert "params fps=30 (the new frame rate, 1-240); interpolation=flow (how new frames are made," in (
        capsys.readouterr().out
    )

"""The Linear workspace trains in a child process on Play (gui.train_process) and in the job thread on Step
or while another job runs; what the screen shows after Pause is exactly the Trainer's state either way."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

import gui.train_controller as tc
from gui.train_process import TrainingProcessDied, process_available
from tests._linear_gui import idle, ws  # noqa: F401 - fixture

pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(not process_available(), reason="training processes need fork (Linux)")]
LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def forks(monkeypatch):
    """The training processes started, in order."""
    made = []

    class Counted(tc.TrainingProcess):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(tc, "TrainingProcess", Counted)
    return made


def _shows_the_trainer(w):
    ctl = w.controller
    t = ctl.trainer
    for name, m in t.models.items():
        assert len(ctl.histories[name]) == len(t.history[name]) == t.history[name][-1].iteration == t.iteration
        np.testing.assert_array_equal(ctl.weights[name][0], m.W_)
    assert ctl.live.iteration == t.iteration


def test_play_trains_in_a_child_process_and_pause_brings_its_state_back(qtbot, ws, forks):
    assert ws.controller.use_process
    ws.controls.epochs_spin.setValue(0)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: ws.controller.live.iteration > 40, timeout=10000)
    assert len(forks) == 1 and forks[0].child.is_alive()
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    idle(qtbot, ws)
    assert not forks[0].child.is_alive()
    _shows_the_trainer(ws)
    n = ws.controller.trainer.iteration
    qtbot.mouseClick(ws.controls.step_button, LEFT)          # Step: one iteration, in the job thread
    idle(qtbot, ws)
    assert len(forks) == 1 and ws.controller.trainer.iteration == n + 1
    _shows_the_trainer(ws)
    qtbot.mouseClick(ws.controls.play_button, LEFT)          # Play again: a new child goes on from there
    qtbot.waitUntil(lambda: ws.controller.live.iteration > n + 40, timeout=10000)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    idle(qtbot, ws)
    assert len(forks) == 2
    _shows_the_trainer(ws)


def test_while_another_job_runs_play_trains_in_a_thread(qtbot, ws, forks):
    runner = ws.controller.runner
    runner.start("knn", lambda ctx: ctx.sleep(30), label="a long kNN evaluation")
    ws.controls.epochs_spin.setValue(2)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    idle(qtbot, ws)
    assert forks == [] and ws.controller.trainer.epoch == 2
    _shows_the_trainer(ws)
    runner.cancel("knn", wait=True)


def test_a_dead_training_process_is_reported_and_the_run_goes_on(qtbot, ws, forks):
    errors = []
    ws.controller.runner.unexpected_error.connect(lambda exc, tb: errors.append(exc))
    ws.controls.epochs_spin.setValue(0)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: ws.controller.live.iteration > 40 and ws.templates.updates >= 2, timeout=10000)
    forks[0].child.kill()
    idle(qtbot, ws)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], TrainingProcessDied)
    assert "exit code -9" in str(errors[0])
    _shows_the_trainer(ws)
    n = ws.controller.trainer.iteration
    assert n > 0
    qtbot.mouseClick(ws.controls.step_button, LEFT)
    idle(qtbot, ws)
    assert ws.controller.trainer.iteration == n + 1

"""Shared pieces of the Linear Classifier workspace tests (not a test module): a workspace on the bundled
digits (the ``digits`` fixture of conftest), and waiting until a run has ended and every view has repainted."""
from __future__ import annotations

import pytest

from gui.linear_workspace import LinearWorkspace
from gui.workers import JobRunner


def shown_workspace(qtbot, ds, size=(1400, 900), **kw):
    """A shown workspace on ``ds`` (``kw`` go to ``set_dataset``) and its job runner."""
    runner = JobRunner()
    w = LinearWorkspace(runner)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    w.set_dataset(ds, **kw)
    return w, runner


@pytest.fixture
def ws(qtbot, digits):
    w, runner = shown_workspace(qtbot, digits, val_fraction=0.2, seed=0)
    yield w
    w.shutdown()
    runner.shutdown()


@pytest.fixture
def make_ws(qtbot):
    """``make(ds, size=(1400, 900), **set_dataset_kw)``: :func:`shown_workspace`, all shut down at the end."""
    made = []

    def make(ds, size=(1400, 900), **kw):
        made.append(shown_workspace(qtbot, ds, size, **kw))
        return made[-1][0]

    yield make
    for w, runner in made:
        w.shutdown()
        runner.shutdown()


def idle(qtbot, w, timeout=10000):
    qtbot.waitUntil(lambda: not w.controller.running and w.controller.state == "idle", timeout=timeout)
    w.repaint_now(force=True)

"""Shared pieces of the Linear Classifier workspace tests (not a test module): a workspace on the bundled
digits (the ``digits`` fixture of conftest), and waiting until a run has ended and every view has repainted."""
from __future__ import annotations

import pytest

from gui.linear_workspace import LinearWorkspace
from gui.workers import JobRunner


@pytest.fixture
def ws(qtbot, digits):
    runner = JobRunner()
    w = LinearWorkspace(runner)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    w.set_dataset(digits, val_fraction=0.2, seed=0)
    yield w
    w.shutdown()
    runner.shutdown()


def idle(qtbot, w, timeout=10000):
    qtbot.waitUntil(lambda: not w.controller.running and w.controller.state == "idle", timeout=timeout)
    w.repaint_now(force=True)

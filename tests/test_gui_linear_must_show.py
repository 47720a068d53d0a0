"""Must-show checks on real data, through the workspace and its controller with the app's defaults.

CIFAR-10 (the 10000 real training JPEGs in ../shared/data): softmax >= 37 % and hinge >= 35 % test
accuracy, as displayed in the metrics line, within 60 s of training (compare mode trains both at once
from the same start); MNIST (the t10k files, split 8000/2000 by the loader) >= 90 %.
"""
from __future__ import annotations

import time

import pytest
from PySide6 import QtCore

from conftest import shared_path
from core.datasets import load
from tests._linear_gui import make_ws  # noqa: F401 - fixture

pytestmark = [pytest.mark.gui, pytest.mark.slow]
LEFT = QtCore.Qt.MouseButton.LeftButton
BUDGET_S = 60.0


def _train_until(qtbot, w, targets: dict[str, float], budget=BUDGET_S):
    """Play; stop once every model's displayed test accuracy reaches its target or the budget is spent."""
    qtbot.mouseClick(w.controls.play_button, LEFT)
    t0 = time.perf_counter()

    def reached():
        w.repaint_now(force=True)
        return all((w.displayed_test_accuracy(n) or 0) >= t for n, t in targets.items())

    qtbot.wait(200)
    while time.perf_counter() - t0 < budget and not reached() and w.controller.running:
        qtbot.wait(200)
    elapsed = time.perf_counter() - t0
    w.pause()
    w.repaint_now(force=True)
    shown = {n: w.displayed_test_accuracy(n) for n in targets}
    print(f"\n{w.dataset.name}: {shown} after {elapsed:.1f} s, {w.controller.live.iteration} iterations, "
          f"epoch {w.controller.live.epoch}")
    return shown, elapsed


def test_cifar10_softmax_37_and_hinge_35_percent_within_a_minute(qtbot, make_ws):
    ds = load(str(shared_path("cifar10", "yoongikim_jpg")))
    assert ds.n_train == 10000 and ds.image_shape == (32, 32, 3)
    w = make_ws(ds, size=(1600, 1000), val_fraction=0.1, seed=0)
    c = w.controls
    c.loss_combo.setCurrentIndex(c.loss_combo.findData("compare"))   # both losses, same start, same batches
    # the app's default run ("stop after" = the tuned epoch count) must end above the targets within
    # the minute: stopping the moment a noisy curve first touches 37 % would prove less
    shown, elapsed = _train_until(qtbot, w, {"softmax": 101.0, "hinge": 101.0})
    assert shown["softmax"] >= 37.0 and shown["hinge"] >= 35.0, (shown, elapsed)
    assert elapsed <= BUDGET_S + 1
    acc = {n: m.score(w.controller.features.X_test, w.controller.features.y_test)
           for n, m in w.controller.trainer.models.items()}
    assert shown["softmax"] == pytest.approx(acc["softmax"] * 100, abs=0.05)   # displayed = measured now


def test_mnist_softmax_reaches_90_percent(qtbot, make_ws):
    ds = load(str(shared_path("mnist")))
    w = make_ws(ds, size=(1600, 1000), val_fraction=0.1, seed=0)
    assert w.controls.values()["loss_mode"] in ("softmax", "hinge")
    name = w.controls.values()["loss_mode"]
    shown, _ = _train_until(qtbot, w, {name: 101.0}, budget=40.0)   # the whole default run
    assert shown[name] >= 90.0, shown

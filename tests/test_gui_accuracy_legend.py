"""The accuracy legend sits where it hides no points: one row when the plot is wide enough, in the corner
the curves leave free -- the top while accuracies are low (CIFAR-10), the bottom when they are high (MNIST)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from core.linear import Record
from gui.loss_curve_parts import emptiest_corner
from gui.loss_curves import LossCurves
from gui.train_history import History

pytestmark = pytest.mark.gui


def test_the_emptiest_corner_is_the_one_covering_fewest_points():
    view = ((0, 10), (0, 100))
    x = np.arange(1.0, 11.0)
    low = np.full(10, 35.0)                       # a flat curve at 35 %: both top corners are free
    assert emptiest_corner(x, low, view, (4, 30)) == "top-left"
    high = np.full(10, 92.0)
    assert emptiest_corner(x, high, view, (4, 30)) == "bottom-right"
    rising = np.linspace(10, 95, 10)              # low on the left, high on the right
    assert emptiest_corner(x, rising, view, (4, 30)) == "top-left"
    falling = rising[::-1]
    assert emptiest_corner(x, falling, view, (4, 30)) == "top-right"
    low_start = np.array([5, 10, 95, 95, 95, 95, 95, 95, 95, 95.0])     # only the bottom right is free
    assert emptiest_corner(x, low_start, view, (4, 30)) == "bottom-right"
    assert emptiest_corner(x, np.full(10, np.nan), view, (4, 30)) == "top-left"   # NaN (no val set) hides nothing


def _history(train, val):
    h = History()
    recs = []
    for e, (tr, va) in enumerate(zip(train, val), start=1):
        for i in range(3):
            it = 3 * (e - 1) + i + 1
            recs.append(Record(it, e, 1.0, 0.1, 1.1, 0.5, tr if i == 2 else None, va if i == 2 else None, i == 2))
    h.extend(recs)
    return h


def _hidden_points(curves):
    vb = curves.acc_plot.getViewBox()
    box = curves.acc_legend.sceneBoundingRect()
    hidden = 0
    for name in curves.model_names():
        for split in ("train", "val"):
            x, y = curves.accuracy_curve(name, split).getData()
            for xi, yi in zip(x, y):
                hidden += box.contains(vb.mapViewToScene(QtCore.QPointF(float(xi), float(yi))))
    return hidden


@pytest.mark.parametrize("size, presentation", [((1000, 520), False), ((1000, 700), True)])
def test_the_legend_hides_no_accuracy_point_for_low_or_high_accuracies(qtbot, size, presentation):
    curves = LossCurves()
    qtbot.addWidget(curves)
    curves.resize(*size)
    curves.show()
    curves.set_models(["hinge", "softmax"])
    curves.set_presentation(presentation)
    qtbot.waitExposed(curves)
    cifar = {"hinge": _history(np.linspace(0.30, 0.45, 12), np.linspace(0.28, 0.37, 12)),
             "softmax": _history(np.linspace(0.32, 0.42, 12), np.linspace(0.30, 0.36, 12))}
    mnist = {"hinge": _history(np.linspace(0.93, 0.99, 12), np.linspace(0.92, 0.97, 12)),   # near the top
             "softmax": _history(np.linspace(0.94, 0.99, 12), np.linspace(0.93, 0.98, 12))}
    seen = {}
    for label, hist in (("cifar", cifar), ("mnist", mnist)):
        curves.set_models(["hinge", "softmax"])                   # a new run
        curves.set_presentation(presentation)
        curves.refresh(hist)
        curves.acc_plot.getViewBox().update()
        QtWidgets.QApplication.processEvents()
        curves.refresh({k: v for k, v in hist.items()})          # placed again once the view has its range
        QtWidgets.QApplication.processEvents()
        seen[label] = curves.acc_legend.corner
        assert _hidden_points(curves) == 0, (label, curves.acc_legend.corner)
    assert seen["cifar"].startswith("top") and seen["mnist"].startswith("bottom")
    if not presentation:                                          # wide enough: all four entries on one row
        assert curves.acc_legend.columnCount == 4


def test_both_legends_grow_with_the_fonts_in_presentation_mode_and_shrink_back(qtbot):
    curves = LossCurves()
    qtbot.addWidget(curves)
    curves.resize(1000, 600)
    curves.show()
    curves.set_models(["hinge", "softmax"])                       # the legends' labels exist already

    def labels(legend):
        return [(label.text, label.item.boundingRect().height()) for _s, label in legend.items]

    loss0, acc0 = labels(curves.loss_legend), labels(curves.acc_legend)
    assert [t for t, _ in loss0] == ["hinge", "softmax", "total", "data loss", "λ·R(W)"]
    assert [t for t, _ in acc0] == ["hinge train", "hinge val", "softmax train", "softmax val"]
    curves.set_presentation(True)
    loss1, acc1 = labels(curves.loss_legend), labels(curves.acc_legend)
    assert [t for t, _ in loss1] == [t for t, _ in loss0]
    assert all(h1 > 1.3 * h0 for (_, h0), (_, h1) in zip(loss0, loss1)), (loss0, loss1)
    # the narrow accuracy plot beside the loss plot: the split only (colours: the loss legend's models)
    assert [t for t, _ in acc1] == ["train", "val"] and all(h > 1.3 * acc0[0][1] for _, h in acc1)
    curves.set_presentation(False)
    assert labels(curves.loss_legend) == loss0 and labels(curves.acc_legend) == acc0

"""Must show: on real MNIST and CIFAR-10 files, the workspace's displayed accuracy equals core's and
scikit-learn's (brute force) for the same k and metric.

scikit-learn breaks voting ties towards the smallest class index, the lab towards the tied class
whose nearest member is closest (``core.knn.TIE_RULE``). So for k > 1 we check: the displayed
accuracy equals core's exactly; scikit-learn's *neighbours* voted with the lab's rule give exactly
the displayed predictions; and scikit-learn's own predictions differ only where the vote was tied.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore
from sklearn.neighbors import KNeighborsClassifier

from core.datasets import load
from core.knn import KNearestNeighbor, vote
from tests._knn_gui import cifar_subset_folder, counts_from_label, make_workspace
from tests.conftest import shared_path

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture(scope="module")
def mnist():
    ds = load(shared_path("mnist"))          # the t10k files, split 8000/2000 by the loader
    return ds.subsample(200, 50)             # 2000 train / 500 test


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = shared_path("cifar10", "yoongikim_jpg")
    folder = cifar_subset_folder(tmp_path_factory.mktemp("cifar"), root, 200, 50)
    return load(folder)                      # 2000 train / 500 test real CIFAR-10 JPEGs


def _displayed_accuracy(qtbot, ws, k, metric):
    ws.set_k(k)
    ws.metric_buttons[metric].click()
    with qtbot.waitSignal(ws.runner.job_finished, timeout=120000,
                          check_params_cb=lambda job, status: job.kind == "knn-evaluate"):
        qtbot.mouseClick(ws.evaluate.run_button, QtCore.Qt.MouseButton.LeftButton)
    return counts_from_label(ws.evaluate.accuracy_label.text()), ws.evaluate.result["pred"]


def _check(qtbot, ds, settings):
    ws = make_workspace(qtbot, ds)
    ws.tabs.setCurrentWidget(ws.evaluate)
    Xtr = ds.X_train.reshape(ds.n_train, -1)
    Xte = ds.X_test.reshape(ds.n_test, -1)
    for k, metric in settings:
        (correct, n), shown_pred = _displayed_accuracy(qtbot, ws, k, metric)
        core_pred = KNearestNeighbor(k, metric).fit(Xtr, ds.y_train).predict(Xte)
        assert n == ds.n_test
        assert correct == int((core_pred == ds.y_test).sum()), (k, metric)
        np.testing.assert_array_equal(shown_pred, core_pred)

        sk = KNeighborsClassifier(n_neighbors=k, algorithm="brute", p=1 if metric == "l1" else 2)
        sk.fit(Xtr.astype(np.float64), ds.y_train)
        sk_pred = sk.predict(Xte.astype(np.float64))
        if k == 1:
            assert correct == int((sk_pred == ds.y_test).sum()), (k, metric)
            continue
        dist, idx = sk.kneighbors(Xte.astype(np.float64))
        ours = vote(ds.y_train[idx], dist, ds.n_classes)
        np.testing.assert_array_equal(ours.pred, shown_pred)           # same neighbours, same rule
        differ = sk_pred != shown_pred
        assert not (differ & ~ours.tied).any()                          # only ties are decided differently
        untied = ~ours.tied
        assert (sk_pred[untied] == ds.y_test[untied]).sum() == (shown_pred[untied] == ds.y_test[untied]).sum()
    ws.runner.shutdown()


def test_mnist_accuracy_equals_core_and_sklearn(qtbot, mnist):
    assert (mnist.n_train, mnist.n_test) == (2000, 500)
    _check(qtbot, mnist, [(1, "l2"), (5, "l2"), (3, "l1")])


def test_cifar10_accuracy_equals_core_and_sklearn(qtbot, cifar):
    assert (cifar.n_train, cifar.n_test) == (2000, 500) and cifar.image_shape == (32, 32, 3)
    _check(qtbot, cifar, [(1, "l2"), (7, "l2"), (5, "l1")])

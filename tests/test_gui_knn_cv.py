"""Nearest Neighbour workspace, Choosing k tab: the four ideas, cross-validation plot/table, apply best k,
export, cancel, one distance matrix per fold, and a responsive UI while it runs."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore

from core.knn import KNearestNeighbor
from core.model_selection import cross_validate_knn
from gui import heap
from tests._knn_gui import make_workspace, plain, synthetic, wait_idle

pytestmark = pytest.mark.gui
KS = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]


@pytest.fixture
def ws(qtbot, digits):
    w = make_workspace(qtbot, digits)
    w.tabs.setCurrentWidget(w.cv)
    yield w
    w.runner.shutdown()


def _run(qtbot, ws, timeout=60000):
    with qtbot.waitSignal(ws.runner.job_finished, timeout=timeout,
                          check_params_cb=lambda job, status: job.kind == "knn-cv"):
        qtbot.mouseClick(ws.cv.run_button, QtCore.Qt.MouseButton.LeftButton)


def test_defaults(ws):
    assert ws.cv.mode() == "cv"
    assert ws.cv.folds_spin.value() == 5
    assert ws.cv.ks_edit.text() == "1, 3, 5, 8, 10, 12, 15, 20, 50, 100"
    assert "Press Run" in ws.cv.plot.plotItem.titleLabel.text


def test_cross_validation_plot_table_and_apply_best_k(qtbot, ws, digits):
    _run(qtbot, ws)
    X = digits.X_train.reshape(digits.n_train, -1).astype(np.float32)
    expected = cross_validate_knn(X, digits.y_train, KS, folds=5, metric="l2", random_state=0)
    d = ws.cv.plot.data()
    assert len(d["fold_x"]) == 50                              # every fold a dot
    np.testing.assert_allclose(d["fold_y"], (expected.scores * 100).ravel())
    np.testing.assert_allclose(d["mean_x"], KS)
    np.testing.assert_allclose(d["mean_y"], expected.mean * 100)
    np.testing.assert_allclose(d["err_top"], expected.std * 100)
    best = int(expected.best_value)
    assert list(d["best_x"]) == [best]
    assert d["best_text"].startswith(f"best k = {best}:")
    assert ws.cv.table.rowCount() == 10 and ws.cv.table.columnCount() == 8
    row = list(expected.values).index(best)
    assert ws.cv.table.item(row, 6).text() == f"{100 * expected.mean[row]:.1f}"
    assert ws.cv.table.item(row, 0).font().bold()
    assert ws.cv.use_button.text() == f"Use k = {best}"
    ws.set_k(50)
    qtbot.mouseClick(ws.cv.use_button, QtCore.Qt.MouseButton.LeftButton)
    assert ws.k() == best and ws.k_slider.value() == best and ws.k_spin.value() == best
    header, rows = ws.table_for_export()
    assert header == ["k", "fold 1", "fold 2", "fold 3", "fold 4", "fold 5", "mean", "± std"]
    assert rows[row][0] == best


def test_the_best_k_label_covers_no_dot_or_error_bar_and_stays_in_view(qtbot, ws):
    _run(qtbot, ws)
    plot = ws.cv.plot
    QtCore.QCoreApplication.processEvents()
    vb = plot.plotItem.getViewBox()
    box = plot.best_text.sceneBoundingRect()
    d = plot.data()
    points = list(zip(d["fold_x"], d["fold_y"])) + list(zip(d["mean_x"], d["mean_y"] + d["err_top"]))
    inside = [(x, y) for x, y in points if box.contains(vb.mapViewToScene(QtCore.QPointF(float(x), float(y))))]
    assert inside == []
    assert vb.sceneBoundingRect().contains(box), (vb.sceneBoundingRect(), box)
    assert box.left() <= vb.mapViewToScene(QtCore.QPointF(float(d["best_x"][0]), 0)).x() <= box.right()


def test_training_data_mode_shows_k1_wins_and_why(qtbot, ws):
    ws.cv.set_mode("train")
    assert "cheating" in plain(ws.cv.note.text())
    assert not ws.cv.folds_spin.isEnabled()
    _run(qtbot, ws)
    r = ws.cv.current_result()
    assert r.best_value == 1 and r.mean[0] == 1.0
    assert ws.cv.plot.data()["mean_y"][0] == 100.0
    assert "each image finds itself at distance 0" in plain(ws.cv.best_label.text())
    assert ws.cv.table.horizontalHeaderItem(1).text() == "accuracy"
    assert ws.cv.table_title.text() == "Training accuracy (%)"


def test_test_and_validation_modes(qtbot, ws, digits):
    ws.cv.set_mode("test")
    ws.cv.ks_edit.setText("1, 5, 9")
    _run(qtbot, ws)
    X = digits.X_train.reshape(digits.n_train, -1)
    model = KNearestNeighbor(1, "l2").fit(X, digits.y_train)
    for k, acc in zip((1, 5, 9), ws.cv.current_result().mean):
        assert acc == model.score(digits.X_test.reshape(digits.n_test, -1), digits.y_test, k)
    ws.cv.set_mode("val")
    assert ws.cv.plot.result is None                       # each idea keeps its own result
    _run(qtbot, ws)
    assert ws.cv.current_result().scores.shape == (3, 1)
    ws.cv.set_mode("test")
    assert ws.cv.plot.result is not None


def test_k_list_is_validated_inline(qtbot, ws):
    edit, err = ws.cv.ks_edit, ws.cv.ks_error
    for text, message in (("1, x", "'x' is not a whole number"), ("0, 3", "k must be at least 1"),
                          ("3, 5000", "k = 5000 is more than the 1,437 training images"), ("", "at least one k")):
        edit.setText(text)
        assert err.isVisibleTo(ws) and message in err.text(), text
        assert not ws.cv.run_button.isEnabled()
    qtbot.keyClicks(edit, "7, 3,3")
    assert not err.isVisibleTo(ws) and ws.cv.run_button.isEnabled()
    _run(qtbot, ws)
    assert list(ws.cv.current_result().values) == [3, 7]


def test_too_many_folds_is_reported_inline(qtbot, digits):
    ws = make_workspace(qtbot, digits.subsample(1, 2))     # 10 training images
    ws.tabs.setCurrentWidget(ws.cv)
    ws.cv.ks_edit.setText("1")
    ws.cv.folds_spin.setValue(20)
    _run(qtbot, ws)
    assert "n_splits must be <= the number of samples" in ws.cv.ks_error.text()
    assert ws.cv.ks_error.isVisibleTo(ws) and ws.cv.progress.format() == "failed"
    assert ws.cv.run_button.isEnabled()
    assert ws.errors == []
    ws.runner.shutdown()


def test_export_csv_and_png(qtbot, ws, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    _run(qtbot, ws)
    csv_path, png_path = tmp_path / "cv.csv", tmp_path / "cv.png"
    answers = iter([(str(csv_path), "CSV (*.csv)"), (str(png_path), "PNG (*.png)")])
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: next(answers))
    qtbot.mouseClick(ws.cv.csv_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.mouseClick(ws.cv.png_button, QtCore.Qt.MouseButton.LeftButton)
    assert csv_path.read_text() == ws.cv.current_result().to_csv()
    assert csv_path.read_text().splitlines()[0] == "k,fold_1,fold_2,fold_3,fold_4,fold_5,mean,std"
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Choosing k: accuracy vs k" in ws.export_targets()


def test_one_distance_matrix_per_fold(qtbot, ws, digits, monkeypatch):
    """Ten k values, five folds: one top-100 selection per fold, and every distance between two images
    of different folds computed once (one block per pair of folds serves both), not once per k."""
    from core import _cv_blocks
    selections, pairs = [], []
    real_select, real_block = _cv_blocks.select, _cv_blocks.FoldBlocks._block

    def counting_select(A, train, V, k, cancel=None):
        selections.append((len(A), k))
        return real_select(A, train, V, k, cancel)

    def counting_block(self, f, g, A, cancel):
        out = real_block(self, f, g, A, cancel)
        pairs.append(out.size)
        return out

    monkeypatch.setattr(_cv_blocks, "select", counting_select)
    monkeypatch.setattr(_cv_blocks.FoldBlocks, "_block", counting_block)
    _run(qtbot, ws)
    n = digits.n_train
    sizes = [n_f for n_f, _ in selections]
    assert len(selections) == 5 and all(k == 100 for _, k in selections) and sum(sizes) == n
    assert len(pairs) == 10 and sum(pairs) == (n * n - sum(s * s for s in sizes)) // 2


@pytest.mark.slow
def test_cv_on_5000_cifar_like_images_is_responsive_and_cancellable(qtbot):
    """5000 CIFAR-sized images, 10 k values, 5 folds: progress reaches the end, the UI keeps ticking,
    and Cancel stops a second run promptly."""
    ws = make_workspace(qtbot, synthetic(5000, 100))
    ws.tabs.setCurrentWidget(ws.cv)
    heap.settle()      # as the main window does after a load: no whole-heap collection of the test process
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    progress = []
    ws.runner.job_progress.connect(lambda job, done, total, msg: progress.append(done / total))
    timer.start(20)
    t0 = time.perf_counter()
    _run(qtbot, ws, timeout=240000)
    elapsed = time.perf_counter() - t0
    timer.stop()
    gaps = np.diff(ticks)
    print(f"\nCV 5000x3072, 5 folds, 10 k: {elapsed:.1f} s; {len(ticks)} ticks; "
          f"max gap {gaps.max() * 1000:.0f} ms; 99th pct {np.percentile(gaps, 99) * 1000:.0f} ms")
    assert ws.cv.current_result().scores.shape == (10, 5)
    assert ws.cv.progress.value() == 1000 and ws.cv.progress.format() == "done"
    assert len(progress) >= 5 and progress == sorted(progress)
    # the GUI thread keeps ticking: work on it shows as many long gaps, so 99 % of them must stay under
    # the 100 ms target; a single gap may be the OS scheduler on a shared, loaded 2-core machine (an idle
    # app already shows ~55 ms there), so the worst one only has to stay under half a second
    assert np.percentile(gaps, 99) < 0.1
    assert gaps.max() < 0.5

    # cancel part-way through a second run
    ws.cv.mode_combo.setCurrentIndex(3)
    qtbot.mouseClick(ws.cv.run_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ws.cv.progress.value() > 100, timeout=60000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(ws.runner.job_finished, timeout=5000):
        qtbot.mouseClick(ws.cv.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    assert time.perf_counter() - t0 < 1.5
    assert ws.cv.progress.format() == "cancelled" and ws.cv.progress.value() < 1000
    assert ws.cv.run_button.isEnabled() and not ws.cv.cancel_button.isEnabled()
    wait_idle(qtbot, ws)
    ws.runner.shutdown()


def test_cross_validation_keeps_both_cores_and_the_other_ideas_spare_one(qtbot, ws, monkeypatch):
    """k-fold CV runs without the BLAS limit (its fold-pair products leave the GUI thread its share);
    ideas #1-#3 search image by image, like Evaluate, and keep a core for the GUI."""
    import contextlib

    from gui import knn_session
    limited = []

    @contextlib.contextmanager
    def recording():
        limited.append(ws.cv.mode())
        yield

    monkeypatch.setattr(knn_session, "spare_core", recording)
    _run(qtbot, ws)
    assert limited == []
    ws.cv.mode_combo.setCurrentIndex(ws.cv.mode_combo.findData("val"))
    _run(qtbot, ws)
    assert limited == ["val"]

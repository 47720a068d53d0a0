"""Test set: kNN accuracy over every test image, streamed live, then the confusion matrix,
per-class accuracy and train time vs test time.

The evaluation runs in the background (runner kind ``"knn-evaluate"``) in blocks of test rows;
after each block the worker sends the block's predictions, so the running accuracy and the
progress bar move while it works, and Cancel stops it within one block.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtWidgets

from core.metrics import accuracy, confusion_matrix, per_class_accuracy
from gui.knn_confusion import ConfusionView
from gui.knn_plots import ClassBars, format_seconds
from gui.knn_session import sparing
from gui.knn_timing import TimingView
from gui.theme import STYLE_NORMAL, class_color
from gui.widgets.image_grid import ImageGrid

__all__ = ["EvaluatePanel"]

_MAX_CELL_IMAGES = 300


class EvaluatePanel(QtWidgets.QWidget):
    """Evaluate with progress and Cancel; confusion matrix with click-through; per-class accuracy; timing."""

    status_message = QtCore.Signal(str, int)
    open_test_image = QtCore.Signal(int)
    predictions_ready = QtCore.Signal(object)   # {generation, k, metric, pred}

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.session = None
        self.k, self.metric_name = 5, "l2"
        self.chunk_rows: int | None = None    # test rows per block (None: sized to ~1e10 / (n_train * D))
        self.result: dict | None = None
        self._pred = np.zeros(0, dtype=np.int64)
        self._done = 0
        self._t0 = 0.0
        self._cell_indices = np.zeros(0, dtype=np.int64)
        self._job = None
        self._job_info: dict = {}
        self._style = STYLE_NORMAL

        self.run_button = QtWidgets.QPushButton("Evaluate on the test set")
        self.run_button.setObjectName("evaluate_button")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("evaluate_cancel_button")
        self.cancel_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("evaluate_progress")
        self.progress.setTextVisible(True)
        self.accuracy_label = QtWidgets.QLabel("Not evaluated yet")
        self.accuracy_label.setObjectName("accuracy_label")
        self.stale_label = QtWidgets.QLabel()
        self.stale_label.setObjectName("evaluate_stale_label")
        self.stale_label.setStyleSheet("QLabel { background: #fff4d6; color: #5a4100; padding: 4px; "
                                       "border-radius: 4px; }")
        self.stale_label.hide()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.accuracy_label, 2)

        self.confusion = ConfusionView()
        self.per_class = ClassBars("Accuracy per class", "accuracy", percent=True)
        self.per_class.setObjectName("per_class_accuracy")
        self.timing = TimingView(runner)

        self.cell_title = QtWidgets.QLabel("Click a cell of the confusion matrix to see its test images.")
        self.cell_title.setObjectName("cell_title")
        self.cell_title.setWordWrap(True)
        self.cell_grid = ImageGrid(tile=self._style.tile, caption_lines=1)
        self.cell_grid.setObjectName("cell_images")
        self.cell_grid.setToolTip("Click an image to open its nearest matches")
        cell_scroll = QtWidgets.QScrollArea()
        cell_scroll.setWidgetResizable(True)
        cell_scroll.setWidget(self.cell_grid)
        cell_box = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(cell_box)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.cell_title)
        cl.addWidget(cell_scroll, 1)

        self.left_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.left_split.addWidget(self.confusion)
        self.left_split.addWidget(cell_box)
        self.right_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.right_split.addWidget(self.per_class)
        self.right_split.addWidget(self.timing)
        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.split.addWidget(self.left_split)
        self.split.addWidget(self.right_split)
        self._sized = False
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.stale_label)
        lay.addWidget(self.split, 1)

        self.run_button.clicked.connect(self.evaluate)
        self.cancel_button.clicked.connect(self.cancel)
        self.confusion.cell_clicked.connect(self.show_cell)
        self.cell_grid.clicked.connect(self._open_cell_image)
        runner.job_progress.connect(self._on_progress)
        runner.job_finished.connect(self._on_finished)
        self.set_session(None)

    # -- shared state ------------------------------------------------------------------------
    def set_session(self, session) -> None:
        self.runner.cancel("knn-evaluate")
        self._job = None
        self.session = session
        self.result = None
        self.run_button.setEnabled(session is not None)
        self.progress.setValue(0)
        self.accuracy_label.setText("Not evaluated yet")
        self.stale_label.clear()
        self.stale_label.hide()
        self.confusion.clear()
        self.per_class.set_values([], [], [])
        self.per_class.set_title("Accuracy per class")   # not the old set's "overall …%"
        self.cell_grid.set_images([])
        self.cell_title.setText("Click a cell of the confusion matrix to see its test images.")
        self.timing.set_session(session)
        self._update_button()

    def set_k_metric(self, k: int, metric: str) -> None:
        self.k, self.metric_name = k, metric
        self.timing.set_k_metric(k, metric)
        self._update_button()
        r = self.result
        if r is not None and (r["k"], r["metric"]) != (k, metric):
            self.stale_label.setText(f"These results are for k = {r['k']}, {r['metric'].upper()}; "
                                     f"the controls now say k = {k}, {metric.upper()} — evaluate again to update.")
            self.stale_label.show()
        else:
            self.stale_label.clear()
            self.stale_label.hide()

    def set_query_seconds(self, seconds: float, metric: str) -> None:
        self.timing.set_query_seconds(seconds, metric)

    def _update_button(self) -> None:
        if self.session is not None:
            self.run_button.setText(f"Evaluate k = {self.k}, {self.metric_name.upper()} on "
                                    f"{self.session.dataset.n_test:,} test images")

    # -- running --------------------------------------------------------------------------------
    def _chunk(self) -> int:
        if self.chunk_rows:
            return int(self.chunk_rows)
        return int(np.clip(1e10 / max(1, self.session.n_values), 8, 1000))

    def evaluate(self) -> None:
        s = self.session
        if s is None:
            return
        metric = self.metric_name
        model, X, k, chunk = s.models[metric], s.test_features[metric], min(self.k, s.k_max), self._chunk()
        n = X.shape[0]
        self._pred = np.full(n, -1, dtype=np.int64)
        self._done = 0
        self._job_info = {"generation": s.generation, "k": k, "metric": self.metric_name}

        def work(ctx):
            t0 = time.perf_counter()
            for start in range(0, n, chunk):
                ctx.check()
                stop = min(n, start + chunk)
                pred = model.predict(X[start:stop], k=k, cancel=ctx.cancelled)
                ctx.emit((start, pred))
                ctx.progress(stop, n, f"Classified {stop:,} of {n:,} test images")
            return time.perf_counter() - t0

        self.progress.setRange(0, n)
        self.progress.setValue(0)
        self.accuracy_label.setText(f"Evaluating k = {k}, {self.metric_name.upper()}…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._job = self.runner.start("knn-evaluate", sparing(work), label="Evaluating kNN on the test set",
                                      on_partial=self._on_partial, on_result=self._on_result)

    def cancel(self) -> None:
        self.runner.cancel("knn-evaluate")

    def _on_partial(self, block) -> None:
        start, pred = block
        self._pred[start:start + pred.size] = pred
        self._done = max(self._done, start + pred.size)
        y = self.session.dataset.y_test[:self._done]
        acc = accuracy(y, self._pred[:self._done])
        correct = int(round(acc * self._done))
        self.progress.setValue(self._done)
        self.accuracy_label.setText(f"Running accuracy: <b>{acc:.2%}</b> ({correct:,} / {self._done:,} so far)")

    def _on_progress(self, job, done: float, total: float, message: str) -> None:
        if job.kind == "knn-evaluate":
            self.progress.setFormat(f"%p% · {message}")

    def _on_finished(self, job, status: str) -> None:
        if job.kind != "knn-evaluate" or job is not getattr(self, "_job", None):
            return
        self.run_button.setEnabled(self.session is not None)
        self.cancel_button.setEnabled(False)
        self.progress.setFormat("%p%")
        if status == "cancelled" and self.session is not None:
            if self._done:
                acc = accuracy(self.session.dataset.y_test[:self._done], self._pred[:self._done])
                self.accuracy_label.setText(f"Cancelled after {self._done:,} test images "
                                            f"(accuracy on those: {acc:.2%})")
            else:
                self.accuracy_label.setText("Cancelled before the first block finished")
            self.status_message.emit(f"Evaluation cancelled after {self._done:,} test images", 5000)

    def _on_result(self, seconds: float) -> None:
        s = self.session
        ds = s.dataset
        info = self._job_info
        pred = self._pred.copy()
        acc = accuracy(ds.y_test, pred)
        cm = confusion_matrix(ds.y_test, pred, ds.n_classes)
        pca = per_class_accuracy(ds.y_test, pred, ds.n_classes)
        self.result = dict(info, pred=pred, accuracy=acc, confusion=cm, per_class=pca, seconds=seconds)
        correct = int(np.trace(cm))
        self.progress.setValue(ds.n_test)
        self.accuracy_label.setText(f"Test accuracy: <b>{acc:.2%}</b> ({correct:,} / {ds.n_test:,}) · "
                                    f"k = {info['k']}, {info['metric'].upper()} · {format_seconds(seconds)}")
        self.stale_label.clear()
        self.stale_label.hide()
        self.confusion.set_matrix(cm, ds.class_names)
        self.confusion.title.setText(f"Confusion matrix (k = {info['k']}, {info['metric'].upper()}): rows = true "
                                     f"class, columns = predicted; click a cell to see its images")
        n = ds.n_classes
        self.per_class.set_values(ds.class_names, pca, [class_color(c, n) for c in range(n)])
        self.per_class.set_title(f"Accuracy per class (overall {acc:.1%})")
        self.timing.set_test_seconds(seconds)
        self.predictions_ready.emit(dict(info, pred=pred))
        if not self.timing.points:
            self.timing.measure()
        self.show_cell(*self._worst_cell(cm))

    def _worst_cell(self, cm: np.ndarray) -> tuple[int, int]:
        off = cm.copy()
        np.fill_diagonal(off, -1)
        if off.max() <= 0:
            return 0, 0
        return tuple(int(v) for v in np.unravel_index(np.argmax(off), off.shape))

    # -- confusion click-through ---------------------------------------------------------------------
    def show_cell(self, true: int, predicted: int) -> None:
        """Show the test images of class ``true`` that were predicted ``predicted``."""
        if self.result is None:
            return
        ds = self.session.dataset
        pred = self.result["pred"]
        idx = np.flatnonzero((ds.y_test == true) & (pred == predicted))
        self._cell_indices = idx[:_MAX_CELL_IMAGES]
        what = "correctly classified" if true == predicted else f"predicted <b>{ds.class_names[predicted]}</b>"
        more = f" (showing the first {_MAX_CELL_IMAGES})" if idx.size > _MAX_CELL_IMAGES else ""
        self.cell_title.setText(f"True <b>{ds.class_names[true]}</b>, {what}: {idx.size:,} test images{more} — "
                                f"click one to see its nearest matches")
        colour = class_color(predicted, ds.n_classes)
        self.cell_grid.set_images(ds.X_test[self._cell_indices], [f"#{i}" for i in self._cell_indices],
                                  [colour] * self._cell_indices.size)
        self.confusion.table.setCurrentCell(true, predicted)

    def _open_cell_image(self, i: int) -> None:
        if 0 <= i < self._cell_indices.size:
            self.open_test_image.emit(int(self._cell_indices[i]))

    # -- look / export ------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._sized and self.height() > 200:
            self._sized = True
            w, h = self.split.width(), self.split.height()
            self.split.setSizes([w // 2, w - w // 2])
            self.left_split.setSizes([int(h * 0.68), h - int(h * 0.68)])
            self.right_split.setSizes([int(h * 0.4), h - int(h * 0.4)])     # the timing panel has more to say

    def set_style(self, style) -> None:
        self._style = style
        self.per_class.set_style(style)
        self.timing.set_style(style)
        self.cell_grid.set_tile(style.tile)
        self.accuracy_label.setStyleSheet(f"QLabel {{ font-size: {style.font_pt + 4}pt; }}")

    def export_targets(self) -> dict:
        out = {"Nearest neighbour: accuracy per class": self.per_class.plotItem}
        out.update(self.timing.export_targets())
        return out

    def table_for_export(self):
        if self.result is None:
            return None
        return self.confusion.table_rows()

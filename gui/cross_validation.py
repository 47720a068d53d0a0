"""Choosing k: the lecture's four ideas for setting a hyperparameter, side by side on one plot style.

1. **Training data** -- pick the k that works best on the images kNN memorised: k = 1 always wins
   (every image is its own nearest neighbour), which says nothing about new images.
2. **Test data** -- pick the k that works best on the test set: then the test set no longer tells
   you how the method does on new data.
3. **Validation split** -- hold out part of the training data and pick k on it. Better.
4. **k-fold cross-validation** -- every fold takes a turn as the validation split; the mean over
   folds picks k (one distance matrix per fold, every k scored on it). Best, but costly.

All four run in the background (runner kind ``"knn-cv"``) with progress and Cancel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui.cv_plot import CVPlot
from gui.k_choice import DEFAULT_KS, MODES, format_ks, parse_ks, run_mode
from gui.knn_session import sparing
from gui.theme import STYLE_NORMAL

__all__ = ["CrossValidationPanel"]

class CrossValidationPanel(QtWidgets.QWidget):
    """Mode, folds, k values and metric; Run/Cancel; the accuracy-vs-k plot and table; apply the best k."""

    status_message = QtCore.Signal(str, int)
    apply_k = QtCore.Signal(int)

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.session = None
        self.k, self.metric_name = 5, "l2"
        self.val_fraction, self.seed = 0.1, 0
        self.results: dict[str, tuple] = {}   # mode -> (CVResult, metric, folds, n)
        self._job = None
        self._style = STYLE_NORMAL

        self.mode_combo = QtWidgets.QComboBox()
        self.mode_combo.setObjectName("k_choice_mode")
        for key, (text, _) in MODES.items():
            self.mode_combo.addItem(text, key)
        self.mode_combo.setCurrentIndex(3)
        self.note = QtWidgets.QLabel()
        self.note.setObjectName("mode_note")
        self.note.setWordWrap(True)
        self.folds_spin = QtWidgets.QSpinBox()
        self.folds_spin.setObjectName("folds_spin")
        self.folds_spin.setRange(2, 20)
        self.folds_spin.setValue(5)
        self.ks_edit = QtWidgets.QLineEdit(format_ks(DEFAULT_KS))
        self.ks_edit.setObjectName("ks_edit")
        self.ks_edit.setToolTip("k values to try, separated by commas")
        self.ks_error = QtWidgets.QLabel()
        self.ks_error.setObjectName("ks_error")
        self.ks_error.setStyleSheet("QLabel { color: #c62828; }")
        self.metric_combo = QtWidgets.QComboBox()
        self.metric_combo.setObjectName("cv_metric")
        self.metric_combo.addItem("L2", "l2")
        self.metric_combo.addItem("L1", "l1")
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setObjectName("cv_run_button")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("cv_cancel_button")
        self.cancel_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("cv_progress")

        form = QtWidgets.QHBoxLayout()
        form.addWidget(QtWidgets.QLabel("Choose k:"))
        form.addWidget(self.mode_combo)
        form.addSpacing(10)
        form.addWidget(QtWidgets.QLabel("folds"))
        form.addWidget(self.folds_spin)
        form.addWidget(QtWidgets.QLabel("k values"))
        form.addWidget(self.ks_edit, 2)
        form.addWidget(self.metric_combo)
        form.addWidget(self.run_button)
        form.addWidget(self.cancel_button)
        form.addWidget(self.progress, 1)

        self.plot = CVPlot()
        self.plot.setObjectName("cv_plot")
        self.table = QtWidgets.QTableWidget()
        self.table.setObjectName("cv_table")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.best_label = QtWidgets.QLabel()
        self.best_label.setObjectName("best_k_label")
        self.best_label.setWordWrap(True)
        self.use_button = QtWidgets.QPushButton("Use best k")
        self.use_button.setObjectName("use_best_k_button")
        self.use_button.setEnabled(False)
        self.csv_button = QtWidgets.QPushButton("Export table (CSV)…")
        self.csv_button.setObjectName("cv_export_csv")
        self.png_button = QtWidgets.QPushButton("Export plot (PNG)…")
        self.png_button.setObjectName("cv_export_png")
        side = QtWidgets.QWidget()
        sl = QtWidgets.QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.best_label)
        sl.addWidget(self.use_button)
        self.table_title = QtWidgets.QLabel("Validation accuracy (%)")
        sl.addWidget(self.table_title)
        sl.addWidget(self.table, 1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.csv_button)
        row.addWidget(self.png_button)
        sl.addLayout(row)
        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.split.addWidget(self.plot)
        self.split.addWidget(side)
        self._sized = False

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.ks_error)
        lay.addWidget(self.note)
        lay.addWidget(self.split, 1)

        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.ks_edit.textChanged.connect(self._validate)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._use_best)
        self.csv_button.clicked.connect(self.export_csv)
        self.png_button.clicked.connect(self.export_png)
        runner.job_progress.connect(self._on_progress)
        runner.job_finished.connect(self._on_finished)
        self._on_mode()

    # -- state ---------------------------------------------------------------------------------
    def mode(self) -> str:
        return self.mode_combo.currentData()

    def set_mode(self, mode: str) -> None:
        self.mode_combo.setCurrentIndex(list(MODES).index(mode))

    def set_session(self, session) -> None:
        self.runner.cancel("knn-cv")
        self._job = None
        self.session = session
        self.results.clear()
        self.progress.setValue(0)
        self._on_mode()

    def set_validation(self, val_fraction: float, seed: int) -> None:
        self.val_fraction, self.seed = float(val_fraction), int(seed)

    def set_k_metric(self, k: int, metric: str) -> None:
        self.k = k
        if metric != self.metric_name and not self.runner.is_running("knn-cv"):
            self.metric_combo.setCurrentIndex(self.metric_combo.findData(metric))
        self.metric_name = metric

    def _on_mode(self) -> None:
        mode = self.mode()
        self.note.setText(MODES[mode][1])
        bad = mode in ("train", "test")
        self.note.setStyleSheet("QLabel { background: %s; color: #1d1f23; padding: 6px; border-radius: 4px; }"
                                % ("#fde8e8" if bad else "#e8f3e8"))
        self.folds_spin.setEnabled(mode == "cv")
        self._validate()
        self._show(mode)

    def _validate(self) -> list[int] | None:
        n = self.session.dataset.n_train if self.session is not None else None
        try:
            ks = parse_ks(self.ks_edit.text(), n)
        except ValueError as exc:
            self.ks_error.setText(str(exc))
            self.ks_error.show()
            self.run_button.setEnabled(False)
            return None
        self.ks_error.hide()
        self.run_button.setEnabled(self.session is not None and not self.runner.is_running("knn-cv"))
        return ks

    # -- running ---------------------------------------------------------------------------------
    def run(self) -> None:
        ks = self._validate()
        s = self.session
        if ks is None or s is None:
            return
        mode, metric, folds = self.mode(), self.metric_combo.currentData(), self.folds_spin.value()
        X, y, Xt, yt = s.train_features[metric], s.dataset.y_train, s.test_features[metric], s.dataset.y_test
        vf, seed = self.val_fraction, self.seed
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.plot.plotItem.setTitle(f"Running: {MODES[mode][0]}…")

        def done(result):
            self.results[mode] = (result, metric, folds, len(y))
            if self.mode() == mode:
                self._show(mode)
            self.status_message.emit(f"Best k = {result.best_value} ({MODES[mode][0]})", 5000)

        def failed(exc):
            self.ks_error.setText(str(exc))
            self.ks_error.show()
            self.plot.plotItem.setTitle("")

        def work(ctx):
            return run_mode(mode, X, y, Xt, yt, ks, folds, metric, vf, seed, ctx)

        # k-fold CV keeps both cores for BLAS: its fold-pair products leave the GUI thread its share
        # (CIFAR-10, 10000 images, k up to 100: 20 ms timer gaps of at most 39-53 ms, 3.5-4.2 s instead of
        # 4.5-4.7 s); ideas #1-#3 search image by image like Evaluate and keep a core spare
        self._job = self.runner.start(
            "knn-cv", work if mode == "cv" else sparing(work),
            label=f"Choosing k: {MODES[mode][0]}", on_result=done, on_error=failed)

    def cancel(self) -> None:
        self.runner.cancel("knn-cv")

    def _on_progress(self, job, done: float, total: float, message: str) -> None:
        if job is self._job and total > 0:
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"%p% · {message}" if message else "%p%")

    def _on_finished(self, job, status: str) -> None:
        if job is not self._job:
            return
        self._job = None
        self.cancel_button.setEnabled(False)
        if status == "failed":      # keep the error message (shown by on_error) visible
            self.run_button.setEnabled(self.session is not None)
            self.progress.setFormat("failed")
            return
        self._validate()
        if status == "done":
            self.progress.setValue(1000)
            self.progress.setFormat("done")
        elif status == "cancelled":
            self.progress.setFormat("cancelled")
            self.plot.plotItem.setTitle("Cancelled")
            self.status_message.emit("Choosing k: cancelled", 4000)

    # -- showing ---------------------------------------------------------------------------------
    def _show(self, mode: str) -> None:
        entry = self.results.get(mode)
        if entry is None:
            self.plot.clear_result("Press Run to compute accuracy for every k" if self.session else "")
            self.table.setRowCount(0)
            self.best_label.setText("")
            self.use_button.setEnabled(False)
            self.use_button.setText("Use best k")
            return
        result, metric, folds, n = entry
        where = {"train": "training images (the ones kNN memorised)", "test": "test images",
                 "val": "validation split", "cv": f"{folds}-fold cross-validation on {n:,} training images"}[mode]
        self.plot.show_result(result, title=f"Accuracy vs k, {metric.upper()} — {where}")
        self.table_title.setText({"train": "Training accuracy (%)", "test": "Test accuracy (%)"}.get(
            mode, "Validation accuracy (%)"))
        self._fill_table(result)
        best = int(result.best_value)
        mean = float(result.mean[result.best_index])
        extra = ""
        if mode == "train" and best == 1:
            extra = " — of course: each image finds itself at distance 0. That is why this is cheating."
        self.best_label.setText(f"Best k = <b>{best}</b> (mean accuracy {mean:.1%}){extra}")
        self.use_button.setText(f"Use k = {best}")
        self.use_button.setEnabled(True)

    def _fill_table(self, result) -> None:
        scores = np.asarray(result.scores, dtype=float)
        folds = scores.shape[1]
        header = ["k"] + ([f"fold {i + 1}" for i in range(folds)] if folds > 1 else ["accuracy"]) + \
            (["mean", "± std"] if folds > 1 else [])
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(result.values))
        bold = QtGui.QFont(self.table.font())
        bold.setBold(True)
        for r, v in enumerate(result.values):
            cells = [f"{v:g}"] + [f"{100 * s:.1f}" for s in scores[r]]
            if folds > 1:
                cells += [f"{100 * result.mean[r]:.1f}", f"{100 * result.std[r]:.1f}"]
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                if r == result.best_index:
                    item.setFont(bold)
                    item.setBackground(QtGui.QColor("#fff1c1"))
                    item.setForeground(QtGui.QColor("#1d1f23"))
                self.table.setItem(r, c, item)

    def current_result(self):
        entry = self.results.get(self.mode())
        return None if entry is None else entry[0]

    def _use_best(self) -> None:
        result = self.current_result()
        if result is not None:
            self.apply_k.emit(int(result.best_value))
            self.status_message.emit(f"k set to {int(result.best_value)}", 4000)

    # -- export ----------------------------------------------------------------------------------
    def table_for_export(self):
        result = self.current_result()
        if result is None:
            return None
        header = [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]
        scores = np.asarray(result.scores, dtype=float)
        rows = []
        for r, v in enumerate(result.values):
            row = [v] + [float(s) for s in scores[r]]
            if scores.shape[1] > 1:
                row += [float(result.mean[r]), float(result.std[r])]
            rows.append(row)
        return header, rows

    def export_csv(self, path: str | None = None) -> None:
        result = self.current_result()
        if result is None:
            self.status_message.emit("Run first: there is no table to export yet", 4000)
            return
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export table", "choosing_k.csv", "CSV (*.csv)")
        if path:
            try:
                Path(path).write_text(result.to_csv(), encoding="utf-8")
            except OSError as exc:
                self.status_message.emit(f"Could not write {path}: {exc.strerror or exc}", 6000)
                return
            self.status_message.emit(f"Saved {path}", 4000)

    def export_png(self, path: str | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export plot", "choosing_k.png", "PNG (*.png)")
        if path:
            from pyqtgraph.exporters import ImageExporter
            try:
                ImageExporter(self.plot.plotItem).export(path)
            except OSError as exc:
                self.status_message.emit(f"Could not write {path}: {exc}", 6000)
                return
            self.status_message.emit(f"Saved {path}", 4000)

    def export_targets(self) -> dict:
        return {"Choosing k: accuracy vs k": self.plot.plotItem}

    # -- look / settings ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._sized and self.width() > 200:
            self._sized = True
            w = self.split.width()
            self.split.setSizes([int(w * 0.64), w - int(w * 0.64)])

    def set_style(self, style) -> None:
        self._style = style
        self.plot.set_style(style)

    def save_settings(self, settings: QtCore.QSettings) -> None:
        settings.setValue("knn/cv_mode", self.mode())
        settings.setValue("knn/cv_folds", self.folds_spin.value())
        settings.setValue("knn/cv_ks", self.ks_edit.text())

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        mode = settings.value("knn/cv_mode", self.mode())
        if mode in MODES:
            self.set_mode(mode)
        try:
            self.folds_spin.setValue(int(settings.value("knn/cv_folds", self.folds_spin.value())))
        except (TypeError, ValueError):
            pass
        ks = settings.value("knn/cv_ks", None)
        if isinstance(ks, str) and ks.strip():
            self.ks_edit.setText(ks)

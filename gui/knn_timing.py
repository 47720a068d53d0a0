"""Train time vs test time: the lecture's "kNN is instant to train and very slow at test time".

Left: two bars, the measured ``fit`` (it only memorises the images) next to the time to predict the
whole test set (measured by an evaluation, or estimated from one query until then). Right, on
demand (and after each evaluation): fit and predict time measured on growing slices of the training
set. Predicting the test set is estimated from a sample of test images (one-time set-up + time per
image x test-set size, see :func:`measure_scaling`), so both curves answer "how long for the whole
job": memorising stays small, predicting grows steeply with the training set.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from core.knn import KNearestNeighbor
from gui.knn_plots import ThemedPlot, format_seconds, style_plot, text_color
from gui.knn_session import sparing
from gui.theme import STYLE_NORMAL

__all__ = ["TimingView", "measure_scaling"]

_FIT, _TEST = "#1f77b4", "#d62728"
_TEST_DOT = f"<span style='color:{_TEST}'>●</span>"
_FIT_DOT = f"<span style='color:{_FIT}'>●</span>"
_SCALING_HINT = (f"{_TEST_DOT} test: predict all test images &nbsp; {_FIT_DOT} train: fit<br>"
                 "Measure how fit and predict times grow with the number of training images.")


def measure_scaling(X_train, y_train, X_test, metric: str, k: int, ctx, *, n_points: int = 5, n_queries: int = 300):
    """Time ``fit`` and predicting the whole test set on ``n_points`` growing slices of the training
    set (worker thread).

    This is the lecture's kNN (``algorithm="brute"``: every test image is compared with every
    training image) at every size -- the evaluation itself may take core's faster exact shortcut for
    large training sets, which would put a step into the curve where it switches. Predicting all
    ``len(X_test)`` images is estimated from a sample of ``n_queries``; a first prediction on a
    fitted model may include one-time set-up, so it is timed apart from a second, repeated one:
    estimate = set-up + per-image time x number of test images.
    Emits ``(n_train, fit_seconds, predict_all_seconds)`` after each slice.
    """
    n, n_test = X_train.shape[0], X_test.shape[0]
    sizes = np.unique(np.linspace(max(k, n // 2 ** (n_points - 1)), n, n_points).astype(int))
    q = X_test[:min(n_queries, n_test)]
    out = []
    for i, m in enumerate(sizes):
        repeats = 3      # best of 3: a busy machine only ever makes a run slower
        t_fit = t_first = t_again = np.inf
        for _ in range(repeats):
            ctx.check()
            t0 = time.perf_counter()
            model = KNearestNeighbor(k=k, metric=metric, algorithm="brute").fit(X_train[:m], y_train[:m])
            t_fit = min(t_fit, time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.predict(q, k=min(k, int(m)), cancel=ctx.cancelled)
            t_first = min(t_first, time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.predict(q, k=min(k, int(m)), cancel=ctx.cancelled)
            t_again = min(t_again, time.perf_counter() - t0)
        setup = max(0.0, t_first - t_again)
        out.append((int(m), t_fit, setup + t_again / q.shape[0] * n_test))
        ctx.emit(out[-1])
        ctx.progress(i + 1, len(sizes), f"Timed {m:,} training images")
    return out


class TimingView(QtWidgets.QWidget):
    """Fit vs predict time bars, and (on demand) time vs training-set size."""

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.session = None
        self.k, self.metric_name = 5, "l2"
        self.fit_seconds = 0.0
        self.test_seconds: float | None = None
        self.test_estimated = True
        self.points: list[tuple[int, float, float]] = []
        self._style = STYLE_NORMAL

        self.bars_plot = ThemedPlot()
        self.bars_plot.setObjectName("train_test_bars")
        bp = self.bars_plot.plotItem
        bp.setTitle("Train time vs test time")
        bp.setLabel("left", "time", units="s")
        bp.setMenuEnabled(False)
        bp.hideButtons()
        bp.setMouseEnabled(x=False, y=False)
        bp.getAxis("bottom").setTicks([[(0, "train (fit)"), (1, "test (predict all)")]])
        self.bars = pg.BarGraphItem(x=[0, 1], height=[0, 0], width=0.6, brushes=[_FIT, _TEST])
        bp.addItem(self.bars)
        self.bar_texts = [pg.TextItem("", anchor=(0.5, 1.05)) for _ in range(2)]
        for t in self.bar_texts:
            bp.addItem(t)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("timing_summary")
        self.summary.setWordWrap(True)

        self.scale_plot = ThemedPlot()
        self.scale_plot.setObjectName("timing_scaling_plot")
        self.scale_plot.setMinimumHeight(130)
        sp = self.scale_plot.plotItem
        sp.setTitle("Time vs training-set size")
        sp.setLabel("bottom", "training images")
        sp.setLabel("left", "time", units="s")
        sp.setMenuEnabled(False)
        self.fit_curve = sp.plot([], [], pen=pg.mkPen(_FIT, width=2), symbol="o", symbolBrush=_FIT,
                                 name="train: fit (memorise)")
        self.pred_curve = sp.plot([], [], pen=pg.mkPen(_TEST, width=2), symbol="o", symbolBrush=_TEST,
                                  name="test: predict the whole test set")
        self.scaling_label = QtWidgets.QLabel(_SCALING_HINT)
        self.scaling_label.setObjectName("scaling_label")
        self.scaling_label.setWordWrap(True)
        self.measure_button = QtWidgets.QPushButton("Measure: time vs training-set size")
        self.measure_button.setObjectName("measure_timing_button")

        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.bars_plot, 1)
        left.addWidget(self.summary)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.scale_plot, 1)
        right.addWidget(self.scaling_label)
        right.addWidget(self.measure_button)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(left, 1)
        lay.addLayout(right, 1)
        self.measure_button.clicked.connect(self.measure)
        for plot in (self.bars_plot.plotItem, self.scale_plot.plotItem):
            style_plot(plot, self._style)

    # -- inputs ---------------------------------------------------------------------------
    def set_session(self, session) -> None:
        self.runner.cancel("knn-timing")
        self.session = session
        self.fit_seconds = 0.0 if session is None else session.fit_seconds.get(self.metric_name, 0.0)
        self.test_seconds, self.test_estimated = None, True
        self.points = []
        self.fit_curve.setData([], [])
        self.pred_curve.setData([], [])
        self.scaling_label.setText(_SCALING_HINT)
        self.measure_button.setEnabled(session is not None)
        self._paint()

    def set_k_metric(self, k: int, metric: str) -> None:
        if metric != self.metric_name and self.test_estimated:
            self.test_seconds = None
        self.k, self.metric_name = k, metric
        if self.session is not None:
            self.fit_seconds = self.session.fit_seconds.get(metric, 0.0)
        self._paint()

    def set_query_seconds(self, seconds: float, metric: str) -> None:
        """One test image took ``seconds``: estimate the whole test set (until measured)."""
        if self.session is not None and self.test_estimated and metric == self.metric_name:
            self.test_seconds = seconds * self.session.dataset.n_test
            self._paint()

    def set_test_seconds(self, seconds: float) -> None:
        """Measured by a full evaluation."""
        self.test_seconds, self.test_estimated = float(seconds), False
        self._paint()

    # -- measuring ----------------------------------------------------------------------------
    def measure(self) -> None:
        s = self.session
        if s is None:
            return
        self.points = []
        self.fit_curve.setData([], [])
        self.pred_curve.setData([], [])
        metric = self.metric_name
        X, y, Xt, k = s.train_features[metric], s.dataset.y_train, s.test_features[metric], min(self.k, s.k_max)
        self.runner.start("knn-timing", sparing(lambda ctx: measure_scaling(X, y, Xt, metric, k, ctx)),
                          label="Timing fit and predict", on_partial=self._on_point, on_result=self._on_done)

    def _on_point(self, point) -> None:
        self.points.append(point)
        n = np.array([p[0] for p in self.points], float)
        self.fit_curve.setData(n, np.array([p[1] for p in self.points]))
        self.pred_curve.setData(n, np.array([p[2] for p in self.points]))

    def _on_done(self, points) -> None:
        if len(points) >= 2:
            n_test = self.session.dataset.n_test if self.session is not None else 1
            n0, f0, p0 = points[0]
            n1, f1, p1 = points[-1]
            self.scaling_label.setText(
                f"{n0:,} → {n1:,} training images: {_TEST_DOT} predicting the {n_test:,} test images "
                f"<b>{format_seconds(p0)} → {format_seconds(p1)}</b> (each against every training "
                f"image); {_FIT_DOT} fit {format_seconds(f0)} → {format_seconds(f1)}."
                + self._shortcut_note(n1, p1))

    def _shortcut_note(self, n_train: int, brute_seconds: float) -> str:
        """Why a measured evaluation can beat the brute-force curve (explain every number on screen)."""
        s = self.session
        if (s is None or self.test_estimated or not self.test_seconds or n_train != s.dataset.n_train
                or brute_seconds < 1.3 * self.test_seconds):
            return ""
        if self.metric_name == "l1":
            self.scaling_label.setToolTip(
                "For L1 on many images the app first compares quarter-size copies of the images: every 4 "
                "neighbouring numbers (colours of a pixel and the next) added up and divided by 4. Four "
                "times the copies' L1 distance, minus 3 per group, is never more than the real distance, "
                "which rules out most training images without a full distance. The neighbours are "
                "exactly the same as comparing with every image.")
            how = "L1 first rules most images out with quarter-size copies"
        else:
            self.scaling_label.setToolTip(
                "For L2 on many images the app first compares short summaries of the images: 261 numbers "
                "each, the main directions of four horizontal bands of the image and how much each band "
                "leaves out. They give a lower bound on every distance, which rules out most training "
                "images without a full distance. The neighbours are exactly the same as comparing with "
                "every image.")
            how = "L2 first rules most images out with short summaries"
        return (f"<br>The evaluation took <b>{format_seconds(self.test_seconds)}</b>: {how} "
                "(same neighbours; hover for how).")

    # -- drawing --------------------------------------------------------------------------------
    def _paint(self) -> None:
        fit = self.fit_seconds
        test = self.test_seconds or 0.0
        self.bars.setOpts(x=[0, 1], height=[fit, test], width=0.6, brushes=[_FIT, _TEST])
        top = max(test, fit, 1e-6)
        self.bars_plot.plotItem.setYRange(0, top * 1.2, padding=0)
        for t, x, v in zip(self.bar_texts, (0, 1), (fit, test)):
            t.setColor(text_color())
            t.setText(format_seconds(v) if (v or x == 0) and self.session is not None else "")
            t.setPos(x, v)
        if self.session is None:
            self.summary.setText("")
            return
        ds = self.session.dataset
        train = f"<b>train: {format_seconds(fit)}</b> (fit only memorises the {ds.n_train:,} images)"
        if self.test_seconds is None:
            test = "<b>test:</b> pick a test image or evaluate to measure it"
        else:
            approx = "≈ " if self.test_estimated else ""
            per = self.test_seconds / max(ds.n_test, 1)
            how = ("estimated from one query searched on its own; evaluating them all at once shares "
                   "work and is faster" if self.test_estimated else "measured")
            test = (f"<b>test: {approx}{format_seconds(self.test_seconds)}</b> for {ds.n_test:,} images "
                    f"({format_seconds(per)} each, {how}: every test image is compared with all "
                    f"{ds.n_train:,} training images)")
        self.summary.setText(f"{train}<br>vs {test}")

    def set_style(self, style) -> None:
        self._style = style
        self.scale_plot.setMinimumHeight(max(130, 11 * style.plot_font_pt))   # title and axes grow too
        for plot in (self.bars_plot.plotItem, self.scale_plot.plotItem):
            style_plot(plot, style)
        for c in (self.fit_curve, self.pred_curve):
            c.setPen(pg.mkPen(c.opts["pen"].color(), width=style.line_width))
            c.setSymbolSize(style.marker_size)
        font = QtGui.QFont()
        font.setPointSize(style.plot_font_pt)
        for t in self.bar_texts:
            t.setFont(font)

    def export_targets(self) -> dict:
        return {"Nearest neighbour: train vs test time": self.bars_plot.plotItem,
                "Nearest neighbour: time vs training-set size": self.scale_plot.plotItem}

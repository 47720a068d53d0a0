"""2D Playground: the CS231n web demos and more -- toy points, a hand-editable linear classifier with
its decision regions, zero-score lines and W rows, gradient steps on the exact project loss, and kNN
regions with their vote ties.

The workspace owns the state (points ``X`` (N, 2), labels ``y``, ``W`` (C, 2), ``b`` (C,)) and wires
the canvas (:mod:`gui.playground_canvas`), the controls (:mod:`gui.playground_controls`) and the
per-point table (:mod:`gui.playground_table`). All arithmetic is in core: ``core.datasets.make_toy2d``,
``core.playground.evaluate`` / ``gradient_step`` (data loss from ``core.losses`` + λ·R from
``core.regularization``, so the L2 gradient is the exact 2λW) and ``core.regions``.

Repaints are coalesced: every change marks the view dirty and a single-shot timer repaints at most
every 16 ms (≤ 60 Hz). A repaint of 50 points on the 200 x 200 grid takes a few ms
(``benchmarks/bench_regions.py``); the time of the last one is shown under the plot.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from core.datasets import make_toy2d
from core.playground import evaluate, gradient_step, random_params
from core.regions import knn_region_grid, linear_region_grid, region_rgba, weight_arrow, zero_score_line
from gui.playground_canvas import PlaygroundCanvas
from gui.playground_controls import PlaygroundControls
from gui.playground_table import PointTable
from gui.theme import class_colors, style_for
from gui.workspace import Workspace

__all__ = ["Playground2D"]

RESOLUTION = 200
REPAINT_MS = 16          # coalesced repaint: at most ~60 Hz
PLAY_MS = 30             # one gradient step per tick while playing (~33 steps/s)
MAX_POINTS = 1000


class Playground2D(Workspace):
    """Toy 2-D data, a linear classifier you can edit and train step by step, and kNN regions."""

    title = "2D Playground"

    def __init__(self, runner, parent=None):
        super().__init__(runner, parent)
        self.X = np.zeros((0, 2))
        self.y = np.zeros(0, dtype=np.int64)
        self.n_classes = 3
        self.W = np.zeros((3, 2))
        self.b = np.zeros(3)
        self.iteration = 0
        self.parts = None                 # core.playground.PlaygroundLoss of the current W, b
        self.last_paint_ms = 0.0           # the last repaint_now (points, table, read-outs, regions if needed)
        self.last_regions_ms = 0.0         # the last region computation + colouring + upload
        self.tie_fraction = 0.0
        self._region_key = None           # what the regions on screen were computed for
        self._rng = np.random.default_rng(0)

        self.canvas = PlaygroundCanvas()
        self.controls = PlaygroundControls()
        self.table = PointTable()
        self.timing = QtWidgets.QLabel()
        self.timing.setObjectName("repaint_timing")
        self.timing.setStyleSheet("color: gray;")
        self.caption = QtWidgets.QLabel()
        self.caption.setObjectName("canvas_caption")
        self.caption.setWordWrap(True)

        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.caption)
        left.addWidget(self.canvas, 1)
        left.addWidget(self.timing)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.controls)
        right.addWidget(scroll)
        right.addWidget(self.table)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setChildrenCollapsible(False)
        self.right = right
        self._controls_scroll = scroll
        lay = QtWidgets.QHBoxLayout(self)
        lay.addLayout(left, 3)
        lay.addWidget(right, 2)

        self._repaint_timer = QtCore.QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(REPAINT_MS)
        self._repaint_timer.timeout.connect(self.repaint_now)
        # Play runs on the GUI thread: a step is a (N, 2) x (2, C) product on <= 1000 points
        # (microseconds) and the coalesced repaint a few ms, so a 30 ms timer never blocks the UI;
        # a worker thread would only add copying and stale-state races for no gain.
        self._play_timer = QtCore.QTimer(self)
        self._play_timer.setInterval(PLAY_MS)
        self._play_timer.timeout.connect(self.step)

        c = self.canvas
        c.point_added.connect(self.add_point)
        c.point_moved.connect(self.move_point)
        c.point_removed.connect(self.remove_point)
        c.vb.sigRangeChanged.connect(lambda *_: self.schedule_repaint())
        k = self.controls
        k.data_changed.connect(self.generate)
        k.clear_requested.connect(self.clear_points)
        k.mode_changed.connect(self._on_mode)
        k.param_edited.connect(self.set_param)
        k.hyper_changed.connect(self.schedule_repaint)
        k.step_requested.connect(self.step)
        k.play_toggled.connect(self.set_playing)
        k.randomize_requested.connect(self.randomize)
        k.knn_changed.connect(self.schedule_repaint)
        k.display_changed.connect(self.schedule_repaint)
        self.table.point_selected.connect(lambda i: self.canvas.set_highlight(None if i < 0 else i))

        self.set_presentation(False)
        self.generate()
        self.repaint_now()

    # -- data --------------------------------------------------------------------------------------
    def generate(self) -> None:
        """New toy points from the data controls; W restarts at a seeded random value."""
        k = self.controls
        n_classes = k.classes.value()
        try:
            X, y = make_toy2d(k.kind.currentData(), n_classes, k.per_class.value(), k.noise.value(),
                              random_state=k.seed.value())
        except (ValueError, TypeError) as exc:
            self.status_message.emit(str(exc), 5000)
            return
        self.X, self.y = X[:MAX_POINTS], y[:MAX_POINTS]
        if n_classes != self.n_classes or self.W.shape[0] != n_classes:
            self.n_classes = n_classes
            self.controls.set_n_classes(n_classes)
        self._rng = np.random.default_rng(k.seed.value())
        self.W, self.b = random_params(self.n_classes, 1.0, self._rng)
        self.iteration = 0
        self.controls.set_params(self.W, self.b)
        self._fit_view()
        self._points_changed()

    def _fit_view(self) -> None:
        if len(self.X):
            lo, hi = self.X.min(axis=0), self.X.max(axis=0)
            half = max(1.2, float(np.abs(np.concatenate([lo, hi])).max()) * 1.15)
        else:
            half = 1.2
        self.canvas.set_limits((-half, half), (-half, half))

    def add_point(self, x: float, y: float) -> None:
        if len(self.X) >= MAX_POINTS:
            self.status_message.emit(f"at most {MAX_POINTS} points", 4000)
            return
        self.X = np.vstack([self.X, [[x, y]]])
        self.y = np.append(self.y, self.controls.paint_class()).astype(np.int64)
        self._points_changed()

    def move_point(self, i: int, x: float, y: float) -> None:
        if 0 <= i < len(self.X):
            self.X = self.X.copy()
            self.X[i] = (x, y)
            self._points_changed()

    def remove_point(self, i: int) -> None:
        if 0 <= i < len(self.X):
            self.X = np.delete(self.X, i, axis=0)
            self.y = np.delete(self.y, i)
            self.canvas.set_highlight(None)
            self._points_changed()

    def clear_points(self) -> None:
        self.X = np.zeros((0, 2))
        self.y = np.zeros(0, dtype=np.int64)
        self._points_changed()

    def _points_changed(self) -> None:
        self.canvas.set_points(self.X, self.y, self.n_classes)
        self.controls.set_k_max(len(self.X))
        self.schedule_repaint()

    # -- linear classifier -------------------------------------------------------------------------
    def set_param(self, c: int, j: int, value: float) -> None:
        """One entry edited by hand: ``W[c, j]`` for j = 0, 1 or ``b[c]`` for j = 2."""
        if j < 2:
            self.W[c, j] = value
        else:
            self.b[c] = value
        self.schedule_repaint()

    def set_params(self, W, b) -> None:
        self.W = np.array(W, dtype=float).reshape(self.n_classes, 2)
        self.b = np.array(b, dtype=float).reshape(self.n_classes)
        self.controls.set_params(self.W, self.b)
        self.schedule_repaint()

    def randomize(self) -> None:
        self.W, self.b = random_params(self.n_classes, 1.0, self._rng)
        self.iteration = 0
        self.controls.set_params(self.W, self.b)
        self.schedule_repaint()

    def step(self) -> None:
        """One full-batch gradient step with the controls' loss, λ, penalty and step size."""
        h = self.controls.hyper()
        try:
            W, b, _parts = gradient_step(self.W, self.b, self.X, self.y, h["loss"], h["reg"], h["penalty"],
                                         h["step_size"], h["delta"])
        except ValueError as exc:
            self.set_playing(False)
            self.status_message.emit(str(exc), 5000)
            return
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            self.set_playing(False)
            self.status_message.emit("the step diverged (W became inf/NaN); lower the step size", 6000)
            return
        self.W, self.b = W, b
        self.iteration += 1
        self.schedule_repaint()

    def set_playing(self, on: bool) -> None:
        if on and self.controls.mode() != "linear":
            on = False
        if on:
            self._play_timer.start()
        else:
            self._play_timer.stop()
        self.controls.set_playing(on)

    def is_playing(self) -> bool:
        return self._play_timer.isActive()

    def _on_mode(self, mode: str) -> None:
        if mode != "linear":
            self.set_playing(False)
        self.table.setVisible(mode == "linear")
        self.schedule_repaint()

    # -- painting ----------------------------------------------------------------------------------
    def schedule_repaint(self) -> None:
        """Mark dirty; the single-shot timer paints the latest state (coalescing bursts of edits)."""
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def repaint_now(self) -> None:
        self._repaint_timer.stop()
        t0 = time.perf_counter()
        xlim, ylim = self.canvas.view_limits()
        colors = np.array([c.getRgb()[:3] for c in class_colors(self.n_classes)])
        bg = self.canvas.palette().color(QtGui.QPalette.ColorRole.Base).getRgb()[:3]
        if self.controls.mode() == "linear":
            self._paint_linear(xlim, ylim, colors, bg)
        else:
            self._paint_knn(xlim, ylim, colors, bg)
        self.last_paint_ms = 1e3 * (time.perf_counter() - t0)
        self.timing.setText(f"last frame {self.last_paint_ms:.1f} ms (regions {self.last_regions_ms:.1f} ms, "
                            f"{RESOLUTION}×{RESOLUTION} grid) · {len(self.X)} points")

    def _regions_current(self, key) -> bool:
        """True if the regions on screen were computed for ``key`` (e.g. a point moved but W did not)."""
        if key == self._region_key:
            return True
        self._region_key = key
        return False

    def _paint_linear(self, xlim, ylim, colors, bg) -> None:
        k = self.controls
        key = ("linear", self.W.tobytes(), self.b.tobytes(), xlim, ylim, bg, self.n_classes,
               k.show_lines.isChecked(), k.show_arrows.isChecked())
        if not self._regions_current(key):
            t0 = time.perf_counter()
            labels, _scores = linear_region_grid(self.W, self.b, xlim, ylim, RESOLUTION)
            self.canvas.set_regions(region_rgba(labels, colors, 0.4, background=bg), xlim, ylim)
            span = min(xlim[1] - xlim[0], ylim[1] - ylim[0])
            segs = [zero_score_line(self.W[c], self.b[c], xlim, ylim) if k.show_lines.isChecked() else None
                    for c in range(self.n_classes)]
            arrows = [weight_arrow(self.W[c], self.b[c], xlim, ylim, 0.12 * span) if k.show_arrows.isChecked()
                      else None for c in range(self.n_classes)]
            self.canvas.set_lines(segs, arrows)
            self.last_regions_ms = 1e3 * (time.perf_counter() - t0)
        h = k.hyper()
        self.parts = evaluate(self.W, self.b, self.X, self.y, h["loss"], h["reg"], h["penalty"], h["delta"])
        k.set_params(self.W, self.b)
        k.show_loss(self.parts.data, self.parts.reg, self.parts.total, self.iteration, len(self.X))
        self.table.model_.set_data(self.X, self.y, self.parts.scores, self.parts.per_example, self.n_classes)
        self.caption.setText("Regions: the class with the highest score <i>s = Wx + b</i>. Dashed: each class's "
                             "zero-score line <i>s<sub>c</sub>(x) = 0</i>; arrows: the direction of each row "
                             "<i>W[c]</i> (that class's score grows that way).")

    def _paint_knn(self, xlim, ylim, colors, bg) -> None:
        k = self.controls
        if len(self.X) == 0:
            self._region_key = None
            self.canvas.set_lines([], [])
            self.canvas.set_regions(None, xlim, ylim)
            k.knn_info.setText("Add points to see kNN regions.")
            return
        kk = min(k.k.value(), len(self.X))
        shown = k.show_ties.isChecked()
        key = ("knn", self.X.tobytes(), self.y.tobytes(), kk, k.metric_combo.currentData(), shown, xlim, ylim,
               bg, self.n_classes)
        if not self._regions_current(key):
            t0 = time.perf_counter()
            self.canvas.set_lines([], [])
            labels, tied = knn_region_grid(self.X, self.y, kk, k.metric_combo.currentData(), xlim, ylim,
                                           RESOLUTION, self.n_classes)
            self.tie_fraction = float(tied.mean())
            self.canvas.set_regions(region_rgba(labels, colors, 0.4, tied=tied if shown else None, background=bg),
                                    xlim, ylim)
            self.last_regions_ms = 1e3 * (time.perf_counter() - t0)
        self.table.model_.set_data(self.X, self.y, None, None, self.n_classes)
        k.knn_info.setText(f"k = {kk}, {k.metric_combo.currentText()}: {100 * self.tie_fraction:.1f}% of the view is a "
                           "vote tie" + (" (hatched)." if shown else "."))
        self.caption.setText("Regions: the majority class of the k nearest points (the points are the "
                             "memorised training set). Hatched grey: a vote tie, settled by the tie rule.")

    # -- workspace hooks ---------------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        style = style_for(on)
        font = QtGui.QFont(self.font())
        font.setPointSize(style.font_pt)
        self.setFont(font)
        self.canvas.apply_style(style)
        self.controls.apply_style(style)
        self.table.apply_font(style.font_pt)
        self._region_key = None
        QtCore.QTimer.singleShot(0, self._split_right)
        self.schedule_repaint()

    def _split_right(self) -> None:
        """Give the controls the height they need (no scrolling for Step/Play), the table the rest."""
        total = self.right.height()
        need = self.controls.sizeHint().height() + 4
        if total > 0:
            self.right.setSizes([min(need, max(total - 120, total // 2)), max(120, total - need)])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        QtCore.QTimer.singleShot(0, self._split_right)     # after the layout has sized the splitter

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """A theme change (new palette) recolours the plot and the regions' background blend."""
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.PaletteChange and hasattr(self, "canvas"):
            self.canvas.apply_style(style_for(self.presentation))
            self._region_key = None
            self.schedule_repaint()

    def shutdown(self) -> None:
        self.set_playing(False)
        self._repaint_timer.stop()

    def export_targets(self) -> dict[str, Any]:
        return {"2D playground": self.canvas.getPlotItem()}

    def table_for_export(self):
        return self.table.model_.rows()

    def save_settings(self, settings: QtCore.QSettings) -> None:
        k = self.controls
        for key, value in (("kind", k.kind.currentData()), ("classes", k.classes.value()),
                           ("per_class", k.per_class.value()), ("noise", k.noise.value()),
                           ("seed", k.seed.value()), ("mode", k.mode()), ("loss", k.loss.currentData()),
                           ("penalty", k.penalty.currentData()), ("reg", k.reg.value()),
                           ("step_size", k.step_size.value()), ("k", k.k.value()),
                           ("metric", k.metric_combo.currentData())):
            settings.setValue(f"playground/{key}", value)

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        k = self.controls

        def get(key, cast, default):
            try:
                return cast(settings.value(f"playground/{key}", default))
            except (TypeError, ValueError):
                return default

        for combo, key in ((k.kind, "kind"), (k.loss, "loss"), (k.penalty, "penalty"), (k.metric_combo, "metric")):
            i = combo.findData(get(key, str, ""))
            if i >= 0:
                combo.setCurrentIndex(i)
        for spin, key, cast in ((k.classes, "classes", int), (k.per_class, "per_class", int),
                                (k.noise, "noise", float), (k.seed, "seed", int), (k.reg, "reg", float),
                                (k.step_size, "step_size", float)):
            spin.setValue(get(key, cast, spin.value()))
        k.k.setMaximum(max(k.k.maximum(), 1000))
        k.k.setValue(get("k", int, k.k.value()))
        k.set_k_max(len(self.X))
        k.mode_tabs.setCurrentIndex(1 if get("mode", str, "linear") == "knn" else 0)

"""Live training curves: loss per iteration (data, λ·R(W), total smoothed; the total's raw per-minibatch values as
a faint band) and accuracy per epoch.

The widget only paints: the numbers live in :class:`gui.train_history.History` buffers (one per model,
filled from ``core.training.Record`` objects). :meth:`LossCurves.refresh` is called by the workspace's
repaint timer (~10 Hz) and hands the buffers to the loss lines; nothing here runs per training iteration.
Drawing stays cheap on long runs: every loss line in one item (:class:`gui.loss_lines.LossLines`, one paint,
~1 point per pixel), no antialiasing, axis ranges that change in steps, the legend outside the view box,
outward ticks. The pieces -- colours, the per-model curves, the axis-range policy
(:class:`gui.loss_curve_parts.FollowingView`) and the hover readout's text -- live in
:mod:`gui.loss_curve_parts`; this module is the widget: its plots and toolbar, the divergence markers and
sanity-check lines, presentation mode and export.

Colours: one colour per model (hinge orange, softmax blue), so the two models of compare mode read apart;
line style tells the series apart (total solid, data loss dashed, λ·R dotted).
"""
from __future__ import annotations

import csv
import io
import os

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.fileio import write_text_atomic
from gui.loss_lines import Line, LossLines
from gui.loss_curve_parts import (MODEL_COLORS, SERIES, FloatingReadout, FollowingView, IntegerAxis, ModelCurves, hover_readout,
                                  entry_widths, model_color, place_accuracy_legend, plot_background, raw_band,
                                  restart_accuracy_view)
from gui.theme import style_for

__all__ = ["LossCurves", "MODEL_COLORS", "SERIES", "model_color", "plot_background"]


class LossCurves(QtWidgets.QWidget):
    """Loss plot (per iteration) above an accuracy plot (per epoch), with a small toolbar.

    Call :meth:`set_models` when the set of models changes, :meth:`refresh` with the history buffers
    to repaint, :meth:`mark_divergence` when training stopped on an overflow, :meth:`set_expected`
    for the sanity-check reference lines.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._style = style_for(False)
        self._curves: dict[str, ModelCurves] = {}
        self._legend_samples: list[pg.PlotDataItem] = []
        self._acc_samples: list[pg.PlotDataItem] = []
        self._presentation_on = False
        self._histories: dict = {}
        self._markers: list[pg.InfiniteLine] = []
        self._expected: dict[str, pg.InfiniteLine] = {}
        self._expected_values: dict[str, float] = {}

        bg, fg = plot_background(self)
        # the loss legend sits in its own row above the plot, so repainting the curves ~10x a second
        # does not repaint it; the whole layout (legend + plot) is what "Export" saves
        self.loss_widget = pg.GraphicsLayoutWidget()
        self.loss_widget.setBackground(bg)
        self.loss_title = pg.LabelItem("Loss per iteration", color=fg, size="11pt")
        self.loss_widget.addItem(self.loss_title, row=0, col=0)
        self.loss_legend = pg.LegendItem(labelTextColor=fg, colCount=3, verSpacing=-6)
        self.loss_widget.addItem(self.loss_legend, row=1, col=0)
        self.loss_plot: pg.PlotItem = self.loss_widget.addPlot(row=2, col=0)
        self.loss_widget.ci.layout.setRowStretchFactor(2, 10)
        self.loss_widget.ci.layout.setSpacing(0)
        self.acc_widget = pg.PlotWidget(background=bg, axisItems={"bottom": IntegerAxis("bottom")})
        self.acc_plot: pg.PlotItem = self.acc_widget.getPlotItem()
        for plot, title, xl, yl in ((self.loss_plot, None, "iteration", "loss"),
                                    (self.acc_plot, "Accuracy per epoch", "epoch", "accuracy (%)")):
            if title:
                plot.setTitle(title, color=fg)
            plot.setLabel("bottom", xl, color=fg)
            plot.setLabel("left", yl, color=fg)
            for ax in ("left", "bottom"):
                plot.getAxis(ax).setPen(fg)
                plot.getAxis(ax).setTextPen(fg)
                # ticks point outwards: an axis that reaches into the view is repainted with every curve update
                plot.getAxis(ax).setStyle(tickLength=5)
                # ... and an axis next to a changed curve is still repainted (~25 times a second while training):
                # kept as a pixmap, drawn again only when its ticks change (a blit instead of laying out text)
                plot.getAxis(ax).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        lb = QtGui.QColor(bg)
        lb.setAlpha(200)
        self.acc_legend = self.acc_plot.addLegend(offset=(10, 10), labelTextColor=fg, brush=lb)
        self.acc_plot.setYRange(0, 100)
        self.acc_plot.setLimits(yMin=-2, yMax=102)

        self.hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), width=1,
                                                                 style=QtCore.Qt.PenStyle.DashLine))
        self.hover_line.setVisible(False)
        self.loss_plot.addItem(self.hover_line, ignoreBounds=True)
        # every loss line of every model in one item: drawn in one paint, ``setData`` only stores the arrays
        self._lines = LossLines()
        self.loss_plot.addItem(self._lines)
        self.loss_plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        # x follows training in steps (0..10, 0..20, 0..50, ...) instead of auto-ranging every frame,
        # so the axis is not re-laid-out 10x a second; zooming by hand stops following, "A" resumes
        self._view = FollowingView(self.loss_plot.getViewBox())

        # toolbar
        self.series_boxes: dict[str, QtWidgets.QCheckBox] = {}
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for key, label, _ in SERIES:
            cb = QtWidgets.QCheckBox(label)
            cb.setChecked(True)
            cb.setObjectName(f"show_{key}")
            cb.toggled.connect(self._apply_visibility)
            self.series_boxes[key] = cb
            bar.addWidget(cb)
        self.raw_box = QtWidgets.QCheckBox("raw")
        self.raw_box.setObjectName("show_raw")
        self.raw_box.setToolTip("Show the raw per-minibatch values of the total loss (faint) under the smoothed "
                                "lines (of the data loss when the total is hidden)")
        self.raw_box.setChecked(True)
        self.raw_box.toggled.connect(self._apply_visibility)
        self.log_box = QtWidgets.QCheckBox("log y")
        self.log_box.setObjectName("log_y")
        self.log_box.toggled.connect(self.set_log_y)
        bar.addWidget(self.raw_box)
        bar.addWidget(self.log_box)
        bar.addStretch(1)
        self.png_button = QtWidgets.QPushButton("PNG…")
        self.png_button.setToolTip("Export the loss and accuracy plots as PNG images")
        self.csv_button = QtWidgets.QPushButton("CSV…")
        self.csv_button.setToolTip("Export the training history (every iteration) as CSV")
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button.clicked.connect(self._ask_csv)
        bar.addWidget(self.png_button)
        bar.addWidget(self.csv_button)

        self.readout = FloatingReadout(self.loss_widget, on_leave=lambda: self.hover_line.setVisible(False))

        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.loss_widget)
        split.addWidget(self.acc_widget)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self._split = split
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        #: a function returning (header, rows) for "Export CSV" (set by the workspace)
        self.table_source = None

    # ------------------------------------------------------------------ models and data
    def set_models(self, names: list[str]) -> None:
        """Create one set of curves per model (removes the old ones and all markers)."""
        for c in self._curves.values():
            for item in c.items:
                self.acc_plot.removeItem(item)
        self._lines.clear()
        self.loss_legend.clear()
        self.acc_legend.clear()
        self._curves = {n: ModelCurves(n, self._lines, self.acc_plot, self._style.line_width) for n in names}
        # legend = colour per model + line style per series (short, so it fits on a projector too)
        _, fg = plot_background(self)
        grey = QtGui.QColor(fg)
        grey.setAlpha(170)
        self._legend_samples = [pg.PlotDataItem(pen=pg.mkPen(model_color(n), width=self._style.line_width))
                                for n in names]
        self._legend_samples += [pg.PlotDataItem(pen=pg.mkPen(grey, width=self._style.line_width, style=st))
                                 for _, _, st in SERIES]
        for item, label in zip(self._legend_samples, list(names) + [lab for _, lab, _ in SERIES]):
            self.loss_legend.addItem(item, label)
        self._fit_legend()
        w = self._style.line_width
        self._acc_samples = [pg.PlotDataItem(pen=pg.mkPen(grey, width=w), symbol="o", symbolSize=7, symbolBrush=grey,
                                             symbolPen=None),
                             pg.PlotDataItem(pen=pg.mkPen(grey, width=w, style=QtCore.Qt.PenStyle.DashLine), symbol="s",
                                             symbolSize=7, symbolBrush=QtGui.QColor("white"),
                                             symbolPen=pg.mkPen(grey, width=1.5))]
        self._fill_accuracy_legend()
        self.clear_markers()
        self._histories = {}
        # a new run: both plots follow it again from the start, whatever the user zoomed or panned to
        self._view.restart()
        restart_accuracy_view(self.acc_plot)
        self.hover_line.setVisible(False)
        self.readout.hide()                      # no stale values from the old run
        self._apply_visibility()

    def model_names(self) -> list[str]:
        return list(self._curves)

    def curve(self, model: str, series: str, smoothed: bool = True) -> Line:
        """The line (:class:`gui.loss_lines.Line`) of ``series`` ("total", "data", "reg") for ``model`` (for tests
        and export)."""
        c = self._curves[model]
        return (c.smooth if smoothed else c.raw)[series]

    def accuracy_curve(self, model: str, split: str = "train") -> pg.PlotDataItem:
        c = self._curves[model]
        return c.train_acc if split == "train" else c.val_acc

    def refresh(self, histories: dict, *, accuracy: bool = True) -> None:
        """Repaint from ``{model: History}`` (called by the workspace's throttled timer).

        ``accuracy=False`` skips the accuracy plot (it changes only at epoch ends; the workspace
        refreshes it at ~1 Hz while training)."""
        series = self._shown_series()
        self._view.follow(histories, series, self.raw_box.isChecked(), self.log_box.isChecked(),
                          self._expected_values.values())
        self._histories = histories
        band = raw_band(series, self.raw_box.isChecked())
        moved = False
        for name, h in histories.items():
            c = self._curves.get(name)
            if c is None:
                continue
            x = h.column("iteration")
            for key, _, _ in SERIES:
                if not self.series_boxes[key].isChecked():
                    continue
                if key == band:                 # (a log axis is LossLines' business: it gets the losses)
                    c.raw[key].setData(x, h.column(key))
                c.smooth[key].setData(x, h.smoothed(key))
            if not accuracy:
                continue
            ep, tr, va = h.epoch_columns()
            if c.n_epochs != ep.size:          # the accuracy plot only changes at epoch ends
                c.n_epochs = ep.size
                c.train_acc.setData(ep, tr * 100.0)
                ok = np.isfinite(va)
                c.val_acc.setData(ep[ok], va[ok] * 100.0)
                moved = True
        if accuracy and moved:
            self._place_accuracy_legend()

    # ------------------------------------------------------------------ markers
    def clear_markers(self) -> None:
        for m in self._markers:
            self.loss_plot.removeItem(m)
        self._markers = []

    def markers(self) -> list[pg.InfiniteLine]:
        return list(self._markers)

    def mark_divergence(self, iteration: int, text: str) -> None:
        """A red vertical line where the loss overflowed."""
        line = pg.InfiniteLine(pos=iteration, angle=90, pen=pg.mkPen("#d00000", width=3),
                               label=text, labelOpts={"position": 0.85, "color": "#d00000",
                                                      "fill": (255, 255, 255, 200)})
        line.label.setFont(self._label_font())
        self.loss_plot.addItem(line, ignoreBounds=True)
        self._markers.append(line)

    def set_expected(self, values: dict[str, tuple[float, str]]) -> None:
        """Sanity-check reference lines: ``{model: (expected initial loss, label)}``."""
        for line in self._expected.values():
            self.loss_plot.removeItem(line)
        self._expected, self._expected_values = {}, {}
        # labels side by side, not above each other: on a log axis the two expected losses lie close together
        spots = [0.45] if len(values) < 2 else np.linspace(0.3, 0.65, len(values))
        for (name, (value, label)), spot in zip(values.items(), spots):
            col = QtGui.QColor(model_color(name))
            line = pg.InfiniteLine(angle=0, pen=pg.mkPen(col, width=1, style=QtCore.Qt.PenStyle.DashDotLine),
                                   label=label, labelOpts={"position": float(spot), "color": col,
                                                           "anchors": [(0.5, 0), (0.5, 0)]})
            line.label.setFont(self._label_font())
            self.loss_plot.addItem(line, ignoreBounds=True)
            self._expected[name] = line
            self._expected_values[name] = float(value)
        # text over the curves (no fill: a label must not hide a curve), the higher line's label over the lower line
        for rank, name in enumerate(sorted(self._expected_values, key=self._expected_values.get)):
            self._expected[name].setZValue(10 + rank)
        self._place_expected()

    def _label_font(self) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPointSize(max(8, self._style.plot_font_pt - 2))
        return f

    def expected_lines(self) -> dict[str, pg.InfiniteLine]:
        return dict(self._expected)

    def _place_expected(self) -> None:
        log = self.log_box.isChecked()
        for name, line in self._expected.items():
            v = self._expected_values[name]
            line.setPos(np.log10(v) if log and v > 0 else v)

    # ------------------------------------------------------------------ view options
    def set_log_y(self, on: bool) -> None:
        if self.log_box.isChecked() != bool(on):
            self.log_box.setChecked(bool(on))
            return
        self.loss_plot.setLogMode(x=False, y=bool(on))
        self._place_expected()
        self._view.following = True
        self.loss_plot.getViewBox().setYRange(0, 1, padding=0)   # forces a fresh y range below
        if self._histories:
            self.refresh(self._histories)

    def _shown_series(self) -> list[str]:
        return [k for k, box in self.series_boxes.items() if box.isChecked()]

    def _apply_visibility(self) -> None:
        band = raw_band(self._shown_series(), self.raw_box.isChecked())
        for c in self._curves.values():
            for key, box in self.series_boxes.items():
                c.smooth[key].setVisible(box.isChecked())
                c.raw[key].setVisible(key == band)
                if key != band:
                    c.raw[key].setData([], [])
        if self._histories:
            self.refresh(self._histories)

    def set_presentation(self, on: bool) -> None:
        """Bigger fonts and lines; on a projector the accuracy plot moves beside the loss plot (height matters)."""
        self._style = style_for(on)
        self._split.setOrientation(QtCore.Qt.Orientation.Horizontal if on else QtCore.Qt.Orientation.Vertical)
        total = max(2, self._split.width() if on else self._split.height())
        self._split.setSizes([int(total * (0.62 if on else 0.6)), int(total * (0.38 if on else 0.4))])
        font = QtGui.QFont()
        font.setPointSize(self._style.plot_font_pt)
        for plot in (self.loss_plot, self.acc_plot):
            for ax in ("left", "bottom"):
                plot.getAxis(ax).setStyle(tickFont=font)
                plot.getAxis(ax).label.setFont(font)
        self.acc_plot.titleLabel.setText(self.acc_plot.titleLabel.text, size=f"{self._style.plot_font_pt + 1}pt")
        for plot in (self.loss_plot, self.acc_plot):       # room for the last tick label on the right
            plot.setContentsMargins(0, 0, 16 if on else 6, 0)
        self.loss_title.setText(self.loss_title.text, size=f"{self._style.plot_font_pt + 1}pt")
        for c in self._curves.values():
            c.set_width(self._style.line_width)
        self._presentation_on = bool(on)
        for line in list(self._expected.values()) + self._markers:
            line.label.setFont(self._label_font())
        size = f"{self._style.plot_font_pt - 1}pt"
        self.loss_legend.setLabelTextSize(size)       # (for labels added later; the shown ones are re-rendered)
        for _sample, label in self.loss_legend.items:
            label.setText(label.text, size=size)
        self.loss_legend.updateSize()
        self.acc_legend.setLabelTextSize(size)
        self._fill_accuracy_legend()                  # its entries change with the mode: made anew, at that size
        self._fit_legend()
        self._place_accuracy_legend()

    def _fit_legend(self) -> None:
        """The loss legend on one row when it fits the plot's width, else (on a projector) in 3 columns."""
        widths = entry_widths(self.loss_legend)
        fits = not self._presentation_on or sum(widths) <= self.loss_widget.width() - 24
        self.loss_legend.setColumnCount(max(1, len(widths)) if fits else 3)

    def _fill_accuracy_legend(self) -> None:
        """One entry per model and split; on a projector, where the plot is narrow, just "train" and "val" in
        grey (the models' colours are in the loss legend beside it)."""
        self.acc_legend.clear()
        if self._presentation_on:
            for item, label in zip(self._acc_samples, ("train", "val")):
                self.acc_legend.addItem(item, label)
        else:
            for c in self._curves.values():
                self.acc_legend.addItem(c.train_acc, f"{c.name} train")
                self.acc_legend.addItem(c.val_acc, f"{c.name} val")

    def _place_accuracy_legend(self) -> None:
        items = [i for c in self._curves.values() for i in (c.train_acc, c.val_acc)]
        place_accuracy_legend(self.acc_legend, self.acc_plot.getViewBox(), items)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_legend()
        self._place_accuracy_legend()

    # ------------------------------------------------------------------ hover
    def _on_mouse_moved(self, pos) -> None:
        vb = self.loss_plot.getViewBox()
        if not self.loss_plot.sceneBoundingRect().contains(pos) or not self._histories:
            self.hover_line.setVisible(False)
            self.readout.hide()
            return
        x = vb.mapSceneToView(pos).x()
        self.show_readout(x)

    def show_readout(self, x: float) -> str:
        """Put the values nearest iteration ``x`` into the readout label; returns its text."""
        it_shown, text = hover_readout(self._histories, x)
        if it_shown is None:
            return ""
        self.hover_line.setPos(it_shown)
        self.hover_line.setVisible(True)
        self.readout.show_text(text, top=int(self._style.plot_font_pt * 7))
        return text

    # ------------------------------------------------------------------ export
    def export_png(self, path: str, which: str = "loss") -> None:
        """Save the loss (or accuracy) plot as a PNG through the app's exporter."""
        from gui.exporting import export_plot
        export_plot(self.loss_plot if which == "loss" else self.acc_plot, path, "png")

    def export_csv(self, path: str) -> None:
        """Write the history table (from ``table_source``) atomically."""
        if self.table_source is None:
            raise ValueError("there is no training history to export yet")
        header, rows = self.table_source()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        write_text_atomic(path, buf.getvalue())

    def _ask_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export loss plot", "loss_curves.png", "PNG (*.png)")
        if path:
            try:
                self.export_png(path)
                self.export_png(os.path.splitext(path)[0] + "_accuracy.png", which="accuracy")
            except (OSError, ValueError) as exc:
                QtWidgets.QMessageBox.warning(self, "Export failed", str(exc))

    def _ask_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export history", "history.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except (OSError, ValueError) as exc:
                QtWidgets.QMessageBox.warning(self, "Export failed", str(exc))

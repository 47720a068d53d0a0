"""The lecture's cross-validation figure: accuracy vs a hyperparameter, every fold a dot, the mean as
a line with ±1 std error bars, and the best value marked with a star.

Works with any :class:`core.model_selection.CVResult` (``values (K,)``, ``scores (K, F)``, ``mean``,
``std``, ``best_index``, ``param_name``); a single-split result (``F = 1``) draws no error bars.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui

from gui.knn_plots import ThemedPlot, style_plot, text_color
from gui.theme import STYLE_NORMAL

__all__ = ["CVPlot"]

_DOT, _LINE, _STAR = "#1f77b4", "#1f4e79", "#e6a700"


class CVPlot(ThemedPlot):
    """Accuracy (%) vs the hyperparameter; call :meth:`show_result` with a CVResult."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._style = STYLE_NORMAL
        p = self.plotItem
        p.setLabel("left", "accuracy (%)")
        p.setLabel("bottom", "k")
        p.showGrid(x=True, y=True, alpha=0.25)
        p.setMenuEnabled(False)
        self.legend = p.addLegend(offset=(-10, 10))
        self.fold_dots = pg.ScatterPlotItem(size=8, pen=pg.mkPen(None), brush=pg.mkBrush(31, 119, 180, 150),
                                            name="each fold")
        self.error_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0),
                                          beam=0.0, pen=pg.mkPen(_LINE, width=2))
        self.mean_line = pg.PlotDataItem([], [], pen=pg.mkPen(_LINE, width=2), symbol="o", symbolSize=7,
                                         symbolBrush=_LINE, name="mean ± std")
        self.best_star = pg.ScatterPlotItem(size=26, symbol="star", pen=pg.mkPen("k", width=1),
                                            brush=pg.mkBrush(_STAR), name="best")
        self.best_text = pg.TextItem("", anchor=(-0.15, 0.5))
        for item in (self.error_bars, self.fold_dots, self.mean_line, self.best_star, self.best_text):
            p.addItem(item)
        self.error_bars.setVisible(False)     # shown with a result (empty ones repaint endlessly)
        self.best_text.setVisible(False)
        self.result = None
        style_plot(p, self._style)

    def clear_result(self, message: str = "") -> None:
        self.result = None
        self.fold_dots.setData([], [])
        self.mean_line.setData([], [])
        self._no_error_bars()
        self.best_star.setData([], [])
        self.best_text.setText("")
        # empty error bars and text items make pyqtgraph 0.14 repaint endlessly (~15 Hz): hide them
        self.best_text.setVisible(False)
        self.plotItem.setTitle(message)

    def _no_error_bars(self) -> None:
        self.error_bars.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0), height=None)
        self.error_bars.setVisible(False)

    def show_result(self, result, *, title: str = "", ylabel: str = "accuracy (%)") -> None:
        """Draw ``result`` (a CVResult); accuracies are shown in percent."""
        self.result = result
        values = np.asarray(result.values, dtype=float)
        scores = np.asarray(result.scores, dtype=float) * 100
        mean = np.asarray(result.mean, dtype=float) * 100
        std = np.asarray(result.std, dtype=float) * 100
        folds = scores.shape[1]
        self.plotItem.setLabel("bottom", result.param_name)
        self.plotItem.setLabel("left", ylabel)
        self.fold_dots.setData(np.repeat(values, folds), scores.ravel())
        self.mean_line.setData(values, mean)
        if folds > 1:
            beam = 0.012 * float(values.max() - values.min() or 1.0)
            self.error_bars.setData(x=values, y=mean, top=std, bottom=std, beam=beam)
            self.error_bars.setVisible(True)
        else:
            self._no_error_bars()
        b = int(result.best_index)
        self.best_star.setData([values[b]], [mean[b]])
        self.best_text.setText(f"best {result.param_name} = {result.best_value:g}: {mean[b]:.1f}%")
        self.best_text.setColor(text_color())
        self.best_text.setVisible(True)
        lo = float(min(scores.min(), (mean - std).min()))
        hi = float(max(scores.max(), (mean + std).max()))
        pad = max(0.5, 0.08 * (hi - lo))
        # the label in the band above every dot and bar (the y range leaves 2 pads there), over the best k
        where = (values[b] - values.min()) / (float(values.max() - values.min()) or 1.0)
        self.best_text.setAnchor((0.0 if where < 0.2 else 1.0 if where > 0.8 else 0.5, 1.0))
        self.best_text.setPos(values[b], hi + 0.2 * pad)
        self.plotItem.setYRange(lo - pad, hi + 2 * pad, padding=0)
        span = float(values.max() - values.min()) or 1.0
        self.plotItem.setXRange(values.min() - 0.04 * span, values.max() + 0.04 * span, padding=0)
        self.plotItem.setTitle(title)
        self.legend.setVisible(True)

    def data(self) -> dict:
        """What is drawn (for tests and checks): fold dots, mean line, error bars, best star."""
        fx, fy = self.fold_dots.getData()
        mx, my = self.mean_line.getData()
        bx, by = self.best_star.getData()
        eb = self.error_bars.opts
        return {"fold_x": fx, "fold_y": fy, "mean_x": mx, "mean_y": my, "best_x": bx, "best_y": by,
                "err_top": eb.get("top"), "best_text": self.best_text.toPlainText()}

    def set_style(self, style) -> None:
        self._style = style
        style_plot(self.plotItem, style)
        w = style.line_width
        self.mean_line.setPen(pg.mkPen(_LINE, width=w))
        self.mean_line.setSymbolSize(style.marker_size)
        self.error_bars.setData(pen=pg.mkPen(_LINE, width=w))
        self.fold_dots.setSize(style.marker_size)
        self.best_star.setSize(style.marker_size * 3)
        font = QtGui.QFont()
        font.setPointSize(style.plot_font_pt)
        font.setBold(True)
        self.best_text.setFont(font)

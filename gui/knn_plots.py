"""Small plotting pieces shared by the nearest-neighbour panels (display only, no maths).

* :class:`ClassBars` -- horizontal bars, one per class, coloured by class, value written at the end
  (vote tally, per-class accuracy).
* :func:`style_plot` -- axis fonts and label sizes for normal / presentation mode.
* :func:`format_distance`, :func:`format_seconds`, :func:`page_bounds` -- text helpers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from gui.app_style import plot_colors
from gui.theme import STYLE_NORMAL

__all__ = ["ClassBars", "ThemedPlot", "style_plot", "recolor_texts", "text_color", "format_distance",
           "format_seconds", "page_bounds"]

_PALETTE_EVENTS = (QtCore.QEvent.Type.PaletteChange, QtCore.QEvent.Type.ApplicationPaletteChange)


def text_color() -> str:
    """Foreground colour for text drawn inside plots (follows the light/dark theme)."""
    return plot_colors()[1]


def format_distance(d: float) -> str:
    """``12,345`` for big distances, ``3.46`` for small ones."""
    d = float(d)
    if d >= 100:
        return f"{d:,.0f}"
    return f"{d:.3g}" if d >= 1 else f"{d:.2g}"


def format_seconds(s: float) -> str:
    s = float(s)
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{s / 60:.1f} min"


def page_bounds(page: int, size: int, n: int) -> tuple[int, int, int]:
    """``(first, stop, n_pages)`` of page ``page`` when ``n`` items are shown ``size`` at a time."""
    n_pages = max(1, -(-n // size))
    page = min(max(page, 0), n_pages - 1)
    return page * size, min(n, (page + 1) * size), n_pages


def style_plot(plot: pg.PlotItem, style=STYLE_NORMAL) -> None:
    """Axis tick fonts and label sizes for ``style`` (a :class:`gui.theme.Style`)."""
    font = QtGui.QFont()
    font.setPointSize(style.plot_font_pt)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setStyle(tickFont=font)
        ax.label.setFont(font)
    # the bottom axis does not grow by itself when its font grows: size it for the font
    fm = QtGui.QFontMetrics(font)
    bottom = plot.getAxis("bottom")
    has_label = bool(bottom.labelText) and bottom.label.isVisible()
    bottom.setHeight(int(fm.height() * (2.05 if has_label else 1.15)) + 12)
    # LabelItem keeps "size" in its opts, so later setTitle calls keep this size
    plot.titleLabel.opts["size"] = f"{style.plot_font_pt + 1}pt"
    plot.titleLabel.opts["color"] = text_color()
    plot.titleLabel.setText(plot.titleLabel.text)
    legend = plot.legend
    if legend is not None:
        legend.setLabelTextSize(f"{style.plot_font_pt}pt")
        legend.setLabelTextColor(text_color())
        for sample, label in legend.items:
            label.setText(label.text, size=f"{style.plot_font_pt}pt")


def recolor_texts(plot: pg.PlotItem) -> None:
    """Give the title, legend and every text item of ``plot`` the current theme's text colour."""
    fg = text_color()
    plot.titleLabel.opts["color"] = fg
    plot.titleLabel.setText(plot.titleLabel.text)
    if plot.legend is not None:
        plot.legend.setLabelTextColor(fg)
        for _, label in plot.legend.items:
            label.setText(label.text)            # setLabelTextColor alone does not redraw
    for item in plot.items:
        if isinstance(item, pg.TextItem):
            item.setColor(fg)
            if item.fill is not None and item.fill.style() != QtCore.Qt.BrushStyle.NoBrush:
                item.fill = pg.mkBrush(QtGui.QColor(plot_colors()[0]))


class ThemedPlot(pg.PlotWidget):
    """A PlotWidget whose texts follow light/dark theme changes (the window restyles axes and background)."""

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        plot = self.__dict__.get("plotItem")         # None while the PlotWidget is being built
        if event.type() in _PALETTE_EVENTS and isinstance(plot, pg.PlotItem):
            recolor_texts(plot)


class ClassBars(ThemedPlot):
    """One horizontal bar per class (class 0 on top) with its value written at the end."""

    def __init__(self, title: str = "", x_label: str = "", parent=None, *, percent: bool = False,
                 hide_zero: bool = False):
        super().__init__(parent)
        self.percent = percent
        self.hide_zero = hide_zero
        self.values = np.zeros(0)
        self.names: list[str] = []
        self._texts: list[pg.TextItem] = []
        self._style = STYLE_NORMAL
        self._highlight: int | None = None
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.plotItem.addItem(self.bars)
        self.plotItem.invertY(True)
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        self.plotItem.setMouseEnabled(x=False, y=False)
        self.plotItem.setLabel("bottom", x_label)
        self.plotItem.setTitle(title)
        self.setMinimumHeight(150)
        style_plot(self.plotItem, self._style)

    def set_title(self, title: str) -> None:
        self.plotItem.setTitle(title)

    def set_values(self, names: Sequence[str], values, colors, *, highlight: int | None = None) -> None:
        self.names = list(names)
        self.values = np.asarray(values, dtype=float)
        self._highlight = highlight
        n = len(self.names)
        if n:
            pens = [pg.mkPen("k", width=3) if i == highlight else pg.mkPen(None) for i in range(n)]
            self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), width=self.values, height=0.7,
                              brushes=[pg.mkBrush(c) for c in colors], pens=pens)
        else:   # (pyqtgraph 0.14 fails on empty pen lists)
            self.bars.setOpts(x0=np.zeros(0), y=np.zeros(0), width=np.zeros(0), height=0.7,
                              brushes=None, pens=None, brush="w", pen=None)
        for t in self._texts:
            self.plotItem.removeItem(t)
        self._texts = []
        for i, v in enumerate(self.values):
            text = f"{v:.0%}" if self.percent else f"{v:g}"
            if self.hide_zero and v == 0:
                text = ""
            t = pg.TextItem(" " + text, color=text_color(), anchor=(0, 0.5))
            t.setFont(self._font())
            t.setPos(v, i)
            self.plotItem.addItem(t)
            self._texts.append(t)
        left = self.plotItem.getAxis("left")
        step = max(1, n // 20)
        left.setTicks([[(i, self.names[i]) for i in range(0, n, step)]])
        hi = 1.0 if self.percent else max(1.0, float(self.values.max()) if n else 1.0)
        bottom = self.plotItem.getAxis("bottom")
        if self.percent:
            bottom.setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        else:
            step = max(1, int(np.ceil(hi / 8)))
            bottom.setTicks([[(v, str(v)) for v in range(0, int(hi) + 1, step)]])
        self.plotItem.setXRange(0, hi * 1.18, padding=0)
        self.plotItem.setYRange(-0.6, max(n, 1) - 0.4, padding=0)

    def texts(self) -> list[str]:
        return [t.toPlainText().strip() for t in self._texts]

    def _font(self) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPointSize(self._style.plot_font_pt)
        return f

    def set_style(self, style) -> None:
        self._style = style
        style_plot(self.plotItem, style)
        for t in self._texts:
            t.setFont(self._font())

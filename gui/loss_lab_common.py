"""Small building blocks shared by the loss lab's panels: cards, big value labels, bar plots.

No arithmetic here: panels receive the numbers (and their strings) from :mod:`core.loss_lab`.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui.theme import Style, class_color

__all__ = ["Card", "ValueLabel", "CompactPlot", "BarPlot", "CORRECT_COLOR", "PAYS_COLOR", "FREE_COLOR", "formula",
           "style_plot"]

CORRECT_COLOR = QtGui.QColor("#2ca02c")   # the correct class / a loss of 0
PAYS_COLOR = QtGui.QColor("#d62728")      # a term that costs something
FREE_COLOR = QtGui.QColor("#8c96a5")


def formula(text: str) -> str:
    """Rich text for a formula line (the lecture's notation, serif italics for symbols)."""
    return f"<span style='font-family: serif; font-size: 115%;'>{text}</span>"


def style_plot(plot: pg.PlotWidget, style: Style | None = None) -> None:
    """Palette colours (background, axes) and, given a style, the axis font size of a plot."""
    pal = plot.palette()
    fg = pal.color(QtGui.QPalette.ColorRole.WindowText)
    plot.setBackground(pal.color(QtGui.QPalette.ColorRole.Base))
    font = None
    if style is not None:
        font = QtGui.QFont()
        font.setPointSize(style.plot_font_pt)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setPen(fg)
        ax.setTextPen(fg)
        if font is not None:
            ax.setStyle(tickFont=font)
            ax.label.setFont(font)
    if style is not None:
        bottom = plot.getAxis("bottom")
        if not bottom.label.isVisible():       # tick labels only: make room for the bigger font
            bottom.setHeight(int(style.plot_font_pt * 2.6))
        legend = plot.getPlotItem().legend
        if legend is not None:
            legend.setLabelTextSize(f"{style.plot_font_pt}pt")
            for _sample, label in legend.items:
                label.setText(label.text, size=f"{style.plot_font_pt}pt")


class Card(QtWidgets.QFrame):
    """A framed box with a bold title, holding one image's (or one question's) content."""

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setObjectName("loss_card")
        self.title = QtWidgets.QLabel(title)
        self.title.setObjectName("section_title")
        self.title.setWordWrap(True)
        self.body = QtWidgets.QVBoxLayout(self)
        self.body.setContentsMargins(10, 8, 10, 8)
        self.body.addWidget(self.title)

    def set_title(self, text: str) -> None:
        self.title.setText(text)


class ValueLabel(QtWidgets.QWidget):
    """``caption`` + a big number; ``value`` (a QLabel) holds exactly the number's text (tests read it)."""

    def __init__(self, caption: str, name: str, parent=None):
        super().__init__(parent)
        self.caption = QtWidgets.QLabel(caption)
        self.value = QtWidgets.QLabel("")
        self.value.setObjectName(name)
        self.value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.caption)
        lay.addWidget(self.value)
        lay.addStretch(1)
        self._pt = 11
        self._color: QtGui.QColor | None = None
        self.set_big(11)

    def set_big(self, pt: int) -> None:
        """Size of caption and number (a style sheet, so the app's own style sheet cannot override it)."""
        self._pt = int(pt)
        self._restyle()

    def set(self, text: str, color: QtGui.QColor | None = None) -> None:
        self.value.setText(text)
        self._color = color
        self._restyle()

    def _restyle(self) -> None:
        base = f"font-size: {self._pt}pt; font-weight: bold;"
        self.caption.setStyleSheet(base)
        self.value.setStyleSheet(base + (f" color: {self._color.name()};" if self._color is not None else ""))

    def text(self) -> str:
        return self.value.text()


class CompactPlot(pg.PlotWidget):
    """A PlotWidget whose preferred size is its minimum: it grows into free space but never asks for
    more (pyqtgraph's default 640 x 480 hint makes word-wrapped pages scroll on a projector)."""

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(200, max(80, self.minimumHeight()))


class BarPlot(CompactPlot):
    """Vertical bars, one per class, with class names on the x axis; optional extra bars and lines."""

    def __init__(self, class_names, *, y_label: str = "", height: int = 170, parent=None):
        super().__init__(parent=parent)
        self.setMinimumHeight(height)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().showGrid(y=True, alpha=0.25)
        self.setLabel("left", y_label)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        self.extra = pg.BarGraphItem(x=[], height=[], width=0.6)
        self.addItem(self.bars)
        self.addItem(self.extra)
        self.lines: list[pg.InfiniteLine] = []
        self._label_pt = 10
        self._names = list(class_names)
        self._set_ticks()
        self.follow_palette()

    def follow_palette(self) -> None:
        """Background and axes from the widget palette (light/dark themes, presentation contrast)."""
        style_plot(self)

    def _set_ticks(self) -> None:
        self.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(self._names)]])

    def set_bars(self, heights, *, bottoms=None, correct: int | None = None, n_classes: int | None = None,
                 pen_width: float = 2.0) -> None:
        """Class-coloured bars; the correct class gets a thick green outline."""
        n = len(heights)
        brushes = [pg.mkBrush(class_color(i, n_classes or n)) for i in range(n)]
        pens = [pg.mkPen(CORRECT_COLOR if i == correct else QtGui.QColor("#333333"),
                         width=pen_width * (2 if i == correct else 0.5)) for i in range(n)]
        kw = dict(x=list(range(n)), height=list(heights), brushes=brushes, pens=pens)
        if bottoms is not None:
            kw["y0"] = list(bottoms)
        self.bars.setOpts(**kw)

    def set_extra(self, x, bottoms, heights, color: QtGui.QColor) -> None:
        """Overlay bars (e.g. the red part of a score above the hinge threshold)."""
        c = QtGui.QColor(color)
        c.setAlpha(200)
        self.extra.setOpts(x=list(x), y0=list(bottoms), height=list(heights), width=0.3,
                           brush=pg.mkBrush(c), pen=pg.mkPen(color, width=1))

    def set_lines(self, specs, width: float = 2.0) -> None:
        """Horizontal lines: ``[(y, label, color), ...]``."""
        for line in self.lines:
            self.removeItem(line)
        self.lines = []
        for y, label, color in specs:
            line = pg.InfiniteLine(pos=y, angle=0, pen=pg.mkPen(color, width=width, style=QtCore.Qt.PenStyle.DashLine),
                                   label=label, labelOpts={"position": 0.93, "color": color, "anchors": [(1, 1), (1, 1)]})
            font = QtGui.QFont()
            font.setPointSize(self._label_pt)
            line.label.setFont(font)
            self.addItem(line)
            self.lines.append(line)

    def apply_style(self, style: Style) -> None:
        style_plot(self, style)
        self._label_pt = style.plot_font_pt
        for line in self.lines:
            font = QtGui.QFont()
            font.setPointSize(self._label_pt)
            line.label.setFont(font)
        self.setMinimumHeight(int(170 * style.font_pt / 10 * 0.9))

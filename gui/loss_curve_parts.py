"""Pieces of the loss-curve panel (:mod:`gui.loss_curves`): model colours and line styles, the per-model curve
set, an integer-only axis for epochs, the axis ranges (a 1-2-5 axis ceiling, the y range of what is drawn, and
:class:`FollowingView`, which keeps the loss plot on the curves in steps), and the hover readout (its text,
and :class:`FloatingReadout`, the label that shows it over the plot)."""
from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui.loss_lines import Line, LossLines

__all__ = ["MODEL_COLORS", "SERIES", "model_color", "plot_background", "IntegerAxis", "ModelCurves",
           "nice_ceiling", "raw_band", "shown_y_range", "empty_y_range", "restart_accuracy_view", "FollowingView",
           "hover_readout", "FloatingReadout", "emptiest_corner", "place_legend",
           "place_accuracy_legend", "entry_widths"]

MODEL_COLORS = {"hinge": "#e8710a", "softmax": "#1a6fd6"}
SERIES = (("total", "total", QtCore.Qt.PenStyle.SolidLine),
          ("data", "data loss", QtCore.Qt.PenStyle.DashLine),
          ("reg", "λ·R(W)", QtCore.Qt.PenStyle.DotLine))


def model_color(name: str) -> QtGui.QColor:
    return QtGui.QColor(MODEL_COLORS.get(name, "#444444"))


def plot_background(widget: QtWidgets.QWidget) -> tuple[QtGui.QColor, QtGui.QColor]:
    """(background, foreground) from the widget's palette, so plots follow light/dark themes."""
    pal = widget.palette()
    return pal.color(QtGui.QPalette.ColorRole.Base), pal.color(QtGui.QPalette.ColorRole.WindowText)


class IntegerAxis(pg.AxisItem):
    """An axis that only labels whole numbers (epochs)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph override
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing < 1:
                continue
            out.append((spacing, [v for v in values if float(v).is_integer()]))
        return out or [(1.0, [float(v) for v in range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1)])]


class ModelCurves:
    """The curves of one model: its loss lines (in the plot's :class:`gui.loss_lines.LossLines`) and its
    accuracy curves."""

    def __init__(self, name: str, lines: LossLines, acc_plot: pg.PlotItem, width: float):
        self.name = name
        col = model_color(name)
        faint = QtGui.QColor(col)
        faint.setAlpha(55)
        self.raw: dict[str, Line] = {}
        self.smooth: dict[str, Line] = {}
        for key, label, style in SERIES:
            # no antialiasing (thousands of points repainted ~10x a second while SGD runs); the raw band keeps
            # each pixel column's min and max (its envelope) ...
            self.raw[key] = lines.add(pg.mkPen(faint, width=1), "peak", per_pixel=1.0, layer=0)
            # ... a smoothed line has no detail at the pixel scale: 1 point per 4 pixels. Lines wider than 1 px go
            # through Qt's stroker, whose cost grows with the points (6 curves of 2 px: 4.2 -> 1.5 ms a paint)
            self.smooth[key] = lines.add(pg.mkPen(col, width=width, style=style), "subsample", per_pixel=0.25,
                                         layer=1)
        self.train_acc = pg.PlotDataItem(pen=pg.mkPen(col, width=width), symbol="o", symbolSize=7,
                                         symbolBrush=col, symbolPen=None)
        self.val_acc = pg.PlotDataItem(pen=pg.mkPen(col, width=width, style=QtCore.Qt.PenStyle.DashLine),
                                       symbol="s", symbolSize=7, symbolBrush=QtGui.QColor("white"),
                                       symbolPen=pg.mkPen(col, width=1.5))
        acc_plot.addItem(self.train_acc)
        acc_plot.addItem(self.val_acc)
        self.items = [self.train_acc, self.val_acc]       # (the plot items; the loss lines belong to LossLines)
        self.n_epochs = -1

    def set_width(self, width: float) -> None:
        for item in (*self.smooth.values(), self.train_acc, self.val_acc):
            pen = QtGui.QPen(item.opts["pen"])
            pen.setWidthF(width)
            item.setPen(pen)


def nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= ``v`` (axis ends that read well)."""
    k = 10.0 ** np.floor(np.log10(v))
    for m in (1, 2, 5, 10):
        if m * k >= v:
            return float(m * k)
    return float(10 * k)




def raw_band(series: list[str], raw: bool) -> str | None:
    """The one series drawn raw (faint, per minibatch) under the smoothed lines: the total loss, or the data
    loss when the total is hidden; None without ``raw``. One band shows the minibatch noise: the two
    bands lie on top of each other but for λ·R(W), which the smoothed lines show, and each drawn curve
    costs SGD throughput while training."""
    if not raw:
        return None
    return next((k for k in ("total", "data") if k in series), None)


def shown_y_range(histories: dict, series: list[str], raw: bool, log: bool) -> tuple[float | None, float | None]:
    """(min, max) of what the loss plot draws of ``{model: History}`` (the ``series`` shown, smoothed, and with
    ``raw`` the :func:`raw_band`), in view units (log10 on a log axis); (None, None) when nothing is drawn."""
    los, his = [], []
    band = raw_band(series, raw)
    for h in histories.values():
        for key in series:
            if not len(h):
                continue
            for arr in ((h.column(key), h.smoothed(key)) if key == band else (h.smoothed(key),)):
                if not arr.size:
                    continue
                lo, hi = arr.min(), arr.max()      # (losses are finite: the Trainer stops before inf/NaN) ...
                if log or not (np.isfinite(lo) and np.isfinite(hi)):   # ... else, and on a log axis, look closer
                    a = arr[np.isfinite(arr) & (arr > 0)] if log else arr[np.isfinite(arr)]
                    if not a.size:
                        continue
                    lo, hi = a.min(), a.max()
                los.append(lo)
                his.append(hi)
    if not los:
        return None, None
    lo, hi = float(min(los)), float(max(his))
    return (np.log10(lo), np.log10(hi)) if log else (lo, hi)


def empty_y_range(expected, log: bool) -> tuple[float | None, float | None]:
    """The loss axis of a run with no points yet: from 0 up to the expected initial losses (the sanity-check
    lines, where the new curve will start), in view units (log10 on a log axis); (None, None) without them."""
    values = [float(v) for v in expected if np.isfinite(v) and v > 0]
    if not values:
        return None, None
    if log:
        return float(np.log10(min(values))) - 0.5, float(np.log10(max(values))) + 0.2
    return 0.0, 1.1 * max(values)


_CORNERS = {"top-left": ((0, 0), (10, 10)), "top-right": ((1, 0), (-10, 10)),
            "bottom-right": ((1, 1), (-10, -10)), "bottom-left": ((0, 1), (10, -10))}


def emptiest_corner(x: np.ndarray, y: np.ndarray, view, size) -> str:
    """Where a legend of ``size`` = (w, h) (data units) hides the fewest of the points ``(x, y)`` in the
    view ``((x0, x1), (y0, y1))``: "top-left", "top-right", "bottom-right" or "bottom-left" (in that order
    on ties: accuracy curves rise, so the top left is usually free)."""
    (x0, x1), (y0, y1) = view
    w, h = size
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = np.asarray(x)[ok], np.asarray(y)[ok]
    boxes = {"top-left": (x0, x0 + w, y1 - h, y1), "top-right": (x1 - w, x1, y1 - h, y1),
             "bottom-right": (x1 - w, x1, y0, y0 + h), "bottom-left": (x0, x0 + w, y0, y0 + h)}
    hidden = {k: int(np.count_nonzero((x >= a) & (x <= b) & (y >= c) & (y <= d))) for k, (a, b, c, d) in boxes.items()}
    return min(_CORNERS, key=lambda k: hidden[k])


def place_legend(legend: pg.LegendItem, corner: str) -> None:
    """Anchor ``legend`` 10 px inside ``corner`` of its plot (see :func:`emptiest_corner`)."""
    pos, offset = _CORNERS[corner]
    legend.anchor(itemPos=pos, parentPos=pos, offset=offset)
    legend.corner = corner


def entry_widths(legend: pg.LegendItem) -> list[float]:
    """The width (px) each entry of ``legend`` takes on a row: its sample, its label and the spacing."""
    return [s.boundingRect().width() + lab.item.boundingRect().width() + 12 for s, lab in legend.items]


def place_accuracy_legend(legend: pg.LegendItem, vb: pg.ViewBox, items) -> None:
    """The accuracy legend on as few rows as the view's width allows, in the corner of ``vb`` where it hides
    the fewest points of the curves ``items`` (PlotDataItems)."""
    widths = entry_widths(legend)
    room = vb.width() - 30
    cols = next((n for n in (len(widths), 2) if n and sum(sorted(widths)[-n:]) <= room), 1)
    if legend.columnCount != cols:
        legend.setColumnCount(cols)
    data = [item.getData() for item in items]
    data = [(x, y) for x, y in data if x is not None and len(x)]
    if not data:
        return
    x = np.concatenate([d[0] for d in data])
    y = np.concatenate([d[1] for d in data])
    (x0, x1), (y0, y1) = vb.viewRange()               # x as it will be once auto-ranged to the new points
    view = ((min(x0, x.min() - 0.5), max(x1, x.max() + 0.5)), (y0, y1))
    r = legend.boundingRect()
    size = ((r.width() + 10) * (view[0][1] - view[0][0]) / max(vb.width(), 1.0),
            (r.height() + 10) * (y1 - y0) / max(vb.height(), 1.0))
    place_legend(legend, emptiest_corner(x, y, view, size))


def restart_accuracy_view(plot: pg.PlotItem) -> None:
    """The accuracy plot of a new run: 0..100 % over epochs 0..1, epochs auto-ranged again as points arrive
    (undoes whatever the user zoomed or panned to during the previous run)."""
    plot.setXRange(0, 1, padding=0)
    plot.setYRange(0, 100)
    plot.enableAutoRange(x=True)


class FollowingView:
    """Keeps the loss plot's view box on the curves with ranges that change in steps, not every frame (each
    change re-lays-out the axes, the most expensive part of a repaint): x grows in steps (0..10, 0..20, 0..50,
    ...) instead of auto-ranging; zooming or panning by hand stops following, pyqtgraph's "A" button resumes."""

    def __init__(self, vb: pg.ViewBox):
        self.vb = vb
        self.following, self.x_hi = True, 0.0
        vb.disableAutoRange()
        vb.sigRangeChangedManually.connect(self.stop)

    def stop(self, *_args) -> None:
        self.following = False

    def restart(self) -> None:
        """A new run: follow it again from the start, whatever the user zoomed or panned to."""
        self.x_hi, self.following = 0.0, True

    def follow(self, histories: dict, series: list[str], raw: bool, log: bool, expected) -> None:
        """Bring the view onto ``{model: History}`` as drawn: the ``series`` shown, with the ``raw`` values or
        not, on a ``log`` axis or not; ``expected`` initial losses place the y axis before the first point."""
        vb = self.vb
        if any(vb.autoRangeEnabled()):          # the user pressed pyqtgraph's "A" button
            self.following = True
            vb.disableAutoRange()
        if not self.following:
            return
        last = max((h.last_iteration for h in histories.values()), default=0)
        if self.x_hi <= 0 or last > self.x_hi or self.x_hi > 10 * max(last, 10):   # (0: a new run)
            self.x_hi = nice_ceiling(max(10.0, last * 1.2))
            vb.setXRange(0, self.x_hi, padding=0.01)
        lo, hi = shown_y_range(histories, series, raw, log)
        if lo is None:          # no points yet: show where the new curve will start
            lo, hi = empty_y_range(expected, log)
        if lo is None:
            return
        (_, _), (a, b) = vb.viewRange()
        span = max(hi - lo, 1e-9)
        if lo < a or hi > b or (b - a) > 2.0 * span + 1e-12:
            vb.setYRange(lo - 0.08 * span, hi + 0.08 * span, padding=0)


def hover_readout(histories: dict, x: float) -> tuple[int | None, str]:
    """The logged iteration nearest ``x`` and the readout there (rich text): every model's smoothed total loss
    (and the raw one), data loss and λ·R(W); ``(None, "")`` when nothing is logged yet."""
    parts, it_shown = [], None
    for name, h in histories.items():
        its = h.column("iteration")
        if its.size == 0:
            continue
        i = int(np.clip(np.searchsorted(its, x), 0, its.size - 1))
        if i > 0 and abs(its[i - 1] - x) < abs(its[i] - x):
            i -= 1
        it_shown = int(its[i])
        col = MODEL_COLORS.get(name, "#444")
        parts.append(f"<span style='color:{col}'><b>{name}</b></span> total {h.smoothed('total')[i]:.4g} "
                     f"(raw {h.column('total')[i]:.4g}) · data {h.smoothed('data')[i]:.4g} · "
                     f"λR {h.smoothed('reg')[i]:.3g}")
    if it_shown is None:
        return None, ""
    return it_shown, f"iteration <b>{it_shown}</b> — " + " &nbsp;|&nbsp; ".join(parts)


class FloatingReadout(QtWidgets.QLabel):
    """The hover readout, floating over a plot's top-right corner while the pointer is on the plot (like
    a tooltip), so it costs the plot no height -- on a projector every line counts. It follows the
    plot's size and hides when the pointer leaves (``on_leave`` is called then too)."""

    def __init__(self, plot_widget: QtWidgets.QWidget, on_leave=None):
        super().__init__("", plot_widget)
        self.hide()
        self._top, self._on_leave = 0, on_leave
        plot_widget.setToolTip("Hover over the loss plot to read the values at an iteration.")
        self.setObjectName("hover_readout")
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel#hover_readout { background: palette(base); border: 1px solid "
                           "palette(mid); border-radius: 3px; padding: 2px 5px; }")
        plot_widget.installEventFilter(self)

    def show_text(self, text: str, top: int) -> None:
        self.setText(text)
        self._top = top
        self.place()
        self.show()

    def place(self) -> None:
        """Right-aligned ``top`` pixels down (below the title and legend), at most 90 % of the plot's width."""
        w = self.parentWidget().width()
        self.setWordWrap(False)
        width = min(self.sizeHint().width(), int(w * 0.9))
        self.setWordWrap(self.sizeHint().width() > width)
        self.setFixedWidth(max(40, width))
        self.adjustSize()
        self.move(max(0, w - self.width() - 24), self._top)
        self.raise_()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self.parentWidget():
            if event.type() == QtCore.QEvent.Type.Resize:
                self.place()
            elif event.type() == QtCore.QEvent.Type.Leave:
                self.hide()
                if self._on_leave is not None:
                    self._on_leave()
        return super().eventFilter(obj, event)

"""All the live loss lines of a plot in one graphics item.

While SGD runs, the loss plot is redrawn ~10 times a second with up to eight lines (compare mode: per model the
raw band and three smoothed lines). As eight ``pg.PlotDataItem`` s, each ``setData`` went through pyqtgraph's
general pipeline (bounds, clipping, downsampling, path cache, one scene item each) and cost ~0.4 ms, and
each item's paint its own overhead: ~2/3 of the GUI thread's Python time in compare mode, which is CPU the
training process does not get. :class:`LossLines` keeps the lines as plain array references (``setData`` only
stores them) and draws them all in one ``paint``: for each line, the part inside the view, downsampled to
the plot's width (``"peak"``: the min and max of each pixel column, so the band of minibatch noise keeps
its envelope; ``"subsample"``: every k-th point and the last one, for lines without spikes), then one
``drawPath``.

A :class:`Line` answers like the ``PlotDataItem`` it replaces where the panel and its tests look: ``setData``,
``xData``/``yData`` (every point as given), ``getData()`` (what is drawn: in view units, log10 on a log axis,
downsampled), ``setVisible``/``isVisible``, ``opts["pen"]`` and ``setPen``. Raw bands are painted under all
smoothed lines, whatever the model.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

__all__ = ["Line", "LossLines"]


class Line:
    """One line of :class:`LossLines`: x and y arrays (every point), a pen, visibility, a downsampling method."""

    def __init__(self, owner: "LossLines", pen: QtGui.QPen, method: str, per_pixel: float, layer: int):
        self._owner, self.pen, self.method, self.per_pixel, self.layer = owner, QtGui.QPen(pen), method, per_pixel, layer
        self.xData: np.ndarray | None = None
        self.yData: np.ndarray | None = None
        self._visible = True

    @property
    def opts(self) -> dict:
        return {"pen": self.pen}

    def setData(self, x, y, **_ignored) -> None:  # noqa: N802 - the PlotDataItem name
        """Show ``x`` (increasing) against ``y``; the arrays are kept as given (the History's views), not copied."""
        self.xData = np.asarray(x, dtype=np.float64)
        self.yData = np.asarray(y, dtype=np.float64)
        self._owner.data_changed()

    def setPen(self, pen) -> None:  # noqa: N802
        self.pen = QtGui.QPen(pen)
        self._owner.update()

    def setVisible(self, on: bool) -> None:  # noqa: N802
        if self._visible != bool(on):
            self._visible = bool(on)
            self._owner.data_changed()

    def isVisible(self) -> bool:  # noqa: N802
        return self._visible

    def has_points(self) -> bool:
        return self._visible and self.xData is not None and self.xData.size > 0

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
        """The points drawn now: inside the view, downsampled, y in view units (log10 on a log axis)."""
        if self.xData is None:
            return np.empty(0), np.empty(0)
        return self._owner.drawn(self)


class LossLines(pg.GraphicsObject):
    """Several lines drawn by one item (see the module docstring). Add to a PlotItem like any item; the view box
    clips it, and pyqtgraph's "A" (auto-range) button uses :meth:`dataBounds`."""

    def __init__(self):
        super().__init__()
        self.lines: list[Line] = []
        self._log_y = False

    def add(self, pen: QtGui.QPen, method: str = "subsample", per_pixel: float = 1.0, layer: int = 1) -> Line:
        """A new line; ``per_pixel`` points per pixel of width at most; lower ``layer`` s are painted first."""
        if method not in ("peak", "subsample"):
            raise ValueError(f"method must be 'peak' or 'subsample', got {method!r}")
        line = Line(self, pen, method, float(per_pixel), int(layer))
        self.lines.append(line)
        self.lines.sort(key=lambda ln: ln.layer)       # stable: insertion order within a layer
        return line

    def clear(self) -> None:
        self.lines = []
        self.data_changed()

    def setLogMode(self, x: bool, y: bool) -> None:  # noqa: N802 - called by PlotItem.setLogMode
        self._log_y = bool(y)
        self.data_changed()

    def data_changed(self) -> None:
        self.informViewBoundsChanged()       # (for a view box that auto-ranges: it asks dataBounds again)
        self.update()

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph hook: the bounding rect is the view's
        self.prepareGeometryChange()

    # ---------------------------------------------------------------- geometry
    def _view_y(self, y: np.ndarray) -> np.ndarray:
        if not self._log_y:
            return y
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(np.where(y > 0, y, np.nan))

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802 - pyqtgraph's auto-range API
        """(min, max) of the visible lines along x (``ax`` 0) or y (1), in view units; (None, None) when empty."""
        lo, hi = [], []
        for line in self.lines:
            if not line.has_points():
                continue
            a = line.xData if ax == 0 else self._view_y(line.yData)
            a = a[np.isfinite(a)]
            if a.size:
                lo.append(a.min())
                hi.append(a.max())
        return (float(min(lo)), float(max(hi))) if lo else (None, None)

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt override
        # the view's rectangle, not the data's: no scan of every point after each setData (the view box clips
        # to it anyway, and the range follows the data in steps, so this changes rarely)
        vb = self.getViewBox()
        return QtCore.QRectF() if vb is None else vb.viewRect()

    # ---------------------------------------------------------------- drawing
    def drawn(self, line: Line) -> tuple[np.ndarray, np.ndarray]:
        """``line``'s points as :meth:`paint` draws them (see :meth:`Line.getData`)."""
        x, y = line.xData, line.yData
        vb = self.getViewBox()
        if vb is not None and x.size:
            (v0, v1), _ = vb.viewRange()
            i0 = max(0, int(np.searchsorted(x, v0, "left")) - 1)
            i1 = min(x.size, int(np.searchsorted(x, v1, "right")) + 1)
            x, y = x[i0:i1], y[i0:i1]
            target = max(2, int(vb.width() * line.per_pixel))
        else:
            target = max(2, x.size)
        k = x.size // target
        if k > 1 and line.method == "peak":            # each run of k points -> its max and min at its first x
            m = -(-x.size // k)                        # (the last run may be shorter: padded with its last value)
            yy = np.empty(m * k)
            yy[:x.size] = y
            yy[x.size:] = y[-1]
            blocks = yy.reshape(m, k)
            ys = np.empty((m, 2))
            ys[:, 0] = blocks.max(axis=1)
            ys[:, 1] = blocks.min(axis=1)
            x, y = np.repeat(x[::k], 2), ys.ravel()
        elif k > 1:
            last = x.size - 1
            x, y = np.append(x[:last:k], x[last]), np.append(y[:last:k], y[last])
        return x, self._view_y(y)                      # (max and min commute with log10)

    def paint(self, p: QtGui.QPainter, *_args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for line in self.lines:
            if not line.has_points():
                continue
            x, y = self.drawn(line)
            if x.size == 0:
                continue
            path = pg.functions.arrayToQPath(x, y, connect="finite" if self._log_y else "all")
            p.setPen(line.pen)
            p.drawPath(path)

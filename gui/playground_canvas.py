"""The 2-D playground's plot: coloured decision regions, draggable points, zero-score lines, W arrows.

Mouse: left click on empty space adds a point (of the class chosen in the controls), left drag on a
point moves it, right click on a point removes it; dragging empty space pans, the wheel zooms. The
canvas does not own the data: it emits ``point_added`` / ``point_moved`` / ``point_removed`` and the
workspace updates its arrays and calls :meth:`set_points` etc. The same handlers are callable with
data coordinates (:meth:`handle_click`, :meth:`handle_drag`) -- the tests use them for drags.

Regions arrive as a ready RGBA image (``core.regions.region_rgba``) placed over the view box with
``setRect``; row 0 of the image is the bottom (y-up plot, row-major images).
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from gui.theme import Style, class_colors

__all__ = ["PlaygroundCanvas"]

PICK_RADIUS_PX = 12


class _EditViewBox(pg.ViewBox):
    """A ViewBox that turns clicks and drags on points into edit requests (pan/zoom otherwise)."""

    def __init__(self, canvas: "PlaygroundCanvas"):
        super().__init__(enableMenu=False)
        self._canvas = canvas
        self._drag_index: int | None = None

    def mouseClickEvent(self, ev):  # noqa: N802 - Qt/pyqtgraph override
        button = ev.button()
        if button in (QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton):
            p = self.mapSceneToView(ev.scenePos())
            ev.accept()
            self._canvas.handle_click(p.x(), p.y(), "left" if button == QtCore.Qt.MouseButton.LeftButton else "right")
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - Qt/pyqtgraph override
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        if ev.isStart():
            p = self.mapSceneToView(ev.buttonDownScenePos())
            self._drag_index = self._canvas.point_at(p.x(), p.y())
        if self._drag_index is None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        self._canvas.handle_drag(self._drag_index, p.x(), p.y(), finished=ev.isFinish())
        if ev.isFinish():
            self._drag_index = None


class PlaygroundCanvas(pg.PlotWidget):
    """The playground's view. Emits edit requests; draws what the workspace hands it."""

    point_added = QtCore.Signal(float, float)
    point_moved = QtCore.Signal(int, float, float)
    point_removed = QtCore.Signal(int)
    drag_finished = QtCore.Signal()

    def __init__(self, parent=None):
        vb = _EditViewBox(self)
        super().__init__(parent=parent, viewBox=vb)
        self.vb = vb
        self.setObjectName("playground_canvas")
        self.hideButtons()
        self.setAspectLocked(True)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setLabel("bottom", "x<sub>1</sub>")
        self.setLabel("left", "x<sub>2</sub>")
        self._style = Style()
        self._X = np.zeros((0, 2))
        self._y = np.zeros(0, dtype=np.int64)
        self._n_classes = 3
        self.regions = pg.ImageItem(axisOrder="row-major")
        self.regions.setZValue(-20)
        self.addItem(self.regions)
        self.scatter = pg.ScatterPlotItem(pxMode=True)
        self.scatter.setZValue(10)
        self.addItem(self.scatter)
        self.highlight = pg.ScatterPlotItem(pxMode=True, brush=None, symbol="o")
        self.highlight.setZValue(11)
        self.addItem(self.highlight)
        self.lines: list[pg.PlotDataItem] = []
        self.arrows: list[tuple[pg.PlotDataItem, pg.ArrowItem]] = []
        self._highlighted: int | None = None
        self._brush_key = None
        self._brushes: list = []
        self._pen = None

    # -- geometry ----------------------------------------------------------------------------------
    def view_limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def set_limits(self, xlim, ylim) -> None:
        self.vb.setRange(xRange=xlim, yRange=ylim, padding=0)

    def point_at(self, x: float, y: float, radius_px: float = PICK_RADIUS_PX) -> int | None:
        """Index of the nearest point within ``radius_px`` screen pixels of data position (x, y)."""
        if len(self._X) == 0:
            return None
        px, py = self.vb.viewPixelSize()
        px = px or 1.0
        py = py or 1.0
        d2 = ((self._X[:, 0] - x) / px) ** 2 + ((self._X[:, 1] - y) / py) ** 2
        i = int(np.argmin(d2))
        return i if d2[i] <= radius_px ** 2 else None

    def data_to_viewport(self, x: float, y: float) -> QtCore.QPoint:
        """Widget (viewport) pixel of a data point, for tests that click with qtbot."""
        scene = self.vb.mapViewToScene(QtCore.QPointF(x, y))
        return self.mapFromScene(scene)

    # -- edit requests -----------------------------------------------------------------------------
    def handle_click(self, x: float, y: float, button: str) -> None:
        i = self.point_at(x, y)
        if button == "right":
            if i is not None:
                self.point_removed.emit(i)
        elif i is None:
            self.point_added.emit(float(x), float(y))

    def handle_drag(self, index: int, x: float, y: float, *, finished: bool = False) -> None:
        self.point_moved.emit(int(index), float(x), float(y))
        if finished:
            self.drag_finished.emit()

    # -- drawing -----------------------------------------------------------------------------------
    def set_points(self, X, y, n_classes: int) -> None:
        self._X = np.asarray(X, dtype=float).reshape(-1, 2)
        self._y = np.asarray(y, dtype=np.int64)
        self._n_classes = int(n_classes)
        key = (self._n_classes, self._style.marker_size, self.palette().color(QtGui.QPalette.ColorRole.Base).rgb())
        if self._brush_key != key:
            # the same brush/pen objects every time: pyqtgraph's symbol atlas then renders each
            # class's marker once instead of once per point per frame (dragging stays smooth)
            self._brushes = [pg.mkBrush(c) for c in class_colors(self._n_classes)]
            self._pen = pg.mkPen(self.palette().color(QtGui.QPalette.ColorRole.Base), width=1.5)
            self._brush_key = key
        self.scatter.setData(pos=self._X, brush=[self._brushes[c] for c in self._y], pen=self._pen,
                             size=self._style.marker_size + 3)
        self._draw_highlight()

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """What the scatter shows: (positions (N, 2), labels (N,))."""
        return self._X.copy(), self._y.copy()

    def set_highlight(self, index: int | None) -> None:
        self._highlighted = index
        self._draw_highlight()

    def _draw_highlight(self) -> None:
        i = self._highlighted
        if i is None or i >= len(self._X):
            self.highlight.setData([], [])
            return
        fg = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
        self.highlight.setData(pos=self._X[i:i + 1], size=self._style.marker_size * 2 + 10,
                               pen=pg.mkPen(fg, width=2.5), brush=None)

    def set_regions(self, rgba, xlim, ylim) -> None:
        """Show an ``(R, R, 4)`` uint8 image covering ``xlim`` x ``ylim`` (row 0 at the bottom)."""
        if rgba is None:
            self.regions.clear()
            return
        self.regions.setImage(rgba, autoLevels=False, levels=None)
        self.regions.setRect(QtCore.QRectF(xlim[0], ylim[0], xlim[1] - xlim[0], ylim[1] - ylim[0]))

    def _ensure_items(self, n: int) -> None:
        while len(self.lines) < n:
            line = pg.PlotDataItem()
            line.setZValue(5)
            self.addItem(line)
            self.lines.append(line)
            shaft = pg.PlotDataItem()
            shaft.setZValue(6)
            head = pg.ArrowItem(pxMode=True, headLen=16, tipAngle=32, tailLen=None)
            head.setZValue(6)
            self.addItem(shaft)
            self.addItem(head)
            self.arrows.append((shaft, head))

    def set_lines(self, segments, arrows) -> None:
        """Zero-score line and W-row arrow per class; each entry a (2, 2) array or None (hidden)."""
        n = max(len(segments), len(arrows))
        self._ensure_items(n)
        cols = class_colors(max(n, 1))
        w = self._style.line_width
        for c in range(len(self.lines)):
            seg = segments[c] if c < len(segments) else None
            col = QtGui.QColor(cols[c % len(cols)]).darker(135)
            if seg is None:
                self.lines[c].setData([], [])
            else:
                self.lines[c].setData(seg[:, 0], seg[:, 1],
                                      pen=pg.mkPen(col, width=w, style=QtCore.Qt.PenStyle.DashLine))
            shaft, head = self.arrows[c]
            arr = arrows[c] if c < len(arrows) else None
            if arr is None:
                shaft.setData([], [])
                head.setVisible(False)
                continue
            shaft.setData(arr[:, 0], arr[:, 1], pen=pg.mkPen(col, width=w + 1))
            dx, dy = arr[1] - arr[0]
            # ArrowItem points left at angle 0 and rotates clockwise on screen (y down); data is y-up
            head.setStyle(angle=math.degrees(math.atan2(dy, -dx)), brush=pg.mkBrush(col), pen=pg.mkPen(col),
                          headLen=10 + 2 * w, tipAngle=32)
            head.setPos(float(arr[1, 0]), float(arr[1, 1]))
            head.setVisible(True)

    def line_data(self, c: int):
        """(x, y) of class ``c``'s zero-score line as drawn (tests)."""
        return self.lines[c].getData() if c < len(self.lines) else (None, None)

    def apply_style(self, style: Style) -> None:
        self._style = style
        font = QtGui.QFont()
        font.setPointSize(style.plot_font_pt)
        pal = self.palette()
        fg = pal.color(QtGui.QPalette.ColorRole.WindowText)
        self.setBackground(pal.color(QtGui.QPalette.ColorRole.Base))
        for name in ("left", "bottom"):
            ax = self.getAxis(name)
            ax.setStyle(tickFont=font)
            ax.label.setFont(font)
            ax.setPen(fg)
            ax.setTextPen(fg)
        self.set_points(self._X, self._y, self._n_classes)

"""The zoomable pixel grid behind "What the computer sees": one square cell per pixel with its 0–255 value(s),
and the overview thumbnail that marks (and moves) the visible crop.

* Grey images: one number per pixel. RGB: R, G, B as three lines, or one channel (the cell tinted in that
  channel's colour). Text is black or white, whichever contrasts more with the cell.
* Interaction: wheel or +/− zooms, drag or arrow keys pan; the overview's frame follows and can be dragged.
  Below ``MIN_FONT_PX`` the numbers are hidden (the panel says "zoom in").
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui.widgets.qimage import to_qimage

__all__ = ["PixelNumbersView", "Overview", "CHANNELS", "MIN_FONT_PX"]

CHANNELS = ("all", "R", "G", "B")
MIN_FONT_PX = 8
_AXIS = 22  # px margin for row/column indices


def _text_color(fill: QtGui.QColor) -> QtGui.QColor:
    lum = 0.299 * fill.red() + 0.587 * fill.green() + 0.114 * fill.blue()
    return QtGui.QColor("black") if lum >= 140 else QtGui.QColor("white")


class PixelNumbersView(QtWidgets.QWidget):
    """Zoomed crop of an ``(H, W, C)`` uint8 image, one square cell per pixel with its value(s)."""

    view_changed = QtCore.Signal()
    hovered = QtCore.Signal(int, int)  # row, col (-1, -1 when outside)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image: np.ndarray | None = None
        self.channel = "all"
        self.cell = 40
        self.origin = (0, 0)  # top-left pixel (row, col) of the crop
        self.auto_zoom = True  # cell size follows the widget size until the user zooms
        self._drag: tuple[QtCore.QPointF, tuple[int, int]] | None = None
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    # -- state -------------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        same_shape = self.image is not None and image is not None and image.shape == self.image.shape
        self.image = None if image is None else np.asarray(image)
        if not same_shape:  # a new kind of image: fit or centre a legible crop again
            self.auto_zoom = True
            self._apply_auto()
        self._clamp()
        self.update()
        self.view_changed.emit()

    def _apply_auto(self) -> None:
        if self.image is None:
            return
        self.cell = self.default_cell()
        h, w = self.image.shape[:2]
        self.center_on(h // 2, w // 2)

    def set_channel(self, channel: str) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS} (got {channel!r})")
        self.channel = channel
        self.update()

    def three_numbers(self) -> bool:
        return self.image is not None and self.image.shape[2] == 3 and self.channel == "all"

    def legible_cell(self) -> int:
        """Smallest cell (px) at which the numbers are comfortable to read."""
        base = 52 if self.three_numbers() else 34
        return int(base * max(1.0, self.font().pointSizeF() / 10.0))

    def default_cell(self) -> int:
        """Fit the whole image if that stays legible, else the legible size (a crop)."""
        if self.image is None:
            return 40
        h, w = self.image.shape[:2]
        fit = min((self.width() - _AXIS) // w, (self.height() - _AXIS) // h)
        return int(max(self.legible_cell(), min(fit, 96)))

    def set_cell(self, cell: int, anchor: tuple[int, int] | None = None) -> None:
        """Zoom to ``cell`` px per pixel (user zoom), keeping pixel ``anchor`` (row, col) near the centre."""
        cell = int(min(120, max(4, cell)))
        if cell == self.cell:
            return
        self.auto_zoom = False
        if anchor is None:
            r0, c0, rows, cols = self.visible_rect()
            r, c = r0 + rows // 2, c0 + cols // 2
        else:
            r, c = anchor
        self.cell = cell
        self.center_on(r, c)

    def visible_rect(self) -> tuple[int, int, int, int]:
        """(row0, col0, rows, cols) of the crop on screen."""
        if self.image is None:
            return 0, 0, 0, 0
        h, w = self.image.shape[:2]
        rows = max(1, min(h, (self.height() - _AXIS) // self.cell))
        cols = max(1, min(w, (self.width() - _AXIS) // self.cell))
        return self.origin[0], self.origin[1], rows, cols

    def center_on(self, row: int, col: int) -> None:
        _, _, rows, cols = self.visible_rect()
        self.origin = (int(row - rows // 2), int(col - cols // 2))
        self._clamp()
        self.update()
        self.view_changed.emit()

    def _clamp(self) -> None:
        if self.image is None:
            return
        h, w = self.image.shape[:2]
        _, _, rows, cols = self.visible_rect()
        self.origin = (min(max(0, self.origin[0]), h - rows), min(max(0, self.origin[1]), w - cols))

    def font_px(self) -> int:
        return int(self.cell * (0.25 if self.three_numbers() else 0.36))

    def numbers_visible(self) -> bool:
        return self.font_px() >= MIN_FONT_PX

    def pixel_at(self, pos: QtCore.QPointF) -> tuple[int, int] | None:
        r0, c0, rows, cols = self.visible_rect()
        x0, y0 = self._grid_origin(rows, cols)
        col, row = int((pos.x() - x0) // self.cell), int((pos.y() - y0) // self.cell)
        if 0 <= row < rows and 0 <= col < cols:
            return r0 + row, c0 + col
        return None

    def _grid_origin(self, rows: int, cols: int) -> tuple[int, int]:
        x0 = _AXIS + max(0, (self.width() - _AXIS - cols * self.cell) // 2)
        y0 = _AXIS + max(0, (self.height() - _AXIS - rows * self.cell) // 2)
        return x0, y0

    def _fill(self, px: np.ndarray) -> QtGui.QColor:
        if px.shape[0] == 1:
            v = int(px[0])
            return QtGui.QColor(v, v, v)
        if self.channel == "all":
            return QtGui.QColor(int(px[0]), int(px[1]), int(px[2]))
        k = "RGB".index(self.channel)
        rgb = [0, 0, 0]
        rgb[k] = int(px[k])
        return QtGui.QColor(*rgb)

    def cell_texts(self, row: int, col: int) -> list[str]:
        """The number(s) drawn on pixel (row, col)."""
        px = self.image[row, col]
        if px.shape[0] == 1:
            return [str(int(px[0]))]
        if self.channel == "all":
            return [str(int(v)) for v in px]
        return [str(int(px["RGB".index(self.channel)]))]

    # -- painting -----------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.auto_zoom:
            self._apply_auto()
        self._clamp()
        self.view_changed.emit()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange and self.auto_zoom:  # presentation mode on/off
            self._apply_auto()
            self.update()

    def reset_zoom(self) -> None:
        """Back to the automatic cell size (after a font change, e.g. presentation mode)."""
        self.auto_zoom = True
        self._apply_auto()
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        pal = self.palette()
        if self.image is None:
            p.setPen(pal.color(QtGui.QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), int(QtCore.Qt.AlignmentFlag.AlignCenter), "Click an image to see its numbers")
            p.end()
            return
        r0, c0, rows, cols = self.visible_rect()
        x0, y0 = self._grid_origin(rows, cols)
        cell = self.cell
        font = QtGui.QFont(self.font())
        font.setPixelSize(max(MIN_FONT_PX, self.font_px()))
        small = QtGui.QFont(self.font())
        small.setPixelSize(max(9, min(16, cell // 4)))
        show_numbers = self.numbers_visible()
        grid_pen = QtGui.QPen(pal.color(QtGui.QPalette.ColorRole.Mid), 1)
        for i in range(rows):
            for j in range(cols):
                px = self.image[r0 + i, c0 + j]
                fill = self._fill(px)
                rect = QtCore.QRect(x0 + j * cell, y0 + i * cell, cell, cell)
                p.fillRect(rect, fill)
                if show_numbers:
                    p.setPen(_text_color(fill))
                    p.setFont(font)
                    p.drawText(rect, int(QtCore.Qt.AlignmentFlag.AlignCenter), "\n".join(self.cell_texts(r0 + i, c0 + j)))
        p.setPen(grid_pen)
        for i in range(rows + 1):
            p.drawLine(x0, y0 + i * cell, x0 + cols * cell, y0 + i * cell)
        for j in range(cols + 1):
            p.drawLine(x0 + j * cell, y0, x0 + j * cell, y0 + rows * cell)
        p.setFont(small)
        p.setPen(pal.color(QtGui.QPalette.ColorRole.WindowText))
        step = max(1, int(np.ceil(24 / cell)))
        for j in range(0, cols, step):
            p.drawText(QtCore.QRect(x0 + j * cell, y0 - _AXIS, cell, _AXIS - 2),
                       int(QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignBottom), str(c0 + j))
        for i in range(0, rows, step):
            p.drawText(QtCore.QRect(x0 - _AXIS, y0 + i * cell, _AXIS - 3, cell),
                       int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter), str(r0 + i))
        p.end()

    # -- interaction ------------------------------------------------------------------------------------
    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_cell(round(self.cell * (1.15 ** steps)), self.pixel_at(event.position()))
        event.accept()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._drag = (event.position(), self.origin)
            self.setCursor(QtCore.Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            start, (r, c) = self._drag
            d = event.position() - start
            self.origin = (int(r - d.y() // self.cell), int(c - d.x() // self.cell))
            self._clamp()
            self.update()
            self.view_changed.emit()
        hit = self.pixel_at(event.position())
        self.hovered.emit(*(hit if hit is not None else (-1, -1)))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None
        self.unsetCursor()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(-1, -1)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802
        moves = {QtCore.Qt.Key.Key_Left: (0, -1), QtCore.Qt.Key.Key_Right: (0, 1),
                 QtCore.Qt.Key.Key_Up: (-1, 0), QtCore.Qt.Key.Key_Down: (1, 0)}
        if event.key() in moves:
            dr, dc = moves[event.key()]
            self.origin = (self.origin[0] + dr, self.origin[1] + dc)
            self._clamp()
            self.update()
            self.view_changed.emit()
        elif event.key() in (QtCore.Qt.Key.Key_Plus, QtCore.Qt.Key.Key_Equal):
            self.set_cell(round(self.cell * 1.25))
        elif event.key() == QtCore.Qt.Key.Key_Minus:
            self.set_cell(round(self.cell / 1.25))
        else:
            super().keyPressEvent(event)


class Overview(QtWidgets.QWidget):
    """The whole image small, with a rectangle around the part the number view shows; click to move it."""

    def __init__(self, view: PixelNumbersView, parent=None):
        super().__init__(parent)
        self.view = view
        self._qimage: QtGui.QImage | None = None
        self.setFixedSize(120, 120)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setToolTip("The whole image; the frame marks the part shown with numbers. Click or drag to move it.")
        view.view_changed.connect(self.update)

    def set_image(self, image: np.ndarray | None) -> None:
        self._qimage = None if image is None else to_qimage(image)
        self.update()

    def _target(self) -> QtCore.QRectF:
        w, h = self._qimage.width(), self._qimage.height()
        s = min((self.width() - 4) / w, (self.height() - 4) / h)
        return QtCore.QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    def paintEvent(self, event) -> None:  # noqa: N802
        if self._qimage is None:
            return
        p = QtGui.QPainter(self)
        t = self._target()
        p.drawImage(t, self._qimage)
        r0, c0, rows, cols = self.view.visible_rect()
        s = t.width() / self._qimage.width()
        if rows < self._qimage.height() or cols < self._qimage.width():
            frame = QtCore.QRectF(t.x() + c0 * s, t.y() + r0 * s, cols * s, rows * s)
            p.setPen(QtGui.QPen(QtGui.QColor("#ffd400"), 3))
            p.drawRect(frame)
            p.setPen(QtGui.QPen(QtGui.QColor("black"), 1))
            p.drawRect(frame.adjusted(-2, -2, 2, 2))
        p.end()

    def _move(self, pos: QtCore.QPointF) -> None:
        if self._qimage is None:
            return
        t = self._target()
        s = t.width() / self._qimage.width()
        self.view.center_on(int((pos.y() - t.y()) / s), int((pos.x() - t.x()) / s))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._move(event.position())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & QtCore.Qt.MouseButton.LeftButton:
            self._move(event.position())

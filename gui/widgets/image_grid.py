"""A fast grid of small images with captions and coloured borders, painted in one ``paintEvent``.

Used for the class grid (Data tab), the nearest-neighbour gallery, misclassified strips and weight
templates. Images are ``(N, H, W, C)`` uint8 (C = 1 or 3); pixels are drawn as crisp squares.
Click an image -> ``clicked(index)``. Wrap it in a QScrollArea for long grids (CIFAR-100).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui.widgets.qimage import to_qimage

__all__ = ["ImageGrid"]


class ImageGrid(QtWidgets.QWidget):
    """Grid of images; ``columns=None`` fits as many columns as the width allows."""

    clicked = QtCore.Signal(int)
    hovered = QtCore.Signal(int)

    def __init__(self, parent=None, *, tile: int = 56, columns: int | None = None, caption_lines: int = 1):
        super().__init__(parent)
        self._images: list[QtGui.QImage] = []
        self._captions: list[str] = []
        self._caption_cache = None            # ((captions, width, font key), caption font)
        self._borders: list[QtGui.QColor | None] = []
        self._selected: int | None = None
        self.tile = tile
        self.columns = columns
        self.caption_lines = caption_lines
        self.setMouseTracking(True)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)

    # -- data -----------------------------------------------------------------------
    def set_images(self, images: np.ndarray | Sequence[np.ndarray], captions: Sequence[str] | None = None,
                   borders: Sequence[QtGui.QColor | str | None] | None = None) -> None:
        # RGB32 is the format the raster painter scales and draws without a conversion at every paint
        # (RGB888 and Grayscale8 tiles cost ~2x to draw; templates repaint ~8 times a second while training)
        self._images = [to_qimage(np.asarray(im)).convertToFormat(QtGui.QImage.Format.Format_RGB32) for im in images]
        n = len(self._images)
        self._captions = list(captions) if captions is not None else [""] * n
        bs = list(borders) if borders is not None else [None] * n
        self._borders = [QtGui.QColor(b) if isinstance(b, str) else b for b in bs]
        if self._selected is not None and self._selected >= n:
            self._selected = None
        self.updateGeometry()
        self.update()

    def count(self) -> int:
        return len(self._images)

    def captions(self) -> list[str]:
        return list(self._captions)

    def set_selected(self, index: int | None) -> None:
        self._selected = index
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def set_tile(self, tile: int) -> None:
        self.tile = int(tile)
        self.updateGeometry()
        self.update()

    # -- geometry -----------------------------------------------------------------------
    def _caption_h(self) -> int:
        if not any(self._captions):
            return 0
        return self.fontMetrics().height() * self.caption_lines + 2

    def _cols(self) -> int:
        if self.columns:
            return self.columns
        return max(1, (max(self.width(), self.tile) - 4) // (self.tile + 6))

    def _cell(self) -> tuple[int, int]:
        return self.tile + 6, self.tile + 6 + self._caption_h()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        cols = self.columns or max(1, (max(width, self.tile) - 4) // (self.tile + 6))
        rows = max(1, -(-len(self._images) // cols))
        return rows * self._cell()[1] + 4

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        cols = self.columns or min(max(1, len(self._images)), 10)
        cw, ch = self._cell()
        rows = max(1, -(-len(self._images) // cols))
        return QtCore.QSize(cols * cw + 4, rows * ch + 4)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        cw, ch = self._cell()
        if self.columns:
            return QtCore.QSize(self.columns * cw + 4, ch + 4)
        return QtCore.QSize(cw + 4, ch + 4)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if not self.columns:
            self.setMinimumHeight(self.heightForWidth(self.width()))

    def index_at(self, pos: QtCore.QPoint) -> int | None:
        cw, ch = self._cell()
        col, row = (pos.x() - 2) // cw, (pos.y() - 2) // ch
        if col < 0 or row < 0 or col >= self._cols():
            return None
        i = row * self._cols() + col
        return i if 0 <= i < len(self._images) else None

    def tile_rect(self, index: int) -> QtCore.QRect:
        cw, ch = self._cell()
        r, c = divmod(index, self._cols())
        return QtCore.QRect(2 + c * cw + 3, 2 + r * ch + 3, self.tile, self.tile)

    # -- events --------------------------------------------------------------------------
    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        i = self.index_at(event.position().toPoint())
        if i is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._selected = i
            self.update()
            self.clicked.emit(i)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        i = self.index_at(event.position().toPoint())
        if i is not None:
            self.setToolTip(self._captions[i] if i < len(self._captions) else "")
            self.hovered.emit(i)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        pal = self.palette()
        cap_font = self.caption_font(self.tile + 6) if self.caption_lines == 1 else self.font()
        cap_fm = QtGui.QFontMetrics(cap_font)
        p.setFont(cap_font)
        for i, img in enumerate(self._images):
            rect = self.tile_rect(i)
            if not rect.intersects(event.rect().adjusted(-10, -10, 10, 60)):
                continue
            scale = min(rect.width() / img.width(), rect.height() / img.height())
            w, h = int(img.width() * scale), int(img.height() * scale)
            target = QtCore.QRect(rect.x() + (rect.width() - w) // 2, rect.y() + (rect.height() - h) // 2, w, h)
            p.drawImage(target, img)
            border = self._borders[i] if i < len(self._borders) else None
            if border is not None:
                p.setPen(QtGui.QPen(border, 3))
                p.drawRect(target.adjusted(-2, -2, 1, 1))
            if i == self._selected:
                p.setPen(QtGui.QPen(pal.color(QtGui.QPalette.ColorRole.Highlight), 3))
                p.drawRect(target.adjusted(-3, -3, 2, 2))
            cap = self._captions[i] if i < len(self._captions) else ""
            if cap:
                p.setPen(pal.color(QtGui.QPalette.ColorRole.WindowText))
                crect = QtCore.QRect(rect.x() - 3, rect.bottom() + 3, rect.width() + 6, self._caption_h())
                text = cap if self.caption_lines > 1 else cap_fm.elidedText(cap, QtCore.Qt.TextElideMode.ElideRight,
                                                                              crect.width())
                p.drawText(crect, int(QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop
                                      | QtCore.Qt.TextFlag.TextWordWrap), text)
        p.end()

    def caption_font(self, width: int) -> QtGui.QFont:
        """The font of one-line captions ``width`` pixels wide: the widget's font, or the largest smaller one
        (down to 3/4 of its size) at which every caption of the grid fits -- one size for the whole grid;
        a name still too wide at 3/4 size is elided."""
        key = (tuple(self._captions), int(width), self.font().key())
        if self._caption_cache is not None and self._caption_cache[0] == key:     # (painted ~10x a second)
            return QtGui.QFont(self._caption_cache[1])
        font = QtGui.QFont(self.font())
        size = font.pointSizeF()
        caps = [c for c in self._captions if c]
        if size > 0 and caps:
            for step in range(6):                    # 100 %, 95 %, ... 75 % of the size
                font.setPointSizeF(size * (1 - 0.05 * step))
                if max(QtGui.QFontMetrics(font).horizontalAdvance(c) for c in caps) <= width:
                    break
        self._caption_cache = (key, QtGui.QFont(font))
        return font

""""What the computer sees": one image zoomed, with every pixel's 0–255 value drawn on it (the lecture's grid).

* Grey images show one number per pixel; RGB images show R, G and B (three lines per pixel) or one
  channel (the cell tinted in that channel's colour). Text is black or white, whichever contrasts more.
* Big images do not fit legibly: the view shows a crop whose position is marked on the overview
  thumbnail (click or drag there, drag the view itself, or use the arrow keys); the mouse wheel and
  the zoom slider change the cell size. Below ``MIN_FONT_PX`` the numbers are hidden and a hint says to zoom in.
* The shape line spells out the count: ``32 × 32 × 3 = 3072 numbers``.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui.theme import style_for
from gui.widgets.pixel_numbers import CHANNELS, MIN_FONT_PX, Overview, PixelNumbersView

__all__ = ["ImageNumbers", "PixelNumbersView", "Overview", "shape_text", "CHANNELS", "MIN_FONT_PX"]


def shape_text(shape: tuple) -> str:
    """``(32, 32, 3)`` -> ``"32 × 32 × 3 = 3072 numbers"``; grey images keep their ``× 1``."""
    h, w, c = shape
    return f"{h} × {w} × {c} = {h * w * c} numbers"


class ImageNumbers(QtWidgets.QWidget):
    """The panel: caption, shape line, channel selector, zoom, overview and the number grid."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = PixelNumbersView()
        self.view.setObjectName("pixel_numbers")
        self.overview = Overview(self.view)
        self.caption = QtWidgets.QLabel("")
        self.caption.setObjectName("selected_caption")
        self.caption.setWordWrap(True)
        self.shape_label = QtWidgets.QLabel("")
        self.shape_label.setObjectName("shape_line")
        self.shape_label.setWordWrap(True)
        self.shape_label.setToolTip("Height × width × channels: every number is one input to the classifier")
        self.hover_label = QtWidgets.QLabel("")
        self.hover_label.setObjectName("hover_value")
        self.hint = QtWidgets.QLabel("")
        self.hint.setObjectName("numbers_hint")
        self.hint.setWordWrap(True)
        self.channel_buttons: dict[str, QtWidgets.QToolButton] = {}
        self._channel_group = QtWidgets.QButtonGroup(self)
        chan = QtWidgets.QHBoxLayout()
        chan.setSpacing(2)
        self.channel_label = QtWidgets.QLabel("Channel")
        for name in CHANNELS:
            b = QtWidgets.QToolButton()
            b.setText("RGB" if name == "all" else name)
            b.setCheckable(True)
            b.setObjectName(f"channel_{name}")
            b.setToolTip("All three numbers per pixel (R, G, B from top to bottom)" if name == "all"
                         else f"Only the {dict(R='red', G='green', B='blue')[name]} channel")
            self._channel_group.addButton(b)
            self.channel_buttons[name] = b
            chan.addWidget(b)
            b.clicked.connect(lambda _=False, n=name: self.set_channel(n))
        chan.addStretch(1)
        self.channel_buttons["all"].setChecked(True)
        self.zoom = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.zoom.setObjectName("zoom")
        self.zoom.setRange(4, 120)
        self.zoom.setToolTip("Cell size in screen pixels (or use the mouse wheel on the grid)")
        self.zoom.valueChanged.connect(lambda v: self.view.set_cell(v))
        self.view.view_changed.connect(self._sync)
        self.view.hovered.connect(self._on_hover)

        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.overview, 0, QtCore.Qt.AlignmentFlag.AlignHCenter)
        side.addWidget(self.caption)
        side.addWidget(self.shape_label)
        side.addWidget(self.channel_label)
        side.addLayout(chan)
        zl = QtWidgets.QHBoxLayout()
        zl.addWidget(QtWidgets.QLabel("Zoom"))
        zl.addWidget(self.zoom, 1)
        side.addLayout(zl)
        side.addStretch(1)
        side_w = QtWidgets.QWidget()
        side_w.setLayout(side)
        side_w.setFixedWidth(230)
        self.side = side_w
        self._big_font(style_for(False).font_pt * 1.3)
        below = QtWidgets.QHBoxLayout()   # under the grid: what the mouse points at, and how to read it
        below.addWidget(self.hint, 1)
        below.addWidget(self.hover_label)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.view, 1)
        right.addLayout(below)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(side_w)
        lay.addLayout(right, 1)

    def set_image(self, image: np.ndarray | None, caption: str = "") -> None:
        self.view.set_image(image)
        self.overview.set_image(image)
        self.caption.setText(caption)
        self.shape_label.setText(shape_text(image.shape) if image is not None else "")
        rgb = image is not None and image.shape[2] == 3
        self.channel_label.setVisible(rgb)
        for b in self.channel_buttons.values():
            b.setVisible(rgb)
        self._sync()

    def set_channel(self, name: str) -> None:
        self.view.set_channel(name)
        self.channel_buttons[name].setChecked(True)
        self._sync()

    def _big_font(self, point_size: float) -> None:
        f = QtGui.QFont(self.shape_label.font())
        f.setPointSizeF(point_size)
        f.setBold(True)
        self.shape_label.setFont(f)

    def set_presentation(self, on: bool, side_width: int) -> None:
        self._big_font(style_for(on).font_pt * 1.3)
        self.side.setFixedWidth(side_width)
        side = int(side_width * (0.55 if on else 0.6))
        self.overview.setFixedSize(side, side)
        self.view.reset_zoom()

    def _sync(self) -> None:
        with QtCore.QSignalBlocker(self.zoom):
            self.zoom.setValue(self.view.cell)
        v = self.view
        if v.image is None:
            self.hint.setText("")
            return
        r0, c0, rows, cols = v.visible_rect()
        h, w = v.image.shape[:2]
        parts = []
        if (rows, cols) != (h, w):
            parts.append(f"Showing rows {r0}–{r0 + rows - 1}, columns {c0}–{c0 + cols - 1}; "
                         f"drag to see the rest.")
        if not v.numbers_visible():
            parts.append("Zoom in to read the numbers.")
        elif v.three_numbers():
            parts.append("Each pixel: red, green, blue (0–255).")
        else:
            parts.append("0 = dark, 255 = bright.")
        self.hint.setText(" ".join(parts))

    def _on_hover(self, row: int, col: int) -> None:
        if row < 0 or self.view.image is None:
            self.hover_label.setText("")
            return
        px = self.view.image[row, col]
        vals = " ".join(f"{n} {int(v)}" for n, v in zip("RGB", px)) if px.shape[0] == 3 else str(int(px[0]))
        self.hover_label.setText(f"row {row}, col {col}: {vals}")

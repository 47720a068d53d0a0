"""Mean images: the average of all training images, and one average per class (computed in ``core``).

``compute_means(X, y, n_classes, ctx)`` runs in a worker (``core.preprocess.mean_image`` over the whole
training set, then per class); :class:`MeanImages` shows the result. Clicking a class mean emits
``clicked(class_index)`` (-1 = the overall mean), so the Data tab can show its numbers too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui.widgets.image_grid import ImageGrid
from gui.widgets.qimage import to_pixmap

__all__ = ["MeanImages", "Means", "compute_means"]


@dataclass
class Means:
    """Display-ready means: ``overall`` (H, W, C) uint8, ``per_class`` (C, H, W, C) uint8 (zeros when empty)."""
    overall: np.ndarray
    per_class: np.ndarray
    counts: np.ndarray  # (C,) images per class behind each mean


def _to_uint8(mean: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(mean), 0, 255).astype(np.uint8)


def compute_means(X: np.ndarray, y: np.ndarray, n_classes: int, ctx=None) -> Means:
    """Overall and per-class mean images (worker thread; ``ctx`` is a TaskContext or None)."""
    from core.preprocess import mean_image

    overall = _to_uint8(mean_image(X))
    per_class = np.zeros((n_classes,) + overall.shape, np.uint8)
    counts = np.bincount(y, minlength=n_classes)
    for c in range(n_classes):
        if ctx is not None:
            ctx.check()
            ctx.progress(c, n_classes, f"class {c + 1} of {n_classes}")
        if counts[c]:
            per_class[c] = _to_uint8(mean_image(X[y == c]))
    return Means(overall, per_class, counts)


class _ClickableLabel(QtWidgets.QLabel):
    clicked = QtCore.Signal()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit()


class MeanImages(QtWidgets.QWidget):
    """The overall mean (large, left) beside a grid of per-class means with class names."""

    clicked = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.means: Means | None = None
        self._class_names: list[str] = []
        self.overall = _ClickableLabel()
        self.overall.setObjectName("overall_mean")
        self.overall.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.overall.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.overall.setToolTip("The average of every training image. Click to see its numbers.")
        self.overall.clicked.connect(lambda: self.clicked.emit(-1))
        self.overall_caption = QtWidgets.QLabel("")
        self.overall_caption.setObjectName("overall_caption")
        self.overall_caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.overall_caption.setWordWrap(True)
        self.grid = ImageGrid(tile=48)
        self.grid.setObjectName("class_means")
        self.grid.clicked.connect(self.clicked)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("means_status")
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.grid)
        self.scroll = scroll
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.overall, 1)
        left.addWidget(self.overall_caption)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.status)
        right.addWidget(scroll, 1)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(left)
        lay.addLayout(right, 1)
        self._big = 120
        self.overall.setFixedWidth(self._big + 20)
        self.overall_caption.setFixedWidth(self._big + 20)

    def clear(self, message: str = "") -> None:
        self.means = None
        self.overall.clear()
        self.overall_caption.setText("")
        self.grid.set_images([])
        self.status.setText(message)

    def set_means(self, means: Means, class_names: list[str]) -> None:
        self.means = means
        self._class_names = list(class_names)
        self.overall.setPixmap(to_pixmap(means.overall, self._big))
        self.overall_caption.setText(f"Mean of all {int(means.counts.sum()):,} training images")
        self.grid.set_images(means.per_class, captions=self._class_names)
        self.status.setText("Mean image of each class (click one to see its numbers)")

    def set_sizes(self, big: int, tile: int) -> None:
        self._big = big
        self.overall.setFixedWidth(big + 20)
        self.overall_caption.setFixedWidth(big + 20)
        self.grid.set_tile(tile)
        if self.means is not None:
            self.overall.setPixmap(to_pixmap(self.means.overall, big))

    def mean_image(self, index: int) -> np.ndarray | None:
        if self.means is None:
            return None
        return self.means.overall if index < 0 else self.means.per_class[index]

    def pixmap_for_export(self) -> QtGui.QPixmap:
        return self.grab()

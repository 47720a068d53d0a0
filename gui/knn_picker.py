"""The test-image picker above the Matches view: a page of test images to click, paging arrows,
an index box, and the "Random" / "Next misclassified" buttons (their logic lives in the panel).

When whole-test-set predictions are known (after an evaluation with the same k and metric), each
tile gets a green (right) or red (wrong) frame.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from gui.knn_plots import page_bounds
from gui.theme import STYLE_NORMAL
from gui.widgets.image_grid import ImageGrid

__all__ = ["TestPicker", "GOOD", "BAD"]

GOOD, BAD = "#2ca02c", "#d62728"


class TestPicker(QtWidgets.QWidget):
    """Page through the test images; ``picked(index)`` when one is clicked or typed."""

    picked = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.images: np.ndarray | None = None
        self.correct: np.ndarray | None = None     # (N,) bool or None
        self.current: int | None = None
        self.page = 0
        self.page_size = 20

        self.prev_button = QtWidgets.QToolButton(text="◀")
        self.prev_button.setToolTip("Previous page of test images")
        self.next_button = QtWidgets.QToolButton(text="▶")
        self.next_button.setToolTip("Next page of test images")
        self.strip = ImageGrid(tile=STYLE_NORMAL.tile, columns=self.page_size)
        self.strip.setObjectName("test_strip")
        self.strip.setToolTip("Click a test image to find its nearest training images")
        self.random_button = QtWidgets.QPushButton("Random")
        self.random_button.setObjectName("random_button")
        self.miss_button = QtWidgets.QPushButton("Next misclassified")
        self.miss_button.setObjectName("next_misclassified_button")
        self.miss_button.setToolTip("Jump to the next test image that kNN gets wrong (with the current k and metric)")
        self.index_spin = QtWidgets.QSpinBox()
        self.index_spin.setObjectName("test_index_spin")
        self.index_spin.setPrefix("test image #")
        self.index_spin.setKeyboardTracking(False)
        self.page_label = QtWidgets.QLabel()

        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.prev_button)
        lay.addWidget(self.strip, 1)
        lay.addWidget(self.next_button)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.index_spin)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.random_button)
        row.addWidget(self.miss_button)
        side.addLayout(row)
        side.addWidget(self.page_label)
        lay.addLayout(side)

        self.prev_button.clicked.connect(lambda: self.set_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.set_page(self.page + 1))
        self.strip.clicked.connect(lambda i: self.picked.emit(self.page * self.page_size + i))
        self.index_spin.valueChanged.connect(self.picked)
        self.set_images(None)

    def set_images(self, images: np.ndarray | None) -> None:
        """The test images ``(N, H, W, C)`` uint8 (None: nothing to pick)."""
        self.images, self.correct, self.current, self.page = images, None, None, 0
        on = images is not None and len(images) > 0
        for w in (self.prev_button, self.next_button, self.random_button, self.miss_button, self.index_spin):
            w.setEnabled(on)
        if not on:
            self.strip.set_images([])
            self.page_label.clear()
            return
        with QtCore.QSignalBlocker(self.index_spin):
            self.index_spin.setRange(0, len(images) - 1)
        self._paint()

    def set_current(self, index: int) -> None:
        """Mark ``index`` as chosen and show its page (no signal)."""
        self.current = int(index)
        with QtCore.QSignalBlocker(self.index_spin):
            self.index_spin.setValue(self.current)
        self.page = self.current // self.page_size
        self._paint()

    def set_correct(self, correct: np.ndarray | None) -> None:
        """Green/red frames from whole-test-set results, or None to drop them."""
        self.correct = correct
        self._paint()

    def set_page(self, page: int) -> None:
        if self.images is not None:
            n_pages = page_bounds(0, self.page_size, len(self.images))[2]
            self.page = int(np.clip(page, 0, n_pages - 1))
            self._paint()

    def set_style(self, style) -> None:
        self.page_size = 12 if style.tile > 60 else 20
        self.strip.columns = self.page_size
        self.strip.set_tile(style.tile)
        if self.current is not None:
            self.page = self.current // self.page_size
        self._paint()

    def _paint(self) -> None:
        if self.images is None:
            return
        n = len(self.images)
        lo, hi, n_pages = page_bounds(self.page, self.page_size, n)
        borders = None
        if self.correct is not None:
            borders = [GOOD if self.correct[i] else BAD for i in range(lo, hi)]
        self.strip.set_images(self.images[lo:hi], None, borders)
        cur = self.current
        self.strip.set_selected(cur - lo if cur is not None and lo <= cur < hi else None)
        self.page_label.setText(f"images {lo}–{hi - 1} of {n:,}" + (" · green = right, red = wrong" if borders else ""))
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < n_pages - 1)

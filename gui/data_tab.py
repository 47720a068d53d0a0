"""The Data tab (the lecture's first slides): the example training set, what the computer sees, mean images.

Left: one row per class -- name, train/test counts, and the first training images of that class
(the slide "Example training set"); it scrolls for CIFAR-100. Click an image: the right side shows it
zoomed with its pixel values (:mod:`gui.image_numbers`). Below: the mean training image and one mean
per class (:mod:`gui.mean_images`, computed in a worker, job kind ``"data_means"``).
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from gui.image_numbers import ImageNumbers
from gui.mean_images import MeanImages, compute_means
from gui.theme import class_color, style_for
from gui.widgets.image_grid import ImageGrid
from gui.workspace import Workspace

__all__ = ["DataTab", "ClassRows", "EXAMPLES_PER_CLASS"]

EXAMPLES_PER_CLASS = 10


class ClassRows(QtWidgets.QWidget):
    """One row per class: a label (name, counts) and an :class:`ImageGrid` of example images.

    ``clicked(class_index, position)`` -- position within that class's examples.
    """

    clicked = QtCore.Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.labels: list[QtWidgets.QLabel] = []
        self.grids: list[ImageGrid] = []
        self.examples: list[np.ndarray] = []   # per class: indices into X_train
        self._images: np.ndarray | None = None
        self._shown = EXAMPLES_PER_CLASS
        self.tile = style_for(False).tile
        self.label_width = 150
        self._layout = QtWidgets.QGridLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setHorizontalSpacing(8)
        self._layout.setVerticalSpacing(2)
        self._layout.setColumnStretch(1, 1)

    def set_rows(self, images: np.ndarray, examples: list[np.ndarray], names: list[str],
                 train_counts: np.ndarray, test_counts: np.ndarray) -> None:
        for w in self.labels + self.grids:
            self._layout.removeWidget(w)
            w.deleteLater()
        self.labels, self.grids = [], []
        self._images, self.examples = images, examples
        n = len(names)
        for c, name in enumerate(names):
            color = class_color(c, n).name()
            lab = QtWidgets.QLabel(f'<span style="color:{color}">■</span> <b>{name}</b><br>'
                                   f'<span>{int(train_counts[c]):,} train · {int(test_counts[c]):,} test</span>')
            lab.setObjectName(f"class_label_{c}")
            lab.setFixedWidth(self.label_width)
            lab.setToolTip(f"class {c}: {name}")
            grid = ImageGrid(tile=self.tile)
            grid.setObjectName(f"class_row_{c}")
            grid.clicked.connect(lambda i, c=c: self._on_click(c, i))
            self._layout.addWidget(lab, c, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
            self._layout.addWidget(grid, c, 1)
            self.labels.append(lab)
            self.grids.append(grid)
        for r in range(self._layout.rowCount()):
            self._layout.setRowStretch(r, 0)
        self._layout.setRowStretch(n, 1)  # rows stay compact at the top
        self._fill()

    def _fill(self) -> None:
        for c, grid in enumerate(self.grids):
            idx = self.examples[c][: self._shown]
            grid.set_images(self._images[idx] if idx.size else np.zeros((0, 1, 1, 1), np.uint8))

    def set_sizes(self, tile: int, label_width: int) -> None:
        self.tile, self.label_width = tile, label_width
        for lab in self.labels:
            lab.setFixedWidth(label_width)
        for g in self.grids:
            g.set_tile(tile)
        self.fit_width(self.width())

    def fit_width(self, width: int) -> None:
        """Show as many examples per row as fit (at most :data:`EXAMPLES_PER_CLASS`)."""
        n = int(np.clip((width - self.label_width - 24) // (self.tile + 6), 1, EXAMPLES_PER_CLASS))
        if n != self._shown:
            self._shown = n
            selected = self.selected()
            self._fill()
            if selected is not None and selected[1] < n:
                self.grids[selected[0]].set_selected(selected[1])

    def shown_per_row(self) -> int:
        return self._shown

    def preferred_width(self) -> int:
        """Width that shows all :data:`EXAMPLES_PER_CLASS` examples per row."""
        return self.label_width + 24 + EXAMPLES_PER_CLASS * (self.tile + 6) + 8

    def _on_click(self, c: int, i: int) -> None:
        self.select(c, i)
        self.clicked.emit(c, i)

    def select(self, c: int, i: int) -> None:
        for k, g in enumerate(self.grids):
            g.set_selected(i if k == c else None)

    def selected(self) -> tuple[int, int] | None:
        for c, g in enumerate(self.grids):
            if g.selected() is not None:
                return c, g.selected()
        return None


class DataTab(Workspace):
    """The Data workspace: class grid, pixel numbers of the selected image, mean images."""

    title = "Data"

    def __init__(self, runner, parent=None):
        super().__init__(runner, parent)
        self.header = QtWidgets.QLabel("Load a data set to see its images.")
        self.header.setObjectName("section_title")
        self.header.setWordWrap(True)
        self.rows = ClassRows()
        self.rows.clicked.connect(self._on_image_clicked)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setObjectName("class_grid_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.rows)
        self.scroll.viewport().installEventFilter(self)
        left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.header)
        ll.addWidget(self.scroll, 1)

        self.numbers = ImageNumbers()
        self.means = MeanImages()
        self.means.clicked.connect(self._on_mean_clicked)
        numbers_box = QtWidgets.QGroupBox("What the computer sees")
        QtWidgets.QVBoxLayout(numbers_box).addWidget(self.numbers)
        means_box = QtWidgets.QGroupBox("Mean images of the training set")
        QtWidgets.QVBoxLayout(means_box).addWidget(self.means)
        self.right_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.right_split.addWidget(numbers_box)
        self.right_split.addWidget(means_box)
        self.right_split.setStretchFactor(0, 3)
        self.right_split.setStretchFactor(1, 1)
        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.split.setObjectName("data_split")
        self.split.addWidget(left)
        self.split.addWidget(self.right_split)
        self.split.setStretchFactor(0, 4)
        self.split.setStretchFactor(1, 5)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.split)
        self.selected: tuple[int, int] | None = None  # (class, index into X_train)
        self._split_by_user = False  # until the user drags the splitter, the grid keeps its full-row width
        self.split.splitterMoved.connect(lambda *_: setattr(self, "_split_by_user", True))

    # -- Workspace hooks -----------------------------------------------------------------------
    def set_dataset(self, dataset, *, val_fraction: float = 0.1, seed: int = 0) -> None:
        super().set_dataset(dataset, val_fraction=val_fraction, seed=seed)
        self.runner.cancel("data_means")
        if dataset is None:
            self.header.setText("Load a data set to see its images.")
            self.rows.set_rows(np.zeros((0, 1, 1, 1), np.uint8), [], [], np.zeros(0), np.zeros(0))
            self.numbers.set_image(None)
            self.means.clear()
            return
        h, w, c = dataset.image_shape
        self.header.setText(
            f"Example training set · {dataset.n_classes} classes · {h}×{w} pixels"
            f"{' RGB' if c == 3 else ' grey'} · {dataset.n_train:,} images — click one to see its numbers")
        y = dataset.y_train
        examples = [np.flatnonzero(y == k)[:EXAMPLES_PER_CLASS] for k in range(dataset.n_classes)]
        self.rows.set_rows(dataset.X_train, examples, dataset.class_names,
                           dataset.class_counts("train"), dataset.class_counts("test"))
        self.rows.fit_width(self.scroll.viewport().width())
        first = next((k for k, e in enumerate(examples) if e.size), None)
        if first is not None:
            self.select_image(first, 0)
        else:
            self.numbers.set_image(None)
        self._start_means(dataset)

    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        st = style_for(on)
        self.rows.set_sizes(st.tile, 230 if on else 150)
        self.means.set_sizes(st.big_image // 2 if on else 120, st.tile)
        self.numbers.set_presentation(on, 300 if on else 230)
        h = self.right_split.height()
        if h > 0:  # the numbers need the room on a projector
            top = int(h * (0.72 if on else 0.68))
            self.right_split.setSizes([top, h - top])
        self._size_split()

    def shutdown(self) -> None:
        self.runner.cancel("data_means")

    def export_targets(self) -> dict:
        return {"Class grid": self.rows, "Pixel numbers": self.numbers.view, "Mean images": self.means}

    def table_for_export(self):
        ds = self.dataset
        if ds is None:
            return None
        tr, te = ds.class_counts("train"), ds.class_counts("test")
        rows = [[k, name, int(tr[k]), int(te[k])] for k, name in enumerate(ds.class_names)]
        return ["class", "name", "train images", "test images"], rows

    def save_settings(self, settings: QtCore.QSettings) -> None:
        settings.setValue("channel", self.numbers.view.channel)

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        ch = settings.value("channel", "all")
        if ch in self.numbers.channel_buttons:
            self.numbers.set_channel(ch)

    # -- selection -----------------------------------------------------------------------------
    def select_image(self, class_index: int, position: int) -> None:
        """Select the ``position``-th example of ``class_index`` (as a click would)."""
        self.rows.select(class_index, position)
        self._on_image_clicked(class_index, position)

    def _on_image_clicked(self, class_index: int, position: int) -> None:
        ds = self.dataset
        idx = int(self.rows.examples[class_index][position])
        self.selected = (class_index, idx)
        self.numbers.set_image(ds.X_train[idx], f"{ds.class_names[class_index]} · training image #{idx}")

    def _on_mean_clicked(self, index: int) -> None:
        img = self.means.mean_image(index)
        if img is None:
            return
        name = "all classes" if index < 0 else f"class {self.dataset.class_names[index]}"
        self.rows.select(-1, 0)
        self.selected = None
        self.numbers.set_image(img, f"Mean image of {name} (rounded)")

    # -- means (worker) ------------------------------------------------------------------------
    def _start_means(self, ds) -> None:
        self.means.clear("Computing mean images…")
        X, y, n = ds.X_train, ds.y_train, ds.n_classes
        self.runner.start("data_means", lambda ctx: compute_means(X, y, n, ctx), label="Mean images",
                          on_result=lambda m, ds=ds: self._show_means(ds, m))

    def _show_means(self, ds, means) -> None:
        if ds is self.dataset:
            self.means.set_means(means, ds.class_names)

    def _size_split(self) -> None:
        """Give the class grid room for a full row of examples (at most half the width)."""
        total = self.split.width()
        if total <= 0:
            return
        scroll_bar = self.scroll.verticalScrollBar().sizeHint().width()
        left = min(self.rows.preferred_width() + scroll_bar + 4, int(total * 0.5))
        self.split.setSizes([left, total - left])

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if not self._split_by_user:
            self._size_split()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._split_by_user:
            self._size_split()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.scroll.viewport() and event.type() == QtCore.QEvent.Type.Resize:
            self.rows.fit_width(event.size().width())
        return super().eventFilter(obj, event)

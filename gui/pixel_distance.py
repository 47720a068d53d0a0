"""Pixel distance is not informative: shifted, brightened, tinted and occluded copies of one image.

For the chosen test image the panel shows each changed copy, its L2 and L1 distance to the original,
and the training image that is now nearest to it. In "same distance" mode (the lecture's picture)
every change is tuned to the distance of a 1-pixel shift, so very different-looking changes sit
equally far away in pixel space -- often farther than a completely different training image.
The changes themselves come from :mod:`core.perturb`.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core import perturb
from gui.app_style import plot_colors
from gui.knn_plots import ThemedPlot, format_distance, style_plot, text_color
from gui.knn_session import sparing
from gui.theme import STYLE_NORMAL, class_color
from gui.widgets.qimage import to_pixmap

__all__ = ["PixelDistancePanel"]

_SYNC_LIMIT = 5_000_000
_TINTS = {"orange": (255, 140, 0), "blue": (40, 90, 255), "green": (40, 200, 60), "magenta": (220, 40, 200)}
_GOOD, _BAD = "#2ca02c", "#d62728"


def _adjective(v: perturb.Perturbation) -> str:
    if v.name == "brightness":
        return "brighter" if v.strength >= 0 else "darker"
    return v.name


class PixelDistancePanel(QtWidgets.QWidget):
    """Changed copies of one image with their pixel distances and their new nearest training image."""

    status_message = QtCore.Signal(str, int)

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.session = None
        self.k, self.metric_name = 5, "l2"
        self.index: int | None = None
        self.versions: list[perturb.Perturbation] = []
        self.l1 = self.l2 = np.zeros(0)
        self.nearest: tuple[np.ndarray, np.ndarray] | None = None   # (dist (n+1,), idx (n+1,)) orig first
        self._follow_index: int | None = None
        self._dirty = False
        self._style = STYLE_NORMAL
        self._rng = np.random.default_rng(0)

        # -- controls -----------------------------------------------------------------------
        self.image_label = QtWidgets.QLabel("No image")
        self.image_label.setObjectName("pixel_image_label")
        self.follow_check = QtWidgets.QCheckBox("Follow the Matches tab")
        self.follow_check.setObjectName("follow_matches")
        self.follow_check.setChecked(True)
        self.random_button = QtWidgets.QPushButton("Random image")
        self.random_button.setObjectName("pixel_random_button")
        self.same_radio = QtWidgets.QRadioButton("Same distance as the shift (the lecture's picture)")
        self.same_radio.setObjectName("same_distance_mode")
        self.custom_radio = QtWidgets.QRadioButton("My own strengths")
        self.custom_radio.setObjectName("custom_mode")
        self.same_radio.setChecked(True)
        self.shift_spin = QtWidgets.QSpinBox()
        self.shift_spin.setObjectName("shift_spin")
        self.shift_spin.setRange(1, 6)
        self.shift_spin.setSuffix(" px")
        self.bright_spin = QtWidgets.QSpinBox()
        self.bright_spin.setObjectName("brightness_spin")
        self.bright_spin.setRange(-200, 200)
        self.bright_spin.setValue(40)
        self.tint_spin = QtWidgets.QSpinBox()
        self.tint_spin.setObjectName("tint_spin")
        self.tint_spin.setRange(0, 100)
        self.tint_spin.setValue(30)
        self.tint_spin.setSuffix(" %")
        self.tint_combo = QtWidgets.QComboBox()
        self.tint_combo.setObjectName("tint_colour")
        self.tint_combo.addItems(list(_TINTS))
        self.occ_spin = QtWidgets.QSpinBox()
        self.occ_spin.setObjectName("occlusion_spin")
        self.occ_spin.setRange(1, 32)
        self.occ_spin.setValue(8)
        self.occ_spin.setSuffix(" px")

        row1 = QtWidgets.QHBoxLayout()
        row1.addWidget(self.image_label, 1)
        row1.addWidget(self.follow_check)
        row1.addWidget(self.random_button)
        row2 = QtWidgets.QHBoxLayout()
        row2.addWidget(self.same_radio)
        row2.addWidget(self.custom_radio)
        row2.addSpacing(12)
        for text, w in (("shift", self.shift_spin), ("brightness", self.bright_spin), ("tint", self.tint_spin),
                        ("", self.tint_combo), ("occluder", self.occ_spin)):
            if text:
                row2.addWidget(QtWidgets.QLabel(text))
            row2.addWidget(w)
        row2.addStretch(1)

        # -- the versions grid ------------------------------------------------------------------
        self.grid_box = QtWidgets.QWidget()
        self.grid = QtWidgets.QGridLayout(self.grid_box)
        self.grid.setHorizontalSpacing(18)
        self.cells: list[dict] = []
        for col in range(5):
            cell = {key: QtWidgets.QLabel() for key in ("title", "image", "dist", "near_img", "near_text")}
            for key, lab in cell.items():
                lab.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                lab.setObjectName(f"pixel_{key}_{col}")
                if key in ("title", "dist", "near_text"):
                    lab.setWordWrap(True)
            for row, key in enumerate(("title", "image", "dist", "near_img", "near_text")):
                align = QtCore.Qt.AlignmentFlag.AlignHCenter if key in ("image", "near_img") else \
                    QtCore.Qt.AlignmentFlag(0)
                self.grid.addWidget(cell[key], row, col, alignment=align)
            self.cells.append(cell)
        self._set_floors()
        self.headline = QtWidgets.QLabel()
        self.headline.setObjectName("pixel_headline")
        self.headline.setWordWrap(True)

        self.bars_plot = ThemedPlot()
        self.bars_plot.setObjectName("pixel_distance_bars")
        bp = self.bars_plot.plotItem
        bp.setMenuEnabled(False)
        bp.hideButtons()
        bp.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        bp.addItem(self.bars)
        self.ref_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#444", width=2, style=QtCore.Qt.PenStyle.DashLine))
        self.ref_text = pg.TextItem("", anchor=(0, 1))
        bp.addItem(self.ref_text)
        self.ref_line.hide()          # (empty, visible text items make pyqtgraph repaint endlessly)
        self.ref_text.hide()
        self.bar_texts: list[pg.TextItem] = []
        bp.addItem(self.ref_line)
        self.bars_plot.setMinimumHeight(220)
        self.bars_plot.setMaximumHeight(340)
        style_plot(bp, self._style)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.headline)
        lay.addWidget(self.grid_box)
        lay.addWidget(self.bars_plot, 1)
        lay.addStretch(0)

        for w in (self.shift_spin, self.bright_spin, self.tint_spin, self.occ_spin):
            w.valueChanged.connect(self._schedule)
        self.tint_combo.currentIndexChanged.connect(self._schedule)
        self.same_radio.toggled.connect(self._on_mode)
        self.follow_check.toggled.connect(self._on_follow)
        self.random_button.clicked.connect(self.show_random)
        self._timer = QtCore.QTimer(self, singleShot=True, interval=60)   # debounce the spin boxes
        self._timer.timeout.connect(self.recompute)
        self._repaint_timer = QtCore.QTimer(self, singleShot=True, interval=30)
        self._repaint_timer.timeout.connect(self._repaint)
        self._on_mode()

    # -- inputs -----------------------------------------------------------------------------------
    def set_session(self, session) -> None:
        self.runner.cancel("knn-perturb")
        self.session = session
        self.index = None
        self.versions, self.nearest = [], None
        if session is None:
            self.image_label.setText("No image")
            return
        self._rng = np.random.default_rng(session.generation + 1)
        self.occ_spin.setMaximum(min(session.dataset.image_shape[:2]))
        self.occ_spin.setValue(max(2, min(session.dataset.image_shape[:2]) // 4))
        self.show_test_image(self._follow_index or 0)

    def set_k_metric(self, k: int, metric: str) -> None:
        changed = metric != self.metric_name
        self.k, self.metric_name = k, metric
        if changed and self.session is not None and self.index is not None:
            self.recompute()

    def follow_test_image(self, index: int) -> None:
        """The Matches tab picked ``index``: follow it unless the user unticked "Follow"."""
        self._follow_index = int(index)
        if self.follow_check.isChecked() and self.session is not None and index != self.index:
            self.show_test_image(index)

    def _on_follow(self, on: bool) -> None:
        if on and self._follow_index is not None:
            self.show_test_image(self._follow_index)

    def show_random(self) -> None:
        if self.session is not None:
            self.follow_check.setChecked(False)
            self.show_test_image(int(self._rng.integers(self.session.dataset.n_test)))

    def show_test_image(self, index: int) -> None:
        if self.session is None:
            return
        ds = self.session.dataset
        self.index = int(np.clip(index, 0, ds.n_test - 1))
        self.image_label.setText(f"Test image #{self.index} · <b>{ds.class_names[ds.y_test[self.index]]}</b>")
        self.recompute()

    def _on_mode(self) -> None:
        custom = self.custom_radio.isChecked()
        for w in (self.bright_spin, self.tint_spin, self.tint_combo, self.occ_spin):
            w.setEnabled(custom)
        self._schedule()

    def _schedule(self) -> None:
        self._timer.start()

    # -- computing ---------------------------------------------------------------------------------
    def recompute(self) -> None:
        """Make the versions and find their nearest training images (only while the tab is visible)."""
        if self.session is None or self.index is None:
            return
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        ds = self.session.dataset
        img = ds.X_test[self.index]
        tint = _TINTS[self.tint_combo.currentText()]
        if self.same_radio.isChecked():
            self.versions = perturb.equal_distance_versions(img, shift_px=self.shift_spin.value(),
                                                            metric=self.metric_name, tint_color=tint)
        else:
            self.versions = perturb.make_versions(img, shift_px=self.shift_spin.value(),
                                                  brightness=self.bright_spin.value(), tint_color=tint,
                                                  tint_strength=self.tint_spin.value() / 100.0,
                                                  occlusion_size=self.occ_spin.value())
        self.l1, self.l2 = perturb.version_distances(img, [v.image for v in self.versions])
        self.nearest = None
        self._paint()
        queries = self.session.query_features(np.stack([img] + [v.image for v in self.versions]), self.metric_name)
        model, key = self.session.models[self.metric_name], (self.session.generation, self.index, self.metric_name)

        def work(ctx=None):
            dist, idx = model.kneighbors(queries, k=1, cancel=None if ctx is None else ctx.cancelled)
            return key, dist[:, 0], idx[:, 0]

        if self.session.n_values <= _SYNC_LIMIT:
            self._on_nearest(work())
        else:
            self.runner.start("knn-perturb", sparing(work), label="Finding the nearest training images",
                              on_result=self._on_nearest)

    def _on_nearest(self, result) -> None:
        key, dist, idx = result
        if self.session is None or key != (self.session.generation, self.index, self.metric_name):
            return
        self.nearest = (dist, idx)
        self._paint()

    # -- drawing ----------------------------------------------------------------------------------------
    def _paint(self) -> None:
        ds = self.session.dataset
        img = ds.X_test[self.index]
        true = int(ds.y_test[self.index])
        columns = [("original", img, None)] + [(v.description, v.image, i) for i, v in enumerate(self.versions)]
        big, small = self._image_sizes(len(columns))
        for col, cell in enumerate(self.cells):
            visible = col < len(columns)
            for lab in cell.values():
                lab.setVisible(visible)
            if not visible:
                continue
            title, image, vi = columns[col]
            cell["title"].setText(f"<b>{title}</b>")
            cell["image"].setPixmap(to_pixmap(image, big))
            if vi is None:
                cell["dist"].setText("distance to itself: 0")
            else:
                first, second = ("L2", "L1") if self.metric_name == "l2" else ("L1", "L2")
                vals = {"L2": self.l2[vi], "L1": self.l1[vi]}
                cell["dist"].setText(f"<b>{first} = {format_distance(vals[first])}</b><br>"
                                     f"{second} = {format_distance(vals[second])}")
            if self.nearest is None:
                cell["near_img"].clear()
                cell["near_text"].setText("searching…")
                continue
            d, nn = self.nearest[0][col], int(self.nearest[1][col])
            lab = int(ds.y_train[nn])
            cell["near_img"].setPixmap(to_pixmap(ds.X_train[nn], small))
            cell["near_img"].setStyleSheet(f"QLabel {{ border: 3px solid {class_color(lab, ds.n_classes).name()}; }}")
            ok = lab == true
            mark = f"<span style='color:{_GOOD if ok else _BAD}'>{'✓' if ok else '✗'}</span>"
            cell["near_text"].setText(f"nearest training image:<br>{mark} <b>{ds.class_names[lab]}</b> "
                                      f"at {format_distance(d)}")
        self._paint_bars()

    def _image_sizes(self, n_columns: int) -> tuple[int, int]:
        """(big, small) pixmap sides that fit the width per column and the height left over by everything
        else on the page -- measured without the images, so a bigger window never needs a bigger minimum
        (sizing them from this widget's own height made the page's minimum grow with it, and in
        presentation mode the window outgrew a 1080-pixel screen)."""
        col_w = (self.grid_box.width() - 40) // max(1, n_columns) - 24
        floor_big, floor_small = self._floors()
        fixed = self.layout().minimumSize().height() - floor_big - floor_small    # all but the image rows
        room = max(0, self.height() - fixed - 12)
        big = int(max(floor_big, min(self._style.big_image * 0.7, col_w, 0.64 * room)))
        small = int(max(floor_small, min(self._style.tile * 2.2, big * 0.55, room - big)))
        return big, small

    def _floors(self) -> tuple[int, int]:
        """The smallest (big, small) image label sides (the small one with its 3 px class-colour border),
        set as the labels' minimum sizes by :meth:`_set_floors`."""
        return self._style.tile, int(self._style.tile * 0.8) + 6

    def _set_floors(self) -> None:
        """The image labels' minimum sizes: so the pixmaps drawn into them never raise the page's minimum
        height (see :meth:`_image_sizes`)."""
        big, small = self._floors()
        for cell in self.cells:
            cell["image"].setMinimumSize(big, big)
            cell["near_img"].setMinimumSize(small, small)

    def _paint_bars(self) -> None:
        names = [v.name for v in self.versions]
        vals = self.l2 if self.metric_name == "l2" else self.l1
        colours = ["#1f77b4", "#ff7f0e", "#e377c2", "#7f7f7f"][:len(names)] if len(names) == 4 else \
            ["#1f77b4", "#ff7f0e", "#7f7f7f"][:len(names)]
        self.bars.setOpts(x=np.arange(len(names)), height=vals, width=0.6, brushes=colours)
        for t in self.bar_texts:
            self.bars_plot.plotItem.removeItem(t)
        self.bar_texts = []
        for i, v in enumerate(vals):
            t = pg.TextItem(format_distance(v), color=text_color(), anchor=(0.5, 1.0))
            t.setFont(self._plot_font())
            t.setPos(i, v)
            self.bars_plot.plotItem.addItem(t)
            self.bar_texts.append(t)
        bp = self.bars_plot.plotItem
        bp.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names)]])
        bp.setLabel("left", f"{self.metric_name.upper()} distance")
        bp.setTitle(f"{self.metric_name.upper()} distance from the original to each changed copy")
        top = float(vals.max()) if vals.size else 1.0
        if self.nearest is not None:
            ref = float(self.nearest[0][0])
            nn = int(self.nearest[1][0])
            ds = self.session.dataset
            self.ref_line.setPos(ref)
            self.ref_text.setColor(text_color())
            self.ref_text.fill = pg.mkBrush(QtGui.QColor(plot_colors()[0]))
            self.ref_text.setFont(self._plot_font())
            self.ref_text.setText(f"- - -  the original's nearest training image (a different "
                                  f"{ds.class_names[ds.y_train[nn]]} picture): {format_distance(ref)}")
            self.ref_text.setPos(-0.55, ref)
            self.ref_line.show()
            self.ref_text.show()
            top = max(top, ref)
            farther = [_adjective(v) for v, d in zip(self.versions, vals) if d > ref]
            if farther:
                self.headline.setText(f"In pixel space, the <b>{', '.join(farther)}</b> cop"
                                      f"{'ies are' if len(farther) > 1 else 'y is'} farther from the original than "
                                      f"a completely different training image (dashed line).")
            else:
                self.headline.setText("Very different-looking changes can be (about) equally far from the original "
                                      "in pixel space.")
        else:
            self.ref_line.hide()
            self.ref_text.hide()
        bp.setXRange(-0.6, len(names) - 0.4, padding=0)
        bp.setYRange(0, top * 1.25 if top > 0 else 1.0, padding=0)

    # -- look / export ---------------------------------------------------------------------------------
    def _plot_font(self) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPointSize(self._style.plot_font_pt)
        return f

    def _repaint(self) -> None:
        if self.session is not None and self.index is not None and self.versions:
            self._paint()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._dirty:
            self.recompute()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._repaint_timer.start()

    def set_style(self, style) -> None:
        self._style = style
        self._set_floors()
        style_plot(self.bars_plot.plotItem, style)
        if self.session is not None and self.index is not None:
            self._paint()

    def export_targets(self) -> dict:
        return {"Pixel distance: distance to the original": self.bars_plot.plotItem}

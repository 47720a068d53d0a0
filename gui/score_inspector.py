"""Score inspector: one real test image -> its class scores, hinge terms and softmax probabilities.

The lecture's cat/car/frog table on a real image: for the chosen model, the scores ``s = W x + b``
(``decision_function`` of a snapshot of the model), then both losses computed on those same scores by
``core.losses``: the hinge terms ``max(0, s_j - s_y + Δ)`` (``hinge_terms``), the probabilities
(``softmax_probabilities``) and ``-ln p_y`` (``softmax_per_example``).

Plots are horizontal bars (class names on the y axis stay readable): scores with the correct class
highlighted and vertical lines at ``s_y`` and at the hinge threshold ``s_y - Δ`` (every other class
whose bar reaches past it pays a hinge term), next to the probability bars.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.losses import hinge_per_example, hinge_terms, softmax_per_example, softmax_probabilities
from gui.loss_curves import model_color, plot_background
from gui.score_table import CORRECT, FREE, PAYS, ScoreTable
from gui.theme import style_for
from gui.widgets.image_grid import ImageGrid
from gui.widgets.qimage import to_pixmap

__all__ = ["ScoreInspector", "CORRECT", "PAYS", "FREE"]

TOP_SHARE_MIN = 0.4     # fit_in leaves at least this much of its splitter to the widgets above


class ScoreInspector(QtWidgets.QWidget):
    """Pick a test image; see its scores, hinge terms and softmax probabilities for one model."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._style = style_for(False)
        self._images = None
        self._shown_image = None        # (images, index, size) of the picture on image_label
        self._labels = None
        self._features = None
        self._class_names: list[str] = []
        self._models: dict = {}
        self._delta = 1.0
        self._rng = np.random.default_rng(0)
        self.index = 0
        self.scores: np.ndarray | None = None

        # picker
        self.strip = ImageGrid(tile=34, columns=10)
        self.strip.setObjectName("inspector_strip")
        self.strip.clicked.connect(self._on_strip)
        self.random_button = QtWidgets.QPushButton("Random image")
        self.random_button.clicked.connect(self.pick_random)
        self.index_spin = QtWidgets.QSpinBox()
        self.index_spin.setPrefix("test #")
        self.index_spin.setKeyboardTracking(False)
        self.index_spin.valueChanged.connect(self.set_index)
        self.model_combo = QtWidgets.QComboBox()
        self.model_combo.setToolTip("Whose scores to show (both losses are computed on the same scores)")
        self.model_combo.currentIndexChanged.connect(lambda _i: self.update_view())
        self.image_label = QtWidgets.QLabel()
        self.image_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.image_label.setFixedSize(128, 128)
        self.caption = QtWidgets.QLabel("")
        self.caption.setObjectName("inspector_caption")
        self.caption.setWordWrap(True)
        self.caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("<b>Score inspector</b>"))
        top.addWidget(self.index_spin)
        top.addWidget(self.random_button)
        top.addWidget(self.model_combo)
        top.addWidget(self.strip, 1)
        left = QtWidgets.QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.image_label, 0, QtCore.Qt.AlignmentFlag.AlignHCenter)
        left.addWidget(self.caption)
        left.addStretch(1)

        # plots
        bg, fg = plot_background(self)
        self._fg = fg
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(bg)
        self.score_plot = self.glw.addPlot(row=0, col=0, title="scores s_j = w_j·x + b_j")
        self.prob_plot = self.glw.addPlot(row=0, col=1, title="softmax p_j")
        self.glw.ci.layout.setColumnStretchFactor(0, 3)
        self.glw.ci.layout.setColumnStretchFactor(1, 2)
        for p in (self.score_plot, self.prob_plot):
            p.hideButtons()
            p.setMenuEnabled(False)
            p.setMouseEnabled(False, False)
            p.invertY(True)
            p.titleLabel.setText(p.titleLabel.text, color=fg)
            for ax in ("left", "bottom"):
                p.getAxis(ax).setPen(fg)
                p.getAxis(ax).setTextPen(fg)
        self.prob_plot.setYLink(self.score_plot)
        self.prob_plot.getAxis("left").setStyle(showValues=False)
        self.prob_plot.setXRange(0, 1, padding=0.02)
        self.prob_plot.getAxis("bottom").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.score_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.prob_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.score_plot.addItem(self.score_bars)
        self.prob_plot.addItem(self.prob_bars)
        self.zero_line = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(fg, width=1))
        self.sy_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(CORRECT, width=2), label="s_y",
                                       labelOpts={"position": 0.97, "color": CORRECT, "anchors": [(0, 1), (0, 1)]})
        self.threshold_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(PAYS, width=2, style=QtCore.Qt.PenStyle.DashLine),
                                              label="s_y − Δ", labelOpts={"position": 0.97, "color": PAYS, "anchors": [(1, 1), (1, 1)]})
        for line in (self.zero_line, self.sy_line, self.threshold_line):
            self.score_plot.addItem(line, ignoreBounds=True)

        # table (rows sized to the font) with the whole height of the body; the summary under the plots
        self.table = ScoreTable()
        self.model = self.table.score_model
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("inspector_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        middle = QtWidgets.QVBoxLayout()
        middle.addWidget(self.glw, 1)
        middle.addWidget(self.summary)

        body = QtWidgets.QHBoxLayout()
        lw = QtWidgets.QWidget()
        lw.setLayout(left)
        self._left = lw
        lw.setFixedWidth(168)
        body.addWidget(lw)
        body.addLayout(middle, 3)
        body.addWidget(self.table, 2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addLayout(body, 1)

    # ------------------------------------------------------------------ inputs
    def set_data(self, images: np.ndarray | None, labels: np.ndarray | None, features: np.ndarray | None,
                 class_names: list[str]) -> None:
        """The test split: images ``(N, H, W, C)`` uint8, labels ``(N,)``, preprocessed features ``(N, D)``."""
        self._images, self._labels, self._features = images, labels, features
        self._shown_image = None
        self._class_names = list(class_names)
        n = 0 if images is None else len(images)
        with QtCore.QSignalBlocker(self.index_spin):
            self.index_spin.setRange(0, max(0, n - 1))
        # the strip: the first test image of every class (up to 20)
        if n:
            firsts = [int(np.flatnonzero(labels == c)[0]) for c in range(len(class_names))
                      if np.any(labels == c)][:20]
            self._strip_idx = firsts
            self.strip.set_images(images[firsts], [class_names[labels[i]] for i in firsts])
        else:
            self._strip_idx = []
            self.strip.set_images([], [])
        ticks = [list(enumerate(self._class_names))]
        self.score_plot.getAxis("left").setTicks(ticks)
        self.prob_plot.getAxis("left").setTicks(ticks)
        self.index = 0
        self.set_features(features)

    def set_features(self, features: np.ndarray | None, models: dict | None = None) -> None:
        """New preprocessed features for the same images (preprocessing changed), and optionally the models
        that go with them (set together, so scores never mix old weights with new features)."""
        self._features = features
        if models is not None:
            self.set_models(models, self._delta)
        else:
            self.update_view()

    def set_models(self, models: dict, delta: float = 1.0) -> None:
        """``{name: model}`` where ``model.decision_function(X)`` gives ``(N, C)`` scores (snapshots)."""
        self._models = dict(models)
        self._delta = float(delta)
        names = list(models)
        current = self.model_combo.currentData()
        if [self.model_combo.itemData(i) for i in range(self.model_combo.count())] != names:
            with QtCore.QSignalBlocker(self.model_combo):
                self.model_combo.clear()
                for n in names:
                    self.model_combo.addItem(f"{n.capitalize()} model", n)
                if current in names:
                    self.model_combo.setCurrentIndex(names.index(current))
        self.model_combo.setVisible(len(names) > 1)
        self.update_view()

    def set_index(self, index: int) -> None:
        if self._images is None or not len(self._images):
            return
        self.index = int(np.clip(index, 0, len(self._images) - 1))
        with QtCore.QSignalBlocker(self.index_spin):
            self.index_spin.setValue(self.index)
        sel = self._strip_idx.index(self.index) if self.index in self._strip_idx else None
        self.strip.set_selected(sel)
        self.update_view()

    def pick_random(self) -> None:
        if self._images is not None and len(self._images):
            self.set_index(int(self._rng.integers(len(self._images))))

    def _on_strip(self, i: int) -> None:
        if i < len(self._strip_idx):
            self.set_index(self._strip_idx[i])

    def current_model(self) -> str | None:
        return self.model_combo.currentData()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_image()

    def _fit_image(self) -> None:
        """The image as large as the style asks, but never taller than the space under the picker row."""
        want = int(self._style.big_image * 0.46)
        room = self.height() - self.strip.sizeHint().height() - 3 * self.caption.fontMetrics().height() - 24
        size = max(64, min(want, room))
        if self.image_label.width() != size:
            self.image_label.setFixedSize(size, size)
            self._left.setFixedWidth(max(size, 150) + 40)
            if self._images is not None and len(self._images):
                self.image_label.setPixmap(to_pixmap(self._images[self.index], size))
                self._shown_image = (id(self._images), self.index, size)

    def set_presentation(self, on: bool) -> None:
        self._style = style_for(on)
        self.strip.set_tile(int(self._style.tile * 0.6))
        self._fit_image()
        font = QtGui.QFont()
        font.setPointSize(self._style.plot_font_pt - (3 if on else 0))   # 10 class names must fit the bars
        for p in (self.score_plot, self.prob_plot):
            for ax in ("left", "bottom"):
                p.getAxis(ax).setStyle(tickFont=font)
            p.titleLabel.setText(p.titleLabel.text, size=f"{self._style.plot_font_pt}pt", color=self._fg)
        self.update_view()

    # ------------------------------------------------------------------ height
    def full_height(self) -> int:
        """The height at which the picker row and every class row of the table show, without scrolling."""
        lay = self.layout()
        m = lay.contentsMargins()
        picker = lay.itemAt(0)
        picker.invalidate()                     # its cached hint may predate the strip's new images and font
        table = self.table.height_for_rows(max(1, len(self._class_names)))
        return m.top() + picker.sizeHint().height() + lay.spacing() + table + m.bottom()

    def fit_in(self, splitter: QtWidgets.QSplitter, share: float = 0.0, grow_only: bool = False) -> None:
        """Size this widget, the lower of the two children of the vertical ``splitter``, to ``share`` of it or
        to :meth:`full_height` if that is more (never more than ``1 - TOP_SHARE_MIN``); ``grow_only`` never
        makes it smaller than it is (a data set with more classes, after the user moved the splitter).
        The splitter should give what it gains or loses later to its other child (stretch factors 1, 0)."""
        holder = splitter.parentWidget()
        if holder is not None and holder.layout() is not None:
            holder.layout().activate()                 # fonts may have just changed the lines above
        sizes = splitter.sizes()
        total = sum(sizes)
        if not splitter.isVisible() or total <= 0:    # not laid out: sizes and height mean nothing yet
            want = self.full_height()
            splitter.setSizes([max(1, splitter.height() - want), want])
            return
        want = min(max(int(total * share), self.full_height()), int(total * (1 - TOP_SHARE_MIN)))
        if grow_only:
            want = max(want, sizes[-1])
        splitter.setSizes([total - want, want])

    # ------------------------------------------------------------------ painting
    def update_view(self) -> None:
        """Recompute the scores of the chosen image with the chosen model and repaint everything."""
        if self._images is None or not len(self._images):
            self.caption.setText("No data set.")
            return
        img = self._images[self.index]
        y = int(self._labels[self.index])
        key = (id(self._images), self.index, self.image_label.width())
        if key != self._shown_image:          # new weights (~1x a second while training) keep the same picture
            self._shown_image = key
            self.image_label.setPixmap(to_pixmap(img, self.image_label.width()))
        name = self.current_model()
        model = self._models.get(name)
        if model is None or self._features is None:
            self.scores = None
            self.caption.setText(f"test #{self.index} · true class <b>{self._class_names[y]}</b>")
            self._clear_plots()
            return
        s = np.asarray(model.decision_function(self._features[self.index:self.index + 1]), dtype=np.float64)
        self.scores = s[0]
        yy = np.array([y])
        terms = hinge_terms(s, yy, self._delta)[0]
        probs = softmax_probabilities(s)[0]
        hinge_L = float(hinge_per_example(s, yy, self._delta)[0])
        soft_L = float(softmax_per_example(s, yy)[0])
        pred = int(np.argmax(self.scores))
        ok = "✓" if pred == y else "✗"
        self.caption.setText(f"test #{self.index} · true <b>{self._class_names[y]}</b> · predicted "
                             f"<b>{self._class_names[pred]}</b> {ok}")
        self._paint_plots(self.scores, terms, probs, y)
        self._fill_table(self.scores, terms, probs, y)
        col = model_color(name).name()
        self.summary.setText(
            f"<span style='color:{col}'><b>{name}</b></span> model's scores, both losses: "
            f"hinge L<sub>i</sub> = Σ<sub>j≠y</sub> max(0, s<sub>j</sub> − s<sub>y</sub> + {self._delta:g}) = "
            f"<b>{hinge_L:.3f}</b> &nbsp;·&nbsp; softmax L<sub>i</sub> = −ln p<sub>y</sub> = −ln {probs[y]:.3f} = "
            f"<b>{soft_L:.3f}</b>")

    def _clear_plots(self) -> None:
        self.score_bars.setOpts(x0=[], y=[], width=[], brushes=[])
        self.prob_bars.setOpts(x0=[], y=[], width=[], brushes=[])
        self.model.set_rows([], [])
        self.summary.setText("")

    def bar_colors(self, terms: np.ndarray, y: int) -> list[QtGui.QColor]:
        return [CORRECT if j == y else (PAYS if terms[j] > 0 else FREE) for j in range(len(terms))]

    def _paint_plots(self, s, terms, probs, y) -> None:
        c = len(s)
        ys = np.arange(c)
        colors = self.bar_colors(terms, y)
        brushes = [pg.mkBrush(col) for col in colors]
        self.score_bars.setOpts(x0=np.minimum(s, 0), y=ys, width=np.abs(s), height=0.7, brushes=brushes, pens=[None] * c)
        self.prob_bars.setOpts(x0=np.zeros(c), y=ys, width=probs, height=0.7, brushes=brushes, pens=[None] * c)
        self.sy_line.setPos(s[y])
        self.threshold_line.setPos(s[y] - self._delta)
        lo, hi = min(0.0, float(s.min()), s[y] - self._delta), max(0.0, float(s.max()))
        pad = 0.08 * (hi - lo or 1.0)
        self.score_plot.setXRange(lo - pad, hi + pad, padding=0)
        self.score_plot.setYRange(-0.6, c - 0.4, padding=0)

    def _fill_table(self, s, terms, probs, y) -> None:
        """One model reset per refresh (cheap while training; per-cell updates are not)."""
        with np.errstate(over="ignore"):
            ex = np.exp(s)
        rows, kinds = [], []
        for j in range(len(s)):
            rows.append([self._class_names[j], _num(s[j]), "(correct class)" if j == y else _num(terms[j]),
                         f"{ex[j]:.3g}", f"{probs[j]:.3f}"])
            kinds.append("correct" if j == y else ("pays" if terms[j] > 0 else ""))
        self.table.show_rows(rows, kinds)

    def table_text(self) -> list[list[str]]:
        """The table as shown (for tests)."""
        return [list(r) for r in self.model.rows]


def _num(v: float) -> str:
    """3 decimals for the lecture-sized numbers, 4 significant digits for huge ones (a diverged W)."""
    return f"{v:.3f}" if abs(v) < 1e4 else f"{v:.4g}"

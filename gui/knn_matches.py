"""Matches: one test image, its k nearest training images (closest first), the vote and the verdict.

The 100 nearest neighbours of the chosen image are found once per (image, metric) with
``KNearestNeighbor.kneighbors`` and cached; moving k only re-votes over the first k of them, which
is instant even with 50,000 training images. A new metric re-queries one row (in the background
when the training set is large).
"""
from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np
from PySide6 import QtCore, QtWidgets

from core.knn import TIE_RULE
from core.metrics import misclassified
from gui.knn_picker import BAD, GOOD, TestPicker
from gui.knn_plots import ClassBars, format_distance
from gui.knn_session import sparing
from gui.theme import STYLE_NORMAL, class_color
from gui.widgets.image_grid import ImageGrid
from gui.widgets.qimage import to_pixmap

__all__ = ["MatchesPanel"]

_SYNC_QUERY_LIMIT = 5_000_000   # n_train * D; above it a query runs in the runner
_CACHE = 256


class MatchesPanel(QtWidgets.QWidget):
    """Pick a test image; see its nearest training images, the vote tally and the prediction."""

    status_message = QtCore.Signal(str, int)
    query_changed = QtCore.Signal(int)                 # current test index
    query_seconds_measured = QtCore.Signal(float, str)  # seconds for one query row, metric

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.session = None
        self.k, self.metric_name = 5, "l2"
        self.index: int | None = None
        self.vote = None          # last core VoteResult (for one row)
        self._cache: OrderedDict = OrderedDict()
        self._preds: dict | None = None   # whole-test-set predictions from the Test set tab
        self._rng = np.random.default_rng(0)
        self._style = STYLE_NORMAL

        # -- test image picker -------------------------------------------------------------
        self.picker = TestPicker()
        self.strip, self.index_spin = self.picker.strip, self.picker.index_spin
        self.random_button, self.miss_button = self.picker.random_button, self.picker.miss_button
        self.prev_button, self.next_button = self.picker.prev_button, self.picker.next_button
        self.page_label = self.picker.page_label

        # -- query column -------------------------------------------------------------------
        self.query_image = QtWidgets.QLabel()
        self.query_image.setObjectName("query_image")
        self.query_image.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.query_caption = QtWidgets.QLabel("Pick a test image")
        self.query_caption.setObjectName("query_caption")
        self.query_caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.result_label = QtWidgets.QLabel()
        self.result_label.setObjectName("result_label")
        self.result_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.result_label.setWordWrap(True)
        self.tie_label = QtWidgets.QLabel()
        self.tie_label.setObjectName("tie_label")
        self.tie_label.setWordWrap(True)
        self.tie_label.setStyleSheet("QLabel { background: #fff4d6; color: #5a4100; padding: 4px; "
                                     "border-radius: 4px; }")
        self.tie_label.hide()
        self.tally = ClassBars("Votes among the k nearest", "votes", hide_zero=True)
        self.tally.setMinimumHeight(220)
        self.tally.setObjectName("vote_tally")
        left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.query_image)
        ll.addWidget(self.query_caption)
        ll.addWidget(self.result_label)
        ll.addWidget(self.tie_label)
        ll.addWidget(self.tally, 1)

        # -- gallery ------------------------------------------------------------------------
        self.gallery_title = QtWidgets.QLabel()
        self.gallery_title.setObjectName("gallery_title")
        self.gallery_title.setWordWrap(True)
        self.gallery = ImageGrid(tile=int(self._style.tile * 1.5), caption_lines=2)
        self.gallery.setObjectName("neighbour_gallery")
        self.gallery_scroll = QtWidgets.QScrollArea()
        self.gallery_scroll.setWidgetResizable(True)
        self.gallery_scroll.setWidget(self.gallery)
        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.gallery_title)
        rl.addWidget(self.gallery_scroll, 1)

        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 2)
        self._sized = False
        self._fit_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._fit_timer.timeout.connect(self._fit_gallery)
        self._fit_timer.timeout.connect(self._fit_query)
        self.split.splitterMoved.connect(lambda *_: self._fit_timer.start())
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.picker)
        lay.addWidget(self.split, 1)

        self.picker.picked.connect(self.show_test_image)
        self.random_button.clicked.connect(self.show_random)
        self.miss_button.clicked.connect(self.next_misclassified)

    # -- shared state -----------------------------------------------------------------------
    def set_session(self, session) -> None:
        self.session = session
        self._cache.clear()
        self._preds = None
        self.index = None
        self.vote = None
        self.picker.set_images(None if session is None else session.dataset.X_test)
        if session is None:
            self.gallery.set_images([])
            self.query_image.clear()
            self.query_caption.setText("No data set yet")
            self.result_label.clear()
            self.tie_label.hide()
            self.tally.set_values([], [], [])
            self.gallery_title.clear()
            return
        self._rng = np.random.default_rng(session.generation)
        self.show_test_image(0)

    def set_k_metric(self, k: int, metric: str) -> None:
        metric_changed = metric != self.metric_name
        self.k, self.metric_name = int(k), metric
        if self.session is None or self.index is None:
            return
        if metric_changed:
            self._query()
        else:
            self._render()
        self._paint_correct()

    def set_test_predictions(self, info: dict) -> None:
        """Whole-test-set predictions from the Test set tab: ``{generation, k, metric, pred}``."""
        if self.session is not None and info.get("generation") == self.session.generation:
            self._preds = info
            self._paint_correct()

    def _current_preds(self):
        p = self._preds
        if p is not None and p["k"] == self.k and p["metric"] == self.metric_name:
            return p["pred"]
        return None

    # -- picking an image ----------------------------------------------------------------------
    def show_test_image(self, index: int) -> None:
        if self.session is None:
            return
        index = int(np.clip(index, 0, self.session.dataset.n_test - 1))
        self.index = index
        self.picker.set_current(index)
        ds = self.session.dataset
        self._fit_query()
        self.query_caption.setText(f"Test image #{index} · true label: <b>{ds.class_names[ds.y_test[index]]}</b>")
        self.query_changed.emit(index)
        self._query()

    def show_random(self) -> None:
        if self.session is not None:
            self.show_test_image(int(self._rng.integers(self.session.dataset.n_test)))

    def next_misclassified(self) -> None:
        """Jump to the next wrong test image after the current one (wrapping around)."""
        if self.session is None:
            return
        ds = self.session.dataset
        start = 0 if self.index is None else self.index + 1
        preds = self._current_preds()
        if preds is not None:
            order = np.r_[np.arange(start, ds.n_test), np.arange(0, start)]
            wrong = set(misclassified(ds.y_test, preds).tolist())
            for i in order:
                if i in wrong:
                    self.show_test_image(int(i))
                    return
            self.status_message.emit(f"No misclassified test image with k={self.k}", 5000)
            return
        metric = self.metric_name
        model, X, y, k = self.session.models[metric], self.session.test_features[metric], ds.y_test, self.k
        n = ds.n_test
        chunk = max(8, min(256, int(4e8 // max(1, self.session.n_values))))

        def work(ctx):
            done = 0
            pos = start % n
            while done < n:
                ctx.check()
                stop = min(n, pos + chunk, pos + (n - done))
                pred = model.predict(X[pos:stop], k=k, cancel=ctx.cancelled)
                bad = misclassified(y[pos:stop], pred)
                if bad.size:
                    return int(pos + bad[0])
                done += stop - pos
                pos = stop % n
                ctx.progress(done, n, "Looking for a misclassified test image…")
            return None

        def found(i):
            if i is None:
                self.status_message.emit(f"No misclassified test image with k={self.k}", 5000)
            else:
                self.show_test_image(i)

        self.runner.start("knn-search", sparing(work), label="Finding the next misclassified image", on_result=found)

    # -- the query and the vote ------------------------------------------------------------------
    def _query(self) -> None:
        s, idx, metric = self.session, self.index, self.metric_name
        key = (s.generation, idx, metric)
        if key in self._cache:
            self._cache.move_to_end(key)
            self._render()
            return
        model, x, kmax = s.models[metric], s.test_features[metric][idx:idx + 1], s.k_max

        def query(ctx=None):
            t0 = time.perf_counter()
            dist, nn = model.kneighbors(x, k=kmax, cancel=None if ctx is None else ctx.cancelled)
            return key, dist[0], nn[0], time.perf_counter() - t0

        if s.n_values <= _SYNC_QUERY_LIMIT:
            self._store(query())
        else:
            self.gallery_title.setText(f"Searching {s.dataset.n_train:,} training images ({metric.upper()})…")
            self.runner.start("knn-query", sparing(query), label="Finding nearest training images",
                              on_result=self._store)

    def _store(self, result) -> None:
        key, dist, nn, seconds = result
        self._cache[key] = (dist, nn)
        while len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        self.query_seconds_measured.emit(seconds, key[2])
        if self.session is not None and key == (self.session.generation, self.index, self.metric_name):
            self._render()

    def _render(self) -> None:
        s = self.session
        key = (s.generation, self.index, self.metric_name)
        if key not in self._cache:
            return
        dist, nn = self._cache[key]
        k = min(self.k, dist.size)
        ds = s.dataset
        labels = ds.y_train[nn[:k]]
        model = s.models[self.metric_name]
        self.vote = model.vote(labels[None, :], dist[None, :k])
        pred = int(self.vote.pred[0])
        tally = np.asarray(self.vote.tally[0])
        true = int(ds.y_test[self.index])
        ok = pred == true
        colour = GOOD if ok else BAD
        mark = "✓ correct" if ok else f"✗ wrong (true: {ds.class_names[true]})"
        self.result_label.setText(f"<span style='color:{colour}'>Predicted: <b>{ds.class_names[pred]}</b> "
                                  f"&nbsp;{mark}</span>")
        self._render_tie(tally, pred, bool(self.vote.tied[0]), labels, dist[:k])
        n = ds.n_classes
        shown = np.arange(n) if n <= 12 else np.flatnonzero(tally)    # many classes: only those with votes
        self.tally.set_values([ds.class_names[c] for c in shown], tally[shown],
                              [class_color(int(c), n) for c in shown],
                              highlight=int(np.flatnonzero(shown == pred)[0]))
        self.tally.set_title(f"Votes among the k = {k} nearest")
        caps = [f"{r + 1} · {ds.class_names[lab]}\n{format_distance(d)}" for r, (lab, d) in
                enumerate(zip(labels, dist[:k]))]
        self.gallery.set_images(ds.X_train[nn[:k]], caps, [class_color(int(c), n) for c in labels])
        self._fit_gallery()
        self.gallery_title.setText(f"The {k} nearest training image{'s' if k > 1 else ''} by "
                                   f"{self.metric_name.upper()} distance, closest first "
                                   f"(rank · label, distance) — searched {ds.n_train:,} training images")

    def _render_tie(self, tally: np.ndarray, pred: int, tied: bool, labels, dist) -> None:
        """Say which classes tied and how the tie rule decided (their closest members' ranks)."""
        if not tied:
            self.tie_label.hide()
            return
        names = self.session.dataset.class_names
        top = int(tally.max())
        tied_classes = [int(c) for c in np.flatnonzero(tally == top)]
        first = {c: int(np.flatnonzero(labels == c)[0]) for c in tied_classes}   # rank of each class's closest
        evidence = ", ".join(f"{names[c]}'s closest is #{first[c] + 1} at {format_distance(dist[first[c]])}"
                             for c in sorted(tied_classes, key=first.get))
        self.tie_label.setText(f"<b>Tie:</b> {' and '.join(names[c] for c in tied_classes)} have {top} "
                               f"vote{'s' if top > 1 else ''} each. Tie rule: the tied class whose nearest "
                               f"member is closest wins ({evidence}) → <b>{names[pred]}</b>.")
        self.tie_label.setToolTip(TIE_RULE)
        self.tie_label.show()

    def _paint_correct(self) -> None:
        preds = self._current_preds()
        self.picker.set_correct(None if preds is None else preds == self.session.dataset.y_test)

    # -- look -----------------------------------------------------------------------------------
    def _fit_query(self) -> None:
        """The query image as big as the style allows, leaving room for the texts and the tally."""
        if self.session is None or self.index is None:
            return
        left = self.split.widget(0)
        side = min(self._style.big_image, left.width() - 12, int(self.split.height() * 0.42))
        side = max(self._style.tile * 2, side)
        self.query_image.setPixmap(to_pixmap(self.session.dataset.X_test[self.index], side))

    def _fit_gallery(self) -> None:
        """Largest tiles that show all k neighbours without scrolling (never below the style's tile)."""
        n = self.gallery.count()
        vp = self.gallery_scroll.viewport().size()
        if n == 0 or vp.width() < 50:
            return
        cap = self.gallery.fontMetrics().height() * 2 + 2
        lo, hi = self._style.tile, int(self._style.big_image * 0.75)
        tile = lo
        for t in range(hi, lo - 1, -4):
            cols = max(1, (vp.width() - 4) // (t + 6))
            if -(-n // cols) * (t + 6 + cap) + 4 <= vp.height():
                tile = t
                break
        if tile != self.gallery.tile:
            self.gallery.set_tile(tile)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._sized and self.width() > 200:
            self._sized = True
            w = self.split.width()
            self.split.setSizes([int(w * 0.34), int(w * 0.66)])
        self._fit_timer.start()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_timer.start()

    def set_style(self, style) -> None:
        self._style = style
        self.picker.set_style(style)
        self._fit_gallery()
        self.tally.set_style(style)
        big = f"font-size: {style.font_pt + 6}pt;"
        self.result_label.setStyleSheet(f"QLabel {{ {big} }}")
        if self.session is not None and self.index is not None:
            self.show_test_image(self.index)

    def export_targets(self) -> dict:
        return {"Nearest neighbour: vote tally": self.tally.plotItem}

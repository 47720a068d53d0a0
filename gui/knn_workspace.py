"""The "Nearest Neighbour" tab: k and the metric on top, four sub-tabs below.

* **Matches** (:mod:`gui.knn_matches`) -- one test image, its k nearest training images, the vote.
* **Test set** (:mod:`gui.knn_evaluate`) -- accuracy over the whole test set, confusion matrix,
  per-class accuracy, train time vs test time.
* **Choosing k** (:mod:`gui.cross_validation`) -- the lecture's ideas #1-#4 for setting k.
* **Pixel distance** (:mod:`gui.pixel_distance`) -- shifted / brightened / tinted / occluded copies.

The workspace owns the shared :class:`KnnSession` (features and the two fitted models, L1 and L2)
and the k / metric controls every panel reads. Fitting a kNN only memorises the training set, so
it is instant; all the cost is at test time (the lecture's "very slow at test time").
"""
from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from gui.app_style import restyle_plots
from gui.cross_validation import CrossValidationPanel
from gui.knn_evaluate import EvaluatePanel
from gui.knn_matches import MatchesPanel
from gui.knn_session import K_MAX, KnnSession, prepare_session, spare_core_ready, sparing
from gui.pixel_distance import PixelDistancePanel
from gui.theme import style_for
from gui.workspace import Workspace

__all__ = ["KnnWorkspace", "KnnSession", "METRICS", "K_MAX", "JOB_KINDS"]

METRICS = {"l1": "L1 (Manhattan)", "l2": "L2 (Euclidean)"}
#: every runner ``kind`` this workspace starts (cancelled on data-set change and shutdown)
JOB_KINDS = ("knn-prepare", "knn-query", "knn-search", "knn-evaluate", "knn-timing", "knn-cv", "knn-perturb")
_SYNC_LIMIT = 20_000_000   # n_train * D above which features are prepared in the background


class KnnWorkspace(Workspace):
    """k-nearest neighbour on real images: matches, test-set accuracy, choosing k, pixel distance."""

    title = "Nearest Neighbour"
    k_changed = QtCore.Signal(int)
    metric_changed = QtCore.Signal(str)

    def __init__(self, runner, parent=None):
        super().__init__(runner, parent)
        self.session: KnnSession | None = None
        self._generation = 0
        self._k = 5
        self._metric = "l2"

        # -- top bar: k and metric --------------------------------------------------
        self.k_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.k_slider.setObjectName("k_slider")
        self.k_slider.setRange(1, K_MAX)
        self.k_slider.setValue(self._k)
        self.k_slider.setToolTip("How many nearest training images vote")
        self.k_spin = QtWidgets.QSpinBox()
        self.k_spin.setObjectName("k_spin")
        self.k_spin.setRange(1, K_MAX)
        self.k_spin.setValue(self._k)
        self.k_spin.setKeyboardTracking(False)
        self.metric_buttons = {m: QtWidgets.QRadioButton(text) for m, text in METRICS.items()}
        self.metric_group = QtWidgets.QButtonGroup(self)
        for m, b in self.metric_buttons.items():
            b.setObjectName(f"metric_{m}")
            self.metric_group.addButton(b)
        self.metric_buttons["l1"].setToolTip("d(a, b) = Σ |a − b|  (sum of absolute pixel differences)")
        self.metric_buttons["l2"].setToolTip("d(a, b) = √Σ (a − b)²  (straight-line distance)")
        self.metric_buttons[self._metric].setChecked(True)
        self.data_label = QtWidgets.QLabel("No data set loaded")
        self.data_label.setObjectName("knn_data_label")
        self.data_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)

        bar = QtWidgets.QHBoxLayout()
        k_label = QtWidgets.QLabel("k =")
        k_label.setBuddy(self.k_spin)
        bar.addWidget(k_label)
        bar.addWidget(self.k_spin)
        bar.addWidget(self.k_slider, 2)
        bar.addSpacing(18)
        bar.addWidget(QtWidgets.QLabel("Distance:"))
        for b in self.metric_buttons.values():
            bar.addWidget(b)
        bar.addSpacing(18)
        bar.addWidget(self.data_label, 3)

        # -- sub-tabs -----------------------------------------------------------------
        self.matches = MatchesPanel(runner)
        self.evaluate = EvaluatePanel(runner)
        self.cv = CrossValidationPanel(runner)
        self.pixels = PixelDistancePanel(runner)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("knn_tabs")
        self.tabs.addTab(self.matches, "Matches")
        self.tabs.addTab(self.evaluate, "Test set")
        self.tabs.addTab(self.cv, "Choosing k")
        self.tabs.addTab(self.pixels, "Pixel distance")

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(bar)
        lay.addWidget(self.tabs, 1)

        # -- wiring ---------------------------------------------------------------------
        self.k_slider.valueChanged.connect(self._on_k_control)
        self.k_spin.valueChanged.connect(self._on_k_control)
        self.metric_group.buttonToggled.connect(self._on_metric_button)
        for panel in (self.matches, self.evaluate, self.cv, self.pixels):
            panel.status_message.connect(self.status_message)
        self.cv.apply_k.connect(self.set_k)
        self.evaluate.open_test_image.connect(self._open_in_matches)
        self.evaluate.predictions_ready.connect(self.matches.set_test_predictions)
        self.matches.query_changed.connect(self.pixels.follow_test_image)
        self.matches.query_seconds_measured.connect(self.evaluate.set_query_seconds)
        self._push_k_metric()
        restyle_plots(self)

    # -- k and metric -----------------------------------------------------------------------
    def k(self) -> int:
        return self._k

    def metric_name(self) -> str:
        return self._metric

    def set_k(self, k: int) -> None:
        """Set k everywhere (clipped to 1 .. min(100, n_train))."""
        hi = self.session.k_max if self.session is not None else K_MAX
        k = int(max(1, min(int(k), hi)))
        with QtCore.QSignalBlocker(self.k_slider), QtCore.QSignalBlocker(self.k_spin):
            self.k_slider.setValue(k)
            self.k_spin.setValue(k)
        if k != self._k:
            self._k = k
            self._push_k_metric()
            self.k_changed.emit(k)

    def set_metric(self, metric: str) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)} (got metric={metric!r})")
        with QtCore.QSignalBlocker(self.metric_group):
            self.metric_buttons[metric].setChecked(True)
        if metric != self._metric:
            self._metric = metric
            self._push_k_metric()
            self.metric_changed.emit(metric)

    def _on_k_control(self, value: int) -> None:
        self.set_k(value)

    def _on_metric_button(self, button, checked: bool) -> None:
        if checked:
            for m, b in self.metric_buttons.items():
                if b is button:
                    self.set_metric(m)

    def _push_k_metric(self) -> None:
        for panel in (self.matches, self.evaluate, self.cv, self.pixels):
            panel.set_k_metric(self._k, self._metric)

    def _open_in_matches(self, index: int) -> None:
        self.tabs.setCurrentWidget(self.matches)
        self.matches.show_test_image(index)

    # -- data set -----------------------------------------------------------------------------
    def set_dataset(self, dataset, *, val_fraction: float = 0.1, seed: int = 0) -> None:
        super().set_dataset(dataset, val_fraction=val_fraction, seed=seed)
        for kind in JOB_KINDS:
            self.runner.cancel(kind)
        self._generation += 1
        self.session = None
        for panel in (self.matches, self.evaluate, self.cv, self.pixels):
            panel.set_session(None)
        if dataset is None:
            self.data_label.setText("No data set loaded")
            return
        self.data_label.setText(f"{dataset.summary()} · preparing…")
        self.cv.set_validation(val_fraction, seed)
        gen = self._generation
        spare_core_ready()
        if dataset.n_train * dataset.n_features <= _SYNC_LIMIT:
            self._on_prepared(prepare_session(dataset, gen))
        else:
            self.runner.start("knn-prepare", sparing(lambda ctx: prepare_session(dataset, gen, ctx)),
                              label="Preparing nearest-neighbour features", on_result=self._on_prepared)

    def _on_prepared(self, session: KnnSession) -> None:
        if session.generation != self._generation:
            return
        self.session = session
        ds = session.dataset
        for s in (self.k_slider, self.k_spin):
            with QtCore.QSignalBlocker(s):
                s.setMaximum(session.k_max)
        self.set_k(min(self._k, session.k_max))
        self.data_label.setText(ds.summary())
        self.data_label.setToolTip(ds.summary())
        for panel in (self.matches, self.evaluate, self.cv, self.pixels):
            panel.set_session(session)
        self._push_k_metric()

    # -- workspace hooks --------------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        style = style_for(on)    # the window sets the application font and palette; panels resize their own parts
        for panel in (self.matches, self.evaluate, self.cv, self.pixels):
            panel.set_style(style)
        restyle_plots(self)

    def shutdown(self) -> None:
        for kind in JOB_KINDS:
            self.runner.cancel(kind)

    def export_targets(self) -> dict[str, Any]:
        out = {}
        for panel in (self.matches, self.evaluate, self.cv, self.pixels):
            out.update(panel.export_targets())
        return out

    def table_for_export(self):
        if self.tabs.currentWidget() is self.evaluate:
            table = self.evaluate.table_for_export()
            if table is not None:
                return table
        return self.cv.table_for_export()

    def save_settings(self, settings: QtCore.QSettings) -> None:
        settings.setValue("knn/k", self._k)
        settings.setValue("knn/metric", self._metric)
        settings.setValue("knn/tab", self.tabs.tabText(self.tabs.currentIndex()))
        self.cv.save_settings(settings)

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        try:
            self.set_k(int(settings.value("knn/k", self._k)))
        except (TypeError, ValueError):
            pass
        metric = settings.value("knn/metric", self._metric)
        if metric in METRICS:
            self.set_metric(metric)
        tab = settings.value("knn/tab", "")
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == tab:
                self.tabs.setCurrentIndex(i)
        self.cv.restore_settings(settings)


def main(argv: list[str] | None = None) -> int:
    """Preview this tab on its own: ``python -m gui.knn_workspace [data set] [--presentation]``."""
    import sys

    import pyqtgraph as pg

    from core.datasets import load
    from gui import app_style
    from gui.workers import JobRunner

    args = list(sys.argv[1:] if argv is None else argv)
    presentation = "--presentation" in args
    args = [a for a in args if a != "--presentation"]
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    created = QtWidgets.QApplication.instance() is None
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app_style.apply(app, "light", presentation)
    runner = JobRunner()
    ws = KnnWorkspace(runner)
    ws.set_presentation(presentation)
    ws.status_message.connect(lambda text, ms: ws.setWindowTitle(f"Nearest Neighbour — {text}"))
    ws.set_dataset(load(args[0] if args else "digits"))
    ws.resize(1600, 1000)
    ws.show()
    if created:
        app.aboutToQuit.connect(lambda: runner.shutdown(2.0))
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

"""Layout of the Linear Classifier tab: the control panel in a scroll area on the left; on the right the
counters, metrics, sanity-check and message lines above the loss/accuracy curves beside the weight templates,
with the score inspector below (three splitters). A mixin of :class:`gui.linear_workspace.LinearWorkspace`:
:meth:`LinearLayoutMixin._build_layout` arranges the workspace's ``controls``, ``curves``, ``templates`` and
``inspector`` (made before it runs) and creates the status lines; the splitters get their sizes once the tab
is first shown wide enough, and again from :meth:`LinearLayoutMixin._apply_sizes` (presentation mode).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["LinearLayoutMixin"]


class LinearLayoutMixin:
    """Builds and sizes the linear workspace's widgets: ``counters``, ``metrics``, ``message``,
    ``sanity_label``, ``_scroll`` and ``_splitters = (top, main, outer)``."""

    def _build_layout(self) -> None:
        """Create the status lines and lay the views out in splitters (called once, from ``__init__``)."""
        self.counters = QtWidgets.QLabel("No data set.")
        self.counters.setObjectName("counters")
        self.counters.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.metrics = QtWidgets.QLabel("")
        self.metrics.setObjectName("metrics")
        self.metrics.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.message.setContentsMargins(8, 4, 8, 4)
        self.message_kind = "info"
        self.sanity_label = QtWidgets.QLabel("")
        self.sanity_label.setObjectName("sanity")
        self.sanity_label.setWordWrap(True)
        self.sanity_label.setTextFormat(QtCore.Qt.TextFormat.RichText)

        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.controls)
        scroll.setMinimumWidth(290)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        top = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        top.addWidget(self.curves)
        top.addWidget(self.templates)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)
        top.setSizes([700, 560])
        main = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(self.inspector)
        main.setStretchFactor(0, 1)    # the inspector keeps the height set by _apply_sizes (all class rows),
        main.setStretchFactor(1, 0)    # the curves and templates take what the window gains or loses
        for s in (top, main):
            s.setChildrenCollapsible(False)
        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.counters)
        rl.addWidget(self.metrics)
        rl.addWidget(self.sanity_label)
        rl.addWidget(self.message)
        rl.addWidget(main, 1)
        outer = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        outer.addWidget(scroll)
        outer.addWidget(right)
        outer.setStretchFactor(1, 1)
        outer.setChildrenCollapsible(False)
        outer.setSizes([300, 1300])
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(outer)
        self._splitters = (top, main, outer)
        self._scroll = scroll
        self._sized = False

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if not self._sized and self.width() > 400:
            self._sized = True
            self._apply_sizes()

    def _apply_sizes(self) -> None:
        top, main, outer = self._splitters
        w = max(800, self.width())
        self.inspector.fit_in(main, share=0.34 if self.presentation else 0.4)   # and every class row in view
        side = self._scroll.minimumWidth()
        top.setSizes([int((w - side) * 0.55), int((w - side) * 0.45)])
        outer.setSizes([side, w - side])

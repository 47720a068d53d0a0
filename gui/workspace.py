"""Base class of every workspace tab (Data, Nearest Neighbour, Linear Classifier, Loss Lab, 2D Playground).

The main window owns one :class:`gui.workers.JobRunner` and hands it to each workspace. A workspace
gets the current data set through :meth:`set_dataset`, reacts to presentation mode, stops its jobs
in :meth:`shutdown`, and tells the window what can be exported (File > Export current plot / table).
"""
from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from gui.workers import JobRunner

__all__ = ["Workspace"]


class Workspace(QtWidgets.QWidget):
    """A tab of the main window. Subclasses set ``title`` and override the hooks they need."""

    title: str = "Workspace"
    #: a short message for the status bar: (text, timeout in ms; 0 = until replaced)
    status_message = QtCore.Signal(str, int)

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.dataset = None
        self.val_fraction = 0.1
        self.seed = 0
        self.presentation = False

    # -- hooks -----------------------------------------------------------------------
    def set_dataset(self, dataset, *, val_fraction: float = 0.1, seed: int = 0) -> None:
        """Show ``dataset`` (a :class:`core.datasets.Dataset`, already subsampled, or None).

        ``val_fraction`` and ``seed`` come from the data-set bar: workspaces that need a validation
        split make it with ``core.datasets.train_val_split(dataset.y_train, val_fraction, seed)``.
        Subclasses call ``super().set_dataset(...)`` first and cancel work on the old data set.
        """
        self.dataset = dataset
        self.val_fraction = float(val_fraction)
        self.seed = int(seed)

    def set_presentation(self, on: bool) -> None:
        """Larger fonts, thicker lines, bigger images for a projector."""
        self.presentation = bool(on)

    def shutdown(self) -> None:
        """Stop this workspace's jobs (the window waits for the threads)."""

    def export_targets(self) -> dict[str, Any]:
        """Plots that File > Export current plot can save: name -> pyqtgraph PlotItem/GraphicsScene item."""
        return {}

    def table_for_export(self) -> tuple[list[str], list[list[Any]]] | None:
        """The table File > Export table as CSV saves: (header, rows), or None."""
        return None

    def save_settings(self, settings: QtCore.QSettings) -> None:
        """Persist this workspace's controls (values, not indexes)."""

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        """Restore what :meth:`save_settings` wrote; ignore missing or bad values."""

"""File > Export: a workspace's plot as PNG/SVG, its table as CSV.

Targets come from ``Workspace.export_targets()``: pyqtgraph items (``PlotItem``, a ``GraphicsScene``,
a ``PlotWidget``/``GraphicsLayoutWidget``/``GraphicsView``) go through ``pyqtgraph.exporters``
(ImageExporter / SVGExporter); any other ``QWidget`` is rendered with ``QWidget.grab`` (PNG) or
``QSvgGenerator`` (SVG). Tables are ``(header, rows)`` from ``Workspace.table_for_export()``.

Every export is written to a temporary file in the target's folder (same suffix, so the exporters pick
the right format) and moved over the target with ``os.replace`` only when complete: a failure leaves
the old file as it was and no temporary file behind.
"""
from __future__ import annotations

import csv
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from core.fileio import atomic_path

__all__ = ["export_plot", "export_table", "FORMATS"]

FORMATS = ("png", "svg")


def _pg_item(target: Any):
    """The item pyqtgraph's exporters accept, or None if ``target`` is not a pyqtgraph thing."""
    import pyqtgraph as pg

    if isinstance(target, pg.PlotWidget):
        return target.getPlotItem()
    if isinstance(target, pg.GraphicsLayoutWidget):
        return target.ci
    if isinstance(target, pg.GraphicsView):
        return target.scene()
    if isinstance(target, (pg.GraphicsItem, QtWidgets.QGraphicsItem, QtWidgets.QGraphicsScene)):
        return target
    return None


def export_plot(target: Any, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``target`` to ``path`` as PNG or SVG (format from ``fmt`` or the suffix). Returns the path.

    Raises
    ------
    ValueError
        Unknown format or target.
    OSError
        The file could not be written.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS} (got {fmt!r} for {path})")
    if path.suffix.lower() != f".{fmt}":
        path = path.with_suffix(f".{fmt}")
    item = _pg_item(target)
    if item is None and not isinstance(target, QtWidgets.QWidget):
        raise ValueError(f"cannot export {type(target).__name__}: not a pyqtgraph item or a widget")
    with atomic_path(path) as tmp:
        _write_plot(target, item, tmp, fmt)
        if tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {path}")
    return path


def _write_plot(target: Any, item, path: Path, fmt: str) -> None:
    if item is not None:
        import pyqtgraph.exporters as pge

        if fmt == "png":
            exporter = pge.ImageExporter(item)
            width = int(exporter.parameters()["width"])
            exporter.parameters()["width"] = max(width, 1200)  # crisp on slides
            if exporter.export(str(path)) is False:
                raise OSError("the PNG image could not be written")
        else:
            try:
                pge.SVGExporter(item).export(str(path))
            except ValueError:
                # pyqtgraph 0.14's SVGExporter cannot parse the path format of newer Qt
                # (pyqtgraph/pyqtgraph#3485): draw the scene into a QSvgGenerator instead.
                _scene_svg(item, path)
    elif fmt == "png":
        if not target.grab().save(str(path), "PNG"):
            raise OSError("the PNG image could not be written")
    else:
        with _svg_painter(path, target.size(), target.objectName()) as painter:
            target.render(painter, QtCore.QPoint(0, 0))


@contextmanager
def _svg_painter(path: Path, size: QtCore.QSize, title: str = ""):
    from PySide6.QtSvg import QSvgGenerator

    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(size)
    gen.setViewBox(QtCore.QRect(QtCore.QPoint(0, 0), size))
    gen.setTitle(title or "Linear Classifier Lab")
    painter = QtGui.QPainter(gen)
    try:
        yield painter
    finally:
        painter.end()


def _scene_svg(item, path: Path) -> None:
    """Vector SVG of a pyqtgraph item (or whole scene) through ``QGraphicsScene.render``."""
    scene = item if isinstance(item, QtWidgets.QGraphicsScene) else item.scene()
    source = scene.sceneRect() if item is scene else item.sceneBoundingRect()
    size = QtCore.QSize(max(1, int(source.width())), max(1, int(source.height())))
    with _svg_painter(path, size) as painter:
        scene.render(painter, QtCore.QRectF(0, 0, size.width(), size.height()), source)


def export_table(header: list, rows, path: str | Path) -> Path:
    """Write a CSV file (UTF-8, header row first), replacing ``path`` only when complete.

    Raises
    ------
    OSError
        The file could not be written (the old file, if any, is unchanged).
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        path = path.with_suffix(".csv")
    with atomic_path(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    return path

"""Weight templates: each class's row of ``W`` shown as an image, updating while training runs.

Pixels come from ``core.preprocess.template_images`` (each row rescaled to 0..255 on its own, as in
CS231n) or ``template_images_shared`` (one scale for all classes, so magnitudes compare). Clicking a
template opens :class:`TemplateDialog`, a large view with a colour bar showing the actual weight values
(for RGB data: the rescaled colour picture plus the R, G and B weight planes on one symmetric scale).
The workspace calls :meth:`TemplatesView.set_weights` from its throttled repaint timer (~10 Hz).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from core.preprocess import template_images, template_images_shared
from gui.loss_curves import model_color, plot_background
from gui.theme import style_for
from gui.widgets.image_grid import ImageGrid

__all__ = ["TemplatesView", "TemplateDialog"]

SCALES = (("each its own", "per"), ("one shared", "shared"))
MIN_TILE = 36              # px; below this a template is too small to read, so the area scrolls instead


class TemplateDialog(QtWidgets.QDialog):
    """A large, live view of one class template with a colour bar of the weight values."""

    def __init__(self, model: str, class_index: int, class_name: str, parent=None):
        super().__init__(parent)
        self.model, self.class_index, self.class_name = model, int(class_index), class_name
        self.setWindowTitle(f"{model} template — {class_name}")
        self.setModal(False)
        self.resize(900, 420)
        bg, fg = plot_background(self)
        self.info = QtWidgets.QLabel()
        self.info.setObjectName("template_info")
        self.info.setWordWrap(True)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(bg)
        self._fg = fg
        self._items: list[pg.ImageItem] = []
        self._rgb_item: pg.ImageItem | None = None
        self.colorbar: pg.ColorBarItem | None = None
        self._channels = None
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addWidget(self.glw, 1)

    def _build(self, channels: int) -> None:
        self.glw.clear()
        self._items = []
        self._plots = []
        self._rgb_item = None
        cmap = pg.colormap.get("CET-D1")
        names = ["weights"] if channels == 1 else ["R weights", "G weights", "B weights"]
        col = 0
        if channels == 3:
            vb = self._viewbox("RGB (rescaled)", col)
            self._rgb_item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(self._rgb_item)
            col += 1
        for name in names:
            plot = self.glw.addPlot(row=0, col=col, title=name)
            plot.titleLabel.setText(name, color=self._fg)
            self._style_plot(plot)
            item = pg.ImageItem(axisOrder="row-major")
            plot.addItem(item)
            self._items.append(item)
            col += 1
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=cmap, interactive=False, width=18,
                                        label="weight value")
        self.colorbar.setImageItem(self._items)
        self.glw.addItem(self.colorbar, row=0, col=col)
        for ax in ("left", "right"):
            if self.colorbar.getAxis(ax) is not None:
                self.colorbar.getAxis(ax).setPen(self._fg)
                self.colorbar.getAxis(ax).setTextPen(self._fg)
        self._channels = channels

    def _style_plot(self, plot: pg.PlotItem) -> None:
        plot.invertY(True)
        plot.setAspectLocked(True)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        self._plots.append(plot)

    def _viewbox(self, title: str, col: int) -> pg.PlotItem:
        plot = self.glw.addPlot(row=0, col=col, title=title)
        plot.titleLabel.setText(title, color=self._fg)
        self._style_plot(plot)
        return plot

    def set_template(self, weights: np.ndarray, rgb: np.ndarray | None) -> None:
        """Show one class's weights ``(H, W, Cc)`` and, for colour data, the rescaled RGB ``(H, W, 3)`` uint8."""
        w = np.asarray(weights, dtype=np.float32)
        if self._channels != w.shape[2]:
            self._build(w.shape[2])
        m = float(np.max(np.abs(w))) or 1e-12
        h, wd = w.shape[:2]
        for plot in self._plots:
            plot.setRange(xRange=(0, wd), yRange=(0, h), padding=0.02)
        for c, item in enumerate(self._items):
            item.setImage(w[:, :, c], autoLevels=False, levels=(-m, m))
        self.colorbar.setLevels((-m, m))
        if self._rgb_item is not None and rgb is not None:
            self._rgb_item.setImage(rgb, autoLevels=False, levels=(0, 255))
        lo, hi = float(w.min()), float(w.max())
        extra = (f" The colour picture maps [{lo:.3g}, {hi:.3g}] to 0..255 (all three channels together)."
                 if w.shape[2] == 3 else "")
        self.info.setText(f"<b>{self.model}</b> · class <b>{self.class_name}</b> — weights range "
                          f"[{lo:.3g}, {hi:.3g}], mean |w| = {float(np.abs(w).mean()):.3g}. The colour bar is "
                          f"symmetric around 0 (blue negative, red positive).{extra}")

    def levels(self) -> tuple[float, float]:
        return tuple(self.colorbar.levels())


class TemplatesView(QtWidgets.QWidget):
    """One labelled grid of templates per model (two in compare mode)."""

    template_clicked = QtCore.Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._style = style_for(False)
        self._image_shape: tuple | None = None
        self._class_names: list[str] = []
        self._weights: dict[str, np.ndarray] = {}
        self._images: dict[str, np.ndarray] = {}
        self.grids: dict[str, ImageGrid] = {}
        self.headers: dict[str, QtWidgets.QLabel] = {}
        self.dialog: TemplateDialog | None = None
        self.updates = 0

        self.scale_combo = QtWidgets.QComboBox()
        for label, key in SCALES:
            self.scale_combo.addItem(label, key)
        self.scale_combo.setToolTip("Per template: each class's weights stretched to black..white on their own "
                                    "(CS231n's pictures). Shared: one scale, so strong and weak templates compare.")
        self.scale_combo.currentIndexChanged.connect(self._repaint_all)
        top = QtWidgets.QHBoxLayout()
        title = QtWidgets.QLabel("<b>Weight templates</b> · rows of W, click to enlarge")
        title.setWordWrap(True)
        title.setToolTip("Each class's row of W reshaped to an image. With 'each its own' scale every template "
                         "is stretched to black..white separately, as in CS231n's pictures.")
        top.addWidget(title, 1)
        top.addWidget(QtWidgets.QLabel("Scale:"))
        top.addWidget(self.scale_combo)
        self._grid_box = QtWidgets.QVBoxLayout()
        self._grid_box.setContentsMargins(0, 0, 0, 0)
        self.empty_label = QtWidgets.QLabel("Choose a data set to see the templates.")
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._grid_box.addWidget(self.empty_label)
        inner = QtWidgets.QWidget()
        inner_lay = QtWidgets.QVBoxLayout(inner)
        inner_lay.setContentsMargins(0, 0, 0, 0)
        inner_lay.addLayout(self._grid_box)
        inner_lay.addStretch(1)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setWidget(inner)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.scroll, 1)

    # ------------------------------------------------------------------ set-up
    def _tile(self) -> int:
        return int(self._style.tile * 1.35)

    def set_layout(self, models: list[str], class_names: list[str], image_shape: tuple) -> None:
        """One grid per model; clears the weights."""
        for g in self.grids.values():
            g.setParent(None)
            g.deleteLater()
        for h in self.headers.values():
            h.setParent(None)
            h.deleteLater()
        self.grids, self.headers, self._weights, self._images = {}, {}, {}, {}
        self._class_names = list(class_names)
        self._image_shape = tuple(image_shape)
        self.empty_label.setVisible(not models)
        for name in models:
            head = QtWidgets.QLabel()
            head.setObjectName(f"templates_header_{name}")
            col = model_color(name).name()
            head.setText(f"<span style='color:{col}'><b>{name.capitalize()}</b></span> model")
            grid = ImageGrid(tile=self._tile(), columns=min(len(class_names), 10) if len(class_names) <= 10 else None)
            grid.setObjectName(f"templates_{name}")
            grid.clicked.connect(lambda i, n=name: self._on_clicked(n, i))
            self._grid_box.addWidget(head)
            self._grid_box.addWidget(grid)
            self.grids[name], self.headers[name] = grid, head
        self._set_columns()

    def _set_columns(self) -> None:
        """Pick the column count and tile size that show every model's templates, captions included, in
        the space the scroll area has without scrolling (e.g. 2 rows of 5 for one model in a tall area,
        1 row of 10 per model in a wide, low one). Tiles stay between MIN_TILE and 2.4x the style's
        tile; only when even MIN_TILE does not fit does the area scroll."""
        c, n = len(self._class_names), len(self.grids)
        if not c or not n:
            return
        room = self.scroll.maximumViewportSize()           # the viewport's size without scroll bars
        cap_h = next(iter(self.grids.values())).fontMetrics().height() + 2
        heads = sum(h.sizeHint().height() for h in self.headers.values())
        fixed_h = heads + self._grid_box.spacing() * (2 * n - 1) + n * 4   # headers, gaps, grid margins
        max_tile = int(self._style.tile * 2.4)
        options = []
        for cols in range(1, c + 1):
            rows = -(-c // cols) * n                         # rows of all grids together
            by_height = (room.height() - fixed_h) // rows - 6 - cap_h
            by_width = (room.width() - 4) // cols - 6
            options.append((min(max_tile, by_height, by_width), cols))
        top = max(t for t, _ in options)
        if top < MIN_TILE:         # nothing fits: the smallest tiles, as many columns as the width takes, scroll
            tile, cols = MIN_TILE, max(1, min(c, (room.width() - 4) // (MIN_TILE + 6)))
        else:  # within 10 % of the largest tile, prefer full rows (5 + 5 rather than 4 + 4 + 2), then more columns
            near = [o for o in options if o[0] >= max(MIN_TILE, 0.9 * top)]
            tile, cols = max(near, key=lambda o: (c % o[1] == 0, o[1]))
        for g in self.grids.values():
            if g.columns != cols or g.tile != tile:
                g.columns = cols
                g.set_tile(tile)

    def tile(self) -> int:
        """The tile size the grids use now (px)."""
        return next(iter(self.grids.values())).tile if self.grids else self._tile()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._set_columns()

    def changeEvent(self, event) -> None:  # noqa: N802 - presentation mode changes the font (caption height)
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._set_columns()

    def set_presentation(self, on: bool) -> None:
        self._style = style_for(on)
        self._set_columns()

    # ------------------------------------------------------------------ data
    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """New ``{model: W (C, D)}``; repaints the grids (and the open dialog)."""
        self._weights.update({k: np.asarray(v) for k, v in weights.items() if k in self.grids})
        for name in weights:
            self._repaint(name)
        self.updates += 1
        self._update_dialog()

    def _repaint_all(self) -> None:
        for name in self._weights:
            self._repaint(name)
        self._update_dialog()

    def _repaint(self, name: str) -> None:
        W = self._weights.get(name)
        if W is None or self._image_shape is None or name not in self.grids:
            return
        fn = template_images_shared if self.scale_combo.currentData() == "shared" else template_images
        imgs = fn(W, self._image_shape)
        self._images[name] = imgs
        self.grids[name].set_images(imgs, self._class_names)

    def images(self, name: str) -> np.ndarray | None:
        """The uint8 template images currently shown for ``name`` ``(C, H, W, Cc)``."""
        return self._images.get(name)

    def captions(self, name: str) -> list[str]:
        return self.grids[name].captions()

    # ------------------------------------------------------------------ large view
    def _on_clicked(self, name: str, index: int) -> None:
        self.open_dialog(name, index)
        self.template_clicked.emit(name, index)

    def open_dialog(self, name: str, index: int) -> TemplateDialog:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = TemplateDialog(name, index, self._class_names[index], self)
        self._update_dialog()
        self.dialog.show()
        return self.dialog

    def _update_dialog(self) -> None:
        d = self.dialog
        if d is None:
            return
        W = self._weights.get(d.model)
        if W is None or self._image_shape is None:
            return
        shape = self._image_shape if len(self._image_shape) == 3 else self._image_shape + (1,)
        row = W[d.class_index:d.class_index + 1]
        rgb = template_images(row, shape)[0] if shape[2] == 3 else None
        d.set_template(row[0].reshape(shape), rgb)

    def close_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

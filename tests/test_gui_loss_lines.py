"""LossLines: the loss plot's lines in one item -- what it draws (clipped, downsampled, log axis), in which order,
and that pyqtgraph's auto-range sees its data."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtGui

from gui.loss_lines import LossLines

pytestmark = pytest.mark.gui


@pytest.fixture
def plot(qtbot):
    w = pg.PlotWidget(background="w")
    w.resize(420, 300)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    lines = LossLines()
    w.getPlotItem().addItem(lines)
    return w, lines


def _colour_count(widget, colour) -> int:
    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[:, :img.width()]
    c = QtGui.QColor(colour)
    return int(np.count_nonzero((a[..., 2] == c.red()) & (a[..., 1] == c.green()) & (a[..., 0] == c.blue())))


def test_peak_keeps_every_pixel_columns_extremes_and_subsample_keeps_the_last_point(plot):
    w, lines = plot
    rng = np.random.default_rng(0)
    x = np.arange(1, 20001, dtype=float)
    y = 2.0 + rng.standard_normal(x.size)
    y[12345] = 40.0                                   # one spike
    band = lines.add(pg.mkPen("r"), "peak")
    smooth = lines.add(pg.mkPen("b"), "subsample", per_pixel=0.25)
    band.setData(x, y)
    smooth.setData(x, y)
    w.getPlotItem().setXRange(0, 20000, padding=0)
    vb_px = w.getPlotItem().getViewBox().width()
    bx, by = band.getData()
    assert bx.size <= 2 * vb_px + 4 and by.max() == 40.0 and by.min() == y.min()     # the envelope survives
    sx, sy = smooth.getData()
    assert sx.size <= 0.25 * vb_px + 2 and sx[-1] == 20000 and sy[-1] == y[-1]       # reaches the newest point
    assert np.all(np.diff(sx) > 0) and np.all(np.diff(bx) >= 0)
    assert band.xData is x and band.yData is y         # every point kept, not copied


def test_only_the_part_in_view_is_drawn(plot):
    w, lines = plot
    line = lines.add(pg.mkPen("r"), "peak")
    x = np.arange(1000, dtype=float)
    line.setData(x, x * 0.01)
    w.getPlotItem().setXRange(100, 200, padding=0)
    dx, _ = line.getData()
    assert dx.min() >= 99 and dx.max() <= 201 and dx.size >= 100   # (one point beyond each edge; no downsampling)


def test_log_axis_draws_log10_and_leaves_zeros_out(plot):
    w, lines = plot
    line = lines.add(pg.mkPen("r"), "subsample")
    line.setData([1, 2, 3, 4], [10.0, 0.0, 100.0, 1.0])
    w.getPlotItem().setLogMode(y=True)
    w.getPlotItem().setXRange(0, 5)
    _, y = line.getData()
    assert np.isnan(y[1]) and y[[0, 2, 3]].tolist() == [1.0, 2.0, 0.0]
    assert line.yData.tolist() == [10.0, 0.0, 100.0, 1.0]       # the data stay in loss units
    assert lines.dataBounds(1) == (0.0, 2.0)
    w.getPlotItem().setLogMode(y=False)
    assert line.getData()[1].tolist() == [10.0, 0.0, 100.0, 1.0]


def test_auto_range_button_fits_the_visible_lines(plot):
    w, lines = plot
    a = lines.add(pg.mkPen("r"), "subsample")
    b = lines.add(pg.mkPen("b"), "subsample")
    a.setData([0, 50], [1.0, 3.0])
    b.setData([0, 80], [0.5, 9.0])
    vb = w.getPlotItem().getViewBox()
    vb.autoRange(padding=0)
    (x0, x1), (y0, y1) = vb.viewRange()
    assert (x0, x1, y0, y1) == pytest.approx((0, 80, 0.5, 9.0))
    b.setVisible(False)
    vb.autoRange(padding=0)
    assert vb.viewRange()[1] == pytest.approx([1.0, 3.0])
    assert lines.dataBounds(0) == (0.0, 50.0)


def test_lines_are_painted_bands_first_and_follow_setdata_visibility_and_pen(qtbot, plot):
    """A smoothed line added before a band is still painted over it; hiding a line or changing its pen shows."""
    w, lines = plot
    smooth = lines.add(pg.mkPen("#0000ff", width=3), "subsample", layer=1)
    band = lines.add(pg.mkPen("#ff0000", width=3), "peak", layer=0)
    x = np.arange(100, dtype=float)
    smooth.setData(x, np.ones(100))
    band.setData(x, np.ones(100))                      # exactly under the smoothed line
    w.getPlotItem().setXRange(0, 100)
    w.getPlotItem().setYRange(0, 2)
    qtbot.waitUntil(lambda: _colour_count(w, "#0000ff") > 200)
    assert _colour_count(w, "#ff0000") == 0            # hidden under the line painted after it
    smooth.setVisible(False)
    qtbot.waitUntil(lambda: _colour_count(w, "#ff0000") > 200)
    assert _colour_count(w, "#0000ff") == 0
    band.setPen(pg.mkPen("#00aa00", width=3))
    qtbot.waitUntil(lambda: _colour_count(w, "#00aa00") > 200)
    band.setData([], [])
    qtbot.waitUntil(lambda: _colour_count(w, "#00aa00") == 0)
    lines.clear()
    assert lines.lines == []


def test_unknown_downsampling_method_is_refused():
    with pytest.raises(ValueError, match="'mean'"):
        LossLines().add(pg.mkPen("r"), "mean")

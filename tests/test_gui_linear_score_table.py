"""The score inspector's table shows every class of a 10-class data set without scrolling, in the real main
window: presentation mode (16 pt, projector) at 1920x1080 and normal mode at 1600x1000, either order
(pytest-qt, offscreen, the bundled 8x8 digits)."""
from __future__ import annotations

import pytest
from PySide6 import QtGui, QtWidgets

from gui import app_style
from gui.main_window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    app_style.apply(QtWidgets.QApplication.instance(), "light", False)     # as main.py starts the app
    w = MainWindow(initial_source="digits", fallback_on_start=False, offer_downloads=False)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    w.select_tab("linear")
    yield w
    w.close()
    assert not w.runner.is_running()


def _linear_tab(qtbot, w):
    qtbot.waitUntil(lambda: w.controller.used is not None and not w.runner.is_running("load"), timeout=20000)
    ws = w.workspace("Linear Classifier")
    qtbot.waitUntil(lambda: ws.inspector.model.rowCount() == 10, timeout=10000)
    qtbot.wait(50)                                      # let the layouts settle
    return ws


def _assert_every_row_shows(ws, point_size):
    table = ws.inspector.table
    assert table.font().pointSize() == point_size      # not fitted by shrinking the text
    fm = QtGui.QFontMetrics(table.font())
    vp = table.viewport()
    heights = [table.rowHeight(r) for r in range(10)]
    assert min(heights) >= fm.height(), f"rows {heights} are lower than the text ({fm.height()} px)"
    assert sum(heights) <= vp.height(), f"10 rows need {sum(heights)} px, the table shows {vp.height()} px"
    assert table.verticalScrollBar().maximum() == 0, "the table can still scroll"
    for r in range(10):
        rect = table.visualRect(table.model().index(r, 0))
        assert rect.top() >= 0 and rect.bottom() < vp.height(), f"row {r} is cut off: {rect}"
    assert not table.horizontalScrollBar().isVisible()
    for c in range(table.model().columnCount()):
        assert table.columnWidth(c) >= table.sizeHintForColumn(c), f"column {c} is cut off"
    # the inspector did not get its room by squeezing the curves and templates away (they keep >= 40 %)
    main = ws._splitters[1]
    assert ws.curves.height() >= 0.4 * main.height() - main.handleWidth() - 1


def test_all_ten_rows_show_in_presentation_mode_at_1920x1080(qtbot, window):
    window.set_presentation(True, fullscreen=False)      # before the data set has arrived
    window.resize(1920, 1080)
    ws = _linear_tab(qtbot, window)
    assert window.size().width() == 1920 and window.size().height() == 1080
    _assert_every_row_shows(ws, 16)
    window.set_presentation(False)
    window.resize(1600, 1000)
    qtbot.wait(50)
    _assert_every_row_shows(ws, 10)


def test_all_ten_rows_show_in_normal_mode_then_presentation(qtbot, window):
    ws = _linear_tab(qtbot, window)
    _assert_every_row_shows(ws, 10)
    window.resize(1920, 1080)
    window.set_presentation(True, fullscreen=False)      # with the data set already shown
    qtbot.wait(50)
    _assert_every_row_shows(ws, 16)


def test_score_table_cells_carry_their_colours_and_lose_stale_ones(qtbot):
    """The table keeps its cells in Qt items (no Python model calls while painting); an update must
    restyle every cell: a class that stopped costing loses its red, the new correct row gets bold green."""
    from PySide6 import QtCore
    from gui.score_table import CORRECT, PAYS, ScoreTable
    table = ScoreTable()
    qtbot.addWidget(table)
    R = QtCore.Qt.ItemDataRole
    table.show_rows([["a", "1.000", "(correct class)", "2.72", "0.600"],
                     ["b", "0.500", "0.500", "1.65", "0.400"]], ["correct", "pays"])
    m = table.score_model
    assert m.item(0, 3).data(R.FontRole).bold() and m.item(0, 3).foreground().color() == CORRECT
    assert m.item(1, 2).foreground().color() == PAYS and m.item(1, 1).data(R.ForegroundRole) is None
    table.show_rows([["a", "-1.000", "0.000", "0.368", "0.100"],
                     ["b", "2.000", "(correct class)", "7.39", "0.900"]], ["", "correct"])
    assert m.item(0, 0).data(R.FontRole) is None and m.item(0, 2).data(R.ForegroundRole) is None
    assert m.item(1, 2).text() == "(correct class)" and m.item(1, 2).foreground().color() == CORRECT
    assert m.item(1, 1).data(R.TextAlignmentRole) is not None and m.rowCount() == 2
    table.show_rows([["a", "0.000", "(correct class)", "1", "1.000"]], ["correct"])
    assert m.rowCount() == 1 and [r[0] for r in m.rows] == ["a"]

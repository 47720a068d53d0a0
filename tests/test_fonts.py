"""Guard: without a real font every glyph is a box, silently (see /work/shared/gui-env.md §4)."""
from PySide6 import QtGui, QtWidgets


def test_a_real_font_is_installed(qapp):
    fm = QtGui.QFontMetrics(QtWidgets.QApplication.font())
    assert fm.inFont("A"), f"no usable font: {QtGui.QFontDatabase.families()} (apt-get install fonts-dejavu-core)"

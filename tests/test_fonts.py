"""Guard: without a real font every glyph is a box, silently (see /work/shared/gui-env.md §4)."""
from PySide6 import QtGui, QtWidgets


def test_a_real_font_is_installed(qapp):
    fm = QtGui.QFontMetrics(QtWidgets.QApplication.font())
    assert fm.inFont("A"), f"no usable font: {QtGui.QFontDatabase.families()} (apt-get install fonts-dejavu-core)"


def test_button_symbols_are_in_the_installed_font(qapp):
    """A symbol the font lacks is drawn as an empty box (the pause sign U+23F8 was)."""
    from gui.linear_controls import PAUSE_TEXT, PLAY_TEXT
    fm = QtGui.QFontMetrics(QtWidgets.QApplication.font())
    for text in (PLAY_TEXT, PAUSE_TEXT):
        missing = [c for c in text if not c.isspace() and not fm.inFontUcs4(ord(c))]
        assert not missing, f"{text!r}: {missing} not in {QtWidgets.QApplication.font().family()}"

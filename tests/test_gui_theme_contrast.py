"""Check boxes and radio buttons stay visible in every theme: the rendered indicator ring stands out from the
window (WCAG non-text contrast >= 3:1), checked differs visibly from unchecked, and labels, disabled ones
included, are readable text (>= 4.5:1). Light and dark, normal and presentation mode (pytest-qt, offscreen)."""
from __future__ import annotations

import pytest
from PySide6 import QtGui, QtWidgets

from gui import app_style

pytestmark = pytest.mark.gui

VARIANTS = [(theme, pres) for theme in ("light", "dark") for pres in (False, True)]
IDS = [f"{t}{'-presentation' if p else ''}" for t, p in VARIANTS]
KINDS = [(QtWidgets.QCheckBox, QtWidgets.QStyle.SubElement.SE_CheckBoxIndicator),
         (QtWidgets.QRadioButton, QtWidgets.QStyle.SubElement.SE_RadioButtonIndicator)]


def _luminance(c: QtGui.QColor) -> float:
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in (c.redF(), c.greenF(), c.blueF())]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: QtGui.QColor, b: QtGui.QColor) -> float:
    """WCAG 2 contrast ratio, 1..21."""
    la, lb = sorted((_luminance(a), _luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def test_contrast_helper_matches_wcag():
    assert contrast(QtGui.QColor("#000"), QtGui.QColor("#fff")) == pytest.approx(21.0)
    assert contrast(QtGui.QColor("#777"), QtGui.QColor("#fff")) == pytest.approx(4.48, abs=0.01)


@pytest.fixture
def styled(qtbot):
    """Apply a theme to the whole application (conftest restores palette, font and style sheet afterwards)."""
    def apply(theme, presentation):
        app_style.apply(QtWidgets.QApplication.instance(), theme, presentation)
        return QtWidgets.QApplication.instance().palette()
    return apply


def _render(qtbot, cls, sub, *, checked: bool, enabled: bool):
    """(image, indicator rect, label rect) of a real check box / radio button as drawn."""
    host = QtWidgets.QWidget()
    qtbot.addWidget(host)
    b = cls("Scale pixels", host)
    b.setChecked(checked)
    b.setEnabled(enabled)
    QtWidgets.QVBoxLayout(host).addWidget(b)
    host.show()
    qtbot.waitExposed(host)
    opt = QtWidgets.QStyleOptionButton()
    b.initStyleOption(opt)
    rect = b.style().subElementRect(sub, opt, b)
    label = b.style().subElementRect(QtWidgets.QStyle.SubElement.SE_CheckBoxContents
                                     if cls is QtWidgets.QCheckBox else
                                     QtWidgets.QStyle.SubElement.SE_RadioButtonContents, opt, b)
    img = b.grab().toImage()
    assert img.width() == b.width(), "the test assumes one image pixel per widget pixel"
    return img, rect, label


def _max_contrast(img, pixels, against: QtGui.QColor) -> float:
    return max(contrast(img.pixelColor(x, y), against) for x, y in pixels)


def _ring_sides(img, rect, against) -> dict[str, float]:
    """Best contrast against ``against`` along the middle row and column of the indicator, near each edge
    (a box or a circle both cross there): what makes the indicator's outline visible, side by side."""
    cx, cy = rect.center().x(), rect.center().y()
    reach = max(2, rect.width() * 2 // 5)
    return {"left": _max_contrast(img, [(rect.left() + i, cy) for i in range(reach)], against),
            "right": _max_contrast(img, [(rect.right() - i, cy) for i in range(reach)], against),
            "top": _max_contrast(img, [(cx, rect.top() + i) for i in range(reach)], against),
            "bottom": _max_contrast(img, [(cx, rect.bottom() - i) for i in range(reach)], against)}


def _inner(rect):
    w, h = rect.width(), rect.height()
    return [(x, y) for x in range(rect.left() + w // 4, rect.right() - w // 4 + 1)
            for y in range(rect.top() + h // 4, rect.bottom() - h // 4 + 1)]


@pytest.mark.parametrize(("theme", "presentation"), VARIANTS, ids=IDS)
@pytest.mark.parametrize(("cls", "sub"), KINDS, ids=["checkbox", "radio"])
def test_indicators_stand_out_from_the_window(qtbot, styled, theme, presentation, cls, sub):
    pal = styled(theme, presentation)
    window = pal.color(QtGui.QPalette.ColorRole.Window)
    for enabled in (True, False):
        off, rect, _ = _render(qtbot, cls, sub, checked=False, enabled=enabled)
        on, rect_on, _ = _render(qtbot, cls, sub, checked=True, enabled=enabled)
        assert rect == rect_on and rect.width() >= (18 if presentation else 12)
        for state, img in (("unchecked", off), ("checked", on)):
            sides = _ring_sides(img, rect, window)
            assert min(sides.values()) >= 3.0, f"{state}, enabled={enabled}: outline contrast {sides}"
        # checked must read as checked: the inside changes by >= 3:1 somewhere (a mark, a fill or a dot)
        change = max(contrast(on.pixelColor(x, y), off.pixelColor(x, y)) for x, y in _inner(rect))
        assert change >= 3.0, f"enabled={enabled}: checked and unchecked look alike ({change:.2f}:1)"
        if cls is QtWidgets.QCheckBox:      # and the check mark stands out from whatever it sits on
            fill = on.pixelColor(rect.left() + 2 + rect.width() // 8, rect.top() + 2 + rect.height() // 8)
            mark = _max_contrast(on, _inner(rect), fill)
            assert mark >= 3.0, f"enabled={enabled}: the check mark has {mark:.2f}:1 on its fill"


@pytest.mark.parametrize(("theme", "presentation"), VARIANTS, ids=IDS)
def test_labels_are_readable_text_even_when_disabled(qtbot, styled, theme, presentation):
    pal = styled(theme, presentation)
    window = pal.color(QtGui.QPalette.ColorRole.Window)
    groups = QtGui.QPalette.ColorGroup
    for role in (QtGui.QPalette.ColorRole.WindowText, QtGui.QPalette.ColorRole.Text):
        for group in (groups.Active, groups.Disabled):
            assert contrast(pal.color(group, role), window) >= 4.5, (role, group)
    # what is drawn, not only what the palette says (a style sheet could override it)
    for cls, sub in KINDS:
        for enabled in (True, False):
            img, _, label = _render(qtbot, cls, sub, checked=True, enabled=enabled)
            pixels = [(x, y) for x in range(label.left(), min(label.right(), img.width() - 1) + 1)
                      for y in range(label.top(), min(label.bottom(), img.height() - 1) + 1)]
            best = _max_contrast(img, pixels, window)
            assert best >= 4.5, f"{cls.__name__} enabled={enabled}: label text {best:.2f}:1"

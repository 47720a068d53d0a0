"""Application-wide look: light/dark palettes, the presentation (projector) font and stylesheet, plot colours.

``apply(app, theme="light", presentation=False)`` is the one entry point. Presentation mode means a
16 pt font (``gui.theme.STYLE_PRESENTATION.font_pt``), a high-contrast palette (pure black on white, or
white on black), bigger tabs and scroll bars. Workspaces adapt their own plots and tiles in
``set_presentation``; :func:`restyle_plots` recolours every pyqtgraph view under a widget for the theme.
"""
from __future__ import annotations

from importlib import resources

from PySide6 import QtGui, QtWidgets

from gui.theme import style_for

__all__ = ["apply", "palette", "plot_colors", "restyle_plots", "current_theme", "indicator_stylesheet", "THEMES"]

THEMES = ("light", "dark")
_state = {"theme": "light", "presentation": False, "base_font": None}

# role -> (light, dark, light high-contrast, dark high-contrast)
_COLORS = {
    "Window":          ("#f4f5f7", "#23262b", "#ffffff", "#000000"),
    "WindowText":      ("#1d1f23", "#e6e8eb", "#000000", "#ffffff"),
    "Base":            ("#ffffff", "#1b1d21", "#ffffff", "#000000"),
    "AlternateBase":   ("#eef0f3", "#2a2d33", "#f0f0f0", "#1a1a1a"),
    "Text":            ("#1d1f23", "#e6e8eb", "#000000", "#ffffff"),
    "Button":          ("#e9ebef", "#30343a", "#e8e8e8", "#202020"),
    "ButtonText":      ("#1d1f23", "#e6e8eb", "#000000", "#ffffff"),
    "ToolTipBase":     ("#ffffe1", "#3a3f47", "#ffffe1", "#303030"),
    "ToolTipText":     ("#1d1f23", "#e6e8eb", "#000000", "#ffffff"),
    "PlaceholderText": ("#80848c", "#8a9099", "#505050", "#b0b0b0"),
    "Highlight":       ("#2f6fd6", "#4a8cf0", "#0044cc", "#ffd400"),
    "HighlightedText": ("#ffffff", "#ffffff", "#ffffff", "#000000"),
    "Link":            ("#1f5fbf", "#79aaff", "#0033aa", "#8fc0ff"),
    "Mid":             ("#c3c7ce", "#4a4f57", "#808080", "#808080"),
    "Dark":            ("#9aa0a8", "#16181b", "#404040", "#c0c0c0"),
    "Light":           ("#ffffff", "#3d424a", "#ffffff", "#303030"),
}
# disabled text stays readable (>= 4.5:1 on Window), only dimmer than the normal text
_DISABLED_TEXT = ("#6b7079", "#8a9099", "#707070", "#909090")
# check box / radio button ring (>= 3:1 on Window and Base: Fusion's own ring all but vanishes on dark)
_INDICATOR_RING = ("#5f646c", "#a4abb5", "#000000", "#ffffff")


def current_theme() -> str:
    return _state["theme"]


def _column(theme: str, presentation: bool) -> int:
    return (1 if theme == "dark" else 0) + (2 if presentation else 0)


def palette(theme: str = "light", presentation: bool = False) -> QtGui.QPalette:
    """The QPalette for ``theme`` ("light"/"dark"); high-contrast variant in presentation mode."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES} (got {theme!r})")
    col = _column(theme, presentation)
    pal = QtGui.QPalette()
    for role, values in _COLORS.items():
        pal.setColor(getattr(QtGui.QPalette.ColorRole, role), QtGui.QColor(values[col]))
    disabled = QtGui.QColor(_DISABLED_TEXT[col])
    for role in (QtGui.QPalette.ColorRole.WindowText, QtGui.QPalette.ColorRole.Text,
                 QtGui.QPalette.ColorRole.ButtonText):
        pal.setColor(QtGui.QPalette.ColorGroup.Disabled, role, disabled)
    return pal


def plot_colors(theme: str | None = None, presentation: bool | None = None) -> tuple[str, str]:
    """(background, foreground) for pyqtgraph views in the current (or given) theme."""
    theme = theme or _state["theme"]
    presentation = _state["presentation"] if presentation is None else presentation
    col = _column(theme, presentation)
    return _COLORS["Base"][col], _COLORS["Text"][col]


def _stylesheet(presentation: bool) -> str:
    name = "presentation.qss" if presentation else "app.qss"
    try:
        return resources.files("resources").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):
        return ""


def _check_mark(color: str) -> str:
    """Path of the check-mark image nearest ``color``: the white or the black one."""
    name = "check_white.svg" if QtGui.QColor(color).lightnessF() > 0.5 else "check_black.svg"
    try:
        return resources.files("resources").joinpath(name).as_posix()
    except (AttributeError, ModuleNotFoundError, NotADirectoryError):
        return ""


def indicator_stylesheet(theme: str, presentation: bool) -> str:
    """Check boxes and radio buttons drawn with a ring that stands out on the window and on the base colour,
    filled with the highlight colour when checked, bigger in presentation mode (16 pt labels)."""
    col = _column(theme, presentation)
    c = {role: values[col] for role, values in _COLORS.items()}
    ring, off = _INDICATOR_RING[col], _DISABLED_TEXT[col]
    size, bw = (18, 3) if presentation else (12, 2)
    mark = _check_mark(c["HighlightedText"])                                   # the palette's text on highlight
    mark_off = _check_mark("#000000" if QtGui.QColor(off).lightnessF() > 0.5 else "#ffffff")   # the other one
    dot = ("qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5, stop:0 {0}, stop:0.42 {0}, stop:0.52 {1}, "
           "stop:1 {1})")
    return f"""
QCheckBox::indicator, QRadioButton::indicator {{ width: {size}px; height: {size}px;
    border: {bw}px solid {ring}; background: {c["Base"]}; }}
QCheckBox::indicator {{ border-radius: {bw + 1}px; }}
QRadioButton::indicator {{ border-radius: {size // 2 + bw}px; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {c["Highlight"]}; }}
QCheckBox::indicator:checked {{ border-color: {c["Highlight"]}; background: {c["Highlight"]}; image: url("{mark}"); }}
QRadioButton::indicator:checked {{ border-color: {c["Highlight"]};
    background: {dot.format(c["Highlight"], c["Base"])}; }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: {off}; background: {c["Window"]}; }}
QCheckBox::indicator:checked:disabled {{ background: {off}; image: url("{mark_off}"); }}
QRadioButton::indicator:checked:disabled {{ background: {dot.format(off, c["Window"])}; }}
"""


def apply(app: QtWidgets.QApplication, theme: str = "light", presentation: bool = False) -> None:
    """Set palette, font size and stylesheet on ``app`` (GUI thread)."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES} (got {theme!r})")
    if _state["base_font"] is None:
        _state["base_font"] = QtGui.QFont(app.font())
    _state.update(theme=theme, presentation=bool(presentation))
    app.setPalette(palette(theme, presentation))
    font = QtGui.QFont(_state["base_font"])
    font.setPointSize(style_for(presentation).font_pt)
    app.setFont(font)
    app.setStyleSheet(_stylesheet(presentation) + indicator_stylesheet(theme, presentation))


def restyle_plots(root: QtWidgets.QWidget) -> int:
    """Recolour every pyqtgraph ``GraphicsView`` under ``root`` for the current theme; returns how many."""
    import pyqtgraph as pg

    bg, fg = plot_colors()
    fg_color = QtGui.QColor(fg)
    n = 0
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(bg)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):   # keep each axis's pen width, change its colour
                pen = QtGui.QPen(item.pen())
                pen.setColor(fg_color)
                item.setPen(pen)
                text_pen = QtGui.QPen(item.textPen())
                text_pen.setColor(fg_color)
                item.setTextPen(text_pen)
        n += 1
    return n

"""Look and feel shared by every workspace: class colours, line widths and sizes for normal and
presentation mode, light/dark palettes. (The shell helper extends this; workspaces only read it.)"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

from PySide6 import QtGui

__all__ = ["Style", "STYLE_NORMAL", "STYLE_PRESENTATION", "style_for", "class_color", "class_colors"]

_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


@dataclass(frozen=True)
class Style:
    """Sizes that change in presentation mode."""
    font_pt: int = 10          # base UI font
    plot_font_pt: int = 10     # axis labels/ticks
    line_width: float = 2.0    # curves
    tile: int = 48             # thumbnail size in image grids (px)
    big_image: int = 280       # zoomed single images (px)
    marker_size: int = 8       # scatter points


STYLE_NORMAL = Style()
STYLE_PRESENTATION = Style(font_pt=16, plot_font_pt=16, line_width=4.0, tile=84, big_image=460, marker_size=14)


def style_for(presentation: bool) -> Style:
    return STYLE_PRESENTATION if presentation else STYLE_NORMAL


def class_color(i: int, n: int = 10) -> QtGui.QColor:
    """A distinct colour for class ``i`` of ``n`` (tab10 up to 10 classes, evenly spaced hues beyond)."""
    if n <= 10:
        return QtGui.QColor(_TAB10[i % 10])
    r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.85)
    return QtGui.QColor(int(r * 255), int(g * 255), int(b * 255))


def class_colors(n: int) -> list[QtGui.QColor]:
    return [class_color(i, n) for i in range(n)]

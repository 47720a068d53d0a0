"""A dismissible coloured strip for messages the user must not miss (a file that could not be read...).

``show_message(text, kind="error"|"warning"|"info", timeout_ms=0)``; the close button or the timeout
hides it. The text is selectable so it can be copied into a bug report or a search box.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["MessageBar"]

_COLORS = {  # background, border, text
    "error": ("#fde7e9", "#c42b1c", "#5c0b0b"),
    "warning": ("#fff4ce", "#b8860b", "#4a3800"),
    "info": ("#e5f1fb", "#2f6fd6", "#0b2a52"),
}


class MessageBar(QtWidgets.QFrame):
    """Hidden until :meth:`show_message`."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("message_bar")
        self.kind = "info"
        self.label = QtWidgets.QLabel()
        self.label.setObjectName("message_text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.hide)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, text: str, kind: str = "error", timeout_ms: int = 0) -> None:
        if kind not in _COLORS:
            raise ValueError(f"kind must be one of {sorted(_COLORS)} (got {kind!r})")
        self.kind = kind
        bg, border, fg = _COLORS[kind]
        self.setStyleSheet(f"QFrame#message_bar {{ background: {bg}; border: 1px solid {border};"
                           f" border-left: 5px solid {border}; }}"
                           f" QLabel#message_text {{ color: {fg}; }}"
                           f" QToolButton {{ color: {fg}; }}")
        self.label.setText(text)
        self.show()
        if timeout_ms > 0:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

"""Numbers written the way the slides write them (every loss-lab string uses these).

At most 2 decimals with trailing zeros dropped (``2.9``, ``0``, ``12.9``, ``5.27``), a true minus sign and
``∞`` for infinity; probabilities with exactly 2 decimals (``0.13``, ``0.00``); scores with at least one
decimal (``2.0``); exponentials as on the slide (``24.5``, ``164.0``, ``0.18``).
"""
from __future__ import annotations

import math

__all__ = ["MINUS", "fmt", "fmt_fixed", "fmt_score", "fmt_prob", "fmt_exp", "paren"]

MINUS = "\u2212"


def _special(v: float) -> str | None:
    """Text for NaN / ±infinity, else None."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    return None


def _signed(s: str) -> str:
    """A true minus sign, and never "−0.00"."""
    return (s.lstrip("-") if float(s) == 0 else s).replace("-", MINUS)


def fmt(v, digits=2) -> str:
    """``v`` rounded to ``digits`` decimals, trailing zeros dropped, true minus, ``∞`` for infinity."""
    v = float(v)
    text = f"{round(v, digits):.{digits}f}"
    return _special(v) or _signed(text.rstrip("0").rstrip(".") if "." in text else text)


def fmt_fixed(v, digits=2) -> str:
    """``v`` with exactly ``digits`` decimals (probabilities: ``0.13``, ``0.00``)."""
    v = float(v)
    return _special(v) or _signed(f"{v:.{digits}f}")


def fmt_score(v) -> str:
    """A score as the slide's table writes it: at least one decimal (``2.0``, ``−3.1``, ``3.25``)."""
    v = float(v)
    text = f"{round(v, 2):.2f}"
    return _special(v) or _signed(text[:-1] if text.endswith("0") else text)


def fmt_prob(p) -> str:
    """A probability in a formula: 2 decimals, or 2 significant digits below 0.005 (``0.0021``)."""
    p = float(p)
    return f"{p:.2g}" if 0 < p < 0.005 else fmt_fixed(p)


def fmt_exp(v) -> str:
    """An exponential as the slide writes it: ``24.5``, ``164.0``, ``0.18``; ``1.2e+05`` when huge."""
    v = float(v)
    if math.isinf(v):
        return "overflow"
    if v >= 1e4 or 0 < v < 0.01:
        return f"{v:.1e}".replace("-", MINUS)
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def paren(v) -> str:
    """A number as it appears after a minus sign: negatives in parentheses (``2.2 − (−3.1)``)."""
    s = fmt_score(v)
    return f"({s})" if s.startswith(MINUS) else s

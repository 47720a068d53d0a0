"""Progress and cancellation hooks shared by every long-running core function.

Long work in ``core`` (loading, downloading, kNN over a test set, cross-validation,
training) accepts two optional keyword arguments:

``progress(done, total, message)``
    called from the working thread now and then; ``done``/``total`` are numbers in the
    same unit (items, bytes, folds...), ``message`` a short human sentence.
``cancel() -> bool``
    polled between chunks of work; when it returns True the function raises
    :class:`Cancelled` promptly (within a chunk, well under a second) and leaves no
    partial result behind.

The GUI passes its worker's hooks; scripts usually pass nothing.
"""
from __future__ import annotations

from typing import Callable, Optional

__all__ = ["Cancelled", "ProgressFn", "CancelFn", "check_cancel", "report"]

ProgressFn = Callable[[float, float, str], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside long work when its ``cancel`` hook returned True."""


def check_cancel(cancel: Optional[CancelFn]) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is given and returns True."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def report(progress: Optional[ProgressFn], done: float, total: float, message: str = "") -> None:
    """Call ``progress(done, total, message)`` if a progress hook was given."""
    if progress is not None:
        progress(done, total, message)

"""Keep Python's cyclic garbage collector from pausing the GUI thread.

A full (generation-2) collection walks every tracked object; with Qt, pyqtgraph and a loaded data
set that is ~90,000 objects and ~35 ms, and in a long session the heap only grows. Such a
collection can start in any thread that allocates -- including the GUI thread while a curve
repaints -- so it shows up as a visible stall. ``settle()`` runs one full collection at a moment
the user is already waiting (right after a data set has loaded) and then moves every surviving
object into the permanent generation (``gc.freeze``), so later collections only walk what was
created since. Garbage among frozen objects is reclaimed at the next ``settle()``, which first
unfreezes them.

A live training run adds what it keeps: one record per model and minibatch (~1,600 a second in compare
mode), kept until Pause hands them to the Trainer. Within a minute a full collection had 500,000 more
objects to walk and paused the GUI thread for 70 ms (found with ``gc.callbacks`` behind a 109 ms
event-loop stall). So while a run is live, ``freeze_young()`` collects the two young generations (about a
millisecond) and freezes their survivors every couple of seconds.
"""
from __future__ import annotations

import gc
import time

__all__ = ["settle", "freeze_young"]


def settle() -> float:
    """Collect everything, then freeze the survivors; returns the seconds the collection took."""
    t0 = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - t0


def freeze_young() -> None:
    """Collect the young generations (0 and 1), then freeze every survivor: later full collections skip
    them. Cyclic garbage that is older than that is kept until the next :func:`settle`."""
    gc.collect(1)
    gc.freeze()

"""gui.heap while a run is live: the young heap is collected and frozen every couple of seconds, so a full
collection never has the run's records to walk (a 70 ms pause of the GUI thread before)."""
import gc
import types
import weakref

from gui import heap, train_controller
from gui.train_controller import FREEZE_SECONDS, LiveState, TrainController


class _Rec:
    def __init__(self, i):
        self.i = i


def _in_generations(obj):
    return any(any(o is obj for o in gc.get_objects(g)) for g in range(3))


def test_freeze_young_collects_young_garbage_and_freezes_the_survivors():
    try:
        kept = [_Rec(i) for i in range(5000)]
        a, b = _Rec(0), _Rec(1)
        a.other, b.other = b, a                        # a garbage cycle, only the collector frees it
        dead = weakref.ref(a)
        del a, b
        before = gc.get_freeze_count()
        heap.freeze_young()
        assert dead() is None
        assert gc.get_freeze_count() >= before + len(kept)
        assert not _in_generations(kept[0]) and not _in_generations(kept[-1])   # no collection walks them
    finally:
        gc.unfreeze()


def test_records_streaming_in_freeze_the_young_heap_every_two_seconds(monkeypatch):
    clock, calls = [100.0], []
    monkeypatch.setattr(train_controller.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(heap, "freeze_young", lambda: calls.append(clock[0]))
    ctl = types.SimpleNamespace(histories={}, live=LiveState(), _frozen_at=0.0, curves_dirty=False)
    for _ in range(60):                                # 6 s of messages, 10 a second
        TrainController._on_partial(ctl, {"records": {}, "iteration": 1, "epoch": 0,
                                          "examples_per_second": 0.0})
        clock[0] += 0.1
    assert len(calls) == 3 and calls[1] - calls[0] >= FREEZE_SECONDS - 1e-9

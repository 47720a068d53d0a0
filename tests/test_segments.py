"""Compare mode's models walk whole segments side by side (core._segments): one hand-over per segment, the
one-core weights to the last bit, and cancellation that leaves every model at the same iteration."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core import _segments, training
from core.linear import LinearClassifier, TrainingDiverged
from core.training import Trainer


def _data(n=900, d=40, c=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(c, d))
    y = rng.integers(0, c, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y


class Slow(LinearClassifier):
    """A model whose steps take a while, and which notes the thread each step ran on."""

    def _step(self, X, idx, yb, it, jobs, buf, next_idx=None):
        self.threads.add(threading.current_thread().name)
        self.steps += 1
        time.sleep(self.delay)
        return super()._step(X, idx, yb, it, jobs, buf, next_idx)


def _slow(delay, **kw):
    m = Slow(batch_size=50, learning_rate=0.05, random_state=0, **kw)
    m.delay, m.threads, m.steps = delay, set(), 0
    return m


def _pair(jobs, slow=0.0, fast=0.0):
    models = {"hinge": _slow(fast, loss="hinge"), "softmax": _slow(slow, loss="softmax")}
    X, y = _data()
    return Trainer(models, X, y, jobs=jobs), models


def test_two_models_meet_once_per_segment_on_two_threads(monkeypatch):
    calls = []
    real = _segments.halves
    monkeypatch.setattr(_segments, "halves", lambda fn, cut, n, jobs: (calls.append(jobs), real(fn, cut, n, jobs)))
    t, models = _pair(jobs=2)
    t.step(10)                                       # 10 minibatches of one epoch (18 per epoch): one segment
    assert calls == [2] and t.iteration == 10
    assert models["hinge"].threads == {"lcl-sgd"} and models["softmax"].threads == {threading.current_thread().name}
    t.step(30)                                       # crosses two epoch ends: still one segment
    assert calls == [2, 2] and t.epoch == 2 and t.iteration == 40
    assert [r.iteration for r in t.history["softmax"] if r.epoch_end] == [18, 36]
    assert models["hinge"].threads == {"lcl-sgd"}   # (the accuracies too: measured inside the segment)
    for k, m in models.items():                      # ... on the weights right after each epoch's last minibatch
        ref = Trainer({k: _slow(0.0, loss=m.loss)}, *_data(), jobs=1)
        ref.run_epoch()
        ref.run_epoch()
        assert [(r.train_accuracy, r.val_accuracy) for r in t.history[k] if r.epoch_end] == \
            [(r.train_accuracy, r.val_accuracy) for r in ref.history[k] if r.epoch_end]
        assert t.history[k][:36] == ref.history[k]


def test_a_long_step_is_cut_every_segment_epochs(monkeypatch):
    calls = []
    real = _segments.halves
    monkeypatch.setattr(_segments, "halves", lambda fn, cut, n, jobs: (calls.append(jobs), real(fn, cut, n, jobs)))
    monkeypatch.setattr(training, "SEGMENT_EPOCHS", 2)
    t, _ = _pair(jobs=2)
    t.step(80)                                       # 4 4/9 epochs of 18: segments of 36, 36 and 8 minibatches
    assert len(calls) == 3 and t.iteration == 80 and t.epoch == 4
    ref, _ = _pair(1)
    for n in (18, 18, 18, 18, 8):
        ref.step(n)
    assert _state(t) == _state(ref)


def _state(t):
    return (t.iteration, t.epoch, None if t._perm is None else t._perm.tolist(), t._pos,
            t._rng.bit_generator.state, {k: m.W_.tolist() for k, m in t.models.items()},
            {k: list(h) for k, h in t.history.items()})


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("stop_after", [5, 17, 18, 19, 36, 40])
def test_a_segment_across_epochs_cancelled_anywhere_goes_on_like_one_epoch_at_a_time(jobs, stop_after):
    """The orders of later epochs are drawn when the segment is made; a cancel before, at or after an epoch
    end (18 minibatches an epoch) puts the generator back, so the run goes on with the same minibatches."""
    t, _ = _pair(jobs)
    claims = []
    lock = threading.Lock()

    def cancel():
        with lock:
            claims.append(1)
            return len(claims) > 2 * stop_after      # two models: two polls per minibatch

    t.step(50, cancel=cancel)
    if jobs == 1:
        assert t.iteration == stop_after
    else:                                            # (two threads: wherever the one ahead had got to, maybe the end)
        assert stop_after <= t.iteration <= 50
    t.step(60 - t.iteration)
    ref, _ = _pair(1)
    while ref.iteration < 60:                        # never across an epoch end
        ref.step(min(60 - ref.iteration, 18 - ref.iteration % 18))
    assert _state(t) == _state(ref)


class DivergesAt(LinearClassifier):
    """Diverges (as SGD reports it) at iteration ``at``."""

    def _step(self, X, idx, yb, it, jobs, buf, next_idx=None):
        if it == self.at:
            raise TrainingDiverged(f"loss exploded at iteration {it}", it, self.learning_rate)
        return super()._step(X, idx, yb, it, jobs, buf, next_idx)


@pytest.mark.parametrize("a_at, b_at", [(25, 30), (36, 36), (30, 37), (36, 20)])
def test_every_model_stopping_in_a_later_epoch_leaves_the_generator_as_one_epoch_at_a_time(a_at, b_at):
    """A segment across epochs that ends because no model trains any more (both diverged; at an epoch's last
    minibatch, 36, or one model long before) draws no order the one-epoch-at-a-time loop would not have."""
    def make(jobs):
        ms = {"a": DivergesAt(batch_size=50, random_state=0), "b": DivergesAt(batch_size=50, random_state=0)}
        ms["a"].at, ms["b"].at = a_at, b_at
        return Trainer(ms, *_data(), jobs=jobs)
    t = make(2)
    t.step(100)
    assert t.stopped["a"] and t.stopped["b"] and t.iteration == max(a_at, b_at)
    ref = make(1)
    while ref.iteration < 100 and any(r is None for r in ref.stopped.values()):
        ref.step(18 - ref.iteration % 18)                # never across an epoch end
    assert _state(t) == _state(ref)


def test_side_by_side_gives_the_one_core_weights_and_records():
    runs = {}
    for jobs in (1, 2):
        t, models = _pair(jobs)
        for n in (7, 30, 1, 25):
            t.step(n)
        runs[jobs] = (t, models)
    (t1, m1), (t2, m2) = runs[1], runs[2]
    for k in m1:
        np.testing.assert_array_equal(m1[k].W_, m2[k].W_)
        assert t1.history[k] == t2.history[k]
    assert t1.iteration == t2.iteration == 63 and t1.epoch == t2.epoch == 3


@pytest.mark.parametrize("jobs, seen_by", [(1, "any"), (2, "any"), (2, "slow")])
def test_cancel_inside_a_segment_stops_every_model_at_the_same_iteration(jobs, seen_by):
    """The fast model runs ahead of the slow one; when cancel fires (whichever model's thread sees it first),
    the slow one catches up to it -- and a run continued from there equals an uncancelled one."""
    t, models = _pair(jobs, slow=0.004, fast=0.001)
    polls = []
    slow_thread = threading.current_thread()            # (the second group, softmax, runs here)

    def cancel():
        polls.append(1)
        return len(polls) > 9 and (seen_by == "any" or threading.current_thread() is slow_thread)

    out = t.step(15, cancel=cancel)
    n = t.iteration
    assert 4 <= n <= 15                                  # (the fast model may have finished the segment)
    assert len(out["hinge"]) == len(out["softmax"]) == n == len(t.history["hinge"]) == len(t.history["softmax"])
    assert [r.iteration for r in out["softmax"]] == list(range(1, n + 1))
    t.step(40 - n)
    ref, ref_models = _pair(1)
    ref.step(40)
    for k in models:
        np.testing.assert_array_equal(models[k].W_, ref_models[k].W_)
    assert t.history["softmax"] == ref.history["softmax"]


def test_a_cancel_before_the_first_minibatch_does_nothing():
    t, models = _pair(jobs=2)
    W = models["hinge"].W_.copy()
    assert t.step(5, cancel=lambda: True) == {"hinge": [], "softmax": []}
    assert t.iteration == 0 and np.array_equal(models["hinge"].W_, W)


def test_a_model_diverging_mid_segment_stops_alone_and_the_other_finishes_the_segment():
    X, y = _data(400, 50, 3)
    X *= 1e4
    models = {"wild": LinearClassifier(learning_rate=1e6, batch_size=40, random_state=0),
              "calm": LinearClassifier(learning_rate=1e-6, batch_size=40, random_state=0)}
    t = Trainer(models, X, y, jobs=2, init_same_weights=False)
    out = t.step(8)
    assert t.stopped["wild"] and len(out["wild"]) < 8
    assert len(out["calm"]) == 8 and t.iteration == 8
    t.step(4)
    assert len(t.history["calm"]) == 12 and t.iteration == 12


def test_an_error_in_one_model_stops_the_other_thread_and_reaches_the_caller():
    class Broken(LinearClassifier):
        def _step(self, X, idx, yb, it, jobs, buf, next_idx=None):
            if it == 3:
                raise MemoryError("no room for the batch")
            return super()._step(X, idx, yb, it, jobs, buf, next_idx)

    X, y = _data()
    slow = _slow(0.01, loss="softmax")
    t = Trainer({"broken": Broken(batch_size=50, random_state=0), "softmax": slow}, X, y, jobs=2)
    with pytest.raises(MemoryError, match="no room"):
        t.step(15)
    assert slow.steps < 8                           # it stopped at its next minibatch, not after all 15

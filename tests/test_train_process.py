"""Play in a forked child process (gui.train_process): the run it makes is the run a thread makes, messages
and Pause reach it, and an error or a dead child leaves the Trainer consistent. No Qt here: the job context
is a plain stand-in with the methods the loop uses."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from core import _halves
from core.linear import LinearClassifier
from core.training import Trainer
from gui.train_job import train_loop
from gui.train_process import TrainingProcess, TrainingProcessDied, process_available

pytestmark = pytest.mark.skipif(not process_available(), reason="training processes need fork (Linux)")


def _data(n, d=40, c=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(c, d))
    y = rng.integers(0, c, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y


def _trainer():
    X, y = _data(600)
    Xv, yv = _data(120, seed=1)
    models = {"softmax": LinearClassifier(loss="softmax", batch_size=64, learning_rate=0.05, random_state=0),
              "hinge": LinearClassifier(loss="hinge", batch_size=64, learning_rate=0.05, random_state=0)}
    return Trainer(models, X, y, Xv, yv, random_state=3)


def _kw(**kw):
    Xt, yt = _data(200, seed=2)
    out = dict(max_iterations=None, until_epoch_end=False, epoch_limit=0, into_epoch=0, X_test=Xt, y_test=yt)
    out.update(kw)
    return out


class Ctx:
    """What the loop and the relay use of gui.workers.TaskContext; ``on_emit(payload)`` runs per message."""

    def __init__(self, on_emit=None):
        self.cancel = False
        self.inbox: list = []
        self.emitted: list = []
        self.on_emit = on_emit

    def cancelled(self):
        return self.cancel

    def receive(self):
        out, self.inbox = self.inbox, []
        return out

    def emit(self, payload):
        self.emitted.append(payload)
        if self.on_emit is not None:
            self.on_emit(self, payload)


def _same(a: Trainer, b: Trainer):
    assert (a.iteration, a.epoch) == (b.iteration, b.epoch)
    for k in a.models:
        np.testing.assert_array_equal(a.models[k].W_, b.models[k].W_)
        np.testing.assert_array_equal(a.models[k].b_, b.models[k].b_)
        assert a.history[k] == b.history[k]
        assert a.history[k] is a.models[k].history_


def test_a_run_in_the_child_is_the_run_a_thread_makes_and_goes_on_identically():
    a, b = _trainer(), _trainer()
    kw = _kw(max_iterations=37)
    ctx_a, ctx_b = Ctx(), Ctx()
    proc = TrainingProcess(a, **kw)
    assert proc.relay(ctx_a) is None
    assert not proc.child.is_alive() and proc.child.exitcode == 0
    train_loop(ctx_b, b, **kw)
    _same(a, b)
    assert a.iteration == 37 and a.epoch == 3            # 600 rows / 64 = 10 steps an epoch
    sent = {k: [r for p in ctx_a.emitted for r in p["records"][k]] for k in a.models}
    assert sent == a.history                             # the screen got every record, in order
    a.step(25)                                           # the minibatch order, momentum, counters came back:
    b.step(25)                                           # the next steps are the same too
    _same(a, b)


def test_messages_reach_the_child_and_pause_leaves_a_consistent_trainer():
    t = _trainer()

    def on_emit(ctx, payload):
        if len(ctx.emitted) == 1:
            ctx.inbox.append({"learning_rate": 0.5, "reg": 0.0})
        if payload["iteration"] >= 120:
            ctx.cancel = True                            # Pause

    ctx = Ctx(on_emit)
    proc = TrainingProcess(t, **_kw())                  # Play: no limit
    proc.relay(ctx)
    assert not proc.child.is_alive()
    n = t.iteration
    assert n >= 120
    for k, m in t.models.items():
        assert m.learning_rate == 0.5 and m.reg == 0.0
        assert len(t.history[k]) == n and t.history[k][-1].iteration == n
        assert t.history[k][-1].reg_loss == 0.0 and t.history[k][0].reg_loss > 0
        assert m.n_iter_ == n and np.isfinite(m.W_).all()
    twin = _trainer()                                    # the step state is whole: a fresh Trainer given it
    twin.set_step_state(t.step_state(), {k: list(h) for k, h in t.history.items()})   # steps on identically
    t.step(10)
    twin.step(10)
    _same(t, twin)


def test_an_error_in_the_child_is_raised_here_with_its_traceback():
    t = _trainer()
    t.step(5)
    before = t.models["softmax"].W_.copy()

    def broken(*args, **kwargs):
        raise ValueError("batch_size must be <= 600 (got batch_size=10**9)")

    t.step = broken                                     # the forked copy inherits it
    with pytest.raises(ValueError, match="batch_size must be") as info:
        TrainingProcess(t, **_kw()).relay(Ctx())
    assert any("In the training process" in n and "broken" in n for n in info.value.__notes__)
    del t.step
    assert t.iteration == 5 and len(t.history["softmax"]) == 5
    np.testing.assert_array_equal(t.models["softmax"].W_, before)


def test_a_killed_child_leaves_the_last_weights_it_sent_and_training_goes_on():
    t = _trainer()
    proc = TrainingProcess(t, **_kw())
    seen = []

    def on_emit(ctx, payload):
        if "weights" in payload:
            seen.append((payload["iteration"], {k: w.copy() for k, (w, _b) in payload["weights"].items()}))
        if len(seen) == 3 and proc.child.is_alive():
            os.kill(proc.child.pid, signal.SIGKILL)

    with pytest.raises(TrainingProcessDied, match=r"exit code -9.*goes on from the last weights"):
        proc.relay(Ctx(on_emit))
    it, weights = seen[-1]
    assert t.iteration == it and all(len(h) == it and h[-1].iteration == it for h in t.history.values())
    for k, W in weights.items():
        np.testing.assert_array_equal(t.models[k].W_, W)
    t.step(12)                                           # and it trains on from there
    assert t.iteration == it + 12 and all(np.isfinite(m.W_).all() for m in t.models.values())


def test_step_state_refuses_another_trainers_models():
    t = _trainer()
    other = Trainer({"softmax": LinearClassifier(random_state=0)}, *_data(100))
    with pytest.raises(ValueError, match="the state is for models"):
        t.set_step_state(other.step_state())


def test_the_split_helper_thread_is_recreated_in_a_forked_child():
    """Only the forking thread exists in a child: without the at-fork reset its first split step would hand
    work to a helper thread that is not there, and wait forever."""
    X, y = _data(600)
    m = LinearClassifier(batch_size=200, random_state=0)
    Trainer({"m": m}, X, y, jobs=2).step(3)            # the helper thread exists here now
    assert _halves._helper is not None
    pid = os.fork()
    if pid == 0:                                          # child: one split step, then leave at once
        try:
            t = Trainer({"m": LinearClassifier(batch_size=200, random_state=0)}, X, y, jobs=2)
            t.step(2)
            os._exit(0 if t.iteration == 2 else 3)
        except BaseException:  # noqa: BLE001
            os._exit(4)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in its first split step")
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_child_trains_at_a_lower_priority_than_the_gui():
    from gui.train_process import CHILD_NICE
    t = _trainer()
    proc = TrainingProcess(t, **_kw())
    seen = []

    def on_emit(ctx, payload):
        if not seen:
            seen.append(os.getpriority(os.PRIO_PROCESS, proc.child.pid))
        ctx.cancel = True

    proc.relay(Ctx(on_emit))
    assert seen == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICE)]


def test_a_child_whose_gui_is_gone_stops_by_itself():
    """No orphan trains on after the GUI process died: its next message finds the pipe closed."""
    proc = TrainingProcess(_trainer(), **_kw())          # Play without a limit
    assert proc._here.poll(10)                           # training
    proc._here.close()                                   # what the GUI process's death does to the pipe
    proc.child.join(10)
    assert not proc.child.is_alive() and proc.child.exitcode == 0

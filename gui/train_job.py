"""The training job's worker function: steps a ``core.training.Trainer`` in ~40 ms chunks (~100 ms in
compare mode) and sends what the GUI needs to show (new records, copies of W about every 100 ms, test
accuracy at epoch ends).

Runs in a :class:`gui.workers.JobRunner` thread, or for Play in a forked child process
(:mod:`gui.train_process`, which hands it a context with the same methods); touches no widget. While it
runs it is the only code that touches the Trainer; hyperparameter changes arrive as messages
(``ctx.receive()``) and are applied between chunks.
"""
from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["train_loop", "fast_gil_switching", "CHUNK_SECONDS", "COMPARE_CHUNK_SECONDS", "WEIGHTS_SECONDS",
           "TEST_SECONDS"]

CHUNK_SECONDS = 0.04      # target duration of one trainer.step(n) chunk in the job
COMPARE_CHUNK_SECONDS = 0.1
"""The same while two or more models train (compare mode). Each chunk ends with the models meeting (they
train side by side on the two cores, see ``core._segments``): when the GUI takes a core for a repaint, one
model falls behind and the other waits for it at the meeting, so the GUI's CPU cost counts about twice.
Over longer chunks the repaints land on both models alike: measured on CIFAR-10 in one interleaved run,
the GUI cost 15.7 % of compare mode's examples/s with 40 ms chunks, 12.0 % with 100 ms, 3 % with 200 ms.
100 ms keeps the curves fed at the ~10 Hz they are drawn at, and slider changes within ~0.1 s."""
WEIGHTS_SECONDS = 0.1     # how often the job sends copies of W (templates refresh at ~10 Hz)
TEST_SECONDS = 1.0        # test accuracy at epoch ends, at most this often while playing
SWITCH_INTERVAL = 0.001   # GIL switch interval while training: the GUI waits <= 1 ms per hand-over, not 5 ms


def train_loop(ctx, trainer, *, max_iterations, until_epoch_end, epoch_limit, into_epoch, X_test, y_test):
    """The worker: step the Trainer in ~40 ms chunks (100 ms while several models train) until cancelled,
    diverged or a limit is reached.

    ``into_epoch`` is how many iterations of the current epoch were already done, so Step-epoch and the
    epoch limit can stop exactly at an epoch end."""
    chunk, done = 1, 0
    final_epoch = trainer.epoch + 1 if until_epoch_end else (trainer.epoch + epoch_limit if epoch_limit else None)
    last_w = last_test = 0.0
    t_start = time.perf_counter()
    examples = 0
    while not ctx.cancelled():
        for msg in ctx.receive():
            trainer.set_params(None, **msg)
        n = chunk if max_iterations is None else min(chunk, max_iterations - done)
        if final_epoch is not None and trainer.epoch + 1 >= final_epoch:      # in the last epoch
            n = max(1, min(n, trainer.batches_per_epoch - into_epoch))
        t0 = time.perf_counter()
        recs = trainer.step(n, cancel=ctx.cancelled)
        dt = time.perf_counter() - t0
        got = max((len(v) for v in recs.values()), default=0)
        done += got
        examples += got * trainer.batch_size
        for r in next((v for v in recs.values() if v), []):
            into_epoch = 0 if r.epoch_end else into_epoch + 1
        target = CHUNK_SECONDS if sum(not v for v in trainer.stopped.values()) < 2 else COMPARE_CHUNK_SECONDS
        chunk = int(np.clip(chunk * target / max(dt, 1e-4), max(1, chunk // 2), chunk * 2 + 1))
        now = time.perf_counter()
        payload = {"records": recs, "iteration": trainer.iteration, "epoch": trainer.epoch,
                   "examples_per_second": examples / max(now - t_start, 1e-6)}
        ended = any(r.epoch_end for v in recs.values() for r in v)
        stopped = {k: v for k, v in trainer.stopped.items() if v}
        finishing = (bool(stopped) or got == 0 or (max_iterations is not None and done >= max_iterations)
                     or (final_epoch is not None and trainer.epoch >= final_epoch))
        if now - last_w >= WEIGHTS_SECONDS or finishing:
            payload["weights"] = {k: (m.W_.copy(), m.b_.copy()) for k, m in trainer.models.items()}
            last_w = now
        if ended and (now - last_test >= TEST_SECONDS or finishing):
            payload["test"] = trainer.accuracy(X_test, y_test)
            payload["test_iteration"] = trainer.iteration
            last_test = time.perf_counter()
        ctx.emit(payload)
        if finishing:
            break
    return None


_saved_switch: list[float] = []


def fast_gil_switching(on: bool) -> None:
    """While SGD runs in the worker, hand the GIL back to the GUI thread every 1 ms instead of Python's 5 ms:
    a repaint calls into Python hundreds of times and would otherwise wait up to 5 ms at each call."""
    if on and not _saved_switch:
        _saved_switch.append(sys.getswitchinterval())
        sys.setswitchinterval(min(SWITCH_INTERVAL, _saved_switch[0]))
    elif not on and _saved_switch:
        sys.setswitchinterval(_saved_switch.pop())

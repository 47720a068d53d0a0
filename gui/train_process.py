"""Play runs SGD in a child process: the training threads never wait for the GUI thread's interpreter lock.

Why, as measured (CIFAR-10, 2 cores; README "Speed"): what the GUI costs SGD is mostly its CPU time, in a
thread or in a process alike (a steady 15 % load of one core in another process cost the bare Trainer
9-16 %), so the drawing itself was made cheaper. Against the same GUI training in a thread the child's
throughput is within the noise (~2 points better on average); what it clearly brings is the lower
priority below: the GUI thread waits half as long for a CPU, and the worst event-loop gap fell from
126-159 ms to under 30 ms.

How (Linux; elsewhere, and for the Step buttons, the loop runs in the job thread as before):

* At Play the GUI thread forks, when no other job runs (forking while another thread is inside a BLAS
  call can break OpenBLAS's thread pool); otherwise Play trains in the job thread. The child starts with
  the Trainer, its features (100-600 MB) and the test set already in memory, copy-on-write: nothing is
  copied or pickled, nothing is imported.
* The child runs the same loop (:func:`gui.train_job.train_loop`) with a context whose ``emit``,
  ``receive`` and ``cancelled`` go through a pipe and an event. The job thread here relays what it
  sends, so the GUI sees the same messages as from a thread.
* When the loop ends (Pause, an epoch limit, a divergence, an error), the child sends the Trainer's step
  state (:meth:`core.training.Trainer.step_state`) and the records not yet sent. The job thread applies
  them to the Trainer here, which then is exactly where the child's copy was: Step, Save, the inspector and
  the next Play continue from there.
* Hyperparameter changes (λ, learning rate, ...) reach the child through the same pipe, between chunks.
* If the child dies without a word (killed, out of memory), the Trainer goes on from the last weights it
  sent, with the records up to them (:meth:`core.training.Trainer.continue_from`), and the user sees an
  error naming the exit code.

The child runs at a lower priority (``CHILD_NICE``), so the GUI gets a core as soon as it needs one. It never
touches Qt and leaves with ``os._exit`` (no Qt or atexit clean-up runs twice).
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
import traceback

from core.progress import Cancelled
from gui.train_job import train_loop

__all__ = ["process_available", "TrainingProcess", "TrainingProcessDied"]

CHILD_NICE = 5              # the child yields the CPU to the GUI thread: with two training threads on two
                            # cores the GUI thread waited for a CPU ~9 % of the time, half that at nice 5,
                            # and event-loop gaps over 60 ms became rare; throughput unchanged (interleaved A/B)
CANCEL_GRACE_SECONDS = 5.0   # after Pause, how long the child may take to finish its step before it is killed


class TrainingProcessDied(RuntimeError):
    """The training process ended without sending its state (killed, crashed, out of memory)."""


def process_available() -> bool:
    """Forking is available and safe for our child (Linux: the child calls no system framework)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class _ChildContext:
    """The job context inside the child: the same methods as :class:`gui.workers.TaskContext`."""

    def __init__(self, conn, cancel, start_len):
        self._conn = conn
        self._cancel = cancel
        self.sent = dict(start_len)     # per model: records the parent has (from before the fork, or sent since)

    def progress(self, done, total, message=""):
        pass

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def emit(self, payload) -> None:
        """Always sent, even after Pause: the parent's Trainer needs every record (the parent drops the
        message for the screen as a thread's context would)."""
        for k, recs in payload["records"].items():
            self.sent[k] += len(recs)
        self._conn.send(("partial", payload))

    def receive(self) -> list:
        out = []
        while self._conn.poll():
            kind, obj = self._conn.recv()
            if kind == "params":
                out.append(obj)
        return out

    def sleep(self, seconds: float) -> None:
        self._cancel.wait(seconds)


def _final(trainer, ctx, error=None) -> tuple:
    tail = {k: trainer.history[k][ctx.sent[k]:] for k in trainer.models}
    return ("done" if error is None else "error", trainer.step_state(), tail, error)


def _child_main(conn, parent_end, cancel, trainer, start_len, kwargs) -> None:
    """Runs in the forked child. ``start_len``: history lengths at the fork (records before are the parent's).

    The child closes its copy of the parent's end of the pipe first: otherwise that copy would keep the pipe
    open after the GUI process died, and the child would block on a full pipe instead of ending."""
    parent_end.close()
    try:
        os.nice(CHILD_NICE)
    except OSError:  # (raising one's niceness needs no privilege; a sandbox may still refuse)
        pass
    ctx = _ChildContext(conn, cancel, start_len)
    try:
        train_loop(ctx, trainer, **kwargs)
        msg = _final(trainer, ctx)
    except Cancelled:
        msg = _final(trainer, ctx)
    except (BrokenPipeError, ConnectionResetError):     # the GUI process is gone: nobody to train for
        return
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it in the job
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that cannot travel becomes a RuntimeError
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        msg = _final(trainer, ctx, (exc, text))
    try:
        conn.send(msg)
    except (BrokenPipeError, ConnectionResetError):
        pass
    conn.close()


class TrainingProcess:
    """A forked child running the job loop on a copy of ``trainer``; :meth:`relay` is the job function.

    Create it on the GUI thread, when no other job runs: forking while another thread is inside a BLAS
    call can leave OpenBLAS's thread pool broken in one of the two processes. ``OSError`` if the fork
    fails (out of memory, too many processes): the caller then trains in a thread."""

    def __init__(self, trainer, **kwargs):
        mp = multiprocessing.get_context("fork")
        self.trainer = trainer
        self._here, there = mp.Pipe()
        self._cancel = mp.Event()
        start_len = {k: len(h) for k, h in trainer.history.items()}
        self.child = mp.Process(target=_child_main, name="lcl-training", daemon=True,
                                args=(there, self._here, self._cancel, trainer, start_len, kwargs))
        try:
            self.child.start()
        finally:
            there.close()

    def relay(self, ctx) -> None:
        """The job function (job thread): forward messages both ways until the child sends its final
        state, apply it to the Trainer, and end; raises what the loop raised, or
        :class:`TrainingProcessDied`."""
        trainer, here, child = self.trainer, self._here, self.child
        got = {k: [] for k in trainer.models}       # records received, per model
        last = None                                 # (weights, record counts) of the last payload with weights
        deadline = None
        try:
            while True:
                if deadline is None and ctx.cancelled():
                    self._cancel.set()
                    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
                for msg in ctx.receive():
                    here.send(("params", msg))
                if here.poll(0.02):
                    try:
                        msg = here.recv()
                    except (EOFError, OSError):
                        break
                    if msg[0] == "partial":
                        payload = msg[1]
                        for k, recs in payload["records"].items():
                            got[k].extend(recs)
                        if "weights" in payload:
                            last = (payload["weights"], {k: len(v) for k, v in got.items()})
                        ctx.emit(payload)
                        continue
                    _, state, tail, error = msg
                    trainer.set_step_state(state, {k: got[k] + tail[k] for k in got})
                    if error is not None:
                        exc, text = error
                        exc.add_note(f"In the training process:\n{text}")
                        raise exc
                    return None
                if not child.is_alive() and not here.poll():
                    break
                if deadline is not None and time.monotonic() > deadline:
                    break
            if last is not None:
                weights, n = last
                trainer.continue_from(weights, {k: got[k][:n[k]] for k in got})
            child.join(1.0)                         # (the pipe can close a moment before the exit is seen)
            code = child.exitcode
            why = (f"ended unexpectedly (exit code {code})" if code is not None else
                   f"did not stop within {CANCEL_GRACE_SECONDS:.0f} s of Pause and was ended")
            raise TrainingProcessDied(f"The training process {why}; training goes on from the last weights "
                                      f"it sent (iteration {trainer.iteration}).")
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (asked first, then killed) and free the pipe; safe to call twice."""
        self._cancel.set()
        self.child.join(1.0)
        if self.child.is_alive():
            self.child.kill()
            self.child.join(1.0)
        self._here.close()

"""The one pattern for long work: a job runs ``fn(ctx)`` in a QThread; only the GUI thread touches widgets.

Usage from a panel::

    def work(ctx):                      # runs in a worker thread: no widgets here
        return core.model_selection.cross_validate_knn(X, y, ks, progress=ctx.progress, cancel=ctx.cancelled)

    self.runner.start("cv", work, label="Cross-validating k",
                      on_result=self.show_cv,          # called on the GUI thread
                      on_partial=None, on_error=None)

Rules this module enforces
--------------------------
* Starting a job of a ``kind`` cancels the running job of that kind; its late results are dropped.
* ``ctx.progress(done, total, message)`` is throttled to ~20 Hz; ``ctx.cancelled()`` is the
  core ``cancel`` hook; ``ctx.emit(obj)`` sends a partial result (delivered on the GUI thread).
* ``job.send(obj)`` puts a message in the job's inbox (e.g. a changed hyperparameter);
  the worker reads them with ``ctx.receive()`` between steps (napari's two-way worker idea).
* Errors: ``core.progress.Cancelled`` ends the job quietly; user errors (``ValueError``,
  ``TypeError``, ``OSError``) go to ``on_error`` or the runner's ``user_error`` signal (shown in the
  status bar); anything else goes to ``unexpected_error`` (the app's one exception handler).
* ``shutdown(timeout)`` cancels everything and waits (closing the window).
"""
from __future__ import annotations

import itertools
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from PySide6 import QtCore

from core.progress import Cancelled

__all__ = ["TaskContext", "Job", "JobRunner", "USER_ERRORS"]

USER_ERRORS = (ValueError, TypeError, OSError)
_ids = itertools.count(1)


class TaskContext:
    """What a worker function sees: progress, cancel, partial results and an inbox."""

    def __init__(self, job: "Job"):
        self._job = job
        self._last_progress = 0.0

    def progress(self, done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last_progress < 0.05:
            return
        self._last_progress = now
        self._job._signals.progress.emit(self._job.id, float(done), float(total), str(message))

    def cancelled(self) -> bool:
        return self._job._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled."""
        if self._job._cancel.is_set():
            raise Cancelled("cancelled")

    def emit(self, obj: Any) -> None:
        if not self._job._cancel.is_set():
            self._job._signals.partial.emit(self._job.id, obj)

    def receive(self) -> list:
        """All messages sent with ``job.send`` since the last call (oldest first)."""
        out = []
        while True:
            try:
                out.append(self._job._inbox.get_nowait())
            except queue.Empty:
                return out

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when cancelled."""
        self._job._cancel.wait(seconds)


class _Signals(QtCore.QObject):
    progress = QtCore.Signal(int, float, float, str)
    partial = QtCore.Signal(int, object)
    done = QtCore.Signal(int, str, object)  # id, status ("done"|"cancelled"|"failed"), payload


class _Thread(QtCore.QThread):
    def __init__(self, job: "Job"):
        super().__init__()
        self._job = job

    def run(self) -> None:  # worker thread
        job = self._job
        try:
            result = job.fn(job.ctx)
        except Cancelled:
            job._signals.done.emit(job.id, "cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - forwarded to the GUI thread, never swallowed
            exc.__lcl_traceback__ = traceback.format_exc()
            job._signals.done.emit(job.id, "failed", exc)
        else:
            status = "cancelled" if job._cancel.is_set() else "done"
            job._signals.done.emit(job.id, status, result)


@dataclass(eq=False)
class Job:
    kind: str
    label: str
    fn: Callable[[TaskContext], Any]
    on_result: Optional[Callable[[Any], None]] = None
    on_partial: Optional[Callable[[Any], None]] = None
    on_error: Optional[Callable[[BaseException], None]] = None
    on_cancelled: Optional[Callable[[], None]] = None
    id: int = field(default_factory=lambda: next(_ids))
    started_at: float = field(default_factory=time.monotonic)
    status: str = "running"

    def __post_init__(self):
        self._cancel = threading.Event()
        self._inbox: "queue.Queue[Any]" = queue.Queue()
        self._signals = _Signals()
        self.ctx = TaskContext(self)
        self._thread = _Thread(self)

    def cancel(self) -> None:
        self._cancel.set()

    def send(self, obj: Any) -> None:
        self._inbox.put(obj)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def wait(self, timeout: float = 2.0) -> bool:
        """Block until the thread ends (GUI thread only; used on shutdown / handover)."""
        return self._thread.wait(QtCore.QDeadlineTimer(int(timeout * 1000)))


class JobRunner(QtCore.QObject):
    """Starts, cancels and tracks jobs; one running job per ``kind``."""

    job_started = QtCore.Signal(object)                   # Job
    job_progress = QtCore.Signal(object, float, float, str)  # Job, done, total, message
    job_finished = QtCore.Signal(object, str)             # Job, status
    user_error = QtCore.Signal(str, str)                  # kind, message
    unexpected_error = QtCore.Signal(object, str)         # exception, traceback text

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._current: dict[str, Job] = {}
        self._alive: set[Job] = set()

    # -- starting and stopping -------------------------------------------------
    def start(self, kind: str, fn: Callable[[TaskContext], Any], *, label: str = "",
              on_result=None, on_partial=None, on_error=None, on_cancelled=None,
              wait_previous: bool = False) -> Job:
        """Run ``fn(ctx)`` in a worker thread, cancelling the running job of the same kind.

        ``wait_previous`` blocks (briefly) until the old job's thread has ended -- needed when
        both jobs would touch the same core object (e.g. a Trainer).
        """
        old = self._current.get(kind)
        if old is not None and old.running:
            old.cancel()
            if wait_previous:
                old.wait(2.0)
        job = Job(kind, label or kind, fn, on_result, on_partial, on_error, on_cancelled)
        job._signals.progress.connect(self._on_progress)
        job._signals.partial.connect(self._on_partial)
        job._signals.done.connect(self._on_done)
        self._current[kind] = job
        self._alive.add(job)
        self.job_started.emit(job)
        job._thread.start()
        return job

    def cancel(self, kind: str | None = None, *, wait: bool = False) -> None:
        for k, job in list(self._current.items()):
            if kind is None or k == kind:
                job.cancel()
                if wait:
                    job.wait(2.0)

    def current(self, kind: str) -> Job | None:
        job = self._current.get(kind)
        return job if job is not None and job.running else None

    def is_running(self, kind: str | None = None) -> bool:
        if kind is None:
            return any(j.running for j in self._alive)
        return self.current(kind) is not None

    def running_jobs(self) -> list[Job]:
        return [j for j in self._alive if j.running]

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Cancel every job and wait up to ``timeout`` seconds in total; True if all ended."""
        for job in list(self._alive):
            job.cancel()
        deadline = time.monotonic() + timeout
        ok = True
        for job in list(self._alive):
            left = max(0.0, deadline - time.monotonic())
            ok &= job.wait(left)
        QtCore.QCoreApplication.processEvents()  # deliver the queued "done" signals
        return ok

    # -- signal plumbing (GUI thread) ----------------------------------------------
    def _job(self, job_id: int) -> Job | None:
        for job in self._alive:
            if job.id == job_id:
                return job
        return None

    def _is_stale(self, job: Job) -> bool:
        return job._cancel.is_set() or self._current.get(job.kind) is not job

    def _on_progress(self, job_id: int, done: float, total: float, message: str) -> None:
        job = self._job(job_id)
        if job is not None and not self._is_stale(job):
            self.job_progress.emit(job, done, total, message)

    def _on_partial(self, job_id: int, obj: Any) -> None:
        job = self._job(job_id)
        if job is not None and not self._is_stale(job) and job.on_partial is not None:
            job.on_partial(obj)

    def _on_done(self, job_id: int, status: str, payload: Any) -> None:
        job = self._job(job_id)
        if job is None:
            return
        superseded = self._current.get(job.kind) is not job   # a newer job of this kind took over
        job._thread.wait(1000)
        self._alive.discard(job)
        if not superseded:
            del self._current[job.kind]
        if status == "done" and (superseded or job._cancel.is_set()):
            status = "cancelled"                                # late result of a cancelled job: dropped
        job.status = status
        try:
            if status == "done" and job.on_result is not None:
                job.on_result(payload)
            elif status == "cancelled" and job.on_cancelled is not None and not superseded:
                job.on_cancelled()
            elif status == "failed" and not (superseded and isinstance(payload, USER_ERRORS)):
                self._route_error(job, payload)
        finally:
            self.job_finished.emit(job, status)
            job._thread.deleteLater()

    def _route_error(self, job: Job, exc: BaseException) -> None:
        if isinstance(exc, USER_ERRORS):
            if job.on_error is not None:
                job.on_error(exc)
            else:
                self.user_error.emit(job.kind, str(exc))
        else:
            tb = getattr(exc, "__lcl_traceback__", "") or "".join(
                traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.unexpected_error.emit(exc, tb)

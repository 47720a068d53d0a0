"""The non-widget side of the linear workspace: owns the data features, the ``core.training.Trainer`` and
the one training job, and keeps NumPy buffers of the history for the curves.

Threading rule: while a job of kind ``"train"`` runs, only its worker thread touches the Trainer; the
GUI thread sends hyperparameter changes as messages (``job.send``) that the loop applies between steps.
When no job runs (paused, after a step), the GUI thread may read and change the Trainer. Every time a
job ends or is cancelled, :meth:`TrainController.sync` copies what the job did not get to emit
(the records of its last chunk, the final weights) from the Trainer, so the buffers always match it.

The job loop (:func:`gui.train_job.train_loop`) runs ``trainer.step(n)`` in chunks sized to take ~40 ms,
emits the new records every chunk and a copy of every ``W`` about every 100 ms, measures test accuracy at
epoch ends (at most once a second), and stops on divergence, at an epoch limit, or after a fixed number of
iterations (Step). The workspace repaints from the buffers with a throttled timer (~10 Hz per view).
Play runs that loop in a forked child process where it can (:mod:`gui.train_process`; ``use_process``),
at a lower priority than the GUI; the Step buttons run it in the job thread.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6 import QtCore

from core.datasets import train_val_split
from core.linear import LinearClassifier
from core.losses import expected_initial_loss
from core.preprocess import Preprocessor
from core.training import Trainer
from gui import heap
from gui.train_history import History, SanityCheck
from gui.train_job import fast_gil_switching, train_loop
from gui.train_process import TrainingProcess, process_available

__all__ = ["History", "TrainController", "SanityCheck", "LiveState"]

SANITY_EXAMPLES = 2000    # examples used for the initial-loss sanity check
FREEZE_SECONDS = 2.0      # while records stream in, freeze the young heap this often (see gui.heap)


@dataclass
class _Features:
    key: tuple
    preprocessor: Preprocessor
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass
class LiveState:
    """What the job last reported (read by the repaint timer)."""

    iteration: int = 0
    epoch: int = 0
    examples_per_second: float = 0.0
    test_accuracy: dict = field(default_factory=dict)
    test_iteration: int = -1


class TrainController(QtCore.QObject):
    """Owns the Trainer, the features and the training job; the widgets read its buffers."""

    state_changed = QtCore.Signal(str)          # "idle", "playing", "stepping"
    trainer_reset = QtCore.Signal()             # new Trainer (models may differ): rebuild views
    diverged = QtCore.Signal(str, int, str)     # model, iteration, reason
    finished = QtCore.Signal(str)               # why a play ended by itself: "epoch limit", "diverged"

    KIND = "train"
    use_process = process_available()   # Play trains in a child process (False: in the job thread)

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.dataset = None
        self.train_idx = self.val_idx = None
        self.params: dict = {}
        self.features: _Features | None = None
        self.trainer: Trainer | None = None
        self.histories: dict[str, History] = {}
        self.weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.snapshots: dict[str, LinearClassifier] = {}
        self.sanity: dict[str, SanityCheck] = {}
        self.live = LiveState()
        self.state = "idle"
        self.reported_stops: set[str] = set()
        self.curves_dirty = self.weights_dirty = False
        self._job = None
        self._frozen_at = 0.0
        runner.job_finished.connect(self._on_job_finished)

    # ------------------------------------------------------------------ data and parameters
    def set_dataset(self, dataset, val_fraction: float = 0.1, seed: int = 0) -> None:
        """New data set: cancel training, split train/val, forget features (built on the next reset)."""
        self.stop(wait=True)
        self.dataset = dataset
        self.features = None
        self.trainer = None
        if dataset is None:
            self.train_idx = self.val_idx = None
            return
        if val_fraction and val_fraction > 0:
            self.train_idx, self.val_idx = train_val_split(dataset.y_train, val_fraction, seed)
        else:
            self.train_idx, self.val_idx = np.arange(dataset.n_train), None

    def model_names(self) -> list[str]:
        mode = self.params.get("loss_mode", "softmax")
        return ["hinge", "softmax"] if mode == "compare" else [mode]

    def _ensure_features(self) -> _Features:
        ds = self.dataset
        key = (id(ds), bool(self.params.get("scale", True)), bool(self.params.get("subtract_mean", True)))
        if self.features is not None and self.features.key == key:
            return self.features
        pre = Preprocessor(scale=key[1], subtract_mean=key[2])
        tr_imgs = ds.X_train[self.train_idx]
        pre.fit(tr_imgs)
        self.features = self._make_features(key, pre)
        return self.features

    def _make_features(self, key, pre) -> _Features:
        ds = self.dataset
        has_val = self.val_idx is not None and len(self.val_idx) > 0
        return _Features(
            key, pre, pre.transform(ds.X_train[self.train_idx]), ds.y_train[self.train_idx],
            pre.transform(ds.X_train[self.val_idx]) if has_val else None,
            ds.y_train[self.val_idx] if has_val else None,
            pre.transform(ds.X_test), ds.y_test)

    def _new_model(self, loss: str) -> LinearClassifier:
        p = self.params
        return LinearClassifier(loss=loss, penalty=p.get("penalty", "l2"), reg=float(p.get("reg", 1e-4)),
                                learning_rate=float(p.get("learning_rate", 1e-3)),
                                batch_size=int(p.get("batch_size", 200)), init_scale=float(p.get("init_scale", 1e-3)),
                                random_state=int(p.get("seed", 0)))

    # ------------------------------------------------------------------ reset
    def reset(self, params: dict | None = None) -> None:
        """Stop training and build a new Trainer from ``params`` (initial W from the seed)."""
        self.stop(wait=True)
        if params is not None:
            self.params = dict(params)
        if self.dataset is None:
            return
        f = self._ensure_features()
        models = {name: self._new_model(name) for name in self.model_names()}
        self._install(Trainer(models, f.X_train, f.y_train, f.X_val, f.y_val,
                              random_state=int(self.params.get("seed", 0)),
                              n_classes=len(self.dataset.class_names)))

    def _install(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.histories = {name: History() for name in trainer.models}
        for name, h in self.histories.items():
            h.extend(trainer.history[name])
        self.weights, self.snapshots = {}, {}
        self.reported_stops = set()
        self.live = LiveState(iteration=trainer.iteration, epoch=trainer.epoch)
        for name, m in trainer.models.items():
            self.snapshots[name] = copy.copy(m)
            self.weights[name] = (m.W_.copy(), m.b_.copy())
            self.snapshots[name].W_, self.snapshots[name].b_ = self.weights[name]
        self.sanity = self._sanity_check()
        self.live.test_accuracy = self._test_accuracy()
        self.live.test_iteration = trainer.iteration
        self.curves_dirty = self.weights_dirty = True
        self.trainer_reset.emit()

    def _sanity_check(self) -> dict[str, SanityCheck]:
        """Initial data loss at the (small random) initial W on up to 2000 training examples; for a model
        that has trained already (loaded from a file), the first recorded minibatch loss instead."""
        f = self.features
        n = min(SANITY_EXAMPLES, len(f.y_train))
        idx = np.linspace(0, len(f.y_train) - 1, n).astype(np.int64)
        out = {}
        for name, m in self.trainer.models.items():
            c = len(m.classes_)
            hist = self.trainer.history[name]
            if self.trainer.iteration == 0:
                measured = float(m.compute_loss(f.X_train[idx], f.y_train[idx]).data)
            elif hist:
                measured = float(hist[0].data_loss)
            else:
                continue
            out[name] = SanityCheck(name, measured, expected_initial_loss(m.loss, c), c,
                                    from_history=self.trainer.iteration > 0)
        return out

    def _test_accuracy(self) -> dict[str, float]:
        f = self.features
        return self.trainer.accuracy(f.X_test, f.y_test)

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def play(self, epoch_limit: int = 0) -> None:
        self._start("playing", max_iterations=None, until_epoch_end=False, epoch_limit=int(epoch_limit))

    def step_iterations(self, n: int = 1) -> None:
        self._start("stepping", max_iterations=int(n), until_epoch_end=False, epoch_limit=0)

    def step_epoch(self) -> None:
        self._start("stepping", max_iterations=None, until_epoch_end=True, epoch_limit=0)

    def _start(self, state, **kw) -> None:
        if self.trainer is None:
            return
        self.stop(wait=True)
        self._clear_stops_if_resumable()
        f, trainer = self.features, self.trainer
        into = self._iterations_into_epoch()
        kw.update(X_test=f.X_test, y_test=f.y_test, into_epoch=into)
        proc = self._fork(trainer, kw) if state == "playing" else None
        fast_gil_switching(proc is None)
        self._job = self.runner.start(
            self.KIND, proc.relay if proc is not None else lambda ctx: train_loop(ctx, trainer, **kw),
            label="Training the linear classifier", on_partial=self._on_partial,
            on_result=lambda _r: self.sync(), wait_previous=True)
        self._set_state(state)

    def _fork(self, trainer: Trainer, kw: dict) -> TrainingProcess | None:
        """A child process for Play, or None to train in the job thread: when ``use_process`` is off, another
        job runs (see :mod:`gui.train_process`), or the fork fails."""
        if not self.use_process or any(j.kind != self.KIND for j in self.runner.running_jobs()):
            return None
        try:
            return TrainingProcess(trainer, **kw)
        except OSError:
            return None

    def _iterations_into_epoch(self) -> int:
        """Iterations already done in the current epoch (idle only: reads the Trainer's history)."""
        t = self.trainer
        last_end = 0
        for recs in t.history.values():
            last_end = max(last_end, next((r.iteration for r in reversed(recs) if r.epoch_end), 0))
        return max(0, t.iteration - last_end)

    def stop(self, wait: bool = True) -> None:
        """Pause: cancel the job, wait for its thread, then copy what it did not emit."""
        if self._job is not None and self._job.running:
            self.runner.cancel(self.KIND, wait=wait)
        self._job = None
        if self.trainer is not None:
            self.sync()
        self._set_state("idle")

    def set_live(self, **hyper) -> None:
        """Apply penalty / λ / learning rate / batch size at the next step."""
        self.params.update(hyper)
        if self.trainer is None:
            return
        if self.running:
            self._job.send(dict(hyper))
        else:
            self.trainer.set_params(None, **hyper)

    def _set_state(self, state: str) -> None:
        if state == "idle":
            fast_gil_switching(False)
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _on_job_finished(self, job, status: str) -> None:
        if job is not self._job:
            return
        self._job = None
        self.sync()
        self._set_state("idle")

    def _reapply_live(self) -> None:
        """Idle only: queue the current penalty / λ / rate / batch size again, in case a message reached the
        job after its last chunk (it then ended without reading it). Applied at the next step."""
        live = {k: self.params[k] for k in ("penalty", "reg", "learning_rate", "batch_size") if k in self.params}
        if live and self.trainer is not None:
            self.trainer.set_params(None, **live)

    # ------------------------------------------------------------------ data from the job
    def _on_partial(self, payload: dict) -> None:
        now = time.monotonic()
        if now - self._frozen_at >= FREEZE_SECONDS:        # see gui.heap: no long GC pause mid-run
            self._frozen_at = now
            heap.freeze_young()
        for name, recs in payload["records"].items():
            if name in self.histories and self.histories[name].extend(recs):
                self.curves_dirty = True
        self.live.iteration = payload["iteration"]
        self.live.epoch = payload["epoch"]
        self.live.examples_per_second = payload["examples_per_second"]
        if "weights" in payload:
            self._set_weights(payload["weights"])
        if "test" in payload:
            self.live.test_accuracy = payload["test"]
            self.live.test_iteration = payload["test_iteration"]

    def _set_weights(self, weights: dict) -> None:
        for name, (W, b) in weights.items():
            self.weights[name] = (W, b)
            snap = self.snapshots.get(name)
            if snap is not None:
                snap.W_, snap.b_ = W, b
        self.weights_dirty = True

    def sync(self) -> None:
        """Idle only: bring buffers, weights, counters and test accuracy up to date with the Trainer."""
        t = self.trainer
        if t is None or self.running:
            return
        self._reapply_live()
        for name, h in list(self.histories.items()):
            if len(h) > len(t.history[name]):    # a dead training process: the Trainer went back a little
                self.histories[name] = h = History()
            if h.extend(t.history[name][len(h):]):
                self.curves_dirty = True
        self._set_weights({k: (m.W_.copy(), m.b_.copy()) for k, m in t.models.items()})
        self.live.iteration, self.live.epoch = t.iteration, t.epoch
        if self.live.test_iteration != t.iteration:
            self.live.test_accuracy = self._test_accuracy()
            self.live.test_iteration = t.iteration
        for name, reason in t.stopped.items():
            if reason and name not in self.reported_stops:
                self.reported_stops.add(name)
                self.diverged.emit(name, self.histories[name].last_iteration + 1, reason)

    def _clear_stops_if_resumable(self) -> None:
        """After a divergence the user may lower the rate and continue from the kept weights."""
        t = self.trainer
        if any(t.stopped.values()):
            t.resume()
            self.reported_stops = set()

    # ------------------------------------------------------------------ loading a saved model
    def load(self, loaded) -> None:
        """Continue from a :class:`core.persistence.LoadedModel`: its W, preprocessing, hyperparameters and
        history replace the current run (the caller checked compatibility with the data set)."""
        self.stop(wait=True)
        m = loaded.model
        pre = loaded.preprocessor
        if pre is None or not hasattr(pre, "mean_"):
            pre = Preprocessor(scale=bool(self.params.get("scale", True)),
                               subtract_mean=bool(self.params.get("subtract_mean", True)))
            pre.fit(self.dataset.X_train[self.train_idx])
        seed = m.random_state if isinstance(m.random_state, (int, np.integer)) else self.params.get("seed", 0)
        self.params.update(loss_mode=m.loss, penalty=m.penalty, reg=m.reg, learning_rate=m.learning_rate,
                           batch_size=m.batch_size, init_scale=m.init_scale, seed=int(seed),
                           scale=bool(pre.scale), subtract_mean=bool(pre.subtract_mean))
        key = (id(self.dataset), bool(pre.scale), bool(pre.subtract_mean))
        self.features = self._make_features(key, pre)
        f = self.features
        trainer = Trainer({m.loss: m}, f.X_train, f.y_train, f.X_val, f.y_val, random_state=int(seed),
                          n_classes=len(self.dataset.class_names), warm_start=True)
        trainer.continue_from({}, {m.loss: list(loaded.history or [])})    # the counters follow the history
        self._install(trainer)

"""A steppable minibatch-SGD loop that trains one or more linear classifiers on the *same* minibatches.

Conventions
-----------
* ``X_train`` is ``(N, D)`` float32 (already preprocessed), labels are class indices ``0 .. C-1``.
* Every model in the dict sees the identical sequence of minibatches: each epoch the trainer draws one
  permutation of ``0 .. N-1`` from its own generator (``random_state``) and walks it in batches of
  ``batch_size`` (the last batch of an epoch may be smaller). So in compare mode
  ``{"hinge": m1, "softmax": m2}`` the only difference between the two runs is the loss.
* With ``init_same_weights=True`` every model starts from the first model's initial ``W``/``b``
  (drawn from that model's ``random_state``: ``W = init_scale * N(0, 1)``, ``b = 0``).
* :meth:`Trainer.step` returns one :class:`Record` per model per iteration; train accuracy (on at most
  ``eval_cap`` evenly spaced training examples) and validation accuracy are measured at epoch ends.
* A model whose loss or weights become inf/NaN (or whose loss explodes) is stopped with a reason in
  :attr:`Trainer.stopped`, keeping its last finite weights; the other models go on.
* Iterations and epochs in records are 1-based: the first update is iteration 1 of epoch 1.
"""
from __future__ import annotations

import copy
import csv
import io
import threading
import time

import numpy as np

from core._halves import WORKERS
from core._sgd_kernel import BatchRows
from core._segments import run_segment
from core.linear import EVAL_CAP, LinearClassifier, Record, TrainingDiverged, eval_rows, limit_blas_threads
from core.validation import check_array, check_in_range, check_labels, check_random_state

__all__ = ["Record", "Trainer", "CSV_COLUMNS"]

CSV_COLUMNS = ("iteration", "epoch", "data_loss", "reg_loss", "total_loss", "batch_accuracy",
               "train_accuracy", "val_accuracy", "epoch_end")
"""Header of :meth:`Trainer.history_csv` (empty cells where a value was not measured)."""

SEGMENT_EPOCHS = 8
"""A segment spans at most this many epochs (their orders are drawn when it is made: N int64 each)."""


class _Segment:
    """The minibatches of one :meth:`Trainer.step` segment: from position ``pos`` of the epoch order ``perm``
    on, ``left`` minibatches at most, across epoch ends (the models meet once per segment, see
    :mod:`core._segments`; their epoch-end accuracies are measured inside it).

    The orders of the epochs it reaches are drawn from ``rng`` when the segment is made, as the loop drew
    them one epoch at a time before; :meth:`state_after` puts ``rng`` back where that loop would have left
    it when the segment ends early (cancelled, or every model stopped), so the minibatches, the weights and
    the generator's state are the same as with one epoch per segment."""

    def __init__(self, perm, pos, n, bs, left, rng):
        self._rng, self._n, self._pos0 = rng, n, pos
        self._rng_state = None
        self.perms = [perm]
        self.batches, self.starts, self.ends, self.epoch_of = [], [], [], []
        self.first_of = [0]                       # index of each epoch's first minibatch in the segment
        while True:
            starts = range(pos, n, bs)[:left]     # (a range: nothing built for the rest of the epoch)
            p = self.perms[-1]
            for a in starts:
                self.batches.append(p[a:a + bs])
                self.starts.append(a + bs)
                self.ends.append(a + bs >= n)
                self.epoch_of.append(len(self.perms) - 1)
            left -= len(starts)
            if left <= 0 or not self.ends[-1] or len(self.perms) >= SEGMENT_EPOCHS:
                break
            if self._rng_state is None:
                self._rng_state = copy.deepcopy(rng.bit_generator.state)
            self.perms.append(rng.permutation(n))
            self.first_of.append(len(self.batches))
            pos = 0

    def ybs(self, y):
        return [y[idx] for idx in self.batches]

    def completed(self, done: int) -> int:
        """Epochs whose last minibatch is among the first ``done``."""
        return sum(self.ends[:done])

    def state_after(self, done: int, alive_at) -> tuple:
        """``(perm, pos)`` after the first ``done`` minibatches (``perm`` None after an epoch's last one),
        with the generator drawn exactly as far as the one-epoch-at-a-time loop would have: it drew the
        next epoch's order once an epoch had ended, minibatches were still due and ``alive_at(j)`` (some
        model was still training before minibatch ``j``)."""
        entered = 1
        for e in range(1, len(self.perms)):
            if self.first_of[e] <= done and alive_at(self.first_of[e]):
                entered = e + 1
            else:
                break
        if entered < len(self.perms):              # drawn ahead, never reached: undo those draws
            self._rng.bit_generator.state = self._rng_state
            for _ in range(entered - 1):
                self._rng.permutation(self._n)
        e = entered - 1
        if e > 0 and self.first_of[e] == done:     # entered, not a minibatch done yet
            return self.perms[e], 0
        if done == 0:
            return self.perms[0], self._pos0
        pos = self.starts[done - 1]                # (past the minibatch; at an epoch end >= n)
        return (None if self.ends[done - 1] else self.perms[e]), pos


class Trainer:
    """Train several :class:`~core.linear.LinearClassifier` s side by side, a few iterations at a time.

    Parameters
    ----------
    models : dict[str, LinearClassifier]
        Their hyperparameters are validated here; their weights are (re)initialised (see ``warm_start``).
    X_train : array (N, D), finite
    y_train : int array (N,), class indices
    X_val, y_val : optional validation set (accuracy measured at every epoch end)
    random_state : None, int or Generator
        The minibatch order (one order shared by all models).
    init_same_weights : bool
        Start every model from the first model's initial weights.
    n_classes : int, optional
        Defaults to ``max label + 1`` (over ``y_train`` and ``y_val``).
    eval_cap : int
        Train accuracy is measured on at most this many training examples.
    warm_start : bool
        Keep weights of models that are already fitted with the right shape instead of initialising.
    jobs : int or None
        Cores for each step (None: up to 2). Only the speed changes: 1 and 2 give the same weights to the
        last bit (see :mod:`core._sgd_kernel` and :mod:`core._segments`).

    Attributes
    ----------
    history : dict[str, list[Record]]   (the same list objects as each model's ``history_``)
    stopped : dict[str, str | None]     reason a model stopped, e.g. "loss became inf/NaN at iteration 37
        (learning rate 10 is too large; try 1)"
    iteration : int                      iterations done
    epoch : int                          epochs completed
    examples_per_second : float          moving average of training throughput (examples per second)
    batch_size : int                     shared minibatch size (from the first model)

    Raises
    ------
    ValueError
        NaN/inf in the data, fewer than two classes, mismatched lengths, a bad hyperparameter.
    """

    def __init__(self, models, X_train, y_train, X_val=None, y_val=None, *, random_state=0,
                 init_same_weights=True, n_classes=None, eval_cap=EVAL_CAP, warm_start=False, jobs=None):
        if not isinstance(models, dict) or not models:
            raise TypeError(f"models must be a non-empty dict of name -> LinearClassifier (got {models!r})")
        for name, m in models.items():
            if not isinstance(m, LinearClassifier):
                raise TypeError(f"models[{name!r}] must be a LinearClassifier (got {type(m).__name__})")
            m.validated_params()
        self.models = dict(models)
        self.jobs = WORKERS if jobs is None else check_in_range(jobs, "jobs", 1, 64, integer=True)
        eval_cap = check_in_range(eval_cap, "eval_cap", 1, 2**62, integer=True)
        X = check_array(X_train, "X_train")
        y = check_labels(y_train, "y_train")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X_train has {X.shape[0]} rows but y_train has {y.shape[0]} labels")
        self.X_train = np.ascontiguousarray(X, dtype=np.float32)
        self.y_train = y
        self.X_val = self.y_val = None
        top = int(y.max())
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be given together")
            Xv = check_array(X_val, "X_val")
            yv = check_labels(y_val, "y_val")
            if Xv.shape != (yv.shape[0], X.shape[1]):
                raise ValueError(f"X_val must have shape ({yv.shape[0]}, {X.shape[1]}) to match y_val and "
                                 f"X_train (got {Xv.shape})")
            self.X_val, self.y_val = np.ascontiguousarray(Xv, dtype=np.float32), yv
            top = max(top, int(yv.max()))
        self.n_classes = top + 1 if n_classes is None else int(n_classes)
        if top >= self.n_classes:
            raise ValueError(f"labels must be < n_classes={self.n_classes} (got a label {top})")
        present = np.unique(y).size
        if present < 2:
            raise ValueError(f"y_train must contain at least 2 classes to train a classifier (got {present})")
        n = X.shape[0]
        sub = eval_rows(n, eval_cap)                 # a view: no copy of the training rows
        self._X_eval, self._y_eval = self.X_train[sub], y[sub]
        self.random_state = random_state
        self._rng0 = copy.deepcopy(check_random_state(random_state))
        self._model_rng0 = {k: copy.deepcopy(m.random_state) for k, m in self.models.items()
                            if isinstance(m.random_state, np.random.Generator)}
        self.init_same_weights = bool(init_same_weights)
        self.warm_start = bool(warm_start)
        self.batch_size = int(next(iter(self.models.values())).batch_size)
        self._lock = threading.Lock()
        self._warm = {}
        if self.warm_start:
            for k, m in self.models.items():
                if getattr(m, "W_", None) is not None and m.W_.shape == (self.n_classes, X.shape[1]):
                    self._warm[k] = (m.W_.copy(), m.b_.copy())
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self):
        """Back to iteration 0: re-initialise every model from its seed (or warm-start weights), restart the
        minibatch order from ``random_state``, clear history, stops and pending changes.

        With integer seeds (or Generators, whose state at construction is kept) a reset run repeats exactly.
        """
        d, c = self.X_train.shape[1], self.n_classes
        first = None
        for k, m in self.models.items():
            if k in self._warm:
                m.init_params(d, c, rng=0)
                np.copyto(m.W_, self._warm[k][0])
                np.copyto(m.b_, self._warm[k][1])
            else:
                rng = m.random_state
                if k in self._model_rng0 and rng is not None and isinstance(rng, np.random.Generator):
                    rng = copy.deepcopy(self._model_rng0[k])
                m.init_params(d, c, rng=check_random_state(rng))
            if first is None:
                first = m
            elif self.init_same_weights:
                np.copyto(m.W_, first.W_)
                np.copyto(m.b_, first.b_)
            m.reset_optimizer()
        self._rng = copy.deepcopy(self._rng0)
        self.history = {k: m.history_ for k, m in self.models.items()}
        self.stopped = {k: None for k in self.models}
        self.iteration = 0
        self.epoch = 0
        self.examples_per_second = 0.0
        self._perm = None
        self._pos = 0
        self._pending = {}
        self._bufs = {}          # name -> gathered minibatch rows (one per model: models may run at once)

    def set_params(self, name=None, **hyper):
        """Change hyperparameters of one model (``name``) or of all; applied at the start of the next step.

        Values are validated now (``ValueError``/``TypeError`` naming the parameter). ``batch_size`` is
        shared by all models, so it must be set without a name.
        """
        names = list(self.models) if name is None else [name]
        for k in names:
            if k not in self.models:
                raise ValueError(f"name must be one of {', '.join(map(repr, self.models))} (got name={k!r})")
        if "batch_size" in hyper and name is not None:
            raise ValueError("batch_size is shared by all models of a Trainer: call set_params(batch_size=...) "
                             "without a name")
        for k in names:
            trial = LinearClassifier(**self.models[k].get_params())
            trial.set_params(**hyper)
            trial.validated_params()
        with self._lock:
            for k in names:
                self._pending.setdefault(k, {}).update(hyper)

    def _apply_pending(self):
        with self._lock:
            pending, self._pending = self._pending, {}
        for k, hyper in pending.items():
            self.models[k].set_params(**hyper)
            if "batch_size" in hyper:
                self.batch_size = int(hyper["batch_size"])
        rows = min(self.batch_size, self.X_train.shape[0])
        for k in self.models:
            if k not in self._bufs or self._bufs[k].shape[0] != rows:
                self._bufs[k] = BatchRows(rows, self.X_train.shape[1])

    def resume(self, name=None):
        """Clear the ``stopped`` reason of one model (or all) so it trains again (e.g. after lowering the
        learning rate); its weights are the last finite ones."""
        for k in (list(self.models) if name is None else [name]):
            self.stopped[k] = None

    # ------------------------------------------------------------------ training
    @property
    def batches_per_epoch(self):
        """Number of iterations in one epoch, ``ceil(N / batch_size)``."""
        return -(-self.X_train.shape[0] // min(self.batch_size, self.X_train.shape[0]))

    def step(self, n_iterations=1, *, cancel=None):
        """Run up to ``n_iterations`` SGD iterations for every model that is not stopped.

        Parameters
        ----------
        n_iterations : int >= 1
        cancel : callable() -> bool, optional
            Polled before every iteration; when it returns True the step ends early (after whole
            iterations, so the state stays consistent and a later step continues).

        Returns
        -------
        dict[str, list[Record]] -- the new records of each model (empty for stopped models).
        """
        self._apply_pending()
        out = {k: [] for k in self.models}
        active = [k for k in self.models if self.stopped[k] is None]
        n = self.X_train.shape[0]
        bs = self.batch_size
        t0 = time.perf_counter()
        seen = 0
        left = int(n_iterations)
        with limit_blas_threads():
            while left > 0 and active:
                if self._perm is None:
                    self._perm = self._rng.permutation(n)
                    self._pos = 0
                seg = _Segment(self._perm, self._pos, n, bs, left, self._rng)
                results = self._run_segment(active, seg.batches, seg.ybs(self.y_train), seg.ends, cancel)
                done = max(len(v) for v in results.values())
                first, epoch0 = self.iteration, self.epoch
                for k in active:
                    for j, (r, tr, va) in enumerate(results[k]):
                        if isinstance(r, TrainingDiverged):
                            self.stopped[k] = str(r)
                            break
                        rec = Record(first + j + 1, epoch0 + seg.epoch_of[j] + 1, r.data_loss, r.reg_loss,
                                     r.total_loss, r.batch_accuracy, tr, va, seg.ends[j])
                        self.history[k].append(rec)
                        out[k].append(rec)
                self.iteration += done
                seen += sum(len(idx) for idx in seg.batches[:done])
                left -= max(done, 1)
                active = [k for k in active if self.stopped[k] is None]
                self.epoch += seg.completed(done)
                self._perm, self._pos = seg.state_after(done, lambda j: any(
                    not any(isinstance(r, TrainingDiverged) for r, _, _ in results[k][:j]) for k in results))
                if done < len(seg.batches) and active:      # cancelled inside the segment
                    break
        dt = time.perf_counter() - t0
        if seen and dt > 0:
            rate = seen / dt
            eps = self.examples_per_second
            self.examples_per_second = rate if eps == 0 else 0.7 * eps + 0.3 * rate
        return out

    def run_epoch(self, *, cancel=None):
        """Step to the end of the current epoch; returns the records like :meth:`step`."""
        self._apply_pending()
        n = self.X_train.shape[0]
        left = n if self._perm is None else n - self._pos
        return self.step(max(1, -(-left // min(self.batch_size, n))), cancel=cancel)

    def _run_segment(self, active, batches, ybs, ends, cancel):
        """The SGD steps of every active model on the minibatches ``batches`` (row indices; labels ``ybs``),
        with the train and validation accuracies measured right after each minibatch that ends an epoch
        (``ends[j]``): name -> [(StepResult, train_acc, val_acc), ...], with ``(TrainingDiverged, None,
        None)`` last when it diverged (accuracies None where not measured).

        One model: this thread computes each batch while the helper thread gathers the next batch's rows
        (see :mod:`core._sgd_kernel`). Several (compare mode): the models themselves share the cores, each
        walking the whole segment on its own, epoch ends and their accuracies included (see
        :mod:`core._segments`). Either way each model's numbers are the same as with one core."""
        parallel = len(active) > 1 and self.jobs >= 2 and WORKERS >= 2
        cut = (len(active) + 1) // 2
        groups = [active[:cut], active[cut:]] if parallel else [list(active)]
        first = self.iteration
        jobs = self.jobs if len(active) == 1 else 1

        def step(k, j):
            m = self.models[k]
            try:        # rows gathered ahead within an epoch only: at its end the helper measures accuracies
                nxt = batches[j + 1] if j + 1 < len(batches) and not ends[j] else None
                r = m._step(self.X_train, batches[j], ybs[j], first + j + 1, jobs, self._bufs[k], nxt)
            except TrainingDiverged as exc:
                return exc, None, None
            if not ends[j]:
                return r, None, None
            self._bufs[k].finish()                  # the helper is free for the accuracies (one model)
            tr = m._accuracy_idx(self._X_eval, self._y_eval, jobs)
            va = None if self.X_val is None else m._accuracy_idx(self.X_val, self.y_val, jobs)
            return r, tr, va

        try:
            return run_segment(groups, len(batches), step, lambda r: isinstance(r[0], TrainingDiverged), cancel,
                               self.jobs)
        finally:
            for k in active:
                self._bufs[k].finish()          # frees the helper (a gather ahead may still run)

    # ------------------------------------------------------------------ read-outs
    def accuracy(self, X, y):
        """Accuracy of every model on ``X (N, D)`` float32 (preprocessed like ``X_train``) and ``y (N,)``
        class indices: ``{name: float in [0, 1]}``, the same number as ``model.score(X, y)``.

        The rows are split over the Trainer's cores with one BLAS thread each, as in :meth:`step`: a
        multi-threaded BLAS call here would leave OpenBLAS threads spinning for ~0.1 s, on cores that
        SGD needs. Call it between steps (not from another thread while :meth:`step` runs)."""
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2 or X.shape[1] != self.X_train.shape[1] or y.shape != (X.shape[0],):
            raise ValueError(f"X must have shape (N, {self.X_train.shape[1]}) and y shape (N,) "
                             f"(got X {X.shape}, y {y.shape})")
        out, scored = {}, []                # models with the very same W and b (compare mode right after
        with limit_blas_threads():         # a reset) are scored once: the same numbers, half the wait
            for k, m in self.models.items():
                same = next((a for W, b, a in scored if np.array_equal(W, m.W_) and np.array_equal(b, m.b_)), None)
                out[k] = m._accuracy_idx(X, y, self.jobs) if same is None else same
                if same is None:
                    scored.append((m.W_, m.b_, out[k]))
        return out

    # ------------------------------------------------------------------ carrying a run across processes
    _STEP_STATE = ("iteration", "epoch", "stopped", "examples_per_second", "batch_size", "_perm", "_pos", "_rng")

    def step_state(self):
        """Everything :meth:`step` changes apart from the history: counters, minibatch order and position,
        stops, pending changes, and each model's hyperparameters and learned state (``W_ (C, D)``, ``b_ (C,)``,
        momentum, divergence reference). A picklable dict, small next to the data (which it leaves out).

        With :meth:`set_step_state` a run stepped in another process (a forked copy of this Trainer, see
        ``gui.train_process``) continues here exactly as if it had been stepped here."""
        with self._lock:
            pending = {k: dict(v) for k, v in self._pending.items()}
        return copy.deepcopy({
            "trainer": {a: getattr(self, a) for a in self._STEP_STATE}, "pending": pending,
            "models": {k: {a: v for a, v in vars(m).items() if a != "history_"} for k, m in self.models.items()}})

    def set_step_state(self, state, new_records=None):
        """Apply a :meth:`step_state` taken from a copy of this Trainer, and append ``new_records``
        (``{name: [Record, ...]}``, the records that copy made) to the histories. The models stay the same
        objects; their arrays are replaced."""
        if set(state["models"]) != set(self.models):
            raise ValueError(f"the state is for models {sorted(state['models'])}, this Trainer has "
                             f"{sorted(self.models)}")
        for k, d in state["models"].items():
            vars(self.models[k]).update({a: v for a, v in d.items() if a != "history_"})
        for a in self._STEP_STATE:
            setattr(self, a, state["trainer"][a])
        with self._lock:
            self._pending = {k: dict(v) for k, v in state["pending"].items()}
        self._bufs = {}
        for k, recs in (new_records or {}).items():
            self.history[k].extend(recs)

    def continue_from(self, weights, new_records):
        """Go on from weights reached elsewhere, when only those and the records up to them are known (a
        training process that died, a saved model with its history): ``weights`` is
        ``{name: (W (C, D), b (C,))}`` (may be empty: keep the current ones), ``new_records``
        ``{name: [Record, ...]}`` ending at the iteration of those weights. The counters follow the records,
        momentum restarts for the models given weights, and the next step draws a new minibatch order."""
        for k, (W, b) in weights.items():
            m = self.models[k]
            np.copyto(m.W_, W)
            np.copyto(m.b_, b)
            m.reset_optimizer()
        for k, recs in new_records.items():
            self.history[k].extend(recs)
        last = max((h[-1] for h in self.history.values() if h), key=lambda r: r.iteration, default=None)
        if last is not None:
            self.iteration = int(last.iteration)
            self.epoch = int(last.epoch if last.epoch_end else last.epoch - 1)
            for m in self.models.values():
                m.n_iter_ = self.iteration
        self._perm = None

    def snapshot(self, name):
        """Copies ``(W (C, D), b (C,))`` of one model, safe to hand to another thread."""
        m = self.models[name]
        return m.W_.copy(), m.b_.copy()

    def history_csv(self, name):
        """The history of one model as CSV text with the header :data:`CSV_COLUMNS`."""
        if name not in self.models:
            raise ValueError(f"name must be one of {', '.join(map(repr, self.models))} (got name={name!r})")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in self.history[name]:
            w.writerow([r.iteration, r.epoch, repr(r.data_loss), repr(r.reg_loss), repr(r.total_loss),
                        repr(r.batch_accuracy), "" if r.train_accuracy is None else repr(r.train_accuracy),
                        "" if r.val_accuracy is None else repr(r.val_accuracy), int(r.epoch_end)])
        return buf.getvalue()

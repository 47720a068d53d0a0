"""The linear classifier ``f(x) = W x + b`` trained by minibatch SGD on the hinge or softmax loss.

Conventions
-----------
* ``X`` is ``(N, D)`` float32 (see :mod:`core.preprocess`), ``y`` holds class labels (``classes_``).
* ``W_`` is ``(C, D)`` float32 -- row ``c`` is class ``c``'s template, like scikit-learn's ``coef_``
  (CS231n stores the transpose ``(D, C)``) -- and ``b_`` is ``(C,)`` float32; ``scores = X @ W.T + b``.
* Full loss ``L = mean data loss + reg * R(W)``, ``R = sum W**2`` (L2, gradient ``2W``, no 1/2) or
  ``sum |W|`` (L1); the bias is not regularized. Losses live in :mod:`core.losses`, penalties in
  :mod:`core.regularization`; this module only puts them together:
  ``dW = dscores.T @ X + reg * dR`` and ``db = dscores.sum(0)``.
* Initialisation: ``W = init_scale * rng.standard_normal((C, D))``, ``b = 0``.
* SGD: every epoch draws one permutation of the examples from the model's generator and walks it in
  batches of ``batch_size`` (the last batch may be smaller); optional classical momentum
  ``v = momentum * v - learning_rate * grad; W += v``. Everything runs in float32.
* Follows the scikit-learn estimator contract: ``__init__`` only stores the keyword-only
  hyperparameters, ``fit`` validates them, learned state ends in ``_``. ``n_iter_`` counts SGD
  iterations (minibatch updates), as in the lecture -- scikit-learn's ``SGDClassifier`` counts epochs.
* The hyperparameter is called ``loss`` (as in scikit-learn), so the method that evaluates the full loss
  is :meth:`LinearClassifier.compute_loss`.
* The input checks (hyperparameters, arrays, labels, classes, fitted or not) live in
  :mod:`core.linear_checks`; this module holds the model, its training loop and its predictions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from core._halves import WORKERS, limit_blas_threads
from core._sgd_kernel import BatchRows, accuracy, batch_gradient, scores
from core.linear_checks import (PARAMS, check_classes, check_features, check_fitted, check_samples,
                                 check_validation_set, encode_labels, validate_params)
from core.losses import data_loss, softmax_probabilities
from core.preprocess import template_images, template_images_shared
from core.progress import check_cancel, report
from core.regularization import penalty as penalty_fn
from core.validation import check_in_range, check_labels, check_random_state

__all__ = ["LinearClassifier", "LossParts", "StepResult", "Record", "TrainingDiverged", "EVAL_CAP",
           "eval_rows", "limit_blas_threads"]

EVAL_CAP = 10_000
"""Train accuracy at epoch ends is measured on at most this many (evenly spaced) training examples."""


def eval_rows(n: int, cap: int = EVAL_CAP) -> slice:
    """The training rows whose accuracy is measured at epoch ends: every ``step``-th of the ``n`` rows,
    ``step = ceil(n / cap)``, so at most ``cap`` rows spread over the whole set. A slice, so ``X[rows]``
    is a view: no copy (123 MB for 10000 CIFAR-10 rows of 50000), and BLAS reads the rows in place."""
    return slice(0, n, max(1, -(-int(n) // int(cap))))

_EXPLODE = 1e6  # a loss this many times the first loss (and > 1e6) counts as diverged


class LossParts(NamedTuple):
    """Full loss ``total = data + reg`` (``reg`` is ``lambda * R(W)``); gradients ``dW (C, D)``, ``db (C,)``."""

    data: float
    reg: float
    total: float
    dW: np.ndarray
    db: np.ndarray


class StepResult(NamedTuple):
    """What one SGD iteration measured, *before* its update (losses and accuracy on that minibatch)."""

    data_loss: float
    reg_loss: float
    total_loss: float
    batch_accuracy: float


@dataclass(frozen=True)
class Record:
    """One line of training history (also exported as :class:`core.training.Record`).

    ``iteration``: updates so far, this one included (1-based); ``epoch``: the pass it belongs to (1-based);
    losses and ``batch_accuracy`` on this minibatch before the update (``reg_loss = reg * R(W)``);
    ``train_accuracy``/``val_accuracy`` after the update, only at epoch ends (``epoch_end`` True), else None.
    """

    iteration: int
    epoch: int
    data_loss: float
    reg_loss: float
    total_loss: float
    batch_accuracy: float
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    epoch_end: bool = False


class TrainingDiverged(ValueError):
    """SGD gave an inf/NaN (or exploding) loss or weights; the last finite ``W_``/``b_`` were restored."""

    def __init__(self, message, iteration, learning_rate):
        super().__init__(message)
        self.iteration = iteration
        self.learning_rate = learning_rate


class LinearClassifier:
    """Linear classifier ``scores = X @ W.T + b`` trained with minibatch SGD.

    Parameters (keyword-only, stored unchanged; validated in :meth:`fit`)
    ----------
    loss : {"softmax", "hinge", "ova_hinge"}
    penalty : {"l2", "l1", "none", None}
    reg : float >= 0            -- lambda, the regularization strength
    learning_rate : float > 0
    batch_size : int >= 1       -- clipped to N when larger
    init_scale : float >= 0     -- standard deviation of the initial weights
    delta : float >= 0          -- hinge margin
    momentum : float in [0, 1)  -- 0 is plain SGD
    random_state : None, int or numpy Generator -- initial W and the minibatch order

    Attributes
    ----------
    W_ : ndarray (C, D) float32
    b_ : ndarray (C,) float32
    classes_ : ndarray (C,)
    n_features_in_ : int
    history_ : list of Record
    n_iter_ : int  -- SGD iterations done
    """

    def __init__(self, *, loss="softmax", penalty="l2", reg=1e-4, learning_rate=1e-2, batch_size=200,
                 init_scale=1e-3, delta=1.0, momentum=0.0, random_state=None):
        self.loss = loss
        self.penalty = penalty
        self.reg = reg
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.init_scale = init_scale
        self.delta = delta
        self.momentum = momentum
        self.random_state = random_state

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep=True):
        """Hyperparameters as a dict (scikit-learn contract)."""
        return {name: getattr(self, name) for name in PARAMS}

    def set_params(self, **params):
        """Set hyperparameters by name (validated when training next uses them). Returns ``self``."""
        for name in params:
            if name not in PARAMS:
                raise ValueError(f"invalid parameter {name!r} for LinearClassifier; "
                                 f"valid parameters are {', '.join(PARAMS)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def validated_params(self):
        """Check every hyperparameter and return clean values; ``ValueError``/``TypeError`` name the
        parameter, the rule and the value (``learning_rate must be a finite number > 0 (got learning_rate=-0.1)``).

        The result is kept until a hyperparameter changes (by ``set_params`` or plain assignment; compared
        by identity), so the hot loop does not re-check ten values every step."""
        key = tuple(self.__dict__.get(name) for name in PARAMS)
        cached = self.__dict__.get("_valid_cache")
        if cached is None or len(cached[0]) != len(key) or any(a is not b for a, b in zip(cached[0], key)):
            cached = self._valid_cache = (key, validate_params(self))
        return MappingProxyType(cached[1])               # read-only view: the cached dict is shared

    # ------------------------------------------------------------------ set-up
    def init_params(self, n_features, n_classes, rng=None):
        """(Re)initialise ``W_ = init_scale * N(0, 1)`` (C, D), ``b_ = 0``, ``classes_ = arange(C)`` and the
        training state. ``rng`` (default ``random_state``) also draws the later minibatch orders. Returns self.
        """
        hp = self.validated_params()
        d = check_in_range(n_features, "n_features", 1, 10**9, integer=True)
        c = check_in_range(n_classes, "n_classes", 2, 10**6, integer=True)
        self._rng = check_random_state(self.random_state if rng is None else rng)
        self.W_ = (hp["init_scale"] * self._rng.standard_normal((c, d))).astype(np.float32)
        self.b_ = np.zeros(c, dtype=np.float32)
        self.classes_ = np.arange(c)
        self.n_features_in_ = d
        self.history_ = []
        self.n_iter_ = 0
        self.reset_optimizer()
        return self

    def reset_optimizer(self):
        """Forget the momentum velocity and the divergence reference (keeps ``W_``/``b_``)."""
        self._vW = np.zeros_like(self.W_)
        self._vb = np.zeros_like(self.b_)
        self._grad = np.empty_like(self.W_)                              # dW of a batch
        self._snap_W = self.W_.copy()
        self._snap_b = self.b_.copy()
        self._first_loss = None

    def _check_fitted(self):
        check_fitted(self)

    def _check_X(self, X, name="X"):
        return check_features(X, self.n_features_in_, name)

    def _encode(self, y, name="y"):
        """Labels -> row indices into ``classes_``."""
        return encode_labels(self.classes_, y, name)

    # ------------------------------------------------------------------ training
    def fit(self, X, y, epochs=10, X_val=None, y_val=None, *, classes=None, progress=None, cancel=None):
        """Initialise from ``random_state`` and train for ``epochs`` passes of minibatch SGD.

        Parameters
        ----------
        X : array (N, D), finite;  y : int array (N,);  epochs : int >= 0
        X_val, y_val : optional validation set, accuracy recorded at every epoch end
        classes : all class labels (default ``np.unique(y)``; give it when a class may be missing from ``y``)
        progress, cancel : hooks (see :mod:`core.progress`); ``cancel`` raises ``Cancelled`` (the model
            keeps the weights reached so far)

        Returns ``self``. Raises ``ValueError`` for a bad hyperparameter, NaN/inf in ``X``, fewer than two
        classes or mismatched lengths, and :class:`TrainingDiverged` when the loss becomes inf/NaN (the last
        finite weights are kept).
        """
        self.validated_params()
        X, y = check_samples(X, y)
        epochs = check_in_range(epochs, "epochs", 0, 10**6, integer=True)
        self._init_classes(X, y, classes)
        yi = self._encode(y)
        val = check_validation_set(X_val, y_val, self.n_features_in_, self.classes_)
        with limit_blas_threads():
            self._run_epochs(X, yi, epochs, val, progress=progress, cancel=cancel)
        return self

    def partial_fit(self, X, y, *, classes=None):
        """One more epoch of SGD on ``(X, y)`` (initialising first if not fitted). Returns ``self``."""
        X, y = check_samples(X, y)
        if not hasattr(self, "W_"):
            self._init_classes(X, y, classes)
        X = self._check_X(X)
        with limit_blas_threads():
            self._run_epochs(X, self._encode(y), 1, None)
        return self

    def _init_classes(self, X, y, classes):
        cls = check_classes(y, classes)
        self.init_params(X.shape[1], cls.size)
        self.classes_ = cls

    def _run_epochs(self, X, yi, epochs, val, *, progress=None, cancel=None):
        n = X.shape[0]
        sub = eval_rows(n)
        X_eval, y_eval = X[sub], yi[sub]
        bs = min(self.validated_params()["batch_size"], n)
        rows = BatchRows(bs, X.shape[1])
        try:
            self._epochs(X, yi, epochs, val, rows, bs, X_eval, y_eval, progress, cancel)
        finally:
            rows.finish()

    def _epochs(self, X, yi, epochs, val, rows, bs, X_eval, y_eval, progress, cancel):
        n = X.shape[0]
        epoch0 = (self.history_[-1].epoch if self.history_ else 0)
        for e in range(epochs):
            perm = self._rng.permutation(n)
            for start in range(0, n, bs):
                check_cancel(cancel)
                idx = perm[start:start + bs]
                nxt = perm[start + bs:start + 2 * bs] if start + bs < n else None
                r = self._step(X, idx, yi[idx], self.n_iter_ + 1, WORKERS, rows, nxt)
                end = start + bs >= n
                tr = va = None
                if end:
                    rows.finish()                   # the helper is needed for the accuracies
                    tr = self._accuracy_idx(X_eval, y_eval)
                    va = None if val is None else self._accuracy_idx(*val)
                self.history_.append(Record(self.n_iter_, epoch0 + e + 1, r.data_loss, r.reg_loss,
                                            r.total_loss, r.batch_accuracy, tr, va, end))
            report(progress, e + 1, epochs, f"epoch {e + 1}/{epochs}: loss {r.total_loss:.4g}")

    def sgd_step(self, Xb, yb, *, iteration=None, checked=False, jobs=1):
        """One SGD update on a minibatch ``Xb (B, D)`` float32 with class *indices* ``yb (B,)`` -- the hot loop.

        Returns a :class:`StepResult` measured on the batch before the update. ``iteration`` (default
        ``n_iter_ + 1``) labels a divergence message. ``checked=True`` promises that ``yb`` are int64
        indices below ``len(classes_)`` (``fit`` and :class:`core.training.Trainer` encode the labels
        once), which skips checking them every step. ``jobs`` is accepted for symmetry with the training
        loops (a lone batch has no next batch to gather ahead, see :mod:`core._sgd_kernel`). Raises
        :class:`TrainingDiverged` when the loss or the updated weights are not finite (or the loss exploded),
        after restoring the last weights that gave a finite loss.
        """
        self._check_fitted()
        self.validated_params()                      # a bad hyperparameter fails here, by name
        Xb = np.asarray(Xb, dtype=np.float32)
        if not checked:
            yb = check_labels(yb, "yb", self.W_.shape[0])
            if Xb.ndim != 2 or Xb.shape != (yb.shape[0], self.W_.shape[1]):
                raise ValueError(f"Xb must have shape ({yb.shape[0]}, {self.W_.shape[1]}) to match yb and W_ "
                                 f"(got {Xb.shape})")
        it = self.n_iter_ + 1 if iteration is None else int(iteration)
        return self._step(Xb, None, yb, it, jobs, None)

    def _step(self, X, idx, yb, it, jobs, rows, next_idx=None):
        """The update of :meth:`sgd_step` on the rows ``X[idx]`` (gathered by ``rows``, a
        :class:`core._sgd_kernel.BatchRows`; ``idx=None``: ``X`` is the batch). With ``jobs >= 2`` the
        helper thread gathers ``X[next_idx]`` meanwhile (the same weights as ``jobs=1``); the caller calls
        ``rows.finish()`` after its last step."""
        xs = X if idx is None else rows.gather(X, idx)
        if next_idx is not None and jobs >= 2:
            rows.prefetch(X, next_idx)
        try:
            return self._update(xs, yb, it)
        finally:
            if rows is not None:
                rows.settle()

    def _update(self, xs, yb, it):
        hp = self.validated_params()
        W, b = self.W_, self.b_
        lr = np.float32(hp["learning_rate"])
        reg = np.float32(hp["reg"])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            data, acc, dW, db = batch_gradient(W, b, xs, yb, hp["loss"], hp["delta"], self._grad)
            # in-place forms of core.regularization's (R, dR), to avoid temporaries in the hot loop
            if hp["penalty"] == "l2" and reg > 0:
                R = float(np.vdot(W, W))
                dW += (2 * reg) * W
            elif hp["penalty"] == "l1" and reg > 0:
                R = float(np.abs(W).sum(dtype=np.float64))
                dW += reg * np.sign(W)
            else:
                R = 0.0
            reg_loss = hp["reg"] * R
            total = data + reg_loss
            if self._first_loss is None and math.isfinite(total):
                self._first_loss = max(1.0, total)
            if not math.isfinite(total):
                self._diverged(it, hp["learning_rate"], "loss became inf/NaN")
            if total > 1e6 and total > _EXPLODE * self._first_loss:
                self._diverged(it, hp["learning_rate"], f"loss exploded to {total:.3g}")
            np.copyto(self._snap_W, W)
            np.copyto(self._snap_b, b)
            dW *= lr
            if hp["momentum"] > 0:          # v = mu * v - lr * grad;  W += v
                mu = np.float32(hp["momentum"])
                self._vW *= mu
                self._vW -= dW
                W += self._vW
                self._vb *= mu
                self._vb -= lr * db
                b += self._vb
            else:                           # W -= lr * grad
                W -= dW
                b -= lr * db
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                self._diverged(it, hp["learning_rate"], "weights became inf/NaN")
        self.n_iter_ += 1
        return StepResult(data, reg_loss, total, acc)

    def _diverged(self, it, lr, what):
        np.copyto(self.W_, self._snap_W)
        np.copyto(self.b_, self._snap_b)
        self._vW[...] = 0
        self._vb[...] = 0
        raise TrainingDiverged(f"{what} at iteration {it} (learning rate {lr:g} is too large; "
                               f"try {lr / 10:g})", it, lr)

    # ------------------------------------------------------------------ evaluation
    def compute_loss(self, X, y, *, W=None, b=None):
        """The full loss ``L = data + reg * R(W)`` and its gradients on ``X (N, D)``, ``y (N,)`` (read-only).

        ``W (C, D)``, ``b (C,)``: weights to evaluate at instead of ``W_``/``b_`` (e.g. float64 copies for a
        gradient check; the computation uses ``result_type(X, W)``). Returns
        ``LossParts(data, reg, total, dW (C, D), db (C,))``.
        """
        self._check_fitted()
        hp = self.validated_params()
        X = self._check_X(X)
        W = self.W_ if W is None else np.asarray(W)
        b = self.b_ if b is None else np.asarray(b)
        dtype = np.result_type(X.dtype, W.dtype, np.float32)
        X = X.astype(dtype, copy=False)
        scores = X @ W.T.astype(dtype, copy=False) + b.astype(dtype, copy=False)
        data, dscores = data_loss(hp["loss"], scores, self._encode(y), hp["delta"])
        R, dR = penalty_fn(W.astype(dtype, copy=False), hp["penalty"])
        dW = dscores.T @ X + hp["reg"] * dR
        reg_loss = hp["reg"] * R
        return LossParts(data, reg_loss, data + reg_loss, dW.astype(dtype, copy=False), dscores.sum(axis=0))

    def decision_function(self, X):
        """Class scores ``X @ W.T + b``: ndarray ``(N, C)`` float32 (computed as in training, see
        :func:`core._sgd_kernel.scores`: the accuracies recorded while training are :meth:`score`'s)."""
        self._check_fitted()
        X = self._check_X(X)
        return scores(np.ascontiguousarray(X, dtype=np.float32), self.W_, self.b_)

    def predict_proba(self, X):
        """Softmax of the scores, ``(N, C)`` (the softmax view of the scores, for any loss)."""
        return softmax_probabilities(self.decision_function(X))

    def predict(self, X):
        """Predicted labels ``(N,)``: ``classes_[argmax of the scores]``."""
        scores = self.decision_function(X)
        return self.classes_[scores.argmax(axis=1)]

    def score(self, X, y):
        """Accuracy on ``(X, y)`` as a float in [0, 1]."""
        y = check_labels(y)
        pred = self.predict(X)
        if pred.shape[0] != y.shape[0]:
            raise ValueError(f"X and y have different lengths ({pred.shape[0]} rows, {y.shape[0]} labels)")
        return float(np.mean(pred == y))

    def _accuracy_idx(self, X, yi, jobs=WORKERS):
        """Accuracy on ``X (N, D)`` float32 and class indices ``yi (N,)``, the rows split over ``jobs``
        cores (:func:`core._sgd_kernel.accuracy`; callers limit BLAS to one thread)."""
        return accuracy(self.W_, self.b_, X, yi, jobs)

    def templates(self, image_shape, *, shared=False):
        """Rows of ``W_`` as images ``(C, H, W, Cc)`` uint8 (per-row scaling, or one shared scale)."""
        self._check_fitted()
        fn = template_images_shared if shared else template_images
        return fn(self.W_, image_shape)

    def __repr__(self):
        defaults = LinearClassifier().get_params()
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"LinearClassifier({args})"

"""The data a Nearest Neighbour workspace shares between its panels, and a CPU rule for its jobs.

* :class:`KnnSession` -- features and the two fitted models (L1, L2) of one data set.
* :func:`prepare_session` -- builds it (in the runner for big data sets).
* :func:`spare_core` -- while a kNN job runs, BLAS uses one core less, so the GUI thread always has a
  core: on a 2-core machine a two-thread matrix product otherwise starves the event loop (measured when
  it was written: 20 ms timer gaps of ~200 ms during cross-validation, ~60 ms with this rule; an
  evaluation of 1000 CIFAR-10 test images still shows gaps of 83-106 ms without it). k-fold
  cross-validation no longer needs it (its fold-pair products, :mod:`core._cv_blocks`, leave the GUI
  thread its share: gaps of at most 39-53 ms) and runs without it, 15-23 % faster.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.knn import KNearestNeighbor

try:  # optional: without it jobs simply use every core
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - depends on the environment
    ThreadpoolController = None

__all__ = ["KnnSession", "prepare_session", "spare_core", "spare_core_ready", "sparing", "K_MAX"]

K_MAX = 100
_lock = threading.Lock()
_depth = 0
_limiter = None
_controller = None


def _blas_controller():
    """The threadpoolctl controller, made once (inspecting the loaded libraries takes ~15 ms)."""
    global _controller
    if _controller is None and ThreadpoolController is not None:
        _controller = ThreadpoolController()
    return _controller


def spare_core_ready() -> None:
    """Inspect the BLAS libraries now (GUI thread, once) rather than inside the first job."""
    with _lock:
        _blas_controller()


@contextmanager
def spare_core():
    """Limit BLAS to ``cpu_count - 1`` threads while any kNN job runs (reference-counted, thread-safe)."""
    global _depth, _limiter
    with _lock:
        cores = os.cpu_count() or 1
        controller = _blas_controller()
        if _depth == 0 and controller is not None and cores > 1:
            _limiter = controller.limit(limits=cores - 1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def sparing(fn):
    """``fn(ctx)`` wrapped so it runs under :func:`spare_core` (pass this to ``runner.start``)."""
    def run(ctx):
        with spare_core():
            return fn(ctx)
    return run


@dataclass
class KnnSession:
    """What every panel shares for one data set: features, fitted models and their cost.

    Both metrics work on the flattened ``uint8`` pixels -- no float copy of the training set (600 MB
    for CIFAR-10); core's fast paths take ``uint8`` directly and compute in exact integer
    arithmetic where it matters, so the answers are the exact ones (the same as float64 on the
    same numbers).

    Attributes
    ----------
    dataset : core.datasets.Dataset
    train_features, test_features : dict metric -> (N, D) uint8 array (the same array for both)
    models : dict metric -> fitted :class:`core.knn.KNearestNeighbor`
    fit_seconds : dict metric -> measured time of ``fit`` (memorising the training set)
    generation : int
        Increases with every new data set; cached results carry it.
    """

    dataset: Any
    train_features: dict
    test_features: dict
    models: dict = field(default_factory=dict)
    fit_seconds: dict = field(default_factory=dict)
    generation: int = 0

    @property
    def k_max(self) -> int:
        return int(min(K_MAX, self.dataset.n_train))

    @property
    def n_values(self) -> int:
        """``n_train * D``: how much work one query is."""
        return int(self.dataset.n_train * self.dataset.n_features)

    def query_features(self, images: np.ndarray, metric: str) -> np.ndarray:
        """Features of extra images (e.g. perturbed copies) in the form ``metric``'s model expects."""
        images = np.asarray(images, dtype=np.uint8)
        flat = images.reshape(images.shape[0], -1)
        return flat


def prepare_session(dataset, generation: int, ctx=None) -> KnnSession:
    """Flatten the images and fit one model per metric (may run in a worker thread)."""
    def step(i: int, msg: str) -> None:
        if ctx is not None:
            ctx.check()
            ctx.progress(i, 4, msg)

    step(0, "Flattening the images…")
    u8 = (dataset.X_train.reshape(dataset.n_train, -1), dataset.X_test.reshape(dataset.n_test, -1))
    train = {"l1": u8[0], "l2": u8[0]}
    test = {"l1": u8[1], "l2": u8[1]}
    models, seconds = {}, {}
    for i, metric in enumerate(("l2", "l1")):
        step(1 + i, f"Memorising the training set for {metric.upper()} (fit)…")
        best = np.inf
        for _ in range(3):     # best of 3 when it is quick: one thread switch could double a 1 ms fit
            t0 = time.perf_counter()
            models[metric] = KNearestNeighbor(k=1, metric=metric).fit(train[metric], dataset.y_train)
            best = min(best, time.perf_counter() - t0)
            if best > 0.05:
                break
        seconds[metric] = best
    step(3, "Ready")
    return KnnSession(dataset, train, test, models, seconds, generation)



"""The training job loop's chunks (gui.train_job): ~40 ms with one model, ~100 ms while models train side
by side (each chunk ends with them meeting). The clock is a fake one that the wrapped Trainer advances by
1 ms a step, so the test does not depend on this machine's speed."""
from __future__ import annotations

import types

import numpy as np

from core.linear import LinearClassifier
from core.training import Trainer
from gui import train_job


class _Ctx:
    def __init__(self, stop_after):
        self.emitted, self.stop_after = [], stop_after

    def cancelled(self):
        return len(self.emitted) >= self.stop_after

    def receive(self):
        return []

    def emit(self, payload):
        self.emitted.append(payload)


def _run(monkeypatch, names, messages):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8), dtype=np.float32)
    y = rng.integers(0, 3, 400)
    t = Trainer({k: LinearClassifier(loss=k, batch_size=20, random_state=0) for k in names}, X, y)
    clock = [0.0]
    monkeypatch.setattr(train_job, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    sizes, real = [], t.step

    def step(n, cancel=None):
        sizes.append(n)
        clock[0] += 0.001 * n
        return real(n, cancel=cancel)

    t.step = step
    train_job.train_loop(_Ctx(messages), t, max_iterations=None, until_epoch_end=False, epoch_limit=0,
                         into_epoch=0, X_test=X[:50], y_test=y[:50])
    return sizes


def test_chunks_take_40_ms_with_one_model_and_100_ms_in_compare_mode(monkeypatch):
    one = _run(monkeypatch, ["softmax"], 12)
    assert all(abs(n - 40) <= 1 for n in one[-3:]), one             # (int() of a float ratio: 39 or 40)
    both = _run(monkeypatch, ["softmax", "hinge"], 12)
    assert all(abs(n - 100) <= 1 for n in both[-3:]), both
    assert round(train_job.CHUNK_SECONDS * 1000) == 40 and round(train_job.COMPARE_CHUNK_SECONDS * 1000) == 100

"""Tiny synthetic data sets for the shell's GUI tests (not a test module)."""
from __future__ import annotations

import numpy as np

from core.datasets import Dataset


def tiny_dataset(n_classes=3, per_class=12, test_per_class=4, shape=(6, 5, 3), name="Tiny", seed=0) -> Dataset:
    """Images whose first pixel encodes (class, index), so tests can recognise what is shown."""
    rng = np.random.default_rng(seed)

    def part(n):
        X = rng.integers(0, 256, size=(n * n_classes,) + shape, dtype=np.uint8)
        y = np.repeat(np.arange(n_classes), n)
        return X, y

    Xtr, ytr = part(per_class)
    Xte, yte = part(test_per_class)
    return Dataset(name=name, X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte,
                   class_names=[f"class{c}" for c in range(n_classes)], source="tiny")


def write_npz(path, ds: Dataset) -> str:
    np.savez(path, X_train=ds.X_train, y_train=ds.y_train, X_test=ds.X_test, y_test=ds.y_test,
             class_names=np.array(ds.class_names), name=np.array(ds.name))
    return str(path)

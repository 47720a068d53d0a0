"""Bundled offline data: scikit-learn's 8×8 handwritten digits (no download needed).

Conventions
-----------
* ``sklearn.datasets.load_digits`` ships 1797 images of 8×8 pixels with values 0..16
  (0 = background). We rescale them to 0..255 (``round(v * 255 / 16)``) as uint8 and add a
  channel axis: ``(N, 8, 8, 1)``, so they look and behave like every other data set.
* The train/test split is fixed: stratified, seed 0, 20 % test -> 1437 train / 360 test.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from core.datasets._base import Dataset, split_off_test

__all__ = ["load_digits", "DIGITS_SEED"]

DIGITS_SEED = 0


def _read_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """Read scikit-learn's bundled ``digits.csv.gz`` directly: ``(1797, 8, 8)`` values 0..16 and labels.

    Importing ``sklearn.datasets`` costs 1.5-5 s (it pulls in SciPy); reading the same file takes
    0.05 s and gives identical arrays (a test compares them). Falls back to the sklearn API.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            a = np.loadtxt(path, delimiter=",", dtype=np.float64)
            return a[:, :-1].reshape(-1, 8, 8), a[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return bunch.images, bunch.target


def load_digits() -> Dataset:
    """The scikit-learn digits as a :class:`Dataset` (1437 train / 360 test, 8×8×1, 10 classes).

    Returns
    -------
    Dataset
        ``X_*`` ``(N, 8, 8, 1)`` uint8 in 0..255, ``class_names`` "0".."9".
    """
    images, target = _read_sklearn_digits()
    X = np.rint(images.astype(np.float64) * (255.0 / 16.0)).astype(np.uint8)[..., np.newaxis]
    y = target.astype(np.int64)
    Xtr, ytr, Xte, yte, _, _ = split_off_test(X, y, 0.2, DIGITS_SEED)
    return Dataset(name="Digits 8×8", X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte,
                   class_names=[str(d) for d in range(10)], source="digits",
                   notes=[f"scikit-learn digits (UCI), values 0..16 rescaled to 0..255; fixed stratified split "
                          f"{len(ytr)}/{len(yte)} (seed {DIGITS_SEED})"])

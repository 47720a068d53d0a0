"""The :class:`Dataset` container and the one loader error, :class:`DatasetError`.

Conventions
-----------
* Images are ``(N, H, W, C)`` ``uint8`` with ``C = 1`` (grey) or ``3`` (RGB), row-major:
  ``X[i, row, col, channel]``. Features for the classifiers come later from
  ``core.preprocess.to_features`` (``(N, D)`` float32 with ``D = H*W*C``).
* Labels are ``(N,)`` ``int64`` class indices ``0 .. C-1``; ``class_names[c]`` names class ``c``.
* CIFAR-100 also carries its 20 super-classes as ``coarse_train`` / ``coarse_test`` with
  ``coarse_names``; other sets leave them ``None``.
* ``notes`` tells the user what a loader decided on their behalf (a split it made, files it
  skipped, images it resized). The GUI shows them under the data set's summary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from core.datasets.split import stratified_indices, train_val_split

__all__ = ["Dataset", "DatasetError", "split_off_test", "MAX_CLASSES"]

#: Labels must be below this; loaders refuse larger ones (a damaged file, not a data set).
MAX_CLASSES = 1000


class DatasetError(ValueError):
    """A file or folder could not be read as a data set; the message names it and says why."""


def _check_images(X, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype != np.uint8:
        raise TypeError(f"{name} must be uint8 images (got dtype {X.dtype})")
    if X.ndim != 4 or X.shape[3] not in (1, 3):
        raise ValueError(f"{name} must have shape (N, H, W, C) with C = 1 or 3 (got shape {X.shape})")
    return X


def _check_y(y, n: int, n_classes: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match the images (got shape {y.shape})")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class indices (got dtype {y.dtype})")
    y = y.astype(np.int64, copy=False)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must hold labels 0..{n_classes - 1} (got {int(y.min())}..{int(y.max())})")
    return y


@dataclass(eq=False)
class Dataset:
    """An image classification data set, already split into train and test.

    Parameters
    ----------
    name : str
        Display name, e.g. ``"CIFAR-10"``.
    X_train, X_test : (N, H, W, C) uint8 arrays
        Images; both splits share ``H, W, C``.
    y_train, y_test : (N,) int64 arrays
        Class indices ``0 .. len(class_names)-1``.
    class_names : list of str
        One name per class, in label order.
    source : str
        The path or catalog name the data came from.
    coarse_train, coarse_test : (N,) int64 arrays or None
        Optional super-class labels (CIFAR-100), named by ``coarse_names``.
    notes : list of str
        Decisions the loader made (splits, skipped files, resizing).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    source: str = ""
    coarse_train: Optional[np.ndarray] = None
    coarse_test: Optional[np.ndarray] = None
    coarse_names: Optional[list] = None
    notes: list = field(default_factory=list)

    def __post_init__(self):
        self.class_names = [str(c) for c in self.class_names]
        if not self.class_names:
            raise ValueError("class_names must not be empty")
        C = len(self.class_names)
        self.X_train = _check_images(self.X_train, "X_train")
        self.X_test = _check_images(self.X_test, "X_test")
        if self.X_train.shape[1:] != self.X_test.shape[1:]:
            raise ValueError(f"X_train and X_test must share the image shape "
                             f"(got {self.X_train.shape[1:]} and {self.X_test.shape[1:]})")
        self.y_train = _check_y(self.y_train, self.X_train.shape[0], C, "y_train")
        self.y_test = _check_y(self.y_test, self.X_test.shape[0], C, "y_test")
        if (self.coarse_train is None) != (self.coarse_test is None):
            raise ValueError("coarse_train and coarse_test must both be given or both be None")
        if self.coarse_train is not None:
            names = [str(c) for c in (self.coarse_names or [])]
            if not names:
                raise ValueError("coarse_names must be given with coarse labels")
            self.coarse_names = names
            self.coarse_train = _check_y(self.coarse_train, self.X_train.shape[0], len(names), "coarse_train")
            self.coarse_test = _check_y(self.coarse_test, self.X_test.shape[0], len(names), "coarse_test")
        self.notes = list(self.notes)

    # ------------------------------------------------------------------ properties
    @property
    def image_shape(self) -> tuple:
        """``(H, W, C)`` of every image."""
        return tuple(int(s) for s in self.X_train.shape[1:])

    @property
    def n_classes(self) -> int:
        """Number of classes ``C``."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """``D = H * W * C``, the length of a flattened image."""
        return int(math.prod(self.image_shape))

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[0])

    # ------------------------------------------------------------------ methods
    def class_counts(self, split: str = "train") -> np.ndarray:
        """Examples per class, ``(C,)`` int64, for ``split`` = ``"train"`` or ``"test"``."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test' (got split={split!r})")
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes).astype(np.int64)

    def summary(self) -> str:
        """One line, e.g. ``"CIFAR-10 · 10000 train / 10000 test · 32×32×3 · 10 classes"``."""
        h, w, c = self.image_shape
        return (f"{self.name} · {self.n_train} train / {self.n_test} test · "
                f"{h}×{w}×{c} · {self.n_classes} classes")

    def subsample(self, n_train_per_class=None, n_test_per_class=None, random_state=0) -> "Dataset":
        """A smaller copy with at most ``n_*_per_class`` images of each class (stratified, seeded).

        Parameters
        ----------
        n_train_per_class, n_test_per_class : int or None
            Per-class caps; ``None`` keeps that split whole.
        random_state : None, int or numpy Generator

        Returns
        -------
        Dataset
            New arrays (copies); the original is unchanged. A note records the subsample.
        """
        tr = stratified_indices(self.y_train, n_train_per_class, random_state)
        te = stratified_indices(self.y_test, n_test_per_class, random_state)
        note = (f"subsampled to {tr.size} train / {te.size} test "
                f"(at most {n_train_per_class} / {n_test_per_class} per class, seed {random_state})")
        return replace(
            self,
            X_train=self.X_train[tr], y_train=self.y_train[tr],
            X_test=self.X_test[te], y_test=self.y_test[te],
            coarse_train=None if self.coarse_train is None else self.coarse_train[tr],
            coarse_test=None if self.coarse_test is None else self.coarse_test[te],
            coarse_names=None if self.coarse_names is None else list(self.coarse_names),
            class_names=list(self.class_names),
            notes=self.notes + [note],
        )


def split_off_test(X, y, test_fraction: float = 0.2, random_state=0, coarse=None):
    """Split one labelled image set into train and test parts (stratified, seeded).

    Parameters
    ----------
    X : (N, H, W, C) uint8
    y : (N,) int
    test_fraction : float
    coarse : (N,) int or None
        Optional second label array split the same way.

    Returns
    -------
    X_train, y_train, X_test, y_test, coarse_train, coarse_test
        (the coarse parts are None when ``coarse`` is None).
    """
    if len(y) < 2:
        raise DatasetError(f"only {len(y)} labelled image; at least 2 are needed to split off a test set")
    tr, te = train_val_split(y, test_fraction, random_state)
    ctr = None if coarse is None else coarse[tr]
    cte = None if coarse is None else coarse[te]
    return X[tr], y[tr], X[te], y[te], ctr, cte

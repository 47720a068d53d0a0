"""From images to feature vectors and back: flatten, scale, subtract the mean image, the bias trick, templates.

Conventions
-----------
* Images are ``(N, H, W, C)`` ``uint8`` (C = 1 grey, 3 RGB); a ``(N, H, W)`` stack is read as grey.
* Features are ``(N, D)`` ``float32`` with ``D = H * W * C``, flattened row-major (NumPy's default
  ``reshape``), so pixel ``(h, w, c)`` is feature ``(h * W + w) * C + c``. CS231n flattens the same way.
* :class:`Preprocessor` optionally scales pixels to ``[0, 1]`` (divide by 255) and then subtracts the
  mean training image (computed on the *scaled* features by ``fit``). Fit it on the training set only,
  then transform the test set with the same mean.
* A classifier's ``W`` is ``(C, D)``; row ``c`` reshaped to ``(H, W, C)`` is class ``c``'s template.
"""
from __future__ import annotations

import numpy as np

from core.validation import NotFittedError, check_array

__all__ = [
    "to_features",
    "mean_image",
    "Preprocessor",
    "add_bias_column",
    "template_images",
    "template_images_shared",
]


def to_features(images):
    """Flatten images to a float32 design matrix (no scaling).

    Parameters
    ----------
    images : array (N, H, W, C) or (N, H, W), or already-flat (N, D)

    Returns
    -------
    X : ndarray (N, D) float32 (a new array)
    """
    a = check_array(images, "images", ndim=None)
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"images must be (N, H, W, C), (N, H, W) or (N, D) (got shape {a.shape})")
    return np.array(a.reshape(a.shape[0], -1), dtype=np.float32, copy=True)


def mean_image(images):
    """The mean training image (the lecture's "average image"), in pixel units.

    Parameters
    ----------
    images : array (N, H, W, C) or (N, H, W)

    Returns
    -------
    mean : ndarray (H, W, C) float32 (values 0..255 for uint8 input)
    """
    a = check_array(images, "images", ndim=None)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C) or (N, H, W) (got shape {a.shape})")
    return a.mean(axis=0, dtype=np.float64).astype(np.float32)


class Preprocessor:
    """Pixels -> features: flatten, optionally scale to ``[0, 1]``, optionally subtract the mean image.

    Parameters
    ----------
    scale : bool
        Divide by 255 (uint8 pixels -> ``[0, 1]``).
    subtract_mean : bool
        Subtract the mean training feature vector ``mean_`` (zero-centred data trains much faster).

    Attributes
    ----------
    mean_ : ndarray (D,) float32
        Mean of the (scaled) training features; set by :meth:`fit` (always computed, used only
        when ``subtract_mean``).
    n_features_in_ : int
    image_shape_ : tuple (H, W, C) or None
        Known when ``fit`` saw images rather than flat features.
    """

    def __init__(self, scale=True, subtract_mean=True):
        self.scale = scale
        self.subtract_mean = subtract_mean

    def _flat_scaled(self, images):
        X = to_features(images)
        if self.scale:
            X *= np.float32(1.0 / 255.0)
        return X

    def fit(self, images_or_X):
        """Learn the mean feature vector. Returns ``self``."""
        a = np.asarray(images_or_X)
        X = self._flat_scaled(a)
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.n_features_in_ = X.shape[1]
        if a.ndim == 4:
            self.image_shape_ = tuple(int(s) for s in a.shape[1:])
        elif a.ndim == 3:
            self.image_shape_ = (int(a.shape[1]), int(a.shape[2]), 1)
        else:
            self.image_shape_ = None
        return self

    def transform(self, images_or_X):
        """Apply the preprocessing; returns a new ``(N, D)`` float32 array.

        Raises
        ------
        NotFittedError
            ``subtract_mean`` is on and :meth:`fit` was not called.
        ValueError
            The number of features differs from the one seen in ``fit``.
        """
        X = self._flat_scaled(images_or_X)
        fitted = hasattr(self, "mean_")
        if fitted and X.shape[1] != self.n_features_in_:
            raise ValueError(f"the data has {X.shape[1]} features but the preprocessor was fitted on "
                             f"{self.n_features_in_} (different image size?)")
        if self.subtract_mean:
            if not fitted:
                raise NotFittedError("Preprocessor is not fitted yet: call fit(train_images) before transform")
            X -= self.mean_
        return X

    def fit_transform(self, images_or_X):
        """``fit`` then ``transform`` on the same data."""
        return self.fit(images_or_X).transform(images_or_X)

    def to_dict(self):
        """State for saving: ``{"scale", "subtract_mean", "mean" (ndarray (D,) or None), "image_shape"}``."""
        return {
            "scale": bool(self.scale),
            "subtract_mean": bool(self.subtract_mean),
            "mean": None if not hasattr(self, "mean_") else self.mean_.copy(),
            "image_shape": getattr(self, "image_shape_", None),
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild a (fitted, when ``d["mean"]`` is not None) preprocessor from :meth:`to_dict` output."""
        p = cls(scale=bool(d.get("scale", True)), subtract_mean=bool(d.get("subtract_mean", True)))
        mean = d.get("mean")
        if mean is not None:
            p.mean_ = np.asarray(mean, dtype=np.float32).reshape(-1).copy()
            p.n_features_in_ = int(p.mean_.shape[0])
            shape = d.get("image_shape")
            p.image_shape_ = tuple(int(s) for s in shape) if shape is not None else None
        return p

    def __repr__(self):
        return f"Preprocessor(scale={self.scale!r}, subtract_mean={self.subtract_mean!r})"


def add_bias_column(X):
    """The bias trick: append a constant-1 feature so the bias becomes an ordinary weight.

    With ``x' = [x, 1]`` (``D + 1`` features) and ``W' = [W | b]`` (``(C, D + 1)``), the score
    ``W' x' = W x + b`` -- one matrix multiply and no separate ``b``. The price: ``b`` now sits inside
    ``W'`` and gets regularized like any weight unless you exclude that column (this app keeps ``b``
    separate and unregularized instead).

    Parameters
    ----------
    X : array (N, D)

    Returns
    -------
    X1 : ndarray (N, D + 1), float32 for integer/float32 input (float64 input stays float64),
        last column all ones.
    """
    X = check_array(X, "X")
    dtype = X.dtype if X.dtype == np.float64 else np.float32
    out = np.empty((X.shape[0], X.shape[1] + 1), dtype=dtype)
    out[:, :-1] = X
    out[:, -1] = 1
    return out


def _check_w_shape(W, image_shape):
    W = check_array(W, "W")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3:
        raise ValueError(f"image_shape must be (H, W) or (H, W, C) (got {image_shape!r})")
    if int(np.prod(shape)) != W.shape[1]:
        raise ValueError(f"W has {W.shape[1]} columns but image_shape {shape} has {int(np.prod(shape))} pixels")
    return W.astype(np.float64), shape


def template_images(W, image_shape):
    """Each class's weights as a picture, every row rescaled to 0..255 on its own (CS231n style).

    Row ``c`` becomes ``(w - min w) / (max w - min w) * 255``; a constant row becomes mid-grey 128.
    Per-row scaling makes every template fill the whole grey range, which hides how the templates differ
    in magnitude -- :func:`template_images_shared` keeps that.

    Parameters
    ----------
    W : array (C, D)
    image_shape : (H, W, Cc) or (H, W) with ``H * W * Cc == D``

    Returns
    -------
    images : ndarray (C, H, W, Cc) uint8
    """
    W, shape = _check_w_shape(W, image_shape)
    lo = W.min(axis=1, keepdims=True)
    span = W.max(axis=1, keepdims=True) - lo
    out = np.full(W.shape, 128.0)
    ok = span[:, 0] > 0
    out[ok] = (W[ok] - lo[ok]) / span[ok] * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape((W.shape[0],) + shape)


def template_images_shared(W, image_shape):
    """Like :func:`template_images` but with one min/max over all classes, so magnitudes stay comparable.

    Returns
    -------
    images : ndarray (C, H, W, Cc) uint8 (all mid-grey 128 if ``W`` is constant)
    """
    W, shape = _check_w_shape(W, image_shape)
    lo, hi = W.min(), W.max()
    if hi > lo:
        out = (W - lo) / (hi - lo) * 255.0
    else:
        out = np.full(W.shape, 128.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape((W.shape[0],) + shape)

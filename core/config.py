"""One source of truth for hyperparameter defaults and slider ranges.

Conventions
-----------
* Learning rate and lambda (``reg``) sliders are log-scale: the slider index picks a value from a table
  precomputed here (:meth:`Defaults.learning_rate_values`, :meth:`Defaults.reg_values`, which starts
  with 0 = no regularization). Validation and slider bounds both read :data:`DEFAULTS`.
* :func:`training_defaults` gives per-data-set starting values, measured on the real data (see below)
  with the preprocessing ``Preprocessor(scale=True, subtract_mean=True)``: pixels / 255, minus the mean
  training image. ``reg`` multiplies ``R(W) = sum W**2`` (no 1/2; see :mod:`core.regularization`).

Measured on 2026-11-26 (test accuracy; both models trained together by one ``Trainer`` in compare mode,
same minibatches, seeds 0/1/2; times for both models on the shared 2-core machine at load average ~8):

=============  ======================================  =====================================  ==========
data set       softmax                                 hinge                                  time
=============  ======================================  =====================================  ==========
CIFAR-10 JPEG  lr 0.02, reg 0.005, 20 epochs:          lr 0.005, reg 0.005, 20 epochs:        8-12 s
(10k / 10k)    38.7-38.9 % (train 42 %)                37.3-37.6 % (train 42 %)
MNIST t10k     lr 0.5, reg 0.001, 20 epochs:           lr 0.05, reg 0.001, 20 epochs:         ~1.6 s
(8000 / 2000)  90.2-91.2 % (LogisticRegression 91.4)   90.3-90.8 %
digits 8x8     lr 0.5, bs 50, 30 epochs: 96.4-96.9 %   lr 0.1, bs 50, 30 epochs: 96.7-98.1 %  ~0.5 s
=============  ======================================  =====================================  ==========

The hinge gradient is larger (up to C-1 per example at the correct class) than the softmax one (at most
1), so hinge gets a smaller learning rate. CIFAR-100 and Fashion-MNIST values were not measured
(no full real data here); they reuse the CIFAR-10 / MNIST choices.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Defaults", "DEFAULTS", "training_defaults", "model_kwargs", "MODEL_KEYS", "log_slider_values",
           "nice_log_values", "slider_index"]

MODEL_KEYS = ("loss", "penalty", "reg", "learning_rate", "batch_size", "init_scale", "delta", "momentum",
              "random_state")
"""Keys of :func:`training_defaults` that are ``LinearClassifier`` keyword arguments."""


def log_slider_values(lo, hi, steps):
    """``steps`` values spaced evenly in log space from ``lo`` to ``hi`` (both > 0, included).

    Returns
    -------
    values : ndarray (steps,) float64
    """
    if not (lo > 0 and hi > lo and math.isfinite(hi)):
        raise ValueError(f"log_slider_values needs 0 < lo < hi (got lo={lo!r}, hi={hi!r})")
    if int(steps) < 2:
        raise ValueError(f"steps must be >= 2 (got steps={steps!r})")
    return np.geomspace(lo, hi, int(steps))


def nice_log_values(lo, hi, mantissas=(1, 2, 5)):
    """The 1-2-5 sequence (``1e-3, 2e-3, 5e-3, 1e-2, ...``) between ``lo`` and ``hi`` inclusive."""
    if not (lo > 0 and hi >= lo):
        raise ValueError(f"nice_log_values needs 0 < lo <= hi (got lo={lo!r}, hi={hi!r})")
    out = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in mantissas:
            v = float(f"{m}e{e}")
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                out.append(v)
    return np.array(out)


def slider_index(values, value):
    """Index of the table entry nearest to ``value`` (in log space; 0 matches a leading 0 entry)."""
    values = np.asarray(values, dtype=np.float64)
    if value <= 0:
        return 0
    pos = values > 0
    logs = np.where(pos, np.log(np.where(pos, values, 1.0)), -np.inf)
    return int(np.argmin(np.abs(logs - math.log(value))))


@dataclass(frozen=True)
class Defaults:
    """Ranges and choices shared by validation and by the GUI's sliders and spin boxes."""

    learning_rate_range: tuple = (1e-6, 10.0)
    reg_range: tuple = (1e-6, 1e3)          # plus 0 (no regularization) at the start of the slider
    batch_sizes: tuple = (1, 10, 20, 50, 100, 200, 500, 1000)
    epochs_range: tuple = (1, 1000)
    init_scale_range: tuple = (1e-6, 1.0)
    momentum_range: tuple = (0.0, 0.99)
    delta_range: tuple = (0.0, 10.0)
    losses: tuple = ("softmax", "hinge")
    penalties: tuple = ("l2", "l1", "none")
    k_range: tuple = (1, 100)
    default_ks: tuple = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)
    folds: int = 5
    folds_range: tuple = (2, 20)
    eval_cap: int = 10_000                  # train accuracy is measured on at most this many examples
    random_state: int = 0

    def learning_rate_values(self):
        """Slider table for the learning rate: 1-2-5 steps over :attr:`learning_rate_range`."""
        return nice_log_values(*self.learning_rate_range)

    def reg_values(self):
        """Slider table for lambda: ``0`` then 1-2-5 steps over :attr:`reg_range`."""
        return np.concatenate([[0.0], nice_log_values(*self.reg_range)])


DEFAULTS = Defaults()

_COMMON = {"penalty": "l2", "init_scale": 1e-3, "delta": 1.0, "momentum": 0.0, "random_state": 0,
           "scale": True, "subtract_mean": True}

_TABLE = {
    # name: (softmax learning rate, hinge learning rate, reg, batch size, epochs)
    "cifar10": (0.02, 0.005, 0.005, 200, 20),
    "cifar100": (0.02, 0.001, 0.005, 200, 20),
    "mnist": (0.5, 0.05, 0.001, 200, 20),
    "fashionmnist": (0.5, 0.05, 0.001, 200, 20),
    "digits": (0.5, 0.1, 0.001, 50, 30),
}
_TOY2D = {"learning_rate": {"softmax": 0.5, "hinge": 0.1}, "reg": 1e-3, "batch_size": 20, "epochs": 100,
          "init_scale": 0.01, "scale": False, "subtract_mean": False}
_ALIASES = {"cifar": "cifar10", "yoongikimjpg": "cifar10", "mnistt10k": "mnist", "fmnist": "fashionmnist",
            "sklearndigits": "digits"}


def _key(name):
    """Normalise a data-set name: "Digits 8×8" -> "digits", "CIFAR-100 (coarse)" -> "cifar100"."""
    k = re.sub(r"[^a-z0-9]", "", str(name or "").lower())
    k = _ALIASES.get(k, k)
    if k in _TABLE:
        return k
    for known in sorted(_TABLE, key=len, reverse=True):   # longest first: cifar100 before cifar10
        if k.startswith(known):
            return known
    return k


def training_defaults(dataset_name, loss="softmax"):
    """Starting hyperparameters for training on a data set (tuned on the real data, see module docs).

    Parameters
    ----------
    dataset_name : str
        ``"cifar10"``/``"CIFAR-10"``, ``"cifar100"``, ``"mnist"``, ``"fashion-mnist"``, ``"digits"``,
        ``"toy2d"`` (the 2-D playground: no pixel scaling); case and punctuation are ignored. Unknown
        names get the CIFAR-10 values (images scaled to [0, 1] and mean-subtracted).
    loss : {"softmax", "hinge", "ova_hinge"}
        The learning rate depends on it (``ova_hinge`` uses the hinge value).

    Returns
    -------
    dict with keys ``loss, penalty, reg, learning_rate, batch_size, init_scale, delta, momentum,
    random_state`` (pass them with :func:`model_kwargs` to ``LinearClassifier``), ``epochs``, and the
    preprocessing flags ``scale``, ``subtract_mean``.
    """
    if loss not in ("softmax", "hinge", "ova_hinge"):
        raise ValueError(f"loss must be one of 'softmax', 'hinge', 'ova_hinge' (got loss={loss!r})")
    kind = "softmax" if loss == "softmax" else "hinge"
    key = _key(dataset_name)
    out = dict(_COMMON, loss=loss)
    if key.startswith("toy") or key in ("playground", "2d"):
        out.update({k: v for k, v in _TOY2D.items() if k != "learning_rate"})
        out["learning_rate"] = _TOY2D["learning_rate"][kind]
        return out
    lr_s, lr_h, reg, bs, epochs = _TABLE.get(key, _TABLE["cifar10"])
    out.update(learning_rate=lr_s if kind == "softmax" else lr_h, reg=reg, batch_size=bs, epochs=epochs)
    return out


def model_kwargs(defaults):
    """The ``LinearClassifier`` keyword arguments out of a :func:`training_defaults` dict."""
    return {k: defaults[k] for k in MODEL_KEYS if k in defaults}

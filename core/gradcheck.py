"""Numerical gradient checking: is the analytic gradient right?

Conventions
-----------
* ``f`` maps an array ``x`` (any shape, e.g. ``W`` of shape ``(C, D)``) to a scalar loss.
* The numerical gradient uses centred differences ``(f(x + h e_i) - f(x - h e_i)) / (2h)``, evaluated on
  a private float64 **copy** of ``x``: the caller's array is never modified (CS231n's
  ``eval_numerical_gradient`` perturbs its input in place; ours does not).
* The relative error is ``||a - b|| / max(||a|| + ||b||, tiny)`` over all checked entries (0 when both
  are zero). In float64, below ~1e-7 means "correct"; near the kinks of the hinge or of ``|w|`` the
  one-sided slopes differ and errors are larger -- that is expected, not a bug.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.validation import check_random_state

__all__ = ["numerical_gradient", "relative_error", "check_gradient", "GradientCheck"]


def numerical_gradient(f, x, h=1e-5, *, indices=None):
    """Centred-difference gradient of ``f`` at ``x`` (``x`` is never mutated).

    Parameters
    ----------
    f : callable(ndarray) -> float
        Receives a float64 array of ``x``'s shape (a private copy; ``f`` may keep no reference to it).
    x : array, any shape
    h : float
        Step size.
    indices : sequence of flat indices, optional
        Only these entries are estimated (the others stay 0) -- for large ``W``.

    Returns
    -------
    grad : ndarray float64, same shape as ``x``
    """
    xc = np.array(x, dtype=np.float64, copy=True)
    flat = xc.reshape(-1)
    grad = np.zeros_like(xc)
    gflat = grad.reshape(-1)
    todo = range(flat.size) if indices is None else [int(i) for i in indices]
    for i in todo:
        old = flat[i]
        flat[i] = old + h
        fp = float(f(xc))
        flat[i] = old - h
        fm = float(f(xc))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a, b):
    """``||a - b|| / max(||a|| + ||b||, tiny)`` (Frobenius norms; 0.0 when both are all zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (got {a.shape} and {b.shape})")
    den = np.linalg.norm(a) + np.linalg.norm(b)
    if den == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / max(den, np.finfo(np.float64).tiny))


@dataclass(frozen=True)
class GradientCheck:
    """Result of :func:`check_gradient`.

    Attributes
    ----------
    relative_error : float
    numerical : ndarray  -- the checked entries of the numerical gradient (flat)
    analytic : ndarray   -- the same entries of the analytic gradient (flat)
    indices : ndarray    -- the flat indices that were checked
    passed : bool        -- ``relative_error < tol``
    """

    relative_error: float
    numerical: np.ndarray
    analytic: np.ndarray
    indices: np.ndarray
    passed: bool

    def __bool__(self):
        return self.passed


def check_gradient(f, x, analytic, *, h=1e-5, tol=1e-7, n_samples=None, random_state=0):
    """Compare an analytic gradient with the centred-difference one.

    Parameters
    ----------
    f : callable(ndarray) -> float
    x : array, any shape (not modified)
    analytic : array, same shape as ``x``
    h : float
    tol : float
        ``passed`` is ``relative_error < tol``.
    n_samples : int, optional
        Check only this many randomly chosen entries (all when None).
    random_state : None, int or Generator
        Chooses the entries when ``n_samples`` is given.

    Returns
    -------
    GradientCheck
    """
    x = np.asarray(x)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(f"analytic must have the shape of x {x.shape} (got {analytic.shape})")
    if n_samples is None or n_samples >= x.size:
        idx = np.arange(x.size)
    else:
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1 (got n_samples={n_samples!r})")
        idx = np.sort(check_random_state(random_state).choice(x.size, size=int(n_samples), replace=False))
    num = numerical_gradient(f, x, h, indices=idx).reshape(-1)[idx]
    ana = analytic.reshape(-1)[idx]
    err = relative_error(num, ana)
    return GradientCheck(err, num, ana, idx, bool(err < tol))

"""Toy 2-D data sets for the playground: points ``x = (x1, x2)`` a linear classifier can draw lines through.

Conventions
-----------
* Returns ``X`` ``(N, 2)`` float64 (roughly inside ``[-1, 1]²``, nothing is clipped) and ``y``
  ``(N,)`` int64 with ``N = n_classes * n_per_class``, grouped by class (all of class 0 first).
* ``noise`` is the standard deviation of the Gaussian jitter, in data units; seeded through
  ``random_state`` (:func:`core.validation.check_random_state`), so a seed repeats exactly.
* Kinds:

  ``"blobs"``   Gaussian clusters (std ``0.1 + noise``) centred on a circle of radius 0.6 --
                linearly separable.
  ``"circles"`` concentric rings, radii 0.3 .. 0.9 -- not linearly separable.
  ``"spiral"``  the CS231n spiral: arm ``k`` has radius 0.05 .. 1 and angle ``0 .. 4`` rad from
                ``2πk/C``, the angle jittered by ``2 * noise``.
  ``"xor"``     ``2C`` wedges around the origin; class ``k`` owns wedge ``k`` and the opposite one
                (``C = 2`` is the classic XOR of the quadrants).
  ``"cs231n"``  the layout of the CS231n interactive linear-classifier demo: three classes of
                three points at fixed positions (with ``n_per_class=3, noise=0`` exactly those);
                more points per class are jittered copies of the three; classes 4 and 5 are
                our own additions.
"""
from __future__ import annotations

import numbers

import numpy as np

from core.validation import check_choice, check_in_range, check_random_state

__all__ = ["make_toy2d", "TOY2D_KINDS", "CS231N_POINTS"]

TOY2D_KINDS = ("blobs", "circles", "spiral", "xor", "cs231n")

#: Base positions for the "cs231n" kind, three per class; rows 0-2 are the demo's.
CS231N_POINTS = np.array([
    [[0.5, 0.4], [0.8, 0.3], [0.3, 0.8]],
    [[-0.4, 0.3], [-0.3, 0.7], [-0.7, 0.2]],
    [[0.7, -0.4], [0.5, -0.6], [-0.4, -0.5]],
    [[-0.8, -0.3], [-0.9, -0.7], [-0.6, -0.9]],
    [[0.1, 0.0], [-0.1, 0.05], [0.0, -0.15]],
])


def _one_class(kind, k, C, n, noise, rng):
    if kind == "blobs":
        a = np.pi / 2 + 2 * np.pi * k / C
        centre = 0.6 * np.array([np.cos(a), np.sin(a)])
        return centre + rng.normal(0.0, 0.1 + noise, size=(n, 2))
    if kind == "circles":
        r = 0.3 + 0.6 * k / (C - 1)
        t = rng.uniform(0.0, 2 * np.pi, size=n)
        return r * np.column_stack([np.cos(t), np.sin(t)]) + rng.normal(0.0, noise, size=(n, 2))
    if kind == "spiral":
        r = np.linspace(0.05, 1.0, n)
        t = np.linspace(0.0, 4.0, n) + 2 * np.pi * k / C + rng.normal(0.0, 2 * noise, size=n)
        return r[:, None] * np.column_stack([np.sin(t), np.cos(t)])
    if kind == "xor":
        width = np.pi / C
        wedge = np.where(np.arange(n) < (n + 1) // 2, k, k + C)
        t = (wedge + rng.uniform(0.1, 0.9, size=n)) * width
        r = rng.uniform(0.2, 0.95, size=n)
        return r[:, None] * np.column_stack([np.cos(t), np.sin(t)]) + rng.normal(0.0, noise, size=(n, 2))
    base = CS231N_POINTS[k][np.arange(n) % 3]
    return base + rng.normal(0.0, noise, size=(n, 2))


def make_toy2d(kind, n_classes=3, n_per_class=40, noise=0.1, random_state=0):
    """Make a toy 2-D classification set.

    Parameters
    ----------
    kind : {"blobs", "circles", "spiral", "xor", "cs231n"}
    n_classes : int, 2..5
    n_per_class : int, 1..10000
    noise : float >= 0
        Standard deviation of the jitter (see the module docstring per kind).
    random_state : None, int or numpy Generator

    Returns
    -------
    X : (n_classes * n_per_class, 2) float64
    y : (n_classes * n_per_class,) int64
    """
    check_choice(kind, "kind", TOY2D_KINDS)
    C = check_in_range(n_classes, "n_classes", 2, 5, integer=True)
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, numbers.Integral):
        raise TypeError(f"n_per_class must be an integer (got {n_per_class!r})")
    n = check_in_range(n_per_class, "n_per_class", 1, 10_000, integer=True)
    noise = check_in_range(noise, "noise", 0.0, 10.0)
    rng = check_random_state(random_state)
    X = np.concatenate([_one_class(kind, k, C, n, noise, rng) for k in range(C)]).astype(np.float64)
    y = np.repeat(np.arange(C, dtype=np.int64), n)
    return X, y

"""Decision regions of 2-D classifiers on a pixel grid (the 2-D playground), in pure NumPy.

Conventions
-----------
* Points are ``(N, 2)`` float arrays ``[x1, x2]``; labels ``(N,)`` int ``0 .. C-1``.
* A linear classifier has ``W`` of shape ``(C, 2)`` (one row per class) and ``b`` of shape ``(C,)``;
  ``scores = X @ W.T + b``. Class ``c``'s *zero-score line* is ``{x : W[c] . x + b[c] = 0}``, and
  ``W[c]`` points to where class ``c``'s score grows.
* A grid of ``resolution`` x ``resolution`` cells covers ``xlim`` x ``ylim``. Cell ``[i, j]`` has its
  centre at ``(xs[j], ys[i])`` with ``ys`` *increasing* with ``i`` -- so a ``(R, R)`` label image is
  row-major with row 0 at the bottom (``ymin``), which is how a pyqtgraph ``ImageItem`` placed with
  ``setRect(xmin, ymin, width, height)`` shows it in a y-up plot.
* kNN regions use the vote and tie rule of :mod:`core.knn` (:data:`core.knn.TIE_RULE`): the class
  with the most votes among the k nearest points wins; a tie between top classes is broken in favour
  of the tied class whose nearest member is closest (at equal distance, the lower training index),
  and the cell is reported as *tied*.
* Everything is vectorised: the grid is separable, so the ``(N, R*R)`` distance matrix is one
  broadcast add of two small blocks (squared distances for L2: same ranking). Each cell's k-th
  smallest distance comes from an insertion network over the N points for small k (2k contiguous
  vector min/max per point -- much faster here than ``np.argpartition`` on 40 000 short rows) or one
  row sort for larger k; the votes are per-class sums of "within the k-th distance"; only cells with
  equal distances at the k-th place are redone exactly. ``benchmarks/bench_regions.py`` times it.
"""
from __future__ import annotations

import numpy as np

from core.knn import TIE_RULE, vote

__all__ = [
    "TIE_RULE",
    "grid_coordinates",
    "linear_region_grid",
    "knn_region_grid",
    "zero_score_line",
    "weight_arrow",
    "region_rgba",
]



def _check_limits(xlim, ylim, resolution):
    x0, x1 = (float(v) for v in xlim)
    y0, y1 = (float(v) for v in ylim)
    if not (np.isfinite([x0, x1, y0, y1]).all() and x1 > x0 and y1 > y0):
        raise ValueError(f"xlim and ylim must be finite (lo, hi) pairs with lo < hi (got xlim={tuple(xlim)}, "
                         f"ylim={tuple(ylim)})")
    r = int(resolution)
    if r < 2:
        raise ValueError(f"resolution must be >= 2 (got resolution={resolution!r})")
    return (x0, x1), (y0, y1), r


def grid_coordinates(xlim, ylim, resolution=200):
    """Cell centres of the grid.

    Parameters
    ----------
    xlim, ylim : (float, float)
        ``(lo, hi)`` of each axis; the cells tile this box exactly.
    resolution : int
        Cells per axis ``R``.

    Returns
    -------
    xs : ndarray (R,)
        Centre x of each column, increasing.
    ys : ndarray (R,)
        Centre y of each row, increasing (row 0 is at ``ylim[0]``).
    """
    (x0, x1), (y0, y1), r = _check_limits(xlim, ylim, resolution)
    xs = x0 + (np.arange(r) + 0.5) * ((x1 - x0) / r)
    ys = y0 + (np.arange(r) + 0.5) * ((y1 - y0) / r)
    return xs, ys


def linear_region_grid(W, b, xlim, ylim, resolution=200):
    """Scores and argmax class of a linear classifier at every grid cell.

    Parameters
    ----------
    W : array (C, 2)
    b : array (C,)
    xlim, ylim : (float, float)
    resolution : int

    Returns
    -------
    labels : ndarray (R, R) int64
        ``argmax_c scores`` (an exact tie goes to the lower class index).
    scores : ndarray (R, R, C) float64
        ``scores[i, j, c] = W[c, 0] * xs[j] + W[c, 1] * ys[i] + b[c]``.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] != 2 or W.shape[0] < 1:
        raise ValueError(f"W must have shape (C, 2) (got shape {W.shape})")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},) to match W (got shape {b.shape})")
    xs, ys = grid_coordinates(xlim, ylim, resolution)
    scores = ys[:, None, None] * W[:, 1] + (xs[:, None] * W[:, 0] + b)[None, :, :]
    return scores.argmax(axis=2), scores


def _grid_distances_t(X, xs, ys, metric):
    """``(N, R*R)`` float32 distances (squared for L2: same ranking) from every point to every cell.

    The grid is separable, so this is one broadcast add of an ``(N, R, 1)`` and an ``(N, 1, R)`` block;
    the point-major layout makes every per-point operation below a contiguous vector operation.
    """
    px = X[:, 0].astype(np.float32)[:, None]
    py = X[:, 1].astype(np.float32)[:, None]
    dx = xs.astype(np.float32)[None, :] - px
    dy = ys.astype(np.float32)[None, :] - py
    if metric == "l2":
        np.multiply(dx, dx, out=dx)
        np.multiply(dy, dy, out=dy)
    else:
        np.abs(dx, out=dx)
        np.abs(dy, out=dy)
    d = dy[:, :, None] + dx[:, None, :]
    return d.reshape(X.shape[0], -1)


def _kth_smallest(dt, k, X, xs, ys, metric):
    """The k-th smallest value of every column of ``dt`` (N, M).

    Small k: an insertion network over the N rows keeps the k best per column (2k contiguous
    vector min/max per point). Larger k: a sort of the rows of a cell-major ``(M, N)`` copy,
    built directly (sorting the transposed view would copy it first, slower).
    """
    n, m = dt.shape
    if k > 6:
        px = X[:, 0].astype(np.float32)
        py = X[:, 1].astype(np.float32)
        dx = xs.astype(np.float32)[:, None] - px
        dy = ys.astype(np.float32)[:, None] - py
        if metric == "l2":
            dx *= dx
            dy *= dy
        else:
            np.abs(dx, out=dx)
            np.abs(dy, out=dy)
        d = (dy[:, None, :] + dx[None, :, :]).reshape(m, n)
        d.sort(axis=1)
        return d[:, k - 1].copy()
    best = np.full((k, m), np.inf, dtype=dt.dtype)
    row = np.empty(m, dtype=dt.dtype)
    low = np.empty(m, dtype=dt.dtype)
    for p in range(n):
        row[:] = dt[p]
        for s in range(k):
            np.minimum(best[s], row, out=low)
            np.maximum(best[s], row, out=row)
            best[s] = low
    return best[k - 1]


def knn_region_grid(X, y, k, metric, xlim, ylim, resolution=200, n_classes=None):
    """kNN predicted class and vote ties at every grid cell.

    Parameters
    ----------
    X : array (N, 2)
        The memorised training points.
    y : int array (N,)
    k : int
        Number of neighbours, ``1 <= k <= N``.
    metric : {"l2", "l1"}
    xlim, ylim : (float, float)
    resolution : int
    n_classes : int, optional
        Number of classes (default ``y.max() + 1``).

    Returns
    -------
    labels : ndarray (R, R) int64
        Predicted class of each cell (rows = increasing y).
    tied : ndarray (R, R) bool
        True where the vote was a tie broken by :data:`core.knn.TIE_RULE`.

    Raises
    ------
    ValueError
        Empty ``X``, ``k`` out of range, unknown ``metric``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2) (got shape {X.shape})")
    if X.shape[0] == 0:
        raise ValueError("X is empty: add at least one point")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X (got shape {y.shape})")
    if metric not in ("l1", "l2"):
        raise ValueError(f"metric must be 'l1' or 'l2' (got metric={metric!r})")
    n = X.shape[0]
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of points (got k={k}, n_points={n})")
    c = int(n_classes) if n_classes is not None else int(y.max()) + 1
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"y must hold labels 0..{c - 1} (got {int(y.min())}..{int(y.max())})")
    xs, ys = grid_coordinates(xlim, ylim, resolution)
    r = xs.shape[0]
    # points grouped by class, so every per-class reduction below works on a contiguous block of rows
    order = np.argsort(y, kind="stable")
    Xs, ys_ = X[order], y[order]
    bounds = np.searchsorted(ys_, np.arange(c + 1))
    blocks = [(int(bounds[i]), int(bounds[i + 1])) for i in range(c)]
    dt = _grid_distances_t(Xs, xs, ys, metric)                 # (N, M), M = R*R cells

    def nearest_member():
        """(C, M): distance from each cell to the nearest point of each class (inf if none)."""
        out = np.full((c, dt.shape[1]), np.inf, dtype=np.float32)
        for cls, (a, e) in enumerate(blocks):
            if e > a:
                np.minimum.reduce(dt[a:e], axis=0, out=out[cls])
        return out

    if k == 1:
        return nearest_member().argmin(axis=0).reshape(r, r), np.zeros((r, r), dtype=bool)
    # the points within each cell's k-th smallest distance are its k nearest
    kth = _kth_smallest(dt, k, Xs, xs, ys, metric)
    inside = (dt <= kth[None, :]).view(np.uint8)
    tally = np.zeros((c, dt.shape[1]), dtype=np.uint16)          # (C, M) votes
    for cls, (a, e) in enumerate(blocks):
        if e > a:
            np.add.reduce(inside[a:e], axis=0, dtype=np.uint16, out=tally[cls])
    top = tally == tally.max(axis=0)
    tied = np.count_nonzero(top, axis=0) > 1
    pred = tally.argmax(axis=0)
    exact = tally.sum(axis=0) > k        # equal distances at the k-th place: more than k "inside"
    if tied.any():
        # tie rule: the tied class whose nearest member is closest (that member is among the k)
        nearest = nearest_member()
        nearest[~top] = np.inf
        best = nearest.min(axis=0)
        pred = np.where(tied, nearest.argmin(axis=0), pred)
        exact |= tied & ((nearest == best).sum(axis=0) > 1)   # equidistant: training index decides
    crowded = np.flatnonzero(exact)
    if crowded.size:
        # redo these few cells like core.knn: stable order by (distance, training index), then vote
        dc = dt[:, crowded].T                                      # (K, N), columns in class order
        orig = np.broadcast_to(order, dc.shape)
        idx = np.lexsort((orig, dc), axis=1)[:, :k]
        res = vote(ys_[idx], np.take_along_axis(dc, idx, axis=1), c)
        pred[crowded] = res.pred
        tied[crowded] = res.tied
    return pred.reshape(r, r), tied.reshape(r, r)


def zero_score_line(w, b, xlim, ylim):
    """End points of the line ``w . x + b = 0`` clipped to the box ``xlim`` x ``ylim``.

    Parameters
    ----------
    w : array (2,)
        One row of ``W``.
    b : float
    xlim, ylim : (float, float)

    Returns
    -------
    ndarray (2, 2) or None
        ``[[x_a, y_a], [x_b, y_b]]``, or None when the line misses the box or ``w`` is (almost) 0.
    """
    w0, w1 = (float(v) for v in np.asarray(w, dtype=np.float64).ravel()[:2])
    b = float(b)
    (x0, x1), (y0, y1) = (float(xlim[0]), float(xlim[1])), (float(ylim[0]), float(ylim[1]))
    scale = max(abs(w0), abs(w1))
    if scale < 1e-12:
        return None
    eps = 1e-9 * max(x1 - x0, y1 - y0)
    pts = []
    if abs(w1) > 1e-12 * scale:          # crossings of the left and right edges
        for x in (x0, x1):
            yy = -(w0 * x + b) / w1
            if y0 - eps <= yy <= y1 + eps:
                pts.append((x, min(max(yy, y0), y1)))
    if abs(w0) > 1e-12 * scale:          # crossings of the bottom and top edges
        for yy in (y0, y1):
            x = -(w1 * yy + b) / w0
            if x0 - eps <= x <= x1 + eps:
                pts.append((min(max(x, x0), x1), yy))
    if len(pts) < 2:
        return None
    p = np.array(pts)
    dist = ((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(dist.argmax(), dist.shape)
    if dist[i, j] <= eps * eps:
        return None
    return p[[i, j]]


def weight_arrow(w, b, xlim, ylim, length):
    """An arrow along ``w`` starting at the middle of the visible zero-score line.

    Parameters
    ----------
    w : array (2,)
    b : float
    xlim, ylim : (float, float)
    length : float
        Arrow length in data units.

    Returns
    -------
    ndarray (2, 2) or None
        ``[start, end]``; None when the zero-score line is not visible.
    """
    seg = zero_score_line(w, b, xlim, ylim)
    if seg is None:
        return None
    w = np.asarray(w, dtype=np.float64).ravel()[:2]
    start = seg.mean(axis=0)
    return np.vstack([start, start + float(length) * w / np.linalg.norm(w)])


def region_rgba(labels, colors, alpha=0.4, tied=None, tie_color=(150, 150, 150), hatch=6,
                background=(255, 255, 255)):
    """Colour a label grid: class colours at ``alpha`` over ``background``; tied cells hatched in ``tie_color``.

    Parameters
    ----------
    labels : int array (R, S)
    colors : uint8-like array (C, 3)
        RGB of each class.
    alpha : float
        Opacity of the class colour (0..1).
    tied : bool array (R, S), optional
    tie_color : (r, g, b)
    hatch : int
        Width in cells of the diagonal stripes drawn over tied cells.
    background : (r, g, b)
        What the colours are blended with (the plot's background: white, or dark in a dark theme).

    Returns
    -------
    ndarray (R, S, 4) uint8
        Opaque RGBA image (the blend is precomputed, so the plot's grid lines do not show through).
    """
    cols = np.asarray(colors, dtype=np.float32)[:, :3]
    a = float(np.clip(alpha, 0.0, 1.0))
    lut = np.empty((cols.shape[0], 4), dtype=np.uint8)
    bg = np.asarray(background, dtype=np.float32)[:3]
    lut[:, :3] = np.round(bg * (1 - a) + a * cols).astype(np.uint8)
    lut[:, 3] = 255
    labels = np.asarray(labels)
    packed = lut.view(np.uint32)[:, 0][labels]                    # one 4-byte gather per cell
    if tied is not None:
        tied = np.asarray(tied, dtype=bool)
        if tied.any():
            r, s = tied.shape
            h = max(1, int(hatch))
            stripes = ((np.arange(r)[:, None] + np.arange(s)[None, :]) // h) % 2 == 0
            tc = np.empty(4, dtype=np.uint8)
            tc[:3] = np.round(bg * (1 - a) + a * np.asarray(tie_color, dtype=np.float32)[:3])
            tc[3] = 255
            packed = np.where(tied & stripes, tc.view(np.uint32)[0], packed)
    return packed.view(np.uint8).reshape(labels.shape + (4,))

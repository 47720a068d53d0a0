"""Private: exact L2 nearest neighbours of ``uint8`` images with a low-dimensional lower bound.

:meth:`core.knn.KNearestNeighbor.kneighbors` uses this for blocks of many queries against a large
training set of ``uint8`` pixels. The answer is the same as the full search (the exact k nearest,
ties to the lower training index); only the work is smaller.

Why it is exact
---------------
Cut the D pixels into G bands (consecutive rows of the image, :data:`BLOCKS`). Band g has a basis
``U_g`` with orthonormal columns: the main directions of the training images' band plus the
direction of its mean (a randomised PCA, see :func:`_basis`). Every difference splits, band by band,
into a part inside the basis and a part ``r_g`` orthogonal to it, so for a query ``a`` and a training
image ``b``::

    ||a - b||^2 = sum_g ||z_a,g - z_b,g||^2 + ||r_a,g - r_b,g||^2
               >= sum_g ||z_a,g - z_b,g||^2 + (rho_a,g - rho_b,g)^2 = LB

with ``z_g = U_g^T x_g`` (p_g numbers) and ``rho_g = ||r_g||`` (one number per band). Separate bands
give G residual lengths instead of one, which makes the bound much tighter for the same number of
columns, and projecting a band costs 1/G of projecting the whole image. With ``N = ||x||^2 =
sum_g ||z_g||^2 + rho_g^2`` this is ``LB = N_a + N_b - 2 (z_a . z_b + rho_a . rho_b)``: one float32
matrix product over p + G + 1 columns instead of D. Then, per query:

1. ``k0 >= k`` training images with small LB (the smallest of each of the k0 groups of columns with
   the smallest minima) get their exact distance; the k-th smallest of those is an upper bound ``U``
   on the k-th nearest distance;
2. every training image with ``LB <= U`` (plus a rounding margin) is measured exactly -- any image
   with a smaller LB than ``U`` could be among the k nearest, any other cannot;
3. the k smallest exact distances win, ties to the lower index.

Exact distances are integers: ``||a||^2 + ||b||^2 - 2 a.b``. ``a.b`` is a float32 product of the
training pixels with the query's pixels split into 4-bit digits (:func:`digits`): every partial sum
is an integer below 2^24, so float32 holds it exactly in any summation order; the digits are
recombined in float64.

``z`` itself is exact up to a float64 triangular factor: ``U_g = W_g R_g^-1`` with an integer-valued
``W_g`` whose float32 products with uint8 pixels are exact, so ``z`` and ``rho`` are accurate to
~1e-14. The rounding margin covers the float32 product and the float32 keys: by the usual
dot-product error bound (Higham, Accuracy and Stability, 3.5) the computed
``z_a . z_b + rho_a . rho_b`` is off by at most ``gamma_{p+G} ||(z_a, rho_a)|| ||(z_b, rho_b)|| =
gamma_{p+G} sqrt(N_a N_b)``; rounding the inputs and the keys to float32 adds a few ``eps N``.
``MARGIN_UNITS (p + G + 8) eps32 (sqrt N_a + sqrt max N_b)^2`` bounds the sum of all of them with
room to spare (it is below 1e-4 of typical distances, so it costs almost nothing).

When the bound is weak (noise images, or a large k) too many images pass step 2; such queries are
answered by the full search instead (``FALLBACK_FRACTION``).
"""
from __future__ import annotations

import numpy as np

from core._topk import GROUP
from core.progress import check_cancel

__all__ = ["Projection", "worth_it", "search_block", "exact_sq", "exact_rows", "drop_heavy", "k_nearest",
           "query_runs", "DIMS", "BLOCK_ROWS", "FALLBACK_FRACTION"]

BLOCKS = 4                   # horizontal bands of the image, each with its own basis
DIMS = 64                    # directions kept per band (CIFAR-10, k=10: ~35 of 10,000 images measured)
_PCA_ROWS = 2048             # training rows the basis is estimated from
_PCA_SEED = 0
_POWER_ITERATIONS = 2
MARGIN_UNITS = 4.0
BLOCK_ROWS = 256             # queries per block (a smaller buffer: fresh pages are slow to fault in)
FALLBACK_FRACTION = 1 / 4    # a query whose candidates exceed this share of M goes the full way
K_LIMIT_DIVISOR = 1_000_000    # the shortcut is used for k <= M D / this (see worth_it)
_EPS32 = float(np.finfo(np.float32).eps) / 2
_CHUNK = 512                 # training rows projected at a time (small buffers: fresh pages are slow)


def worth_it(n_queries: int, m: int, d: int, k: int) -> bool:
    """Whether the projection pays for itself: many queries, a large training set, D well above the
    BLOCKS x DIMS directions, k small against M x D, and few enough pixels for exact float32 products.

    A query measures ~2-5 k images exactly (real CIFAR-10 and MNIST), each costing as much as 15-20
    columns of the full search's product, so the shortcut pays while k is small against M D. With
    k <= M D / 10^6 (and any k <= 10), measured against ``algorithm="brute"`` on CIFAR-10: M = 10000,
    k = 20 / 30: 0.54 / 0.60 of the time, k = 50 (outside): 1.03; M = 40000 (flipped and shifted
    copies), k = 120: 0.59, while k = 400 took 2.9 times as long.
    """
    return (n_queries >= 64 and m >= 4096 and d >= 2 * BLOCKS * DIMS
            and k <= max(10, m * d // K_LIMIT_DIVISOR)
            and digit_bits(d) > 0)           # exact float32 products (see digits)


class Projection:
    """The lower-bound data for one ``uint8`` training set ``X`` (M, D).

    The D pixels are cut into ``BLOCKS`` consecutive bands (rows of the image); band g has its own
    basis. Attributes: ``bands`` -- a list of ``(lo, hi, W, R_inv)``, ``W`` (hi - lo, p_g) float32
    integer-valued and ``R_inv`` (p_g, p_g) float64 the inverse of the ``R`` in ``W = U R``, ``U``
    orthonormal (see :func:`_basis`); ``p`` = sum of p_g; ``Z`` (M, p + G + 1) float32 rows
    ``(z_b, rho_b, N_b)`` (z of every band, then the G residual lengths, then the squared norm), so
    that one product with a query row ``(-2 z_a, -2 rho_a, 1)`` gives ``LB - N_a``;
    ``root_max`` = max sqrt(N_b).
    """

    def __init__(self, X: np.ndarray, sq_norms: np.ndarray, cancel=None):
        m, d = X.shape
        edges = np.linspace(0, d, min(BLOCKS, d) + 1).round().astype(int)
        self.bands = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            check_cancel(cancel)
            W, R_inv = _basis(X[:, lo:hi], min(DIMS, hi - lo))
            self.bands.append((int(lo), int(hi), W, R_inv))
        self.p = sum(W.shape[1] for _, _, W, _ in self.bands)
        if self.p == 0:
            raise ArithmeticError("the training images have no spread to build a basis from")
        self.g = len(self.bands)
        # squared band norms: float32 sums of <= 256 squares (< 2^24, exact), pieces then added in float64
        starts = np.concatenate([np.arange(lo, hi, 256) for lo, hi, _, _ in self.bands])
        self._pieces = np.zeros((d, len(starts)), dtype=np.float32)
        for i, (a, b) in enumerate(zip(starts, np.append(starts[1:], d))):
            self._pieces[a:b, i] = 1.0
        self._piece_band = np.eye(self.g)[np.searchsorted(edges, starts, side="right") - 1]   # (pieces, G)
        self.Z = np.empty((m, self.p + self.g + 1), dtype=np.float32)
        buf = np.empty((min(m, _CHUNK), d), dtype=np.float32)
        for j in range(0, m, _CHUNK):
            check_cancel(cancel)
            j2 = min(m, j + _CHUNK)
            self.Z[j:j2, :-1] = self._project(X[j:j2], buf[:j2 - j])
            self.Z[j:j2, -1] = sq_norms[j:j2]
        self.root_max = float(np.sqrt(sq_norms.max()))

    def _project(self, Xc: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """``(z, rho)`` (rows, p + G) float64 of uint8 rows ``Xc``: per band ``z = U^T x`` and
        ``rho = sqrt(||x||^2 - ||z||^2)``, the length of what the band's basis misses.

        ``x W`` is exact in float32 (integers, every partial sum below 2^24, see :func:`_basis`);
        ``z = (x W) R^-1`` is a small float64 product, accurate to ~1e-14; a band's ``||x||^2`` is
        exact (float32 sums of at most 256 squares, added in float64)."""
        np.copyto(buf, Xc, casting="unsafe")
        out = np.empty((len(Xc), self.p + self.g))
        band_sq = (np.square(buf) @ self._pieces).astype(np.float64) @ self._piece_band
        col = 0
        for i, (lo, hi, W, R_inv) in enumerate(self.bands):
            b = buf[:, lo:hi]
            z = (b @ W).astype(np.float64) @ R_inv
            out[:, col:col + z.shape[1]] = z
            col += z.shape[1]
            out[:, self.p + i] = np.sqrt(np.maximum(band_sq[:, i] - np.einsum("ij,ij->i", z, z), 0.0))
        return out

    def query(self, A: np.ndarray, sq: np.ndarray):
        """Query rows ``(-2 z_a, -2 rho_a, 1)`` float32 (n, p+G+1) and the rounding margin (n,)."""
        Za = np.empty((A.shape[0], self.p + self.g + 1), dtype=np.float32)
        Za[:, :-1] = -2.0 * self._project(A, np.empty(A.shape, dtype=np.float32))
        Za[:, -1] = 1.0
        margin = MARGIN_UNITS * (self.p + self.g + 8) * _EPS32 * (np.sqrt(sq) + self.root_max) ** 2
        return Za, margin


def _basis(X: np.ndarray, p: int):
    """An integer-valued (D, p') float32 matrix ``W`` and the ``R`` of ``W = U R``, U orthonormal.

    The columns span the p - 1 main directions of a row sample around its mean (a randomised SVD
    in float32 with two power iterations, orthonormalised through small Gram matrices) and the part
    of the mean image orthogonal to them (the images are not centred, so the mean direction
    matters); ``p' < p`` if the sample has less spread, 0 for all-zero pixels. Any basis
    keeps the search exact; a good one makes the bound tight. Each column is scaled so that
    ``255 * sum_i |W_ij| < 2^24`` and rounded to integers: then ``x W`` for uint8 ``x`` is a sum
    of integers whose every partial sum stays below 2^24, which float32 represents exactly -- in
    any summation order, so whatever BLAS does. Rounding perturbs the directions by ~1%, which
    only costs a little tightness. ``R`` comes from the Cholesky factor of the exact integer Gram
    matrix ``W^T W`` and is checked: ``R^-T W^T W R^-1`` must be the identity to 1e-9.
    """
    m, d = X.shape
    rng = np.random.default_rng(_PCA_SEED)
    rows = np.sort(rng.choice(m, size=min(m, max(_PCA_ROWS // 2, min(_PCA_ROWS, m // 8))), replace=False))
    S = X[rows].astype(np.float32)
    mu = S.mean(axis=0)
    S -= mu
    Q = _orthonormal(S.T @ (S @ rng.standard_normal((d, min(d, p + 16)), dtype=np.float32)))
    for _ in range(_POWER_ITERATIONS - 1):
        Q = _orthonormal(S.T @ (S @ Q))
    P = np.zeros((d, 0))
    if Q.shape[1]:
        SQ = (S @ Q).astype(np.float64)
        w, v = np.linalg.eigh(SQ.T @ SQ)                 # right singular vectors of S Q
        P = Q.astype(np.float64) @ v[:, ::-1][:, :p - 1]  # the p - 1 main directions (orthonormal)
    mu_perp = mu - P @ (P.T @ mu)
    cols = [P]
    if np.linalg.norm(mu_perp) > 1e-3 * np.linalg.norm(mu):
        cols.insert(0, (mu_perp / np.linalg.norm(mu_perp))[:, None])
    B = np.hstack(cols)
    if B.shape[1] == 0:
        return np.zeros((d, 0), dtype=np.float32), np.zeros((0, 0))
    limit = (2**24 - 1) / 255 - d / 2 - 1                 # rounding adds at most d/2 to sum |W_ij|
    W = np.round(B * (limit / np.abs(B).sum(axis=0)))
    if not (255 * np.abs(W).sum(axis=0) < 2**24).all():
        raise ArithmeticError("basis scaling exceeds the exact float32 range")
    gram = W.T @ W                                        # integers below 2^53: exact
    try:
        R = np.linalg.cholesky(gram).T
    except np.linalg.LinAlgError as exc:
        raise ArithmeticError(f"basis columns became dependent ({exc})") from None
    R_inv = np.linalg.inv(R)
    if np.abs(R_inv.T @ gram @ R_inv - np.eye(len(R))).max() > 1e-9:
        raise ArithmeticError("basis is not numerically orthonormalisable")
    return W.astype(np.float32), R_inv


def _orthonormal(Y: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning ``Y``'s, through its small Gram matrix (twice: the first pass
    leaves errors of order cond(Y)^2 eps, the second removes them)."""
    for _ in range(2):
        if Y.shape[1] == 0:
            break
        w, v = np.linalg.eigh(Y.T.astype(np.float64) @ Y)
        keep = w > max(w.max(), 0.0) * 1e-12             # no spread at all: no columns
        Y = Y @ (v[:, keep] / np.sqrt(w[keep])).astype(Y.dtype)
    return Y


def search_block(Ab: np.ndarray, a_sq: np.ndarray, X: np.ndarray, b_sq: np.ndarray,
                 proj: Projection, V: np.ndarray, k: int):
    """The exact k nearest of each query row of ``Ab`` (n, D) uint8 among ``X`` (M, D) uint8.

    ``a_sq``/``b_sq`` are the plain squared norms (float64); ``V`` is an (n, padded M) float32
    scratch buffer (see :func:`core._topk.padded_width`) whose padding columns hold +inf. Returns
    ``(d2, idx, heavy)``: float64 exact squared distances and int64 indices (n, k), and the rows
    (ascending) whose bound was too weak -- their entries in ``d2``/``idx`` are undefined and the
    caller must answer them another way.
    """
    n, m = Ab.shape[0], X.shape[0]
    groups = V.shape[1] // GROUP
    Za, margin = proj.query(Ab, a_sq)
    AD = digits(Ab)
    np.matmul(Za, proj.Z.T, out=V[:, :m])                # LB - N_a
    G = V.reshape(n, groups, GROUP)                       # group g = columns g*GROUP ...
    mins = G.min(axis=2)
    # 1. exact distances of the k0 smallest bounds -> an upper bound on the k-th distance
    k0 = min(m, _seeds(k))
    rows0 = np.repeat(np.arange(n), k0)
    idx0 = _smallest(G, mins, k0)
    d0 = exact_rows(Ab, a_sq, X, b_sq, idx0, AD).ravel()
    upper = np.partition(d0.reshape(n, k0), k - 1, axis=1)[:, k - 1]
    limit = (upper - a_sq + margin).astype(np.float32)
    limit = np.nextafter(limit, np.float32(np.inf))     # round the float32 threshold up, never down
    V[rows0, idx0.ravel()] = np.inf                      # measured already
    # 2. every other column whose bound is within reach (only groups whose minimum is)
    near = np.flatnonzero(mins <= limit[:, None])        # flat group numbers (2-D indexing is slower)
    gr, gg = np.divmod(near, groups)
    hit = np.take(G.reshape(n * groups, GROUP), near, axis=0) <= limit[gr][:, None]
    hr, lane = np.divmod(np.flatnonzero(hit), GROUP)
    r = gr[hr]
    c = gg[hr] * GROUP + lane
    r, c, heavy = drop_heavy(r, c, n, max(4 * k0, int(FALLBACK_FRACTION * m)))
    # 3. their exact distances; the k smallest of each row (ties: lower index) win
    d2 = exact_sq(Ab, a_sq, X, b_sq, r, c, AD)
    out_d, out_i = k_nearest(rows0, idx0.ravel(), d0, r, c, d2, heavy, k, n, m, X.shape[1])
    return out_d, out_i, heavy


def drop_heavy(r: np.ndarray, c: np.ndarray, n: int, most: int):
    """The candidate pairs ``(r, c)`` without those of rows (of ``n``) that have more than ``most``:
    returns ``(r, c, heavy)``, ``heavy`` the dropped rows, ascending (the bound was too weak there)."""
    heavy = np.flatnonzero(np.bincount(r, minlength=n) > most)
    if heavy.size:
        keep = ~np.isin(r, heavy)
        r, c = r[keep], c[keep]
    return r, c, heavy


def k_nearest(rows0, cols0, d0, r, c, d, heavy, k, n, m, dims):
    """The k smallest exact distances of every row not in ``heavy`` among the seeds ``(rows0, cols0,
    d0)`` and the candidates ``(r, c, d)`` (ties: lower index): (n, k) float64 distances and int64
    indices; the rows in ``heavy`` are left 0 for the caller to answer."""
    r = np.concatenate([rows0, r])
    c = np.concatenate([cols0, c])
    d = np.concatenate([d0, d])
    light = np.ones(n, dtype=bool)
    light[heavy] = False
    light = np.flatnonzero(light)
    out_d = np.zeros((n, k))
    out_i = np.zeros((n, k), dtype=np.int64)
    out_d[light], out_i[light] = _k_smallest_per_row(r, d, c, light, k, n, m, dims)
    return out_d, out_i


def query_runs(rows: np.ndarray):
    """``(start, end)`` of each run of equal values in the non-decreasing ``rows`` (one run a query)."""
    bounds = np.flatnonzero(np.diff(rows)) + 1
    return zip(np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [len(rows)]]).tolist())


def _k_smallest_per_row(r, d2, c, rows, k, n, m, d):
    """For each row in ``rows`` (ascending), the k entries of ``(r, d2, c)`` with ``r == row`` and the
    smallest ``(d2, c)``: their ``d2`` (float64) and ``c`` (int64), each (len(rows), k).

    The exact distances are integers ``0 <= d2 <= 255^2 d``, so ``(r, d2, c)`` packs into one int64 key
    when the bits fit, and one sort of plain integers orders them (a fifth of a three-key lexsort's
    time). They fit in practice: CIFAR-10 needs 8 + 28 + 16 bits for 256 queries, 3072 pixels and 50,000
    training images; otherwise the lexsort does it."""
    bits_c = max(1, int(m - 1).bit_length())
    bits_d = int(255 * 255 * d).bit_length()
    bits_r = max(1, int(n - 1).bit_length())
    if bits_r + bits_d + bits_c <= 63:
        key = (r.astype(np.int64) << (bits_d + bits_c)) | (d2.astype(np.int64) << bits_c) | c
        key.sort()
        pos = np.searchsorted(key, rows.astype(np.int64) << (bits_d + bits_c))[:, None] + np.arange(k)
        top = key[pos]
        return ((top >> bits_c) & ((1 << bits_d) - 1)).astype(np.float64), top & ((1 << bits_c) - 1)
    order = np.lexsort((c, d2, r))
    r, c, d2 = r[order], c[order], d2[order]
    pos = np.searchsorted(r, rows)[:, None] + np.arange(k)
    return d2[pos], c[pos]


def _smallest(G: np.ndarray, mins: np.ndarray, k0: int) -> np.ndarray:
    """Column indices (n, k0) of k0 distinct training images with small bounds, per row of ``G``
    (n, groups, GROUP): the smallest entry of each of the k0 groups with the smallest minima -- nearly
    the k0 smallest bounds, and cheaper to find. Any k0 >= k images give a valid threshold (step 1 of
    the module doc); good ones give a tight one."""
    n, groups, _ = G.shape
    if groups > k0:
        gsel = np.argpartition(mins, k0 - 1, axis=1)[:, :k0]
        lane = G[np.arange(n)[:, None], gsel].argmin(axis=2)
        return (gsel * GROUP + lane).astype(np.int64)
    flat = G.reshape(n, groups * GROUP)               # few groups: the k0 smallest of all (padding is +inf)
    return np.argpartition(flat, k0 - 1, axis=1)[:, :k0].astype(np.int64)


def exact_sq(A: np.ndarray, a_sq: np.ndarray, X: np.ndarray, b_sq: np.ndarray,
             rows: np.ndarray, cols: np.ndarray, AD: np.ndarray | None = None) -> np.ndarray:
    """Exact squared distances ``||A[rows[i]] - X[cols[i]]||^2`` (float64) for ``uint8`` rows.

    ``rows`` must be non-decreasing. Each query's training rows are gathered once and multiplied
    in float32 with the query's digit columns (:func:`digits`; ``AD`` = ``digits(A)`` if already
    made): every product sums at most D terms ``b * digit <= 255 * (2^bits - 1)``, below 2^24, so
    it is an exact integer whatever order BLAS adds in; the digits are recombined in float64.
    One thread: the steps are short and hold the interpreter lock, so a second one only waits.
    """
    out = np.empty(len(rows), dtype=np.float64)
    if not len(rows):
        return out
    AD = digits(A) if AD is None else AD
    parts = np.empty((len(rows), AD.shape[2]), dtype=np.float32)
    for s, e in query_runs(rows):
        np.matmul(X[cols[s:e]].astype(np.float32), AD[rows[s]], out=parts[s:e])
    np.subtract(a_sq[rows] + b_sq[cols], 2.0 * (parts @ _weights(AD.shape[2])), out=out)
    return out


def exact_rows(A: np.ndarray, a_sq: np.ndarray, X: np.ndarray, b_sq: np.ndarray,
               idx: np.ndarray, AD: np.ndarray | None = None) -> np.ndarray:
    """Exact squared distances ``||A[i] - X[idx[i, j]]||^2`` (n, q) float64 for ``uint8`` rows:
    :func:`exact_sq` for a fixed number of training rows per query, a few queries per step."""
    n, q = idx.shape
    d = A.shape[1]
    AD = digits(A) if AD is None else AD
    parts = np.empty((n, q, AD.shape[2]), dtype=np.float32)
    step = max(1, 2**19 // (q * d))                       # ~2 MB of float32 per step
    for i in range(0, n, step):
        j = min(n, i + step)
        np.matmul(X[idx[i:j]].astype(np.float32), AD[i:j], out=parts[i:j])
    return a_sq[:, None] + b_sq[idx] - 2.0 * (parts @ _weights(AD.shape[2]))


def digit_bits(d: int) -> int:
    """Bits per digit (4, 2 or 1) so that a float32 sum of ``d`` products ``pixel * digit`` stays
    below 2^24; 0 if even single bits would not (``d`` > 65,793)."""
    return next((b for b in (4, 2, 1) if 255 * (2**b - 1) * d < 2**24), 0)


def digits(A: np.ndarray) -> np.ndarray:
    """The query pixels ``A`` (n, D) uint8 split into digits: (n, D, 8 / bits) float32 with
    ``A = sum_j 2^(bits j) digit_j`` (see :func:`digit_bits`)."""
    bits = digit_bits(A.shape[1])
    if not bits:
        raise ArithmeticError(f"{A.shape[1]} pixels are too many for exact float32 products")
    nd = 8 // bits
    out = np.empty(A.shape + (nd,), dtype=np.float32)
    for j in range(nd):
        out[:, :, j] = (A >> (bits * j)) & (2**bits - 1)
    return out


def _weights(nd: int) -> np.ndarray:
    bits = 8 // nd
    return 2.0 ** (bits * np.arange(nd))


def _seeds(k: int) -> int:
    """How many smallest-bound images get exact distances first (their k-th gives the threshold)."""
    return k + max(4, k // 2)

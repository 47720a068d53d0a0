"""Changed versions of one image, and how far each moves in pixel space (the lecture's last kNN point).

The lecture shows an original face next to an occluded, a shifted and a tinted copy: three changes a
person sees as very different, yet all three are the *same* L2 distance from the original. Pixel
distance measures "how many pixel values changed, by how much", not "what the picture shows", so
k-nearest neighbour on raw pixels is a poor image classifier. This module makes those versions.

Conventions
-----------
* An image is ``(H, W, C)`` ``uint8`` with ``C = 1`` (grey) or ``3`` (RGB); a ``(H, W)`` array is read
  as grey and returned as ``(H, W, 1)``. Every function returns a new ``uint8`` image of the same
  shape (computed in float64, rounded to the nearest integer, clipped to ``0..255``).
* ``shift(dx, dy)`` moves the picture ``dx`` pixels right and ``dy`` pixels down; the strip that
  opens up is filled by repeating the edge (``fill="edge"``), with black (``"zero"``) or by wrapping
  around (``"wrap"``).
* Distances between two images use the flattened pixels as float64, exactly:
  ``L1 = sum|a - b|`` and ``L2 = sqrt(sum (a - b)^2)`` -- the same metrics as :mod:`core.distances`
  (which uses a faster, float32 form for large matrices).
* "Equal distance" versions (:func:`equal_distance_versions`) take the shifted copy as the reference
  and search each other change's strength (brightness offset, tint strength, occluder opacity) by
  bisection until its distance matches; because pixels are rounded to integers the match is
  within a fraction of a percent, and :attr:`Perturbation.distance` reports the value reached.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.validation import check_choice

__all__ = [
    "Perturbation",
    "shift",
    "brighten",
    "tint",
    "occlude",
    "image_distance",
    "version_distances",
    "make_versions",
    "equal_distance_versions",
    "FILL_MODES",
    "METRICS",
]

FILL_MODES = ("edge", "zero", "wrap")
METRICS = ("l1", "l2")


@dataclass(frozen=True)
class Perturbation:
    """One changed version of an image.

    Attributes
    ----------
    name : str
        Short kind: ``"shifted"``, ``"brightness"`` (brighter or darker), ``"tinted"`` or ``"occluded"``.
    description : str
        Human sentence for a caption, e.g. ``"shifted 2 px right"``.
    image : ndarray (H, W, C) uint8
    strength : float
        The parameter used (pixels, brightness offset, tint strength 0..1, occluder opacity 0..1).
    distance : float or None
        For :func:`equal_distance_versions`: the distance reached to the original (else None).
    """

    name: str
    description: str
    image: np.ndarray
    strength: float
    distance: float | None = None


# --------------------------------------------------------------------------- checks
def _as_image(image, name: str = "image") -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise TypeError(f"{name} must be a uint8 image (got dtype {a.dtype})")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must have shape (H, W), (H, W, 1) or (H, W, 3) (got shape {a.shape})")
    return a


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _check_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer (got {value!r})")
    return int(value)


def _check_unit(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1 (got {name}={value!r})")
    return float(value)


def _color(color, channels: int, name: str = "color") -> np.ndarray:
    c = np.atleast_1d(np.asarray(color, dtype=np.float64))
    if c.ndim != 1 or c.size not in (1, 3) or not np.all((c >= 0) & (c <= 255)):
        raise ValueError(f"{name} must be a grey value or an (R, G, B) triple in 0..255 (got {color!r})")
    if channels == 1 and c.size == 3:
        return np.array([0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]])  # luminance
    return np.broadcast_to(c, (channels,)).astype(np.float64)


# --------------------------------------------------------------------------- the changes
def shift(image, dx: int, dy: int = 0, *, fill: str = "edge") -> np.ndarray:
    """Translate the picture by whole pixels.

    Parameters
    ----------
    image : (H, W, C) or (H, W) uint8
    dx, dy : int
        Pixels to move right (``dx > 0``) / left, and down (``dy > 0``) / up.
    fill : {"edge", "zero", "wrap"}
        What fills the strip that opens up.

    Returns
    -------
    ndarray (H, W, C) uint8
    """
    a = _as_image(image)
    dx, dy = _check_int(dx, "dx"), _check_int(dy, "dy")
    check_choice(fill, "fill", FILL_MODES)
    h, w = a.shape[:2]
    if fill == "wrap":
        return np.roll(a, (dy, dx), axis=(0, 1)).copy()
    if abs(dx) >= w or abs(dy) >= h:
        raise ValueError(f"a shift must be smaller than the image (got dx={dx}, dy={dy} for {h}x{w})")
    mode = "edge" if fill == "edge" else "constant"
    pad = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0)), (0, 0))
    padded = np.pad(a, pad, mode=mode)
    top, left = max(-dy, 0), max(-dx, 0)
    return np.ascontiguousarray(padded[top:top + h, left:left + w])


def brighten(image, amount: float) -> np.ndarray:
    """Add ``amount`` to every pixel value (negative darkens); clipped to 0..255.

    Parameters
    ----------
    image : (H, W, C) or (H, W) uint8
    amount : float
        Offset in pixel units, ``-255 .. 255``.
    """
    a = _as_image(image)
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or not -255 <= amount <= 255:
        raise ValueError(f"amount must be a number between -255 and 255 (got amount={amount!r})")
    return _to_uint8(a.astype(np.float64) + float(amount))


def tint(image, color=(255, 140, 0), strength: float = 0.3) -> np.ndarray:
    """Blend the picture towards a colour: ``(1 - strength) * image + strength * color``.

    Parameters
    ----------
    image : (H, W, C) or (H, W) uint8
    color : int or (R, G, B) in 0..255
        For a grey image an RGB colour is reduced to its luminance.
    strength : float in [0, 1]
        0 leaves the image unchanged, 1 paints it the flat colour.
    """
    a = _as_image(image)
    s = _check_unit(strength, "strength")
    c = _color(color, a.shape[2])
    return _to_uint8((1.0 - s) * a.astype(np.float64) + s * c)


def occlude(image, size: int, *, center: tuple[int, int] | None = None, color=0,
            opacity: float = 1.0) -> np.ndarray:
    """Cover a ``size`` x ``size`` square with a colour (a "sticker" over part of the picture).

    Parameters
    ----------
    image : (H, W, C) or (H, W) uint8
    size : int
        Side of the square in pixels, ``0 .. min(H, W)`` (0 changes nothing).
    center : (row, col) or None
        Centre of the square; None puts it in the middle of the image. It is clipped to stay inside.
    color : int or (R, G, B)
    opacity : float in [0, 1]
        1 hides the covered pixels completely.
    """
    a = _as_image(image)
    h, w = a.shape[:2]
    size = _check_int(size, "size")
    if not 0 <= size <= min(h, w):
        raise ValueError(f"size must be between 0 and {min(h, w)} (got size={size})")
    op = _check_unit(opacity, "opacity")
    c = _color(color, a.shape[2])
    cy, cx = (h // 2, w // 2) if center is None else (int(center[0]), int(center[1]))
    top = int(np.clip(cy - size // 2, 0, h - size))
    left = int(np.clip(cx - size // 2, 0, w - size))
    out = a.astype(np.float64)
    patch = out[top:top + size, left:left + size]
    out[top:top + size, left:left + size] = (1.0 - op) * patch + op * c
    return _to_uint8(out)


# --------------------------------------------------------------------------- distances
def image_distance(a, b, metric: str = "l2") -> float:
    """Exact L1 or L2 distance between two images of the same shape (flattened pixels, float64)."""
    check_choice(metric, "metric", METRICS)
    x, y = _as_image(a, "a"), _as_image(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same shape (got {x.shape} and {y.shape})")
    d = x.astype(np.float64) - y.astype(np.float64)
    return float(np.abs(d).sum()) if metric == "l1" else float(np.sqrt(np.square(d).sum()))


def version_distances(original, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """L1 and L2 distance from ``original`` to each image.

    Returns
    -------
    l1, l2 : ndarray (n,) float64
    """
    l1 = np.array([image_distance(original, im, "l1") for im in images], dtype=np.float64)
    l2 = np.array([image_distance(original, im, "l2") for im in images], dtype=np.float64)
    return l1, l2


# --------------------------------------------------------------------------- sets of versions
def make_versions(image, *, shift_px: int = 2, brightness: float = 40, tint_color=(255, 140, 0),
                  tint_strength: float = 0.3, occlusion_size: int = 8, occlusion_color=0,
                  fill: str = "edge") -> list[Perturbation]:
    """The four kinds of change with the strengths given (tinting only for colour images).

    Returns
    -------
    list of Perturbation: shifted, brightness, [tinted,] occluded.
    """
    a = _as_image(image)
    out = [Perturbation("shifted", f"shifted {shift_px} px right", shift(a, shift_px, 0, fill=fill), shift_px),
           Perturbation("brightness", f"brightness {brightness:+g}", brighten(a, brightness), float(brightness))]
    if a.shape[2] == 3:
        out.append(Perturbation("tinted", f"tinted {tint_strength:.0%}", tint(a, tint_color, tint_strength),
                                float(tint_strength)))
    size = min(int(occlusion_size), min(a.shape[:2]))
    out.append(Perturbation("occluded", f"{size}×{size} square covered", occlude(a, size, color=occlusion_color),
                            float(size)))
    return out


def _bisect(make, target: float, original: np.ndarray, metric: str, lo: float, hi: float,
            iters: int = 40) -> tuple[float, np.ndarray, float]:
    """Smallest strength in [lo, hi] whose version reaches ``target`` (distance grows with strength)."""
    best = (hi, make(hi))
    best_d = image_distance(original, best[1], metric)
    if best_d <= target:
        return hi, best[1], best_d
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        img = make(mid)
        d = image_distance(original, img, metric)
        if d < target:
            lo = mid
        else:
            hi = mid
            best, best_d = (mid, img), d
    low_img = make(lo)
    low_d = image_distance(original, low_img, metric)
    if abs(low_d - target) < abs(best_d - target):
        return lo, low_img, low_d
    return best[0], best[1], best_d


def equal_distance_versions(image, *, shift_px: int = 1, metric: str = "l2", tint_color=(255, 140, 0),
                            occlusion_color=0, fill: str = "edge") -> list[Perturbation]:
    """The lecture's picture: versions that all lie (about) the same distance from the original.

    The shifted copy sets the target distance; the brightness offset, tint strength and the opacity
    of a centred occluding square are then searched so each version reaches that distance.

    Parameters
    ----------
    image : (H, W, C) or (H, W) uint8
    shift_px : int
        Pixels to shift right; sets the common distance.
    metric : {"l2", "l1"}
        Which distance to equalise.

    Returns
    -------
    list of Perturbation
        shifted, brightness, [tinted,] occluded, each with ``distance`` set. A change that cannot
        reach the target (e.g. a blank image has nothing to shift) stops at its strongest setting.
    """
    check_choice(metric, "metric", METRICS)
    a = _as_image(image)
    shifted = shift(a, shift_px, 0, fill=fill)
    target = image_distance(a, shifted, metric)
    out = [Perturbation("shifted", f"shifted {shift_px} px right", shifted, float(shift_px), target)]
    mean = float(a.mean())
    sign = 1.0 if mean <= 127.5 else -1.0   # brighten dark images, darken bright ones: more room
    amt, img, d = _bisect(lambda t: brighten(a, sign * t), target, a, metric, 0.0, 255.0)
    word = "brighter" if sign > 0 else "darker"
    out.append(Perturbation("brightness", f"{amt:.0f} levels {word}", img, sign * amt, d))
    if a.shape[2] == 3:
        s, img, d = _bisect(lambda t: tint(a, tint_color, t), target, a, metric, 0.0, 1.0)
        out.append(Perturbation("tinted", f"tinted {s:.0%}", img, s, d))
    h, w = a.shape[:2]
    size = min(h, w)
    for cand in range(1, min(h, w) + 1):   # smallest square that can reach the target when opaque
        if image_distance(a, occlude(a, cand, color=occlusion_color), metric) >= target:
            size = cand
            break
    op, img, d = _bisect(lambda t: occlude(a, size, color=occlusion_color, opacity=t), target, a, metric, 0.0, 1.0)
    out.append(Perturbation("occluded", f"{size}×{size} square, {op:.0%} opaque", img, op, d))
    return out

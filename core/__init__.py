"""Linear Classifier Lab core: the lecture's math as a GUI-free NumPy library.

Conventions (used by every module)
----------------------------------
* Images are ``(N, H, W, C)`` ``uint8`` (C = 1 for grey, 3 for RGB).
* Features are ``(N, D)`` ``float32`` with ``D = H * W * C`` (row-major flatten).
* Labels are ``(N,)`` integers ``0 .. C-1``; ``class_names[c]`` names class ``c``.
* A linear classifier has ``W`` of shape ``(C, D)`` -- one template per class, as on
  the slide ``f(x) = Wx + b`` -- and ``b`` of shape ``(C,)``; ``scores = X @ W.T + b``.
* The full loss is ``L = mean data loss + reg * R(W)`` with ``R(W) = sum(W**2)`` (L2,
  no 1/2) or ``sum(|W|)`` (L1); the bias is not regularized; softmax uses the natural log.
* Anything random takes ``random_state`` (None, int or ``np.random.Generator``) and uses
  ``np.random.default_rng``; nothing touches NumPy's global RNG.
* Long work takes ``progress(done, total, message)`` and ``cancel() -> bool`` callbacks
  (see :mod:`core.progress`).

This package never imports Qt or pyqtgraph (a test enforces it).
"""

__version__ = "0.1.0"

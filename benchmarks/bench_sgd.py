"""How fast is one SGD epoch? Ours vs a plain vectorised NumPy epoch vs scikit-learn's SGDClassifier.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_sgd.py                 # CIFAR-10 JPEGs tiled to 50000 x 3072
    .venv/bin/python benchmarks/bench_sgd.py --synthetic     # random float32 data of the same size
    .venv/bin/python benchmarks/bench_sgd.py --n 20000 --sklearn-n 5000 --repeats 3

One epoch over N x 3072 float32 (default N = 50000), batch 200, 10 classes:

* ``ours-*``: :class:`core.training.Trainer` ``run_epoch()`` (what the app runs: each minibatch computed on
  one thread in products small enough for OpenBLAS's small-matrix kernels while the helper thread gathers
  the next minibatch's rows, see ``core/_sgd_kernel.py``; ``jobs=1``: the same on one core, gathering in
  turn, bit-identical weights), and ``LinearClassifier.fit(epochs=1)`` (which also validates X: a NaN scan
  over all of it, and measures the epoch-end accuracy).
* ``numpy-*``: the CS231n-style loop written below (``X[idx]`` fancy indexing, ``W`` of shape (D, C)),
  with NumPy's default BLAS threads (and once with one thread, like ours).
* ``sklearn-*``: ``SGDClassifier(loss="hinge" / "log_loss", n_jobs=2, max_iter=1, tol=None)`` -- one
  epoch of per-example SGD, one-vs-rest over classes in 2 jobs -- on the first ``--sklearn-n`` rows;
  compare examples per second.

The 2 cores may be shared with other work: candidates run interleaved (benchmarks/_timing.py) and only
the ratios within one run mean much. Each timed epoch starts 0.3 s after the previous one ended: after a
NumPy epoch on two BLAS threads, OpenBLAS's worker thread spins for ~0.1 s and slowed whichever epoch came
next (in an A/B run with a fixed order, the candidate right after it measured 15-25 % slower).
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._timing import median, print_table, time_interleaved  # noqa: E402
from core.linear import LinearClassifier  # noqa: E402
from core.preprocess import Preprocessor  # noqa: E402
from core.training import Trainer  # noqa: E402

D_CLASSES = 10
LR, REG, BATCH = 1e-3, 1e-3, 200


def load_data(n, synthetic):
    """(X (n, 3072) float32 preprocessed, y (n,) int64)."""
    jpg = ROOT.parent / "shared" / "data" / "cifar10" / "yoongikim_jpg" / "train"
    if not synthetic and jpg.is_dir():
        from PIL import Image
        imgs, labels = [], []
        for c, name in enumerate(sorted(p.name for p in jpg.iterdir() if p.is_dir())):
            for f in sorted((jpg / name).glob("*.jpg")):
                with Image.open(f) as im:
                    imgs.append(np.asarray(im.convert("RGB")))
                labels.append(c)
        imgs, labels = np.stack(imgs), np.array(labels, dtype=np.int64)
        reps = -(-n // len(labels))
        imgs, labels = np.concatenate([imgs] * reps)[:n], np.concatenate([labels] * reps)[:n]
        X = Preprocessor().fit(imgs).transform(imgs)
        return X, labels, f"CIFAR-10 JPEGs tiled to {n}"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 3072), dtype=np.float32) * 0.25
    return X, rng.integers(0, D_CLASSES, n), f"synthetic N(0, 0.25^2), {n} rows"


def numpy_epoch(X, y, W, loss, rng):
    """One CS231n-style epoch: W is (D, C), scores = X_batch @ W, fancy-indexed batches."""
    n = X.shape[0]
    perm = rng.permutation(n)
    for start in range(0, n, BATCH):
        idx = perm[start:start + BATCH]
        Xb, yb = X[idx], y[idx]
        m = Xb.shape[0]
        scores = Xb @ W
        rows = np.arange(m)
        if loss == "softmax":
            scores -= scores.max(axis=1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=1, keepdims=True)
            p[rows, yb] -= 1
            dscores = p / m
        else:
            margins = np.maximum(0, scores - scores[rows, yb][:, None] + 1)
            margins[rows, yb] = 0
            dscores = (margins > 0).astype(X.dtype)
            dscores[rows, yb] = -dscores.sum(axis=1)
            dscores /= m
        dW = Xb.T @ dscores + 2 * REG * W
        W -= LR * dW
    return W


def one_thread(fn, *args):
    """Run ``fn`` with BLAS limited to one thread (as each of our two halves runs)."""
    from core.linear import limit_blas_threads
    with limit_blas_threads(1):
        return fn(*args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--sklearn-n", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--skip-sklearn", action="store_true")
    args = ap.parse_args(argv)

    try:
        from threadpoolctl import threadpool_info
        blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')} threads={i['num_threads']}"
                for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        blas = ["threadpoolctl missing"]
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")}
    X, y, what = load_data(args.n, args.synthetic)
    print(f"data: {what}, X {X.shape} {X.dtype}; BLAS: {'; '.join(blas)}; env: {env}; "
          f"cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}", flush=True)
    n, nsk = X.shape[0], min(args.sklearn_n, X.shape[0])

    trainers = {(loss, jobs): Trainer({loss: LinearClassifier(loss=loss, learning_rate=LR, reg=REG,
                                                              batch_size=BATCH, random_state=0)},
                                      X, y, random_state=0, eval_cap=1, jobs=jobs)
                for loss in ("softmax", "hinge") for jobs in (None, 1)}
    rng = np.random.default_rng(0)
    W0 = (1e-3 * rng.standard_normal((X.shape[1], D_CLASSES))).astype(np.float32)

    funcs = {
        "ours-softmax (Trainer.run_epoch)": lambda: trainers["softmax", None].run_epoch(),
        "ours-hinge (Trainer.run_epoch)": lambda: trainers["hinge", None].run_epoch(),
        "ours-softmax (Trainer, jobs=1)": lambda: trainers["softmax", 1].run_epoch(),
        "ours-hinge (Trainer, jobs=1)": lambda: trainers["hinge", 1].run_epoch(),
        "ours-softmax (fit, epochs=1)": lambda: LinearClassifier(learning_rate=LR, reg=REG,
                                                                 random_state=0).fit(X, y, epochs=1),
        "numpy-softmax (plain loop)": lambda: numpy_epoch(X, y, W0.copy(), "softmax", rng),
        "numpy-hinge (plain loop)": lambda: numpy_epoch(X, y, W0.copy(), "hinge", rng),
        "numpy-softmax (plain loop, 1 BLAS thread)":
            lambda: one_thread(numpy_epoch, X, y, W0.copy(), "softmax", rng),
    }
    counts = {k: n for k in funcs}
    if not args.skip_sklearn:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDClassifier
        Xs, ys = X[:nsk], y[:nsk]

        def sk(loss):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                SGDClassifier(loss=loss, alpha=REG, max_iter=1, tol=None, n_jobs=2, random_state=0).fit(Xs, ys)

        funcs["sklearn-hinge (SGDClassifier)"] = lambda: sk("hinge")
        funcs["sklearn-log_loss (SGDClassifier)"] = lambda: sk("log_loss")
        counts["sklearn-hinge (SGDClassifier)"] = counts["sklearn-log_loss (SGDClassifier)"] = nsk

    times = time_interleaved(funcs, repeats=args.repeats, pause=0.3)   # OpenBLAS threads stop spinning
    rate = {k: counts[k] / median(v) for k, v in times.items()}
    sk_best = max((r for k, r in rate.items() if k.startswith("sklearn")), default=None)
    np_rate = {"softmax": rate["numpy-softmax (plain loop)"], "hinge": rate["numpy-hinge (plain loop)"]}
    rows = []
    for k, v in times.items():
        kind = "hinge" if "hinge" in k else "softmax"
        rows.append([k, counts[k], f"{median(v):.3f} s", f"{min(v):.3f} s", f"{rate[k] / 1e3:.0f}k",
                     f"{rate[k] / np_rate[kind]:.2f}x",
                     "" if sk_best is None else f"{rate[k] / sk_best:.1f}x"])
    print_table(rows, ["epoch", "examples", "median", "best", "examples/s", "vs numpy (same loss)",
                       "vs best sklearn ex/s"])


if __name__ == "__main__":
    main()

"""kNN speed: ours vs faiss-cpu vs scikit-learn (and scipy for L1), run by hand.

    cd /work/main && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_knn.py

Options: ``--synthetic`` (random uint8 instead of the CIFAR-10 JPEG folder), ``--quick``
(fewer repeats, skips the slow L1 baselines), ``--cv-only`` (only the cross-validation rows, ~5 min),
``--full`` (also measures the peak memory of a full 10000 x 50000 evaluation; peak = VmHWM of a child
process). Data: the real CIFAR-10 JPEG folder under
../shared/data (10000 train + 10000 test images); for the 50000-image training set the
10000 training images are augmented (horizontal flip, 2-pixel shifts) to 50000.
Prints markdown tables; all ratios come from interleaved runs in the same process.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _timing import fmt_s, median, print_table, ratio, time_interleaved  # noqa: E402

from core.config import DEFAULTS  # noqa: E402
from core.knn import KNearestNeighbor, vote  # noqa: E402
from core.model_selection import cross_validate_knn  # noqa: E402

KS = list(range(1, 11))
CIFAR = ROOT.parent / "shared" / "data" / "cifar10" / "yoongikim_jpg"


def load_cifar_folder(split: str):
    from PIL import Image
    X, y = [], []
    for c, d in enumerate(sorted(p for p in (CIFAR / split).iterdir() if p.is_dir())):
        for f in sorted(d.glob("*.jpg")):
            with Image.open(f) as im:
                X.append(np.asarray(im.convert("RGB")))
            y.append(c)
    return np.stack(X).reshape(len(X), -1), np.array(y, dtype=np.int64)


def augment_to_50000(X, y):
    imgs = X.reshape(-1, 32, 32, 3)
    flip = imgs[:, :, ::-1]
    right = np.concatenate([imgs[:, :, :2], imgs[:, :, :-2]], axis=2)
    down = np.concatenate([imgs[:, :2], imgs[:, :-2]], axis=1)
    flip_right = np.concatenate([flip[:, :, :2], flip[:, :, :-2]], axis=2)
    big = np.concatenate([imgs, flip, right, down, flip_right]).reshape(-1, 3072)
    return np.ascontiguousarray(big), np.tile(y, 5)


def get_data(synthetic: bool):
    if not synthetic and CIFAR.is_dir():
        Xtr, ytr = load_cifar_folder("train")
        Xte, yte = load_cifar_folder("test")
        source = "CIFAR-10 JPEG folder (real images)"
    else:
        rng = np.random.default_rng(0)
        Xtr = rng.integers(0, 256, (10000, 3072), dtype=np.uint8)
        ytr = rng.integers(0, 10, 10000)
        Xte = rng.integers(0, 256, (10000, 3072), dtype=np.uint8)
        yte = rng.integers(0, 10, 10000)
        source = "synthetic uniform uint8"
    order = np.random.default_rng(0).permutation(len(Xte))
    return Xtr, ytr, Xte[order], yte[order], source


def votes(y_train, dist, idx):
    labels = y_train[idx]
    return {k: vote(labels[:, :k], dist[:, :k], 10).pred for k in KS}


def ours_fn(Xtr, ytr, Q, metric):
    return lambda: KNearestNeighbor(10, metric).fit(Xtr, ytr).predict_many_k(Q, KS)


def ours_brute_fn(Xtr, ytr, Q, metric):
    """Ours without the projection shortcut: every query against every training image."""
    return lambda: KNearestNeighbor(10, metric, algorithm="brute").fit(Xtr, ytr).predict_many_k(Q, KS)


def faiss_fn(Xtr, ytr, Q, metric):
    import faiss

    def run():
        index = faiss.IndexFlatL2(Xtr.shape[1]) if metric == "l2" else \
            faiss.IndexFlat(Xtr.shape[1], faiss.METRIC_L1)
        index.add(Xtr.astype(np.float32))
        dist, idx = index.search(Q.astype(np.float32), 10)
        return votes(ytr, dist, idx)
    return run


def sklearn_fn(Xtr, ytr, Q, metric):
    from sklearn.neighbors import KNeighborsClassifier

    def run():
        m = "euclidean" if metric == "l2" else "manhattan"
        clf = KNeighborsClassifier(n_neighbors=10, algorithm="brute", metric=m).fit(Xtr, ytr)
        dist, idx = clf.kneighbors(Q)
        return votes(ytr, dist, idx)
    return run


def scipy_fn(Xtr, ytr, Q, metric):
    from scipy.spatial.distance import cdist

    def run():
        D = cdist(Q.astype(np.float64), Xtr.astype(np.float64), "cityblock")
        part = np.argpartition(D, 9, axis=1)[:, :10]
        d = np.take_along_axis(D, part, axis=1)
        order = np.argsort(d, axis=1, kind="stable")
        return votes(ytr, np.take_along_axis(d, order, 1), np.take_along_axis(part, order, 1))
    return run


def agreement(a: dict, b: dict) -> str:
    return f"{100 * np.mean([np.mean(a[k] == b[k]) for k in KS]):.2f}%"


def compare(title, makers, Xtr, ytr, Q, metric, repeats, rows, work_flop=None):
    funcs = {name: make(Xtr, ytr, Q, metric) for name, make in makers.items()}
    results = {name: f() for name, f in funcs.items()}          # warm-up + predictions
    times = time_interleaved(funcs, repeats=repeats, warmup=False, pause=0.3)
    ours = median(times["ours"])
    for name in funcs:
        t = median(times[name])
        extra = f"{work_flop / t / 1e9:.0f} GFLOP/s" if work_flop else ""
        rows.append([title, name, fmt_s(t), ratio(t, ours), agreement(results[name], results["ours"]),
                     len(times[name]), extra])
    return times


def gemm_ceiling(repeats):
    rng = np.random.default_rng(0)
    A = rng.random((1000, 3072), dtype=np.float32)
    B = rng.random((10000, 3072), dtype=np.float32)
    t = median(time_interleaved({"sgemm": lambda: A @ B.T}, repeats)["sgemm"])
    return 2 * 1000 * 10000 * 3072 / t / 1e9


def selection_cost(Xtr, Q, repeats):
    """Top-10 selection on a real (1000, 50000) block of L2 keys vs the product that made it."""
    from core._topk import padded_width, smallest_k
    from core.distances import TrainSet
    tr = TrainSet(Xtr, "l2")
    V = np.full((len(Q), padded_width(tr.m)), np.inf, dtype=np.float32)
    times = time_interleaved({
        "keys (GEMM + norms)": lambda: tr.keys(Q, V),
        "smallest_k (group minima)": lambda: smallest_k(V, tr.m, 10),
        "np.argpartition + sort": lambda: np.sort(np.argpartition(V[:, :tr.m], 9, axis=1)[:, :10], axis=1),
    }, repeats)
    gemm = median(times["keys (GEMM + norms)"])
    return [[name, fmt_s(median(t)), f"{100 * median(t) / gemm:.1f}%"] for name, t in times.items()]


def single_query(Xtr, ytr, Q, repeats=21):
    import faiss
    knn = KNearestNeighbor(10).fit(Xtr, ytr)
    index = faiss.IndexFlatL2(Xtr.shape[1])
    index.add(Xtr.astype(np.float32))
    q = Q[:1]
    qf = q.astype(np.float32)
    times = time_interleaved({"ours": lambda: knn.predict(q), "faiss": lambda: index.search(qf, 10)},
                             repeats, pause=0.3)
    return median(times["ours"]), median(times["faiss"])


_CHILD = """
import sys, time, numpy as np
sys.path.insert(0, {root!r})


def status(field):  # kB; VmHWM is the peak resident size of this process (reset by exec)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])


X = np.load({xpath!r}); y = np.load({ypath!r}); Q = np.load({qpath!r})
from core.knn import KNearestNeighbor
base = status("VmRSS")
t = time.perf_counter()
KNearestNeighbor(10).fit(X, y).predict_many_k(Q[:{n}], list(range(1, 11)))
print(base, status("VmHWM"), time.perf_counter() - t)
"""


def peak_memory(Xtr, ytr, Q, n):
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, arr in (("x", Xtr), ("y", ytr), ("q", Q)):
            paths[name] = os.path.join(tmp, name + ".npy")
            np.save(paths[name], arr)
        out = subprocess.run([sys.executable, "-c", _CHILD.format(
            root=str(ROOT), xpath=paths["x"], ypath=paths["y"], qpath=paths["q"], n=n)],
            capture_output=True, text=True, check=True).stdout.split()
    base_kb, peak_kb, secs = int(out[0]), int(out[1]), float(out[2])
    return base_kb / 1024, peak_kb / 1024, secs


def cv_rows(X, y, repeats):
    """5-fold CV of k = 1..10 (one search per fold) against CV of each single k, interleaved.

    The single-k runs differ: the exact search measures more images for a larger k (~7 per query for
    k = 1, ~37 for k = 10 on CIFAR-10), so "one k" is reported three ways: k = 1 (the cheapest),
    k = 10 (the largest, what the 10-k run searches for) and the mean over the ten single-k runs (what
    a value of k costs on average, i.e. a tenth of running CV once per k). The brute force (every
    training image ranked, the target's premise) is timed too: its cost does not depend on k."""
    funcs = {"1..10": lambda: cross_validate_knn(X, y, KS, folds=5)}
    funcs.update({k: (lambda k=k: cross_validate_knn(X, y, [k], folds=5)) for k in KS})
    t = time_interleaved(funcs, repeats=repeats)
    many = median(t["1..10"])
    single = {k: median(t[k]) for k in KS}
    mean1 = float(np.mean(list(single.values())))
    print("CV single-k medians: " + ", ".join(f"k={k} {fmt_s(v)}" for k, v in single.items()), flush=True)
    brute = {"1..10": lambda: cross_validate_knn(X, y, KS, folds=5, algorithm="brute")}
    brute.update({k: (lambda k=k: cross_validate_knn(X, y, [k], folds=5, algorithm="brute")) for k in (1, 10)})
    tb = {key: median(v) for key, v in time_interleaved(brute, repeats=repeats).items()}
    print(f"CV brute medians: 1..10 {fmt_s(tb['1..10'])}, k=1 {fmt_s(tb[1])}, k=10 {fmt_s(tb[10])}", flush=True)
    app_ks = list(DEFAULTS.default_ks)
    td = time_interleaved({"app": lambda: cross_validate_knn(X, y, app_ks, folds=5),
                           "k=100": lambda: cross_validate_knn(X, y, [max(app_ks)], folds=5)}, repeats=3)
    app, k100 = median(td["app"]), median(td["k=100"])
    print(f"CV with the app's default ks {app_ks}: {fmt_s(app)} (k=100 alone {fmt_s(k100)})", flush=True)
    return [
        ["CV on 10000 train images, 5 folds x k=1..10 vs one k (k=1)", f"{fmt_s(many)} vs {fmt_s(single[1])}",
         ratio(many, single[1]), "<= 1.3x"],
        ["... vs one k (k=10, the largest of the 10)", f"{fmt_s(many)} vs {fmt_s(single[10])}",
         ratio(many, single[10]), ""],
        ["... vs one k (mean of the 10 single-k runs)", f"{fmt_s(many)} vs {fmt_s(mean1)}", ratio(many, mean1), ""],
        ["... vs running CV once per k (sum of the 10)", f"{fmt_s(many)} vs {fmt_s(10 * mean1)}",
         ratio(many, 10 * mean1), ""],
        ["the same with algorithm='brute' (cost independent of k): k=1..10 vs k=1",
         f"{fmt_s(tb['1..10'])} vs {fmt_s(tb[1])}", ratio(tb["1..10"], tb[1]), "<= 1.3x"],
        ["... brute k=1..10 vs brute k=10", f"{fmt_s(tb['1..10'])} vs {fmt_s(tb[10])}",
         ratio(tb["1..10"], tb[10]), ""],
        ["auto k=1..10 vs brute k=1..10 (what the shortcut saves)", f"{fmt_s(many)} vs {fmt_s(tb['1..10'])}",
         ratio(many, tb["1..10"]), ""],
        [f"the app's default k list (1..{max(app_ks)}, {len(app_ks)} values) vs k={max(app_ks)} alone",
         f"{fmt_s(app)} vs {fmt_s(k100)}", ratio(app, k100), "<= 1.3x"],
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--cv-only", action="store_true", help="only the cross-validation rows (about 5 minutes)")
    args = ap.parse_args()
    if args.cv_only:
        Xtr, ytr, _, _, source = get_data(args.synthetic)
        print(f"data: {source}; load average at start: {os.getloadavg()}")
        print_table(cv_rows(Xtr, ytr, 3 if args.quick else 5), ["task", "time", "ratio", "target"])
        print(f"\nload average at end: {os.getloadavg()}")
        return
    import faiss  # noqa: F401  (load every BLAS before listing them)
    import scipy.spatial  # noqa: F401
    import sklearn.neighbors  # noqa: F401
    from threadpoolctl import threadpool_info
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    print(f"numpy {np.__version__}; BLAS: {blas}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; cores={os.cpu_count()}")
    print(f"load average at start: {os.getloadavg()}")
    Xtr, ytr, Xte, yte, source = get_data(args.synthetic)
    X50, y50 = augment_to_50000(Xtr, ytr)
    print(f"data: {source}; train {Xtr.shape} / augmented {X50.shape}; queries from test {Xte.shape}\n")
    rep = 3 if args.quick else 5
    ceiling = gemm_ceiling(rep)
    print(f"float32 GEMM ceiling (1000x3072 @ 3072x10000): {ceiling:.0f} GFLOP/s\n")

    rows = []
    Q = Xte[:1000]
    l2 = {"ours": ours_fn, "ours brute": ours_brute_fn, "faiss": faiss_fn, "sklearn": sklearn_fn}
    compare("L2 1000x10000, k=1..10", l2, Xtr, ytr, Q, "l2", rep, rows, 2 * 1000 * 10000 * 3072)
    compare("L2 1000x50000, k=1..10", l2, X50, y50, Q, "l2", 3, rows, 2 * 1000 * 50000 * 3072)
    l1 = {"ours": ours_fn, "ours brute": ours_brute_fn, "faiss": faiss_fn}
    if not args.quick:
        l1.update({"scipy cdist": scipy_fn, "sklearn": sklearn_fn})
    compare("L1 500x10000, k=1..10", l1, Xtr, ytr, Xte[:500], "l1", 3, rows)
    print_table(rows, ["task", "impl", "median", "vs ours", "agree w/ ours", "runs", "throughput"])

    print()
    print_table(selection_cost(X50, Q, 3), ["1000 x 50000 block, k=10", "median", "% of GEMM"])

    t_ours, t_faiss = single_query(X50, y50, Q)
    print()
    print_table(cv_rows(Xtr, ytr, rep) + [
        ["single image vs 50000 (predict, k=10)", f"{fmt_s(t_ours)} (faiss search {fmt_s(t_faiss)})",
         "", "< 100 ms"],
    ], ["task", "time", "ratio", "target"])

    sizes = [1000] + ([10000] if args.full else [])
    mem_rows = []
    for n in sizes:
        base, peak, secs = peak_memory(X50, y50, Xte, n)
        mem_rows.append([f"{n} x 50000 L2, k=1..10", f"{base:.0f} MB", f"{peak:.0f} MB",
                         f"{peak - base:.0f} MB", fmt_s(secs)])
    print()
    print_table(mem_rows, ["evaluation", "RSS with data loaded", "peak RSS", "kNN extra", "time"])
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

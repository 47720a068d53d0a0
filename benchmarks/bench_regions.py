"""Time the 2-D playground's region grids (run by hand: ``python benchmarks/bench_regions.py``).

The playground repaints the regions whenever a point is dragged or W changes; a frame must stay
within a few milliseconds. This measures ``core.regions`` for N points on an R x R grid.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.regions import knn_region_grid, linear_region_grid, region_rgba  # noqa: E402


def _time(fn, repeat=30):
    """(median wall ms, best wall ms, median CPU ms) -- CPU time is what a busy shared machine can't inflate."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return 1e3 * float(np.median(wall)), 1e3 * float(np.min(wall)), 1e3 * float(np.median(cpu))


def main(n_points=50, resolution=200, n_classes=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_points, 2))
    y = rng.integers(0, n_classes, n_points)
    W = rng.normal(size=(n_classes, 2))
    b = rng.normal(size=n_classes)
    colors = rng.integers(0, 256, size=(n_classes, 3))
    lim = (-3.0, 3.0)
    print(f"{n_points} points, {resolution}x{resolution} grid, {n_classes} classes "
          "(ms: median wall / best wall / median CPU, of 30)")
    med, best, cpu = _time(lambda: region_rgba(linear_region_grid(W, b, lim, lim, resolution)[0], colors))
    print(f"  linear regions + colouring      {med:6.2f} / {best:6.2f} / {cpu:6.2f}")
    for k in (1, 3, 5, 7, 20):
        for metric in ("l2", "l1"):
            def run():
                lab, tied = knn_region_grid(X, y, k, metric, lim, lim, resolution, n_classes)
                region_rgba(lab, colors, tied=tied)
            med, best, cpu = _time(run)
            print(f"  kNN k={k:<3d} {metric} + colouring      {med:6.2f} / {best:6.2f} / {cpu:6.2f}")


if __name__ == "__main__":
    main()
    main(n_points=500)

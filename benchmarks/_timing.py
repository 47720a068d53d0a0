"""Shared timing helpers for the hand-run benchmarks (not used by tests).

The machine is small and shared, so absolute times are noisy. Compare implementations in
the SAME run: :func:`time_interleaved` runs the candidates round-robin (the starting one
rotates every round), so a burst of background load hits all of them alike, and reports
every repeat; quote medians and ratios of medians.

    times = time_interleaved({"ours": f, "faiss": g}, repeats=5)
    print_table([["ours", fmt_s(median(times["ours"]))]], ["impl", "median"])
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence

__all__ = ["time_interleaved", "print_table", "median", "fmt_s", "ratio"]


def time_interleaved(funcs: dict[str, Callable[[], object]], repeats: int = 5,
                     warmup: bool = True, pause: float = 0.0) -> dict[str, list[float]]:
    """Wall-clock seconds of each function, ``repeats`` times, interleaved round-robin.

    With ``warmup`` every function runs once first, untimed (imports, caches, page faults).
    ``pause`` seconds of sleep before each timed call let the previous library's BLAS /
    OpenMP worker threads stop spin-waiting (they otherwise steal a core from the next
    call; this matters for calls of a few milliseconds).
    """
    names = list(funcs)
    if warmup:
        for name in names:
            funcs[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            funcs[name]()
            out[name].append(time.perf_counter() - t0)
    return out


def median(times: Sequence[float]) -> float:
    return float(statistics.median(times))


def ratio(a: float, b: float) -> str:
    """``a / b`` formatted as ``"1.23x"``."""
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def fmt_s(seconds: float) -> str:
    """Seconds with a sensible unit: ``"12.3 ms"`` or ``"1.23 s"``."""
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def print_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Print (and return) a markdown table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    text = "\n".join(lines)
    print(text, flush=True)
    return text

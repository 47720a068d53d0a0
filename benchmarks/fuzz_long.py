"""The long, by-hand fuzz run of every loader (the CI run in tests/test_reliability_fuzz.py is ~13,500 inputs).

Usage::

    .venv/bin/python benchmarks/fuzz_long.py                 # 200,000 inputs, seed 1
    .venv/bin/python benchmarks/fuzz_long.py -n 50000 --seed 7 --formats npz,idx
    .venv/bin/python benchmarks/fuzz_long.py --minutes 30    # stop after 30 minutes whatever -n says
    .venv/bin/python benchmarks/fuzz_long.py --atheris       # coverage-guided (pip install atheris), per format

Same harness, seeds, guards and counts as the CI test: every input must load or raise the one
documented error naming the file, in under 2 s, without a memory blow-up, without writing outside the
cache and without running code. Crashing inputs are saved (``--out``, default
``$TMPDIR/lcl-fuzz-crashes``; at most 20 per format) with a ``CRASH.txt`` each, ready to be replayed with ``core.datasets.load(<folder or file>)``.
Prints one line per format and a total::

    fuzz: inputs tried N, loaded M, errors raised E, crashes 0, files written outside 0, code executed 0
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import _fuzz_harness as fz  # noqa: E402  (the harness the CI fuzz test uses)
import _fuzz_seeds as seeds  # noqa: E402

# share of the inputs each format gets (the same mix as CI)
WEIGHTS = {k: v / sum(fz.CI_BUDGET.values()) for k, v in fz.CI_BUDGET.items()}


def crash_signatures(stats) -> dict:
    """Distinct crashes: (kind, code location) -> (count, first detail)."""
    out: dict = {}
    for c in stats.crashes:
        where = c["detail"].rsplit("(at ", 1)[-1].rstrip(")") if "(at " in c["detail"] else "-"
        key = (c["kind"], where)
        count, example = out.get(key, (0, c["detail"][:120]))
        out[key] = (count + 1, example)
    return dict(sorted(out.items(), key=lambda kv: -kv[1][0]))


def run_atheris(harness, target, n):
    """Coverage-guided fuzzing of one target with atheris (libFuzzer); the harness decides crashes."""
    import atheris

    stats = fz.Stats(target.name)
    counter = [0]

    def one(data: bytes):
        if counter[0] >= n:
            raise SystemExit(0)
        v = target.variants[counter[0] % len(target.variants)]
        counter[0] += 1
        harness.run(target, v.build(data), v.entry, f"{target.name} / {v.label} / atheris", stats)

    atheris.instrument_all()
    try:
        atheris.Setup([sys.argv[0], f"-runs={n}"], one)
        atheris.Fuzz()
    except SystemExit:
        pass
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--inputs", type=int, default=200_000, help="total inputs (default 200000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", default=",".join(fz.CI_BUDGET), help="comma-separated subset")
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock limit for the whole run")
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "lcl-fuzz-crashes"),
                    help="folder for crashing inputs")
    ap.add_argument("--atheris", action="store_true", help="coverage-guided with atheris instead of the mutator")
    args = ap.parse_args(argv)

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - set(seeds.TARGET_BUILDERS)
    if unknown:
        ap.error(f"unknown format(s) {sorted(unknown)}; choose from {sorted(seeds.TARGET_BUILDERS)}")
    weights = {f: WEIGHTS.get(f, 1 / len(formats)) for f in formats}
    norm = sum(weights.values())
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    scratch = fz.scratch_folder(Path(tempfile.mkdtemp(prefix="lcl-fuzz-")))
    os.environ.setdefault("LCL_CACHE_DIR", str(scratch / "cache"))
    total = fz.Stats("total")
    saved = []
    t0 = time.perf_counter()
    try:
        with fz.Harness(scratch) as harness:
            for fmt in formats:
                try:
                    target = seeds.TARGET_BUILDERS[fmt](harness.marker, seed=args.seed)
                except ImportError as exc:
                    print(f"fuzz {fmt}: skipped ({exc})")
                    continue
                n = max(len(target.variants), int(args.inputs * weights[fmt] / norm))
                if args.atheris:
                    stats = run_atheris(harness, target, n)
                else:
                    stats = fz.run_campaign(harness, target, n, seed=args.seed, deadline=deadline)
                total.add(stats)
                print(stats.line(), flush=True)
                for (kind, where), (count, example) in crash_signatures(stats).items():
                    print(f"    {count:6d} x [{kind}] at {where}: {example}")
                saved += fz.save_crashes(stats, Path(args.out))
            stray = harness.stray_marker_files()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(total.line())
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    if stray:
        print(f"FILES WRITTEN OUTSIDE: {stray}")
    if saved:
        print(f"{len(saved)} crashing inputs saved under {Path(args.out).resolve()}")
    return 1 if total.crashes or total.outside or total.executed or stray else 0


if __name__ == "__main__":
    raise SystemExit(main())

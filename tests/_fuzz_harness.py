"""Harness for fuzzing every loader: the byte mutator, per-input guards (CPU time, memory, files written,
code executed) and statistics. The seed files and targets are in _fuzz_seeds.py.

Used by tests/test_reliability_fuzz.py (the CI campaign), tests/test_reliability_security.py and
benchmarks/fuzz_long.py (the long run by hand). See test_reliability_fuzz.py for what counts as a crash.
"""
from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import struct
import time
import traceback
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from _fuzz_seeds import _CANARY, Target

PER_INPUT_SECONDS = 2.0          # CPU seconds; an input that needs more is a crash ("hang")
ALARM_SECONDS = 2.5              # a CPU-bound hang is interrupted here (CPU time, SIGPROF) ...
WALL_SECONDS = 10.0              # ... and a blocked one here (wall clock, SIGALRM)
RSS_LIMIT = 256 * 1024 ** 2      # resident-memory growth per input (peak RSS, reset before each input)
ALLOC_LIMIT = 1024 ** 3          # tracemalloc peak per input (allocated, even if never touched)
TRACE_EVERY = 16                 # tracemalloc slows Python code ~5x: trace every 16th input only
AS_HEADROOM = 3 * 1024 ** 3      # address-space limit above the current size while fuzzing
SCALE = float(os.environ.get("LCL_FUZZ_SCALE", "1"))

#: own-mutator inputs per target in CI (hypothesis examples come on top)
CI_BUDGET = {"idx": 3000, "cifar-folder": 2000, "cifar-tar": 1500, "npz": 2500,
             "image-folder": 1000, "model": 2500}
HYPOTHESIS_EXAMPLES = 120


# =============================================================================== mutator
_INTERESTING = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 3072, 10000, 60000]


def _offset(rng: random.Random, n: int) -> int:
    """Offsets are biased to the start and the end, where headers and zip directories live."""
    r = rng.random()
    if r < 0.45:
        return rng.randrange(min(n, 96))
    if r < 0.65:
        return max(0, n - 1 - rng.randrange(min(n, 96)))
    return rng.randrange(n)


def mutate(data: bytes, rng: random.Random, pool: list) -> tuple[bytes, str]:
    """Apply 1-4 random byte-level mutations; return the new bytes and a short description."""
    b = bytearray(data)
    ops = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        op = rng.randrange(11)
        n = len(b)
        if op == 0 or n == 0:                         # truncate (cut download / short write)
            cut = rng.randrange(n + 1) if rng.random() < 0.5 else _offset(rng, n + 1)
            del b[cut:]
            ops.append(f"truncate@{cut}")
        elif op == 1:                                 # flip bits
            i = _offset(rng, n)
            b[i] ^= 1 << rng.randrange(8)
            ops.append(f"bitflip@{i}")
        elif op == 2:                                 # interesting byte
            i = _offset(rng, n)
            b[i] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
            ops.append(f"byte@{i}")
        elif op in (3, 4):                            # interesting 16/32/64-bit integer over a field
            i = _offset(rng, n)
            v = rng.choice(_INTERESTING)
            size, fmt = rng.choice(((4, "I"), (4, "I"), (2, "H"), (8, "Q")))
            v &= (1 << (8 * size)) - 1
            b[i:i + size] = struct.pack(rng.choice("<>") + fmt, v)
            ops.append(f"int{8 * size}@{i}={v:#x}")
        elif op == 5:                                 # delete a chunk
            i = _offset(rng, n)
            k = rng.choice((1, 2, 4, 16, 512))
            del b[i:i + k]
            ops.append(f"del@{i}+{k}")
        elif op == 6:                                 # duplicate a chunk
            i = _offset(rng, n)
            k = rng.choice((1, 4, 64, 1024))
            b[i:i] = b[i:i + k]
            ops.append(f"dup@{i}+{k}")
        elif op == 7:                                 # append junk
            k = rng.choice((1, 16, 4096))
            b += bytes(rng.randrange(256) for _ in range(min(k, 64))) * max(1, k // 64)
            ops.append(f"append{k}")
        elif op == 8 and pool:                        # splice with another seed
            other = rng.choice(pool)
            i, j = _offset(rng, n), rng.randrange(len(other) + 1)
            b[i:] = other[j:]
            ops.append(f"splice@{i}")
        elif op == 9:                                 # random bytes over a run
            i = _offset(rng, n)
            k = rng.choice((2, 8, 32))
            b[i:i + k] = bytes(rng.randrange(256) for _ in range(k))
            ops.append(f"rand@{i}+{k}")
        else:                                         # zero a run (sparse / pre-allocated files)
            i = _offset(rng, n)
            k = rng.choice((4, 64, 4096))
            b[i:i + k] = bytes(min(k, n - i))
            ops.append(f"zero@{i}+{k}")
    return bytes(b), "+".join(ops)


# =============================================================================== harness
class _Hang(BaseException):
    """Raised by the alarm inside a loader that does not return."""


def _where(exc: BaseException) -> str:
    """``file:line function`` of the deepest project frame of a traceback (and the very last frame)."""
    tb = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in tb if "/core/" in f.filename or "/gui/" in f.filename]
    out = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in (mine[-1:] + tb[-1:])]
    return " -> ".join(dict.fromkeys(out)) or "?"


_ARMED = {"on": False}


def _start_timers() -> None:
    _ARMED["on"] = True
    signal.setitimer(signal.ITIMER_PROF, ALARM_SECONDS)
    signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS)


def _stop_timers() -> None:
    _ARMED["on"] = False
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)


def _on_alarm(signum, frame):
    """One-shot: the first timer to fire raises; a second one (or a late, pending one) is ignored."""
    if _ARMED["on"]:
        _ARMED["on"] = False
        raise _Hang()


def _call_guarded(loader, path):
    """``("ok", result)`` or ``("exc", exception)``; never lets the alarm escape."""
    try:
        _start_timers()
        try:
            return "ok", loader(path)
        finally:
            _stop_timers()
    except BaseException as exc:  # noqa: BLE001 - classified by the caller
        _stop_timers()
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "exc", exc


def _proc_status(key: str) -> int | None:
    """A ``/proc/self/status`` value in bytes (Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _vm_size() -> int | None:
    return _proc_status("VmSize")


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) so it measures one input (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Stats:
    fmt: str
    tried: int = 0
    loaded: int = 0
    errors: int = 0
    outside: int = 0
    executed: int = 0
    crashes: list = field(default_factory=list)
    max_seconds: float = 0.0   # CPU time of the slowest input
    max_peak: int = 0          # tracemalloc (allocated)
    max_rss: int = 0           # resident growth
    seconds: float = 0.0

    def add(self, other: "Stats") -> None:
        for k in ("tried", "loaded", "errors", "outside", "executed", "seconds"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.crashes += other.crashes
        self.max_seconds = max(self.max_seconds, other.max_seconds)
        self.max_peak = max(self.max_peak, other.max_peak)
        self.max_rss = max(self.max_rss, other.max_rss)

    def line(self) -> str:
        return (f"fuzz{'' if self.fmt == 'total' else ' ' + self.fmt}: inputs tried {self.tried}, loaded "
                f"{self.loaded}, errors raised {self.errors}, crashes {len(self.crashes)}, files written outside "
                f"{self.outside}, code executed {self.executed}  (slowest {self.max_seconds * 1000:.0f} ms CPU, "
                f"peak {self.max_rss / 1024 ** 2:.1f} MiB resident / {self.max_peak / 1024 ** 2:.1f} MiB allocated, "
                f"{self.seconds:.1f} s)")

    def report(self, limit=8) -> str:
        return "\n".join(f"  [{c['kind']}] {c['what']}: {c['detail']}" for c in self.crashes[:limit])


class Harness:
    """Runs inputs one by one in a scratch folder with time, memory, file-system and canary guards."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.inputs = self.root / "in"
        self.cache = self.root / "cache"
        self.marker = self.root / "pwned"
        self.inputs.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(exist_ok=True)
        self.counter = 0
        self._saved = None

    # -- guards for a whole campaign ----------------------------------------------------
    def __enter__(self):
        self._saved = {"env": os.environ.get("LCL_CACHE_DIR"), "alarm": signal.getsignal(signal.SIGALRM),
                       "prof": signal.getsignal(signal.SIGPROF), "as": resource.getrlimit(resource.RLIMIT_AS)}
        os.environ["LCL_CACHE_DIR"] = str(self.cache)
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.signal(signal.SIGPROF, _on_alarm)
        vm = _vm_size()
        soft, hard = self._saved["as"]
        if vm is not None:
            limit = vm + AS_HEADROOM
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        return self

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_AS, self._saved["as"])
        _stop_timers()
        signal.signal(signal.SIGALRM, self._saved["alarm"])
        signal.signal(signal.SIGPROF, self._saved["prof"])
        if self._saved["env"] is None:
            os.environ.pop("LCL_CACHE_DIR", None)
        else:
            os.environ["LCL_CACHE_DIR"] = self._saved["env"]
        return False

    def stray_marker_files(self) -> list:
        """Marker files a payload or a tar member might have created outside the scratch folder."""
        places = [Path.cwd(), Path.cwd().parent, Path("/tmp"), self.root.parent, Path.home()]
        return [str(p / n) for p in places for n in ("evil", "pwned", "deep")
                if (p / n).exists() or (p / n).is_symlink()]

    # -- one input ------------------------------------------------------------------------
    def run(self, target: Target, files: dict, entry: str, what: str, stats: Stats,
            loader: Callable | None = None) -> str:
        """Load one input; record the outcome in ``stats``; return "loaded", "error" or "crash"."""
        self.counter += 1
        d = self.inputs / f"{target.name}-{self.counter:07d}"
        for rel, data in files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        d.mkdir(parents=True, exist_ok=True)
        path = d / entry if entry else d
        names = {path.name, d.name} | {Path(k).name for k in files} | {Path(k).parent.name for k in files}
        names.discard("")
        loader = loader or target.loaders[self.counter % len(target.loaders)]
        canary_before = _CANARY["calls"]
        stats.tried += 1
        outcome, kind, detail = "crash", None, ""
        tracing = self.counter % TRACE_EVERY == 0 and not tracemalloc.is_tracing()
        if tracing:
            tracemalloc.start(1)
        base = tracemalloc.get_traced_memory()[0] if tracing else 0
        rss0 = _proc_status("VmRSS") if _reset_peak_rss() else None
        t0, c0 = time.perf_counter(), time.process_time()
        status, value = _call_guarded(loader, path)
        if isinstance(value, _Hang) or time.process_time() - c0 > PER_INPUT_SECONDS:
            # a slow input is tried once more, so that a hiccup of a shared machine is not a finding
            del value
            t0, c0 = time.perf_counter(), time.process_time()
            status, value = _call_guarded(loader, path)
        if status == "ok":
            try:
                if target.check is not None:
                    target.check(value, files)
                outcome = "loaded"
            except AssertionError as exc:
                kind, detail = "invalid result", str(exc)[:200]
        elif isinstance(value, target.errors):
            msg = str(value)
            if any(n in msg for n in names):
                outcome = "error"
            else:
                kind, detail = "message does not name the file", f"{type(value).__name__}: {msg[:200]}"
        elif isinstance(value, _Hang):
            kind, detail = "hang", (f"interrupted after {time.process_time() - c0:.1f} s CPU / "
                                    f"{time.perf_counter() - t0:.1f} s wall (at {_where(value)})")
        else:
            kind, detail = f"{type(value).__name__}", f"{str(value)[:160]} (at {_where(value)})"
        del value
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        peak = tracemalloc.get_traced_memory()[1] - base if tracing else 0
        if tracing:
            tracemalloc.stop()
        rss = (_proc_status("VmHWM") or 0) - rss0 if rss0 is not None else 0
        stats.seconds += elapsed
        stats.max_seconds = max(stats.max_seconds, cpu)
        stats.max_peak = max(stats.max_peak, peak)
        stats.max_rss = max(stats.max_rss, rss)
        if outcome != "crash" and cpu > PER_INPUT_SECONDS:
            outcome, kind, detail = "crash", "slow", f"{cpu:.2f} s CPU ({elapsed:.2f} s wall)"
        if outcome != "crash" and (rss > RSS_LIMIT or peak > ALLOC_LIMIT):
            outcome, kind, detail = "crash", "memory", (f"peak {rss / 1024 ** 2:.0f} MiB resident, "
                                                        f"{peak / 1024 ** 2:.0f} MiB allocated")
        # file-system and canary guards
        outside = [n for n in os.listdir(self.root) if n not in ("in", "cache", "seed-model.npz")]
        written = [str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()
                   and str(p.relative_to(d)) not in files]
        if outside or written:
            stats.outside += len(outside) + len(written)
            for n in outside:
                q = self.root / n
                shutil.rmtree(q) if q.is_dir() else q.unlink()
        executed = _CANARY["calls"] - canary_before + sum(
            1 for s in ("-mkdir", "-system") if Path(str(self.marker) + s).exists())
        if executed:
            stats.executed += executed
        if outcome == "loaded":
            stats.loaded += 1
        elif outcome == "error":
            stats.errors += 1
        else:
            stats.crashes.append({"kind": kind, "what": what, "detail": detail, "files": files, "entry": entry})
        if outside or written or executed:
            stats.crashes.append({"kind": "escape", "what": what, "files": files, "entry": entry,
                                  "detail": f"outside={outside} written={written} executed={executed}"})
        shutil.rmtree(d, ignore_errors=True)
        if os.listdir(self.cache):
            shutil.rmtree(self.cache)
            self.cache.mkdir()
        return outcome


def scratch_folder(fallback: Path) -> Path:
    """A scratch folder in RAM (``/dev/shm``) when there is one: creating and deleting thousands of
    small folders on a disk costs ~8 ms each, in tmpfs ~0.1 ms."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        import tempfile
        return Path(tempfile.mkdtemp(prefix="lcl-fuzz-", dir=shm))
    return Path(fallback)


def run_campaign(harness: Harness, target: Target, n_inputs: int, seed: int = 0,
                 deadline: float | None = None) -> Stats:
    """Feed ``n_inputs`` mutated inputs of ``target`` through ``harness`` (stops early at ``deadline``)."""
    rng = random.Random(f"{target.name}-{seed}")
    stats = Stats(target.name)
    pool = [v.base for v in target.variants]
    for i in range(n_inputs):
        if deadline is not None and time.monotonic() > deadline:
            break
        v = target.variants[i % len(target.variants)]
        if i < len(target.variants):      # the seeds themselves first
            data, ops = v.base, "seed"
        else:
            data, ops = mutate(v.base, rng, pool)
        harness.run(target, v.build(data), v.entry, f"{target.name} / {v.label} / {ops}", stats)
    return stats


def save_crashes(stats: Stats, folder: Path, limit: int = 20) -> list:
    """Write the first crashing inputs to ``folder`` so they can be replayed by hand."""
    out = []
    for i, c in enumerate(stats.crashes[:limit]):
        d = folder / f"{stats.fmt}-crash-{i:03d}"
        for rel, data in c["files"].items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(data)
        (d / "CRASH.txt").write_text(f"{c['kind']}\n{c['what']}\n{c['detail']}\nentry: {c['entry']!r}\n")
        out.append(d)
    return out


# =============================================================================== tests
_TOTALS: dict = {}


def _record(stats: Stats) -> None:
    if stats.fmt in _TOTALS:
        _TOTALS[stats.fmt].add(stats)
    else:
        _TOTALS[stats.fmt] = stats


def total_stats() -> Stats:
    total = Stats("total")
    for s in _TOTALS.values():
        total.add(s)
    return total




"""Fuzzing every loader: mutated and truncated IDX, CIFAR, npz, image-folder and saved-model files.

Each input is a small valid seed file (built here, in a temporary folder) changed by a seeded
byte mutator (bit flips, "interesting" integers written over header fields, truncation, deleted or
duplicated chunks, splices) or built by a structure-aware Hypothesis strategy. Every input is loaded
in-process and must end in one of the allowed outcomes:

* a valid :class:`core.datasets.Dataset` (or a loaded model), or
* the one documented error (``DatasetError`` / ``ModelFileError``) whose message names the file.

Anything else counts as a crash: another exception type; more than 2 s of CPU time for one input
(CPU, not wall-clock, time: CI machines are shared; a blocked input is stopped after 10 s of wall
time); a memory peak over :data:`RSS_LIMIT` resident or :data:`ALLOC_LIMIT` allocated (tracemalloc,
sampled; plus an address-space limit so a runaway allocation becomes a ``MemoryError`` instead of
swapping the machine); a file written outside the cache folder; or code executed from a pickle (seeds
include pickles whose ``__reduce__`` calls a canary function, ``os.mkdir`` or ``os.system``).

CI budget: about 13,500 inputs in total, ~1 minute on 2 cores (scale with ``LCL_FUZZ_SCALE``, e.g. 0.1
for a smoke run): 12,500 from the seeded byte mutator (:data:`CI_BUDGET`), ~1,000 structure-aware
Hypothesis examples (derandomized, so CI is repeatable), the seeds themselves and one minimal input per
bug found so far (:data:`REGRESSIONS`). The long run is ``benchmarks/fuzz_long.py`` (200,000 inputs).
The counts are printed whether or not ``-s`` is given::

    fuzz: inputs tried N, loaded M, errors raised E, crashes 0, files written outside 0, code executed 0
"""
from __future__ import annotations

import gzip
import io
import json
import os
import random
import resource
import shutil
import signal
import struct
import tarfile
import time
import traceback
import tracemalloc
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

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


# =============================================================================== seeds
def py2_pickle(obj) -> bytes:
    """A pickle shaped like the official CIFAR batches (Python 2 cPickle, protocol 2, str = bytes)."""
    out = bytearray(b"\x80\x02")

    def w(o):
        if o is None:
            out.extend(b"N")
        elif isinstance(o, bool):
            out.extend(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            if 0 <= o < 256:
                out.extend(b"K" + bytes([o]))
            elif 0 <= o < 65536:
                out.extend(b"M" + struct.pack("<H", o))
            elif -2 ** 31 <= o < 2 ** 31:
                out.extend(b"J" + struct.pack("<i", o))
            else:
                out.extend(b"L%dL\n" % o)
        elif isinstance(o, float):
            out.extend(b"G" + struct.pack(">d", o))
        elif isinstance(o, (str, bytes)):
            s = o.encode("utf-8") if isinstance(o, str) else o
            out.extend((b"U" + bytes([len(s)]) if len(s) < 256 else b"T" + struct.pack("<I", len(s))) + s)
        elif isinstance(o, tuple):
            out.extend(b"(")
            for x in o:
                w(x)
            out.extend(b"t")
        elif isinstance(o, list):
            out.extend(b"]")
            if o:
                out.extend(b"(")
                for x in o:
                    w(x)
                out.extend(b"e")
        elif isinstance(o, dict):
            out.extend(b"}")
            if o:
                out.extend(b"(")
                for k, v in o.items():
                    w(k)
                    w(v)
                out.extend(b"u")
        elif isinstance(o, np.ndarray):
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
            w((0,))
            w(b"b")
            out.extend(b"\x87R")
            out.extend(b"(")
            w(1)
            w(tuple(int(s) for s in o.shape))
            out.extend(b"cnumpy\ndtype\n")
            w((o.dtype.str[1:].encode(), 0, 1))
            out.extend(b"R")
            w((3, o.dtype.str[:1].encode(), None, None, None, -1, -1, 0))
            out.extend(b"b\x89")
            w(np.ascontiguousarray(o).tobytes())
            out.extend(b"tb")
        elif isinstance(o, Gadget):
            out.extend(o.opcodes)
        else:
            raise TypeError(type(o))

    w(obj)
    out.extend(b".")
    return bytes(out)


@dataclass
class Gadget:
    """Pickle opcodes that *call* something when unpickled (must never run)."""
    opcodes: bytes


_CANARY = {"calls": 0}


def canary(*args):
    """Called only if a loader lets a pickle call a global: counted as "code executed"."""
    _CANARY["calls"] += 1
    return 0


def gadgets(marker: Path) -> list[Gadget]:
    """``__reduce__``-style payloads: the canary, ``os.mkdir(marker)`` and ``os.system('touch ...')``."""
    m = str(marker).encode()
    return [
        Gadget(b"c" + __name__.encode() + b"\ncanary\n(U\x02hitR"),
        Gadget(b"cos\nmkdir\n(U" + bytes([len(m + b"-mkdir")]) + m + b"-mkdir" + b"tR"),
        Gadget(b"cposix\nsystem\n(U" + bytes([len(b"touch " + m + b"-system")]) + b"touch " + m + b"-system" + b"tR"),
        Gadget(b"cbuiltins\neval\n(U\x1b__import__('os').getpid()tR"),
    ]


class EvilReduce:
    """An object whose pickle calls :func:`canary` (or ``os.system``) when it is unpickled."""

    def __init__(self, command: str | None = None):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,)) if self.command else (canary, ("reduce",))


def _rng_images(rng, n, shape):
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
            np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}[arr.dtype]
    return (bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
            + arr.tobytes())


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], compress=False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = method            # a ZipInfo does not inherit the archive's method
            zf.writestr(info, data)
    return buf.getvalue()


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=True)
    return buf.getvalue()


def cifar10_members(rng, n=2) -> dict[str, bytes]:
    out = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        out[name] = py2_pickle({b"batch_label": name.encode(),
                                b"labels": [int(v) for v in rng.integers(0, 10, n)],
                                b"data": _rng_images(rng, n, (3072,)),
                                b"filenames": [b"img_%d.png" % j for j in range(n)]})
    out["batches.meta"] = py2_pickle({b"num_cases_per_batch": n, b"num_vis": 3072,
                                      b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                                                       b"dog", b"frog", b"horse", b"ship", b"truck"]})
    return out


def cifar100_members(rng, n=3) -> dict[str, bytes]:
    out = {}
    for name in ("train", "test"):
        out[name] = py2_pickle({b"filenames": [b"f%d.png" % j for j in range(n)], b"batch_label": name.encode(),
                                b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
                                b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)],
                                b"data": _rng_images(rng, n, (3072,))})
    out["meta"] = py2_pickle({b"fine_label_names": [b"fine%d" % i for i in range(100)],
                              b"coarse_label_names": [b"coarse%d" % i for i in range(20)]})
    return out


def image_bytes(arr: np.ndarray, fmt: str, mode: str | None = None, **kw) -> bytes:
    from PIL import Image
    im = Image.fromarray(arr)
    if mode:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


# =============================================================================== targets
@dataclass
class Variant:
    """One file of a seed input that the mutator changes.

    ``build(mutated)`` returns the whole input as ``{relative path: bytes}``; ``entry`` is the
    path handed to the loader ("" = the input folder itself)."""

    label: str
    base: bytes
    build: Callable[[bytes], dict]
    entry: str = ""
    must_load: bool = True   # the unmutated seed must load


@dataclass
class Target:
    name: str
    variants: list
    loaders: list            # callables(path) -> result; alternated per input
    errors: tuple
    check: Callable = None   # check(result, files) -> None (raise AssertionError if invalid)


def _replace(files: dict, key: str, wrap=lambda b: b):
    return lambda mutated: {**files, key: wrap(mutated)}


def _check_dataset(result, files):
    from core.datasets import Dataset
    assert isinstance(result, Dataset), f"loader returned {type(result).__name__}, not a Dataset"
    assert result.X_train.dtype == np.uint8 and result.X_train.ndim == 4
    assert result.y_train.dtype == np.int64 and result.y_train.shape == (result.n_train,)
    assert result.n_train > 0 and result.n_test > 0
    assert len(result.class_names) >= 1


def _check_image_folder(result, files):
    _check_dataset(result, files)
    from core.datasets.folders import IMAGE_EXTENSIONS
    n_files = sum(1 for k in files if k.lower().endswith(IMAGE_EXTENSIONS))
    if result.n_train + result.n_test != n_files:
        assert any("skipped" in n for n in result.notes), \
            f"{n_files - result.n_train - result.n_test} images dropped without a note: {result.notes}"


def idx_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    tr_x, te_x = _rng_images(rng, 6, (4, 4)), _rng_images(rng, 3, (4, 4))
    tr_y, te_y = np.array([0, 1, 2, 0, 1, 2], np.uint8), np.array([2, 0, 1], np.uint8)
    raw = {"train-images-idx3-ubyte": idx_bytes(tr_x), "train-labels-idx1-ubyte": idx_bytes(tr_y),
           "t10k-images-idx3-ubyte": idx_bytes(te_x), "t10k-labels-idx1-ubyte": idx_bytes(te_y)}
    gzd = {k + ".gz": gz(v) for k, v in raw.items()}
    lbl32 = idx_bytes(te_y.astype(">i4"))
    variants = [
        Variant("raw images", raw["train-images-idx3-ubyte"], _replace(raw, "train-images-idx3-ubyte")),
        Variant("raw labels", raw["t10k-labels-idx1-ubyte"], _replace(raw, "t10k-labels-idx1-ubyte")),
        Variant("gz images (compressed bytes)", gzd["train-images-idx3-ubyte.gz"],
                _replace(gzd, "train-images-idx3-ubyte.gz")),
        Variant("gz images (inner bytes)", raw["t10k-images-idx3-ubyte"],
                _replace(gzd, "t10k-images-idx3-ubyte.gz", gz)),
        Variant("gz labels (inner bytes)", raw["train-labels-idx1-ubyte"],
                _replace(gzd, "train-labels-idx1-ubyte.gz", gz)),
        Variant("int32 labels", lbl32, _replace(raw, "t10k-labels-idx1-ubyte")),
        Variant("single file", raw["train-images-idx3-ubyte"],
                lambda b: {"data.idx": b}, entry="data.idx"),
        Variant("single gz file (compressed bytes)", gzd["train-images-idx3-ubyte.gz"],
                lambda b: {"images.gz": b}, entry="images.gz"),
    ]

    def load_single_or_folder(path):
        return cd.read_idx(path) if path.is_file() else cd.load(path)

    def specific(path):
        return cd.read_idx(path) if path.is_file() else cd.load_idx_folder(path)

    def check(result, files):
        if isinstance(result, np.ndarray):
            assert result.ndim >= 1 and result.dtype.isnative
        else:
            _check_dataset(result, files)

    return Target("idx", variants, [load_single_or_folder, specific], (cd.DatasetError,), check)


def cifar_folder_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    c10 = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(rng).items()}
    c100 = {f"cifar-100-python/{k}": v for k, v in cifar100_members(rng).items()}
    hostile = [py2_pickle({b"batch_label": b"x", b"labels": g, b"data": _rng_images(rng, 2, (3072,))})
               for g in gadgets(marker)]
    p = "cifar-10-batches-py/"
    variants = [Variant(f"cifar10 {k}", c10[p + k], _replace(c10, p + k))
                for k in ("data_batch_1", "data_batch_4", "test_batch", "batches.meta")]
    variants += [Variant(f"cifar100 {k}", c100["cifar-100-python/" + k], _replace(c100, "cifar-100-python/" + k))
                 for k in ("train", "test", "meta")]
    variants += [Variant(f"hostile pickle {i}", h, _replace(c10, p + "data_batch_2"), must_load=False)
                 for i, h in enumerate(hostile)]
    return Target("cifar-folder", variants, [cd.load, cd.load_cifar], (cd.DatasetError,), _check_dataset)


def cifar_tar_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    c10 = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(rng).items()}
    c100 = {f"cifar-100-python/{k}": v for k, v in cifar100_members(rng).items()}
    t10, t100 = tar_bytes(c10), tar_bytes(c100)
    n10, n100 = "cifar-10-python.tar.gz", "cifar-100-python.tar.gz"
    hostile = py2_pickle({b"labels": gadgets(marker)[0], b"data": _rng_images(rng, 2, (3072,))})
    variants = [
        Variant("cifar10 tar.gz (compressed bytes)", gz(t10), lambda b: {n10: b}, n10),
        Variant("cifar10 tar (inner bytes)", t10, lambda b: {n10: gz(b)}, n10),
        Variant("cifar10 member test_batch", c10["cifar-10-batches-py/test_batch"],
                lambda b: {n10: gz(tar_bytes({**c10, "cifar-10-batches-py/test_batch": b}))}, n10),
        Variant("cifar100 tar.gz (compressed bytes)", gz(t100), lambda b: {n100: b}, n100),
        Variant("cifar100 member meta", c100["cifar-100-python/meta"],
                lambda b: {n100: gz(tar_bytes({**c100, "cifar-100-python/meta": b}))}, n100),
        Variant("hostile member", hostile,
                lambda b: {n10: gz(tar_bytes({**c10, "cifar-10-batches-py/data_batch_5": b}))}, n10,
                must_load=False),
    ]
    return Target("cifar-tar", variants, [cd.load, cd.load_cifar], (cd.DatasetError,), _check_dataset)


def npz_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    arrays = {"X_train": _rng_images(rng, 6, (4, 4, 3)), "y_train": np.array([0, 1, 2, 0, 1, 2]),
              "X_test": _rng_images(rng, 3, (4, 4, 3)), "y_test": np.array([0, 1, 2]),
              "class_names": np.array(["cat", "dog", "ship"]), "name": np.array("tiny")}
    members = {k + ".npy": npy_bytes(v) for k, v in arrays.items()}
    flat = {"X.npy": npy_bytes(_rng_images(rng, 10, (48,)).astype(np.float32) / 255),
            "y.npy": npy_bytes(np.array([0, 1] * 5, dtype=np.int32))}
    obj = npy_bytes(np.array([EvilReduce(), 1], dtype=object))
    name = "data.npz"
    variants = [
        Variant("zip bytes", zip_bytes(members), lambda b: {name: b}, name),
        Variant("deflated zip bytes", zip_bytes(members, True), lambda b: {name: b}, name),
        Variant("X_train.npy", members["X_train.npy"],
                lambda b: {name: zip_bytes({**members, "X_train.npy": b})}, name),
        Variant("y_test.npy", members["y_test.npy"],
                lambda b: {name: zip_bytes({**members, "y_test.npy": b})}, name),
        Variant("class_names.npy", members["class_names.npy"],
                lambda b: {name: zip_bytes({**members, "class_names.npy": b})}, name),
        Variant("flat float X.npy", flat["X.npy"], lambda b: {name: zip_bytes({**flat, "X.npy": b})}, name),
        Variant("object array", obj, lambda b: {name: zip_bytes({**members, "X_train.npy": b})}, name,
                must_load=False),
    ]
    return Target("npz", variants, [cd.load, cd.load_npz], (cd.DatasetError,), _check_dataset)


def image_folder_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    files = {}
    for c in ("cat", "dog"):
        files[f"pets/{c}/0.png"] = image_bytes(_rng_images(rng, 1, (4, 4, 3))[0], "PNG")
        files[f"pets/{c}/1.png"] = image_bytes(_rng_images(rng, 1, (4, 4, 3))[0], "PNG")
        files[f"pets/{c}/2.jpg"] = image_bytes(_rng_images(rng, 1, (8, 8, 3))[0], "JPEG", quality=50)
    files["pets/cat/3.gif"] = image_bytes(_rng_images(rng, 1, (4, 4))[0], "GIF")
    files["pets/dog/3.bmp"] = image_bytes(_rng_images(rng, 1, (4, 4))[0], "BMP")
    files["pets/dog/readme.txt"] = b"not an image"
    variants = [Variant(f"image {k}", files[k], _replace(files, k), entry="pets")
                for k in ("pets/cat/0.png", "pets/dog/2.jpg", "pets/cat/3.gif", "pets/dog/3.bmp")]
    variants.append(Variant("text named .png", b"hello", _replace(files, "pets/dog/1.png"), entry="pets"))
    return Target("image-folder", variants, [cd.load, cd.load_image_folder], (cd.DatasetError,),
                  _check_image_folder)


def model_target(marker: Path, seed=0) -> Target:
    import core.persistence as cp
    from core.linear import LinearClassifier
    from core.preprocess import Preprocessor
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 12)).astype(np.float32)
    y = np.arange(12) % 3
    model = LinearClassifier(loss="softmax", batch_size=4, random_state=0).fit(X, y, epochs=1)
    pre = Preprocessor().fit(_rng_images(rng, 12, (2, 2, 3)))
    buf = io.BytesIO()
    tmp = marker.parent / "seed-model.npz"
    cp.save_model(tmp, model, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3),
                  dataset_name="tiny", history=model.history_)
    whole = tmp.read_bytes()
    tmp.unlink()
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    del buf
    name = "model.npz"
    variants = [Variant("zip bytes", whole, lambda b: {name: b}, name)]
    for k in sorted(members):
        variants.append(Variant(f"member {k}", members[k],
                                (lambda key: lambda b: {name: zip_bytes({**members, key: b})})(k), name))
    obj = npy_bytes(np.array([EvilReduce(), 1], dtype=object))
    wkey = next((k for k in members if k.startswith("W")), sorted(members)[0])
    variants.append(Variant("object array", obj, lambda b: {name: zip_bytes({**members, wkey: b})}, name,
                            must_load=False))

    def check(result, files):
        assert hasattr(result, "model") and hasattr(result.model, "W_"), f"not a LoadedModel: {result!r}"
        W, b = result.model.W_, result.model.b_
        assert W.ndim == 2 and W.shape[0] == len(result.model.classes_) == b.shape[0]
        assert np.isfinite(W).all() and np.isfinite(b).all(), "loaded a model with inf/NaN weights"
        pre = result.preprocessor
        if pre is not None and getattr(pre, "mean_", None) is not None:
            assert np.isfinite(pre.mean_).all(), "loaded a preprocessor with an inf/NaN mean"

    return Target("model", variants, [cp.load_model], (cp.ModelFileError,), check)


TARGET_BUILDERS = {"idx": idx_target, "cifar-folder": cifar_folder_target, "cifar-tar": cifar_tar_target,
                   "npz": npz_target, "image-folder": image_folder_target, "model": model_target}


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


@pytest.fixture(scope="module")
def _harness(tmp_path_factory, pytestconfig):
    root = scratch_folder(tmp_path_factory.mktemp("fuzz"))
    with Harness(root) as h:
        yield h
        stray = h.stray_marker_files()
    shutil.rmtree(root, ignore_errors=True)
    lines = [s.line() for s in _TOTALS.values()] + [total_stats().line()]
    if stray:
        lines.append(f"fuzz: FILES WRITTEN OUTSIDE: {stray}")
    capman = pytestconfig.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))
    else:
        print("\n".join(lines))


@pytest.fixture
def fz(_harness, monkeypatch):
    monkeypatch.setenv("LCL_CACHE_DIR", str(_harness.cache))
    return _harness


@pytest.mark.parametrize("fmt", list(TARGET_BUILDERS))
def test_seed_files_load_and_hostile_seeds_are_refused(fmt, fz):
    """The unmutated seeds load with every loader (so fuzzing starts from deep, valid inputs)."""
    target = TARGET_BUILDERS[fmt](fz.marker)
    stats = Stats(fmt)
    for v in target.variants:
        for loader in target.loaders:
            outcome = fz.run(target, v.build(v.base), v.entry, f"{fmt} / {v.label} / seed", stats, loader)
            assert outcome == ("loaded" if v.must_load else "error"), \
                f"{fmt} seed {v.label!r} via {loader.__name__}: {outcome}\n{stats.report()}"
    _record(stats)
    assert stats.executed == 0 and stats.outside == 0


#: formats whose CI campaign still finds a bug (precise inputs: REGRESSIONS / OPEN_BUGS below)
CAMPAIGN_BUGS: dict = {}


def _campaign_params():
    for f in CI_BUDGET:
        bug = CAMPAIGN_BUGS.get(f)
        yield pytest.param(f, marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {bug}")] if bug else [])


@pytest.mark.parametrize("fmt", list(_campaign_params()))
def test_fuzz_mutated_and_truncated_files(fmt, fz):
    target = TARGET_BUILDERS[fmt](fz.marker)
    n = max(len(target.variants), int(CI_BUDGET[fmt] * SCALE))
    stats = run_campaign(fz, target, n, seed=0)
    _record(stats)
    assert not stats.crashes, f"{fmt}: {len(stats.crashes)} crashes in {stats.tried} inputs\n{stats.report()}"
    assert stats.outside == 0 and stats.executed == 0
    assert stats.loaded > 0, "no mutated input loaded: the mutations are too destructive to reach deep code"
    if fmt != "image-folder":   # a broken image is skipped with a note, not an error
        assert stats.errors > 0, "no mutated input was refused: the mutator does nothing"


# ------------------------------------------------------------------ structure-aware inputs (Hypothesis)
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_HSET = settings(max_examples=max(5, int(HYPOTHESIS_EXAMPLES * SCALE)), derandomize=True, deadline=None,
                 database=None, suppress_health_check=list(HealthCheck), print_blob=True)


def _hyp_run(fz, target, files, entry, what):
    stats = Stats(target.name)
    outcome = fz.run(target, files, entry, what, stats)
    _record(stats)
    assert outcome != "crash" and not stats.crashes, stats.report()
    return outcome


_IDX_CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]
_IDX_SIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


@st.composite
def idx_headers(draw):
    """An IDX file with any type code, any number of dimensions, sizes from 0 to 2**32-1, and a
    payload that is exactly as long as promised, shorter, longer, or arbitrary."""
    code = draw(st.sampled_from(_IDX_CODES) | st.integers(0, 255))
    ndim = draw(st.integers(0, 9) | st.just(1) | st.just(3))
    dim = st.integers(0, 6) | st.sampled_from([2 ** 31, 2 ** 32 - 1, 2 ** 16, 60000, 10000, 0x7FFFFFFF])
    dims = draw(st.lists(dim, min_size=min(ndim, 9), max_size=min(ndim, 9)))
    size = _IDX_SIZE.get(code, 1) * int(np.prod(dims, dtype=object) if dims else 0)
    how = draw(st.sampled_from(["exact", "exact", "short", "long", "random"]))
    if how == "exact" and size <= 4096:
        payload = draw(st.binary(min_size=size, max_size=size))
    elif how == "short" and 0 < size <= 4096:
        payload = draw(st.binary(max_size=size - 1))
    elif how == "long" and size <= 4096:
        payload = draw(st.binary(min_size=size + 1, max_size=size + 16))
    else:
        payload = draw(st.binary(max_size=64))
    magic = draw(st.sampled_from([b"\x00\x00", b"\x00\x00", b"\x00\x01", b"\xff\xff"]))
    return magic + bytes([code, ndim]) + b"".join(struct.pack(">I", d) for d in dims) + payload


@pytest.mark.parametrize("role", ["images", "labels"])
@_HSET
@given(data=idx_headers(), compress=st.booleans())
def test_fuzz_idx_headers(fz, role, data, compress):
    rng = np.random.default_rng(1)
    files = {"train-images-idx3-ubyte": idx_bytes(_rng_images(rng, 4, (3, 3))),
             "train-labels-idx1-ubyte": idx_bytes(np.array([0, 1, 0, 1], np.uint8))}
    files[f"train-{role}-idx{3 if role == 'images' else 1}-ubyte"] = data
    if compress:
        files = {k + ".gz": gz(v) for k, v in files.items()}
    target = TARGET_BUILDERS["idx"](fz.marker)
    _hyp_run(fz, target, files, "", f"idx header ({role}, gz={compress}): {data[:24].hex()}")


_small_dims = st.lists(st.integers(0, 4), min_size=0, max_size=3)
_np_dtypes = st.sampled_from(["u1", "i1", "<i8", ">i4", "<f4", "<f8", "?", "<u2"])


@st.composite
def small_arrays(draw, shape=None, dtype=None):
    dt = np.dtype(dtype or draw(_np_dtypes))
    shp = tuple(shape) if shape is not None else tuple(draw(_small_dims))
    n = int(np.prod(shp)) if shp else 1
    raw = draw(st.binary(min_size=n * dt.itemsize, max_size=n * dt.itemsize))
    return np.frombuffer(raw, dtype=dt).reshape(shp).copy()


def _plain_values():
    return st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(),
                     st.binary(max_size=6), st.text(st.characters(max_codepoint=255), max_size=4),
                     st.lists(st.integers(-2 ** 40, 2 ** 40), max_size=5), small_arrays())


@st.composite
def cifar_batches(draw):
    n = draw(st.integers(0, 3))
    data = draw(st.one_of(small_arrays(shape=(n, 3072), dtype="u1"), small_arrays(shape=(n, 3072)),
                          small_arrays(shape=(n, 3, 32, 32), dtype="u1"), _plain_values()))
    labels = draw(st.one_of(st.lists(st.integers(-1, 11), min_size=n, max_size=n),
                            st.lists(st.integers(-2 ** 63, 2 ** 64), min_size=n, max_size=n),
                            small_arrays(shape=(n,)), _plain_values()))
    batch = {}
    for key, value in ((b"data", data), (b"labels", labels), (b"batch_label", b"x")):
        if draw(st.integers(0, 9)) > 0:
            batch[key.decode() if draw(st.integers(0, 9)) == 0 else key] = value
    return batch if draw(st.integers(0, 19)) else draw(_plain_values())


@_HSET
@given(batch=cifar_batches(), member=st.sampled_from(["data_batch_1", "test_batch"]))
def test_fuzz_cifar_batch_structure(fz, batch, member):
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(2)).items()}
    files[f"cifar-10-batches-py/{member}"] = py2_pickle(batch)
    target = TARGET_BUILDERS["cifar-folder"](fz.marker)
    _hyp_run(fz, target, files, "", f"cifar {member} = {batch!r:.200}")


@_HSET
@given(names=st.one_of(st.lists(st.binary(max_size=4) | st.text(max_size=3) | st.integers(), min_size=8,
                                max_size=11), _plain_values()))
def test_fuzz_cifar_meta_structure(fz, names):
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(3)).items()}
    files["cifar-10-batches-py/batches.meta"] = py2_pickle({b"label_names": names})
    target = TARGET_BUILDERS["cifar-folder"](fz.marker)
    _hyp_run(fz, target, files, "", f"cifar batches.meta label_names = {names!r:.200}")


_MEMBER_KINDS = ["file", "file", "symlink", "hardlink", "dir", "fifo", "chr", "blk"]
_MEMBER_NAMES = ["cifar-10-batches-py/data_batch_1", "cifar-10-batches-py/test_batch", "/etc/evil",
                 "../evil", "cifar-10-batches-py/../../evil", "cifar-10-batches-py/data_batch_2",
                 "data_batch_3", "./cifar-10-batches-py/batches.meta", "a/" * 40 + "deep"]


@st.composite
def tar_members(draw):
    return draw(st.lists(st.tuples(st.sampled_from(_MEMBER_NAMES), st.sampled_from(_MEMBER_KINDS),
                                   st.sampled_from(["/etc/passwd", "../../x", "data_batch_1", "/dev/zero"])),
                         max_size=5))


@_HSET
@given(extra=tar_members(), at_end=st.booleans())
def test_fuzz_tar_member_kinds(fz, extra, at_end):
    """Links, devices, fifos, absolute and ``..`` names mixed into a valid CIFAR-10 archive."""
    members = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(4)).items()}
    buf = io.BytesIO()
    kinds = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "dir": tarfile.DIRTYPE,
             "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        def add_extra():
            for name, kind, link in extra:
                info = tarfile.TarInfo(name)
                if kind == "file":
                    data = members["cifar-10-batches-py/test_batch"][::-1]
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    info.type, info.linkname = kinds[kind], link
                    tar.addfile(info)
        if not at_end:
            add_extra()
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if at_end:
            add_extra()
    target = TARGET_BUILDERS["cifar-tar"](fz.marker)
    outcome = _hyp_run(fz, target, {"cifar-10-python.tar.gz": buf.getvalue()}, "cifar-10-python.tar.gz",
                       f"tar with extra members {extra}")
    assert outcome in ("loaded", "error")


@st.composite
def npz_contents(draw):
    n = draw(st.integers(0, 4))
    X = draw(st.one_of(small_arrays(shape=(n, 2, 2, 3), dtype="u1"), small_arrays(shape=(n, 4)),
                       small_arrays(shape=(n, 2, 2)), small_arrays(), st.just(np.array(["a", "b"]))))
    y = draw(st.one_of(st.lists(st.integers(0, 3), min_size=n, max_size=n).map(np.array),
                       st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), min_size=n, max_size=n).map(
                           lambda v: np.array(v, dtype=np.int64)),
                       st.lists(st.sampled_from(["cat", "dog"]), min_size=n, max_size=n).map(np.array),
                       small_arrays()))
    out = {draw(st.sampled_from(["X", "X_train"])): X, draw(st.sampled_from(["y", "y_train"])): y}
    if draw(st.booleans()):
        m = draw(st.integers(0, 3))
        out["X_test"] = draw(small_arrays(shape=(m, 2, 2, 3), dtype="u1") | small_arrays())
        out["y_test"] = draw(st.lists(st.integers(0, 5), min_size=m, max_size=m).map(np.array) | small_arrays())
    if draw(st.booleans()):
        out["class_names"] = draw(st.lists(st.text(max_size=3), max_size=5).map(np.array) | small_arrays())
    if draw(st.booleans()):
        out["name"] = draw(st.text(max_size=5).map(np.array) | small_arrays())
    return out


@_HSET
@given(arrays=npz_contents(), compress=st.booleans())
def test_fuzz_npz_structure(fz, arrays, compress):
    data = zip_bytes({k + ".npy": npy_bytes(v) for k, v in arrays.items()}, compress)
    target = TARGET_BUILDERS["npz"](fz.marker)
    _hyp_run(fz, target, {"data.npz": data}, "data.npz",
             "npz " + ", ".join(f"{k}={v.dtype}{v.shape}" for k, v in arrays.items()))


_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I", "F", "I;16", "CMYK"]
_FMTS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif", "WEBP": ".webp"}


@st.composite
def image_files(draw):
    """A valid image in any mode/size/format, the same truncated, random bytes, or an empty file."""
    fmt = draw(st.sampled_from(list(_FMTS)))
    kind = draw(st.sampled_from(["valid", "valid", "valid", "truncated", "random", "empty", "text"]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    mode = draw(st.sampled_from(_MODES))
    arr = np.random.default_rng(draw(st.integers(0, 9))).integers(0, 256, (h, w, 3), dtype=np.uint8)
    try:
        data = image_bytes(arr, fmt, mode)
    except (OSError, ValueError, KeyError):          # mode not writable in this format
        data = image_bytes(arr, fmt)
    if kind == "truncated":
        data = data[:draw(st.integers(0, max(0, len(data) - 1)))]
    elif kind == "random":
        data = draw(st.binary(max_size=64))
    elif kind == "empty":
        data = b""
    elif kind == "text":
        data = b"<html>not an image</html>"
    return _FMTS[fmt], data


@_HSET
@given(classes=st.lists(st.lists(image_files(), min_size=1, max_size=3), min_size=1, max_size=3),
       split=st.booleans())
def test_fuzz_image_folder_contents(fz, classes, split):
    files = {}
    for c, imgs in enumerate(classes):
        for i, (ext, data) in enumerate(imgs):
            sub = f"{'train/' if split and i % 2 == 0 else 'test/' if split else ''}class{c}"
            files[f"photos/{sub}/{i}{ext}"] = data
    target = TARGET_BUILDERS["image-folder"](fz.marker)
    _hyp_run(fz, target, files, "photos", "image folder " + ", ".join(f"{k}({len(v)} B)" for k, v in files.items()))


_LEN4 = st.sampled_from([0, 1, 3, 255, 2 ** 16, 2 ** 31 - 1, 2 ** 32 - 1, 3 * 10 ** 7])
_LEN8 = st.sampled_from([0, 1, 3, 2 ** 31, 2 ** 40, 2 ** 63 - 1, 2 ** 63 + 5, 2 ** 64 - 1])
def _u32(n):
    return struct.pack("<I", n)


def _u64(n):
    return struct.pack("<Q", n)


_BYTE = st.integers(0, 255).map(lambda n: bytes([n]))
_OPS = {   # opcode -> strategy for its argument bytes
    b"r": _LEN4.map(_u32), b"j": _LEN4.map(_u32), b"q": _BYTE, b"h": _BYTE, b"K": _BYTE, b"\x82": _BYTE,
    b"J": _LEN4.map(_u32), b"\x84": _LEN4.map(_u32),
    b"B": _LEN4.map(lambda n: _u32(n) + b"ab"), b"T": _LEN4.map(lambda n: _u32(n) + b"ab"),
    b"X": _LEN4.map(lambda n: _u32(n) + b"ab"),
    b"\x8e": _LEN8.map(lambda n: _u64(n) + b"ab"), b"\x8d": _LEN8.map(lambda n: _u64(n) + b"ab"),
    b"\x96": _LEN8.map(lambda n: _u64(n) + b"ab"), b"\x95": _LEN8.map(_u64),
    b"L": st.sampled_from([b"1L\n", b"9" * 5000 + b"L\n", b"-L\n"]),
    b"I": st.sampled_from([b"01\n", b"1e9\n", b"x\n"]),
    b"\x8a": st.sampled_from([b"\x01\x01", b"\xff" + b"\x01" * 255]),
    b"\x8b": _LEN4.map(lambda n: struct.pack("<i", n % 2 ** 31)),
    b"c": st.sampled_from([b"numpy\nndarray\n", b"numpy\ndtype\n", b"numpy.core.multiarray\n_reconstruct\n",
                           b"os\nsystem\n", b"builtins\ngetattr\n", b"numpy\n__dict__\n"]),
    b"U": st.sampled_from([b"\x01b", b"\x04data", b"\x06labels", b"\xffab"]),
}
for _op in (b"(", b")", b"t", b"]", b"e", b"}", b"u", b"s", b"a", b"0", b"2", b"1", b"R", b"b", b"N",
            b"\x85", b"\x86", b"\x87", b"\x88", b"\x89", b"\x93", b"\x81", b"o", b"\x94"):
    _OPS[_op] = st.just(b"")


@st.composite
def pickle_streams(draw):
    """Short pickles made of raw opcodes with extreme arguments (memo indexes, counted lengths, globals)."""
    out = [draw(st.sampled_from([b"\x80\x02", b"\x80\x04", b"\x80\x05", b""]))]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(sorted(_OPS)))
        out.append(op + draw(_OPS[op]))
    return b"".join(out) + b"."


@_HSET
@given(data=pickle_streams(), member=st.sampled_from(["data_batch_1", "batches.meta"]))
def test_fuzz_pickle_opcodes(fz, data, member):
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(5)).items()}
    files[f"cifar-10-batches-py/{member}"] = data
    target = TARGET_BUILDERS["cifar-folder"](fz.marker)
    _hyp_run(fz, target, files, "", f"cifar {member} = {data[:80]!r}")


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False),
                       st.text(max_size=4))
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@st.composite
def model_edits(draw, members):
    """A saved model with its JSON metadata edited (values replaced by any JSON, keys dropped) and/or
    arrays swapped for arrays of other shapes, dtypes or values (NaN/inf, huge, empty)."""
    meta = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]), allow_pickle=False)))
    out = dict(members)
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(meta) + ["params", "params"]))
        if key == "params" and isinstance(meta.get("params"), dict) and draw(st.booleans()):
            sub = draw(st.sampled_from(sorted(meta["params"]) or ["loss"]))
            meta["params"][sub] = draw(_json)
        elif draw(st.integers(0, 4)) == 0:
            meta.pop(key, None)
        else:
            meta[key] = draw(_json)
    out["metadata.npy"] = npy_bytes(np.array(json.dumps(meta), dtype=np.str_))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(sorted(k for k in members if k != "metadata.npy")))
        arr = np.load(io.BytesIO(members[name]), allow_pickle=False)
        choice = draw(st.sampled_from(["values", "shape", "dtype", "empty"]))
        if choice == "values" and arr.size:
            arr = arr.astype(np.float64)
            arr.flat[draw(st.integers(0, arr.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -1e300, 2.0 ** 63]))
        elif choice == "shape":
            arr = draw(small_arrays(dtype=arr.dtype.str))
        elif choice == "dtype":
            with np.errstate(invalid="ignore", over="ignore"):
                arr = arr.astype(draw(st.sampled_from(["u1", "<i8", "<f2", "?", "<c8", "U2"])))
        else:
            arr = arr[:0]
        out[name] = npy_bytes(arr)
    return out


@_HSET
@given(data=st.data())
def test_fuzz_model_metadata_and_arrays(fz, data):
    target = TARGET_BUILDERS["model"](fz.marker)
    whole = target.variants[0].base
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    edited = data.draw(model_edits(members))
    _hyp_run(fz, target, {"model.npz": zip_bytes(edited)}, "model.npz", "model with edited metadata/arrays")


# ------------------------------------------------------------------ regressions: each bug the fuzzer found
def _npz(arrays: dict) -> bytes:
    return zip_bytes({k + ".npy": npy_bytes(v) for k, v in arrays.items()})


def _broken_header(npy: bytes) -> bytes:
    """The same .npy with the closing brace of its header dict blanked (NumPy's parser: TokenError)."""
    return npy.replace(b"}", b" ", 1)


def _model_members(marker: Path) -> dict:
    whole = model_target(marker).variants[0].base
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _edit_meta(members: dict, **changes) -> dict:
    meta = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]), allow_pickle=False)))
    meta.update(changes)
    return {**members, "metadata.npy": npy_bytes(np.array(json.dumps(meta), dtype=np.str_))}


def _edit_array(members: dict, name: str, fn) -> dict:
    arr = np.load(io.BytesIO(members[name]), allow_pickle=False)
    return {**members, name: npy_bytes(fn(arr))}


def _bad_deflate(members: dict, name: str) -> bytes:
    """A deflated zip whose member ``name`` starts with an invalid deflate block (zlib.error on read)."""
    data = bytearray(zip_bytes(members, compress=True))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        offset = zf.getinfo(name).header_offset
    name_len, extra_len = struct.unpack("<HH", data[offset + 26:offset + 30])
    start = offset + 30 + name_len + extra_len
    data[start] = 0xFF                                       # BFINAL=1, BTYPE=11: "invalid block type"
    return bytes(data)


def _needs_zip_version(data: bytes, version: int = 182) -> bytes:
    """The same zip with every central-directory entry asking for "version needed to extract" 18.2
    (zipfile raises NotImplementedError for anything above 6.3)."""
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")
    while i >= 0:
        out[i + 6:i + 8] = struct.pack("<H", version)
        i = out.find(b"PK\x01\x02", i + 4)
    return bytes(out)


def _bad_utf8_name(data: bytes) -> bytes:
    """The same zip whose first central-directory name is flagged UTF-8 but starts with byte 0xF7."""
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")
    flags = struct.unpack("<H", out[i + 8:i + 10])[0] | 0x800
    out[i + 8:i + 10] = struct.pack("<H", flags)
    out[i + 46] = 0xF7
    return bytes(out)


def _set(arr, index, value):
    arr = arr.astype(np.float64)
    arr[index] = value
    return arr


_ALL = slice(None)
_U8 = np.uint8
#: (id, target, files(marker) -> {relative path: bytes}, entry): every one must load or raise the documented error
REGRESSIONS = [
    ("idx-int32-labels-huge-max", "idx", lambda m: {
        "t10k-images-idx3-ubyte": idx_bytes(np.zeros((4, 3, 3), _U8)),
        "t10k-labels-idx1-ubyte": idx_bytes(np.array([0, 1, 2 ** 31 - 1, 0], ">i4"))}, ""),
    ("npz-label-2**62", "npz", lambda m: {"d.npz": _npz({
        "X_train": np.zeros((4, 2, 2), _U8), "y_train": np.array([0, 1, 2 ** 62, 0]),
        "X_test": np.zeros((2, 2, 2), _U8), "y_test": np.array([0, 1])})}, "d.npz"),
    ("npz-damaged-npy-header", "npz", lambda m: {"d.npz": zip_bytes({
        "X.npy": _broken_header(npy_bytes(np.zeros((4, 2, 2), _U8))), "y.npy": npy_bytes(np.arange(4) % 2)})},
     "d.npz"),
    ("npz-zip-version-18.2", "npz", lambda m: {"d.npz": _needs_zip_version(_npz({
        "X": np.zeros((4, 2, 2), _U8), "y": np.arange(4) % 2}))}, "d.npz"),
    ("npz-zip-name-not-utf8", "npz", lambda m: {"d.npz": _bad_utf8_name(_npz({
        "X": np.zeros((4, 2, 2), _U8), "y": np.arange(4) % 2}))}, "d.npz"),
    ("model-zip-version-18.2", "model", lambda m: {"model.npz": _needs_zip_version(
        zip_bytes(_model_members(m)))}, "model.npz"),
    ("npz-one-example-no-test", "npz", lambda m: {"d.npz": _npz({
        "X": np.zeros((1, 2, 2, 3), _U8), "y": np.array([0])})}, "d.npz"),
    ("cifar-pickle-memo-bomb", "cifar-folder", lambda m: {
        **{f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(0)).items()},
        "cifar-10-batches-py/data_batch_1": b"\x80\x02K\x01r" + struct.pack("<I", 100_000_000) + b"."}, ""),
    ("cifar-pickle-length-over-maxsize", "cifar-folder", lambda m: {
        **{f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(0)).items()},
        "cifar-10-batches-py/test_batch": b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 63 + 5) + b"ab."}, ""),
    ("cifar-tar-3-bytes", "cifar-tar", lambda m: {"cifar-10-python.tar.gz": b"\x1f\x8b\x08"},
     "cifar-10-python.tar.gz"),
    ("model-damaged-npy-header", "model", lambda m: {"model.npz": zip_bytes(
        {**_model_members(m), "W.npy": _broken_header(_model_members(m)["W.npy"])})}, "model.npz"),
    ("model-damaged-deflate", "model", lambda m: {"model.npz": _bad_deflate(_model_members(m), "W.npy")},
     "model.npz"),
    ("model-member-not-an-array", "model", lambda m: {"model.npz": zip_bytes(
        {**_model_members(m), "W.npy": b"not an array"})}, "model.npz"),
    ("model-params-not-a-dict", "model", lambda m: {"model.npz": zip_bytes(
        _edit_meta(_model_members(m), params=True))}, "model.npz"),
    ("model-n_iter-not-a-number", "model", lambda m: {"model.npz": zip_bytes(
        _edit_meta(_model_members(m), n_iter={"a": 1}))}, "model.npz"),
    ("model-image_shape-with-a-blank", "model", lambda m: {"model.npz": zip_bytes(
        _edit_meta(_model_members(m), image_shape=["", 2, 3]))}, "model.npz"),
    ("model-history-nan-iteration", "model", lambda m: {"model.npz": zip_bytes(
        _edit_array(_model_members(m), "history.npy", lambda h: _set(h, (0, 0), np.nan)))}, "model.npz"),
    ("model-W-beyond-float32", "model", lambda m: {"model.npz": zip_bytes(
        _edit_array(_model_members(m), "W.npy", lambda W: _set(W, (0, 0), 1e300)))}, "model.npz"),
    ("model-mean-nan", "model", lambda m: {"model.npz": zip_bytes(
        _edit_array(_model_members(m), "mean.npy", lambda a: _set(a, 0, np.nan)))}, "model.npz"),
]
#: bugs still open when this file was written: id -> where and what (remove an entry when it is fixed;
#: the strict xfail turns a fixed bug into a failure so the list cannot go stale)
OPEN_BUGS: dict = {
}


def _regression_params():
    for rid, target, build, entry in REGRESSIONS:
        marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {OPEN_BUGS[rid]}")] if rid in OPEN_BUGS else []
        yield pytest.param(target, build, entry, id=rid, marks=marks)


@pytest.mark.parametrize("fmt,build,entry", list(_regression_params()))
def test_regression_inputs_found_by_fuzzing(fz, fmt, build, entry):
    target = TARGET_BUILDERS[fmt](fz.marker)
    stats = Stats(fmt)
    for loader in target.loaders:
        fz.run(target, build(fz.marker), entry, f"regression via {loader.__name__}", stats, loader)
    _record(stats)
    assert not stats.crashes, stats.report()

"""Defaults and slider tables; the per-data-set defaults reach the promised accuracy on real data."""
import functools
import gzip
import math
import time

import numpy as np
import pytest
from conftest import shared_path

from core.config import (DEFAULTS, MODEL_KEYS, Defaults, log_slider_values, model_kwargs, nice_log_values,
                         slider_index, training_defaults)
from core.linear import LinearClassifier
from core.preprocess import Preprocessor
from core.training import Trainer


def test_defaults_are_frozen_and_sane():
    assert isinstance(DEFAULTS, Defaults)
    with pytest.raises(AttributeError):
        DEFAULTS.folds = 3
    assert DEFAULTS.reg_range == (1e-6, 1e3)
    assert DEFAULTS.k_range == (1, 100) and DEFAULTS.folds == 5
    assert DEFAULTS.default_ks == (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)
    lrs = DEFAULTS.learning_rate_values()
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(10.0)
    assert np.all(np.diff(lrs) > 0)
    regs = DEFAULTS.reg_values()
    assert regs[0] == 0.0 and regs[1] == pytest.approx(1e-6) and regs[-1] == pytest.approx(1e3)


def test_slider_tables():
    v = log_slider_values(1e-4, 1.0, 5)
    np.testing.assert_allclose(v, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    with pytest.raises(ValueError, match="0 < lo < hi"):
        log_slider_values(0, 1, 5)
    with pytest.raises(ValueError, match="steps must be >= 2"):
        log_slider_values(1e-3, 1, 1)
    np.testing.assert_allclose(nice_log_values(1e-3, 1e-1), [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1])
    table = DEFAULTS.reg_values()
    assert slider_index(table, 0.0) == 0
    assert table[slider_index(table, 0.005)] == pytest.approx(0.005)
    assert table[slider_index(table, 0.0047)] == pytest.approx(0.005)


@pytest.mark.parametrize("name", ["cifar10", "CIFAR-10", "mnist", "Fashion-MNIST", "digits", "cifar100", "toy2d",
                                  "something else"])
@pytest.mark.parametrize("loss", ["softmax", "hinge"])
def test_training_defaults_are_valid_and_on_the_slider_tables(name, loss):
    d = training_defaults(name, loss)
    assert set(MODEL_KEYS) <= set(d) and {"epochs", "scale", "subtract_mean"} <= set(d)
    assert d["loss"] == loss
    LinearClassifier(**model_kwargs(d)).validated_params()
    lr_table, reg_table = DEFAULTS.learning_rate_values(), DEFAULTS.reg_values()
    assert lr_table[slider_index(lr_table, d["learning_rate"])] == pytest.approx(d["learning_rate"])
    assert reg_table[slider_index(reg_table, d["reg"])] == pytest.approx(d["reg"])
    assert d["batch_size"] in DEFAULTS.batch_sizes


def test_defaults_depend_on_data_set_and_loss():
    assert training_defaults("CIFAR-10") == training_defaults("cifar10")
    assert training_defaults("unknown") == training_defaults("cifar10")
    assert training_defaults("cifar10", "hinge")["learning_rate"] < training_defaults("cifar10")["learning_rate"]
    assert training_defaults("mnist")["learning_rate"] != training_defaults("cifar10")["learning_rate"]
    assert training_defaults("toy2d")["scale"] is False
    assert training_defaults("cifar10", "ova_hinge")["learning_rate"] == training_defaults("cifar10", "hinge")[
        "learning_rate"]
    with pytest.raises(ValueError, match="loss must be one of"):
        training_defaults("mnist", "svm")


# --------------------------------------------------------------------------- real data
@functools.cache
def _cifar_jpegs():
    """The CIFAR-10 JPEG image folders (10000 train / 10000 test), loaded once per test session."""
    from PIL import Image
    root = shared_path("cifar10", "yoongikim_jpg")
    out = []
    for split in ("train", "test"):
        names = sorted(p.name for p in (root / split).iterdir() if p.is_dir())
        X, y = [], []
        for c, name in enumerate(names):
            for f in sorted((root / split / name).glob("*.jpg")):
                with Image.open(f) as im:
                    X.append(np.asarray(im.convert("RGB")))
                y.append(c)
        out += [np.stack(X), np.array(y, dtype=np.int64)]
    return tuple(out)


def _train_compare(Xtr, ytr, Xte, yte, dataset):
    d_soft, d_hinge = training_defaults(dataset, "softmax"), training_defaults(dataset, "hinge")
    pre = Preprocessor(scale=d_soft["scale"], subtract_mean=d_soft["subtract_mean"]).fit(Xtr)
    A, B = pre.transform(Xtr), pre.transform(Xte)
    models = {"softmax": LinearClassifier(**model_kwargs(d_soft)),
              "hinge": LinearClassifier(**model_kwargs(d_hinge))}
    t = Trainer(models, A, ytr, random_state=0)
    t0 = time.perf_counter()
    while t.epoch < d_soft["epochs"]:
        t.run_epoch()
    elapsed = time.perf_counter() - t0
    assert t.stopped == {"softmax": None, "hinge": None}
    return {k: m.score(B, yte) for k, m in models.items()}, elapsed


@pytest.mark.slow
def test_cifar10_defaults_reach_the_promised_accuracy():
    Xtr, ytr, Xte, yte = _cifar_jpegs()
    assert Xtr.shape == (10000, 32, 32, 3) and Xte.shape == (10000, 32, 32, 3)
    acc, elapsed = _train_compare(Xtr, ytr, Xte, yte, "cifar10")
    print(f"CIFAR-10 defaults: softmax {acc['softmax']:.3f}, hinge {acc['hinge']:.3f}, training {elapsed:.1f}s")
    assert acc["softmax"] >= 0.37
    assert acc["hinge"] >= 0.35
    assert elapsed < 60


def _mnist():
    folder = shared_path("mnist")
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    perm = np.random.default_rng(1).permutation(len(y))
    return X[perm[:8000]], y[perm[:8000]], X[perm[8000:]], y[perm[8000:]]


@pytest.mark.slow
def test_mnist_defaults_reach_90_percent():
    acc, elapsed = _train_compare(*_mnist(), "mnist")
    print(f"MNIST defaults: softmax {acc['softmax']:.3f}, hinge {acc['hinge']:.3f}, training {elapsed:.1f}s")
    assert acc["softmax"] >= 0.90
    assert acc["hinge"] >= 0.90


def test_digits_defaults():
    from sklearn.datasets import load_digits
    d = load_digits()
    X = np.rint(d.images * 255 / 16).astype(np.uint8)[..., None]
    perm = np.random.default_rng(0).permutation(len(d.target))
    tr, te = perm[:1437], perm[1437:]
    acc, _ = _train_compare(X[tr], d.target[tr], X[te], d.target[te], "digits")
    assert acc["softmax"] >= 0.93 and acc["hinge"] >= 0.93
    assert math.isfinite(acc["softmax"])


def test_display_names_map_to_their_tuned_defaults():
    from core.config import training_defaults

    assert training_defaults("Digits 8×8") == training_defaults("digits")
    assert training_defaults("CIFAR-100 (coarse labels)") == training_defaults("cifar100")
    assert training_defaults("MNIST t10k") == training_defaults("mnist")
    assert training_defaults("digits")["batch_size"] != training_defaults("cifar10")["batch_size"]

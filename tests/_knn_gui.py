"""Helpers for the Nearest Neighbour workspace tests (not a test module)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from core.datasets import Dataset

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """A label's rich text without tags or non-breaking spaces."""
    return _TAG.sub("", text).replace("&nbsp;", " ")


def make_workspace(qtbot, dataset=None, size=(1400, 900)):
    from gui.knn_workspace import KnnWorkspace
    from gui.workers import JobRunner

    runner = JobRunner()
    ws = KnnWorkspace(runner)
    qtbot.addWidget(ws)
    ws.resize(*size)
    ws.show()
    errors: list = []
    runner.user_error.connect(lambda kind, msg: errors.append((kind, msg)))
    runner.unexpected_error.connect(lambda exc, tb: errors.append(("unexpected", tb)))
    ws.errors = errors
    if dataset is not None:
        ws.set_dataset(dataset)
        qtbot.waitUntil(lambda: ws.session is not None, timeout=60000)
    return ws


def wait_idle(qtbot, ws, kind: str | None = None, timeout: int = 60000) -> None:
    qtbot.waitUntil(lambda: not ws.runner.is_running(kind), timeout=timeout)
    qtbot.wait(10)


def click_tile(qtbot, grid, index: int) -> None:
    """Left-click tile ``index`` of an ImageGrid."""
    qtbot.mouseClick(grid, QtCore.Qt.MouseButton.LeftButton, pos=grid.tile_rect(index).center())


def synthetic(n_train: int, n_test: int, shape=(32, 32, 3), n_classes: int = 10, seed: int = 0) -> Dataset:
    """CIFAR-like random data: each class a different mean colour plus noise (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    means = rng.integers(40, 216, size=(n_classes,) + shape[2:])

    def part(n):
        y = np.arange(n) % n_classes
        X = np.clip(means[y][:, None, None, :] + rng.normal(0, 60, size=(n,) + shape), 0, 255).astype(np.uint8)
        return X, y.astype(np.int64)

    Xtr, ytr = part(n_train)
    Xte, yte = part(n_test)
    return Dataset("CIFAR-like", Xtr, ytr, Xte, yte, [f"c{i}" for i in range(n_classes)], source="synthetic")


def cifar_subset_folder(tmp: Path, jpg_root: Path, n_train: int, n_test: int) -> Path:
    """An image-folder data set of symlinks to the first ``n_*`` real CIFAR-10 JPEGs of each class."""
    for split, n in (("train", n_train), ("test", n_test)):
        for cls_dir in sorted((jpg_root / split).iterdir()):
            dst = tmp / split / cls_dir.name
            dst.mkdir(parents=True)
            for f in sorted(cls_dir.glob("*.jpg"))[:n]:
                (dst / f.name).symlink_to(f)
    return tmp


def counts_from_label(text: str) -> tuple[int, int]:
    """``"(353 / 360)"`` in an accuracy label -> (353, 360)."""
    m = re.search(r"\(([\d,]+) / ([\d,]+)[ )]", plain(text))
    assert m, text
    return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))

"""Work in progress, in the real window: closing, switching and hammering while jobs run; bugs in
workers reaching the one handler; atomic saves; failed downloads; hostile files opened from the UI.

Environment: ``LCL_HAMMER_SECONDS`` (default 5 in CI; 30 for the full by-hand run) sets how long the
λ / learning-rate sliders are hammered at ~1000 changes per second while training.
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
import os
import random
import struct
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from _gui_data import tiny_dataset, write_npz
from gui import errors
from gui.main_window import MainWindow

pytestmark = pytest.mark.gui

HAMMER_SECONDS = float(os.environ.get("LCL_HAMMER_SECONDS", "5"))
LEFT = QtCore.Qt.MouseButton.LeftButton


# ------------------------------------------------------------------------------ helpers
def _rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _settle(qtbot=None) -> None:
    """Process events (incl. deleteLater), collect garbage, give freed heap back to the OS."""
    for _ in range(3):
        QtWidgets.QApplication.processEvents()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


@pytest.fixture
def handler(monkeypatch, tmp_path):
    """The one handler, installed as main.py does, with its dialog intercepted and its log isolated."""
    monkeypatch.setenv("LCL_LOG_DIR", str(tmp_path / "logs"))
    shown = []
    monkeypatch.setattr(errors, "dialog_function", lambda title, text, details: shown.append((title, text, details)))
    monkeypatch.setattr(errors, "history", [])
    yield shown
    errors.uninstall()


@pytest.fixture
def window(qtbot, handler):
    made = []

    def make(**kw):
        kw.setdefault("load_on_start", False)
        w = MainWindow(**kw)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        errors.install(w.runner)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
        assert not w.runner.is_running()


def _wait_loaded(qtbot, w, name=None, timeout=20000):
    qtbot.waitUntil(lambda: w.controller.used is not None and not w.runner.is_running("load")
                    and (name is None or w.controller.full.name == name), timeout=timeout)


def _no_unexpected_errors(shown):
    assert not errors.history, [r.summary for r in errors.history]
    assert not shown


def _alive(job) -> bool:
    """Is the job's thread still running? (A finished thread may already be deleted by Qt.)"""
    try:
        return job._thread.isRunning()
    except RuntimeError:
        return False


def _track_jobs(w) -> list:
    jobs: list = []
    w.runner.job_started.connect(jobs.append)
    return jobs


def _slow_loads(monkeypatch, delay=0.05):
    """Make ``core.datasets.load`` slow (a pause in every progress report) but keep its real cancel."""
    import core.datasets as cd
    real = cd.load

    def slow(source, *, progress=None, cancel=None, cache_dir=None):
        def prog(done, total, msg):
            time.sleep(delay)
            if progress is not None:
                progress(done, total, msg)
        return real(source, progress=prog, cancel=cancel, cache_dir=cache_dir)

    monkeypatch.setattr(cd, "load", slow)


def _big_idx_folder(root: Path, n=100_000) -> Path:
    """An MNIST-style t10k pair of ~78 MB, sparse on disk (zeros): reading it takes ~80 progress steps."""
    root.mkdir(parents=True)
    head = bytes([0, 0, 8, 3]) + struct.pack(">III", n, 28, 28)
    with open(root / "t10k-images-idx3-ubyte", "wb") as f:
        f.write(head)
        f.truncate(len(head) + n * 784)
    (root / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", n)
                                                  + bytes(range(10)) * (n // 10))
    return root


def _linear(w, qtbot):
    w.select_tab("linear")
    lin = w.current_workspace()
    assert type(lin).__name__ == "LinearWorkspace", "the Linear Classifier tab is still a placeholder"
    qtbot.waitUntil(lambda: lin.controller.trainer is not None, timeout=10000)
    return lin


def _no_epoch_limit(lin):
    lin.controls.epochs_spin.setValue(0)          # play until paused (the defaults stop after N epochs)


def _play(lin, qtbot):
    qtbot.mouseClick(lin.controls.play_button, LEFT)
    ctl = lin.controller
    try:
        qtbot.waitUntil(lambda: ctl.running and any(len(h) > 0 for h in ctl.histories.values()), timeout=20000)
    except Exception:
        raise AssertionError(f"training did not start: state={ctl.state} running={ctl.running} "
                             f"histories={[len(h) for h in ctl.histories.values()]} message={lin.message.text()!r} "
                             f"errors={[r.summary for r in errors.history]}") from None


# ------------------------------------------------------------------------------ closing mid-work
def test_closing_while_load_evaluate_and_train_run_stops_every_worker_within_2_s(
        qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    ds = tiny_dataset(n_classes=10, per_class=400, test_per_class=100, shape=(32, 32, 3), name="Eval set")
    w.open_source(write_npz(tmp_path / "eval.npz", ds))
    _wait_loaded(qtbot, w, "Eval set")
    jobs = _track_jobs(w)

    lin = _linear(w, qtbot)
    _no_epoch_limit(lin)
    _play(lin, qtbot)

    w.select_tab("knn")
    knn = w.current_workspace()
    qtbot.waitUntil(lambda: knn.session is not None, timeout=20000)
    knn.evaluate.chunk_rows = 1
    qtbot.mouseClick(knn.evaluate.run_button, LEFT)
    qtbot.waitUntil(lambda: knn.evaluate._done > 0, timeout=10000)

    _slow_loads(monkeypatch)
    w.open_source(str(_big_idx_folder(tmp_path / "big")))
    qtbot.waitUntil(lambda: w.runner.is_running("load"), timeout=5000)
    qtbot.wait(300)
    kinds = {j.kind for j in w.runner.running_jobs()}
    assert {"train", "knn-evaluate", "load"} <= kinds, kinds

    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, f"closing took {elapsed:.2f} s"
    still = [j.kind for j in jobs if _alive(j)]
    assert not still, f"threads still running after close: {still}"
    assert not w.runner.running_jobs()
    # nothing half-done is presented as a final result
    assert knn.evaluate.result is None
    assert w.controller.full.name == "Eval set", "the cancelled load replaced the data set"
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ switching
def _many_sets(tmp_path, n=20):
    out = []
    for i in range(n):
        ds = tiny_dataset(n_classes=2 + i % 4, per_class=10 + i, test_per_class=3,
                          shape=(6 + i % 3, 5, 1 + 2 * (i % 2)), name=f"Set {i}", seed=i)
        out.append(write_npz(tmp_path / f"set{i}.npz", ds))
    return out


def test_twenty_switches_in_a_row_end_on_the_last_set_and_memory_comes_back(qtbot, window, handler, tmp_path):
    paths = _many_sets(tmp_path)
    w = window()
    for p in paths[:2]:                                   # warm-up: imports, caches, first widgets
        w.open_source(p)
        _wait_loaded(qtbot, w, Path(p).stem.replace("set", "Set "))
    w.select_tab("data")
    _settle()
    rss0 = _rss()
    tracemalloc.start()
    try:
        for round_ in range(2):
            for p in paths:                               # 20 in a row, no waiting: each cancels the last
                w.open_source(p)
            _wait_loaded(qtbot, w, "Set 19")
            qtbot.wait(100)
            _settle()
            if round_ == 0:
                traced0 = tracemalloc.get_traced_memory()[0]
        traced1 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert w.dataset_bar.name_label.text() == "Set 19"
    assert w.workspace("Data").dataset is w.controller.used
    assert len(w.workspace("Data").rows.grids) == 2 + 19 % 4
    assert not w.message_bar.text(), w.message_bar.text()
    assert traced1 <= traced0 * 1.10 + 2 * 1024 ** 2, f"Python heap grew {traced0 / 1e6:.1f} -> {traced1 / 1e6:.1f} MB"
    rss1 = _rss()
    assert rss1 <= rss0 * 1.10 + 40 * 1024 ** 2, f"RSS {rss0 / 1e6:.0f} -> {rss1 / 1e6:.0f} MB"
    _no_unexpected_errors(handler)


def test_switching_data_sets_while_training_drops_stale_work(qtbot, window, handler, tmp_path):
    paths = _many_sets(tmp_path, 6)
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    jobs = _track_jobs(w)
    for i, p in enumerate(paths):
        _no_epoch_limit(lin)
        _play(lin, qtbot)
        w.open_source(p)                                  # switch while the training job runs
        _wait_loaded(qtbot, w, f"Set {i}")
        qtbot.waitUntil(lambda: lin.dataset is w.controller.used and lin.controller.trainer is not None, timeout=10000)
        ctl = lin.controller
        assert not ctl.running
        assert all(len(h) == 0 for h in ctl.histories.values()), "old curves shown for the new data set"
        n_classes = w.controller.used.n_classes
        assert all(m.W_.shape[0] == n_classes for m in ctl.trainer.models.values())
    qtbot.waitUntil(lambda: not any(_alive(j) for j in jobs), timeout=3000)
    _no_unexpected_errors(handler)


def test_switching_data_sets_stops_the_jobs_of_hidden_tabs_within_2_s(qtbot, window, handler, tmp_path):
    """Training (Linear tab) and a test-set evaluation (Nearest Neighbour tab) run; the user goes to the
    Data tab and opens another data set: both workers work on a data set that is gone and must stop,
    the hidden tabs keep nothing of the old set, and show the new one when the user goes back."""
    w = window()
    ds = tiny_dataset(n_classes=10, per_class=400, test_per_class=100, shape=(32, 32, 3), name="Eval set")
    w.open_source(write_npz(tmp_path / "eval.npz", ds))
    _wait_loaded(qtbot, w, "Eval set")
    lin = _linear(w, qtbot)
    _no_epoch_limit(lin)
    _play(lin, qtbot)
    w.select_tab("knn")
    knn = w.current_workspace()
    qtbot.waitUntil(lambda: knn.session is not None, timeout=20000)
    knn.evaluate.chunk_rows = 1
    qtbot.mouseClick(knn.evaluate.run_button, LEFT)
    qtbot.waitUntil(lambda: knn.evaluate._done > 0, timeout=10000)
    w.select_tab("data")
    w.open_source(write_npz(tmp_path / "small.npz", tiny_dataset(name="Small set")))
    _wait_loaded(qtbot, w, "Small set")
    t0 = time.perf_counter()
    try:
        qtbot.waitUntil(lambda: not w.runner.is_running("train") and not w.runner.is_running("knn-evaluate"),
                        timeout=2000)
    except Exception:
        running = sorted(j.kind for j in w.runner.running_jobs())
        pytest.fail(f"{running} still running {time.perf_counter() - t0:.1f} s after the data set changed")
    finally:
        lin.pause()
        w.runner.cancel(wait=True)
    # the hidden tabs hold nothing of the old set (and the switch did not preprocess the new one for them)
    assert knn.session is None and knn.evaluate.result is None
    assert knn.evaluate.accuracy_label.text() == "Not evaluated yet"
    assert "Eval set" not in knn.data_label.text()
    assert lin.dataset is None and lin.controller.trainer is None and lin.controller.features is None
    assert lin.counters.text() == "No data set."
    # shown again: the new data set, no old results
    w.select_tab("knn")
    qtbot.waitUntil(lambda: knn.session is not None, timeout=10000)
    assert knn.dataset is w.controller.used and knn.session.dataset is w.controller.used
    assert knn.data_label.text().startswith("Small set")
    assert knn.evaluate.result is None and knn.evaluate.accuracy_label.text() == "Not evaluated yet"
    w.select_tab("linear")
    qtbot.waitUntil(lambda: lin.controller.trainer is not None, timeout=10000)
    assert lin.dataset is w.controller.used
    assert all(len(h) == 0 for h in lin.controller.histories.values()), "old curves shown for the new data set"
    assert all(m.W_.shape[0] == w.controller.used.n_classes for m in lin.controller.trainer.models.values())
    assert "Small set" in lin.message.text()
    _no_unexpected_errors(handler)


def test_finished_results_of_a_hidden_tab_are_not_shown_for_the_next_data_set(qtbot, window, handler, tmp_path):
    """A kNN evaluation finished on one set; the user switches sets from the Data tab: the Test set panel
    shows nothing of the old evaluation, neither while hidden nor when shown again."""
    w = window()
    w.open_source(write_npz(tmp_path / "first.npz", tiny_dataset(n_classes=4, per_class=20, name="First set")))
    _wait_loaded(qtbot, w, "First set")
    w.select_tab("knn")
    knn = w.current_workspace()
    qtbot.waitUntil(lambda: knn.session is not None, timeout=10000)
    knn.tabs.setCurrentWidget(knn.evaluate)
    qtbot.mouseClick(knn.evaluate.run_button, LEFT)
    qtbot.waitUntil(lambda: knn.evaluate.result is not None, timeout=10000)
    assert "overall" in knn.evaluate.per_class.plotItem.titleLabel.text
    w.select_tab("data")
    w.open_source(write_npz(tmp_path / "second.npz", tiny_dataset(n_classes=3, name="Second set", seed=1)))
    _wait_loaded(qtbot, w, "Second set")
    for shown in (False, True):
        if shown:
            w.select_tab("knn")
            qtbot.waitUntil(lambda: knn.session is not None, timeout=10000)
            assert knn.session.dataset is w.controller.used
            assert knn.data_label.text().startswith("Second set")
        assert knn.evaluate.result is None
        assert knn.evaluate.accuracy_label.text() == "Not evaluated yet"
        assert "overall" not in knn.evaluate.per_class.plotItem.titleLabel.text
        assert knn.evaluate.per_class.names == []
    _no_unexpected_errors(handler)

def test_starting_jobs_while_jobs_run_keeps_one_consistent_state(qtbot, window, handler):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    c = lin.controls
    jobs = _track_jobs(w)
    for i in range(40):                   # play / step / reset / epoch pressed on top of a running job
        button = (c.play_button, c.step_button, c.reset_button, c.epoch_button)[i % 4]
        if button.isEnabled():
            qtbot.mouseClick(button, LEFT)
        qtbot.wait(5)
    for _ in range(3):                    # and a load on top of all that
        w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin.pause()
    qtbot.waitUntil(lambda: not w.runner.is_running(), timeout=5000)
    assert not any(_alive(j) for j in jobs)
    ctl = lin.controller
    for name, h in ctl.histories.items():  # what is shown is exactly what the trainer did
        its = [r.iteration for r in h.records]
        assert its == sorted(set(its)), f"{name}: iterations repeated or out of order"
        assert h.records == list(ctl.trainer.history[name])
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ hammering
def test_hammer_lambda_and_learning_rate_sliders_while_training(qtbot, window, handler, capsys):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    ctl = lin.controller
    lr, reg = lin.controls.lr_slider, lin.controls.reg_slider
    lr_ok = [i for i, v in enumerate(lr.values) if v <= 1e-2]         # values that keep training alive
    reg_ok = [i for i, v in enumerate(reg.values) if v <= 1.0]
    _no_epoch_limit(lin)
    _play(lin, qtbot)
    qtbot.wait(300)
    _settle()
    rss0 = _rss()
    rng = random.Random(0)
    changes, t_start, slowest = 0, time.perf_counter(), 0.0
    while time.perf_counter() - t_start < HAMMER_SECONDS:
        behind = int(1000 * (time.perf_counter() - t_start)) - changes      # keep to 1000 changes/s
        for _ in range(min(max(behind, 0), 1000)):
            if changes % 2:
                lr.slider.setValue(rng.choice(lr_ok))
            else:
                reg.slider.setValue(rng.choice(reg_ok))
            changes += 1
        t_ev = time.perf_counter()
        QtWidgets.QApplication.processEvents()        # the event loop runs between bursts
        slowest = max(slowest, time.perf_counter() - t_ev)
        if behind <= 0:
            time.sleep(0.002)
    elapsed = time.perf_counter() - t_start
    rate = changes / elapsed
    assert rate >= 900, f"only {rate:.0f} changes/s (slowest event-loop turn {slowest * 1000:.0f} ms)"
    assert ctl.running, "training stopped during the hammering"
    qtbot.wait(300)                                   # the debounced last values reach the trainer
    lin.controls.flush()
    lin.pause()
    qtbot.waitUntil(lambda: not ctl.running, timeout=3000)
    for m in ctl.trainer.models.values():             # the last slider values are the ones in effect
        assert m.learning_rate == pytest.approx(lr.value()) and m.reg == pytest.approx(reg.value())
        assert np.isfinite(m.W_).all()
    for h in ctl.histories.values():
        assert len(h) > 0 and np.isfinite(h.column("total")).all()
    with capsys.disabled():
        print(f"\nhammer: {changes} slider changes in {elapsed:.1f} s ({rate:.0f}/s) while training, "
              f"{ctl.live.iteration} iterations (LCL_HAMMER_SECONDS={HAMMER_SECONDS:g})")
    qtbot.mouseClick(lin.controls.reset_button, LEFT)   # clears the history: memory must come back
    _settle()
    rss1 = _rss()
    assert rss1 <= rss0 * 1.10 + 40 * 1024 ** 2, f"RSS {rss0 / 1e6:.0f} -> {rss1 / 1e6:.0f} MB"
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ runaway training in the UI
def test_divergence_in_the_ui_shows_the_reason_and_keeps_the_last_good_weights(qtbot, window, handler):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    _no_epoch_limit(lin)
    lr, reg = lin.controls.lr_slider, lin.controls.reg_slider
    lr.slider.setValue(lr.slider.maximum())           # lr·λ this large makes W grow exponentially
    reg.slider.setValue(reg.index_for(1.0))
    lin.controls.flush()
    ctl = lin.controller
    qtbot.mouseClick(lin.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: "Training stopped" in lin.message.text(), timeout=15000)
    qtbot.waitUntil(lambda: not ctl.running, timeout=3000)
    name = next(n for n, r in ctl.trainer.stopped.items() if r)
    assert ctl.trainer.stopped[name] in lin.message.text()
    assert "learning rate" in lin.message.text()
    W = ctl.trainer.models[name].W_
    assert np.isfinite(W).all()
    np.testing.assert_array_equal(ctl.weights[name][0], W)    # what is shown is the kept W
    assert np.isfinite(ctl.histories[name].column("total")).all()
    lr.slider.setValue(lr.index_for(1e-3))                     # the app stays usable: lower the rate, go on
    reg.slider.setValue(reg.index_for(1e-3))
    lin.controls.flush()
    n = len(ctl.histories[name])
    _play(lin, qtbot)
    qtbot.waitUntil(lambda: len(ctl.histories[name]) > n + 20, timeout=10000)
    lin.pause()
    assert not ctl.trainer.stopped[name]
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ the one handler
def test_a_bug_in_a_worker_reaches_the_handler_and_the_app_lives_on(qtbot, window, handler, tmp_path):
    w = window()
    with qtbot.waitSignal(w.runner.job_finished, timeout=5000):
        w.runner.start("boom", lambda ctx: {}["no such key"], label="A buggy job")
    qtbot.waitUntil(lambda: len(errors.history) == 1, timeout=3000)
    rec = errors.history[0]
    assert "KeyError" in rec.summary and rec.source == "background job"
    assert rec.log_file is not None and rec.log_file.is_file()
    log = rec.log_file.read_text(encoding="utf-8")
    assert "Traceback" in log and "no such key" in log
    assert len(handler) == 1 and "KeyError" in handler[0][1] and "keeps running" in handler[0][1]
    w.open_source("digits")                                   # alive and working
    _wait_loaded(qtbot, w)


def test_a_bug_inside_training_reaches_the_handler_and_training_can_restart(qtbot, window, handler, monkeypatch):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    ctl = lin.controller
    real_step = type(ctl.trainer).step
    calls = {"n": 0}

    def buggy_step(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("a bug in a training step")
        return real_step(self, *a, **kw)

    monkeypatch.setattr(type(ctl.trainer), "step", buggy_step)
    qtbot.mouseClick(lin.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: len(errors.history) == 1, timeout=10000)
    assert "a bug in a training step" in errors.history[0].summary
    assert errors.history[0].log_file.is_file() and len(handler) == 1
    qtbot.waitUntil(lambda: not ctl.running and ctl.state == "idle", timeout=3000)
    assert lin.controls.play_button.isEnabled()
    monkeypatch.setattr(type(ctl.trainer), "step", real_step)
    n = ctl.live.iteration
    _play(lin, qtbot)
    qtbot.waitUntil(lambda: ctl.live.iteration > n + 10, timeout=10000)
    lin.pause()


@pytest.mark.qt_no_exception_capture
def test_a_bug_in_a_button_slot_reaches_the_handler_and_the_window_keeps_working(qtbot, window, handler):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    lin.controller.step_iterations = lambda n=1: 1 / 0      # a bug in the slot behind "Step"
    qtbot.mouseClick(lin.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: len(errors.history) == 1, timeout=3000)
    rec = errors.history[0]
    assert "ZeroDivisionError" in rec.summary and rec.log_file.is_file() and len(handler) == 1
    del lin.controller.step_iterations                      # bug fixed
    n = lin.controller.live.iteration
    qtbot.mouseClick(lin.controls.step_button, LEFT)          # the same button works again
    qtbot.waitUntil(lambda: not lin.controller.running and lin.controller.live.iteration == n + 1, timeout=5000)


def test_a_loader_bug_reaches_the_handler_and_the_previous_set_stays(qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    p = write_npz(tmp_path / "ok.npz", tiny_dataset(name="Good set"))
    w.open_source(p)
    _wait_loaded(qtbot, w, "Good set")
    before = w.controller.used
    import core.datasets as cd
    monkeypatch.setattr(cd, "load", lambda *a, **k: struct.unpack(">I", b"\x00"))   # struct.error: not a user error
    w.open_source(p)
    qtbot.waitUntil(lambda: len(errors.history) == 1, timeout=5000)
    assert "error" in errors.history[0].summary.lower()
    qtbot.waitUntil(lambda: not w.runner.is_running(), timeout=3000)
    assert w.controller.used is before and w.dataset_bar.name_label.text() == "Good set"


# ------------------------------------------------------------------------------ hostile files from the UI
def test_opening_a_malicious_cifar_folder_shows_why_and_runs_nothing(qtbot, window, handler, tmp_path):
    import pickle

    from test_reliability_fuzz import cifar10_members
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for k, v in cifar10_members(np.random.default_rng(0)).items():
        (folder / k).write_bytes(v)
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": Evil(), "labels": [0]}, protocol=2))
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    w.open_source(str(folder))
    qtbot.waitUntil(lambda: "data_batch_2" in w.message_bar.text(), timeout=10000)
    assert "stays loaded" in w.message_bar.text()
    assert not marker.exists()
    assert w.controller.full.name != "CIFAR-10"
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ saving
def _save_fails_on_replace(monkeypatch, target_dir: Path):
    real = os.replace

    def failing(src, dst, *a, **k):
        if Path(dst).parent == target_dir:
            raise OSError(28, "No space left on device (simulated)")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", failing)


def _trained_model(seed=0, n_classes=3):
    from core.linear import LinearClassifier
    from core.preprocess import Preprocessor
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (30, 2, 2, 3), dtype=np.uint8)
    pre = Preprocessor().fit(imgs)
    X = pre.transform(imgs)
    y = np.arange(30) % n_classes
    m = LinearClassifier(batch_size=10, random_state=seed).fit(X, y, epochs=2)
    return m, pre


def test_saved_model_round_trips_exactly(tmp_path):
    persistence = pytest.importorskip("core.persistence")
    m, pre = _trained_model()
    path = tmp_path / "m.npz"
    persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3),
                           dataset_name="Tiny", history=m.history_)
    got = persistence.load_model(path)
    np.testing.assert_array_equal(got.model.W_, m.W_)
    np.testing.assert_array_equal(got.model.b_, m.b_)
    assert got.model.W_.dtype == m.W_.dtype
    np.testing.assert_array_equal(got.model.classes_, m.classes_)
    assert got.model.get_params() == m.get_params()
    np.testing.assert_array_equal(got.preprocessor.mean_, pre.mean_)
    assert got.class_names == ["a", "b", "c"] and tuple(got.image_shape) == (2, 2, 3) and got.dataset_name == "Tiny"
    assert list(got.history) == list(m.history_)
    X = np.random.default_rng(5).normal(size=(7, 12)).astype(np.float32)
    np.testing.assert_array_equal(got.model.decision_function(X), m.decision_function(X))


def test_model_save_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    persistence = pytest.importorskip("core.persistence")
    m, pre = _trained_model()
    path = tmp_path / "model.npz"
    persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    old = path.read_bytes()
    m2, _ = _trained_model(seed=1)
    _save_fails_on_replace(monkeypatch, tmp_path)
    with pytest.raises(OSError):
        persistence.save_model(path, m2, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    assert path.read_bytes() == old, "the old model was damaged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"], "a temporary file was left behind"


def test_model_save_is_atomic_when_writing_fails_midway(tmp_path, monkeypatch):
    persistence = pytest.importorskip("core.persistence")
    import zipfile
    m, pre = _trained_model()
    path = tmp_path / "model.npz"
    persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    old = path.read_bytes()
    real_open = zipfile.ZipFile.open
    state = {"n": 0}

    def failing_open(self, name, mode="r", *a, **k):
        if mode == "w":
            state["n"] += 1
            if state["n"] == 2:
                raise OSError(28, "No space left on device (simulated)")
        return real_open(self, name, mode, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "open", failing_open)
    with pytest.raises(OSError):
        persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    assert state["n"] >= 2, "save_model did not write members through zipfile (test needs updating)"
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_history_csv_export_is_atomic(qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    qtbot.mouseClick(lin.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: not lin.controller.running and lin.controller.live.iteration >= 1, timeout=5000)
    out = tmp_path / "exports"
    out.mkdir()
    path = out / "history.csv"
    path.write_text("old,content\n")
    _save_fails_on_replace(monkeypatch, out)
    with pytest.raises(OSError):
        lin.export_history_csv(str(path))
    assert path.read_text() == "old,content\n"
    assert [p.name for p in out.iterdir()] == ["history.csv"]


def test_table_export_is_atomic_when_writing_fails_midway(tmp_path):
    from gui import exporting
    path = tmp_path / "table.csv"
    path.write_text("old,content\n")

    def rows():
        yield [1, 2]
        raise OSError(28, "No space left on device (simulated)")

    with pytest.raises(OSError):
        exporting.export_table(["a", "b"], rows(), path)
    assert path.read_text() == "old,content\n", "the old file was overwritten by a half-written one"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


@pytest.mark.parametrize("fmt", ["png", "svg", "csv"])
def test_exports_replace_the_old_file_only_when_complete(qtbot, tmp_path, monkeypatch, fmt):
    """Exports go through a temporary file and ``os.replace``: if that last step fails, the old
    file is still there, unchanged, and no temporary file is left."""
    import pyqtgraph as pg

    from gui import exporting
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([0, 1, 2], [2, 0, 1])
    plot.resize(300, 200)
    out = tmp_path / "exports"
    out.mkdir()
    path = out / f"figure.{fmt}"
    path.write_bytes(b"old content")
    _save_fails_on_replace(monkeypatch, out)
    with pytest.raises(OSError):
        if fmt == "csv":
            exporting.export_table(["a", "b"], [[1, 2]], path)
        else:
            exporting.export_plot(plot, path, fmt)
    assert path.read_bytes() == b"old content", f"{fmt}: the old file was overwritten in place (not atomic)"
    assert [p.name for p in out.iterdir()] == [path.name], "a temporary file was left behind"


@pytest.mark.parametrize("fmt", ["png", "svg", "csv"])
def test_a_complete_export_replaces_the_old_file_and_leaves_no_temporary_file(qtbot, tmp_path, fmt):
    import pyqtgraph as pg
    from PySide6 import QtGui

    from gui import exporting
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([0, 1, 2], [2, 0, 1])
    plot.resize(300, 200)
    path = tmp_path / f"figure.{fmt}"
    path.write_bytes(b"old content")
    if fmt == "csv":
        out = exporting.export_table(["a", "b"], [[1, 2]], path)
        assert out.read_text(encoding="utf-8").splitlines() == ["a,b", "1,2"]
    else:
        out = exporting.export_plot(plot, path, fmt)
        if fmt == "png":
            assert QtGui.QImage(str(out)).width() >= 1200
        else:
            assert "<svg" in out.read_text(encoding="utf-8")
    assert out == path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_failed_export_from_the_menu_names_the_file_and_keeps_the_old_one(qtbot, window, handler, tmp_path,
                                                                             monkeypatch):
    from gui import menus
    w = window()
    w.open_source(write_npz(tmp_path / "small.npz", tiny_dataset(name="Small set")))
    _wait_loaded(qtbot, w, "Small set")
    w.select_tab("data")
    out = tmp_path / "exports"
    out.mkdir()
    for name, export in (("counts.csv", lambda p: menus.export_table(w, str(p))),
                         ("grid.png", lambda p: menus.export_plot(w, "png", str(p), target_name="Class grid")),
                         ("numbers.svg", lambda p: menus.export_plot(w, "svg", str(p), target_name="Pixel numbers"))):
        path = out / name
        path.write_bytes(b"old content")
        with monkeypatch.context() as m:
            _save_fails_on_replace(m, out)
            assert export(path) is None
        text = w.statusBar().currentMessage()
        assert str(path) in text and "No space left" in text, text
        assert w.message_bar.text() == text
        assert path.read_bytes() == b"old content"
    assert sorted(p.name for p in out.iterdir()) == ["counts.csv", "grid.png", "numbers.svg"]
    _no_unexpected_errors(handler)

def test_a_model_saved_for_another_data_set_is_refused_with_a_message(qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    qtbot.mouseClick(lin.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: not lin.controller.running and lin.controller.live.iteration >= 1, timeout=5000)
    path = tmp_path / "digits_model.npz"
    lin.save_model_to(str(path))
    w.open_source(write_npz(tmp_path / "other.npz", tiny_dataset(name="Other set")))
    _wait_loaded(qtbot, w, "Other set")
    qtbot.waitUntil(lambda: lin.dataset is w.controller.used and lin.controller.trainer is not None, timeout=10000)
    W_before = {k: m.W_.copy() for k, m in lin.controller.trainer.models.items()}
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), "Model (*.npz)"))
    qtbot.mouseClick(lin.controls.load_button, LEFT)
    text = lin.message.text()
    assert lin.message_kind == "error" and "Could not load the model" in text, text
    assert "digits_model.npz" in text or "Digits" in text or "64" in text, text
    for k, m in lin.controller.trainer.models.items():
        np.testing.assert_array_equal(m.W_, W_before[k])
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ downloads (GUI side)
class _Server:
    """A local HTTP server whose behaviour the test switches: ok, drop, wrong, 404, 500, stall."""

    def __init__(self, files: dict):
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                body = srv.files.get(name)
                mode = srv.mode
                if body is None or mode in ("404", "500"):
                    self.send_error(500 if mode == "500" else 404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "ok":
                    self.wfile.write(body)
                elif mode == "wrong":
                    self.wfile.write(bytes(reversed(body)))
                elif mode == "drop":
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                elif mode == "stall":
                    self.wfile.write(body[:1000])
                    self.wfile.flush()
                    srv.release.wait(10)

        self.files, self.mode, self.release = files, "ok", threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(2)


@pytest.fixture
def tiny_catalog(monkeypatch):
    import core.datasets as cd
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    body = bytes(range(256)) * 2000
    srv = _Server({"tiny.bin": body})
    f = cd.CatalogFile("tiny.bin", srv.url + "/tiny.bin", hashlib.md5(body).hexdigest(), len(body))
    entry = cd.CatalogEntry(name="tiny", display_name="Tiny download", files=(f,), loader="idx", license="test",
                            citation="test", homepage="http://example.invalid/", mirrors=())
    monkeypatch.setitem(cd.CATALOG, "tiny", entry)
    yield srv, body
    srv.close()


def _dialog(qtbot, window_, srv):
    from gui.download_dialog import DownloadDialog
    w = window_()
    dlg = DownloadDialog(w.runner, "tiny", w, base_url=srv.url, timeout=1.0)
    qtbot.addWidget(dlg)
    dlg.show()
    return w, dlg


def _cache_files(dlg) -> list:
    return sorted(p.name for p in dlg.folder.iterdir()) if dlg.folder.exists() else []


@pytest.mark.parametrize("mode,why", [("drop", ""), ("wrong", "md5|checksum"), ("404", "404"), ("500", "500"),
                                      ("stall", "timed out|stall|no data")])
def test_a_failed_download_says_why_leaves_nothing_and_retry_works(qtbot, window, handler, tiny_catalog, mode, why):
    import re
    srv, body = tiny_catalog
    w, dlg = _dialog(qtbot, window, srv)
    srv.mode = mode
    dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=15000)
    text = dlg.error_label.text()
    assert dlg.error_label.isVisible() and srv.url in text, text
    assert re.search(why, text, re.I), text
    assert dlg.retry_button.isVisible()
    assert _cache_files(dlg) == [], f"left in the cache: {_cache_files(dlg)}"
    srv.release.set()
    srv.mode = "ok"
    qtbot.mouseClick(dlg.retry_button, LEFT)
    qtbot.waitUntil(lambda: dlg.state == "done", timeout=15000)
    assert (dlg.folder / "tiny.bin").read_bytes() == body
    assert _cache_files(dlg) == ["tiny.bin"]
    _no_unexpected_errors(handler)


def test_cancelling_a_stalled_download_is_immediate_and_leaves_nothing(qtbot, window, handler, tiny_catalog):
    srv, _ = tiny_catalog
    w, dlg = _dialog(qtbot, window, srv)
    dlg._timeout = 30
    srv.mode = "stall"
    dlg.start()
    qtbot.waitUntil(lambda: dlg.job is not None and dlg.job.running, timeout=3000)
    qtbot.wait(300)
    t0 = time.perf_counter()
    qtbot.mouseClick(dlg.cancel_button, LEFT)
    qtbot.waitUntil(lambda: dlg.state == "cancelled", timeout=3000)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5, f"cancel took {elapsed:.2f} s"
    assert "Cancelled" in dlg.progress_label.text()
    assert _cache_files(dlg) == []
    qtbot.waitUntil(lambda: not _alive(dlg.job), timeout=500)
    _no_unexpected_errors(handler)

"""Work in progress, in the real window: closing, switching and hammering while jobs run; bugs in
workers reaching the one handler; hostile files opened from the UI (saving and downloads: test_reliability_saving.py).

Environment: ``LCL_HAMMER_SECONDS`` (default 5 in CI; 30 for the full by-hand run) sets how long the
λ / learning-rate sliders are hammered at ~1000 changes per second while training.
"""
from __future__ import annotations

import os
import random
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from _gui_data import tiny_dataset, write_npz
from _reliability_gui_support import (  # noqa: F401 - handler and window are pytest fixtures
    _rss, _settle, handler, window, _wait_loaded, _no_unexpected_errors,
    _alive, _track_jobs, _slow_loads, _big_idx_folder, _linear, _no_epoch_limit,
    _play, _train_and_evaluate)
from gui import errors


pytestmark = pytest.mark.gui

HAMMER_SECONDS = float(os.environ.get("LCL_HAMMER_SECONDS", "5"))
LEFT = QtCore.Qt.MouseButton.LeftButton


# ------------------------------------------------------------------------------ closing mid-work
def test_closing_while_load_evaluate_and_train_run_stops_every_worker_within_2_s(
        qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    ds = tiny_dataset(n_classes=10, per_class=400, test_per_class=100, shape=(32, 32, 3), name="Eval set")
    w.open_source(write_npz(tmp_path / "eval.npz", ds))
    _wait_loaded(qtbot, w, "Eval set")
    jobs = _track_jobs(w)

    lin, knn = _train_and_evaluate(w, qtbot)


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
    lin, knn = _train_and_evaluate(w, qtbot)
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

    from _fuzz_seeds import cifar10_members
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

"""The one worker pattern: results on the GUI thread, cancel, stale results dropped, errors routed."""
import threading
import time

import pytest

from gui.workers import JobRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    yield r
    assert r.shutdown(2.0)


def test_result_arrives_on_gui_thread(qtbot, runner):
    got = {}

    def work(ctx):
        ctx.progress(1, 2, "half")
        return threading.get_ident()

    def on_result(tid):
        got["worker"] = tid
        got["slot"] = threading.get_ident()

    with qtbot.waitSignal(runner.job_finished, timeout=5000) as sig:
        runner.start("a", work, on_result=on_result)
    assert sig.args[1] == "done"
    assert got["worker"] != got["slot"] == threading.main_thread().ident


def test_new_job_cancels_old_and_drops_its_result(qtbot, runner):
    results = []

    def slow(ctx):
        while not ctx.cancelled():
            time.sleep(0.01)
        return "old"   # returned after cancel: must be dropped

    runner.start("k", slow, on_result=results.append)
    with qtbot.waitSignal(runner.job_finished, timeout=5000,
                          check_params_cb=lambda job, st: job.label == "new"):
        runner.start("k", lambda ctx: "new", label="new", on_result=results.append)
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=3000)
    assert results == ["new"]


def test_cancel_raises_cancelled_and_reports_status(qtbot, runner):
    def work(ctx):
        while True:
            ctx.check()
            time.sleep(0.01)

    job = runner.start("c", work)
    with qtbot.waitSignal(runner.job_finished, timeout=5000) as sig:
        runner.cancel("c")
    assert sig.args[1] == "cancelled"
    assert not job.running


def test_user_error_goes_to_status_and_bug_to_handler(qtbot, runner):
    with qtbot.waitSignal(runner.user_error, timeout=5000) as sig:
        runner.start("e", lambda ctx: (_ for _ in ()).throw(ValueError("k must be >= 1 (got k=0)")))
    assert "k=0" in sig.args[1]
    with qtbot.waitSignal(runner.unexpected_error, timeout=5000) as sig2:
        runner.start("e", lambda ctx: 1 / 0)
    assert isinstance(sig2.args[0], ZeroDivisionError)
    assert "ZeroDivisionError" in sig2.args[1]


def test_partial_results_and_inbox(qtbot, runner):
    seen = []

    def work(ctx):
        for i in range(3):
            msgs = ctx.receive()
            ctx.emit((i, msgs))
            time.sleep(0.05)
        return "ok"

    job = runner.start("p", work, on_partial=seen.append)
    job.send("lr=0.1")
    with qtbot.waitSignal(runner.job_finished, timeout=5000):
        pass
    assert [s[0] for s in seen] == [0, 1, 2]
    assert ["lr=0.1"] in [s[1] for s in seen]


def test_shutdown_stops_running_threads(qtbot):
    r = JobRunner()
    r.start("x", lambda ctx: ctx.sleep(30))
    t0 = time.monotonic()
    assert r.shutdown(2.0)
    assert time.monotonic() - t0 < 2.0
    assert not r.is_running()


def test_on_cancelled_fires_for_a_user_cancel_but_not_when_superseded(qtbot, runner):
    calls = []

    def loop(ctx):
        while not ctx.cancelled():
            time.sleep(0.01)
        return "late"

    runner.start("u", loop, on_cancelled=lambda: calls.append("first"), on_result=calls.append)
    with qtbot.waitSignal(runner.job_finished, timeout=5000):
        runner.cancel("u")
    assert calls == ["first"]
    runner.start("u", loop, on_cancelled=lambda: calls.append("second"))
    runner.start("u", lambda ctx: "third", on_result=calls.append)
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=5000)
    assert calls == ["first", "third"]

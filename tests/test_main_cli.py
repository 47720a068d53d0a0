"""main.py: arguments, and the screenshot mode end to end (a subprocess, offscreen)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from main import parse_args

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, timeout=90):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_parse_args():
    a = parse_args(["--screenshot", "x.png", "--tab", "linear", "--dataset", "cifar10", "--presentation",
                    "--size", "1920x1080"])
    assert (a.screenshot, a.tab, a.dataset, a.presentation, a.size) == ("x.png", "linear", "cifar10", True, (1920, 1080))
    assert parse_args([]).size is None
    with pytest.raises(SystemExit):
        parse_args(["--size", "huge"])


def test_screenshot_writes_a_png_of_the_loaded_window(tmp_path):
    from PIL import Image

    out = tmp_path / "shot.png"
    r = _run("--screenshot", str(out), "--tab", "data")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "data shown after" in r.stdout
    with Image.open(out) as im:
        assert im.size == (1600, 1000)
        colours = im.convert("L").resize((80, 50)).getcolors(4000)
        assert colours is not None and len(colours) > 20   # not a blank window


def test_screenshot_fails_clearly_on_a_bad_data_set(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"garbage")
    out = tmp_path / "shot.png"
    r = _run("--screenshot", str(out), "--dataset", str(bad))
    assert r.returncode == 1
    assert str(bad) in r.stderr and "not a NumPy .npz archive" in r.stderr
    assert not out.exists()


def test_unknown_tab_is_an_error(tmp_path):
    r = _run("--screenshot", str(tmp_path / "x.png"), "--tab", "nonsense")
    assert r.returncode == 2 and "--tab must name a tab" in r.stderr and "Loss Lab" in r.stderr


def test_screenshot_of_a_set_that_is_not_downloaded_fails_without_downloading(tmp_path):
    r = _run("--screenshot", str(tmp_path / "x.png"), "--dataset", "cifar100")
    assert r.returncode == 1
    assert "CIFAR-100 is not downloaded yet" in r.stderr and "cifar-100-python.tar.gz" in r.stderr

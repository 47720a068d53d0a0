"""Settings: typed values with fallbacks, versioning, recent list, and a full window round trip."""
import pytest
from PySide6 import QtCore

from gui.settings import MAX_RECENT, SETTINGS_VERSION, AppSettings, Subsample

pytestmark = pytest.mark.gui


def test_defaults_and_typed_round_trip(qapp):
    s = AppSettings()
    assert s.dataset_source == "digits"
    assert s.theme == "light"
    assert s.subsample() == Subsample()
    s.dataset_source = "/data/x.npz"
    s.theme = "dark"
    s.set_subsample(Subsample(train_per_class=None, test_per_class=50, val_fraction=0.25, seed=7))
    s.sync()
    t = AppSettings()  # a fresh object reads the file back
    assert t.dataset_source == "/data/x.npz"
    assert t.theme == "dark"
    assert t.subsample() == Subsample(train_per_class=None, test_per_class=50, val_fraction=0.25, seed=7)
    assert t.get_int("settings_version", 0) == SETTINGS_VERSION


def test_bad_values_fall_back_to_defaults(qapp):
    s = AppSettings()
    s.set("view/theme", "purple")
    s.set("subsample/val_fraction", "lots")
    s.set("subsample/seed", -5)
    s.set("subsample/train_per_class", "12x")
    assert s.theme == "light"
    assert s.subsample() == Subsample()
    with pytest.raises(ValueError, match="theme must be one of"):
        s.theme = "purple"


def test_recent_is_unique_newest_first_and_capped(qapp):
    s = AppSettings()
    for i in range(MAX_RECENT + 3):
        s.add_recent(f"/data/{i}.npz")
    s.add_recent("/data/5.npz")
    r = s.recent()
    assert len(r) == MAX_RECENT
    assert r[0] == "/data/5.npz" and r.count("/data/5.npz") == 1
    assert r[1] == f"/data/{MAX_RECENT + 2}.npz"
    s.clear_recent()
    assert s.recent() == []


def test_window_settings_round_trip(qtbot, tmp_path):
    from gui.main_window import MainWindow

    w = MainWindow(load_on_start=False)
    qtbot.addWidget(w)
    w.resize(760, 560)  # inside the offscreen screen (800×600): restoreGeometry clamps to it
    w.set_theme("dark")
    w.dataset_bar.train_spin.setValue(300)
    w.dataset_bar.seed_spin.setValue(42)
    w.dataset_bar.apply_now()
    w.tabs.setCurrentIndex(0)
    w.close()

    w2 = MainWindow(load_on_start=False)
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == (w.width(), w.height()) == (760, 560)
    assert w2.settings.theme == "dark" and w2.actions["dark"].isChecked()
    assert w2.dataset_bar.train_spin.value() == 300
    assert w2.dataset_bar.seed_spin.value() == 42
    assert w2.controller.subsample.train_per_class == 300
    assert w2.tabs.tabText(w2.tabs.currentIndex()) == "Data"
    ini = QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                           "linear-classifier-lab", "linear-classifier-lab").fileName()
    text = open(ini, encoding="utf-8").read()
    assert "tab=Data" in text  # the value, not an index
    w2.set_theme("light")
    w2.close()

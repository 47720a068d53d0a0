"""Persistent settings: one typed wrapper around ``QSettings`` (versioned; values, never indexes).

Keys (``SETTINGS_VERSION`` = 1)
-------------------------------
``settings_version``          int, written on every save; older files are migrated in :meth:`AppSettings.migrate`
``dataset/source``            last data set: a catalog name (``"digits"``, ``"cifar10"``...) or a path
``dataset/recent``            up to :data:`MAX_RECENT` sources, newest first
``subsample/train_per_class`` int, 0 = all images
``subsample/test_per_class``  int, 0 = all images
``subsample/val_fraction``    float in [0, 0.5]
``subsample/seed``            int >= 0
``window/geometry``           ``QWidget.saveGeometry()`` bytes
``window/tab``                the current workspace's *title* (not its index)
``view/theme``                ``"light"`` or ``"dark"``
``workspaces/<Class>/...``    each workspace's own values (its ``save_settings`` gets the group)

The file is an INI file in the per-user config folder (tests redirect it with ``QSettings.setPath``).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore

__all__ = ["AppSettings", "Subsample", "SETTINGS_VERSION", "MAX_RECENT", "ORGANIZATION", "APPLICATION"]

SETTINGS_VERSION = 1
MAX_RECENT = 8
ORGANIZATION = "linear-classifier-lab"
APPLICATION = "linear-classifier-lab"
THEMES = ("light", "dark")


@dataclass(frozen=True)
class Subsample:
    """The data-set bar's subsample controls. ``None`` per class means "all images"."""
    train_per_class: int | None = 1000
    test_per_class: int | None = 100
    val_fraction: float = 0.1
    seed: int = 0


class AppSettings:
    """Typed access to the app's ``QSettings``; bad or missing values fall back to defaults."""

    def __init__(self, qsettings: QtCore.QSettings | None = None):
        self.qs = qsettings if qsettings is not None else QtCore.QSettings(
            QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
        self.migrate()

    # -- typed primitives ----------------------------------------------------------------
    def get_str(self, key: str, default: str = "") -> str:
        v = self.qs.value(key, default)
        return v if isinstance(v, str) else default

    def get_int(self, key: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
        try:
            v = int(self.qs.value(key, default))
        except (TypeError, ValueError):
            return default
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return default
        return v

    def get_float(self, key: str, default: float, lo: float | None = None, hi: float | None = None) -> float:
        try:
            v = float(self.qs.value(key, default))
        except (TypeError, ValueError):
            return default
        if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
            return default
        return v

    def get_list(self, key: str) -> list[str]:
        v = self.qs.value(key, [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in v] if isinstance(v, (list, tuple)) else []

    def get_bytes(self, key: str) -> QtCore.QByteArray | None:
        v = self.qs.value(key)
        return v if isinstance(v, QtCore.QByteArray) and not v.isEmpty() else None

    def set(self, key: str, value) -> None:
        self.qs.setValue(key, value)

    def sync(self) -> None:
        self.qs.setValue("settings_version", SETTINGS_VERSION)
        self.qs.sync()

    def migrate(self) -> None:
        """Bring an older settings file up to :data:`SETTINGS_VERSION` (version 0: nothing stored yet)."""
        version = self.get_int("settings_version", 0)
        if version > SETTINGS_VERSION:  # written by a newer app: keep only what we understand
            return
        if version < SETTINGS_VERSION:
            self.qs.setValue("settings_version", SETTINGS_VERSION)

    # -- the app's values ------------------------------------------------------------------
    @property
    def dataset_source(self) -> str:
        return self.get_str("dataset/source", "digits") or "digits"

    @dataset_source.setter
    def dataset_source(self, source: str) -> None:
        self.set("dataset/source", str(source))

    def recent(self) -> list[str]:
        return self.get_list("dataset/recent")[:MAX_RECENT]

    def add_recent(self, source: str) -> list[str]:
        """Put ``source`` first (no duplicates, at most :data:`MAX_RECENT`); returns the new list."""
        items = [source] + [s for s in self.recent() if s != source]
        items = items[:MAX_RECENT]
        self.set("dataset/recent", items)
        return items

    def clear_recent(self) -> None:
        self.set("dataset/recent", [])

    def subsample(self) -> Subsample:
        d = Subsample()
        tr = self.get_int("subsample/train_per_class", d.train_per_class or 0, 0, 10_000_000)
        te = self.get_int("subsample/test_per_class", d.test_per_class or 0, 0, 10_000_000)
        return Subsample(train_per_class=tr or None, test_per_class=te or None,
                         val_fraction=self.get_float("subsample/val_fraction", d.val_fraction, 0.0, 0.5),
                         seed=self.get_int("subsample/seed", d.seed, 0, 2**31 - 1))

    def set_subsample(self, s: Subsample) -> None:
        self.set("subsample/train_per_class", int(s.train_per_class or 0))
        self.set("subsample/test_per_class", int(s.test_per_class or 0))
        self.set("subsample/val_fraction", float(s.val_fraction))
        self.set("subsample/seed", int(s.seed))

    @property
    def theme(self) -> str:
        t = self.get_str("view/theme", "light")
        return t if t in THEMES else "light"

    @theme.setter
    def theme(self, name: str) -> None:
        if name not in THEMES:
            raise ValueError(f"theme must be one of {THEMES} (got {name!r})")
        self.set("view/theme", name)

    @property
    def tab(self) -> str:
        return self.get_str("window/tab", "")

    @tab.setter
    def tab(self, title: str) -> None:
        self.set("window/tab", title)

    @property
    def geometry(self) -> QtCore.QByteArray | None:
        return self.get_bytes("window/geometry")

    @geometry.setter
    def geometry(self, data: QtCore.QByteArray) -> None:
        self.set("window/geometry", data)

    def workspace_group(self, name: str) -> str:
        return f"workspaces/{name}"

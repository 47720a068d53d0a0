"""Which data set is loaded, and the subsample the workspaces use: loading, fallback, recent list.

* ``load(source)`` runs ``core.datasets.load`` in the runner's ``"load"`` job (a new load cancels the
  old one; a stale result is dropped) and subsamples in the same worker. On success ``changed(full,
  used)`` fires and the source becomes the remembered one; on failure ``error(message)`` fires and the
  previous data set stays loaded -- or, with ``fallback=True`` (start-up), the bundled digits are loaded.
* A catalog set that is not in the cache yet emits ``download_needed(name)`` instead of failing.
* ``set_subsample(s)`` re-subsamples the loaded set (job kind ``"subsample"``) and emits ``changed``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore

from gui.settings import AppSettings, Subsample
from gui.workers import JobRunner

__all__ = ["DatasetController", "normalize_source", "subsample_dataset"]

DOWNLOADABLE = ("mnist", "fashion-mnist", "cifar10", "cifar100")


def normalize_source(source: str) -> str:
    """Catalog names lower-case; anything else an absolute path."""
    s = str(source).strip()
    if s.lower() in ("digits",) + DOWNLOADABLE:
        return s.lower()
    return str(Path(s).expanduser().resolve())


def subsample_dataset(full, s: Subsample):
    """``full`` itself when nothing is capped, else ``full.subsample(...)`` (worker thread)."""
    if s.train_per_class is None and s.test_per_class is None:
        return full
    return full.subsample(s.train_per_class, s.test_per_class, random_state=s.seed)


class DatasetController(QtCore.QObject):
    """Owns the loaded data set (``full``) and the subsampled one the workspaces get (``used``)."""

    changed = QtCore.Signal(object, object)       # full, used
    error = QtCore.Signal(str)                    # a user-facing message
    download_needed = QtCore.Signal(str)          # catalog name
    loading = QtCore.Signal(str)                  # source being loaded

    def __init__(self, runner: JobRunner, settings: AppSettings, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.runner, self.settings = runner, settings
        self.full = None
        self.used = None
        self.source = ""
        self.subsample = settings.subsample()
        self.last_error = ""
        self.offer_downloads = True   # False (screenshot mode): a set not in the cache is an error

    # -- loading -------------------------------------------------------------------------------
    def load(self, source: str, *, fallback: bool = False) -> None:
        """Load ``source`` (catalog name or path) in the background."""
        src = normalize_source(source)
        if src in DOWNLOADABLE and not self._cached(src):
            if fallback or not self.offer_downloads:
                self._fail(src, self._not_cached(src), fallback=fallback)
            else:
                self.download_needed.emit(src)
            return
        s = self.subsample

        def work(ctx):
            from core.datasets import load
            full = load(src, progress=ctx.progress, cancel=ctx.cancelled)
            ctx.check()
            ctx.progress(1, 1, "subsampling")
            return full, subsample_dataset(full, s)

        self.loading.emit(src)
        self.runner.start("load", work, label=f"Loading {_short(src)}",
                          on_result=lambda res: self._loaded(src, s, *res),
                          on_error=lambda exc: self._fail(src, _message(exc), fallback=fallback))

    def _loaded(self, src: str, s: Subsample, full, used) -> None:
        if s != self.subsample:   # the controls changed while loading: subsample again
            self.full, self.source = full, src
            self._remember(src)
            self.set_subsample(self.subsample, force=True)
            return
        self.full, self.used, self.source = full, used, src
        self._remember(src)
        self.last_error = ""
        self.changed.emit(full, used)

    def _remember(self, src: str) -> None:
        self.settings.dataset_source = src
        if src != "digits":
            self.settings.add_recent(src)

    def _fail(self, src: str, message: str, *, fallback: bool) -> None:
        text = f"Could not open the data set {_short(src)}: {message}"
        if fallback and src != "digits":
            text += " Loading the bundled digits instead."
        elif self.full is not None:
            text += f" ({self.full.name} stays loaded.)"
        self.last_error = text
        self.error.emit(text)
        if fallback and src != "digits":
            self.load("digits")

    # -- subsample -----------------------------------------------------------------------------------
    def set_subsample(self, s: Subsample, *, force: bool = False) -> None:
        """Re-subsample the loaded data set with ``s`` (persisted)."""
        if s == self.subsample and not force:
            return
        self.subsample = s
        self.settings.set_subsample(s)
        full = self.full
        if full is None:
            return
        if self.runner.is_running("load"):
            return  # the running load sees the new value in _loaded and subsamples again
        self.runner.start("subsample", lambda ctx: subsample_dataset(full, s), label="Subsampling",
                          on_result=lambda used: self._subsampled(full, s, used),
                          on_error=lambda exc: self.error.emit(f"Could not subsample: {_message(exc)}"))

    def _subsampled(self, full, s: Subsample, used) -> None:
        if full is self.full and s == self.subsample:
            self.used = used
            self.changed.emit(full, used)

    # -- catalog helpers ---------------------------------------------------------------------------
    @staticmethod
    def _cached(name: str) -> bool:
        from core.datasets import is_cached
        return is_cached(name)

    @staticmethod
    def _not_cached(name: str) -> str:
        from core.datasets import not_cached_message
        return not_cached_message(name)

    def cached_names(self) -> set[str]:
        return {n for n in DOWNLOADABLE if self._cached(n)}


def _short(src: str) -> str:
    return src if "/" not in src and "\\" not in src else f"'{src}'"


def _message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "it does not exist."
    return str(exc)

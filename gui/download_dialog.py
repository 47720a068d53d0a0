"""File > Download: fetch a catalog data set into the per-user cache, with progress, Cancel and clear failures.

The work is ``core.datasets.download`` (streamed, md5-checked, atomic: a cut download leaves only
what was fully verified) in the runner's ``"download"`` job; this non-modal dialog shows what is
fetched from where, its license, bytes and speed, and on failure the reason plus the manual
alternative (copy the official files into the cache folder, or File > Open). ``downloaded(name)``
is emitted on success; the window then loads the set.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from gui.workers import Job, JobRunner

__all__ = ["DownloadDialog"]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class DownloadDialog(QtWidgets.QDialog):
    """Downloads ``name`` (a key of ``core.datasets.CATALOG``) when :meth:`start` is called."""

    downloaded = QtCore.Signal(str)

    def __init__(self, runner: JobRunner, name: str, parent: QtWidgets.QWidget | None = None,
                 *, base_url: str | None = None, timeout: float = 30):
        super().__init__(parent)
        from core.datasets import CATALOG, dataset_dir

        self.runner, self.name = runner, name
        self.entry = CATALOG[name]
        self.folder = dataset_dir(name)
        self._base_url, self._timeout = base_url, timeout
        self.job: Job | None = None
        self.state = "idle"  # idle | running | done | failed | cancelled
        self.setWindowTitle(f"Download {self.entry.display_name}")
        self.setObjectName("download_dialog")
        self.setModal(False)
        self.setMinimumWidth(640)

        files = "".join(f"<li>{f.filename} ({_mb(f.size)})</li>" for f in self.entry.files)
        info = QtWidgets.QLabel(
            f"<b>{self.entry.display_name}</b> — {_mb(self.entry.total_size)} from "
            f"<a href='{self.entry.homepage}'>{self.entry.homepage}</a><ul>{files}</ul>"
            f"<b>License:</b> {self.entry.license}<br><b>Saved in:</b> {self.folder}")
        info.setWordWrap(True)
        info.setOpenExternalLinks(True)
        info.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextBrowserInteraction)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setObjectName("download_progress")
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.progress_label = QtWidgets.QLabel("Not started")
        self.progress_label.setObjectName("download_label")
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setObjectName("download_error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.hide()

        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("download_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QtWidgets.QPushButton("Try again")
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        self.folder_button = QtWidgets.QPushButton("Open cache folder")
        self.folder_button.setToolTip(str(self.folder))
        self.folder_button.clicked.connect(self._open_folder)
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)
        for b in (self.retry_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(info)
        lay.addWidget(self.bar)
        lay.addWidget(self.progress_label)
        lay.addWidget(self.error_label)
        lay.addLayout(buttons)
        runner.job_progress.connect(self._on_progress)
        runner.job_finished.connect(self._on_finished)

    # -- actions ------------------------------------------------------------------------------
    def start(self) -> None:
        from core.datasets import download

        name, base_url, timeout = self.name, self._base_url, self._timeout
        self.state = "running"
        self.error_label.hide()
        self.retry_button.hide()
        self.cancel_button.setEnabled(True)
        self.bar.setRange(0, 0)
        self.progress_label.setText("Connecting…")
        self.job = self.runner.start(
            "download",
            lambda ctx: download(name, progress=ctx.progress, cancel=ctx.cancelled, base_url=base_url, timeout=timeout),
            label=f"Downloading {self.entry.display_name}",
            on_result=self._on_done, on_error=self._on_error)

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.progress_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    # -- runner callbacks (GUI thread) -------------------------------------------------------------
    def _on_progress(self, job: Job, done: float, total: float, message: str) -> None:
        if job is not self.job:
            return
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(1.0, done / total)))
        self.progress_label.setText(message or f"{_mb(int(done))} of {_mb(int(total))}")

    def _on_done(self, folder) -> None:
        self.state = "done"
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000)
        self.progress_label.setText(f"Downloaded and verified (md5) into {folder}. Loading…")
        self.cancel_button.setEnabled(False)
        self.downloaded.emit(self.name)
        QtCore.QTimer.singleShot(800, self.accept)

    def _on_error(self, exc: BaseException) -> None:
        self.state = "failed"
        self._show_failure(str(exc))

    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.progress_label.setText("Cancelled. Nothing partial was kept; files already verified stay in the cache.")
        self.retry_button.show()
        self.cancel_button.setEnabled(False)

    def _on_finished(self, job: Job, status: str) -> None:
        if job is self.job and status == "cancelled" and self.state == "running":
            self._on_cancelled()   # the runner calls on_cancelled only for non-stale jobs

    def _show_failure(self, message: str) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.progress_label.setText("The download failed; nothing partial was kept.")
        text = message[:1].upper() + message[1:]
        if str(self.folder) not in message:  # make sure the manual alternative is always named
            text += (f"\n\nWithout internet: download {', '.join(f.filename for f in self.entry.files)} from "
                     f"{self.entry.homepage} on another computer and put it into {self.folder}, "
                     f"or open it with File ▸ Open data set.")
        self.error_label.setText(text)
        self.error_label.show()
        self.retry_button.show()
        self.cancel_button.setEnabled(False)
        self.adjustSize()

    def _open_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(self.folder)))

    def closeEvent(self, event) -> None:  # noqa: N802
        self.cancel()
        super().closeEvent(event)

    def reject(self) -> None:
        self.cancel()
        super().reject()

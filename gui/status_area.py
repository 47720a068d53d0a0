"""Job progress in the status bar: a label, a progress bar and a Cancel button, driven by the JobRunner.

It shows the newest running job (``"Loading CIFAR-10 — reading data_batch_3 (45%)"``; ``"+1 more"`` when
several run); Cancel cancels the job shown. When nothing runs it hides its bar and button. The runner's
``user_error`` is not shown here: the main window puts those in its message bar.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.workers import Job, JobRunner

__all__ = ["StatusArea"]


class StatusArea(QtWidgets.QWidget):
    """Progress of the runner's jobs (GUI thread only)."""

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self._jobs: list[Job] = []          # running, oldest first
        self._progress: dict[int, tuple[float, float, str]] = {}
        self.label = QtWidgets.QLabel()
        self.label.setObjectName("job_label")
        self.label.setMinimumWidth(260)
        self.label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setObjectName("job_progress")
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("job_cancel")
        self.cancel_button.setToolTip("Stop this background job")
        self.cancel_button.clicked.connect(self.cancel_shown)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        runner.job_started.connect(self._on_started)
        runner.job_progress.connect(self._on_progress)
        runner.job_finished.connect(self._on_finished)
        self._refresh()

    # -- public ---------------------------------------------------------------------------
    def shown_job(self) -> Job | None:
        return self._jobs[-1] if self._jobs else None

    def cancel_shown(self) -> None:
        job = self.shown_job()
        if job is not None:
            job.cancel()
            self.label.setText(f"Cancelling: {job.label}…")
            self.cancel_button.setEnabled(False)

    # -- runner signals ----------------------------------------------------------------------
    def _on_started(self, job: Job) -> None:
        self._jobs = [j for j in self._jobs if j.running and j is not job] + [job]
        self._refresh()

    def _on_progress(self, job: Job, done: float, total: float, message: str) -> None:
        self._progress[job.id] = (done, total, message)
        if job is self.shown_job():
            self._refresh()

    def _on_finished(self, job: Job, status: str) -> None:
        self._progress.pop(job.id, None)
        self._jobs = [j for j in self._jobs if j is not job and j.running]
        self._refresh()

    # -- display ---------------------------------------------------------------------------------
    def _refresh(self) -> None:
        job = self.shown_job()
        if job is None:
            self.label.setText("")
            self.bar.hide()
            self.cancel_button.hide()
            return
        done, total, message = self._progress.get(job.id, (0.0, 0.0, ""))
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(round(1000 * min(1.0, max(0.0, done / total)))))
            self.bar.setFormat(f"{100 * done / total:.0f}%")
        else:
            self.bar.setRange(0, 0)  # busy indicator until the first progress report
        text = job.label + (f" — {message}" if message else "")
        more = len(self._jobs) - 1
        if more:
            text += f"  (+{more} more)"
        self.label.setText(text)
        self.label.setToolTip(text)
        self.bar.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(not job.ctx.cancelled())

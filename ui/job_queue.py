"""The job queue view: one row per job with its preview, progress, ETA, status and a cancel button.

Rows repaint from JobQueue signals only; the view never touches the worker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.jobs import Job, JobQueue, JobStatus

THUMB_W, THUMB_H = 96, 54


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"about {seconds // 3600} h {seconds % 3600 // 60:02d} min left"
    if seconds >= 60:
        return f"about {seconds // 60} min {seconds % 60:02d} s left"
    return f"about {seconds} s left"


class JobRow(QFrame):
    """One job: thumbnail | title, status, progress, ETA, error | cancel."""

    def __init__(self, job: Job, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.job_id = job.id
        self.thumbnail = QLabel(objectName="jobPreview")
        self.thumbnail.setFixedSize(THUMB_W, THUMB_H)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background: #111;")
        prompt = job.spec.prompt if len(job.spec.prompt) <= 60 else job.spec.prompt[:57] + "..."
        self.title = QLabel(prompt, objectName="jobTitle")
        self.title.setToolTip(job.spec.prompt)
        self.status = QLabel(objectName="jobStatus")
        self.progress = QProgressBar(objectName="jobProgress")
        self.progress.setTextVisible(True)
        self.eta = QLabel(objectName="jobEta")
        self.error = QLabel(objectName="jobError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #ff8a80;")
        self.cancel_button = QPushButton("Cancel", objectName="jobCancel")
        self.cancel_button.clicked.connect(lambda: queue.cancel(self.job_id))

        # Text wraps instead of widening the row: the queue usually lives in a narrow dock.
        for label in (self.title, self.status):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        grid = QGridLayout(self)
        grid.addWidget(self.thumbnail, 0, 0, 4, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.title, 0, 1, 1, 2)
        grid.addWidget(self.status, 1, 1, 1, 2)
        grid.addWidget(self.progress, 2, 1, 1, 2)
        grid.addWidget(self.eta, 3, 1)
        grid.addWidget(self.cancel_button, 3, 2)
        grid.addWidget(self.error, 4, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.update_from(job)

    def update_from(self, job: Job) -> None:
        spec = job.spec
        detail = getattr(spec, "detail", None)  # an extend job says what it extends
        if not detail:
            detail = f"{spec.width}x{spec.height}, {spec.frames} frames, seed {spec.seed}"
        self.status.setText(f"{job.message or job.status.value} \u2014 {detail}")
        self.progress.setRange(0, max(1, job.steps))
        self.progress.setValue(job.step)
        # a recipe with stages says which: "stage 1/2, step 5/8"
        self.progress.setFormat(job.step_label or f"step {job.step} / {job.steps}")
        self.eta.setText(format_eta(job.eta_seconds) if not job.status.finished else "")
        self.error.setText(job.error)
        self.error.setVisible(bool(job.error))
        self.cancel_button.setEnabled(not job.status.finished)
        self.cancel_button.setVisible(not job.status.finished)
        if job.preview is not None and not job.preview.isNull():
            pixmap = QPixmap.fromImage(job.preview).scaled(
                THUMB_W,
                THUMB_H,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.thumbnail.setPixmap(pixmap)
        if job.status is JobStatus.DONE:
            self.progress.setValue(self.progress.maximum())


class JobQueueView(QWidget):
    """Lists the queue's jobs, newest at the bottom; 'Clear finished' drops done/failed/cancelled rows."""

    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobQueueView")
        self._queue = queue
        self._rows: dict[str, JobRow] = {}
        self.empty_label = QLabel(
            "No generations yet. Write a prompt and press Generate.", objectName="jobsEmpty"
        )
        self.empty_label.setWordWrap(True)
        self.clear_button = QPushButton("Clear finished", objectName="clearFinished")
        self.clear_button.clicked.connect(queue.clear_finished)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addWidget(self.empty_label)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._list)
        header = QHBoxLayout()
        header.addWidget(QLabel("Generations"), 1)
        header.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(scroll)

        queue.job_added.connect(self._add)
        queue.job_changed.connect(self._changed)
        queue.job_finished.connect(lambda job_id, _item: self._changed(job_id))
        queue.job_failed.connect(lambda job_id, _message: self._changed(job_id))
        queue.job_cancelled.connect(self._changed)
        queue.job_removed.connect(self._remove)
        for job in queue.jobs():
            self._add(job.id)

    def row(self, job_id: str) -> JobRow:
        return self._rows[job_id]

    def rows(self) -> list[JobRow]:
        return list(self._rows.values())

    def _add(self, job_id: str) -> None:
        if job_id in self._rows:
            return
        row = JobRow(self._queue.job(job_id), self._queue, self._list)
        self._rows[job_id] = row
        self._list_layout.insertWidget(self._list_layout.count() - 1, row)
        self.empty_label.setVisible(False)

    def _changed(self, job_id: str) -> None:
        row = self._rows.get(job_id)
        if row is not None:
            row.update_from(self._queue.job(job_id))

    def _remove(self, job_id: str) -> None:
        row = self._rows.pop(job_id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self.empty_label.setVisible(not self._rows)

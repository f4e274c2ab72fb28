"""The job queue view: one row per job (generations, inpaints, extends, and exports from the render queue)
with its preview, progress, ETA, status and a cancel button, newest at the top; below them the history of
earlier generations (app.jobs.history, kept across launches), each finished one with "Reuse these settings".

What a row says comes from the job's kind (app.jobs.kinds): its title, the unit of its progress ("step 3 / 8",
"frame 12 / 48") and whether its result has a folder to open (an export's "Open Folder").
Rows repaint from JobQueue signals only; the view never touches the worker.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.errors import JobError
from app.jobs import Job, JobQueue, JobSpec, JobStatus
from app.jobs.history import HistoryEntry, JobHistory

THUMB_W, THUMB_H = 96, 54

Reveal = Callable[[Path], None]  # shows a result's folder (the file manager; tests inject a recorder)
Ask = Callable[[QWidget, str, str], bool]  # a yes/no question (a QMessageBox; tests inject an answer)


def ask_question(parent: QWidget, title: str, text: str) -> bool:
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


def reveal_in_file_manager(path: Path) -> None:
    folder = path if path.is_dir() else path.parent
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def job_title(job: Job) -> str:
    """The prompt of a generation, else what the spec calls itself ("Export film.mov")."""
    spec = job.spec
    return str(getattr(spec, "prompt", "") or spec.display_name())


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"about {seconds // 3600} h {seconds % 3600 // 60:02d} min left"
    if seconds >= 60:
        return f"about {seconds // 60} min {seconds % 60:02d} s left"
    return f"about {seconds} s left"


def _narrow(label: QLabel) -> QLabel:
    """Text that wraps instead of widening the row: the queue usually lives in a narrow dock, and a row
    wider than the dock was cut off on the right (the scroll area never scrolls sideways)."""
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def load_thumbnail(path: Path) -> QPixmap:
    """A history entry's thumbnail file read (a PNG decode on the UI thread) and scaled for a row; a null
    pixmap when it cannot be read."""
    pixmap = QPixmap(str(path))
    if pixmap.isNull():
        return pixmap
    return pixmap.scaled(
        THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def _spec_detail(parameters: dict) -> str:
    size = f"{parameters.get('width')}x{parameters.get('height')}"
    return f"{size}, {parameters.get('frames')} frames, seed {parameters.get('seed')}"


class JobRow(QFrame):
    """One job: thumbnail | title, status, progress, ETA, error | cancel / reuse."""

    reuse_requested = Signal(object)  # JobSpec

    def __init__(
        self, job: Job, queue: JobQueue, parent: QWidget | None = None, *, reveal: Reveal | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("jobRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.job_id = job.id
        self.kind = job.job_kind
        self._reveal = reveal or reveal_in_file_manager
        self.thumbnail = QLabel(self.kind.label, objectName="jobPreview")  # a kind without previews: its name
        self.thumbnail.setFixedSize(THUMB_W, THUMB_H)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background: #111; color: #9aa;")
        title = job_title(job)
        self.title = QLabel(title if len(title) <= 60 else title[:57] + "...", objectName="jobTitle")
        self.title.setToolTip(title)
        self.status = QLabel(objectName="jobStatus")
        self.progress = QProgressBar(objectName="jobProgress")
        self.progress.setTextVisible(True)
        self.eta = QLabel(objectName="jobEta")
        self.node = QLabel(objectName="jobNode")  # which render node runs (or ran) it (app.cluster)
        self.node.setStyleSheet("color: #8ab4f8;")
        self.error = QLabel(objectName="jobError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #ff8a80;")
        self.cancel_button = QPushButton("Cancel", objectName="jobCancel")
        self.cancel_button.clicked.connect(lambda: queue.cancel(self.job_id))
        self.reuse_button = QPushButton("Reuse these settings", objectName="jobReuse")
        self.reuse_button.setToolTip("Put this job's prompt and settings in the Generate panel")
        self._spec = job.spec
        self.reuse_button.clicked.connect(lambda: self.reuse_requested.emit(self._spec))
        self.folder_button = QPushButton("Open Folder", objectName="jobOpenFolder")
        self.folder_button.setToolTip("Show the written file in the file manager")
        self._result_path: Path | None = None
        self.folder_button.clicked.connect(self.open_folder)

        for label in (self.title, self.status, self.node, self.eta, self.error):
            _narrow(label)
        self.progress.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.eta, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.reuse_button)
        buttons.addWidget(self.folder_button)
        grid = QGridLayout(self)
        grid.addWidget(self.thumbnail, 0, 0, 3, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.title, 0, 1)
        grid.addWidget(self.status, 1, 1)
        grid.addWidget(self.progress, 2, 1)
        grid.addLayout(buttons, 3, 0, 1, 2)
        grid.addWidget(self.node, 4, 0, 1, 2)
        grid.addWidget(self.error, 5, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        self.update_from(job)

    def update_from(self, job: Job) -> None:
        spec = job.spec
        detail = getattr(spec, "detail", None)  # an extend job says what it extends, an export where to
        if not detail:
            detail = f"{spec.width}x{spec.height}, {spec.frames} frames, seed {spec.seed}"
        self.status.setText(f"{job.message or job.status.value} \u2014 {detail}")
        self.progress.setRange(0, max(1, job.steps))
        self.progress.setValue(job.step)
        # a recipe with stages says which: "stage 1/2, step 5/8"; an export counts frames
        self.progress.setFormat(job.step_label or f"{self.kind.unit} {job.step} / {job.steps}")
        self.eta.setText(format_eta(job.eta_seconds) if not job.status.finished else "")
        self.error.setText(job.error)
        self.error.setVisible(bool(job.error))
        node = getattr(job, "node", "")
        self.node.setText(f"render node: {node}" if node else "")
        self.node.setVisible(bool(node))
        self.cancel_button.setEnabled(not job.status.finished)
        self.cancel_button.setVisible(not job.status.finished)
        self.reuse_button.setVisible(job.status.finished and isinstance(job.spec, JobSpec))
        path = getattr(job.item, "path", None) if job.status is JobStatus.DONE else None
        self._result_path = Path(path) if path else None
        self.folder_button.setVisible(self.kind.shows_folder and self._result_path is not None)
        if self._result_path is not None and self.kind.shows_folder:
            self.folder_button.setToolTip(f"Show {self._result_path} in the file manager")
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

    def open_folder(self) -> None:
        if self._result_path is not None:
            self._reveal(self._result_path)


class HistoryRow(QFrame):
    """A generation from the history: thumbnail | prompt, outcome and settings, when | reuse."""

    reuse_requested = Signal(object)  # JobSpec

    def __init__(
        self,
        entry: HistoryEntry,
        history: JobHistory,
        parent: QWidget | None = None,
        *,
        pictures: dict[str, QPixmap] | None = None,
    ) -> None:
        """`pictures`: thumbnail path -> its scaled pixmap, shared by the rows of one view so a rebuild of the
        list (each time a job ends) reads no file again; the file name is the entry's id, never rewritten."""
        super().__init__(parent)
        self.setObjectName("historyRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.entry = entry
        self.thumbnail = QLabel(objectName="historyPreview")
        self.thumbnail.setFixedSize(THUMB_W, THUMB_H)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background: #111;")
        path = history.thumbnail_path(entry)
        if path is not None:
            pixmap = pictures.get(str(path)) if pictures is not None else None
            if pixmap is None:
                pixmap = load_thumbnail(path)
                if pictures is not None:
                    pictures[str(path)] = pixmap
            if not pixmap.isNull():
                self.thumbnail.setPixmap(pixmap)
        prompt = entry.prompt if len(entry.prompt) <= 60 else entry.prompt[:57] + "..."
        self.title = _narrow(QLabel(prompt, objectName="historyTitle"))
        self.title.setToolTip(entry.prompt)
        when = datetime.datetime.fromtimestamp(entry.finished_at).strftime("%Y-%m-%d %H:%M")
        text = f"{entry.status} \u2014 {_spec_detail(entry.parameters)} \u2014 {when}"
        self.status = _narrow(QLabel(text, objectName="historyStatus"))
        self.status.setToolTip(entry.error or entry.media_path)
        self.reuse_button = QPushButton("Reuse these settings", objectName="historyReuse")
        self.reuse_button.setToolTip("Put this generation's prompt and settings in the Generate panel")
        self.reuse_button.clicked.connect(self._reuse)
        self.error = _narrow(QLabel(objectName="historyError"))
        self.error.setStyleSheet("color: #ff8a80;")
        grid = QGridLayout(self)
        grid.addWidget(self.thumbnail, 0, 0, 3, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.title, 0, 1)
        grid.addWidget(self.status, 1, 1)
        grid.addWidget(self.reuse_button, 2, 1, Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(1, 1)
        grid.addWidget(self.error, 3, 0, 1, 2)
        self.error.setVisible(False)

    def _reuse(self) -> None:
        try:
            spec = self.entry.spec()
        except JobError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return
        self.reuse_requested.emit(spec)


class JobQueueView(QWidget):
    """Lists the queue's jobs, newest at the top (scrolled into view), then the history of earlier ones;
    'Clear finished' drops done/failed/cancelled rows and the history."""

    reuse_requested = Signal(object)  # JobSpec: "Reuse these settings" on a job or a history entry

    def __init__(
        self,
        queue: JobQueue,
        parent: QWidget | None = None,
        *,
        history: JobHistory | None = None,
        reveal: Reveal | None = None,
        ask: Ask | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("jobQueueView")
        self._queue = queue
        self._ask = ask or ask_question
        self._asking = False
        self._reveal = reveal
        self._history = history
        self._history_rows: list[HistoryRow] = []
        self._pictures: dict[str, QPixmap] = {}  # the history rows' thumbnails, read once (see HistoryRow)
        self._rows: dict[str, JobRow] = {}
        self.empty_label = QLabel(
            "No jobs yet. Write a prompt and press Generate, or export the timeline (File > Export).",
            objectName="jobsEmpty",
        )
        self.empty_label.setWordWrap(True)
        self.clear_button = QPushButton("Clear finished", objectName="clearFinished")
        self.clear_button.setToolTip("Remove finished jobs and the history of earlier ones (clips stay)")
        self.clear_button.clicked.connect(self._clear_finished)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addWidget(self.empty_label)
        self._live_layout = QVBoxLayout()  # newest first
        self._live_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addLayout(self._live_layout)
        self.history_label = QLabel("Earlier", objectName="historyHeading")
        self._list_layout.addWidget(self.history_label)
        self._history_layout = QVBoxLayout()
        self._history_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addLayout(self._history_layout)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._list)
        self.scroll = scroll
        header = QHBoxLayout()
        header.addWidget(QLabel("Generations and exports"), 1)
        self.backend_label = QLabel(objectName="jobBackend")  # "Ray cluster at ..." when not this machine
        header.addWidget(self.backend_label)
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
        queue.cluster_unreachable.connect(self._cluster_unreachable)
        self._show_backend()
        if history is not None:
            history.changed.connect(self._fill_history)
        for job in queue.jobs():
            self._add(job.id)
        self._fill_history()

    def row(self, job_id: str) -> JobRow:
        return self._rows[job_id]

    def rows(self) -> list[JobRow]:
        """The queue's rows, top (newest) first."""
        rows = (self._live_layout.itemAt(i).widget() for i in range(self._live_layout.count()))
        return [row for row in rows if isinstance(row, JobRow)]

    def history_rows(self) -> list[HistoryRow]:
        return list(self._history_rows)

    def _show_backend(self) -> None:
        address = self._queue.backend
        self.backend_label.setText(f"on the Ray cluster at {address}" if address else "")
        self.backend_label.setVisible(bool(address))

    def _cluster_unreachable(self, message: str) -> None:
        """The render cluster cannot be reached: ask once whether to run the jobs here instead."""
        if self._asking:
            return
        self._asking = True
        try:
            text = f"{message}\n\nRun these jobs on this machine instead?"
            if self._ask(self, "Render nodes cannot be reached", text):
                self._queue.fall_back_to_local()
        finally:
            self._asking = False
        self._show_backend()

    def _add(self, job_id: str) -> None:
        self._show_backend()
        if job_id in self._rows:
            return
        row = JobRow(self._queue.job(job_id), self._queue, self._list, reveal=self._reveal)
        row.reuse_requested.connect(self.reuse_requested)
        self._rows[job_id] = row
        self._live_layout.insertWidget(0, row)
        self._update_empty()
        # The new job is at the top: bring the top into view (once the layout has placed the row).
        QTimer.singleShot(0, lambda: self.scroll.verticalScrollBar().setValue(0))
        self.scroll.verticalScrollBar().setValue(0)

    def _clear_finished(self) -> None:
        self._queue.clear_finished()
        if self._history is not None:
            self._history.clear()

    def _fill_history(self) -> None:
        for row in self._history_rows:
            row.setParent(None)
            row.deleteLater()
        self._history_rows = []
        if self._history is not None:
            for entry in self._history.entries():
                if self._history.job_id_of(entry) in self._rows:  # its row is still on show above
                    continue
                row = HistoryRow(entry, self._history, self._list, pictures=self._pictures)
                row.reuse_requested.connect(self.reuse_requested)
                self._history_rows.append(row)
                self._history_layout.addWidget(row)
            shown = {str(self._history.thumbnail_path(e)) for e in self._history.entries()}
            self._pictures = {path: pixmap for path, pixmap in self._pictures.items() if path in shown}
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty_label.setVisible(not self._rows and not self._history_rows)
        self.history_label.setVisible(bool(self._history_rows))

    def _changed(self, job_id: str) -> None:
        row = self._rows.get(job_id)
        if row is not None:
            row.update_from(self._queue.job(job_id))

    def _remove(self, job_id: str) -> None:
        row = self._rows.pop(job_id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self._fill_history()

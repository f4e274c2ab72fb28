"""Exports off the UI thread: the request (a document snapshot and where to write it), the render call with a
smoothed ETA, and a standalone runner.

The export core (``app.export.render_timeline``) is Qt-free and takes plain callables and a
``threading.Event``; this module is the only Qt part of ``app.export``. In the studio an export is a job of
the render queue: ``JobQueue.submit(ExportRequest.of(doc, preset, path))`` runs it on the queue's render
lane (its own thread, beside generations; ``app.jobs.builtin_kinds.run_export`` calls
:func:`render_request`), with the Jobs panel's progress, ETA and cancel. A standalone export dialog (no queue)
and anything else with an event loop can drive one export through :class:`ExportRunner`:

    runner = ExportRunner(parent=window)
    runner.progress.connect(...)      # (done_frames, total_frames, eta_seconds), on the UI thread; the ETA
                                      # is app.export.eta.SmoothedEta's (-1 while estimating)
    runner.finished.connect(...)      # RenderReport
    runner.failed.connect(...)        # a message a user can act on
    runner.cancelled.connect(...)     # nothing was written
    runner.start(doc, preset, "/out/film.mov")
    runner.cancel()                   # takes effect at the renderer's next frame
    runner.shutdown()                 # before dropping the runner: cancel, quit, wait

The document is copied on the calling (UI) thread when the export starts, so edits made while it runs
neither race with the renderer nor change a half-written file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.document import TimelineDocument
from app.errors import AppError, ExportCancelled, ExportError
from app.export.eta import SmoothedEta
from app.export.presets import ExportPreset
from app.export.renderer import render_timeline

log = logging.getLogger(__name__)

# render_timeline(doc, preset, out_path, *, in_frame, out_frame, size, on_progress, cancel) -> RenderReport;
# project_folder= and fast=False are passed only when set, so a render function without them still works
RenderFunction = Callable[..., Any]

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second: tiny frames render in microseconds


@dataclass
class ExportRequest:
    """One export: a private copy of the document and where to write it. Also the spec of the render
    queue's "export" job kind (app.jobs.builtin_kinds): ``JobQueue.submit(ExportRequest.of(doc, ...))``."""

    doc: TimelineDocument
    preset: ExportPreset | str
    out_path: Path
    in_frame: int | None = None
    out_frame: int | None = None
    size: tuple[int, int] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    project_folder: Path | None = None  # refused as a destination (with every other project folder)
    render: RenderFunction | None = None  # render_timeline unless a test injects another
    frames: int = 0  # the frames to render, known at submit (the queue's progress total)
    # every frame through the float path and OpenColorIO itself (render_timeline's fast=False): the
    # reference, for a master that must match OCIO; the default fast path differs by about a code value
    exact: bool = False

    @classmethod
    def of(
        cls,
        doc: TimelineDocument,
        preset: ExportPreset | str,
        out_path: str | os.PathLike[str],
        *,
        in_frame: int | None = None,
        out_frame: int | None = None,
        size: tuple[int, int] | None = None,
        project_folder: str | os.PathLike[str] | None = None,
        render: RenderFunction | None = None,
        exact: bool = False,
    ) -> ExportRequest:
        """A request rendering the document as it is now: the copy is taken here, on the calling (UI)
        thread, so edits made while the export waits or runs change neither it nor the file."""
        snapshot = TimelineDocument.from_otio(doc.to_otio())
        duration = int(round(snapshot.duration().rescaled_to(snapshot.rate).value))
        start = 0 if in_frame is None else in_frame
        end = duration if out_frame is None else out_frame
        folder = Path(project_folder) if project_folder is not None else None
        return cls(
            snapshot, preset, Path(out_path), in_frame, out_frame, size,
            project_folder=folder, render=render, frames=max(0, end - start), exact=bool(exact),
        )  # fmt: skip

    # --- what the Jobs panel shows ---------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return self.frames

    @property
    def preset_name(self) -> str:
        return self.preset if isinstance(self.preset, str) else self.preset.name

    def display_name(self) -> str:
        return f"Export {self.out_path.name}"

    @property
    def detail(self) -> str:
        label = self.preset if isinstance(self.preset, str) else self.preset.label
        size = f", {self.size[0]}x{self.size[1]}" if self.size else ""
        exact = ", exact colour" if self.exact else ""
        return f"{label}{size}{exact}, {self.frames} frames to {self.out_path.parent}"

    def validate(self) -> None:
        if self.frames <= 0:
            raise ExportError("nothing to export: the timeline (or the in/out range) is empty")


def render_request(
    request: ExportRequest,
    on_progress: Callable[[int, int, float], None],
    render: RenderFunction | None = None,
    cancel: threading.Event | None = None,
) -> Any:
    """Run one export on the calling thread, reporting (done, total, smoothed ETA) at most ~20 times a
    second (and always the last frame). Returns the RenderReport; raises what the renderer raises
    (ExportCancelled once ``cancel`` -- default ``request.cancel`` -- is set, ExportError when it cannot
    write). An exact request renders with ``fast=False``; otherwise ``fast`` is not passed (the renderer's
    default is the fast path), so a render function without that keyword keeps working."""
    last_emit = [0.0]
    smoothed = SmoothedEta()

    def progress(done: int, total: int, _eta: float) -> None:
        eta = smoothed.update(int(done), int(total))  # every frame counts in the average
        now = time.monotonic()
        if done >= total or now - last_emit[0] >= PROGRESS_INTERVAL_S:
            last_emit[0] = now
            on_progress(int(done), int(total), float(eta))

    extra: dict[str, Any] = {}
    if request.project_folder is not None:
        extra["project_folder"] = request.project_folder
    if request.exact:
        extra["fast"] = False
    return (render or request.render or render_timeline)(
        request.doc,
        request.preset,
        request.out_path,
        in_frame=request.in_frame,
        out_frame=request.out_frame,
        size=request.size,
        on_progress=progress,
        cancel=cancel if cancel is not None else request.cancel,
        **extra,
    )


class _ExportWorker(QObject):
    """Lives on the runner's thread; runs the renderer and turns its outcome into signals."""

    progress = Signal(int, int, float)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, render: RenderFunction) -> None:
        super().__init__()
        self._render = render

    @Slot(object)
    def run(self, request: ExportRequest) -> None:
        try:
            report = render_request(request, self.progress.emit, self._render)
        except ExportCancelled:
            self.cancelled.emit()
        except AppError as exc:  # ExportError, ColorError, MediaError: written for the user already
            if request.cancel.is_set():
                self.cancelled.emit()  # a failure caused by the cancel (a closed file, say) is a cancel
            else:
                self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently
            log.exception("export to %s failed", request.out_path)
            self.failed.emit(
                f"The export failed unexpectedly ({type(exc).__name__}: {exc}). Nothing was written."
            )
        else:
            self.finished.emit(report)


class ExportRunner(QObject):
    """One export at a time on a worker QThread (started on the first export, stopped by shutdown)."""

    progress = Signal(int, int, float)  # done frames, total frames, ETA in seconds (negative: unknown)
    finished = Signal(object)  # RenderReport
    failed = Signal(str)  # a message a user can act on
    cancelled = Signal()
    _dispatch = Signal(object)  # ExportRequest -> worker thread

    def __init__(self, render: RenderFunction | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("aiprod-export")
        self._worker = _ExportWorker(render or render_timeline)
        self._worker.moveToThread(self._thread)
        self._dispatch.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._request: ExportRequest | None = None
        self._shut_down = False

    # ------------------------------------------------------------------------------------- public
    @property
    def busy(self) -> bool:
        """True from start() until finished, failed or cancelled has been emitted."""
        return self._request is not None

    @property
    def cancelling(self) -> bool:
        return self._request is not None and self._request.cancel.is_set()

    def start(
        self,
        doc: TimelineDocument,
        preset: ExportPreset | str,
        out_path: str | os.PathLike[str],
        *,
        in_frame: int | None = None,
        out_frame: int | None = None,
        size: tuple[int, int] | None = None,
        exact: bool = False,
    ) -> None:
        """Begin exporting; the outcome arrives as exactly one of finished / failed / cancelled. ``exact``:
        every frame through the float path and OpenColorIO itself (no fast path)."""
        if self._shut_down:
            raise RuntimeError("ExportRunner.start() after shutdown()")
        if self._request is not None:
            raise RuntimeError("an export is already running; cancel it or wait for it to end")
        # A private copy (taken by ExportRequest.of): the UI may keep editing the project while the worker
        # reads this one.
        self._request = ExportRequest.of(
            doc, preset, out_path, in_frame=in_frame, out_frame=out_frame, size=size, exact=exact
        )
        if not self._thread.isRunning():
            self._thread.start()
        self._dispatch.emit(self._request)

    def cancel(self) -> None:
        """Ask the running export to stop at its next frame; ``cancelled`` follows once it has cleaned up."""
        if self._request is not None:
            self._request.cancel.set()

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Cancel any export, stop the worker thread and wait for it. True if the thread stopped."""
        self._shut_down = True
        self.cancel()
        self._thread.quit()  # takes effect once the running export returns (soon: it is cancelled)
        stopped = self._thread.wait() if timeout_ms is None else self._thread.wait(timeout_ms)
        return stopped

    # ------------------------------------------------------------------------- worker signals
    @Slot(int, int, float)
    def _on_progress(self, done: int, total: int, eta: float) -> None:
        if self._request is not None:
            self.progress.emit(done, total, eta)

    @Slot(object)
    def _on_finished(self, report: object) -> None:
        self._request = None
        self.finished.emit(report)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._request = None
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._request = None
        self.cancelled.emit()

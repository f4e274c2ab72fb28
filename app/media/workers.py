"""Qt side of media: thumbnails and waveforms on a thread pool, and the timeline player.

Threading rule: the document is only touched on the UI thread. The player resolves *what* to show there
(``doc.video_at`` / ``doc.audio_segments`` are cheap) and its decode thread only decodes and composes.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

import numpy as np
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QElapsedTimer, QObject, QRunnable, QThread, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from app.errors import AppError
from app.media.cache import FrameCache
from app.media.compositor import TimelineCompositor
from app.media.levels import PeakMeter
from app.media.thumbnails import cached_thumbnail, thumbnail
from app.media.waveform import cached_waveform, waveform_peaks

READ_AHEAD_SECONDS = 1.0
SHUTTLE_RATES = (-4, -3, -2, -1, 0, 1, 2, 3, 4)
AUDIO_CHUNK_SECONDS = 0.1
AUDIO_LEAD_SECONDS = 0.3


def to_qimage(rgb: np.ndarray) -> QImage:
    """An owned QImage copy of an RGB uint8 ``[H, W, 3]`` array (safe to hand across threads)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


# ------------------------------------------------------------------------------------- thumbnails
class _Job(QRunnable):
    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self._work = work

    def run(self) -> None:
        self._work()


class ThumbnailProvider(QObject):
    """Computes thumbnails and waveform peaks on a QThreadPool; results arrive on the UI thread.

    ``request_thumbnail`` / ``request_waveform`` answer **synchronously** (return the value, emit nothing)
    when the result is already cached, and otherwise return None and emit ``ready`` / ``waveform_ready``
    later (queued to the provider's thread). Duplicate requests in flight are merged. A file that cannot be
    read emits ``failed(key, message)``.
    """

    ready = Signal(object, QImage)  # key (path, index, height), image
    waveform_ready = Signal(object, object)  # key (path, buckets, start, duration), np.float32 [buckets, 2]
    failed = Signal(object, str)
    _done = Signal(object, object, str)  # internal: from pool threads to this object's thread

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._in_flight: set[tuple] = set()
        self._lock = threading.Lock()
        self._done.connect(self._deliver)

    def request_thumbnail(self, path: str, index: int = 0, height: int = 72) -> QImage | None:
        cached = cached_thumbnail(path, index, height)
        if cached is not None:
            return to_qimage(cached)
        key = ("thumb", path, int(index), int(height))
        self._start(key, lambda: to_qimage(thumbnail(path, index, height)))
        return None

    def request_waveform(
        self, path: str, buckets: int, start_seconds: float = 0.0, duration_seconds: float | None = None
    ) -> np.ndarray | None:
        if cached_waveform(path):
            return waveform_peaks(path, buckets, start_seconds, duration_seconds)
        key = ("wave", path, int(buckets), float(start_seconds), duration_seconds)
        self._start(key, lambda: waveform_peaks(path, buckets, start_seconds, duration_seconds))
        return None

    def wait(self, msecs: int = -1) -> bool:
        """Block until queued work is done (tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()

    def _start(self, key: tuple, work: Callable[[], object]) -> None:
        with self._lock:
            if key in self._in_flight:
                return
            self._in_flight.add(key)

        def run() -> None:
            try:
                self._done.emit(key, work(), "")
            except AppError as exc:
                self._done.emit(key, None, str(exc))
            except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
                self._done.emit(key, None, f"Could not read '{key[1]}': {exc}")

        self._pool.start(_Job(run))

    @Slot(object, object, str)
    def _deliver(self, key: tuple, value: object, error: str) -> None:
        with self._lock:
            self._in_flight.discard(key)
        public = key[1:]
        if error:
            self.failed.emit(public, error)
        elif key[0] == "thumb":
            self.ready.emit(public, value)
        else:
            self.waveform_ready.emit(public, value)


# ------------------------------------------------------------------------------------------ player
class _Shared:
    """What the UI thread wants now; the decoder reads it to drop stale work (int reads are atomic)."""

    def __init__(self) -> None:
        self.generation = 0  # bumped by seeks and document changes
        self.wanted = 0  # the frame on screen


class _DecodeWorker(QObject):
    """Lives on the player's QThread: decodes requested frames first, then read-ahead one frame at a time."""

    rendered = Signal(int, int, QImage)  # generation, frame, image
    audio_ready = Signal(int, float, bytes)  # generation, timeline seconds of the first sample, float32 LR

    def __init__(self, compositor: TimelineCompositor, shared: _Shared) -> None:
        super().__init__()
        self._compositor = compositor
        self._shared = shared
        self._ahead: deque[tuple[int, int, object, tuple[int, int]]] = deque()
        self._stepping = False

    @Slot(int, int, object, object)
    def render(self, generation: int, frame: int, sample: object, size: object) -> None:
        if generation != self._shared.generation or frame != self._shared.wanted:
            return  # a newer seek or a later playhead already replaced this request
        self._emit(generation, frame, sample, size)

    @Slot(int, object, object)
    def prefetch(self, generation: int, plan: object, size: object) -> None:
        self._ahead.extend((generation, frame, sample, size) for frame, sample in plan)  # type: ignore[attr-defined]
        if not self._stepping:
            self._stepping = True
            QTimer.singleShot(0, self._step)

    @Slot(int, float, float, object, int)
    def mix(self, generation: int, start: float, end: float, segments: object, rate: int) -> None:
        if generation != self._shared.generation:
            return
        try:
            sound = self._compositor.audio_for(segments, start, end, rate)  # type: ignore[arg-type]
        except AppError:
            sound = np.zeros((2, max(round((end - start) * rate), 0)), np.float32)
        self.audio_ready.emit(generation, float(start), np.ascontiguousarray(sound.T).tobytes())

    @Slot()
    def close(self) -> None:
        self._ahead.clear()
        self._compositor.close()

    def _step(self) -> None:
        # One read-ahead frame per event-loop turn, so a seek queued meanwhile is served first.
        while self._ahead:
            generation, frame, sample, size = self._ahead.popleft()
            if generation == self._shared.generation and frame > self._shared.wanted:
                self._emit(generation, frame, sample, size)
                break
        if self._ahead:
            QTimer.singleShot(0, self._step)
        else:
            self._stepping = False

    def _emit(self, generation: int, frame: int, sample: object, size: object) -> None:
        try:
            video, grades, color = sample  # type: ignore[misc]
            rgb = self._compositor.frame_for(video, size, grades, color)  # type: ignore[arg-type]
        except AppError:
            width, height = size  # type: ignore[misc]
            rgb = np.zeros((height, width, 3), np.uint8)
        self.rendered.emit(generation, frame, to_qimage(rgb))


class TimelinePlayer(QObject):
    """Plays, scrubs and steps through a document's timeline.

    Decoding runs on one long-lived QThread; a QTimer at the timeline rate advances the playhead from a
    wall clock, so a slow decode drops frames instead of slowing playback. ``seek`` is latest-wins: older
    requests still queued are dropped by the decoder. Sound goes to a QAudioSink when an output device
    exists; without one the player runs silent. Call :meth:`shutdown` before dropping it.
    """

    frame_ready = Signal(int, QImage)
    position_changed = Signal(int)
    playing_changed = Signal(bool)
    levels = Signal(object)  # app.media.levels.MeterReading of the sound at the playhead, while playing
    _render = Signal(int, int, object, object)
    _prefetch = Signal(int, object, object)
    _mix = Signal(int, float, float, object, int)
    _close = Signal()

    def __init__(
        self,
        doc: object,
        cache: FrameCache | None = None,
        parent: QObject | None = None,
        audio: bool = True,
        sample_rate: int = 48000,
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self._compositor = TimelineCompositor(doc, cache)  # type: ignore[arg-type]
        self._shared = _Shared()
        self._images: OrderedDict[int, QImage] = OrderedDict()
        self._requested: set[int] = set()
        self._position = 0
        self._speed = 0
        self._anchor_frame = 0
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setTimerType(self._timer.timerType().PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._thread = QThread(self)
        self._thread.setObjectName("TimelinePlayer decode")
        self._worker = _DecodeWorker(self._compositor, self._shared)
        self._worker.moveToThread(self._thread)
        self._render.connect(self._worker.render)
        self._prefetch.connect(self._worker.prefetch)
        self._mix.connect(self._worker.mix)
        self._close.connect(self._worker.close)
        self._worker.rendered.connect(self._on_rendered)
        self._worker.audio_ready.connect(self._on_audio)
        self._thread.start()
        self._unsubscribe = doc.subscribe(self._on_document_changed)  # type: ignore[attr-defined]
        self._sample_rate = sample_rate
        self._audio = _AudioOut(sample_rate) if audio else None
        self._audio_cursor = 0.0
        # The meter hears what is played: the same mixed blocks, fed when the playhead reaches them (the
        # mix runs AUDIO_LEAD_SECONDS ahead). It runs without an output device too (silent playback).
        self.meter = PeakMeter(sample_rate)
        self._metering = False
        self._meter_queue: deque[tuple[float, np.ndarray]] = deque()

    # ---------------------------------------------------------------------------------------- state
    @property
    def position(self) -> int:
        return self._position

    @property
    def is_playing(self) -> bool:
        return self._speed != 0

    @property
    def speed(self) -> int:
        return self._speed

    @property
    def graded(self) -> bool:
        """Whether frames carry each clip's grade (the export's picture) or show the clips ungraded (A/B)."""
        return bool(getattr(self._compositor, "graded", True))

    @property
    def has_audio_output(self) -> bool:
        return self._audio is not None and self._audio.available

    def end_frame(self) -> int:
        """One past the last frame: where an editor parks the playhead to add after everything."""
        return max(int(round(self.doc.duration().value_rescaled_to(self.doc.rate))), 0)  # type: ignore[attr-defined]

    def last_frame(self) -> int:
        """The last frame with anything on it (0 for an empty timeline)."""
        return max(int(round(self.doc.duration().value_rescaled_to(self.doc.rate))) - 1, 0)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------------------------- commands
    def play(self) -> None:
        self.shuttle(1)

    def pause(self) -> None:
        self.shuttle(0)

    def toggle(self) -> None:
        self.shuttle(0 if self.is_playing else 1)

    def shuttle(self, speed: int) -> None:
        """J/K/L: play at ``speed`` times (negative: backwards), clamped to -4..4; 0 stops."""
        speed = max(min(int(speed), SHUTTLE_RATES[-1]), SHUTTLE_RATES[0])
        was_playing = self.is_playing
        if speed > 0 and self._position >= self.last_frame():
            self._set_position(0)  # play from the start when parked at the end
        self._speed = speed
        self._anchor_frame = self._position
        self._clock.restart()
        if speed:
            self._timer.start(max(1, int(1000 / (self.doc.rate * min(abs(speed), 2)))))  # type: ignore[attr-defined]
            self._start_audio()
            self._plan_ahead()
        else:
            self._timer.stop()
            self._stop_audio()
        if was_playing != self.is_playing:
            self.playing_changed.emit(self.is_playing)

    def seek(self, frame: int) -> None:
        """Show ``frame`` (clamped to the timeline); the latest seek wins."""
        if self.is_playing:
            self._anchor_frame = max(0, min(int(frame), self.last_frame()))
            self._clock.restart()
            self._stop_audio()
            self._start_audio()
        self._shared.generation += 1
        self._requested.clear()
        self._set_position(int(frame))

    def step(self, delta: int = 1) -> None:
        """Pause and move by ``delta`` frames."""
        self.pause()
        self.seek(self._position + delta)

    def set_graded(self, graded: bool) -> None:
        """Show the clips graded (default) or ungraded, and re-render the current frame to match."""
        if bool(graded) == self.graded:
            return
        # A plain attribute the decode thread reads per frame; the generation bump drops frames rendered
        # (or queued) with the old setting, so no stale picture is shown after the switch.
        self._compositor.graded = bool(graded)
        self.refresh()

    def refresh(self) -> None:
        """Re-render the current frame (the media changed on disk)."""
        self._invalidate()
        self._show(self._position)

    def shutdown(self) -> None:
        """Stop playback and the decode thread (waits for it)."""
        self._timer.stop()
        self._stop_audio()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread.isRunning():
            self._close.emit()
            self._thread.quit()
            self._thread.wait()

    # ------------------------------------------------------------------------------------ internals
    def _set_position(self, frame: int) -> None:
        frame = max(0, min(frame, self.last_frame() if self.is_playing else self.end_frame()))
        changed = frame != self._position
        self._position = frame
        self._shared.wanted = frame
        if changed:
            self.position_changed.emit(frame)
        self._show(frame)

    def _show(self, frame: int) -> None:
        image = self._images.get(frame)
        if image is not None:
            self._images.move_to_end(frame)
            self.frame_ready.emit(frame, image)
            return
        self._render.emit(self._shared.generation, frame, self._sample(frame), self._compositor.frame_size())

    def _sample(self, frame: int) -> object:
        # What to draw, read here on the UI thread: the sample, its clips' grades and the colour settings.
        video = self.doc.video_at(RationalTime(frame, self.doc.rate))  # type: ignore[attr-defined]
        grades = self._compositor.grades_for(video) if video is not None else {}
        return video, grades, self.doc.color_settings()  # type: ignore[attr-defined]

    def _tick(self) -> None:
        elapsed = self._clock.elapsed() / 1000.0
        target = self._anchor_frame + math.floor(elapsed * self.doc.rate * self._speed + 1e-9)  # type: ignore[attr-defined]
        end = self.last_frame()
        if target != self._position:
            self._set_position(target)
        if (self._speed > 0 and target >= end) or (self._speed < 0 and target <= 0):
            self.pause()
            return
        self._plan_ahead()
        self._feed_audio()
        self._feed_meter()

    def _plan_ahead(self) -> None:
        ahead = max(1, round(READ_AHEAD_SECONDS * self.doc.rate))  # type: ignore[attr-defined]
        direction = 1 if self._speed >= 0 else -1
        plan = []
        for offset in range(1, ahead + 1):
            frame = self._position + direction * offset * max(abs(self._speed), 1)
            if not 0 <= frame <= self.last_frame():
                break
            if frame in self._images or frame in self._requested:
                continue
            self._requested.add(frame)
            plan.append((frame, self._sample(frame)))
        if plan and direction > 0:
            self._prefetch.emit(self._shared.generation, plan, self._compositor.frame_size())

    @Slot(int, int, QImage)
    def _on_rendered(self, generation: int, frame: int, image: QImage) -> None:
        if generation != self._shared.generation:
            return
        self._requested.discard(frame)
        self._images[frame] = image
        self._images.move_to_end(frame)
        limit = max(48, round(3 * READ_AHEAD_SECONDS * self.doc.rate))  # type: ignore[attr-defined]
        while len(self._images) > limit:
            self._images.popitem(last=False)
        if frame == self._position:
            self.frame_ready.emit(frame, image)

    def _on_document_changed(self, _change: object) -> None:
        self._invalidate()
        self._set_position(self._position)

    def _invalidate(self) -> None:
        self._shared.generation += 1
        self._images.clear()
        self._requested.clear()

    # ---------------------------------------------------------------------------------------- audio
    def _start_audio(self) -> None:
        if self._speed != 1:
            return
        if self._audio is not None:
            self._audio.start()
        self._metering = True
        self.meter.reset()
        self._meter_queue.clear()
        self._audio_cursor = self._position / self.doc.rate  # type: ignore[attr-defined]
        self._feed_audio()

    def _stop_audio(self) -> None:
        if self._audio is not None:
            self._audio.stop()
        if self._metering:
            self._metering = False
            self._meter_queue.clear()
            self.meter.reset()
            self.levels.emit(self.meter.reading())  # silence: the bars drop when playback stops

    def _feed_audio(self) -> None:
        if not self._metering or self._speed != 1:
            return
        now = self._anchor_frame / self.doc.rate + self._clock.elapsed() / 1000.0  # type: ignore[attr-defined]
        rate = self.doc.rate  # type: ignore[attr-defined]
        while self._audio_cursor < now + AUDIO_LEAD_SECONDS:
            start, end = self._audio_cursor, self._audio_cursor + AUDIO_CHUNK_SECONDS
            segments = self.doc.audio_segments(
                RationalTime(start * rate, rate), RationalTime(end * rate, rate)
            )  # type: ignore[attr-defined]
            self._mix.emit(self._shared.generation, start, end, segments, self._sample_rate)
            self._audio_cursor = end

    @Slot(int, float, bytes)
    def _on_audio(self, generation: int, start: float, data: bytes) -> None:
        if generation != self._shared.generation or self._speed != 1:
            return
        if self._audio is not None and self._audio.running:
            self._audio.write(data)
        if self._metering:
            self._meter_queue.append((start, np.frombuffer(data, np.float32).reshape(-1, 2).T))

    def _feed_meter(self) -> None:
        """Feed the meter every mixed block the playhead has reached; emit ``levels``."""
        if not self._metering or not self._meter_queue:
            return
        now = self._anchor_frame / self.doc.rate + self._clock.elapsed() / 1000.0  # type: ignore[attr-defined]
        fed = False
        while self._meter_queue and self._meter_queue[0][0] <= now:
            self.meter.feed(self._meter_queue.popleft()[1])
            fed = True
        if fed:
            self.levels.emit(self.meter.reading())


class _AudioOut:
    """A QAudioSink in push mode, or nothing when the machine has no output device (never raises)."""

    def __init__(self, sample_rate: int) -> None:
        self._sink = None
        self._io = None
        self.available = False
        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

            device = QMediaDevices.defaultAudioOutput()
            if device.isNull():
                return
            fmt = QAudioFormat()
            fmt.setSampleRate(sample_rate)
            fmt.setChannelCount(2)
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
            if not device.isFormatSupported(fmt):
                return
            self._sink = QAudioSink(device, fmt)
            self.available = True
        except Exception:  # noqa: BLE001 - sound is optional; a broken audio stack must not stop playback
            self._sink = None

    @property
    def running(self) -> bool:
        return self._io is not None

    def start(self) -> bool:
        if self._sink is None:
            return False
        self._io = self._sink.start()
        return self._io is not None

    def stop(self) -> None:
        if self._sink is not None and self._io is not None:
            self._sink.reset()
        self._io = None

    def write(self, data: bytes) -> None:
        if self._io is not None:
            self._io.write(data)

"""The export's frame pipeline: decode on one thread, grade on a pool, hand frames over in order (Qt-free).

    decode thread ──queue(depth)──> grade workers (N, in parallel) ──in order──> consumer
                                                                                 (the encoder's
                                                                                  RGB->YUV thread,
                                                                                  then its encode thread)

Decoding stays on one thread (a decoder reads forward; its FFmpeg context is thread-confined), grading
runs on ``workers`` threads (OpenColorIO, numpy and FFmpeg release the GIL for the heavy parts), and the
consumer receives frames strictly in timeline order however the workers finish. Every queue is bounded, so
at most ``depth`` decoded frames wait and ``depth`` graded frames are in flight: memory stays bounded
whichever stage is slowest. The encoder (:func:`app.export.encoder.write_clip` with ``overlap=True``)
adds the RGB->YUV and encode stages on two more threads.

An exception in any stage ends the pipeline: the consumer gets it (an AppError as it is, anything else as
an ExportError naming the frame and the stage) at the frame where it happened, and :meth:`close` stops
and joins every thread. Closing early (a cancel, an encoder error) stops the decode thread at its next
frame and drops what was queued.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from app.errors import AppError, ExportError

_POLL_S = 0.05
_DONE = object()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or ``taskset``'s limit), which
    ``os.cpu_count()`` ignores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this OS (macOS, Windows)
        return os.cpu_count() or 2


def default_workers() -> int:
    """Grade threads for this machine: one per two usable cores (each frame's rows are split over two more
    threads by ``app.color.pipeline.apply_processor``), at least one, at most six."""
    return max(1, min(6, usable_cores() // 2))


class PipelinedFrames:
    """An in-order iterator over ``finish(decode(i))`` for ``i`` in ``first .. end - 1``, computed ahead.

    ``decode(i)`` runs on one thread, in order; ``finish(item)`` on ``workers`` threads. ``on_thread_end``
    runs on the decode thread when it stops (close what it opened there, e.g. decoders).
    """

    def __init__(
        self,
        first: int,
        end: int,
        decode: Callable[[int], Any],
        finish: Callable[[Any], np.ndarray],
        *,
        workers: int = 1,
        depth: int | None = None,
        on_thread_end: Callable[[], None] | None = None,
    ) -> None:
        self.first, self.end = first, end
        self.total = end - first
        self.workers = max(1, int(workers))
        self.depth = max(2, int(depth) if depth is not None else self.workers + 2)
        self._decode, self._finish, self._on_thread_end = decode, finish, on_thread_end
        self._decoded: queue.Queue = queue.Queue(maxsize=self.depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[int, Future]] = deque()
        self._closed = False

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._thread is not None:
            raise RuntimeError("a PipelinedFrames can be iterated once")
        self._thread = threading.Thread(target=self._decode_loop, name="aiprod-decode", daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="aiprod-grade")
        self._thread.start()
        try:
            fetched = self.first
            for _ in range(self.total):
                # keep the grade workers fed: up to depth frames in flight, fetched in order
                while fetched < self.end and (not self._pending or len(self._pending) < self.depth):
                    index, item = self._next_decoded()
                    self._pending.append((index, self._pool.submit(self._finish, item)))
                    fetched += 1
                    if not self._decoded.qsize() and len(self._pending) >= self.workers:
                        break  # the decoder is behind: hand over what is ready rather than wait for it
                index, future = self._pending.popleft()
                yield _result(future, index, "grading")
        finally:
            self.close()

    def close(self) -> None:
        """Stop every stage and wait for its threads (idempotent; also called when iteration ends)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for _index, future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        while True:  # unblock a decoder waiting on a full queue
            try:
                self._decoded.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None:
            self._thread.join()

    # ------------------------------------------------------------------------------------- internals
    def _next_decoded(self) -> tuple[int, Any]:
        while True:
            try:
                kind, index, payload = self._decoded.get(timeout=_POLL_S)
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive() and self._decoded.empty():
                    raise ExportError("internal error: the decode thread stopped without a frame") from None
                continue
            if kind == "error":
                raise _as_export_error(payload, index, "decoding")
            return index, payload

    def _decode_loop(self) -> None:
        try:
            for index in range(self.first, self.end):
                if self._stop.is_set():
                    return
                try:
                    item = self._decode(index)
                except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                    self._put(("error", index, exc))
                    return
                if not self._put(("frame", index, item)):
                    return
        finally:
            if self._on_thread_end is not None:
                try:
                    self._on_thread_end()
                except Exception:  # noqa: BLE001, S110 - closing decoders must not hide the real outcome
                    pass

    def _put(self, entry: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._decoded.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False


def _result(future: Future, index: int, stage: str) -> np.ndarray:
    try:
        return future.result()
    except BaseException as exc:
        raise _as_export_error(exc, index, stage) from exc


def _as_export_error(exc: BaseException, index: int, stage: str) -> BaseException:
    if isinstance(exc, (AppError, KeyboardInterrupt, SystemExit)):
        return exc
    error = ExportError(
        f"The export failed while {stage} timeline frame {index} ({type(exc).__name__}: {exc}). "
        "Nothing was written."
    )
    error.__cause__ = exc
    return error

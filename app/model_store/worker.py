"""Runs a download in the background for the model manager: a child process
(``python -m app.model_store.download``) so the studio's own process stays offline (the engine sets
``HF_HUB_OFFLINE``), and a cancel can stop it at once; what it fetched stays as a partial file and resumes.
QtCore only: signals carry the child's JSON lines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from app.model_store.download import child_environment


class DownloadWorker(QObject):
    planned = Signal(list)  # [RemoteFile as dict]
    progress = Signal(dict)  # Progress as dict
    finished = Signal(list)  # paths written
    failed = Signal(str, str)  # kind, message
    remembered = Signal(str)  # the token was checked and stored (huggingface_hub's token file); masked
    warned = Signal(str)  # something the user should know that did not stop the download

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._process: QProcess | None = None
        self._buffer = b""
        self._ended = False
        self._result: dict | None = None

    def is_running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def start(self, version: str, folder: Path, keys: list[str], token: str | None = None, *,
              verify: bool = False, plan_only: bool = False, remember: bool = False) -> None:  # fmt: skip
        if self.is_running():
            raise RuntimeError("a download is already running")
        process = QProcess(self)
        env = QProcessEnvironment()
        for key, value in child_environment(token).items():
            env.insert(key, value)
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self._process, self._buffer, self._ended = process, b"", False
        args = ["-m", "app.model_store.download"]
        args += ["--verify"] if verify else []
        args += ["--plan-only"] if plan_only else []
        args += ["--remember"] if remember and token else []
        process.start(sys.executable, [*args, version, str(folder), *keys])

    def cancel(self) -> None:
        """Stop now; the bytes fetched so far stay and the next download resumes from them."""
        if self.is_running():
            self._ended = True
            self._process.kill()
            self._process.waitForFinished(5000)
            self.failed.emit("cancelled", "Download cancelled; it resumes where it stopped next time.")

    def wait(self, msecs: int = 60000) -> bool:
        return self._process is None or self._process.waitForFinished(msecs)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._ended:
            self._ended = True
            self.failed.emit("crashed", f"The download process could not start ({sys.executable}).")

    def _read(self) -> None:
        self._buffer += bytes(self._process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "plan" in message:
                self.planned.emit(message["plan"])
            elif "progress" in message:
                self.progress.emit(message["progress"])
            elif "remembered" in message:
                self.remembered.emit(message["remembered"])
            elif "warning" in message:
                self.warned.emit(message["warning"])
            elif "done" in message or "error" in message:
                self._result = message  # said once the process has exited (is_running() is then False)

    def _finished(self, code: int, _status) -> None:
        self._read()
        if not self._ended:
            self._ended = True
            result, self._result = self._result, None
            if result is not None and "done" in result:
                self.finished.emit(result["done"])
            elif result is not None:
                self.failed.emit(result.get("kind", "error"), result["error"])
            elif code == 0:
                self.finished.emit([])  # --plan-only
            else:
                errors = bytes(self._process.readAllStandardError()).decode(errors="replace").strip()
                self.failed.emit("crashed", f"The download process stopped (status {code}): {errors[-400:]}")

"""Drives an INSTALLED studio from its first start to a first clip, as a new user would, on a real X server.

Run by the installed venv's python (tests/install/test_install_to_first_clip.py does it under xvfb-run), never
by the checkout's: it starts the installed ``ui.main.main()`` (what the ``aiprod-studio`` launcher runs: the
theme, the main window, crash recovery, the first-run model manager) and, once the studio's event loop runs,
clicks through the studio's own screens:

1. the first-run model manager over the main window;
2. "Choose folder..." and, in the folder dialog that opens, the folder named in ``$DRIVER_MODELS_FOLDER``;
3. the Production preset, "Ask the hub for sizes", "Download missing" (the hub is ``$HF_ENDPOINT``);
4. "Use this model", Close;
5. a prompt, the "64 x 64 (tiny test)" size, the shortest duration, 2 steps, the full recipe, Generate;
6. the clip on the timeline.

Nothing in the studio is patched but ``QApplication.exec``, wrapped to start the driving once the loop runs.
At each step the part of the X screen under the main window (dialogs over it included) is saved into
``$DRIVER_SCREENSHOTS``; what was seen is written as JSON to ``$DRIVER_RESULT`` (``steps`` reached,
``error`` with the step where it stopped).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (  # noqa: TID251 - the driver clicks the studio's widgets, as tests/ui does
    QApplication,
    QComboBox,
    QDialog,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

RESULT = Path(os.environ["DRIVER_RESULT"])
SHOTS = Path(os.environ["DRIVER_SCREENSHOTS"])
MODELS = Path(os.environ["DRIVER_MODELS_FOLDER"])
PROMPT = "a lighthouse at dusk, waves, wind"
result: dict = {"steps": [], "screenshots": []}
STARTED = time.monotonic()


class StepFailed(RuntimeError):
    pass


def pump(ms: int) -> None:
    """Run the studio's event loop for `ms` milliseconds. A QEventLoop, not QTest.qWait: qWait holds the GIL
    while it waits, which starves the engine's worker thread (a generation then takes minutes)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save() -> None:
    RESULT.write_text(json.dumps(result, indent=1))


def step(name: str, **facts) -> None:
    result["steps"].append(name)
    result.setdefault("seconds", []).append(round(time.monotonic() - STARTED, 1))
    result.update(facts)
    save()


def shot(name: str) -> None:
    pump(300)  # let the last repaint reach the X server
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    screen = QApplication.primaryScreen()
    mains = [w for w in QApplication.topLevelWidgets() if w.inherits("QMainWindow") and w.isVisible()]
    area = mains[0].frameGeometry() if mains else screen.geometry()  # the window and what is over it
    if screen.grabWindow(0, area.x(), area.y(), area.width(), area.height()).save(str(path)):
        result["screenshots"].append(str(path))


def message_box() -> QMessageBox | None:
    """A message box the studio opened (an error a user would see)."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            return widget
    return None


def wait_until(what: str, condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        box = message_box()
        if box is not None:
            shot("error.png")
            said = f"{box.text()} {box.informativeText()}".strip()
            raise StepFailed(f"while waiting for {what} the studio said: {said}")
        if time.monotonic() > deadline:
            shot("timeout.png")
            raise StepFailed(f"{what}: not seen within {timeout_s:.0f} s")
        pump(50)


def find(cls: type, object_name: str | None = None) -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, cls) and widget.isVisible():
            if object_name is None or widget.objectName() == object_name:
                return widget
    return None


def click(widget: QWidget) -> None:
    if not widget.isEnabled():
        raise StepFailed(f"the button {widget.objectName()!r} ({widget.text()!r}) is disabled")
    widget.click()


def status_text(dialog: QWidget) -> str:
    return dialog.findChild(QLabel, "modelStatus").text()


def choose_folder_in_dialog(deadline: float) -> None:
    """Runs while QFileDialog.getExistingDirectory blocks: type the folder and accept, as a user would."""
    try:
        picker = QApplication.activeModalWidget()
        if not isinstance(picker, QFileDialog) or not picker.isVisible():
            if time.monotonic() > deadline:
                raise StepFailed(f"'Choose folder...' opened {type(picker).__name__}, not a folder dialog")
            QTimer.singleShot(100, lambda: choose_folder_in_dialog(deadline))
            return
        shot("install_2_choose_folder.png")
        name = picker.findChild(QLineEdit, "fileNameEdit")
        if name is not None:  # Qt's own dialog (no desktop's native one under Xvfb)
            name.setText(str(MODELS))
            pump(100)
        picker.setDirectory(str(MODELS.parent))
        picker.selectFile(str(MODELS))
        picker.accept()
    except Exception as exc:  # noqa: BLE001 - reported by the driving code, which is blocked meanwhile
        result["folder_dialog_error"] = repr(exc)
        save()
        active = QApplication.activeModalWidget()
        if isinstance(active, QDialog):
            active.reject()


def drive() -> None:
    import app
    from app.document.model import TrackKind
    from ui.main_window import MainWindow

    result["app_file"] = app.__file__
    result["python"] = sys.executable
    save()

    # 1. the first start: the main window, the model manager over it
    wait_until("the main window", lambda: find(MainWindow) is not None, 60)
    window = find(MainWindow)
    wait_until("the first-run model manager", lambda: find(QDialog, "modelManager") is not None, 30)
    manager = find(QDialog, "modelManager")
    result["manager_title"] = manager.windowTitle()
    result["generate_enabled_before"] = window.generate_panel.generate_button.isEnabled()
    result["window_size"] = [window.frameGeometry().width(), window.frameGeometry().height()]
    result["window_minimum"] = [window.minimumSizeHint().width(), window.minimumSizeHint().height()]
    shot("install_1_first_start.png")
    step("model manager offered")

    # 2. the models folder, chosen in the folder dialog
    QTimer.singleShot(100, lambda: choose_folder_in_dialog(time.monotonic() + 30))
    click(manager.findChild(QPushButton, "modelsFolderButton"))
    if "folder_dialog_error" in result:
        raise StepFailed(result["folder_dialog_error"])
    folder_edit = manager.findChild(QLineEdit, "modelsFolderEdit")
    chosen = str(MODELS.resolve())
    wait_until("the chosen folder in the model manager", lambda: folder_edit.text() == chosen, 10)
    step("models folder chosen", folder_shown=folder_edit.text())

    # 3. a preset, its size asked of the hub, the download
    manager.findChild(QComboBox, "modelPresetCombo").setCurrentText("Production")
    click(manager.findChild(QPushButton, "modelSizesButton"))
    asked = lambda: "To fetch:" in status_text(manager) or status_text_state(manager) == "problem"  # noqa: E731
    wait_until("the sizes from the hub", asked, 60)
    result["sizes_text"] = status_text(manager)
    if status_text_state(manager) == "problem":
        shot("sizes_failed.png")
        raise StepFailed(f"asking the hub for sizes failed: {result['sizes_text']}")
    shot("install_3_sizes.png")
    step("sizes asked")
    use = manager.findChild(QPushButton, "modelUseButton")
    click(manager.findChild(QPushButton, "modelDownloadButton"))
    wait_until("the download", lambda: use.isEnabled() or status_text_state(manager) == "problem", 180)
    result["download_text"] = status_text(manager)
    if not use.isEnabled():
        shot("download_failed.png")
        raise StepFailed(f"the download did not end ready: {result['download_text']}")
    shot("install_4_downloaded.png")
    step("downloaded")

    # 4. Use, then close the manager
    click(use)
    wait_until("the model in use", lambda: window.generate_panel.generate_button.isEnabled(), 30)
    result["use_text"] = status_text(manager)
    result["checkpoint"] = window.engine_settings.checkpoint
    result["settings_problems"] = window.engine_settings.detect()
    shot("install_5_use.png")
    click(manager.findChild(QPushButton, "modelCloseButton"))
    wait_until("the model manager closed", lambda: find(QDialog, "modelManager") is None, 10)
    step("model used")

    # 5. a first generation from the Generate panel
    panel = window.generate_panel
    panel.prompt_edit.setFocus()
    QTest.keyClicks(panel.prompt_edit, PROMPT)
    sizes = [panel.size_combo.itemText(i) for i in range(panel.size_combo.count())]
    panel.size_combo.setCurrentIndex(next(i for i, text in enumerate(sizes) if text.startswith("64 x 64")))
    panel.duration_spin.setValue(panel.duration_spin.minimum())
    panel.steps_spin.setValue(2)
    panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.findData("full"))
    failures: list[str] = []
    window.jobs.job_failed.connect(lambda _job, message: failures.append(message))
    shot("install_6_generate.png")
    click(panel.generate_button)
    step("generate pressed")

    # 6. the clip on the timeline
    doc = window.session.doc
    video = doc.tracks(TrackKind.VIDEO)[0].id

    def landed() -> bool:
        if failures:
            raise StepFailed(f"the generation failed: {failures[0]}")
        return len(doc.clips(video)) >= 1

    wait_until("the clip on the timeline", landed, 300)
    clip = doc.clips(video)[0]
    item = doc.bin_item(clip.media_id)
    result["clips_on_timeline"] = len(doc.clips(video))
    result["clip_media"] = item.path
    result["clip_bytes"] = Path(item.path).stat().st_size  # a never-saved project's media go when it closes
    result["clip_kind"] = item.kind
    result["clip_prompt"] = (item.generation or {}).get("prompt", "")
    result["clip_checkpoint_identity"] = (item.generation or {}).get("checkpoint_identity", "")
    pump(500)
    shot("install_7_first_clip.png")
    step("clip on the timeline")


def status_text_state(dialog: QWidget) -> str:
    return dialog.findChild(QLabel, "modelStatus").property("state") or ""


def quit_like_a_user() -> None:
    """Close the main window as a user would; "Discard" when the studio asks about the unsaved project."""
    from ui.main_window import MainWindow

    def answer() -> None:
        box = message_box()
        if box is None:
            QTimer.singleShot(100, answer)
            return
        result["quit_prompt"] = box.text()
        save()
        discard = box.button(QMessageBox.StandardButton.Discard)
        (discard or box.button(QMessageBox.StandardButton.Yes) or box.defaultButton()).click()

    window = find(MainWindow)
    if window is None:
        QApplication.exit(1)
        return
    QTimer.singleShot(100, answer)
    if not window.close():
        result.setdefault("error", "the main window refused to close")
        save()
        window.shutdown()
        QApplication.exit(1)


def run_driver() -> None:
    try:
        drive()
    except Exception as exc:  # noqa: BLE001 - written for the test to report
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    save()
    quit_like_a_user()


def main() -> int:
    save()
    real_exec = QApplication.exec

    def exec_and_drive(*_args) -> int:
        QTimer.singleShot(0, run_driver)
        return real_exec()  # a static method in PySide6

    QApplication.exec = exec_and_drive
    from ui.main import main as studio_main

    code = studio_main(["aiprod-studio"])
    result["exit_code"] = code
    save()
    return code or (1 if "error" in result else 0)


if __name__ == "__main__":
    sys.exit(main())

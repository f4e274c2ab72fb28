"""Shared by the UI tests that drive the whole studio window: prompts that never open a dialog, a MainWindow
on its own settings file (shown, and shut down at the end), and the dark theme for screenshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest

from ui.main_window import MainWindow
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice


def _ignore(_text: str) -> None:
    return None


def quiet_prompts(error: Callable[[str], None] = _ignore) -> ProjectPrompts:
    """Answers without dialogs: discard unsaved changes, no file chosen, confirm, recover nothing, relink
    nothing; error messages go to `error` (pass ``errors.append`` to assert on them)."""
    return ProjectPrompts(
        unsaved=lambda _name: UnsavedChoice.DISCARD,
        open_path=lambda: None,
        save_path=lambda _suggested: None,
        confirm=lambda _text: True,
        recover=lambda entries: RecoveryDecision(),
        relink=lambda _actions: None,
        error=error,
    )


def open_window(
    qtbot,  # noqa: ANN001
    tmp_path: Path,
    name: str = "settings.ini",
    *,
    prompts: ProjectPrompts | None = None,
    show: bool = True,
    size: tuple[int, int] | None = None,
    **kwargs,  # noqa: ANN003 - passed on to MainWindow (e.g. engine_factory)
) -> MainWindow:
    """A studio window with its settings in ``tmp_path / name``, owned by `qtbot`, resized to `size` if given;
    shown and exposed unless ``show=False``."""
    settings = QSettings(str(tmp_path / name), QSettings.Format.IniFormat)
    window = MainWindow(settings, prompts=prompts or quiet_prompts(), **kwargs)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    if show:
        window.show()
        qtbot.waitExposed(window)
    return window


@contextmanager
def opened_window(qtbot, tmp_path: Path, **kwargs) -> Iterator[MainWindow]:  # noqa: ANN001, ANN003
    """:func:`open_window`, shut down (jobs, players, threads) when the block ends."""
    window = open_window(qtbot, tmp_path, **kwargs)
    try:
        yield window
    finally:
        window.shutdown()


@contextmanager
def dark_theme(app) -> Iterator[None]:  # noqa: ANN001 - the QApplication
    """The studio's dark theme on `app` for the block (screenshots); the style, palette and style sheet it had
    before come back after."""
    from ui.theme import apply_dark_theme

    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    try:
        yield
    finally:
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])


def focus(qtbot, widget) -> None:  # noqa: ANN001
    """Give ``widget`` (a QWidget) the keyboard focus in its (activated) window, and wait until it has it."""
    widget.window().activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)
    assert QGuiApplication.focusObject() is widget


def press(qtbot, widget, key: str) -> None:  # noqa: ANN001
    """`key` typed into `widget` (focused first), through the window's shortcut map as a user's would."""
    focus(qtbot, widget)
    combo = QKeySequence(key)[0]
    QTest.keyClick(widget, combo.key(), combo.keyboardModifiers())


def tiny_job(panel, prompt: str, seconds: float = 0.3, steps: int = 2, model: str | None = None) -> None:  # noqa: ANN001
    """Fill the Generate panel for a tiny, fast generation: ``prompt``, 64x64, ``seconds`` long (0.3 s: 9
    frames at 24 fps), ``steps`` denoising steps, and ``model`` (a model combo entry) when given."""
    panel.prompt_edit.setPlainText(prompt)
    if model is not None:
        panel.model_combo.setCurrentIndex(panel.model_combo.findData(model))
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("64x64"))
    panel.duration_spin.setValue(seconds)
    panel.steps_spin.setValue(steps)

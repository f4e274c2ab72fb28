"""A keyframe taken from the viewer's frame is saved inside the project: in an unsaved project, in the
session's scratch media folder (which crash recovery keeps); once the project is saved, in its media/keyframes
folder, so the project keeps it. Never in the system's temporary folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from window_helpers import open_window

from app.project.paths import scratch_dir


def test_viewer_keyframes_are_saved_in_the_project_not_the_temp_folder(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    window = open_window(qtbot, tmp_path, show=False)
    frame = (np.random.default_rng(2).random((32, 48, 3)) * 255).astype(np.uint8)
    options = window.generate_panel.options
    monkeypatch.setattr(options, "_current_frame", lambda: frame)

    qtbot.mouseClick(options.viewer_keyframe_button, Qt.MouseButton.LeftButton)
    unsaved = Path(options.keyframes()[0][0])
    session = window.session
    assert unsaved.is_file() and unsaved.suffix == ".png"
    assert unsaved.is_relative_to(scratch_dir(session.session_id))  # recovery keeps this folder
    assert not unsaved.is_relative_to(Path(tempfile.gettempdir()) / "aiprod-keyframes")
    assert np.array_equal(np.asarray(Image.open(unsaved).convert("RGB")), frame)

    session.save(tmp_path / "Harbour.aiprod")
    options.add_viewer_keyframe()
    saved = Path(options.keyframes()[-1][0])
    assert saved.is_file() and saved.parent == session.layout.media / "keyframes"
    assert saved.is_relative_to(tmp_path / "Harbour.aiprod")
    assert np.array_equal(np.asarray(Image.open(saved).convert("RGB")), frame)

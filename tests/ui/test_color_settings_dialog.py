"""Project colour settings: choices come from the OCIO config, problems show inline with OK disabled, and OK
is one undoable edit of the document's settings."""

from __future__ import annotations

import PyOpenColorIO as ocio
import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QDialogButtonBox

from app.color import ColorSettings
from app.document import TimelineDocument
from ui.color_settings_dialog import ColorSettingsDialog

ACES_VIEW = "ACES 2.0 - SDR 100 nits (Rec.709)"


@pytest.fixture
def doc() -> TimelineDocument:
    return TimelineDocument(name="Colour", rate=24)


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def dialog(qtbot, doc, stack) -> ColorSettingsDialog:
    widget = ColorSettingsDialog(doc, stack)
    qtbot.addWidget(widget)
    widget.open()  # non-blocking, as the main window opens it
    return widget


def ok_enabled(dialog: ColorSettingsDialog) -> bool:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_defaults_are_valid_and_offer_the_configs_names(dialog):
    assert dialog.builtin_radio.isChecked() and ok_enabled(dialog) and dialog.error_text() == ""
    assert dialog.settings() == ColorSettings()
    assert dialog.display.findData("sRGB - Display") > 0
    assert dialog.working_space.findData("ACEScg") > 0
    assert dialog.view.findData(ACES_VIEW) > 0  # views of the default display
    assert "Video (colorimetric)" in dialog.view.itemText(0)  # the default is named
    assert "identity" in dialog.summary_label.text()


def test_ok_applies_the_settings_as_one_undo_step(dialog, doc, stack):
    dialog.select(display="sRGB - Display", view=ACES_VIEW, working_space="ACEScg")
    assert ok_enabled(dialog)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert doc.color_settings() == {"display": "sRGB - Display", "view": ACES_VIEW, "working_space": "ACEScg"}
    assert stack.count() == 1 and stack.undoText() == "Colour settings"
    stack.undo()
    assert doc.color_settings() == {}
    assert not dialog.isVisible()


def test_changing_the_display_offers_its_views(dialog):
    dialog.select(display="Display P3 - Display")
    views = [dialog.view.itemData(i) for i in range(1, dialog.view.count())]
    assert views and all(isinstance(v, str) for v in views)
    assert dialog.settings() is not None and dialog.settings().display == "Display P3 - Display"


def test_a_missing_config_file_shows_why_and_keeps_ok_disabled(dialog, doc, stack, tmp_path):
    dialog.set_config_file(str(tmp_path / "nowhere.ocio"))
    assert "nowhere.ocio" in dialog.error_text() and dialog.error_label.isVisibleTo(dialog)
    assert not ok_enabled(dialog) and dialog.settings() is None
    dialog.accept()  # a stray Enter: nothing happens
    assert doc.color_settings() == {} and stack.count() == 0

    dialog.set_config_file(None)  # back to the built-in config clears the error
    assert dialog.error_text() == "" and ok_enabled(dialog)


def test_a_malformed_config_file_is_a_clear_error(dialog, tmp_path):
    bad = tmp_path / "broken.ocio"
    bad.write_text("ocio_profile_version: 2\nroles: [this is: not valid\n")
    dialog.set_config_file(str(bad))
    assert "broken.ocio" in dialog.error_text() and not ok_enabled(dialog)


def test_a_users_config_file_is_used_and_its_names_offered(dialog, doc, tmp_path):
    config = ocio.Config.CreateFromFile("ocio://cg-config-latest")
    path = tmp_path / "studio.ocio"
    path.write_text(config.serialize())
    dialog.set_config_file(str(path))
    assert dialog.error_text() == "" and dialog.file_radio.isChecked()
    offered = {dialog.working_space.itemData(i) for i in range(1, dialog.working_space.count())}
    assert offered == set(config.getColorSpaceNames())
    dialog.accept()
    assert doc.color_settings() == {"config": str(path)}

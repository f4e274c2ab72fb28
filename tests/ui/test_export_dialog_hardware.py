"""The export dialog lists hardware encoder presets only where their encoder opened (the probe is replaced to
simulate a machine with NVENC, and one with none) and says why none are offered."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QSettings

from app.document import TimelineDocument, TrackKind
from app.export import hardware
from app.media.importer import import_files
from tests.media_builders import make_video
from ui.export_dialog import HARDWARE_GROUP, ExportDialog

# a test run never rewrites the README's images in docs/screenshots (those are refreshed by hand)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(autouse=True)
def fresh_probe():
    hardware.set_prober(None)
    yield
    hardware.set_prober(None)


def opens(names: set[str]):
    def prober(preset):
        ok = preset.name in names
        fmt = preset.delivery_format()
        reason = "" if ok else "PermissionError: Operation not permitted"
        return hardware.ProbeResult(preset.name, fmt.video_codec, preset.hardware_family, ok, reason, 0.0)

    return prober


@pytest.fixture
def doc(tmp_path) -> TimelineDocument:
    document = TimelineDocument(name="Hardware", rate=24)
    ids, errors = import_files(document, [make_video(tmp_path / "a.mp4", frames=12, size=(64, 48))])
    assert not errors
    document.insert(ids[0], document.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
    return document


def make(qtbot, doc, tmp_path) -> ExportDialog:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = ExportDialog(doc, settings)
    qtbot.addWidget(dialog)
    return dialog


def hardware_items(dialog: ExportDialog) -> list[str]:
    tree = dialog.preset_tree
    for i in range(tree.topLevelItemCount()):
        header = tree.topLevelItem(i)
        if header.text(0) == HARDWARE_GROUP:
            return [header.child(j).text(0) for j in range(header.childCount())]
    return []


def test_hardware_presets_are_listed_only_where_their_encoder_opens(qtbot, doc, tmp_path):
    hardware.set_prober(opens({"h265_main10_nvenc", "h264_nvenc"}))
    dialog = make(qtbot, doc, tmp_path)
    assert hardware_items(dialog) == [
        "H.264 High — NVIDIA NVENC (.mp4)",
        "H.265 Main10 — NVIDIA NVENC (.mp4)",
    ]
    assert "hevc_nvenc" in dialog.hardware_label.text() and not dialog.hardware_label.isHidden()
    dialog.select_preset("h265_main10_nvenc")
    assert dialog.current_preset().name == "h265_main10_nvenc"
    assert dialog.destination_edit.text().endswith(".mp4")
    dialog.resize(760, 620)
    dialog.show()
    qtbot.waitExposed(dialog)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SCREENSHOTS / "export_hardware_presets.png"))


def test_without_a_hardware_encoder_none_is_listed_and_the_dialog_says_why(qtbot, doc, tmp_path):
    hardware.set_prober(opens(set()))
    dialog = make(qtbot, doc, tmp_path)
    assert hardware_items(dialog) == []
    text = dialog.hardware_label.text()
    assert "No hardware video encoder opened" in text and "H100" in text
    with pytest.raises(KeyError):
        dialog.select_preset("h265_main10_nvenc")

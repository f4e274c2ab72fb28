"""'Extend Clip...' in the timeline's context menu, end to end in the window with the tiny model: the dialog
queues an extend job, the new clip (with sound) joins the original right after it, and one Undo removes it."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from window_helpers import open_window

from app.export import probe
from app.jobs import EngineSettings
from app.jobs.extend import ExtendSpec
from ui.extend_dialog import ExtendDialog


def test_extend_clip_from_the_context_menu_joins_a_new_clip_as_one_undo_step(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    window = open_window(qtbot, tmp_path, show=False)
    try:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        panel.prompt_edit.setPlainText("a harbour at dawn")
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
        panel.size_combo.setCurrentIndex(panel.size_combo.findData("64x64"))
        panel.duration_spin.setValue(0.7)  # 17 frames
        panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.findData("distilled"))
        panel.place_check.setChecked(True)
        with qtbot.waitSignal(window.jobs.job_finished, timeout=120_000):
            panel.request_generate()
        doc = window.session.doc
        track = doc.tracks()[0].id
        qtbot.waitUntil(lambda: len(doc.clips(track)) == 1)
        clip = doc.clips(track)[0]

        window.show()
        qtbot.waitExposed(window)
        window.timeline._ensure_synced()  # noqa: SLF001 -- the scene follows the document lazily
        item = window.timeline._items[clip.id]  # noqa: SLF001 -- where the clip is drawn
        centre = window.timeline.mapFromScene(item.sceneBoundingRect().center())
        actions = dict(window.timeline.context_actions(QPointF(centre)))
        assert "Extend Clip..." in actions
        opened = []
        window.timeline.extend_requested.connect(opened.append)
        actions["Extend Clip..."]()
        assert opened == [clip.id]
        dialog = window.findChild(ExtendDialog)
        assert dialog is not None and dialog.prompt_edit.toPlainText() == "a harbour at dawn"
        dialog.seconds_spin.setValue(0.5)
        spec = dialog.spec()
        assert isinstance(spec, ExtendSpec) and spec.recipe == "distilled" and spec.model == "tiny"
        count = window.session.stack.count()
        with qtbot.waitSignal(window.jobs.job_finished, timeout=120_000) as done:
            dialog.queue_button.click()
        extension = done.args[1]
        qtbot.waitUntil(lambda: len(doc.clips(track)) == 2)
        joined = doc.clips(track)[1]
        assert joined.media_id == extension.id and joined.start == clip.end
        info = probe(extension.path)
        assert info["frame_count"] == 16 and info["channels"] == 2
        assert window.session.stack.count() == count + 1
        assert window.session.stack.undoText() == f"Extend {extension.name}"
        window.session.stack.undo()
        assert [c.id for c in doc.clips(track)] == [clip.id]
    finally:
        window.shutdown()

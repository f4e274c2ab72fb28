"""Issue 14: Fill Gap with Generation, end to end in the window with the tiny model: the gap between two
clips is selected, the dialog says how long the model makes it and that it is trimmed, the queued job has
the neighbours' frames as its first and last keyframes (PNGs in the project's folder), and the finished clip
fills the gap exactly as one undo step."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import numpy as np
from opentimelineio.opentime import RationalTime, TimeRange
from PIL import Image
from PySide6.QtWidgets import QApplication
from window_helpers import open_window

from app.commands import push_edit
from app.document import MediaItem, TrackKind
from app.jobs import EngineSettings
from app.jobs.gapfill import GapFillSpec
from app.media.probe import probe_media
from tests.media_builders import decoded_index, make_video
from ui.gap_fill_dialog import GapFillDialog


def test_fill_gap_with_the_tiny_model_places_a_clip_exactly_in_the_gap(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    window = open_window(qtbot, tmp_path, "s.ini", show=False)
    try:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
        panel.size_combo.setCurrentIndex(panel.size_combo.findData("64x64"))
        panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.findData("distilled"))
        panel.prompt_edit.setPlainText("a harbour at dawn")
        doc, stack = window.session.doc, window.session.stack
        track = doc.tracks(TrackKind.VIDEO)[0].id
        ids = []
        for name in ("before", "after"):
            path = make_video(tmp_path / f"{name}.mkv", frames=24, codec="ffv1", audio=False)
            ids.append(doc.add_bin_item(MediaItem(uuid.uuid4().hex, str(path), name, probe_media(path))))

        def place(d):  # noqa: ANN001, ANN202 -- before: source 2..21 at 0-20; after: source 5..20 at 30-46
            def frames(start: int, count: int) -> TimeRange:
                return TimeRange(RationalTime(start, d.rate), RationalTime(count, d.rate))

            [a] = d.insert(ids[0], track, RationalTime(0, d.rate), frames(2, 20))
            [b] = d.overwrite(ids[1], track, RationalTime(30, d.rate), frames(5, 16))
            return a, b

        a, b = push_edit(stack, doc, "Place", place)
        window.show()
        qtbot.waitExposed(window)
        gap = window.timeline.select_gap_at(track, 24)
        assert (gap.start, gap.length, gap.before, gap.after) == (20, 10, a, b)

        window.actions_by_name["fillGap"].trigger()
        dialog = window.findChild(GapFillDialog)
        text = dialog.summary.text()
        assert "10 frames" in text and "generates 17 frames" in text and "trimmed to the gap's 10" in text
        dialog.prompt_edit.setPlainText("")
        dialog.queue_button.click()
        assert "prompt is empty" in dialog.message_label.text() and dialog.isVisible()  # nothing queued
        assert window.jobs.jobs() == []
        dialog.prompt_edit.setPlainText("the fog lifts over the harbour")
        count = stack.count()
        with qtbot.waitSignal(window.jobs.job_finished, timeout=120_000) as done:
            dialog.queue_button.click()
            [job] = window.jobs.jobs()
            assert job.kind == "gapfill" and isinstance(job.spec, GapFillSpec)
        spec = job.spec.job
        assert spec.frames == 17 and spec.fps == doc.rate
        [(first, at_first, _), (last, at_last, _)] = spec.keyframes
        assert (at_first, at_last) == (0, 16)
        for path, index in ((first, 21), (last, 5)):  # the last frame shown before, the first after
            assert Path(path).parent == window.workflow.keyframes_dir
            assert not Path(path).is_relative_to(Path(tempfile.gettempdir()) / "aiprod-keyframes")
            assert decoded_index(np.asarray(Image.open(path).convert("RGB"))) == index
        item = done.args[1]
        for _ in range(5):
            QApplication.processEvents()
        clips = doc.clips(track)
        assert [c.id for c in clips][0] == a and [c.id for c in clips][-1] == b and len(clips) == 3
        fill = clips[1]
        assert fill.media_id == item.id and (fill.start.value, fill.duration.value) == (20, 10)
        assert item.info.frame_count == 17  # made at the valid length, placed trimmed to the gap
        assert stack.count() == count + 1 and stack.undoText().startswith("Fill gap")
        entry = window.workflow.history.entries()[0]
        assert entry.kind == "gapfill" and entry.media_id == item.id and entry.status == "done"
        assert window.workflow.history.thumbnail_path(entry) is not None
        stack.undo()
        assert [c.id for c in doc.clips(track)] == [a, b] and item.id not in {i.id for i in doc.bin_items()}
    finally:
        window.shutdown()

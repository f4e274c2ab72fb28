"""When a generation ends, the UI thread decodes its result's first frame once, although two histories keep a
thumbnail of it (the per-user list in the Jobs panel and the project's History panel): the second asks
app.media.thumbnails, whose cache is keyed by path and mtime. And the Jobs panel's list of earlier
generations, rebuilt each time a job ends, reads none of its thumbnail files again."""

from __future__ import annotations

import threading

import pytest

import ui.job_queue
from app.media.reader import VideoReader
from tests.ui.test_history_variations import Answers, generate, open_window

pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


def test_a_finished_job_is_decoded_once_on_the_ui_thread_and_earlier_rows_are_not_read_again(
    qtbot, tmp_path, monkeypatch
):
    earlier = open_window(qtbot, tmp_path, Answers())  # a launch before: two generations in the user's list
    try:
        generate(earlier, qtbot, seed=1)
        generate(earlier, qtbot, seed=2)
    finally:
        earlier.shutdown()

    decodes: list[str] = []  # files whose frames the UI thread decoded
    frame = VideoReader.frame

    def counting_frame(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if threading.current_thread() is threading.main_thread():
            decodes.append(self.path)
        return frame(self, *args, **kwargs)

    reads: list[str] = []
    load = ui.job_queue.load_thumbnail

    def counting_load(path):  # noqa: ANN001, ANN202
        reads.append(str(path))
        return load(path)

    monkeypatch.setattr(VideoReader, "frame", counting_frame)
    monkeypatch.setattr(ui.job_queue, "load_thumbnail", counting_load)
    window = open_window(qtbot, tmp_path, Answers())  # the next launch
    try:
        jobs_view = window.job_queue_view
        assert len(jobs_view.history_rows()) == 2 and len(reads) == 2  # each earlier thumbnail read once
        assert all(not row.thumbnail.pixmap().isNull() for row in jobs_view.history_rows())
        decodes.clear()

        item = generate(window, qtbot, seed=3)

        assert decodes.count(item.path) == 1  # one decode for both histories
        assert len(reads) == 2  # the rebuilt list of earlier generations read no file again
        assert all(not row.thumbnail.pixmap().isNull() for row in jobs_view.history_rows())
        mine = window.job_history.entries()[0]  # the per-user list
        project = window.workflow.history.entries()[0]  # the project's History panel
        assert mine.parameters["seed"] == project.parameters["seed"] == 3
        assert window.job_history.thumbnail_path(mine) is not None
        assert window.workflow.history.thumbnail_path(project) is not None
        assert not window.workflow.panel.items()[0].icon().isNull()

        jobs_view.clear_button.click()  # the history gone: its pictures are let go of too
        assert jobs_view.history_rows() == [] and jobs_view._pictures == {}  # noqa: SLF001
    finally:
        window.shutdown()

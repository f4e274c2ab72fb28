"""Export Timeline As… / Import Timeline…: files written through app.interchange with what the format lost
in the status message; import opens a new unsaved project through ProjectActions, reports missing media,
and leaves the current project alone when the user cancels or the file is bad.

Every question is answered by an injected function, so no dialog opens."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QSettings

from app.commands import push_edit
from app.document import TrackKind
from app.interchange import LOSSES
from app.media.importer import import_files
from tests.media_builders import make_video
from ui.interchange_actions import InterchangeActions, InterchangePrompts
from ui.project_actions import ProjectActions, ProjectPrompts, UnsavedChoice


class Asked:
    """Scripted answers and a log of the questions (ProjectActions' and ours)."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.errors: list[str] = []
        self.unsaved_answer = UnsavedChoice.DISCARD
        self.export_answer: str | None = None
        self.import_answer: str | None = None

    def note(self, what: str, value=None):  # noqa: ANN001, ANN201
        self.log.append(what)
        return value

    def error(self, text: str) -> None:
        self.errors.append(text)
        self.log.append("error")

    def project_prompts(self) -> ProjectPrompts:
        return ProjectPrompts(
            unsaved=lambda name: self.note(f"unsaved:{name}", self.unsaved_answer),
            open_path=lambda: self.note("open"),
            save_path=lambda suggested: self.note("save_path"),
            confirm=lambda text: self.note("confirm", True),
            recover=lambda entries: self.note("recover"),
            relink=lambda actions: self.note("relink"),
            error=self.error,
        )

    def interchange_prompts(self) -> InterchangePrompts:
        return InterchangePrompts(
            export_path=lambda suggested: self.note(
                f"export_path:{Path(suggested).name}", self.export_answer
            ),
            import_path=lambda: self.note("import_path", self.import_answer),
            error=self.error,
        )


pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture
def asked() -> Asked:
    return Asked()


@pytest.fixture
def project(qtbot, tmp_path, asked) -> ProjectActions:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    controller = ProjectActions(settings=settings, prompts=asked.project_prompts(), autosave_ms=50)
    yield controller
    controller.session.close()


@pytest.fixture
def interchange(project, asked) -> InterchangeActions:
    return InterchangeActions(project, prompts=asked.interchange_prompts())


@pytest.fixture
def media(tmp_path) -> list[Path]:
    folder = tmp_path / "media"
    folder.mkdir()
    return [make_video(folder / "a.mp4", frames=24), make_video(folder / "b.mp4", frames=24)]


def cut_two_clips(project: ProjectActions, media: list[Path]) -> None:
    """Two clips on V1 with their sound on A1, as one undo step (the session becomes dirty)."""
    session = project.session

    def apply(doc):  # noqa: ANN001, ANN202
        ids, errors = import_files(doc, media)
        assert not errors
        video = doc.tracks(TrackKind.VIDEO)[0].id
        doc.insert(ids[0], video, RationalTime(0, 24))
        doc.insert(ids[1], video, RationalTime(24, 24))

    push_edit(session.stack, session.doc, "cut", apply)


def clip_names(doc) -> dict[str, list[str]]:  # noqa: ANN001
    return {t.name: [c.name for c in doc.clips(t.id)] for t in doc.tracks()}


# ------------------------------------------------------------------------------------------- actions
def test_create_actions_gives_the_two_file_menu_actions(qtbot, interchange, asked, project):
    actions = interchange.create_actions(project)
    assert set(actions) == {"export_timeline", "import_timeline"}
    assert actions["export_timeline"].text() == "Export &Timeline As…"
    actions["export_timeline"].trigger()  # asks where (and the user cancels: nothing happens)
    actions["import_timeline"].trigger()
    assert asked.log == ["export_path:Untitled.otio", "import_path"]


# -------------------------------------------------------------------------------------------- export
def test_otio_round_trip_through_the_actions(qtbot, interchange, project, asked, media, tmp_path):
    cut_two_clips(project, media)
    original = project.session
    before = clip_names(original.doc)
    messages: list[str] = []
    project.message.connect(messages.append)  # what the status bar shows

    written = interchange.export_timeline(str(tmp_path / "cut.otio"))
    assert written == [tmp_path / "cut.otio"] and written[0].is_file()
    assert messages[-1] == "Exported the timeline as OpenTimelineIO: cut.otio."

    asked.import_answer = str(tmp_path / "cut.otio")
    asked.unsaved_answer = UnsavedChoice.DISCARD
    with qtbot.waitSignal(project.session_changed):
        assert interchange.import_timeline()
    assert asked.log[-2:] == ["import_path", "unsaved:Untitled"]  # the current project's prompt first
    imported = project.session
    assert imported is not original
    assert clip_names(imported.doc) == before
    assert imported.path is None and imported.dirty and imported.missing == []
    assert messages[-1].startswith("Imported cut.otio: 4 clip(s) on 2 track(s)")
    assert "not found" not in messages[-1]


def test_edl_export_says_what_the_format_loses(qtbot, interchange, project, media, tmp_path):
    cut_two_clips(project, media)
    messages: list[str] = []
    interchange.message.connect(messages.append)
    written = interchange.export_timeline(str(tmp_path / "cut.edl"))
    assert [p.name for p in written] == ["cut_V1.edl"]
    assert messages[-1].startswith("Exported the timeline as CMX 3600 EDL: cut_V1.edl.")
    for loss in LOSSES["edl"]:
        assert loss in messages[-1]
    if LOSSES["edl"]:
        assert "does not keep" in messages[-1]


def test_fcp_xml_export_then_import(qtbot, interchange, project, asked, media, tmp_path):
    cut_two_clips(project, media)
    before = clip_names(project.session.doc)
    assert [p.name for p in interchange.export_timeline(str(tmp_path / "cut.xml"))] == ["cut.xml"]
    assert interchange.import_timeline(str(tmp_path / "cut.xml"))
    after = project.session.doc
    video_before = [names for name, names in before.items() if name.startswith("V")]
    video_after = [clip_names(after)[t.name] for t in after.tracks(TrackKind.VIDEO)]
    assert video_after == video_before


def test_export_to_an_unknown_suffix_or_unwritable_folder_reports_an_error(
    qtbot, interchange, project, asked, media, tmp_path
):
    cut_two_clips(project, media)
    assert interchange.export_timeline(str(tmp_path / "cut.mov")) == []
    assert ".otio" in asked.errors[-1]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert interchange.export_timeline(str(blocker / "cut.otio")) == []
    assert len(asked.errors) == 2 and asked.errors[-1]
    assert blocker.read_text() == "x"


# -------------------------------------------------------------------------------------------- import
def test_import_reports_missing_media_for_relinking_later(qtbot, interchange, project, media, tmp_path):
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    copies = [Path(shutil.copy(p, moved / p.name)) for p in media]
    cut_two_clips(project, copies)
    interchange.export_timeline(str(tmp_path / "cut.otio"))
    copies[1].unlink()
    messages: list[str] = []
    interchange.message.connect(messages.append)
    assert interchange.import_timeline(str(tmp_path / "cut.otio"))
    session = project.session
    assert [session.doc.bin_item(m).name for m in session.missing] == ["b.mp4"]
    assert "1 media file(s) not found" in messages[-1] and "Relink" in messages[-1]


def test_cancelling_the_unsaved_prompt_keeps_the_project(qtbot, interchange, project, asked, media, tmp_path):
    cut_two_clips(project, media)
    interchange.export_timeline(str(tmp_path / "cut.otio"))
    current = project.session
    asked.unsaved_answer = UnsavedChoice.CANCEL
    assert not interchange.import_timeline(str(tmp_path / "cut.otio"))
    assert project.session is current and current.dirty


def test_a_bad_file_reports_an_error_and_keeps_the_project(qtbot, interchange, project, asked, tmp_path):
    current = project.session
    bad = tmp_path / "broken.otio"
    bad.write_text("{ not json")
    assert not interchange.import_timeline(str(bad))
    assert project.session is current
    assert asked.errors and "broken.otio" in asked.errors[-1]
    assert "unsaved:Untitled" not in asked.log  # never asked to drop the project for a file it cannot read


def test_exporting_onto_the_project_file_is_refused_with_a_message(
    qtbot, interchange, project, asked, media, tmp_path
):
    cut_two_clips(project, media)
    project.session.save(tmp_path / "Film.aiprod")
    project_file = tmp_path / "Film.aiprod" / "project.otio"
    before = project_file.read_bytes()
    for out in (project_file, tmp_path / "Film.aiprod" / "media" / "cut.otio"):
        assert interchange.export_timeline(str(out)) == []
        assert "Refusing to write" in asked.errors[-1]
    assert project_file.read_bytes() == before

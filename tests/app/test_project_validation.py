"""Loading a damaged or hostile project: each kind of bad value is a ProjectError that says what is wrong,
and nothing on disk changes. (The seeded corpus in test_project_fuzz.py covers the combinations.)"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import InterchangeError, ProjectError
from app.interchange import export_timeline, import_timeline
from app.media.info import MediaInfo
from app.project import load_project, save_project
from app.project.paths import PROJECT_FILE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))


def _info(path: Path, frames: int = 48) -> MediaInfo:
    path.write_bytes(b"stand-in media; the document never decodes it")
    return MediaInfo(str(path), "matroska", True, True, 64, 48, Fraction(24), frames, "ffv1",
                     sample_rate=48000, channels=2, audio_samples=frames * 2000)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    doc = TimelineDocument(name="Checks", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    doc.add_bin_item(MediaItem("m0", str(tmp_path / "a.mkv"), "a.mkv", _info(tmp_path / "a.mkv")))
    clip = doc.insert("m0", v1, RationalTime(0, 24))[0]
    doc.set_clip_grade(clip, {"exposure": 0.5})
    folder = tmp_path / "Checks.aiprod"
    save_project(doc, folder)
    return folder


def _edit(folder: Path, change) -> bytes:
    data = json.loads((folder / PROJECT_FILE).read_text())
    change(data)
    raw = json.dumps(data).encode()
    (folder / PROJECT_FILE).write_bytes(raw)
    return raw


def _refused(folder: Path, *parts: str) -> str:
    before = (folder / PROJECT_FILE).read_bytes()
    with pytest.raises(ProjectError) as info:
        load_project(folder)
    message = str(info.value)
    for part in parts:
        assert part in message, (part, message)
    assert (folder / PROJECT_FILE).read_bytes() == before  # loading never writes
    return message


def _clip(data: dict) -> dict:
    return data["tracks"]["children"][0]["children"][0]


def _meta(data: dict) -> dict:
    return data["metadata"]["aiprod"]


def test_the_unchanged_project_loads(project):
    assert load_project(project).doc.rate == 24


def test_a_byte_order_mark_is_accepted(project):
    path = project / PROJECT_FILE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_project(project).doc.name == "Checks"


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
def test_deeply_nested_json_is_a_project_error_not_a_recursion_error(project, depth):
    text = (project / PROJECT_FILE).read_text()
    deep = "[" * depth + "]" * depth
    (project / PROJECT_FILE).write_text(text.replace('"extra": {}', f'"extra": {deep}', 1))
    _refused(project, str(project / PROJECT_FILE), "nested more than")


@pytest.mark.parametrize("rate", [0, -24, math.nan, math.inf, 0.001, 1e12, "24", None])
def test_impossible_timeline_rates_are_refused(project, rate):
    def change(data):
        _meta(data)["rate"] = rate
        data["global_start_time"]["rate"] = rate if rate is not None else 0
    _edit(project, change)
    _refused(project, "rate")


@pytest.mark.parametrize(("key", "value"), [
    ("rate", 0), ("rate", -1.0), ("rate", math.nan), ("value", math.inf), ("value", 1e308), ("rate", 1e12),
    ("value", 2**70),
])
def test_impossible_clip_times_are_refused(project, key, value):
    _edit(project, lambda data: _clip(data)["source_range"]["duration"].__setitem__(key, value))
    _refused(project, "clip 'a.mkv'", "source_range")


def test_a_negative_duration_is_refused(project):
    _edit(project, lambda data: _clip(data)["source_range"]["duration"].__setitem__("value", -5))
    _refused(project, "negative duration")


@pytest.mark.parametrize(("grade", "expected"), [
    ({"exposure": 1e6}, "exposure"),
    ({"cdl": {"slope": [-1, 1, 1]}}, "slope"),
    ({"cdl": 3.5}, "CDL must be a dictionary"),
    ("warm", "grade must be a dictionary"),
])
def test_a_grade_the_renderer_cannot_use_is_refused_at_load(project, grade, expected):
    _edit(project, lambda data: _clip(data)["metadata"]["aiprod"].__setitem__("grade", grade))
    _refused(project, "grade of clip 'a.mkv'", expected)


def test_two_clips_with_one_id_get_their_own_ids(project):
    """Edits find clips by id: a pasted copy sharing one would move or delete the wrong clip."""
    def change(data):
        track = data["tracks"]["children"][0]["children"]
        track.append(json.loads(json.dumps(track[0])))  # the same clip again, after the first
    _edit(project, change)
    doc = load_project(project).doc
    clips = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)
    assert len(clips) == 2 and clips[0].id != clips[1].id
    assert [c.start.value for c in clips] == [0, 48]


def test_a_take_of_something_that_is_not_a_media_id_is_refused(project):
    _edit(project, lambda data: _meta(data)["bin"][0].__setitem__("take_of", {"id": "m0"}))
    _refused(project, "not a media id")


def test_aiprod_metadata_that_is_not_a_table_is_refused(project):
    _edit(project, lambda data: _clip(data)["metadata"].__setitem__("aiprod", 2.5))
    _refused(project, "AIPROD metadata of clip 'a.mkv' is not a table")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("gain_db", "loud", "value cannot be read"),
    ("gain_db", 1e300, "gain"),
    ("generation", 3.5, "generation record"),
    ("mask", [1, 2], "mask"),
])
def test_malformed_clip_metadata_is_refused(project, key, value, expected):
    _edit(project, lambda data: _clip(data)["metadata"]["aiprod"].__setitem__(key, value))
    _refused(project, expected)


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("frame_count", -3, "frame_count"),
    ("frame_count", "many", "frame_count"),
    ("width", 10**9, "pixels"),
    ("fps", "0/1", "damaged"),
    ("fps", "1000000/1", "frame rate"),
    ("variable_frame_rate", "yes", "true or false"),
])
def test_malformed_media_info_is_refused(project, field, value, expected):
    _edit(project, lambda data: _meta(data)["bin"][0]["info"].__setitem__(field, value))
    _refused(project, "a.mkv" if expected != "damaged" else "damaged", expected)


@pytest.mark.parametrize("bin_value", [{"m0": {}}, [3], [{"id": "m0"}], [{"id": 5, "path": "a.mkv"}]])
def test_a_malformed_media_bin_is_refused(project, bin_value):
    _edit(project, lambda data: _meta(data).__setitem__("bin", bin_value))
    _refused(project, "media bin")


@pytest.mark.parametrize(("settings", "expected"), [
    ({"working_space": 5}, "not str"), ({"bake_slow_views": "no"}, "not bool"),
    ({"gamma": 2.2}, "Unknown"), ("ACES", "colour settings"),
])
def test_malformed_colour_settings_are_refused(project, settings, expected):
    _edit(project, lambda data: _meta(data).__setitem__("color", settings))
    _refused(project, expected)


def test_a_colour_config_missing_on_this_machine_does_not_stop_the_project_opening(project):
    _edit(project, lambda data: _meta(data).__setitem__("color", {"config": "/nowhere/config.ocio"}))
    assert load_project(project).doc.color_settings()["config"] == "/nowhere/config.ocio"


def test_a_number_too_large_to_store_is_refused_at_load(project):
    _edit(project, lambda data: _meta(data)["bin"][0]["extra"].__setitem__("frames", 2**64))
    _refused(project, "too large")


def test_an_oversized_file_is_refused_before_parsing(project, monkeypatch):
    from app.project import validation

    monkeypatch.setattr(validation, "MAX_PROJECT_BYTES", 1000)
    monkeypatch.setattr("app.project.store.MAX_PROJECT_BYTES", 1000)
    _refused(project, "MiB")


def test_an_edl_refuses_timecodes_past_24_hours_instead_of_wrapping(tmp_path):
    doc = TimelineDocument(name="Long", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    doc.add_bin_item(MediaItem("m0", str(tmp_path / "a.mkv"), "a.mkv", _info(tmp_path / "a.mkv")))
    doc.insert("m0", v1, RationalTime(30 * 3600 * 24, 24))  # 30 hours in: the EDL would say 06:00:00:00
    with pytest.raises(InterchangeError, match="24 hours"):
        export_timeline(doc, tmp_path / "long.edl")
    assert not list(tmp_path.glob("long*"))
    assert export_timeline(doc, tmp_path / "long.otio")  # the formats that can hold it still work


# ---------------------------------------------------------------------------------- interchange import
def test_importing_an_otio_nested_too_deep_is_an_error_not_a_crash(project, tmp_path):
    """OTIO's C++ reader overflowed the stack (SIGSEGV: the whole studio gone) on JSON nested 100,000
    deep; run in a child process so a regression fails this test instead of killing the test run."""
    text = (project / PROJECT_FILE).read_text()
    deep = tmp_path / "deep.otio"
    deep.write_text(text.replace('"extra": {}', '"extra": ' + "[" * 100_000 + "]" * 100_000, 1))
    code = (
        "import sys\n"
        "from app.errors import InterchangeError\n"
        "from app.interchange import import_timeline\n"
        "try:\n"
        f"    import_timeline({str(deep)!r})\n"
        "except InterchangeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert "refused:" in run.stdout and "nested too deeply" in run.stdout, run.stdout


def test_importing_an_otio_whose_aiprod_metadata_is_not_a_table_is_refused(project, tmp_path):
    data = json.loads((project / PROJECT_FILE).read_text())
    data["metadata"]["aiprod"] = 3.5
    foreign = tmp_path / "foreign.otio"
    foreign.write_text(json.dumps(data))
    with pytest.raises(InterchangeError, match="not a table"):
        import_timeline(foreign)


@pytest.mark.parametrize("rate", [0, math.nan, 1e12])
def test_importing_an_otio_with_impossible_rates_is_refused(project, tmp_path, rate):
    data = json.loads((project / PROJECT_FILE).read_text())
    _clip(data)["source_range"]["duration"]["rate"] = rate
    foreign = tmp_path / "foreign.otio"
    foreign.write_text(json.dumps(data))
    with pytest.raises(InterchangeError, match="frame rate"):
        import_timeline(foreign)

"""`aiprod-cli render` / `export-timeline` on a saved project: outputs probed, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app import cli  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.export import probe  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.project import save_project  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [make_video(media / "a.mp4", frames=24), make_video(media / "b.mp4")])
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, RationalTime(0, 24))
    doc.insert(ids[1], video, RationalTime(24, 24))
    folder = tmp_path / "Film.aiprod"
    save_project(doc, folder)
    return folder


def test_parse_timecode():
    assert cli.parse_timecode("00:00:01:12", 24) == 36
    assert cli.parse_timecode("01:00:00:00", 25) == 90_000
    assert cli.parse_timecode("48", 24) == 48
    for bad in ("1:2", "00:00:00:24", "abc", "00:61:00:00"):
        with pytest.raises(ValueError):
            cli.parse_timecode(bad, 24)


def test_render_a_saved_project(project, tmp_path, capsys):
    out = tmp_path / "film.mov"
    code = cli.main(["render", str(project), "--preset", "prores_422_hq", "--out", str(out), "--quiet"])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    info = probe(out)
    assert (info["video_codec"], info["profile"], info["frame_count"]) == ("prores", "HQ", 72)
    assert (info["audio_codec"], info["channels"]) == ("pcm_s24le", 2)
    assert f"wrote {out}" in capsys.readouterr().err


def test_render_a_range_given_as_timecode_and_frames_from_project_otio(project, tmp_path):
    out = tmp_path / "range.mp4"
    args = ["render", str(project / "project.otio"), "--preset", "h264_high", "--out", str(out),
            "--in", "00:00:00:10", "--out-point", "34", "--size", "32x24", "--quiet"]  # fmt: skip
    assert cli.main(args) == cli.EXIT_OK
    info = probe(out)
    assert (info["frame_count"], info["width"], info["height"]) == (24, 32, 24)


def test_render_an_image_sequence(project, tmp_path):
    out = tmp_path / "frames"
    args = [
        "render",
        str(project),
        "--preset",
        "dpx_sequence",
        "--out",
        str(out),
        "--out-point",
        "3",
        "--quiet",
    ]
    assert cli.main(args) == cli.EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == [
        "frames.0000000.dpx", "frames.0000001.dpx", "frames.0000002.dpx",
        "frames.provenance.json", "frames.wav",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--preset", "nope"], "no export preset called 'nope'"),
        (["--preset", "prores_422_hq", "--in", "1:2"], "not a timecode"),
        (["--preset", "prores_422_hq", "--in", "40", "--out-point", "30"], "must come after the in point"),
        (["--preset", "prores_422_hq", "--size", "big"], "--size must look like"),
    ],
)
def test_bad_input_exits_2_with_one_line(project, tmp_path, capsys, extra, message):
    code = cli.main(["render", str(project), "--out", str(tmp_path / "x.mov"), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert message in err and err.count("\n") == 1 and err.startswith("aiprod-cli: error:")
    assert not (tmp_path / "x.mov").exists()


def test_missing_media_and_missing_project_exit_2(project, tmp_path, capsys):
    assert cli.main(["render", str(tmp_path / "None.aiprod"), "--preset", "prores_422_hq",
                     "--out", str(tmp_path / "x.mov")]) == cli.EXIT_BAD_INPUT  # fmt: skip
    assert "no project" in capsys.readouterr().err
    os.remove(tmp_path / "media" / "b.mp4")
    code = cli.main(["render", str(project), "--preset", "prores_422_hq", "--out", str(tmp_path / "x.mov")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert "1 media file(s) of the project are missing" in err and "b.mp4" in err and "relink" in err
    assert not (tmp_path / "x.mov").exists()


def test_render_in_a_subprocess_shows_a_progress_bar(project, tmp_path):
    out = tmp_path / "sub.mov"
    code = "import app, sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["render", str(project), "--preset", "prores_422_proxy", "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "render" in result.stderr and "72/72" in result.stderr
    assert probe(out)["profile"] == "Proxy"


def test_presets_listing(capsys):
    assert cli.main(["presets"]) == cli.EXIT_OK
    listed = capsys.readouterr().out
    assert "prores_422_hq" in listed and "exr_sequence" in listed


def test_export_timeline_writes_each_format(project, tmp_path, capsys):
    import app.interchange  # noqa: F401 - the command needs it
    for name in ("cut.otio", "cut.xml"):
        assert cli.main(["export-timeline", str(project), "--out", str(tmp_path / name)]) == cli.EXIT_OK
        assert (tmp_path / name).is_file()
    assert cli.main(["export-timeline", str(project), "--out", str(tmp_path / "cut.edl")]) == cli.EXIT_OK
    assert (tmp_path / "cut_V1.edl").is_file()
    code = cli.main(["export-timeline", str(project), "--out", str(tmp_path / "cut.avi")])
    assert code == cli.EXIT_BAD_INPUT
    assert "aiprod-cli: error:" in capsys.readouterr().err


def test_export_timeline_arguments():
    args = cli.build_parser().parse_args(["export-timeline", "P.aiprod", "--out", "x.edl"])
    assert (args.command, args.project, args.out) == ("export-timeline", "P.aiprod", "x.edl")

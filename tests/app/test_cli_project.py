"""aiprod-cli new-project / add: a project assembled headless, conformed to its sequence settings, renders."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_audio, make_image, make_video  # noqa: E402

from app.cli import main  # noqa: E402
from app.document import TrackKind  # noqa: E402
from app.document.sequence import SequenceSettings  # noqa: E402
from app.export import probe  # noqa: E402
from app.project import load_project  # noqa: E402


def test_new_project_and_add_build_a_project_that_renders(tmp_path, capsys):
    shot = make_video(tmp_path / "shot.mp4", frames=30, fps=30, size=(96, 54))
    still = make_image(tmp_path / "card.png", size=(40, 40))
    music = make_audio(tmp_path / "music.wav", seconds=1.0)
    folder = tmp_path / "Film.aiprod"
    assert main(["new-project", str(folder), "--size", "128x72", "--fps", "25"]) == 0
    assert main(["new-project", str(folder), "--size", "128x72"]) == 2  # nothing overwritten
    assert "already holds a project" in capsys.readouterr().err
    assert main(["add", str(folder), str(shot), str(still), str(tmp_path / "nope.mov")]) == 0
    assert "nope.mov" in capsys.readouterr().err  # reported, the others added
    assert main(["add", str(folder), str(music), "--track", "A2"]) == 0  # the next track up is made
    assert main(["add", str(folder), str(still), "--track", "V9"]) == 2
    doc = load_project(folder).doc
    assert doc.sequence_settings() == SequenceSettings(128, 72, 25.0, 48000)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    assert [(c.name, int(c.start.value), int(c.duration.value)) for c in doc.clips(v1)] == [
        ("shot.mp4", 0, 25),  # 1 s of 30 fps at 25 fps: conformed by time
        ("card.png", 25, 125),  # a still: five seconds
    ]
    a2 = doc.tracks(TrackKind.AUDIO)[1].id
    assert [c.name for c in doc.clips(a2)] == ["music.wav"]
    out = tmp_path / "film.mp4"
    assert main(["render", str(folder), "--preset", "h264_high", "--out", str(out), "--quiet"]) == 0
    info = probe(out)
    assert (info["width"], info["height"], info["fps"]) == (128, 72, 25.0)


def test_bad_sequence_settings_are_refused_with_one_line(tmp_path, capsys):
    for args, words in [
        (["--size", "1081x720"], "even"),
        (["--fps", "0"], "frame rate"),
        (["--size", "huge"], "WIDTHxHEIGHT"),
        (["--audio-rate", "22050"], "audio rate"),
    ]:
        assert main(["new-project", str(tmp_path / "X.aiprod"), *args]) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "X.aiprod").exists()


def test_render_exact_takes_the_float_path_and_says_how_many_frames_took_the_fast_one(tmp_path, capsys):
    shot = make_video(tmp_path / "shot.mp4", frames=12, fps=24, size=(64, 48))
    folder = tmp_path / "Film.aiprod"
    assert main(["new-project", str(folder), "--size", "64x48", "--fps", "24"]) == 0
    assert main(["add", str(folder), str(shot)]) == 0
    capsys.readouterr()
    counts = {}
    for flag in ([], ["--exact"]):
        out = tmp_path / f"film{len(flag)}.mov"
        assert (
            main(["render", str(folder), "--preset", "prores_422_hq", "--out", str(out), "--quiet", *flag])
            == 0
        )
        err = capsys.readouterr().err
        counts[bool(flag)] = int(err.split("; ")[-1].split(" on the fast path")[0])
        assert probe(out)["width"] == 64
    assert counts == {False: 12, True: 0}

"""Timeline interchange round trips: export a rich document to each format, read it back, compare.

The document has two video and two audio tracks, linked sound, a dissolve (on the picture and on the
linked sound), coloured markers, generation metadata, a grade and an audio gain. Each format must bring
back clip order, names, positions, source ranges, durations and media paths; what it cannot bring back
is asserted to be lost exactly as ``LOSSES`` says, so the table in the README stays honest.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.interchange import LOSSES, export_timeline, import_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402

GENERATION = {"model": "ltx-2", "model_name": "LTX-2 19B", "seed": 42, "prompt": "a red fox, «snow»"}
GRADE = {"look": "warm", "lut_path": None, "lut_mix": 1.0, "exposure": 0.5}


def rt(frames: int) -> RationalTime:
    return RationalTime(frames, 24)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("interchange media")  # a space in the folder: URLs must encode it
    return {
        "a": make_video(root / "shot a.mp4", frames=96),
        "b": make_video(root / "b.mov", frames=96, codec="prores_ks"),
        "c": make_video(root / "c.mp4", frames=72),
    }


@pytest.fixture
def doc(media) -> TimelineDocument:
    """V1: a [0, 40) src 10 + 8-frame dissolve + b [40, 70) src 20 (sound linked on A1, crossfaded);
    V2: c [30, 50) src 5 (sound on A2). Markers at 12 (green) and 50 (red); a's clip is generated."""
    document = TimelineDocument(name="Cut 1", rate=24)
    ids, errors = import_files(document, [media["a"], media["b"], media["c"]])
    assert not errors
    v1 = document.tracks(TrackKind.VIDEO)[0].id
    v2 = document.add_track(TrackKind.VIDEO)
    document.insert(ids[0], v1, rt(0), TimeRange(rt(10), rt(40)))
    document.insert(ids[1], v1, rt(40), TimeRange(rt(20), rt(30)))
    document.insert(ids[2], v2, rt(30), TimeRange(rt(5), rt(20)))
    first = document.clips(v1)[0]
    document.add_dissolve(first.id, rt(8))
    document.set_clip_generation(first.id, GENERATION)
    document.set_clip_grade(first.id, GRADE)
    a1 = document.tracks(TrackKind.AUDIO)[0].id
    document.set_clip_gain(document.clips(a1)[1].id, -6.0)
    document.add_marker(rt(12), "check focus", "GREEN")
    document.add_marker(rt(50), "music hit", "RED")
    return document


# ------------------------------------------------------------------------------------------- helpers
def clips_of(document: TimelineDocument, kind: TrackKind) -> list[list[tuple]]:
    """Per track of ``kind``: (name, start, duration, source start, media path) of each clip."""
    out = []
    for track in document.tracks(kind):
        rows = []
        for clip in document.clips(track.id):
            path = document.bin_item(clip.media_id).path if clip.media_id else ""
            rows.append(
                (
                    clip.name,
                    clip.start.value,
                    clip.duration.value,
                    clip.source_start.value,
                    Path(path).resolve(),
                )
            )
        out.append(rows)
    return out


def dissolves_of(document: TimelineDocument, kind: TrackKind) -> list[list[tuple]]:
    return [
        [(d.cut.value, d.duration.value) for d in document.dissolves(t.id)] for t in document.tracks(kind)
    ]


def markers_of(document: TimelineDocument) -> list[tuple]:
    return [(m.name, m.time.value, m.color) for m in document.markers()]


def first_clip(document: TimelineDocument, kind: TrackKind = TrackKind.VIDEO):
    return document.clips(document.tracks(kind)[0].id)[0]


def linked_pairs(document: TimelineDocument) -> set[tuple]:
    """(video clip name, audio clip name, start) for every video clip linked to an audio clip."""
    pairs = set()
    for track in document.tracks(TrackKind.VIDEO):
        for clip in document.clips(track.id):
            for other in document.linked_clips(clip.id):
                if other != clip.id:
                    pairs.add((clip.name, document.clip(other).name, clip.start.value))
    return pairs


# ------------------------------------------------------------------------------------------- OTIO
def test_otio_round_trip_keeps_everything(doc, tmp_path):
    files = export_timeline(doc, tmp_path / "cut.otio")
    assert files == [tmp_path / "cut.otio"]
    raw = otio.adapters.read_from_file(str(files[0]))
    assert all(Path(c.media_reference.target_url).is_absolute() for c in raw.find_clips())
    back = import_timeline(files[0])
    assert back.name == "Cut 1" and back.rate == 24
    for kind in TrackKind:
        assert clips_of(back, kind) == clips_of(doc, kind)
        assert dissolves_of(back, kind) == dissolves_of(doc, kind)
    assert markers_of(back) == markers_of(doc)
    assert [t.name for t in back.tracks()] == [t.name for t in doc.tracks()]
    assert first_clip(back).generation == GENERATION
    assert first_clip(back).grade == GRADE
    assert back.clips(back.tracks(TrackKind.AUDIO)[0].id)[1].gain_db == -6.0
    assert linked_pairs(back) == linked_pairs(doc)
    assert all(item.info is not None and item.info.frame_count for item in back.bin_items())
    assert LOSSES["otio"] == []


# ------------------------------------------------------------------------------------------- EDL
def test_edl_is_one_file_per_video_track_with_readable_events(doc, tmp_path, media):
    dropped: list[str] = []
    files = export_timeline(doc, tmp_path / "cut.edl", dropped=dropped)
    assert [f.name for f in files] == ["cut_V1.edl", "cut_V2.edl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut_V1.edl", "cut_V2.edl"]  # no temp files left
    v1 = files[0].read_text()
    events = [line for line in v1.splitlines() if re.match(r"^\d{3}\s", line)]
    # picture: a, then the dissolve into b (cut line + D line with the same number), centred on frame 40
    assert events[0].split() == [
        "001",
        "shota",
        "V",
        "C",
        "00:00:00:10",
        "00:00:01:22",
        "00:00:00:00",
        "00:00:01:12",
    ]
    assert events[1].split() == [
        "002",
        "shota",
        "V",
        "C",
        "00:00:01:22",
        "00:00:01:22",
        "00:00:01:12",
        "00:00:01:12",
    ]
    assert events[2].split() == [
        "002", "b", "V", "D", "008", "00:00:00:16", "00:00:02:02", "00:00:01:12", "00:00:02:22",
    ]  # fmt: skip
    # sound: A1 as channel A, A2 as channel A2, numbered on from the picture events
    channels = [(line.split()[0], line.split()[2]) for line in events[3:]]
    assert channels == [("003", "A"), ("004", "A"), ("004", "A"), ("005", "A2")]
    assert events[-1].split()[4:] == ["00:00:00:05", "00:00:01:01", "00:00:01:06", "00:00:02:02"]
    assert v1.startswith("TITLE: Cut 1\n")
    assert "* FROM CLIP NAME:  shot a.mp4" in v1
    assert f"* FROM CLIP: {media['a']}" in v1
    assert "* LOC: 00:00:00:22 GREEN   CHECK FOCUS" in v1  # frame 12 of the cut = source frame 22 of a
    assert "* AI-GENERATED: LTX-2 19B" in v1
    assert "* AIPROD GENERATION: {" in v1 and v1.isascii()
    v2 = files[1].read_text()
    assert [line.split()[2] for line in v2.splitlines() if re.match(r"^\d{3}\s", line)] == ["V"]
    assert dropped == []  # every marker lies on a clip, only two audio tracks


def test_edl_round_trip(doc, tmp_path):
    v1_file, v2_file = export_timeline(doc, tmp_path / "cut.edl")
    back = import_timeline(v1_file)
    assert back.rate == 24 and back.name == "Cut 1"
    assert clips_of(back, TrackKind.VIDEO) == clips_of(doc, TrackKind.VIDEO)[:1]
    assert clips_of(back, TrackKind.AUDIO) == clips_of(doc, TrackKind.AUDIO)
    assert dissolves_of(back, TrackKind.VIDEO) == dissolves_of(doc, TrackKind.VIDEO)[:1]
    assert dissolves_of(back, TrackKind.AUDIO) == dissolves_of(doc, TrackKind.AUDIO)
    assert [(m.time.value, m.color) for m in back.markers()] == [(12, "GREEN"), (50, "RED")]
    assert first_clip(back).generation == GENERATION
    assert [c.generation for c in back.clips(back.tracks(TrackKind.VIDEO)[0].id)][1] is None
    assert linked_pairs(back) == {("shot a.mp4", "shot a.mp4", 0), ("b.mov", "b.mov", 40)}
    second = import_timeline(v2_file)
    assert clips_of(second, TrackKind.VIDEO) == clips_of(doc, TrackKind.VIDEO)[1:]


def test_edl_losses_are_as_documented(doc, tmp_path, media):
    # a third audio track and a marker over no picture
    a3 = doc.add_track(TrackKind.AUDIO)
    c_id = next(i.id for i in doc.bin_items() if i.name == "c.mp4")
    doc.overwrite(c_id, a3, rt(0), TimeRange(rt(0), rt(10)), with_audio=False)
    doc.add_marker(rt(80), "after the end")
    dropped: list[str] = []
    v1_file, _ = export_timeline(doc, tmp_path / "cut.edl", dropped=dropped)
    assert any("A3" in note for note in dropped) and any("after the end" in note for note in dropped)
    back = import_timeline(v1_file)
    losses = " ".join(LOSSES["edl"])
    assert "one video track per file" in losses
    assert len(back.tracks(TrackKind.VIDEO)) == 1
    assert "two audio tracks" in losses
    assert len(back.tracks(TrackKind.AUDIO)) == 2
    assert "upper case" in losses
    assert [m.name for m in back.markers()] == ["CHECK FOCUS", "MUSIC HIT"]
    assert "no video clip under them" in losses
    assert "grades" in losses and "gain" in losses
    assert first_clip(back).grade is None
    assert all(c.gain_db == 0.0 for t in back.tracks(TrackKind.AUDIO) for c in back.clips(t.id))
    assert "links" in losses  # V2's sound is in _V1.edl, its picture in _V2.edl: they cannot be linked
    a2 = back.tracks(TrackKind.AUDIO)[1].id
    assert back.clips(a2)[0].link_id is None
    assert "frame rate" in losses


# ------------------------------------------------------------------------------------------- FCP 7 XML
def test_fcp7_xml_is_well_formed_with_file_urls_and_provenance(doc, tmp_path, media):
    (file,) = export_timeline(doc, tmp_path / "cut.xml")
    root = ET.parse(file).getroot()
    assert root.tag == "xmeml"
    urls = {e.text for e in root.iter("pathurl")}
    assert "file://" + quote(str(media["a"])) in urls and all(u.startswith("file:///") for u in urls)
    notes = [e.text for e in root.iter("lognote")]
    assert len(notes) == 1 and notes[0].startswith("AIPROD GENERATION: {")
    assert [e.text for e in root.iter("description")] == ["AI-generated with LTX-2 19B"]
    assert sorted(e.findtext("name") for e in root.iter("marker")) == ["check focus", "music hit"]


def test_fcp7_xml_round_trip(doc, tmp_path):
    dropped: list[str] = []
    (file,) = export_timeline(doc, tmp_path / "cut.xml", dropped=dropped)
    back = import_timeline(file)
    assert back.rate == 24 and back.name == "Cut 1"
    for kind in TrackKind:
        assert clips_of(back, kind) == clips_of(doc, kind)
        assert dissolves_of(back, kind) == dissolves_of(doc, kind)
    assert [(m.name, m.time.value) for m in back.markers()] == [("check focus", 12), ("music hit", 50)]
    assert first_clip(back).generation == GENERATION
    assert linked_pairs(back) == linked_pairs(doc)  # restored by matching file, place and source range
    assert dropped and all(note.startswith("FCP 7 XML") for note in dropped)


def test_fcp7_xml_losses_are_as_documented(doc, tmp_path):
    (file,) = export_timeline(doc, tmp_path / "cut.xml")
    losses = " ".join(LOSSES["fcp_xml"])
    raw = otio.adapters.read_from_file(str(file), "fcp_xml")
    assert "track names" in losses
    assert [t.name for t in raw.tracks] == ["", "", "", ""]
    assert "marker colours" in losses
    back = import_timeline(file)
    assert [m.color for m in back.markers()] == ["RED", "RED"]  # the green one came back red
    assert "grades" in losses and "gain" in losses
    assert first_clip(back).grade is None
    assert all(c.gain_db == 0.0 for t in back.tracks(TrackKind.AUDIO) for c in back.clips(t.id))


# ------------------------------------------------------------------------------------------- FCPXML
def test_fcpxml_round_trip_and_losses(doc, tmp_path, media):
    doc.add_marker(rt(60), "blue note", "BLUE")
    dropped: list[str] = []
    (file,) = export_timeline(doc, tmp_path / "cut.fcpxml", dropped=dropped)
    root = ET.parse(file).getroot()
    assert root.tag == "fcpxml"
    assert "file://" + quote(str(media["a"])) in {e.get("src") for e in root.iter("asset")}
    assert any(md.get("key") == "com.aiprod.generation" for md in root.iter("md"))
    back = import_timeline(file)
    assert back.rate == 24
    for kind in TrackKind:
        assert clips_of(back, kind) == clips_of(doc, kind)
    assert first_clip(back).generation == GENERATION
    assert any("dissolve" in note for note in dropped)
    losses = " ".join(LOSSES["fcpx_xml"])
    assert "dissolves" in losses
    assert all(not back.dissolves(t.id) for t in back.tracks())
    assert "marker colours other than red and green" in losses
    assert [(m.name, m.time.value, m.color) for m in back.markers()] == [
        ("check focus", 12, "GREEN"),
        ("music hit", 50, "RED"),
        ("blue note", 60, "PURPLE"),
    ]
    assert "track names" in losses
    raw = otio.adapters.read_from_file(str(file), "fcpx_xml")
    assert sorted(t.name for t in raw.tracks) == ["-1", "-2", "0", "1"]  # lanes
    assert "grades" in losses and "gain" in losses
    assert first_clip(back).grade is None
    assert all(c.gain_db == 0.0 for t in back.tracks(TrackKind.AUDIO) for c in back.clips(t.id))

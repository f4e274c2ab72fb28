"""TimelineDocument state: tracks, bin, markers, snapping, notifications, snapshots, OTIO round trips."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest

from app.document import DocumentChange, MediaItem, TimelineDocument, TrackKind
from app.errors import EditError
from app.media.info import MediaInfo

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def f(frames: int) -> otio.opentime.RationalTime:
    return RT(frames, 24)


def media(media_id: str, frames: int = 120, audio: bool = True, **extra) -> MediaItem:
    info = MediaInfo(
        path=f"/media/{media_id}.mkv",
        container="matroska",
        has_video=True,
        has_audio=audio,
        fps=Fraction(24),
        frame_count=frames,
        sample_rate=48000 if audio else 0,
        audio_samples=frames * 2000 if audio else 0,
    )
    return MediaItem(media_id, info.path, media_id, info, **extra)


def test_new_document_has_v1_and_a1() -> None:
    doc = TimelineDocument(name="Cut", rate=24)
    assert doc.name == "Cut" and doc.rate == 24.0
    assert [(t.name, t.kind, t.index, t.enabled) for t in doc.tracks()] == [
        ("V1", TrackKind.VIDEO, 0, True),
        ("A1", TrackKind.AUDIO, 0, True),
    ]
    assert doc.duration() == f(0)


def test_add_remove_tracks_renumbers_and_keeps_the_last() -> None:
    doc = TimelineDocument()
    v2 = doc.add_track(TrackKind.VIDEO)
    v3 = doc.add_track(TrackKind.VIDEO)
    assert [t.name for t in doc.tracks(TrackKind.VIDEO)] == ["V1", "V2", "V3"]
    doc.remove_track(v2)
    assert [(t.id, t.name) for t in doc.tracks(TrackKind.VIDEO)][1] == (v3, "V2")
    a1 = doc.tracks(TrackKind.AUDIO)[0].id
    with pytest.raises(EditError):
        doc.remove_track(a1)
    doc.set_track_enabled(v3, False)
    assert not doc.track_info(v3).enabled


def test_media_item_dict_round_trip() -> None:
    item = media("m", generation={"model": "ltx-2", "seed": 7, "settings": {"steps": 8}}, kind="generated")
    again = MediaItem.from_dict(item.to_dict())
    assert again == item
    assert again.info.fps == Fraction(24)


def test_bin_add_remove_relink_takes() -> None:
    doc = TimelineDocument()
    doc.add_bin_item(media("orig"))
    doc.add_bin_item(media("t2", take_of="orig", take=2, kind="generated"))
    doc.add_bin_item(media("t1", take_of="orig", take=1, kind="generated"))
    assert [i.id for i in doc.takes("t2")] == ["orig", "t1", "t2"]
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip_ids = doc.insert("orig", v1, f(0))
    with pytest.raises(EditError):
        doc.remove_bin_item("orig")
    new_info = MediaInfo(
        path="/moved/orig.mkv",
        container="matroska",
        has_video=True,
        has_audio=True,
        fps=Fraction(24),
        frame_count=240,
    )
    doc.relink("orig", "/moved/orig.mkv", new_info)
    assert doc.bin_item("orig").path == "/moved/orig.mkv"
    for cid in clip_ids:
        ref = [c for t in doc.timeline.tracks for c in t.find_clips() if c.metadata["aiprod"]["id"] == cid][0]
        assert ref.media_reference.target_url == "/moved/orig.mkv"
        assert doc.clip(cid).available == TR(f(0), f(240))
    doc.remove_bin_item("t1")
    assert [i.id for i in doc.bin_items()] == ["orig", "t2"]
    with pytest.raises(EditError):
        doc.bin_item("t1")


def test_subscribe_and_unsubscribe() -> None:
    doc = TimelineDocument()
    seen: list[DocumentChange] = []
    unsubscribe = doc.subscribe(seen.append)
    doc.add_bin_item(media("m"))
    track = doc.add_track(TrackKind.AUDIO)
    marker = doc.add_marker(f(5), "beat")
    assert [c.kind for c in seen] == ["bin", "tracks", "markers"]
    assert seen[1].ids == (track,) and seen[2].ids == (marker,)
    unsubscribe()
    doc.add_marker(f(6))
    assert len(seen) == 3


def test_markers() -> None:
    doc = TimelineDocument()
    m1 = doc.add_marker(f(30), "late", "GREEN")
    m2 = doc.add_marker(f(10), "early")
    assert [(m.id, m.time, m.name, m.color) for m in doc.markers()] == [
        (m2, f(10), "early", "RED"),
        (m1, f(30), "late", "GREEN"),
    ]
    doc.move_marker(m1, f(5))
    assert doc.markers()[0].id == m1 and doc.markers()[0].time == f(5)
    doc.remove_marker(m2)
    assert [m.id for m in doc.markers()] == [m1]
    with pytest.raises(EditError):
        doc.remove_marker(m2)


def test_edit_points_and_snap() -> None:
    doc = TimelineDocument()
    doc.add_bin_item(media("m"))
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.overwrite("m", v1, f(10), TR(f(0), f(20)), with_audio=False)[0]
    doc.add_marker(f(50))
    assert doc.edit_points() == [f(0), f(10), f(30), f(50)]
    assert doc.edit_points(exclude_ids=[clip]) == [f(0), f(50)]
    assert doc.snap(f(28), 3) == f(30)
    assert doc.snap(f(40), 3) is None
    assert doc.snap(f(40), 3, extra=[f(41)]) == f(41)
    assert doc.snap(RT(1.0, 1), 6) == f(30)  # one second = frame 24, six frames from the clip's end
    assert doc.snap(RT(1.0, 1), 5) is None


def test_times_at_other_rates_round_to_timeline_frames() -> None:
    doc = TimelineDocument(rate=24)
    doc.add_bin_item(media("m"))
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    cid = doc.overwrite("m", v1, RT(0.5, 1), TR(RT(0, 1), RT(1, 1)), with_audio=False)[0]
    assert doc.clip(cid).start == f(12) and doc.clip(cid).duration == f(24)


def _populated() -> TimelineDocument:
    doc = TimelineDocument(name="Round", rate=24)
    doc.add_bin_item(
        media("a", generation={"model": "ltx-2", "seed": 3, "prompt": "a cat"}, kind="generated")
    )
    doc.add_bin_item(media("b"))
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    a = doc.overwrite("a", v1, f(0), TR(f(10), f(24)))[0]
    doc.overwrite("b", v1, f(24), TR(f(10), f(24)))
    doc.add_dissolve(a, f(6))
    doc.add_marker(f(12), "m")
    doc.set_track_enabled(doc.add_track(TrackKind.VIDEO), False)
    return doc


def test_snapshot_restore_is_exact_and_emits_reset() -> None:
    doc = _populated()
    before = doc.snapshot()
    clips_before = doc.clips(doc.tracks()[0].id)
    doc.ripple_delete([clips_before[0].id])
    seen: list[DocumentChange] = []
    doc.subscribe(seen.append)
    doc.restore(before)
    assert seen == [DocumentChange("reset", ())]
    assert doc.snapshot() == before
    assert doc.clips(doc.tracks()[0].id) == clips_before
    assert len(doc.dissolves(doc.tracks()[0].id)) == 1


def test_generation_parameters_survive_round_trips() -> None:
    doc = _populated()
    cid = doc.clips(doc.tracks()[0].id)[0].id
    assert doc.clip(cid).generation == {"model": "ltx-2", "seed": 3, "prompt": "a cat"}
    doc.set_clip_generation(cid, {"model": "ltx-2", "seed": 4, "settings": {"steps": [1, 2]}})
    again = TimelineDocument.from_otio(doc.to_otio())
    assert again.clip(cid).generation == {"model": "ltx-2", "seed": 4, "settings": {"steps": [1, 2]}}


def test_otio_round_trip_with_path_map() -> None:
    doc = _populated()
    exported = doc.to_otio(lambda p: p.replace("/media/", "media/"))
    urls = {c.media_reference.target_url for c in exported.find_clips()}
    assert urls == {"media/a.mkv", "media/b.mkv"}
    assert doc.bin_item("a").path == "/media/a.mkv"  # the live document is untouched
    text = otio.adapters.write_to_string(exported, "otio_json")
    back = TimelineDocument.from_otio(
        otio.adapters.read_from_string(text, "otio_json"), lambda p: "/project/" + p
    )
    assert back.bin_item("a").path == "/project/media/a.mkv"
    assert (
        TimelineDocument.from_otio(back.to_otio(lambda p: p.replace("/project/", "/"))).snapshot()
        == doc.snapshot()
    )
    v1 = back.tracks()[0].id
    assert [c.id for c in back.clips(v1)] == [c.id for c in doc.clips(v1)]
    assert back.markers() == doc.markers()
    assert [t.enabled for t in back.tracks()] == [t.enabled for t in doc.tracks()]


def test_from_foreign_otio_assigns_ids_and_bin_items() -> None:
    timeline = otio.schema.Timeline(name="Foreign")
    track = otio.schema.Track(name="Video 1", kind="Video")
    timeline.tracks.append(track)
    for i in range(2):
        track.append(
            otio.schema.Clip(
                name=f"shot{i}",
                media_reference=otio.schema.ExternalReference(target_url=f"/x/shot{i}.mov"),
                source_range=TR(RT(0, 25), RT(50, 25)),
            )
        )
    doc = TimelineDocument.from_otio(timeline)
    assert doc.rate == 25.0
    assert [t.name for t in doc.tracks()] == ["V1", "A1"]
    clips = doc.clips(doc.tracks()[0].id)
    assert [c.start.value for c in clips] == [0, 50]
    assert {doc.bin_item(c.media_id).path for c in clips} == {"/x/shot0.mov", "/x/shot1.mov"}
    assert len({c.id for c in clips}) == 2
    doc.split(clips[0].id, RT(10, 25))
    assert len(doc.clips(doc.tracks()[0].id)) == 3


def test_unknown_ids_raise_edit_error() -> None:
    doc = TimelineDocument()
    for call in (
        lambda: doc.clip("x"),
        lambda: doc.clips("x"),
        lambda: doc.remove_track("x"),
        lambda: doc.set_clip_generation("x", {}),
        lambda: doc.remove_dissolve("x"),
        lambda: doc.move_marker("x", f(1)),
    ):
        with pytest.raises(EditError):
            call()

"""Cut/copy/paste, paste attributes, track lock, clip enable and marker notes on the headless document."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.document import MediaItem, TimelineDocument, TrackKind  # noqa: E402
from app.document.clipboard import (  # noqa: E402
    GRADE,
    SOUND,
    ClipboardContent,
    copy_clips,
    paste,
    paste_attributes,
)
from app.errors import EditError  # noqa: E402
from tests.app.test_document_edits import media  # noqa: E402 - a bin item without a file

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
GRADE_A = {"exposure": 1.5, "look": None, "cdl": {"slope": [1.1, 1.0, 0.9]}}


def f(frames: int) -> otio.opentime.RationalTime:
    return RT(frames, 24)


def v(doc, n=0):
    return doc.tracks(TrackKind.VIDEO)[n].id


def a(doc, n=0):
    return doc.tracks(TrackKind.AUDIO)[n].id


def frames(doc, track_id):
    """(media id, start, duration, source start) per clip."""
    return [
        (c.media_id, int(c.start.value), int(c.duration.value), int(c.source_start.value))
        for c in doc.clips(track_id)
    ]


@pytest.fixture
def doc() -> TimelineDocument:
    doc = TimelineDocument(rate=24)
    for mid in ("a", "b"):
        doc.add_bin_item(media(mid))
    return doc


def graded_pair(doc) -> tuple[str, str]:
    """Clip a [0, 24) from source 10 on V1 + A1 (linked), graded, with generation, mask, gain and fades."""
    video, audio = doc.overwrite("a", v(doc), f(0), TR(f(10), f(24)))
    doc.set_clip_grade(video, GRADE_A)
    doc.set_clip_generation(video, {"prompt": "a red fox", "seed": 7})
    doc.set_clip_mask(video, {"id": "m1", "in": 0, "out": 3})
    doc.set_clip_gain(audio, -6.0)
    doc.set_clip_fades(audio, 3, 5)
    return video, audio


def assert_refused(doc, edit) -> None:
    before = doc.snapshot()
    seen = []
    unsubscribe = doc.subscribe(seen.append)
    with pytest.raises(EditError) as info:
        edit()
    unsubscribe()
    assert doc.snapshot() == before
    assert seen == []
    return info.value


# ------------------------------------------------------------------------------------------ clipboard
def test_copy_paste_keeps_grade_generation_mask_gain_and_gives_new_ids(doc):
    video, audio = graded_pair(doc)
    content = ClipboardContent.from_json(copy_clips(doc, [video]).to_json())  # through the system clipboard
    created = paste(doc, content, f(48))
    assert len(created) == 2 and not set(created) & {video, audio}
    new_video, new_audio = (doc.clip(c) for c in created)
    assert new_video.track_id == v(doc) and new_audio.track_id == a(doc)
    assert (int(new_video.start.value), int(new_video.duration.value), int(new_video.source_start.value)) == (
        48,
        24,
        10,
    )
    assert new_video.grade == GRADE_A
    assert new_video.generation["prompt"] == "a red fox" and new_video.generation["seed"] == 7
    assert new_video.mask == {"id": "m1", "in": 0, "out": 3}
    assert (new_audio.gain_db, new_audio.fade_in, new_audio.fade_out) == (-6.0, 3, 5)
    # the copies are linked to each other, not to the originals
    assert new_video.link_id is not None and new_video.link_id == new_audio.link_id
    assert new_video.link_id != doc.clip(video).link_id
    assert sorted(doc.linked_clips(created[0])) == sorted(created)
    # the originals did not move
    assert frames(doc, v(doc)) == [("a", 0, 24, 10), ("a", 48, 24, 10)]


def test_copy_without_linked_selection_takes_the_picture_alone(doc):
    video, _ = graded_pair(doc)
    created = paste(doc, copy_clips(doc, [video], linked=False), f(30))
    assert len(created) == 1
    assert doc.clip(created[0]).track_id == v(doc) and doc.clip(created[0]).link_id is None
    assert frames(doc, a(doc)) == [("a", 0, 24, 10)]


def test_paste_overwrites_what_lies_under_it(doc):
    doc.overwrite("b", v(doc), f(0), TR(f(0), f(96)), with_audio=False)
    clip = doc.overwrite("a", v(doc), f(200), TR(f(0), f(10)), with_audio=False)[0]
    paste(doc, copy_clips(doc, [clip]), f(20))
    assert frames(doc, v(doc)) == [("b", 0, 20, 0), ("a", 20, 10, 0), ("b", 30, 66, 30), ("a", 200, 10, 0)]


def test_paste_insert_opens_room_on_the_destination_tracks(doc):
    doc.overwrite("b", v(doc), f(0), TR(f(0), f(96)), with_audio=False)
    clip = doc.overwrite("a", v(doc), f(200), TR(f(0), f(10)), with_audio=False)[0]
    paste(doc, copy_clips(doc, [clip]), f(20), insert=True)
    assert frames(doc, v(doc)) == [("b", 0, 20, 0), ("a", 20, 10, 0), ("b", 30, 76, 20), ("a", 210, 10, 0)]


def test_paste_onto_another_track_shifts_both_kinds_and_makes_missing_tracks(doc):
    video, audio = graded_pair(doc)
    doc.add_track(TrackKind.VIDEO)
    created = paste(doc, copy_clips(doc, [video]), f(0), track_id=v(doc, 1))
    assert [doc.clip(c).track_id for c in created] == [v(doc, 1), a(doc, 1)]  # V2 and a new A2
    assert len(doc.tracks(TrackKind.AUDIO)) == 2
    # pasting the sound onto A2 keeps the picture one track above its sound's number too
    created = paste(doc, copy_clips(doc, [audio]), f(100), track_id=a(doc, 1))
    assert {doc.clip(c).track_id for c in created} == {v(doc, 1), a(doc, 1)}


def test_paste_refuses_a_track_of_the_other_kind(doc):
    clip = doc.overwrite("a", v(doc), f(0), TR(f(0), f(10)), with_audio=False)[0]
    content = copy_clips(doc, [clip])
    error = assert_refused(doc, lambda: paste(doc, content, f(50), track_id=a(doc)))
    assert "video track" in str(error)


def test_paste_onto_a_locked_track_is_refused_and_nothing_changes(doc):
    video, _ = graded_pair(doc)
    content = copy_clips(doc, [video])
    doc.set_track_locked(a(doc), True)
    error = assert_refused(doc, lambda: paste(doc, content, f(40)))
    assert "A1 is locked" in str(error)


def test_pasting_into_another_project_brings_the_media_along(doc):
    video, _ = graded_pair(doc)
    text = copy_clips(doc, [video]).to_json()
    other = TimelineDocument(rate=24)
    created = paste(other, ClipboardContent.from_json(text), f(5))
    assert [c.media_id for c in (other.clip(i) for i in created)] == ["a", "a"]
    assert other.bin_item("a").path == "/media/a.mkv" and other.clip(created[0]).grade == GRADE_A
    # a project holding the same file under another id reuses its bin entry
    third = TimelineDocument(rate=24)
    third.add_bin_item(MediaItem("own", "/media/a.mkv", "a", media("a").info))
    created = paste(third, ClipboardContent.from_json(text), f(0))
    assert {third.clip(i).media_id for i in created} == {"own"}
    assert [i.id for i in third.bin_items()] == ["own"]


def test_clipboard_text_that_is_not_our_clips_is_refused():
    with pytest.raises(EditError, match="not OTIO JSON"):
        ClipboardContent.from_json("hello")
    with pytest.raises(EditError, match="not UTF-8"):
        ClipboardContent.from_json(b"\xff\xfe\x00")
    foreign = otio.adapters.write_to_string(otio.schema.Timeline(name="x"), "otio_json")
    with pytest.raises(EditError, match="not clips copied in AIPROD"):
        ClipboardContent.from_json(foreign)
    newer = otio.schema.Timeline(name="x", metadata={"aiprod": {"format": "aiprod.clipboard", "version": 99}})
    with pytest.raises(EditError, match="newer"):
        ClipboardContent.from_json(otio.adapters.write_to_string(newer, "otio_json"))


def test_copy_of_nothing_and_paste_before_zero_are_refused(doc):
    with pytest.raises(EditError, match="Select the clips"):
        copy_clips(doc, [])
    clip = doc.overwrite("a", v(doc), f(0), TR(f(0), f(10)), with_audio=False)[0]
    content = copy_clips(doc, [clip])
    assert_refused(doc, lambda: paste(doc, content, f(-3)))


def test_a_dissolve_between_copied_clips_comes_along(doc):
    left = doc.overwrite("a", v(doc), f(0), TR(f(10), f(24)), with_audio=False)[0]
    right = doc.overwrite("b", v(doc), f(24), TR(f(10), f(24)), with_audio=False)[0]
    doc.add_dissolve(left, f(6))
    created = paste(doc, copy_clips(doc, [left, right]), f(100))
    dissolves = [d for d in doc.dissolves(v(doc)) if d.left_id in created]
    assert len(dissolves) == 1 and dissolves[0].right_id in created and int(dissolves[0].duration.value) == 6


# ------------------------------------------------------------------------------------ paste attributes
def test_paste_attributes_grade_only_sound_only_and_both(doc):
    video, audio = graded_pair(doc)
    content = copy_clips(doc, [video])
    other_v, other_a = doc.overwrite("b", v(doc), f(48), TR(f(0), f(24)))
    assert paste_attributes(doc, content, [other_v, other_a], what=[GRADE]) == [other_v]
    assert doc.clip(other_v).grade == GRADE_A and doc.clip(other_a).gain_db == 0.0
    assert paste_attributes(doc, content, [other_v, other_a], what=[SOUND]) == [other_a]
    assert (doc.clip(other_a).gain_db, doc.clip(other_a).fade_in, doc.clip(other_a).fade_out) == (-6.0, 3, 5)
    # "both" from an ungraded, silent-level source resets the grade and the level
    plain_v, plain_a = doc.overwrite("b", v(doc), f(100), TR(f(0), f(24)))
    assert set(paste_attributes(doc, copy_clips(doc, [plain_v]), [other_v, other_a])) == {other_v, other_a}
    assert doc.clip(other_v).grade is None and doc.clip(other_a).gain_db == 0.0


def test_paste_attributes_errors_change_nothing(doc):
    video, audio = graded_pair(doc)
    picture_only = copy_clips(doc, [video], linked=False)
    assert "no sound levels" in str(
        assert_refused(doc, lambda: paste_attributes(doc, picture_only, [audio], [SOUND]))
    )
    assert "None of the selected" in str(
        assert_refused(doc, lambda: paste_attributes(doc, picture_only, [audio], [GRADE]))
    )
    assert_refused(doc, lambda: paste_attributes(doc, picture_only, [], [GRADE]))
    assert_refused(doc, lambda: paste_attributes(doc, picture_only, [video], ["colour"]))
    doc.set_track_locked(v(doc), True)
    assert "locked" in str(assert_refused(doc, lambda: paste_attributes(doc, picture_only, [video], [GRADE])))


def test_pasted_fades_are_limited_to_a_shorter_clip(doc):
    _, audio = graded_pair(doc)
    short = doc.overwrite("b", a(doc), f(50), TR(f(0), f(6)))[0]
    paste_attributes(doc, copy_clips(doc, [audio]), [short], [SOUND])
    assert (doc.clip(short).fade_in, doc.clip(short).fade_out) == (3, 3)


# ------------------------------------------------------------------------------------------ track lock
def test_a_locked_track_refuses_edits_and_keeps_its_clips(doc):
    video, audio = graded_pair(doc)
    doc.set_track_locked(v(doc), True)
    assert doc.track_info(v(doc)).locked and not doc.track_info(a(doc)).locked
    assert_refused(doc, lambda: doc.move_clip(video, v(doc), f(50)))
    assert_refused(doc, lambda: doc.trim_out(video, f(-4)))
    assert_refused(doc, lambda: doc.lift([video]))
    assert_refused(doc, lambda: doc.split_all(f(12)))  # the audio track alone would split; V1 refuses it
    assert_refused(doc, lambda: doc.set_clip_grade(video, None))
    assert_refused(doc, lambda: doc.set_clips_enabled([video], False))
    assert_refused(doc, lambda: doc.overwrite("b", v(doc), f(5), TR(f(0), f(4)), with_audio=False))
    assert_refused(doc, lambda: doc.remove_track(v(doc)))
    # the unlocked sound alone may still change; a copy of the locked clip is allowed
    doc.trim_out(audio, f(-4), linked=False)
    assert int(doc.clip(audio).duration.value) == 20
    assert len(copy_clips(doc, [video], linked=False).clips()) == 1
    doc.set_track_locked(v(doc), False)
    doc.trim_out(video, f(-4), linked=False)
    assert int(doc.clip(video).duration.value) == 20


def test_lock_survives_save_and_load_through_otio(doc):
    doc.set_track_locked(a(doc), True)
    again = TimelineDocument.from_otio(doc.to_otio())
    assert again.track_info(a(again)).locked and not again.track_info(v(again)).locked


# ---------------------------------------------------------------------------------------- clip enable
def test_a_disabled_clip_shows_the_track_below_and_is_silent(doc):
    low = doc.overwrite("b", v(doc), f(0), TR(f(0), f(24)))[0]
    doc.add_track(TrackKind.VIDEO)
    top = doc.overwrite("a", v(doc, 1), f(0), TR(f(0), f(24)), with_audio=False)[0]
    assert doc.video_at(f(5)).clip_id == top
    doc.set_clips_enabled([top], False)
    assert not doc.clip(top).enabled and doc.video_at(f(5)).clip_id == low
    sound = doc.linked_clips(low)[1]
    assert [s.clip_id for s in doc.audio_segments(f(0), f(24))] == [sound]
    doc.set_clips_enabled([low, sound], False)
    assert doc.video_at(f(5)) is None and doc.audio_segments(f(0), f(24)) == []
    again = TimelineDocument.from_otio(doc.to_otio())
    assert [c.enabled for c in again.clips(v(again))] == [False]
    doc.set_clips_enabled([top], True)
    assert doc.video_at(f(5)).clip_id == top
    with pytest.raises(EditError):
        doc.set_clips_enabled([], False)


@pytest.fixture(scope="module")
def real_media(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("enable") / "a.mp4", frames=24)


def test_a_disabled_clip_exports_black_and_silent(real_media, tmp_path):
    from app.export import render_timeline
    from app.media.importer import import_files

    doc = TimelineDocument(name="Enable", rate=24)
    ids, errors = import_files(doc, [real_media])
    assert not errors
    first = doc.insert(ids[0], v(doc), f(0), source_range=TR(f(0), f(12)))
    second = doc.insert(ids[0], v(doc), f(12), source_range=TR(f(12), f(12)))
    doc.set_clips_enabled(second, False)  # the picture and its sound
    out = render_timeline(doc, "h264_high", tmp_path / "e.mp4", size=(64, 48)).path
    with av.open(str(out)) as container:
        pictures = [fr.to_ndarray(format="rgb24") for fr in container.decode(video=0)]
    with av.open(str(out)) as container:
        sound = np.concatenate([fr.to_ndarray().reshape(-1) for fr in container.decode(audio=0)])
    assert len(pictures) == 24
    assert pictures[3].mean() > 40 and max(p.max() for p in pictures[14:]) < 30  # black where disabled
    rate = 48000
    assert np.abs(sound[: rate // 4]).max() > 0.1  # the first clip's tone
    assert np.abs(sound[int(0.6 * rate) * 2 : int(0.9 * rate) * 2]).max() < 1e-3  # silence (interleaved)
    assert len(first) == 2


# -------------------------------------------------------------------------------------------- markers
def test_marker_note_and_colour_round_trip_through_save_load_and_otio_export(doc, tmp_path):
    from app.interchange import export_timeline, import_timeline
    from app.project.store import load_project, save_project

    doc.overwrite("a", v(doc), f(0), TR(f(0), f(48)))  # interchange formats refuse an empty timeline
    marker = doc.add_marker(f(30), name="cut here")
    doc.edit_marker(marker, name="Fix sky", note="sky flickers; regenerate with seed 9", color="green")
    shown = doc.markers()[0]
    assert (shown.name, shown.note, shown.color) == (
        "Fix sky",
        "sky flickers; regenerate with seed 9",
        "GREEN",
    )
    save_project(doc, tmp_path / "P.aiprod")
    loaded = load_project(tmp_path / "P.aiprod").doc.markers()[0]
    assert (loaded.name, loaded.note, loaded.color, int(loaded.time.value)) == (
        shown.name,
        shown.note,
        "GREEN",
        30,
    )
    files = export_timeline(doc, tmp_path / "t.otio")
    data = json.loads(files[0].read_text())
    written = data["tracks"]["markers"][0]
    assert (written["comment"], written["color"]) == (shown.note, "GREEN")
    back = import_timeline(files[0]).markers()[0]
    assert (back.name, back.note, back.color) == (shown.name, shown.note, "GREEN")
    fcp7 = import_timeline(export_timeline(doc, tmp_path / "t.xml")[0]).markers()[0]
    assert (fcp7.name, fcp7.note) == (shown.name, shown.note)  # FCP 7 XML: <comment> (its colours are lost)


def test_marker_edit_errors_change_nothing(doc):
    marker = doc.add_marker(f(3))
    assert "not a marker colour" in str(assert_refused(doc, lambda: doc.edit_marker(marker, color="teal")))
    assert_refused(doc, lambda: doc.edit_marker(marker, note=5))
    assert_refused(doc, lambda: doc.edit_marker(marker, name="\udcff"))
    assert_refused(doc, lambda: doc.edit_marker("gone", name="x"))


def test_interchange_losses_of_notes_and_disabled_clips_are_as_listed(doc, tmp_path):
    from app.interchange import LOSSES, export_timeline, import_timeline

    first = doc.overwrite("a", v(doc), f(0), TR(f(0), f(48)), with_audio=False)
    doc.overwrite("b", v(doc), f(48), TR(f(0), f(48)), with_audio=False)
    doc.set_clips_enabled(first, False)
    doc.edit_marker(doc.add_marker(f(60)), name="Here", note="a note")
    back = {}
    for suffix in (".otio", ".xml", ".fcpxml", ".edl"):
        back[suffix] = import_timeline(export_timeline(doc, tmp_path / f"t{suffix}")[0])
    states = {k: [(c.media_id, c.enabled) for c in d.clips(v(d))] for k, d in back.items()}
    notes = {k: [m.note for m in d.markers()] for k, d in back.items()}
    assert [e for _, e in states[".otio"]] == [False, True] and notes[".otio"] == ["a note"]
    assert [e for _, e in states[".xml"]] == [True, True] and notes[".xml"] == ["a note"]
    assert [e for _, e in states[".fcpxml"]] == [True, True] and notes[".fcpxml"] == [""]
    assert len(states[".edl"]) == 1 and notes[".edl"] == [""]
    assert "marker notes" in LOSSES["edl"] and "marker notes" in LOSSES["fcpx_xml"]
    assert "disabled clips (left out of the EDL)" in LOSSES["edl"]
    assert all(
        "clip disable (disabled clips come back enabled)" in LOSSES[k] for k in ("fcp_xml", "fcpx_xml")
    )


def test_each_command_is_one_undo_step_and_undo_redo_is_the_identity(doc):
    from PySide6.QtGui import QUndoStack

    from app.commands import push_edit

    stack = QUndoStack()
    video, audio = graded_pair(doc)
    marker = doc.add_marker(f(5))
    fresh = doc.overwrite("b", v(doc), f(200), TR(f(0), f(24)))  # ungraded, 0 dB
    other = TimelineDocument(rate=24)
    other_stack = QUndoStack()
    content = copy_clips(doc, [video])
    edits = [
        (doc, stack, lambda d: paste(d, content, f(30), track_id=None)),
        (doc, stack, lambda d: paste(d, content, f(10), insert=True)),
        (doc, stack, lambda d: paste_attributes(d, copy_clips(d, [video]), fresh, [SOUND, GRADE])),
        (doc, stack, lambda d: d.set_track_locked(v(d), True)),
        (doc, stack, lambda d: d.set_track_locked(v(d), False)),
        (doc, stack, lambda d: d.set_clips_enabled([video, audio], False)),
        (doc, stack, lambda d: d.edit_marker(marker, name="N", note="a note", color="CYAN")),
        (other, other_stack, lambda d: paste(d, ClipboardContent.from_json(content.to_json()), f(0))),
    ]
    for target, undo, edit in edits:
        before = target.snapshot()
        count = undo.count()
        push_edit(undo, target, "edit", edit)
        after = target.snapshot()
        assert after != before and undo.count() == count + 1
        undo.undo()
        assert target.snapshot() == before
        undo.redo()
        assert target.snapshot() == after
    assert [m.note for m in doc.markers()] == ["a note"]
    assert [i.id for i in other.bin_items()] == ["a"]
    other_stack.undo()
    assert other.bin_items() == [] and other.clips(v(other)) == []


def test_a_clips_mask_file_travels_to_another_projects_store(doc, tmp_path):
    from app.document.clipboard import restore_masks
    from app.masks import MaskStore

    here, there = MaskStore(tmp_path / "here"), MaskStore(tmp_path / "there")
    pixels = np.zeros((18, 32), np.uint8)
    pixels[4:12, 8:20] = 255
    mask_id = here.save(pixels)
    video, _ = graded_pair(doc)
    doc.set_clip_mask(video, {"id": mask_id, "in": 0, "out": 3})
    content = ClipboardContent.from_json(copy_clips(doc, [video], masks=here).to_json())
    assert restore_masks(content, there) == []
    assert np.array_equal(there.load(mask_id), pixels)
    other = TimelineDocument(rate=24)
    created = paste(other, content, f(0))
    assert other.clip(created[0]).mask["id"] == mask_id
    # not carried (copied without the store), or damaged on the way: named, nothing written
    elsewhere = MaskStore(tmp_path / "elsewhere")
    assert restore_masks(copy_clips(doc, [video]), elsewhere) == [mask_id]
    tampered = copy_clips(doc, [video], masks=here)
    meta_masks = tampered.timeline.metadata["aiprod"]["masks"]
    meta_masks[mask_id] = base64.b64encode(b"not a png").decode()
    assert restore_masks(tampered, elsewhere) == [mask_id] and not elsewhere.exists(mask_id)
    other_pixels = MaskStore(tmp_path / "other")
    other_id = other_pixels.save(np.full((18, 32), 255, np.uint8))
    meta_masks[mask_id] = base64.b64encode(other_pixels.path(other_id).read_bytes()).decode()
    assert restore_masks(tampered, elsewhere) == [mask_id] and list((tmp_path / "elsewhere").glob("*")) == []


def test_paste_into_a_project_of_another_rate_keeps_the_time(doc):
    clip = doc.overwrite("a", v(doc), f(24), TR(f(12), f(48)), with_audio=False)[0]
    other = TimelineDocument(rate=25)
    [pasted] = paste(other, ClipboardContent.from_json(copy_clips(doc, [clip]).to_json()), RT(50, 25))
    info = other.clip(pasted)
    assert (int(info.start.value), int(info.duration.value), int(info.source_start.value)) == (50, 50, 13)


def test_a_paste_that_would_go_below_the_first_track_is_refused(doc):
    picture = doc.overwrite("a", v(doc), f(0), TR(f(0), f(10)), with_audio=False)[0]
    doc.add_track(TrackKind.AUDIO)
    sound = doc.overwrite("b", a(doc, 1), f(0), TR(f(0), f(10)))[0]
    content = copy_clips(doc, [picture, sound], linked=False)  # V1 and A2
    error = assert_refused(doc, lambda: paste(doc, content, f(40), track_id=a(doc, 0)))
    assert "below the first track" in str(error)
    created = paste(doc, content, f(40), track_id=a(doc, 1))  # A2 (and V1) as copied
    assert [doc.clip(c).track_id for c in created] == [v(doc), a(doc, 1)]

"""A retimed clip (OTIO LinearTimeWarp) through interchange: .otio keeps the effect natively, an EDL carries
it as an M2 motion-effect line, the FCP 7 XML and FCPXML writers drop it -- as LOSSES says."""

from __future__ import annotations

import sys
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.interchange import LOSSES, export_timeline, import_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402


def rt(frames: int) -> RationalTime:
    return RationalTime(frames, 24)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("retime interchange") / "a.mov", frames=96, codec="prores_ks")


@pytest.fixture
def doc(media) -> TimelineDocument:
    """V1/A1: a [0, 20) src 10 at 200%; then a [20, 40) src 50 at 50% (slow motion)."""
    document = TimelineDocument(name="Retimed", rate=24)
    (item,), errors = import_files(document, [media])
    assert not errors
    v1 = document.tracks(TrackKind.VIDEO)[0].id
    fast, _ = document.insert(item, v1, rt(0), TimeRange(rt(10), rt(20)))
    slow, _ = document.insert(item, v1, rt(20), TimeRange(rt(50), rt(20)))
    document.set_clip_speed(fast, 2.0)
    document.set_clip_speed(slow, 0.5)
    return document


def retimes(document: TimelineDocument) -> list[list[tuple]]:
    """Per track: (start, duration, source start, speed) of each clip."""
    return [
        [(c.start.value, c.duration.value, c.source_start.value, c.speed) for c in document.clips(t.id)]
        for t in document.tracks()
    ]


def test_otio_keeps_the_linear_time_warp(doc, tmp_path):
    out = tmp_path / "r.otio"
    export_timeline(doc, out)
    timeline = otio.adapters.read_from_file(str(out))
    warps = [
        [e.time_scalar for e in clip.effects if isinstance(e, otio.schema.LinearTimeWarp)]
        for clip in timeline.video_tracks()[0].find_clips()
    ]
    assert warps == [[2.0], [0.5]]  # stored as OTIO's own schema, readable by any OTIO tool
    assert retimes(import_timeline(out)) == retimes(doc)
    assert not any("speed" in loss for loss in LOSSES["otio"])


def test_edl_carries_speed_as_m2(doc, tmp_path):
    export_timeline(doc, tmp_path / "r.edl")
    text = (tmp_path / "r_V1.edl").read_text()
    assert "M2" in text and "48.0" in text and "12.0" in text  # 200% and 50% of 24 fps
    assert retimes(import_timeline(tmp_path / "r_V1.edl", rate=24)) == retimes(doc)
    assert not any("speed" in loss for loss in LOSSES["edl"])


@pytest.mark.parametrize(("suffix", "key"), [(".xml", "fcp_xml"), (".fcpxml", "fcpx_xml")])
def test_fcp_xml_loses_speed_as_documented(doc, tmp_path, suffix, key):
    out = tmp_path / f"r{suffix}"
    export_timeline(doc, out)
    back = retimes(import_timeline(out))
    expected = [[(s, d, src, 1.0) for s, d, src, _ in track] for track in retimes(doc)]
    assert back == expected  # place, length and source in kept; the speed is lost
    assert any("clip speed" in loss for loss in LOSSES[key])

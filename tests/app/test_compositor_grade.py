"""Grading inside the compositor: each clip through its own grade before a dissolve mixes them, A/B off
switch, re-render on grade and settings changes, the float (16-bit) path the export reads."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.color import CDL, Grade, GradePipeline  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.errors import ColorError  # noqa: E402
from app.media.compositor import TimelineCompositor  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.media.reader import VideoReader  # noqa: E402

LOOK = {"look": "teal_orange"}
CDL_GRADE = Grade(cdl=CDL(slope=(1.3, 0.9, 0.8), saturation=1.2)).to_dict()


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, 24)


def write_rgb48(path: Path, frames: np.ndarray, fps: int = 24) -> Path:
    """FFV1 16-bit planar RGB (as generated masters are) holding exactly ``frames`` (uint16 [N, H, W, 3])."""
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "gbrp16le"
        stream.time_base = Fraction(1, fps)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb48le").reformat(
                format="gbrp16le"
            )
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("grade_media")
    rng = np.random.default_rng(4)
    return {
        "a": make_video(root / "a.mov", frames=48, codec="prores_ks", audio=False),
        "b": make_video(root / "b.mp4", frames=48, audio=False),
        "deep": write_rgb48(root / "deep.mkv", rng.integers(0, 65536, (6, 48, 64, 3), dtype=np.uint16)),
    }


@pytest.fixture
def dissolve_doc(media):
    """V1: a (frames 0..39, handles after) then b (8 frames of handle before), an 8-frame dissolve."""
    doc = TimelineDocument(rate=24)
    ids, errors = import_files(doc, [media["a"], media["b"]])
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, rt(0), source_range=TimeRange(rt(0), rt(40)))
    doc.insert(ids[1], video, rt(40), source_range=TimeRange(rt(8), rt(40)))
    first, second = doc.clips(video)
    doc.add_dissolve(first.id, rt(8))
    return doc, first.id, second.id


def test_each_clip_is_graded_before_the_dissolve_mixes_them(dissolve_doc):
    doc, first, second = dissolve_doc
    grades = {first: LOOK, second: CDL_GRADE}
    for clip_id, grade in grades.items():
        doc.set_clip_grade(clip_id, grade)
    compositor = TimelineCompositor(doc)
    cut = doc.dissolves(doc.tracks(TrackKind.VIDEO)[0].id)[0].cut.to_frames()
    sample = doc.video_at(rt(cut))
    assert sample.mix is not None and {sample.clip_id, sample.mix_clip_id} == {first, second}
    pipeline = GradePipeline()
    a = compositor.source_frame(sample.path, sample.seconds).astype(np.float32) / 255
    b = compositor.source_frame(sample.mix[0], sample.mix[1]).astype(np.float32) / 255
    weight = sample.mix[2]
    graded_a = np.round(np.clip(pipeline.render(a, grades[sample.clip_id]), 0, 1) * 255)
    graded_b = np.round(np.clip(pipeline.render(b, grades[sample.mix_clip_id]), 0, 1) * 255)
    expected = graded_a * (1 - weight) + graded_b * weight
    shown = compositor.frame_at(rt(cut)).astype(np.float32)
    assert np.abs(shown - expected).max() <= 1.0
    # grading the mix with one clip's grade instead would differ: the per-clip order matters
    mixed_then_graded = pipeline.render(a * (1 - weight) + b * weight, LOOK) * 255
    assert np.abs(shown - mixed_then_graded).max() > 4
    # the float path agrees with the 8-bit one within 8-bit rounding
    assert np.abs(compositor.frame_at_float(rt(cut)) * 255 - shown).max() <= 2.0
    compositor.close()


def test_graded_false_shows_the_clips_as_decoded(dissolve_doc):
    doc, first, _second = dissolve_doc
    compositor = TimelineCompositor(doc)
    plain = compositor.frame_at(rt(10))
    doc.set_clip_grade(first, LOOK)
    graded = compositor.frame_at(rt(10))
    assert np.abs(graded.astype(int) - plain).max() > 10
    compositor.graded = False
    assert np.array_equal(compositor.frame_at(rt(10)), plain)
    compositor.graded = True
    doc.set_clip_grade(first, None)
    assert np.array_equal(compositor.frame_at(rt(10)), plain)  # ungraded again, bit for bit
    compositor.close()


def test_grade_and_settings_changes_render_anew(dissolve_doc):
    doc, first, _second = dissolve_doc
    compositor = TimelineCompositor(doc)
    doc.set_clip_grade(first, {"exposure": 1.0})
    brighter = compositor.frame_at(rt(10)).astype(int)
    doc.set_clip_grade(first, {"exposure": -1.0})
    darker = compositor.frame_at(rt(10)).astype(int)
    assert (brighter - darker).mean() > 20
    before = compositor.pipeline()
    doc.set_color_settings({"working_space": "ACEScct"})  # the CDL now acts on log values
    doc.set_clip_grade(first, CDL_GRADE)
    in_log = compositor.frame_at(rt(10)).astype(int)
    assert compositor.pipeline() is not before and compositor.pipeline().spaces.working_space == "ACEScct"
    doc.set_color_settings({})
    in_video = compositor.frame_at(rt(10)).astype(int)
    assert np.abs(in_log - in_video).max() > 5
    compositor.close()


def test_a_grade_that_cannot_be_applied_fails_the_export_path_but_not_the_viewer(dissolve_doc, tmp_path):
    doc, first, _second = dissolve_doc
    doc.set_clip_grade(first, {"lut_path": str(tmp_path / "gone.cube")})
    compositor = TimelineCompositor(doc)
    compositor.graded = False
    plain = compositor.frame_at(rt(10))
    compositor.graded = True
    assert np.array_equal(compositor.frame_at(rt(10)), plain)  # shown ungraded...
    assert "gone.cube" in compositor.grade_errors[first]  # ...with the reason kept for the UI
    with pytest.raises(ColorError, match="gone.cube"):
        compositor.frame_at_float(rt(10))
    compositor.close()


def test_the_float_path_keeps_16_bit_sources_exact(media):
    doc = TimelineDocument(rate=24)
    ids, errors = import_files(doc, [media["deep"]])
    assert not errors
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0))
    compositor = TimelineCompositor(doc)
    with VideoReader(media["deep"]) as reader:
        for index in range(6):
            expected = reader.frame(index, depth=16).astype(np.float32) / 65535
            got = compositor.frame_at_float(rt(index))
            assert got.dtype == np.float32 and got.shape == (48, 64, 3)
            assert np.abs(got - expected).max() < 1e-4
    # 8-bit frames of the same source are the 16-bit ones rounded
    rng = np.random.default_rng(4)
    written = rng.integers(0, 65536, (6, 48, 64, 3), dtype=np.uint16)
    assert np.abs(compositor.frame_at_float(rt(2)) - written[2] / 65535).max() < 1e-4
    # (FFmpeg's 16 -> 8 bit reduction dithers: measured 1.55 code values at most)
    assert np.abs(compositor.frame_at(rt(2)).astype(np.float32) - written[2] / 257).max() <= 2.0
    compositor.close()


def test_reader_depth_16_on_10_bit_prores(media):
    with VideoReader(media["a"]) as reader:
        deep = reader.frame(5, depth=16)
        shallow = reader.frame(5)
        again = reader.frame(5, depth=16)
    assert deep.dtype == np.uint16 and shallow.dtype == np.uint8 and np.array_equal(deep, again)
    assert np.abs(deep / 257.0 - shallow).max() <= 2.0
    with VideoReader(media["a"]) as reader, pytest.raises(ValueError):
        reader.frame(0, depth=12)


def test_letterboxed_float_frames_keep_black_bars(media, tmp_path):
    doc = TimelineDocument(rate=24)
    ids, _ = import_files(doc, [media["deep"]])
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0))
    compositor = TimelineCompositor(doc, size=(128, 48))  # the 64x48 source fits in the middle
    doc.set_clip_grade(
        doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0].id, {"cdl": {"offset": [0.1, 0.1, 0.1]}}
    )
    frame = compositor.frame_at_float(rt(0))
    assert frame.shape == (48, 128, 3)
    assert not frame[:, :32].any() and not frame[:, 96:].any() and frame[:, 32:96].min() >= 0.1 - 1e-6
    compositor.close()

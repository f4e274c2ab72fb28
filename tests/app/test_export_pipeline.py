"""The pipelined renderer (decode thread -> grade workers -> RGB->YUV thread -> encode thread): the same
pixels and the same encoded packets as the sequential path, frames in order whatever stage is slow, and a
cancel or an error in any stage leaves no file and no thread behind."""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.color import CDL, Grade  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.errors import ColorError, ExportCancelled, ExportError  # noqa: E402
from app.export import encoder as encoder_module  # noqa: E402
from app.export import render_timeline  # noqa: E402
from app.export.grading import CpuGrader  # noqa: E402
from app.export.renderer import TimelineRenderer  # noqa: E402
from app.media.importer import import_files  # noqa: E402

RATE = 24
GRADE = Grade(exposure=0.3, cdl=CDL(slope=(1.1, 1.0, 0.9), offset=(0.01, 0.0, -0.01), saturation=1.2))


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, RATE)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pipeline_media")
    return {
        "a": make_video(root / "a.mp4", frames=48, audio=True),
        "b": make_video(root / "b.mov", frames=48, codec="prores_ks", audio=False),
    }


def graded_doc(media: dict[str, Path]) -> TimelineDocument:
    """Two clips with a dissolve between them, the first graded, sound on the first."""
    doc = TimelineDocument(name="Pipeline", rate=RATE)
    ids, errors = import_files(doc, [media["a"], media["b"]])
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    first = doc.insert(ids[0], video, rt(0))
    doc.trim_out(first[0], rt(-24))
    doc.insert(ids[1], video, rt(24), source_range=TimeRange(rt(8), rt(16)))
    doc.add_dissolve(first[0], rt(6))
    doc.set_clip_grade(first[0], GRADE.to_dict())
    return doc


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def no_pipeline_threads() -> bool:
    names = ("aiprod-decode", "aiprod-grade", "aiprod-yuv", "aiprod-encode")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not any(t.name.startswith(names) for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


def test_pipelined_frames_equal_the_renderer_frames_bit_for_bit(media):
    doc = graded_doc(media)
    end = 40
    sequential = TimelineRenderer(doc, alpha=True)
    pipelined = TimelineRenderer(doc, alpha=True)
    try:
        reference = [sequential.frame(i) for i in range(end)]
        frames = list(pipelined.pipelined_frames(0, end, workers=3))
    finally:
        sequential.close()
        pipelined.close()
    assert len(frames) == end
    assert any(float(np.abs(reference[i] - reference[i + 1]).max()) > 0 for i in range(end - 1))
    for index, (want, got) in enumerate(zip(reference, frames, strict=True)):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want), f"frame {index} differs"


@pytest.mark.parametrize("preset", ["prores_422_hq", "prores_4444"])
def test_pipelined_export_encodes_the_same_packets_as_the_sequential_one(media, tmp_path, preset):
    doc = graded_doc(media)
    fast = render_timeline(doc, preset, tmp_path / "pipelined.mov", mode="pipelined", workers=2)
    slow = render_timeline(doc, preset, tmp_path / "sequential.mov", mode="sequential")
    assert (fast.mode, slow.mode) == ("pipelined", "sequential")
    assert fast.graded and fast.frames == slow.frames == 40
    packets = video_packets(fast.path)
    assert len(packets) == 40
    assert packets == video_packets(slow.path)


def test_png_sequence_through_the_pipeline_matches_the_sequential_images(media, tmp_path):
    doc = graded_doc(media)
    render_timeline(doc, "png_sequence", tmp_path / "p", in_frame=2, out_frame=30, mode="pipelined")
    render_timeline(doc, "png_sequence", tmp_path / "s", in_frame=2, out_frame=30, mode="sequential")
    names = sorted(p.name for p in (tmp_path / "p").glob("*.png"))
    assert len(names) == 28
    for name in names:
        a = (tmp_path / "p" / name).read_bytes()
        b = (tmp_path / "s" / name.replace("p.", "s.", 1)).read_bytes()
        assert a == b, name


def test_frames_stay_in_order_when_the_grade_stage_is_slow_and_uneven(media, monkeypatch):
    doc = graded_doc(media)
    reference_renderer = TimelineRenderer(doc)
    reference = [reference_renderer.frame(i) for i in range(30)]
    reference_renderer.close()
    finish = TimelineRenderer.finish
    rng = random.Random(3)
    delays = [rng.choice((0.0, 0.002, 0.03)) for _ in range(30)]
    finished_order: list[int] = []

    def slow_finish(self, item, grader=None):
        time.sleep(delays[item.index])  # later frames often finish before earlier ones
        out = finish(self, item, grader)
        finished_order.append(item.index)
        return out

    monkeypatch.setattr(TimelineRenderer, "finish", slow_finish)
    renderer = TimelineRenderer(doc)
    try:
        frames = list(renderer.pipelined_frames(0, 30, workers=4))
    finally:
        renderer.close()
    assert finished_order != sorted(finished_order)  # the workers really did finish out of order
    for index, (want, got) in enumerate(zip(reference, frames, strict=True)):
        assert np.array_equal(got, want), f"frame {index} out of place"


def test_a_slow_decoder_still_gives_every_frame_in_order(media, monkeypatch, tmp_path):
    doc = graded_doc(media)
    decode = TimelineRenderer.decode

    def slow_decode(self, index):
        time.sleep(0.01 if index % 3 else 0.0)
        return decode(self, index)

    monkeypatch.setattr(TimelineRenderer, "decode", slow_decode)
    fast = render_timeline(doc, "prores_422_hq", tmp_path / "slow.mov", mode="pipelined", workers=3)
    monkeypatch.setattr(TimelineRenderer, "decode", decode)
    slow = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", mode="sequential")
    assert video_packets(fast.path) == video_packets(slow.path)


def test_cancel_mid_render_leaves_no_file_and_no_thread(media, tmp_path):
    doc = graded_doc(media)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done, total, eta):
        seen.append(done)
        if done >= 5:
            cancel.set()

    out = tmp_path / "cancelled.mov"
    with pytest.raises(ExportCancelled):
        render_timeline(doc, "prores_422_hq", out, on_progress=progress, cancel=cancel, mode="pipelined")
    assert seen and max(seen) < 40
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary
    assert no_pipeline_threads()


@pytest.mark.parametrize("stage", ["decode", "grade", "convert"])
def test_an_error_in_any_stage_is_a_clear_export_error_and_leaves_no_file(
    media, tmp_path, monkeypatch, stage
):
    doc = graded_doc(media)
    if stage == "decode":
        decode = TimelineRenderer.decode

        def broken(self, index):
            if index == 7:
                raise RuntimeError("decoder exploded")
            return decode(self, index)

        monkeypatch.setattr(TimelineRenderer, "decode", broken)
        expected = r"decoding timeline frame 7 \(RuntimeError: decoder exploded\).*Nothing was written"
    elif stage == "grade":
        finish = TimelineRenderer.finish

        def broken(self, item, grader=None):
            if item.index == 9:
                raise ValueError("grade exploded")
            return finish(self, item, grader)

        monkeypatch.setattr(TimelineRenderer, "finish", broken)
        expected = r"grading timeline frame 9 \(ValueError: grade exploded\)"
    else:
        convert = encoder_module.rgb_to_yuv_planes
        calls = [0]

        def broken(*args, **kwargs):
            calls[0] += 1
            if calls[0] == 11:
                raise ArithmeticError("planes exploded")
            return convert(*args, **kwargs)

        monkeypatch.setattr(encoder_module, "rgb_to_yuv_planes", broken)
        expected = r"converting or encoding frame \d+ of 40 \(ArithmeticError: planes exploded\)"
    out = tmp_path / "broken.mov"
    with pytest.raises(ExportError, match=expected) as caught:  # the float path: every frame through RGB->YUV
        render_timeline(doc, "prores_422_hq", out, mode="pipelined", fast=stage != "convert")
    assert not isinstance(caught.value, ExportCancelled)
    assert list(tmp_path.iterdir()) == []
    assert no_pipeline_threads()


def test_a_colour_error_in_the_grade_stage_keeps_its_own_message(media, tmp_path):
    class MissingLut(CpuGrader):
        def grade(self, pipeline, rgb, grade):
            raise ColorError("The LUT file 'gone.cube' does not exist. Relink it or choose another LUT.")

    doc = graded_doc(media)
    with pytest.raises(ColorError, match="gone.cube"):
        render_timeline(doc, "prores_422_hq", tmp_path / "x.mov", grader=MissingLut())
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_mode_is_refused_before_anything_is_written(media, tmp_path):
    with pytest.raises(ExportError, match="Unknown render mode 'turbo'"):
        render_timeline(graded_doc(media), "prores_422_hq", tmp_path / "x.mov", mode="turbo")
    assert list(tmp_path.iterdir()) == []


def test_the_scopes_entry_point_still_renders_one_frame(media):
    doc = graded_doc(media)
    renderer = TimelineRenderer(doc)
    try:
        picture = renderer.frame(3)
        decoded = renderer.finish(renderer.decode(3))
    finally:
        renderer.close()
    width, height = renderer.size
    assert picture.shape == (height, width, 3) and picture.dtype == np.float32
    assert np.array_equal(picture, decoded)


def test_frames_in_flight_are_bounded_by_memory_and_still_correct(media, monkeypatch):
    from app.export import renderer as renderer_module

    doc = graded_doc(media)
    renderer = TimelineRenderer(doc)
    width, height = renderer.size
    generous = renderer.pipelined_frames(0, 10, workers=4)
    assert (generous.workers, generous.depth) == (4, 6)
    monkeypatch.setattr(renderer_module, "PIPELINE_MEMORY_BYTES", width * height * 12 * 5)  # ~2 frames
    tight = renderer.pipelined_frames(0, 10, workers=4)
    assert (tight.workers, tight.depth) == (2, 2)
    try:
        frames = list(tight)
        reference = [renderer.frame(i) for i in range(10)]
    finally:
        generous.close()
        renderer.close()
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference, strict=True))


@pytest.mark.parametrize("preset", ["prores_422_hq", "h265_main10", "h264_high", "prores_4444"])
def test_rgb_to_yuv_in_row_bands_gives_the_same_samples(preset):
    from app.export import presets
    from app.export.encoder import yuv_planes
    from app.export.yuv import rgb_to_yuv_planes

    fmt = presets.get(preset).delivery_format()
    channels = 4 if fmt.alpha else 3
    rgb = np.random.default_rng(11).random((270, 96, channels), dtype=np.float32) * 1.2 - 0.1
    whole = rgb_to_yuv_planes(rgb, fmt.chroma_subsampling, fmt.bit_depth)
    for bands in (2, 3, 4):
        banded = yuv_planes(rgb, fmt, bands=bands)
        assert len(banded) == len(whole)
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(banded, whole, strict=True))


def test_an_export_with_banded_conversion_encodes_the_same_packets(media, tmp_path, monkeypatch):
    doc = graded_doc(media)
    size = (96, 200)  # tall enough for three bands
    # the float path (the fast path would make most frames' Y'CbCr itself)
    plain = render_timeline(
        doc, "prores_422_hq", tmp_path / "plain.mov", size=size, mode="sequential", fast=False
    )
    rows_seen: list[int] = []
    convert = encoder_module.rgb_to_yuv_planes

    def spy(rgb, *args, **kwargs):
        rows_seen.append(rgb.shape[0])
        return convert(rgb, *args, **kwargs)

    monkeypatch.setattr(encoder_module, "YUV_BANDS", 3)
    monkeypatch.setattr(encoder_module, "rgb_to_yuv_planes", spy)
    banded = render_timeline(
        doc, "prores_422_hq", tmp_path / "banded.mov", size=size, mode="pipelined", fast=False
    )
    assert rows_seen and max(rows_seen) < 200 and sum(rows_seen) == 200 * banded.frames  # really banded
    assert video_packets(banded.path) == video_packets(plain.path)

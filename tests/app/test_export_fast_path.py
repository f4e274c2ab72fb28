"""The export's fast path (app.export.fast_path): frames that show one source frame as it is go through
FFmpeg's lut3d and an integer chroma step instead of the float pipeline. It must write what the float path
(the reference, ``fast=False``) writes, within rounding; take only the frames it can render exactly that way
(no dissolve, title, move or scaling; a grade its LUT holds); and keep the export's promises (cancel, errors,
no file left, no temporary LUT left)."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.color import CDL, Grade, GradePipeline, looks  # noqa: E402
from app.document import TimelineDocument, TrackKind, placement  # noqa: E402
from app.errors import ExportCancelled, ExportError  # noqa: E402
from app.export import fast_path, presets, render_timeline  # noqa: E402
from app.export.grading import CpuGrader  # noqa: E402
from app.export.renderer import TimelineRenderer  # noqa: E402
from app.export.yuv import rgb_to_yuv_planes  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.media.reader import VideoReader  # noqa: E402

RATE = 24
SIZE = (96, 64)
FRAMES = 12


def shipped_look() -> str | None:
    names = [look.name for look in looks.available()]
    return "teal_orange" if "teal_orange" in names else (names[0] if names else None)


def look_grade() -> Grade:
    """A shipped look at 80 %, a CDL and +0.3 stops: the benchmark's grade."""
    cdl = CDL(slope=(1.08, 1.0, 0.94), offset=(0.01, 0.0, -0.01), power=(0.95, 1.0, 1.05), saturation=1.15)
    return Grade(look=shipped_look(), lut_mix=0.8, cdl=cdl, exposure=0.3)


def picture(index: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A colourful moving picture with mild grain, float 0..1 (no hard edges: natural footage)."""
    width, height = size
    rng = np.random.default_rng(index)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    phase = index / FRAMES
    rgb = np.stack(
        [
            0.5 + 0.4 * np.sin(6 * x + phase + 0 * y),
            0.5 + 0.4 * np.cos(5 * y + 2 * phase + 0 * x),
            0.3 + 0.4 * x * y,
        ],
        axis=-1,
    )
    return np.clip(rgb + rng.normal(0, 0.01, rgb.shape).astype(np.float32), 0, 1)


def write_source(path: Path, codec: str = "libx264", pix_fmt: str = "yuv420p", **tags) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=RATE)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "10", "preset": "veryfast"}
        for key, value in tags.items():
            setattr(stream.codec_context, key, value)
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray((picture(i) * 255 + 0.5).astype(np.uint8), format="rgb24")
            frame = frame.reformat(format=pix_fmt, dst_colorspace=tags.get("colorspace"))
            for key, value in tags.items():
                setattr(frame, key, value)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fast_path_media")
    return {
        "h264": write_source(root / "shot.mp4"),
        "prores": write_source(root / "shot10.mov", "prores_ks", "yuv422p10le"),
        "other": write_source(root / "other.mp4"),
        "third": write_source(root / "third.mp4"),
    }


def one_clip(path: Path, grade: Grade | None = None) -> TimelineDocument:
    doc = TimelineDocument(name="Fast", rate=RATE)
    ids, errors = import_files(doc, [path])
    assert not errors
    clip = doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, RATE))[0]
    if grade is not None:
        doc.set_clip_grade(clip, grade.to_dict())
    return doc


def decoded(path: Path) -> np.ndarray:
    reader = VideoReader(str(path))
    try:
        return (
            np.stack([reader.frame(i, depth=16) for i in range(reader.frame_count)]).astype(np.float32)
            / 65535
        )
    finally:
        reader.close()


def assert_close(fast: Path, reference: Path, mean: float = 0.5 / 255, p99: float = 2.5 / 255) -> None:
    a, b = decoded(fast), decoded(reference)
    assert a.shape == b.shape
    diff = np.abs(a - b)
    assert diff.mean() < mean, f"mean difference {diff.mean() * 255:.3f}/255"
    assert np.percentile(diff, 99) < p99, f"99th percentile {np.percentile(diff, 99) * 255:.2f}/255"


def plane_differences(frame: av.VideoFrame, want: tuple[np.ndarray, ...], dtype) -> tuple[int, float, int]:
    """(largest, sum, count) of the code-value differences between ``frame``'s planes and ``want``."""
    worst, total, count = 0, 0.0, 0
    for plane, expected in zip(frame.planes, want, strict=True):
        got = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, : plane.width]
        assert got.shape == expected.shape
        diff = np.abs(got.astype(int) - expected.astype(int))
        worst, total, count = max(worst, int(diff.max())), total + float(diff.sum()), count + diff.size
    return worst, total, count


# --------------------------------------------------------------------------- the integer Y'CbCr step


@pytest.mark.parametrize("pix_fmt", sorted(fast_path.FORMATS))
def test_the_integer_step_writes_the_float_paths_samples_within_one_code(pix_fmt):
    horizontal, vertical, bits = fast_path.FORMATS[pix_fmt]
    rng = np.random.default_rng(7)
    rgb = rng.random((32, 48, 3))
    codes = fast_path._ycbcr_codes(rgb.reshape(-1, 3)).reshape(32, 48, 3)
    v16 = np.rint(codes * 65535).astype(np.uint16)  # what lut3d hands over (G, B, R = Y', Cb, Cr)
    frame = fast_path._yuv_frame(*(np.ascontiguousarray(v16[..., k]) for k in range(3)), pix_fmt)
    want = rgb_to_yuv_planes(rgb.astype(np.float32), (horizontal, vertical), bits)
    dtype = np.uint16 if bits > 8 else np.uint8
    for plane, expected in zip(frame.planes, want, strict=True):
        got = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, : plane.width]
        assert got.shape == expected.shape
        diff = np.abs(got.astype(int) - expected.astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.1, (pix_fmt, diff.max(), diff.mean())


def test_the_cube_text_is_what_lut3d_reads():
    values = np.array([0.0, 1.0, 0.5, 0.1234567, 0.99999999, 1e-9])
    assert fast_path._cube_rows(values) == b"0.0000000 1.0000000 0.5000000\n0.1234567 1.0000000 0.0000000\n"


# --------------------------------------------------------------------------- whole exports


@pytest.mark.parametrize("preset", ["prores_422_hq", "h265_main10", "h264_high", "dnxhr_hqx"])
@pytest.mark.parametrize("graded", [False, True], ids=["ungraded", "graded"])
def test_fast_frames_hold_the_float_paths_samples(sources, preset, graded):
    """Before the encoder: every plane of every frame within a code value (ungraded) or the baked LUT's
    error (graded) of what the float path and app.export.yuv make."""
    doc = one_clip(sources["h264"], look_grade() if graded else None)
    fmt = presets.get(preset).delivery_format()
    fast, reference = TimelineRenderer(doc), TimelineRenderer(doc)
    fast.fast = fast_path.FastPath(fmt)
    dtype = np.uint16 if fmt.bit_depth > 8 else np.uint8
    worst, total, count = 0, 0.0, 0
    try:
        for index in range(FRAMES):
            item = fast.decode(index)
            assert isinstance(item, fast_path.FastFrame)
            frame = fast.finish(item)
            want = rgb_to_yuv_planes(reference.finish(reference.decode(index)), fmt.chroma_subsampling,
                                     fmt.bit_depth)  # fmt: skip
            most, summed, samples = plane_differences(frame, want, dtype)
            worst, total, count = max(worst, most), total + summed, count + samples
    finally:
        fast.fast.close()
        fast.close()
        reference.close()
    codes = (1 << fmt.bit_depth) / 256  # code values per 1/255
    if graded:  # the LUT's interpolation error (checked under MAX_BAKE_ERROR) and rounding
        assert worst <= max(2, round(fast_path.MAX_BAKE_ERROR * 255 * codes * 1.6)), worst
        assert total / count < 0.25 * codes, total / count
    else:  # the matrix is linear: the LUT is exact, only rounding differs
        assert worst <= 1 and total / count < 0.05, (worst, total / count)


@pytest.mark.parametrize("graded", [False, True], ids=["ungraded", "graded"])
def test_a_cut_takes_the_fast_path_and_writes_what_the_float_path_writes(sources, tmp_path, graded):
    """The whole file, through a near-lossless encoder (a lossy one magnifies rounding into its own
    decisions: the planes above are the exact comparison)."""
    preset, ext = "prores_422_hq", ".mov"
    doc = one_clip(sources["h264"], look_grade() if graded else None)
    fast = render_timeline(doc, preset, tmp_path / f"fast{ext}", grader=CpuGrader())
    reference = render_timeline(doc, preset, tmp_path / f"ref{ext}", grader=CpuGrader(), fast=False)
    assert fast.fast_frames == FRAMES and reference.fast_frames == 0
    assert (fast.width, fast.height) == SIZE
    assert_close(fast.path, reference.path)


def test_sequential_and_pipelined_fast_exports_are_the_same_packets(sources, tmp_path):
    doc = one_clip(sources["h264"], look_grade())
    a = render_timeline(doc, "prores_422_hq", tmp_path / "a.mov", mode="pipelined", grader=CpuGrader())
    b = render_timeline(doc, "prores_422_hq", tmp_path / "b.mov", mode="sequential", grader=CpuGrader())
    assert a.fast_frames == b.fast_frames == FRAMES

    def packets(path):
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(video=0) if p.size]

    assert packets(a.path) == packets(b.path)


@pytest.mark.parametrize("source", ["prores", "bt601_full"])
def test_other_sources_matrices_ranges_and_depths(sources, tmp_path, source):
    """A 10-bit 4:2:2 ProRes source, and an 8-bit full-range BT.601-tagged one: the fast path converts them
    to R'G'B' with the reader's own filters, so they match the float path too."""
    if source == "bt601_full":
        path = write_source(tmp_path / "sd.mp4", colorspace=6, color_range=2)
    else:
        path = sources["prores"]
    doc = one_clip(path, look_grade())
    fast = render_timeline(doc, "prores_422_hq", tmp_path / "fast.mov", grader=CpuGrader())
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert fast.fast_frames == FRAMES
    assert_close(fast.path, reference.path)


def test_only_frames_shown_as_they_are_take_the_fast_path(sources, tmp_path):
    """Two cuts with a dissolve between them, a title over part of the first, and a third clip moved and
    scaled: the fast path takes exactly the frames with none of those, and the whole file still matches
    the float path (the joins between the two paths included)."""
    doc = TimelineDocument(name="Mixed", rate=RATE)
    ids, errors = import_files(doc, [sources["h264"], sources["other"], sources["third"]])
    assert not errors
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    first = doc.insert(ids[0], v1, RationalTime(0, RATE))[0]
    doc.trim_out(first, RationalTime(-3, RATE))  # frames 0..8, with 3 frames of media beyond the cut
    handle = TimeRange(RationalTime(3, RATE), RationalTime(FRAMES - 3, RATE))
    second = doc.insert(ids[1], v1, RationalTime(FRAMES - 3, RATE), source_range=handle)[0]  # 9..17
    third = doc.insert(ids[2], v1, RationalTime(2 * FRAMES - 6, RATE))[0]  # 18..29
    doc.add_dissolve(first, RationalTime(4, RATE))
    doc.set_clip_grade(second, look_grade().to_dict())
    doc.set_clip_transform(third, {"mode": "fit", "scale": 0.8, "x": 6.0, "y": 0.0})
    placement.add_title(doc, 1, {"text": "Hello", "size": 20}, 3)  # frames 1..3
    total = 3 * FRAMES - 6
    covered = set(range(1, 4))
    # the dissolve's frames: wherever the sample mixes two pictures
    mixed = {i for i in range(total) if doc.video_at(RationalTime(i, RATE)).mix is not None}
    assert mixed, "the dissolve should mix some frames"
    moved = set(range(2 * FRAMES - 6, total))
    expected_fast = total - len(covered | mixed | moved)
    fast = render_timeline(doc, "prores_422_hq", tmp_path / "fast.mov", grader=CpuGrader())
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert fast.fast_frames == expected_fast
    assert_close(fast.path, reference.path)


def test_a_scene_linear_source_stays_on_the_float_path(sources, tmp_path):
    grade = Grade(input_space="ACEScg", cdl=CDL(slope=(1.2, 1.0, 0.9)))
    doc = one_clip(sources["h264"], grade)
    path = fast_path.FastPath(presets.get("prores_422_hq").delivery_format())
    try:
        pipeline = GradePipeline(doc.color_settings())
        assert path.lut_for(pipeline, grade) is None
        assert "scene-linear" in next(iter(path.refused.values()))
        assert path.lut_for(pipeline, None) is not None  # ungraded clips still take it
    finally:
        path.close()
    report = render_timeline(doc, "prores_422_hq", tmp_path / "out.mov", grader=CpuGrader())
    assert report.fast_frames == 0
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert np.array_equal(decoded(report.path), decoded(reference.path))


def test_a_grade_its_lut_cannot_hold_closely_enough_stays_on_the_float_path(sources, tmp_path, monkeypatch):
    monkeypatch.setattr(fast_path, "MAX_BAKE_ERROR", 0.0)  # no baked LUT is ever this exact
    doc = one_clip(sources["h264"], look_grade())
    report = render_timeline(doc, "prores_422_hq", tmp_path / "out.mov", grader=CpuGrader())
    assert report.fast_frames == 0
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert np.array_equal(decoded(report.path), decoded(reference.path))


def test_alpha_and_image_sequences_use_the_float_path(sources, tmp_path):
    doc = one_clip(sources["h264"])
    assert render_timeline(doc, "prores_4444", tmp_path / "a.mov").fast_frames == 0
    assert render_timeline(doc, "png_sequence", tmp_path / "frames").fast_frames == 0


# --------------------------------------------------------------------------- the export's promises


@pytest.fixture
def lut_folder(tmp_path, monkeypatch) -> Path:
    """Temporary LUTs go here (a name with characters FFmpeg's option syntax escapes)."""
    folder = tmp_path / "tmp: it's [odd], =;"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_luts_live_in_a_temporary_folder_removed_after_the_export(sources, tmp_path, lut_folder):
    doc = one_clip(sources["h264"], look_grade())
    report = render_timeline(doc, "prores_422_hq", tmp_path / "out.mov", grader=CpuGrader())
    assert report.fast_frames == FRAMES  # the LUT was read through the escaped path
    assert list(lut_folder.iterdir()) == []


@pytest.mark.parametrize("mode", ["pipelined", "sequential"])
def test_a_cancel_leaves_no_file_and_no_lut(sources, tmp_path, lut_folder, mode):
    doc = one_clip(sources["h264"], look_grade())
    cancel = threading.Event()

    def progress(done, total, eta):
        if done >= 3:
            cancel.set()

    with pytest.raises(ExportCancelled):
        render_timeline(doc, "prores_422_hq", tmp_path / "out.mov", grader=CpuGrader(), mode=mode,
                        on_progress=progress, cancel=cancel)  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p != lut_folder] == []
    assert list(lut_folder.iterdir()) == []


def test_an_ffmpeg_failure_in_the_fast_path_is_a_clear_error_and_leaves_nothing(
    sources, tmp_path, lut_folder, monkeypatch
):
    def broken(self, item):
        if item.index == 5:
            raise av.FFmpegError(22, "lut3d exploded")
        return convert(self, item)

    convert = fast_path.FastPath.convert
    monkeypatch.setattr(fast_path.FastPath, "convert", broken)
    doc = one_clip(sources["h264"], look_grade())
    with pytest.raises(ExportError, match=r"timeline frame 5 .*lut3d exploded.*Nothing was written"):
        render_timeline(doc, "prores_422_hq", tmp_path / "out.mov", grader=CpuGrader())
    assert [p.name for p in tmp_path.iterdir() if p != lut_folder] == []
    assert list(lut_folder.iterdir()) == []


# --------------------------------------------------------------------------- the preflight's end check


def h264(path: Path, frames: int = 48, options: dict | None = None, muxer: dict | None = None) -> Path:
    """An H.264 MP4 of the test pictures, with these encoder and muxer options."""
    with av.open(str(path), "w", options=muxer or {}) as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = options or {}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray((picture(i) * 255).astype(np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def indexed_mp4(path: Path, frames: int = 48) -> Path:
    """An MP4 with its index at the front (faststart): cut short, it still lists every frame."""
    return h264(path, frames, muxer={"movflags": "faststart"})


def test_the_reader_reaches_frames_that_are_there_and_not_those_cut_off(sources, tmp_path):
    whole = VideoReader(str(sources["h264"]))
    try:
        assert whole.reach(FRAMES - 1)
        assert whole.frame(2).shape[:2] == (SIZE[1], SIZE[0])  # decoding still works after reach()
    finally:
        whole.close()
    # An MP4 whose index (at the front) still lists every frame, but whose data was cut off.
    long = indexed_mp4(tmp_path / "long.mp4")
    data = long.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.85)])
    reader = VideoReader(str(cut))
    try:
        assert reader.frame_count == 48  # what the index says
        assert reader.reach(2)
        assert not reader.reach(47)
    finally:
        reader.close()


class _CountingContainer:
    """A reader's container that records which packets ``reach`` decodes (by pts)."""

    def __init__(self, container) -> None:
        self._container, self.decoded = container, []

    def __getattr__(self, name):
        return getattr(self._container, name)

    def demux(self, *args, **kwargs):
        for packet in self._container.demux(*args, **kwargs):
            yield _CountingPacket(packet, self.decoded)


class _CountingPacket:
    def __init__(self, packet, log: list) -> None:
        self._packet, self._log = packet, log

    def __getattr__(self, name):
        return getattr(self._packet, name)

    def decode(self):
        self._log.append(self._packet.pts)
        return self._packet.decode()


def two_gops(path: Path, frames: int = 48, gop: int = 24) -> Path:
    return h264(path, frames, {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"})


def test_reach_skips_only_a_keyframe_the_caller_decoded_already(tmp_path):
    """The preflight decodes a keyframe once: ``reach`` leaves out the decode of the last frame's keyframe
    when it lies at or before the frames the caller decoded, and decodes it otherwise."""
    path = two_gops(tmp_path / "gops.mp4")  # keyframes at 0 and 24
    for through, decodes in ((30, 0), (24, 0), (10, 1), (-1, 1)):
        reader = VideoReader(str(path))
        try:
            counting = reader._container = _CountingContainer(reader._container)
            assert reader.reach(47, decoded_through=through)
            assert len(counting.decoded) >= decodes
            assert (len(counting.decoded) > 0) == (decodes > 0), (through, counting.decoded)
            assert reader.frame(47).shape[:2] == (SIZE[1], SIZE[0])  # the reader still decodes
        finally:
            reader.close()


def test_the_preflight_decodes_a_short_clips_first_frame_once(tmp_path, monkeypatch):
    """A clip from frame 0 inside one group of pictures: the probe decodes frame 0, and the end check
    neither decodes it again nor its keyframe. A clip from a later frame decodes that frame, and the end
    check decodes the last frame's keyframe only when the first frame lies before it."""
    from app.media import verify

    path = two_gops(tmp_path / "gops.mp4")
    calls: dict[str, list] = {"decoded": [], "reach": []}
    decoded, reach = VideoReader.decoded, VideoReader.reach

    def counting_decoded(self, index):
        calls["decoded"].append(index)
        return decoded(self, index)

    def counting_reach(self, index, decoded_through=-1):
        self._container = counting = _CountingContainer(self._container)
        try:
            return reach(self, index, decoded_through)
        finally:
            calls["reach"].append((index, decoded_through, len(counting.decoded)))

    monkeypatch.setattr(VideoReader, "decoded", counting_decoded)
    monkeypatch.setattr(VideoReader, "reach", counting_reach)
    second = 1.0 / RATE
    verify.verify_media(path, (0.0, 20 * second))  # frames 0..19: one group of pictures
    assert calls["decoded"] == []
    assert [(d, n) for _, d, n in calls["reach"]] == [(0, 0)]
    calls["decoded"].clear(), calls["reach"].clear()
    verify.verify_media(path, (30 * second, 46 * second))  # frames 30..45: the keyframe at 24 was decoded
    assert calls["decoded"] == [30]
    assert [(d, n) for _, d, n in calls["reach"]] == [(30, 0)]
    calls["decoded"].clear(), calls["reach"].clear()
    verify.verify_media(path, (10 * second, 46 * second))  # frames 10..45: the keyframe at 24 is new
    assert calls["decoded"] == [10]
    assert [d for _, d, _ in calls["reach"]] == [10] and calls["reach"][0][2] > 0


def test_a_file_cut_off_near_its_end_stops_the_export_before_the_first_frame(tmp_path):
    long = indexed_mp4(tmp_path / "long.mp4")
    doc = one_clip(long)
    data = long.read_bytes()
    long.write_bytes(data[: int(len(data) * 0.85)])
    with pytest.raises(ExportError, match="long.mp4.*truncated or damaged"):
        render_timeline(doc, "prores_422_hq", tmp_path / "out.mov")
    assert not (tmp_path / "out.mov").exists()


@pytest.mark.parametrize(
    "size", [None, (192, 128), (48, 32), (128, 96)], ids=["sequence", "up", "down", "boxed"]
)
@pytest.mark.parametrize("graded", [False, True], ids=["ungraded", "graded"])
def test_scaled_and_letterboxed_pictures_take_the_fast_path(tmp_path, graded, size):
    """A 4:3 clip in a 3:2 sequence (pillarboxed) beside a clip of the sequence's size, exported at the
    sequence size, scaled up, scaled down and at another aspect: every frame takes the fast path and the
    planes match the float path (which resizes with PIL's bilinear filter) within its tolerance."""
    small = tmp_path / "small.mp4"
    with av.open(str(small), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"crf": "10", "preset": "veryfast"}
        for i in range(FRAMES):
            rgb = (picture(i, (64, 48)) * 255 + 0.5).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    doc = TimelineDocument(name="Scaled", rate=RATE)
    ids, errors = import_files(doc, [write_source(tmp_path / "full.mp4"), small])
    assert not errors
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    first = doc.insert(ids[0], v1, RationalTime(0, RATE))[0]
    second = doc.insert(ids[1], v1, RationalTime(FRAMES, RATE))[0]
    if graded:
        for clip in (first, second):
            doc.set_clip_grade(clip, look_grade().to_dict())
    fmt = presets.get("prores_422_hq").delivery_format()
    fast, reference = TimelineRenderer(doc, size), TimelineRenderer(doc, size)
    fast.fast = fast_path.FastPath(fmt)
    worst, total, count = 0, 0.0, 0
    try:
        for index in range(2 * FRAMES):
            item = fast.decode(index)
            assert isinstance(item, fast_path.FastFrame), index
            frame = fast.finish(item)
            assert (frame.width, frame.height) == fast.size
            want = rgb_to_yuv_planes(reference.finish(reference.decode(index)), fmt.chroma_subsampling, 10)
            most, summed, samples = plane_differences(frame, want, np.uint16)
            worst, total, count = max(worst, most), total + summed, count + samples
    finally:
        fast.fast.close()
        fast.close()
        reference.close()
    # 4 code values = 1/255: resampling and the LUT (measured: at most 4, mean 0.04-0.13; nearest-neighbour
    # scaling instead of bilinear: 22-37, mean 1.5-5)
    assert worst <= (6 if graded else 4), worst
    assert total / count < (0.3 if graded else 0.2), total / count


def test_a_slow_motion_clip_holds_its_frames_on_the_fast_path(sources, tmp_path):
    """At half speed each source frame is shown twice: the fast path hands the same decoded frame to the
    converter twice and the file still matches the float path."""
    doc = one_clip(sources["h264"], look_grade())
    clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0]
    doc.set_clip_speed(clip.id, 0.5)
    fast = render_timeline(doc, "prores_422_hq", tmp_path / "fast.mov", grader=CpuGrader())
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert fast.frames == FRAMES and fast.fast_frames == FRAMES
    assert_close(fast.path, reference.path)
    pictures = decoded(fast.path)
    assert np.array_equal(pictures[0], pictures[1]) and not np.array_equal(pictures[1], pictures[2])


def test_a_still_image_clip_takes_the_fast_path(tmp_path):
    from PIL import Image

    still = tmp_path / "card.png"
    Image.fromarray((picture(3) * 255 + 0.5).astype(np.uint8)).save(still)
    doc = one_clip(still, look_grade())
    fast = render_timeline(doc, "prores_422_hq", tmp_path / "fast.mov", grader=CpuGrader())
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert fast.frames > 1 and fast.fast_frames == fast.frames
    assert_close(fast.path, reference.path)


def test_a_temporary_folder_that_cannot_be_written_leaves_the_export_to_the_float_path(
    sources, tmp_path, monkeypatch
):
    import errno

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", full)
    doc = one_clip(sources["h264"], look_grade())
    report = render_timeline(doc, "prores_422_hq", tmp_path / "out.mov", grader=CpuGrader())
    assert report.fast_frames == 0 and report.frames == FRAMES
    reference = render_timeline(doc, "prores_422_hq", tmp_path / "ref.mov", grader=CpuGrader(), fast=False)
    assert np.array_equal(decoded(report.path), decoded(reference.path))


def test_the_end_check_names_the_file_when_the_container_fails(sources, monkeypatch):
    from app.errors import MediaError

    class Broken:
        def seek(self, *_args, **_kwargs):
            raise av.FFmpegError(5, "Input/output error")

        def close(self):
            pass

    reader = VideoReader(str(sources["h264"]))
    real = reader._container
    reader._container = Broken()
    try:
        with pytest.raises(MediaError, match=r"Frame 11 of 'shot.mp4' cannot be decoded: .*Input/output"):
            reader.reach(FRAMES - 1)
    finally:
        reader._container = real
        reader.close()


# --------------------------------------------------------------------------- warming while the preflight runs


def _count_lut_graphs(monkeypatch) -> list[tuple]:
    built: list[tuple] = []
    make = fast_path._lut_graph

    def counting(*key):
        built.append(key)
        return make(*key)

    monkeypatch.setattr(fast_path, "_lut_graph", counting)
    return built


@pytest.mark.parametrize("mode", ["pipelined", "sequential"])
def test_the_first_frames_lut_is_made_during_the_preflight_and_used_by_the_worker(
    sources, tmp_path, monkeypatch, mode
):
    """The grade is baked and its graph (the .cube parse) built on a helper thread while the preflight runs;
    the worker takes that graph over instead of building its own, and the file is the one an export
    without warming writes."""
    doc = one_clip(sources["h264"], look_grade())
    built = _count_lut_graphs(monkeypatch)
    threads: list[str] = []
    warm = fast_path.FastPath.warm

    def recording(self, *args):
        threads.append(threading.current_thread().name)
        return warm(self, *args)

    monkeypatch.setattr(fast_path.FastPath, "warm", recording)
    report = render_timeline(doc, "prores_422_hq", tmp_path / "warm.mov", mode=mode)
    assert threads == ["aiprod-warm"]
    assert report.fast_frames == report.frames
    assert len(built) == 1  # built once, ahead: the worker used it
    info = doc.bin_items()[0].info
    assert built[0][1] == (info.width, info.height)
    monkeypatch.setattr(TimelineRenderer, "warm_fast_path", lambda self, index: None)
    cold = render_timeline(doc, "prores_422_hq", tmp_path / "cold.mov", mode=mode)
    assert cold.fast_frames == report.frames and len(built) == 2  # without warming, the worker builds it
    assert np.array_equal(decoded(tmp_path / "warm.mov"), decoded(tmp_path / "cold.mov"))


def test_a_failed_warm_up_leaves_the_first_frame_to_make_its_own_lut(sources, tmp_path, monkeypatch):
    doc = one_clip(sources["h264"], look_grade())

    def broken(self, *args):
        raise RuntimeError("no LUT today")

    monkeypatch.setattr(fast_path.FastPath, "warm", broken)
    built = _count_lut_graphs(monkeypatch)
    report = render_timeline(doc, "prores_422_hq", tmp_path / "out.mov")
    assert report.fast_frames == report.frames > 0
    assert len(built) == 1  # the worker built the graph itself


def test_nothing_is_warmed_for_a_first_frame_that_is_not_one_picture_whole(sources, tmp_path):
    """A moved picture (not fitted) and a timeline starting in a gap: nothing to warm."""
    doc = one_clip(sources["h264"], look_grade())
    clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0]
    renderer = TimelineRenderer(doc, None)
    renderer.fast = fast_path.FastPath(presets.get("prores_422_hq").delivery_format())
    try:
        thread = renderer.warm_fast_path(0)
        assert thread is not None
        thread.join()
        assert len(renderer.fast._spares) == 1
        assert renderer.warm_fast_path(FRAMES + 5) is None  # past the end: no picture
        doc.set_clip_transform(clip.id, {"scale": 0.5, "x": 0.1, "y": 0.0})
        assert renderer.warm_fast_path(0) is None
    finally:
        renderer.fast.close()
        renderer.close()

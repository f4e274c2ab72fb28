"""Scopes (app.color.scopes) against frames whose answer the test works out itself: the 75 % bars on their
vectorscope targets, a ramp's diagonal waveform, histogram totals, a grade moving the scopes the way it
should, and the scopes of the frame the scopes render equal to those of the frame an export wrote."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime

from app.color import scopes
from app.color.scopes import ExportFrameRenderer, FrameRequest
from app.document import TimelineDocument, TrackKind
from app.errors import ColorError
from app.export import render_timeline
from app.media.importer import import_files

# BT.709 as the standard writes it (not read from the code under test).
KR, KB = 0.2126, 0.0722
KG = 1 - KR - KB


def ycbcr(r: float, g: float, b: float) -> tuple[float, float, float]:
    y = KR * r + KG * g + KB * b
    return y, (b - y) / (2 * (1 - KB)), (r - y) / (2 * (1 - KR))


def flat(rgb: tuple[float, float, float], size: tuple[int, int] = (40, 30)) -> np.ndarray:
    width, height = size
    return np.broadcast_to(np.asarray(rgb, np.float32), (height, width, 3)).copy()


# ------------------------------------------------------------------------------------------ vectorscope
@pytest.mark.parametrize(
    "name, rgb",
    [
        ("R", (1, 0, 0)),
        ("G", (0, 1, 0)),
        ("B", (0, 0, 1)),
        ("Cy", (0, 1, 1)),
        ("Mg", (1, 0, 1)),
        ("Yl", (1, 1, 0)),
    ],
)
def test_a_75_percent_bar_lands_on_its_vectorscope_target(name, rgb):
    size = 256
    bar = tuple(0.75 * c for c in rgb)
    counts = scopes.vectorscope(scopes.prepare(flat(bar)), size)
    _y, cb, cr = ycbcr(*bar)
    expected = scopes.chroma_cell(cb, cr, size)
    assert np.count_nonzero(counts) == 1  # one colour, one cell
    assert np.unravel_index(np.argmax(counts), counts.shape) == expected
    assert counts[expected] == 40 * 30
    assert scopes.chroma_cell(*scopes.BAR_TARGETS_75[name], size) == expected
    # The orientation every vectorscope uses: red up and a little left, blue right, yellow left.
    row, col = expected
    centre = (size - 1) / 2
    if name == "R":
        assert row < centre and col < centre
    if name == "B":
        assert col > centre + 0.3 * size
    if name == "Yl":
        assert col < centre - 0.3 * size


def test_75_percent_red_has_the_textbook_chroma():
    cb, cr = scopes.BAR_TARGETS_75["R"]
    assert cr == pytest.approx(0.375)  # (0.75 - 0.75 Kr) / (2 (1 - Kr)) = 0.75 / 2
    assert cb == pytest.approx(-0.75 * KR / (2 * (1 - KB)))


def test_greys_stay_in_the_vectorscope_centre():
    ramp = np.repeat(np.linspace(0, 1, 50, dtype=np.float32)[None, :, None], 3, axis=2).repeat(10, axis=0)
    counts = scopes.vectorscope(scopes.prepare(ramp), 65)
    assert counts[32, 32] == ramp.shape[0] * ramp.shape[1]


# -------------------------------------------------------------------------------------------- waveform
def test_a_horizontal_ramp_makes_a_diagonal_waveform():
    width, height = 64, 9
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)
    frame = np.repeat(np.repeat(ramp[None, :, None], height, axis=0), 3, axis=2)
    counts = scopes.waveform(scopes.prepare(frame), levels=width, columns=width)
    assert counts.shape == (width, width)
    for x in range(width):
        column = counts[:, x]
        assert np.count_nonzero(column) == 1
        assert column[width - 1 - x] == height  # row 0 is 100 %: the trace rises left to right
    assert counts.sum() == width * height


def test_the_waveform_uses_the_exports_rec709_luma():
    levels = 1001
    counts = scopes.waveform(scopes.prepare(flat((0.0, 1.0, 0.0))), levels=levels, columns=4)
    rows = np.nonzero(counts[:, 0])[0]
    assert list(rows) == [round((1 - KG) * (levels - 1))]  # pure green sits at 71.5 %
    assert scopes.LUMA_WEIGHTS == pytest.approx((KR, KG, KB))


def test_columns_gather_the_frame_in_order():
    frame = np.zeros((10, 100, 3), np.float32)
    frame[:, 50:] = 1.0  # right half white
    counts = scopes.waveform(scopes.prepare(frame), levels=11, columns=4)
    assert counts[10, 0] == counts[10, 1] == 250  # left columns black (bottom row)
    assert counts[0, 2] == counts[0, 3] == 250  # right columns white (top row)


def test_parade_shows_each_channel_in_its_panel():
    counts = scopes.parade(scopes.prepare(flat((1.0, 0.5, 0.0))), levels=101, columns=8)
    assert counts.shape == (3, 101, 8)
    assert np.nonzero(counts[0][:, 0])[0].tolist() == [0]  # R at 100 %
    assert np.nonzero(counts[1][:, 0])[0].tolist() == [50]  # G at 50 %
    assert np.nonzero(counts[2][:, 0])[0].tolist() == [100]  # B at 0 %


def test_values_the_encoder_clips_pile_up_at_the_limits_and_are_counted():
    frame = flat((0.5, 0.5, 0.5))
    frame[:10] = 1.4  # superwhite: the export writes 100 %
    frame[10:15] = -0.2
    scope = scopes.compute(frame, "waveform", levels=101, columns=40)
    assert scope.counts[0].sum() == 10 * 40
    assert scope.counts[100].sum() == 5 * 40
    assert scope.clipped == pytest.approx(15 / 30)


# ------------------------------------------------------------------------------------------- histogram
def test_histogram_counts_every_pixel_once_per_channel():
    rng = np.random.default_rng(3)
    frame = rng.random((37, 53, 3), dtype=np.float32)
    counts = scopes.histogram(scopes.prepare(frame), bins=64)
    assert counts.shape == (4, 64)
    assert counts.sum(axis=1).tolist() == [37 * 53] * 4


def test_histogram_bins_known_levels():
    frame = np.zeros((10, 20, 3), np.float32)
    frame[:, :10] = 0.25
    frame[:, 10:] = (1.0, 0.0, 0.0)
    counts = scopes.histogram(scopes.prepare(frame), bins=256)
    assert counts[0, 64] == 100 and counts[0, 255] == 100  # R: 0.25 and 1.0
    assert counts[1, 64] == 100 and counts[1, 0] == 100
    assert counts[3, int(KR * 256)] == 100  # the red half's luma


def test_reduced_resolution_keeps_every_fourth_pixel():
    frame = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    full = scopes.compute(frame, "histogram", 1)
    quarter = scopes.compute(frame, "histogram", 4)
    assert (quarter.width, quarter.height) == (24, 16)
    assert quarter.counts.sum(axis=1).tolist() == [24 * 16] * 4
    assert full.counts.sum(axis=1).tolist() == [64 * 96] * 4
    assert np.array_equal(quarter.counts, scopes.histogram(scopes.prepare(frame[::4, ::4]), 256))


def test_uint8_frames_are_read_as_code_values():
    frame = np.full((4, 4, 3), 255, np.uint8)
    assert scopes.prepare(frame).max() == 1.0


@pytest.mark.parametrize("mode", scopes.MODES)
def test_every_mode_draws_a_picture(mode):
    frame = np.random.default_rng(1).random((48, 64, 3), dtype=np.float32)
    scope = scopes.compute(frame, mode)
    assert scope.image.dtype == np.uint8 and scope.image.ndim == 3 and scope.image.shape[2] == 3
    assert scope.image.max() > 100  # something is lit
    assert scope.image.min() == 0  # on black


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="scope mode"):
        scopes.compute(flat((0, 0, 0)), "rgb-cube")
    with pytest.raises(ValueError, match=r"\[height, width, 3\]"):
        scopes.prepare(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match=r"\[height, width, 3\]"):
        scopes.prepare(np.zeros((0, 10, 3), np.float32))
    with pytest.raises(ValueError, match="step"):
        scopes.prepare(flat((0, 0, 0)), 0)


# ------------------------------------------------------------------------------- the export's frame
def write_rgb48(path: Path, frames: np.ndarray, fps: int = 24) -> Path:
    """FFV1 16-bit RGB (lossless) holding exactly ``frames`` (uint16 [N, H, W, 3])."""
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "gbrp16le"
        stream.time_base = Fraction(1, fps)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb48le")
            frame = frame.reformat(format="gbrp16le")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_picture() -> np.ndarray:
    """64 x 48: a warm patch on the left, a grey ramp 0.1..0.8 on the right (nothing near the limits)."""
    picture = np.zeros((48, 64, 3), np.float32)
    picture[:, :32] = (0.6, 0.35, 0.2)
    picture[:, 32:] = np.linspace(0.1, 0.8, 32, dtype=np.float32)[None, :, None]
    return picture


test_picture.__test__ = False  # a helper, not a test


@pytest.fixture
def doc(tmp_path) -> TimelineDocument:
    frames = np.repeat((test_picture() * 65535 + 0.5).astype(np.uint16)[None], 6, axis=0)
    path = write_rgb48(tmp_path / "patch.mkv", frames)
    document = TimelineDocument(name="Scopes", rate=24)
    ids, errors = import_files(document, [path])
    assert not errors
    document.insert(ids[0], document.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
    return document


def clip_id(doc: TimelineDocument) -> str:
    return doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0].id


def export_frame(doc: TimelineDocument, folder: Path, frame: int) -> np.ndarray:
    """Timeline frame ``frame`` exported as a 16-bit PNG and read back: float32 R'G'B' 0..1."""
    render_timeline(doc, "png_sequence", folder, in_frame=frame, out_frame=frame + 1)
    (png,) = folder.glob("*.png")
    with av.open(str(png)) as container:
        picture = next(container.decode(video=0)).to_ndarray(format="rgba64le")
    return picture[..., :3].astype(np.float32) / 65535


def mean_level(histogram_row: np.ndarray) -> float:
    bins = histogram_row.shape[0]
    return float((histogram_row * (np.arange(bins) + 0.5) / bins).sum() / histogram_row.sum())


def test_the_scope_frame_is_the_exported_frame(doc, tmp_path):
    grade = {"cdl": {"slope": [1.1, 0.9, 0.8], "offset": [0.05, 0.0, 0.0], "saturation": 1.3}, "look": "warm"}
    doc.set_clip_grade(clip_id(doc), grade)
    renderer = ExportFrameRenderer()
    try:
        ours = renderer.render(FrameRequest.read(doc, 2))
    finally:
        renderer.close()
    exported = export_frame(doc, tmp_path / "out", 2)
    assert ours.shape == exported.shape
    assert np.abs(np.clip(ours, 0, 1) - exported).max() <= 0.6 / 65535  # 16-bit rounding only
    for mode in scopes.MODES:
        a, b = scopes.compute(ours, mode).counts, scopes.compute(exported, mode).counts
        moved = int(np.abs(a.astype(np.int64) - b.astype(np.int64)).sum())
        assert moved <= 0.01 * a.sum(), mode  # a sample on a bin edge may change bins by rounding
    ungraded = scopes.compute(test_picture(), "histogram").counts
    graded = scopes.compute(exported, "histogram").counts
    assert np.abs(ungraded.astype(np.int64) - graded.astype(np.int64)).sum() > 0.5 * graded.sum()


def test_a_grade_moves_the_scopes_the_way_it_says(doc):
    renderer = ExportFrameRenderer()
    try:
        before = renderer.render(FrameRequest.read(doc, 1))
        doc.set_clip_grade(clip_id(doc), {"cdl": {"offset": [0.1, 0.1, 0.1]}})
        lifted = renderer.render(FrameRequest.read(doc, 1))
        doc.set_clip_grade(clip_id(doc), {"cdl": {"saturation": 0.0}})
        grey = renderer.render(FrameRequest.read(doc, 1))
    finally:
        renderer.close()
    assert np.abs(before - test_picture()).max() < 1e-4  # ungraded: the source as it is
    # An offset of +0.1 lifts every channel (and luma) by 10 % on the histogram and the waveform.
    h0, h1 = scopes.compute(before, "histogram").counts, scopes.compute(lifted, "histogram").counts
    for channel in range(4):
        assert mean_level(h1[channel]) - mean_level(h0[channel]) == pytest.approx(0.1, abs=0.005)
    w0, w1 = (
        scopes.compute(before, "waveform", levels=101).counts,
        scopes.compute(lifted, "waveform", levels=101).counts,
    )
    top0, top1 = np.nonzero(w0.sum(axis=1))[0].min(), np.nonzero(w1.sum(axis=1))[0].min()
    assert top0 - top1 == 10  # the brightest trace rose 10 rows of 1 %
    # Saturation 0: every pixel goes to the neutral centre of the vectorscope; before, the patch was off it.
    v0, v2 = (
        scopes.compute(before, "vectorscope", levels=65).counts,
        scopes.compute(grey, "vectorscope", levels=65).counts,
    )
    assert v0[32, 32] < v0.sum()
    assert v2[31:34, 31:34].sum() == v2.sum()


def test_a_grade_that_cannot_be_applied_is_an_error_not_an_ungraded_scope(doc, tmp_path):
    doc.set_clip_grade(clip_id(doc), {"lut_path": str(tmp_path / "gone.cube")})
    renderer = ExportFrameRenderer()
    try:
        with pytest.raises(ColorError, match="gone.cube"):
            renderer.render(FrameRequest.read(doc, 0))
    finally:
        renderer.close()


def test_an_empty_frame_is_black(doc):
    renderer = ExportFrameRenderer()
    try:
        picture = renderer.render(FrameRequest.read(doc, 50))  # past the clip
    finally:
        renderer.close()
    assert picture.max() == 0.0
    assert (
        scopes.compute(picture, "waveform", levels=101).counts[100].sum()
        == picture.shape[0] * picture.shape[1]
    )

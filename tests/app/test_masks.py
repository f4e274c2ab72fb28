"""Masks: content-addressed mask files (round trip, one file per content, atomic, damage detected) and the
pure-numpy painting tools (brush reach and feather ramp, eraser, rectangle, ellipse, invert, clear)."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import MaskError
from app.masks import (
    MaskStore,
    clear,
    invert,
    is_empty,
    mask_id_of,
    new_mask,
    paint_brush,
    paint_ellipse,
    paint_rect,
    paint_stroke,
)


def _distances(mask: np.ndarray, x: float, y: float) -> np.ndarray:
    rows, cols = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    return np.hypot(cols + 0.5 - x, rows + 0.5 - y)


# --- store --------------------------------------------------------------------------------------------------


def test_save_and_load_round_trip_exactly(tmp_path):
    store = MaskStore(tmp_path / "masks")
    mask = np.random.default_rng(1).integers(0, 256, (48, 64), dtype=np.uint8)
    mask_id = store.save(mask)
    assert len(mask_id) == 40 and store.path(mask_id) == tmp_path / "masks" / f"{mask_id}.png"
    loaded = store.load(mask_id)
    assert loaded.dtype == np.uint8 and loaded.shape == (48, 64)
    assert np.array_equal(loaded, mask)
    from PIL import Image

    with Image.open(store.path(mask_id)) as image:
        assert image.mode == "L" and image.format == "PNG"


def test_same_content_is_stored_once_and_other_content_elsewhere(tmp_path):
    store = MaskStore(tmp_path)
    mask = paint_rect(new_mask(32, 32), (4, 4, 10, 10))
    first = store.save(mask)
    mtime = store.path(first).stat().st_mtime_ns
    assert store.save(mask.copy()) == first == mask_id_of(mask)
    assert store.path(first).stat().st_mtime_ns == mtime  # not rewritten
    other = store.save(invert(mask))
    assert other != first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{first}.png", f"{other}.png"])
    # The same pixels at another size are another mask.
    assert mask_id_of(np.zeros((2, 8), np.uint8)) != mask_id_of(np.zeros((8, 2), np.uint8))


def test_missing_corrupt_and_tampered_files_are_clear_errors(tmp_path):
    store = MaskStore(tmp_path)
    with pytest.raises(MaskError, match="missing"):
        store.load("0" * 40)
    with pytest.raises(MaskError, match="not a mask id"):
        store.load("../../etc/passwd")
    mask_id = store.save(paint_brush(new_mask(16, 16), 8, 8, 4))
    store.path(mask_id).write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(MaskError, match="damaged"):
        store.load(mask_id)
    # A valid PNG with other pixels under this id: changed on disk.
    other = MaskStore(tmp_path / "other")
    other_id = other.save(np.full((16, 16), 7, np.uint8))
    store.path(mask_id).write_bytes(other.path(other_id).read_bytes())
    with pytest.raises(MaskError, match="changed or damaged"):
        store.load(mask_id)
    # An RGB picture is not a mask.
    from PIL import Image

    rgb_id = "1" * 40
    Image.new("RGB", (4, 4)).save(store.path(rgb_id))
    with pytest.raises(MaskError, match="one-channel"):
        store.load(rgb_id)


def test_save_refuses_what_is_not_a_mask_and_leaves_no_temporary_files(tmp_path):
    store = MaskStore(tmp_path)
    for bad in (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), np.zeros((0, 4), np.uint8)):
        with pytest.raises(MaskError, match="one-channel 8-bit"):
            store.save(bad)
    assert list(tmp_path.iterdir()) == []
    store.save(new_mask(8, 8))
    assert [p.suffix for p in tmp_path.iterdir()] == [".png"]


# --- painting -----------------------------------------------------------------------------------------------


def test_hard_brush_covers_its_radius_and_nothing_beyond():
    blank = new_mask(64, 48)
    mask = paint_brush(blank, 30.0, 20.0, radius=8)
    d = _distances(mask, 30.0, 20.0)
    assert np.all(mask[d <= 7.5] == 255)
    assert np.all(mask[d >= 8.5] == 0)
    edge = mask[(d > 7.5) & (d < 8.5)]
    assert edge.size and np.all((edge > 0) & (edge < 255))  # anti-aliased rim
    assert np.all(blank == 0)  # the input is never changed


def test_feather_ramps_down_inside_the_radius():
    mask = paint_brush(new_mask(64, 64), 32.0, 32.0, radius=16, feather=8)
    d = _distances(mask, 32.0, 32.0)
    assert np.all(mask[d <= 16 - 8 - 0.5] == 255)  # solid core
    assert np.all(mask[d >= 16.5] == 0)  # never beyond the radius
    # Moving outwards along a row, values never rise and pass through the whole ramp.
    row = mask[32, 32:]
    assert np.all(np.diff(row.astype(int)) <= 0)
    ramp = row[(row > 0) & (row < 255)]
    assert len(ramp) >= 7 and len(set(ramp.tolist())) == len(ramp)
    # Half way down the ramp is about half the value.
    assert abs(int(mask[32, 32 + 12]) - 128) <= 20


def test_eraser_lowers_and_painting_never_builds_up():
    full = np.full((32, 32), 255, np.uint8)
    erased = paint_brush(full, 16, 16, radius=5, erase=True)
    d = _distances(erased, 16, 16)
    assert np.all(erased[d <= 4.5] == 0) and np.all(erased[d >= 5.5] == 255)
    soft = paint_brush(new_mask(32, 32), 16, 16, radius=10, feather=6)
    again = paint_brush(soft, 16, 16, radius=10, feather=6)
    assert np.array_equal(soft, again)  # max, not add: a second dab over the same place changes nothing
    half = np.full((32, 32), 100, np.uint8)
    assert np.all(paint_brush(half, 16, 16, radius=5, erase=True) <= half)
    assert np.all(paint_brush(half, 16, 16, radius=5) >= half)


def test_stroke_is_continuous_between_far_apart_points():
    mask = paint_stroke(new_mask(100, 20), [(5.0, 10.0), (95.0, 10.0)], radius=3)
    assert np.all(mask[10, 5:95] == 255)  # no gaps along the line
    assert np.all(mask[:5] == 0) and np.all(mask[16:] == 0)


def test_rectangle_with_and_without_feather():
    mask = paint_rect(new_mask(40, 30), (10, 5, 20, 10))
    assert np.all(mask[5:15, 10:30] == 255)
    mask[5:15, 10:30] = 0
    assert not mask.any()  # exactly the pixels inside, for a pixel-aligned rectangle
    soft = paint_rect(new_mask(40, 30), (30, 15, -20, -10), feather=3)  # negative sizes flip
    assert soft[10, 20] == 255 and soft[5, 20] < 255 and soft[4, 20] == 0
    column = soft[5:10, 20].astype(int)
    assert np.all(np.diff(column) >= 0)


def test_ellipse_fills_inside_its_rectangle():
    mask = paint_ellipse(new_mask(60, 40), (10, 10, 40, 20))
    assert mask[20, 30] == 255 and mask[20, 11] == 255 and mask[11, 30] == 255
    assert mask[10, 10] == 0 and mask[29, 49] == 0  # corners of the box are outside
    assert not mask[:9].any() and not mask[31:].any() and not mask[:, :9].any() and not mask[:, 51:].any()
    circle = paint_ellipse(new_mask(40, 40), (10, 10, 20, 20))
    disc = paint_brush(new_mask(40, 40), 20, 20, radius=10)
    assert np.abs(circle.astype(int) - disc.astype(int)).max() <= 1  # a circle is a brush dab
    assert not paint_ellipse(new_mask(10, 10), (2, 2, 0, 5)).any()


def test_invert_clear_and_empty():
    mask = paint_brush(new_mask(20, 20), 10, 10, radius=4, feather=2)
    inverted = invert(mask)
    assert np.array_equal(inverted.astype(int), 255 - mask.astype(int)) and np.array_equal(
        invert(inverted), mask
    )
    assert is_empty(new_mask(5, 5)) and not is_empty(mask) and not is_empty(invert(new_mask(5, 5)))
    cleared = clear(mask)
    assert is_empty(cleared) and cleared.shape == mask.shape and mask.any()
    with pytest.raises(MaskError):
        invert(np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(MaskError):
        new_mask(0, 10)


def test_shapes_off_the_mask_change_nothing():
    mask = new_mask(16, 16)
    assert not paint_brush(mask, -50, -50, radius=5).any()
    assert not paint_rect(mask, (100, 100, 10, 10)).any()
    partly = paint_brush(mask, 0, 0, radius=4)
    assert partly[0, 0] == 255 and not partly[8:, :].any()

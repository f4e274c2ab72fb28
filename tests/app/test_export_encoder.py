"""Tests for app.export: ProRes/HEVC writer, BT.709 colour maths, atomic writes, preflight."""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import struct
import threading
from collections import namedtuple
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from app.errors import AppError, ExportCancelled, ExportError
from app.export import (
    FORMATS,
    build_metadata,
    normalise_fps,
    preflight_destination,
    probe,
    rgb_to_yuv_planes,
    write_clip,
    yuv_planes_to_rgb,
)

W, H = 96, 64
NTSC = Fraction(24000, 1001)
SR = 24000

# BT.709 inverse written out independently of app.export.yuv (ITU-R BT.709-6 numbers).
KR, KB = 0.2126, 0.0722
INV_709 = np.array(
    [
        [1.0, 0.0, 2 * (1 - KR)],  # R = Y + 1.5748 Cr
        [1.0, -2 * (1 - KB) * KB / (1 - KR - KB), -2 * (1 - KR) * KR / (1 - KR - KB)],
        [1.0, 2 * (1 - KB), 0.0],  # B = Y + 1.8556 Cb
    ]
)
BARS_75 = [
    (0.75, 0.75, 0.75), (0.75, 0.75, 0.0), (0.0, 0.75, 0.75), (0.0, 0.75, 0.0),
    (0.75, 0.0, 0.75), (0.75, 0.0, 0.0), (0.0, 0.0, 0.75), (0.0, 0.0, 0.0),
]  # fmt: skip
BAR_W = W // len(BARS_75)  # 12 px


def bars_and_ramp(h: int = H, w: int = W) -> np.ndarray:
    """Top 2/3: 75 % colour bars, bottom 1/3: horizontal grey ramp 0..1. float32 [h, w, 3]."""
    img = np.zeros((h, w, 3), np.float32)
    top = (h * 2) // 3
    for i, colour in enumerate(BARS_75):
        img[:top, i * BAR_W : (i + 1) * BAR_W] = colour
    img[top:] = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    return img


def clip_frames(n: int = 9, h: int = H, w: int = W) -> np.ndarray:
    return np.repeat(bars_and_ramp(h, w)[None], n, axis=0)


def stereo_tone(n: int, sr: int = SR) -> np.ndarray:
    t = np.arange(n) / sr
    return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)]).astype(
        np.float32
    )


def decoded_planes(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Decode every frame to its raw 10-bit (Y, Cb, Cr) planes — no libswscale involved."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.format.name in ("yuv422p10le", "yuv420p10le")
            planes = []
            for plane in frame.planes:
                stride = plane.line_size // 2
                buf = np.frombuffer(plane, dtype="<u2", count=plane.height * stride)
                planes.append(buf.reshape(plane.height, stride)[:, : plane.width].copy())
            out.append(tuple(planes))
    return out


def planes_to_rgb_independent(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Limited-range 10-bit BT.709 -> R'G'B' using the test's own matrix; nearest chroma."""
    ry, rx = y.shape[0] // cb.shape[0], y.shape[1] // cb.shape[1]
    cb = np.repeat(np.repeat(cb, ry, axis=0), rx, axis=1)
    cr = np.repeat(np.repeat(cr, ry, axis=0), rx, axis=1)
    ycc = np.stack([(y - 64.0) / 876.0, (cb - 512.0) / 896.0, (cr - 512.0) / 896.0], axis=-1)
    return np.clip(ycc @ INV_709.T, 0.0, 1.0)


def flat_region_mask(h: int = H, w: int = W) -> np.ndarray:
    """Pixels away from bar edges (chroma subsampling legitimately blurs 1-2 px there)."""
    mask = np.ones((h, w), bool)
    top = (h * 2) // 3
    for i in range(1, len(BARS_75)):
        mask[:top, i * BAR_W - 2 : i * BAR_W + 2] = False
    mask[top - 2 : top + 2, :] = False
    return mask


def roundtrip_error(path: Path, frames: np.ndarray) -> tuple[float, float]:
    """(mean abs error on flat regions, mean abs error on the whole frame), 0..1 scale."""
    decoded = decoded_planes(path)
    assert len(decoded) == len(frames)
    flat, whole = [], []
    for (y, cb, cr), src in zip(decoded, frames, strict=True):
        rgb = planes_to_rgb_independent(y, cb, cr)
        err = np.abs(rgb - src)
        mask = flat_region_mask(*src.shape[:2])
        flat.append(err[mask].mean())
        whole.append(err.mean())
    return float(np.mean(flat)), float(np.mean(whole))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- containers


@pytest.mark.parametrize(
    ("ext", "codec", "profile", "pix_fmt", "tag", "acodec"),
    [
        (".mov", "prores", "HQ", "yuv422p10le", "apch", "pcm_s24le"),
        (".mp4", "hevc", "Main 10", "yuv420p10le", "hvc1", "aac"),
    ],
)
def test_container_codec_profile_colour_tags_and_audio(
    tmp_path: Path, ext: str, codec: str, profile: str, pix_fmt: str, tag: str, acodec: str
) -> None:
    frames = clip_frames(9)
    n_samples = 9 * 1001  # exactly 9 frames at 24000/1001 fps and 24 kHz
    out = write_clip(tmp_path / f"clip{ext}", frames, NTSC, stereo_tone(n_samples), SR)
    assert out == tmp_path / f"clip{ext}"
    info = probe(out)
    assert info["video_codec"] == codec
    assert info["profile"] == profile
    assert info["pix_fmt"] == pix_fmt
    assert (info["width"], info["height"]) == (W, H)
    assert info["codec_tag"] == tag
    assert (info["color_primaries"], info["color_trc"], info["colorspace"]) == ("bt709",) * 3
    assert info["color_range"] == "tv"
    assert info["frame_count"] == 9
    assert info["fps_fraction"] == "24000/1001"
    assert info["video_duration"] == pytest.approx(9 * 1001 / 24000, abs=1e-9)
    assert info["audio_codec"] == acodec
    assert info["sample_rate"] == SR
    assert info["channels"] == 2
    if acodec == "pcm_s24le":
        assert info["audio_samples"] == n_samples
    else:  # AAC pads its last 1024-sample frame
        assert n_samples <= info["audio_samples"] < n_samples + 1024
    assert listing(tmp_path) == [f"clip{ext}"]


def test_all_audio_is_encoded_and_pcm_is_bit_accurate(tmp_path: Path) -> None:
    audio = stereo_tone(10_000)  # longer than the 9 frames: kept as given
    out = write_clip(tmp_path / "a.mov", clip_frames(9), NTSC, audio, SR)
    chunks = []
    with av.open(str(out)) as c:
        for frame in c.decode(audio=0):
            assert frame.format.name == "s32"  # pcm_s24le decodes to packed s32
            chunks.append(frame.to_ndarray().reshape(-1, 2).T)
    decoded = np.concatenate(chunks, axis=1).astype(np.float64) / 2.0**31
    assert decoded.shape == (2, 10_000)
    assert np.max(np.abs(decoded - audio)) < 2.0**-22


def test_aac_decodes_to_the_same_number_of_samples(tmp_path: Path) -> None:
    audio = stereo_tone(9 * 1001)
    out = write_clip(tmp_path / "a.mp4", clip_frames(9), NTSC, audio[:1], SR)  # mono
    info = probe(out)
    assert info["channels"] == 1
    with av.open(str(out)) as c:
        total = sum(f.samples for f in c.decode(audio=0))
    assert abs(total - audio.shape[1]) <= 1024  # flushed: nothing lost beyond AAC framing


def _colr_values(data: bytes, kind: bytes) -> tuple[int, int, int]:
    at = data.find(b"colr" + kind)
    assert at >= 0, f"no colr/{kind!r} atom"
    return struct.unpack(">HHH", data[at + 8 : at + 14])


def test_container_colr_atom_is_bt709(tmp_path: Path) -> None:
    mov = write_clip(tmp_path / "c.mov", clip_frames(3), 24)
    mp4 = write_clip(tmp_path / "c.mp4", clip_frames(3), 24)
    assert _colr_values(mov.read_bytes(), b"nclc") == (1, 1, 1)
    data = mp4.read_bytes()
    assert _colr_values(data, b"nclx") == (1, 1, 1)
    full_range_flag = data[data.find(b"colrnclx") + 14] & 0x80
    assert full_range_flag == 0  # limited range
    assert data.find(b"moov") < data.find(b"mdat")  # faststart for streaming delivery


@pytest.mark.parametrize(
    ("fps", "fraction", "duration"),
    [
        (Fraction(24000, 1001), "24000/1001", 9 * 1001 / 24000),
        (23.976, "24000/1001", 9 * 1001 / 24000),
        (25, "25/1", 9 / 25),
        ("30000/1001", "30000/1001", 9 * 1001 / 30000),
    ],
)
def test_frame_rate_and_exact_duration(tmp_path: Path, fps: object, fraction: str, duration: float) -> None:
    out = write_clip(tmp_path / "r.mov", clip_frames(9, 16, 16), fps)  # type: ignore[arg-type]
    info = probe(out)
    assert info["fps_fraction"] == fraction
    assert info["video_duration"] == pytest.approx(duration, abs=1e-9)


# --------------------------------------------------------------------------- colour


def test_prores_colour_round_trip_within_one_code_value(tmp_path: Path) -> None:
    frames = clip_frames(9)
    out = write_clip(tmp_path / "bars.mov", frames, 24)
    flat, whole = roundtrip_error(out, frames)
    assert flat <= 1 / 255, flat  # measured 0.10/255
    assert whole <= 4 / 255, whole  # measured 2.7/255: chroma blur at bar edges


def test_hevc_colour_round_trip(tmp_path: Path) -> None:
    frames = clip_frames(9)
    out = write_clip(tmp_path / "bars.mp4", frames, 24)
    flat, whole = roundtrip_error(out, frames)
    assert flat <= 1.5 / 255, flat  # measured 0.44/255 (CRF 18, 4:2:0)
    assert whole <= 6 / 255, whole  # measured 3.0/255


def test_pure_red_uses_bt709_not_bt601_coefficients(tmp_path: Path) -> None:
    red = np.zeros((1, 16, 16, 3), np.float32)
    red[..., 0] = 1.0
    y, cb, cr = rgb_to_yuv_planes(red[0], (2, 1))
    y709 = round(64 + 876 * 0.2126)  # 250; BT.601 would give 64 + 876 * 0.299 = 326
    assert int(y[0, 0]) == y709
    assert int(cb[0, 0]) == round(512 - 896 * 0.2126 / 1.8556)  # 409
    assert int(cr[0, 0]) == 960
    out = write_clip(tmp_path / "red.mov", np.repeat(red, 3, axis=0), 24)
    dy, dcb, dcr = decoded_planes(out)[0]
    assert abs(float(dy.mean()) - y709) <= 1.0
    assert abs(float(dy.mean()) - 326) > 50
    assert abs(float(dcb.mean()) - 409) <= 2.0
    assert abs(float(dcr.mean()) - 960) <= 2.0


def test_green_and_white_black_levels() -> None:
    img = np.zeros((2, 4, 3), np.float32)
    img[0, :2] = 1.0  # white
    img[1, :2] = (0, 1, 0)  # green
    y, cb, cr = rgb_to_yuv_planes(img, (2, 1))
    assert y[0, 0] == 940 and cb[0, 0] == 512 and cr[0, 0] == 512
    assert y[0, 2] == 64  # black
    assert y[1, 0] == round(64 + 876 * 0.7152)  # 691 (BT.601: 578)
    assert cb.min() >= 64 and cr.max() <= 960


def test_uint8_and_float_inputs_give_identical_planes() -> None:
    u8 = (bars_and_ramp() * 255).round().astype(np.uint8)
    f32 = u8.astype(np.float32) / 255.0
    for a, b in zip(rgb_to_yuv_planes(u8, (2, 2)), rgb_to_yuv_planes(f32, (2, 2)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_out_of_range_float_is_clipped() -> None:
    img = np.full((2, 2, 3), 2.0, np.float32)
    img[1] = -1.0
    y, cb, cr = rgb_to_yuv_planes(img, (2, 1))
    assert y[0, 0] == 940 and y[1, 0] == 64
    assert np.all(cb == 512) and np.all(cr == 512)


def test_chroma_is_cosited_horizontally() -> None:
    # A one-pixel-wide red line on an even column keeps half its chroma weight at that
    # site ([1, 2, 1] / 4) and a quarter at the neighbouring site; nothing at odd sites.
    img = np.zeros((2, 8, 3), np.float32)
    img[:, 4, 0] = 1.0
    _, _, cr = rgb_to_yuv_planes(img, (2, 1))
    full = 896 * 0.5
    assert list(cr[0]) == [512, 512, round(512 + full / 2), 512]
    img = np.zeros((2, 8, 3), np.float32)
    img[:, 5, 0] = 1.0  # odd column: split between sites 2 and 3
    _, _, cr = rgb_to_yuv_planes(img, (2, 1))
    assert list(cr[0]) == [512, 512, round(512 + full / 4), round(512 + full / 4)]


def test_library_inverse_matches_forward_on_smooth_image() -> None:
    xx, yy = np.meshgrid(np.linspace(0, 1, W), np.linspace(0, 1, H))
    smooth = np.stack([xx, yy, np.full_like(xx, 0.5)], axis=-1)
    for cs in ((2, 1), (2, 2)):
        back = yuv_planes_to_rgb(*rgb_to_yuv_planes(smooth.astype(np.float32), cs), cs)
        assert np.abs(back - smooth).mean() < 1 / 1023 * 2


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("ext", [".mov", ".mp4"])
def test_metadata_round_trip(tmp_path: Path, ext: str) -> None:
    meta = {
        "model": "LTX-2 19B distilled",
        "checkpoint": "ltx-2-19b-distilled-fp8",
        "seed": 1234,
        "prompt": "A red fox — running\nthrough snow",
        "ai_generated": "false",  # cannot be switched off
    }
    out = write_clip(tmp_path / f"m{ext}", clip_frames(3, 16, 16), 24, metadata=meta)
    tags = probe(out)["metadata"]
    assert tags["ai_generated"] == "true"
    assert tags["model"] == "LTX-2 19B distilled"
    assert tags["checkpoint"] == "ltx-2-19b-distilled-fp8"
    assert tags["seed"] == "1234"
    assert tags["prompt"] == meta["prompt"]
    assert tags["software"].startswith("AIPROD Studio ")
    assert "AI-generated" in tags["comment"] and "LTX-2 19B distilled" in tags["comment"]
    assert "AI-generated" in tags["description"]


def test_provenance_tags_present_without_metadata(tmp_path: Path) -> None:
    tags = probe(write_clip(tmp_path / "m.mov", clip_frames(2, 16, 16), 24))["metadata"]
    assert tags["ai_generated"] == "true"
    assert tags["model"] == "unknown"
    assert "AI-generated" in tags["comment"]


def test_bad_metadata_key_rejected() -> None:
    with pytest.raises(ExportError, match="Metadata key"):
        build_metadata({"bad key=": "x"})


# --------------------------------------------------------------------------- streaming, progress


def test_streaming_iterable_with_frame_count_and_progress(tmp_path: Path) -> None:
    frames = clip_frames(11, 32, 32)
    seen: list[tuple[int, int]] = []
    gen = (f for f in frames)
    out = write_clip(
        tmp_path / "s.mp4", gen, 24, frame_count=11, on_progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(i, 11) for i in range(1, 12)]
    assert probe(out)["frame_count"] == 11


def test_list_of_uint8_frames_uses_len(tmp_path: Path) -> None:
    frames = [(f * 255).astype(np.uint8) for f in clip_frames(5, 16, 16)]
    assert probe(write_clip(tmp_path / "l.mov", frames, 24))["frame_count"] == 5


def test_stream_without_frame_count_rejected(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="frame_count"):
        write_clip(tmp_path / "s.mov", (f for f in clip_frames(3, 16, 16)), 24)
    assert listing(tmp_path) == []


def test_stream_shorter_than_frame_count_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="ended after 3 frames"):
        write_clip(tmp_path / "s.mov", iter(clip_frames(3, 16, 16)), 24, frame_count=5)
    assert listing(tmp_path) == []


def test_frame_with_different_size_mid_stream(tmp_path: Path) -> None:
    frames = [np.zeros((16, 16, 3), np.float32)] * 2 + [np.zeros((16, 18, 3), np.float32)]
    with pytest.raises(ExportError, match="Frame 2 is 18x16 but the clip is 16x16"):
        write_clip(tmp_path / "s.mov", frames, 24)
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------- atomic / cancel


def counting_source(n: int, pulled: list[int]) -> Iterator[np.ndarray]:
    for i, frame in enumerate(clip_frames(n, 32, 32)):
        pulled.append(i)
        yield frame


@pytest.mark.parametrize("ext", [".mov", ".mp4"])
def test_cancel_mid_way_leaves_no_file(tmp_path: Path, ext: str) -> None:
    cancel = threading.Event()
    pulled: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 4:
            cancel.set()

    with pytest.raises(ExportCancelled, match="cancelled"):
        write_clip(
            tmp_path / f"c{ext}", counting_source(12, pulled), 24,
            audio=stereo_tone(SR), sample_rate=SR, frame_count=12,
            on_progress=progress, cancel=cancel,
        )  # fmt: skip
    assert listing(tmp_path) == []
    assert len(pulled) == 4  # the source is not asked for more frames after cancel


def test_cancel_before_start(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled):
        write_clip(tmp_path / "c.mov", clip_frames(3, 16, 16), 24, cancel=cancel)
    assert listing(tmp_path) == []


def test_existing_destination_untouched_on_failure_and_replaced_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "keep.mov"
    dest.write_bytes(b"original")

    def exploding() -> Iterator[np.ndarray]:
        yield from clip_frames(2, 16, 16)
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        write_clip(dest, exploding(), 24, frame_count=4)
    assert dest.read_bytes() == b"original"

    cancel = threading.Event()
    with pytest.raises(ExportCancelled):
        write_clip(dest, clip_frames(4, 16, 16), 24, cancel=cancel,
                   on_progress=lambda d, t: cancel.set())  # fmt: skip
    assert dest.read_bytes() == b"original"
    assert listing(tmp_path) == ["keep.mov"]

    write_clip(dest, clip_frames(4, 16, 16), 24)
    assert probe(dest)["frame_count"] == 4
    assert listing(tmp_path) == ["keep.mov"]


def test_temp_file_lives_next_to_destination(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    write_clip(tmp_path / "t.mov", clip_frames(2, 16, 16), 24,
               on_progress=lambda d, t: seen.append(listing(tmp_path)))  # fmt: skip
    assert len(seen[0]) == 1
    assert seen[0][0].startswith(".t.partial-") and seen[0][0].endswith(".mov")
    assert listing(tmp_path) == ["t.mov"]


# --------------------------------------------------------------------------- preflight errors


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"'\.avi' is not a supported.*\.mov.*\.mp4"):
        write_clip(tmp_path / "x.avi", clip_frames(2, 16, 16), 24)
    with pytest.raises(ExportError, match="no extension"):
        write_clip(tmp_path / "x", clip_frames(2, 16, 16), 24)
    assert listing(tmp_path) == []


def test_uppercase_extension_accepted(tmp_path: Path) -> None:
    out = write_clip(tmp_path / "X.MOV", clip_frames(2, 16, 16), 24)
    assert probe(out)["video_codec"] == "prores"


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        write_clip(tmp_path / "nope" / "x.mov", clip_frames(2, 16, 16), 24)


def test_folder_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        write_clip(tmp_path / "file" / "x.mov", clip_frames(2, 16, 16), 24)


def test_destination_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "d.mov").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        write_clip(tmp_path / "d.mov", clip_frames(2, 16, 16), 24)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_unwritable_folder_detected_by_trying_to_write() -> None:
    # /proc exists and is a folder, but no regular file can be created in it (even as root,
    # where os.access() would claim it is writable).
    with pytest.raises(ExportError, match="Cannot write to the folder '/proc'"):
        write_clip("/proc/aiprod-test.mov", clip_frames(2, 16, 16), 24)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder_with_chmod(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="Cannot write to the folder"):
            write_clip(ro / "x.mov", clip_frames(2, 16, 16), 24)
    finally:
        ro.chmod(0o700)


def test_missing_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dataclasses.replace(FORMATS[".mp4"], video_codec="libnonexistent265")
    monkeypatch.setitem(FORMATS, ".mp4", broken)
    with pytest.raises(ExportError, match=r"no 'libnonexistent265' encoder.*\.mov"):
        write_clip(tmp_path / "x.mp4", clip_frames(2, 16, 16), 24)
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (np.zeros((2, 16, 16, 3), np.int16), "dtype int16"),
        (np.zeros((2, 16, 16, 4), np.float32), "Drop the alpha channel"),
        (np.zeros((16, 16, 3), np.float32), r"shape \[frames, height, width, 3\]"),
        (np.zeros((0, 16, 16, 3), np.float32), "no frames"),
        (np.full((2, 16, 16, 3), np.nan, np.float32), "NaN"),
        ("frames.png", "numpy array or an iterable"),
    ],
)
def test_bad_frames_rejected(tmp_path: Path, frames: object, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        write_clip(tmp_path / "x.mov", frames, 24)  # type: ignore[arg-type]
    assert listing(tmp_path) == []


def test_odd_size_rejected_for_420(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"even width and height \(4:2:0.*62x48"):
        write_clip(tmp_path / "x.mp4", clip_frames(2, 48, 63), 24)
    with pytest.raises(ExportError, match="even width and height"):
        write_clip(tmp_path / "x.mp4", clip_frames(2, 47, 64), 24)
    assert listing(tmp_path) == []


def test_422_needs_even_width_only(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"even width \(4:2:2"):
        write_clip(tmp_path / "x.mov", clip_frames(2, 48, 63), 24)
    info = probe(write_clip(tmp_path / "odd_h.mov", clip_frames(2, 47, 64), 24))
    assert info["height"] == 47


@pytest.mark.parametrize(
    ("ext", "audio", "rate", "message"),
    [
        (".mov", np.zeros((3, 100), np.float32), SR, r"1 \(mono\) or 2 \(stereo\)"),
        (".mov", np.zeros((100, 2), np.float32), SR, r"audio\.T"),
        (".mov", np.zeros((2, 100), np.int16), SR, "divide int16"),
        (".mov", np.zeros((2, 100), np.float32), None, "without sample_rate"),
        (".mov", np.zeros((2, 0), np.float32), SR, "no samples"),
        (".mov", np.zeros((2, 100), np.float32), 0, "positive whole number"),
        (".mp4", np.zeros((2, 100), np.float32), 22000, "cannot store audio at 22000 Hz"),
    ],
)
def test_bad_audio_rejected(
    tmp_path: Path, ext: str, audio: np.ndarray, rate: int | None, message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        write_clip(tmp_path / f"x{ext}", clip_frames(2, 16, 16), 24, audio, rate)
    assert listing(tmp_path) == []


def test_pcm_accepts_any_rate(tmp_path: Path) -> None:
    mono = np.zeros(2205, np.float32)
    out = write_clip(tmp_path / "x.mov", clip_frames(2, 16, 16), 24, mono, 22050)
    info = probe(out)
    assert (info["sample_rate"], info["channels"], info["audio_samples"]) == (22050, 1, 2205)


def test_not_enough_disk_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(ExportError, match=r"Not enough free disk space.*needs about .*MiB"):
        write_clip(tmp_path / "x.mov", clip_frames(2, 16, 16), 24)
    assert listing(tmp_path) == []


def test_size_estimate_is_conservative_for_real_output(tmp_path: Path) -> None:
    frames = np.random.default_rng(1).random((4, 64, 96, 3), dtype=np.float32)  # worst case
    for ext in (".mov", ".mp4"):
        out = write_clip(tmp_path / f"n{ext}", frames, 24, stereo_tone(4000), SR)
        est = FORMATS[ext].estimate_bytes(96, 64, 4, 24.0, 2, SR)
        assert out.stat().st_size < est


@pytest.mark.parametrize("fps", [0, -24, float("nan"), "abc", True])
def test_bad_fps(fps: object) -> None:
    with pytest.raises(ExportError, match=r"[Ff]rame rate"):
        normalise_fps(fps)  # type: ignore[arg-type]


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AppError, match="no such file"):
        probe(tmp_path / "missing.mov")
    (tmp_path / "junk.mov").write_bytes(b"not a video")
    with pytest.raises(AppError, match="Cannot read"):
        probe(tmp_path / "junk.mov")


def test_disk_full_during_write_is_reported_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.export.encoder as encoder

    def full(path: Path, _dest: Path) -> None:  # flushing the finished file to disk fails
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(encoder, "commit", full)
    with pytest.raises(ExportError, match="ran out of space"):
        write_clip(tmp_path / "x.mov", clip_frames(2, 16, 16), 24)
    assert listing(tmp_path) == []


def test_preflight_destination_checks_before_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert preflight_destination(tmp_path / "ok.mp4").video_codec == "libx265"
    assert listing(tmp_path) == []  # the writability probe file is gone
    with pytest.raises(ExportError, match="not a supported video format"):
        preflight_destination(tmp_path / "x.webm")
    with pytest.raises(ExportError, match="does not exist"):
        preflight_destination(tmp_path / "missing" / "x.mov")
    with pytest.raises(ExportError, match="even width and height"):
        preflight_destination(tmp_path / "x.mp4", width=767, height=512)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 0, 50 * 2**20))
    preflight_destination(tmp_path / "x.mov", width=768, height=512, frame_count=9, fps=24)
    with pytest.raises(ExportError, match="Not enough free disk space"):
        preflight_destination(tmp_path / "x.mov", width=1920, height=1080, frame_count=241, fps=24)
    assert listing(tmp_path) == []

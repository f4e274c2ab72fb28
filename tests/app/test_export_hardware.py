"""Hardware encoder presets (NVENC / AMF / QSV): declared as data, probed once by opening the encoder, offered
only where they open, refused with a clear message elsewhere; the semi-planar frames they take (p010le, nv12)
carry exactly the samples of the planar path. This machine has no GPU encoder: presence is simulated by
replacing the probe, and the real probe must report absence without crashing."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from app.errors import ExportError
from app.export import hardware, presets, render_timeline
from app.export.encoder import _yuv_frame, write_clip
from app.export.formats import HEVC_MAIN10_MP4, DeliveryFormat
from app.export.yuv import rgb_to_yuv_planes

HARDWARE = [p.name for p in presets.hardware()]
CONSTANT_QUALITY = {"NVENC": ("cq",), "AMF": ("qp_i", "qp_p"), "QSV": ("global_quality",)}


@pytest.fixture(autouse=True)
def fresh_probe():
    hardware.set_prober(None)  # forget the session's cache before and after each test
    yield
    hardware.set_prober(None)


def fake_prober(opens: set[str], calls: list[str] | None = None):
    def prober(preset):
        if calls is not None:
            calls.append(preset.name)
        ok = preset.name in opens
        reason = "" if ok else "PermissionError: Operation not permitted"
        fmt = preset.delivery_format()
        return hardware.ProbeResult(preset.name, fmt.video_codec, preset.hardware_family, ok, reason, 0.0)

    return prober


def test_nvenc_amf_and_qsv_presets_are_shipped_but_not_among_the_software_presets():
    assert {"h265_main10_nvenc", "h264_nvenc", "av1_nvenc"} <= set(HARDWARE)
    assert {p.hardware_family for p in presets.hardware()} == {"NVENC", "AMF", "QSV"}
    software = {p.name for p in presets.available()}
    assert not software & set(HARDWARE)
    assert presets.get("h265_main10_nvenc").is_hardware  # get() finds them by name
    assert not presets.get("h265_main10").is_hardware


@pytest.mark.parametrize("name", HARDWARE)
def test_each_hardware_preset_keeps_the_software_presets_intent(name):
    preset = presets.get(name)
    fmt = preset.delivery_format()
    assert fmt.video_codec in av.codecs_available  # PyAV's FFmpeg has the encoder (opening is another matter)
    codec = av.Codec(fmt.video_codec, "w")
    assert fmt.pix_fmt in {f.name for f in codec.video_formats}  # a pixel format the encoder takes
    assert fmt.video_profile in av.CodecContext.create(fmt.video_codec, "w").profiles
    options = dict(fmt.video_options)
    assert all(key in options for key in CONSTANT_QUALITY[preset.hardware_family])  # constant quality
    assert options.get("b") == "0"  # no bit-rate target fighting the quality setting
    if fmt.video_codec.startswith(("hevc", "av1")):
        assert fmt.bit_depth == 10 and fmt.planar_pix_fmt == "yuv420p10le"
    software = presets.get(preset.software_equivalent)
    twin = software.delivery_format()
    assert (fmt.extension, fmt.audio_codec, fmt.container_format) == (
        software.extension, twin.audio_codec, twin.container_format,
    )  # fmt: skip
    assert dict(fmt.container_options) == dict(software.delivery_format().container_options)
    if fmt.video_codec.startswith("hevc"):
        assert fmt.codec_tag == "hvc1"


def test_the_real_probe_reports_every_hardware_preset_without_crashing():
    results = hardware.probe_all()
    assert set(results) == set(HARDWARE)
    for result in results.values():
        assert isinstance(result.available, bool)
        assert result.available or result.reason  # absence always says why
    gpu_devices = [p for p in ("/dev/nvidia0", "/dev/dri") if os.path.exists(p)]
    if gpu_devices:
        pytest.skip(f"this machine has GPU devices ({gpu_devices}): an encoder may really open")
    assert not any(r.available for r in results.values())
    assert hardware.available_presets() == []
    assert "H100" in hardware.summary() and "No hardware video encoder opened" in hardware.summary()


def test_the_probe_runs_once_per_session_and_only_opening_presets_are_offered():
    calls: list[str] = []
    hardware.set_prober(fake_prober({"h265_main10_nvenc", "h264_nvenc"}, calls))
    first = [p.name for p in hardware.available_presets()]
    second = [p.name for p in hardware.available_presets()]
    assert first == second == ["h264_nvenc", "h265_main10_nvenc"]
    assert sorted(calls) == sorted(HARDWARE)  # each preset probed exactly once
    assert hardware.is_available("h264_nvenc") and not hardware.is_available("av1_nvenc")
    assert hardware.is_available("prores_422_hq")  # software presets are always available
    assert "hevc_nvenc" in hardware.summary() and "NVENC" in hardware.summary()


def test_a_background_probe_fills_the_cache():
    calls: list[str] = []
    hardware.set_prober(fake_prober({"h265_main10_qsv"}, calls))
    hardware.probe_in_background().join(10)
    assert [p.name for p in hardware.available_presets()] == ["h265_main10_qsv"]
    assert len(calls) == len(HARDWARE)


def test_a_probe_that_crashes_counts_as_absent():
    def broken(preset):
        raise RuntimeError("driver crashed")

    hardware.set_prober(broken)
    results = hardware.probe_all()
    assert not any(r.available for r in results.values())
    assert all("driver crashed" in r.reason for r in results.values())


def test_exporting_to_an_absent_hardware_encoder_is_refused_naming_the_software_preset(tmp_path):
    from app.document import TimelineDocument, TrackKind
    from app.media.importer import import_files
    from tests.media_builders import make_video

    hardware.set_prober(fake_prober(set()))
    doc = TimelineDocument(name="HW", rate=24)
    ids, errors = import_files(doc, [make_video(tmp_path / "a.mp4", frames=6, size=(256, 144))])
    assert not errors
    from opentimelineio.opentime import RationalTime

    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
    out = tmp_path / "out" / "film.mp4"
    out.parent.mkdir()
    with pytest.raises(ExportError, match=r"NVIDIA GPU with NVENC.*'hevc_nvenc' did not open.*H\.265 Main10"):
        render_timeline(doc, "h265_main10_nvenc", out)
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("planar, packed", [("yuv420p10le", "p010le"), ("yuv420p", "nv12")])
def test_semi_planar_frames_carry_exactly_the_planar_samples(planar, packed):
    rng = np.random.default_rng(5)
    rgb = rng.random((48, 64, 3), dtype=np.float32)
    planes = rgb_to_yuv_planes(rgb, (2, 2), 10 if "10" in planar else 8)
    frame = _yuv_frame(planes, planar, 64, 48)
    back = frame.reformat(format=packed).reformat(format=planar)
    size = 2 if "10" in planar else 1
    for a, b in zip(frame.planes, back.planes, strict=True):
        assert np.array_equal(plane_bytes(a, size), plane_bytes(b, size))


def plane_bytes(plane, sample_size: int) -> np.ndarray:
    rows = np.frombuffer(plane, np.uint8, count=plane.line_size * plane.height).reshape(plane.height, -1)
    return rows[:, : plane.width * sample_size]


def test_a_semi_planar_format_encodes_the_same_picture_as_its_planar_twin(tmp_path):
    """libx264 takes nv12 as a hardware encoder would: the file must hold the planar path's samples."""
    rng = np.random.default_rng(2)
    frames = rng.random((4, 48, 64, 3), dtype=np.float32)
    planar = DeliveryFormat(**{**HEVC_MAIN10_MP4.__dict__, "video_codec": "libx264", "video_profile": "High",
                               "pix_fmt": "yuv420p", "codec_tag": None, "bit_depth": 8,
                               "video_options": {"crf": "10", "preset": "ultrafast"}})  # fmt: skip
    packed = DeliveryFormat(**{**planar.__dict__, "pix_fmt": "nv12", "hardware": "TEST"})
    assert packed.planar_pix_fmt == "yuv420p"
    a = write_clip(tmp_path / "planar.mp4", frames, 24, delivery=planar)
    b = write_clip(tmp_path / "packed.mp4", frames, 24, delivery=packed)
    for path_a, path_b in [(a, b)]:
        with av.open(str(path_a)) as ca, av.open(str(path_b)) as cb:
            fa = [f.to_ndarray(format="yuv420p") for f in ca.decode(video=0)]
            fb = [f.to_ndarray(format="yuv420p") for f in cb.decode(video=0)]
            assert cb.streams.video[0].codec_context.color_primaries == 1  # BT.709 tags kept
    assert len(fa) == len(fb) == 4
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))


def test_hardware_presets_are_absent_from_a_wheel_without_their_folder(tmp_path):
    assert presets.hardware(Path(tmp_path) / "missing") == []

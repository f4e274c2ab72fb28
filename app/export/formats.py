"""Delivery formats: which container, codecs and settings a video file gets.

:class:`DeliveryFormat` is the encoder's description of a file; the export presets
(``resources/export_presets/*.json``, :mod:`app.export.presets`) build one each. :func:`write_clip`
without a preset picks one of two formats by the destination's extension (case-insensitive):

``.mov``
    Apple ProRes 422 HQ (``prores_ks``, profile 3 "hq", 10-bit 4:2:2 ``yuv422p10le``)
    with 24-bit little-endian PCM audio. Mastering / editing interchange.
``.mp4``
    H.265/HEVC Main 10 (``libx265``, 10-bit 4:2:0 ``yuv420p10le``, sample entry ``hvc1``
    so Apple players accept it) with AAC-LC audio. Delivery / sharing.

Both are tagged BT.709 primaries, transfer and matrix, limited ("tv") range.

Size estimates (used only for the free-space preflight) are deliberately pessimistic:

* ProRes 422 HQ is specified by Apple at ~220 Mbit/s for 1920x1080 at 29.97 fps, i.e.
  ~3.5 bits per pixel per frame. Measured with ``prores_ks``: 0.6-0.8 bits/pixel on smooth
  gradients, 4.2 on full-frame uniform noise at 1280x720 (up to ~7 on tiny frames, where
  the fixed 1 MiB allowance dominates anyway). The estimate uses 6 bits/pixel.
* HEVC Main 10 at CRF 18 measured 0.01-0.1 bits/pixel on smooth content and ~5.5 on
  full-frame uniform noise (an unrealistic worst case for generated video). The estimate
  uses 3 bits/pixel; should a pathological clip still fill the disk, the writer reports
  ENOSPC as an ExportError and removes its temporary file.
* PCM audio is exact (3 bytes per sample per channel); AAC uses its configured bit rate.
* A fixed 1 MiB plus 10 % is added for container structures and index tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import av

from app.errors import ExportError

# BT.709 code points (ISO/IEC 23091-2 / H.273), identical to FFmpeg's AVColor* enums.
BT709 = 1
RANGE_LIMITED = 1  # AVCOL_RANGE_MPEG, a.k.a. "tv"


@dataclass(frozen=True)
class DeliveryFormat:
    """Container + codec choices for one destination extension."""

    extension: str
    """Lower-case extension including the dot, e.g. ``".mov"``."""
    label: str
    """Human readable name used in messages."""
    container_format: str
    """FFmpeg muxer name."""
    video_codec: str
    """FFmpeg encoder name."""
    video_profile: str
    """Profile name as PyAV exposes it (``codec_context.profiles``)."""
    pix_fmt: str
    """Planar YUV format handed to the encoder: 10-bit little-endian, 8-bit (``yuv420p``) or with an alpha
    plane (``yuva444p10le``)."""
    chroma_subsampling: tuple[int, int]
    """(horizontal, vertical) chroma decimation factors: (2, 1) = 4:2:2, (2, 2) = 4:2:0, (1, 1) = 4:4:4."""
    codec_tag: str | None
    """Sample-entry FourCC to force (``hvc1`` for HEVC), or None for the muxer default."""
    audio_codec: str
    """FFmpeg audio encoder name."""
    video_options: Mapping[str, str] = field(default_factory=dict)
    """Private encoder options (``AVCodecContext`` priv options)."""
    container_options: Mapping[str, str] = field(default_factory=dict)
    """Muxer options."""
    audio_bit_rate: Mapping[int, int] | None = None
    """Bit rate per channel count for lossy audio; None for PCM."""
    pcm_bytes_per_sample: int | None = None
    """Bytes per sample per channel for PCM audio; None for lossy audio."""
    video_bits_per_pixel: float = 1.0
    """Pessimistic bits per pixel per frame, for the free-space estimate."""
    bit_depth: int = 10
    """Bits per YUV sample: 10 (``*p10le``) or 8."""
    alpha: bool = False
    """The format stores an alpha plane (frames are then R'G'B'A ``[H, W, 4]``)."""
    hardware: str | None = None
    """The GPU encoder family (``NVENC``, ``AMF``, ``QSV``) of a hardware preset, None for software."""

    @property
    def planar_pix_fmt(self) -> str:
        """The planar format the Y'CbCr planes are built in; a semi-planar ``pix_fmt`` (``p010le``,
        ``nv12``: what hardware encoders take) is repacked from it losslessly (same samples)."""
        return SEMI_PLANAR.get(self.pix_fmt, self.pix_fmt)

    @property
    def even_width(self) -> bool:
        return self.chroma_subsampling[0] > 1

    @property
    def even_height(self) -> bool:
        return self.chroma_subsampling[1] > 1

    def audio_bits_per_second(self, channels: int, sample_rate: int) -> int:
        if self.pcm_bytes_per_sample is not None:
            return self.pcm_bytes_per_sample * 8 * channels * sample_rate
        assert self.audio_bit_rate is not None
        return self.audio_bit_rate[channels]

    def estimate_bytes(
        self,
        width: int,
        height: int,
        frame_count: int,
        fps: float,
        audio_channels: int = 0,
        audio_sample_rate: int = 0,
    ) -> int:
        """Conservative size estimate of the finished file, in bytes (see module doc)."""
        video = width * height * frame_count * self.video_bits_per_pixel / 8
        audio = 0.0
        if audio_channels:
            seconds = frame_count / fps
            audio = self.audio_bits_per_second(audio_channels, audio_sample_rate) * seconds / 8
        return int((video + audio) * 1.10) + 1024 * 1024


SEMI_PLANAR = {"p010le": "yuv420p10le", "nv12": "yuv420p"}  # what hardware encoders take -> planar twin
_MOVFLAGS = "+use_metadata_tags+write_colr"

PRORES_HQ_MOV = DeliveryFormat(
    extension=".mov",
    label="QuickTime .mov (ProRes 422 HQ, PCM 24-bit)",
    container_format="mov",
    video_codec="prores_ks",
    video_profile="HQ",
    pix_fmt="yuv422p10le",
    chroma_subsampling=(2, 1),
    codec_tag=None,  # the mov muxer writes 'apch' for profile HQ
    audio_codec="pcm_s24le",
    video_options={"vendor": "apl0"},
    container_options={"movflags": _MOVFLAGS},
    pcm_bytes_per_sample=3,
    video_bits_per_pixel=6.0,
)

HEVC_MAIN10_MP4 = DeliveryFormat(
    extension=".mp4",
    label="MPEG-4 .mp4 (H.265 Main 10, AAC)",
    container_format="mp4",
    video_codec="libx265",
    video_profile="Main 10",
    pix_fmt="yuv420p10le",
    chroma_subsampling=(2, 2),
    codec_tag="hvc1",
    audio_codec="aac",
    # chromaloc=0: chroma co-sited horizontally with luma, centred vertically ("left"),
    # which is how app.export.yuv sites the 4:2:0 samples.
    video_options={"crf": "18", "preset": "medium", "x265-params": "log-level=error:chromaloc=0"},
    container_options={"movflags": _MOVFLAGS + "+faststart"},
    audio_bit_rate={1: 128_000, 2: 192_000},
    video_bits_per_pixel=3.0,
)

FORMATS: dict[str, DeliveryFormat] = {fmt.extension: fmt for fmt in (PRORES_HQ_MOV, HEVC_MAIN10_MP4)}


def supported_extensions() -> list[str]:
    return sorted(FORMATS)


def format_for_path(path: str | Path) -> DeliveryFormat:
    """Return the delivery format for ``path``'s extension or raise ExportError."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        choices = ", ".join(f"{ext} = {FORMATS[ext].label}" for ext in supported_extensions())
        got = f"'{suffix}'" if suffix else "no extension"
        raise ExportError(
            f"Cannot export to '{Path(path).name}': {got} is not a supported video format. "
            f"Use one of: {choices}."
        ) from None


def encoder_available(name: str) -> bool:
    """True if this FFmpeg build (as linked into PyAV) has an encoder called ``name``."""
    if name not in av.codecs_available:
        return False
    try:
        av.Codec(name, "w")
    except Exception:  # any failure means "not usable"
        return False
    return True


def check_encoders(fmt: DeliveryFormat) -> None:
    """Raise ExportError naming the missing encoder(s) of ``fmt``."""
    missing = [c for c in (fmt.video_codec, fmt.audio_codec) if not encoder_available(c)]
    if missing:
        others = [f.extension for f in FORMATS.values() if f is not fmt]
        hint = f" or export to {', '.join(others)} instead" if others else ""
        raise ExportError(
            f"This FFmpeg build has no {' / '.join(repr(m) for m in missing)} encoder, "
            f"which {fmt.extension} ({fmt.label}) needs. Install a PyAV build that "
            f"includes it{hint}."
        )

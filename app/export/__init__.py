"""Qt-free export: the timeline renderer, presets (data files), the encoder (BT.709 tags, provenance).

>>> from app.export import presets, render_timeline
>>> render_timeline(doc, presets.get("prores_422_hq"), "cut.mov", on_progress=print)
>>> from app.export import write_clip, probe
>>> write_clip("clip.mov", frames, fps=Fraction(24000, 1001), audio=wav, sample_rate=24000,
...            metadata={"model": "LTX-2", "seed": 42, "prompt": "..."})
"""

from app.errors import AppError, ExportCancelled, ExportError
from app.export import presets
from app.export.encoder import (
    SOFTWARE_NAME,
    AudioStream,
    build_metadata,
    normalise_fps,
    preflight_destination,
    write_clip,
)
from app.export.formats import (
    FORMATS,
    HEVC_MAIN10_MP4,
    PRORES_HQ_MOV,
    DeliveryFormat,
    format_for_path,
    supported_extensions,
)
from app.export.presets import ExportPreset, SequenceFormat
from app.export.probe import probe
from app.export.renderer import RenderReport, TimelineRenderer, render_timeline
from app.export.yuv import rgb_to_yuv_planes, yuv_planes_to_rgb

__all__ = [
    "FORMATS",
    "HEVC_MAIN10_MP4",
    "PRORES_HQ_MOV",
    "SOFTWARE_NAME",
    "AppError",
    "AudioStream",
    "ExportPreset",
    "RenderReport",
    "SequenceFormat",
    "TimelineRenderer",
    "DeliveryFormat",
    "ExportCancelled",
    "ExportError",
    "build_metadata",
    "format_for_path",
    "normalise_fps",
    "preflight_destination",
    "presets",
    "probe",
    "render_timeline",
    "rgb_to_yuv_planes",
    "supported_extensions",
    "write_clip",
    "yuv_planes_to_rgb",
]

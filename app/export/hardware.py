"""Hardware video encoders (NVIDIA NVENC, AMD AMF, Intel Quick Sync): which of them work on this machine.

PyAV's FFmpeg build names ``hevc_nvenc``, ``h264_nvenc``, ``av1_nvenc``, ``*_amf`` and ``*_qsv`` whether or
not the machine has such a GPU, so the list of codecs says nothing. :func:`probe_all` *opens* each hardware
preset's encoder with the preset's own settings (profile, pixel format, options) and encodes one tiny frame;
only a preset whose encoder does that is offered (:func:`available_presets`). The probe runs once per
session (the studio starts it in the background at start-up, :func:`probe_in_background`) and its result
is cached; it never raises.

Data-centre GPUs (NVIDIA H100, H200, A100) have no NVENC unit, so on them, as on a machine without a GPU,
every hardware preset is reported unavailable and exports use the software presets. Qt-free.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av

from app.errors import AppError, ExportError
from app.export import presets as preset_registry
from app.export.formats import BT709, RANGE_LIMITED
from app.export.presets import ExportPreset

log = logging.getLogger(__name__)

PROBE_SIZE = (256, 144)  # above every hardware encoder's minimum (NVENC HEVC: 129 x 33)


@dataclass(frozen=True)
class ProbeResult:
    """Whether one hardware preset's encoder opened and encoded a frame here, and why not."""

    preset: str
    encoder: str
    family: str  # NVENC, AMF, QSV
    available: bool
    reason: str  # "" when available; else FFmpeg's error ("Operation not permitted": no such GPU/driver)
    seconds: float


_lock = threading.Lock()
_results: dict[str, ProbeResult] | None = None
_prober: Callable[[ExportPreset], ProbeResult] | None = None  # tests replace the real probe


def probe_encoder(preset: ExportPreset) -> ProbeResult:
    """Open ``preset``'s encoder with its settings and encode one tiny frame (never raises)."""
    fmt = preset.delivery_format()
    family = preset.hardware_family or "?"
    started = time.perf_counter()

    def result(ok: bool, reason: str = "") -> ProbeResult:
        return ProbeResult(preset.name, fmt.video_codec, family, ok, reason, time.perf_counter() - started)

    if fmt.video_codec not in av.codecs_available:
        return result(False, f"this FFmpeg build has no '{fmt.video_codec}' encoder")
    try:
        context = av.CodecContext.create(fmt.video_codec, "w")
        context.width, context.height = PROBE_SIZE
        context.pix_fmt = fmt.pix_fmt
        context.time_base = Fraction(1, 24)
        context.framerate = Fraction(24)
        context.profile = fmt.video_profile
        context.color_primaries = context.color_trc = context.colorspace = BT709
        context.color_range = RANGE_LIMITED
        context.options = dict(fmt.video_options)
        context.open()
        frame = av.VideoFrame(PROBE_SIZE[0], PROBE_SIZE[1], fmt.pix_fmt)
        frame.pts = 0
        packets = list(context.encode(frame)) + list(context.encode(None))
        if not packets:
            return result(False, "the encoder opened but returned no packet")
    except Exception as exc:  # noqa: BLE001 - FFmpeg's, the driver's or PyAV's: all mean "not here"
        detail = getattr(exc, "strerror", None) or str(exc)  # FFmpeg's words, without the option dump
        return result(False, f"{type(exc).__name__}: {detail}")
    return result(True)


def probe_all(force: bool = False) -> dict[str, ProbeResult]:
    """{preset name: ProbeResult} for every shipped hardware preset, probed once per session."""
    global _results
    with _lock:
        if _results is not None and not force:
            return dict(_results)
        prober = _prober or probe_encoder
        results: dict[str, ProbeResult] = {}
        for preset in preset_registry.hardware():
            try:
                results[preset.name] = prober(preset)
            except Exception as exc:  # noqa: BLE001 - a broken probe means "not available", never a crash
                results[preset.name] = ProbeResult(
                    preset.name, "?", preset.hardware_family or "?", False, f"probe failed: {exc}", 0.0
                )
        _results = results
        opened = [name for name, r in results.items() if r.available]
        log.info("hardware encoders: %s", ", ".join(opened) if opened else "none opened")
        return dict(results)


def probe_in_background() -> threading.Thread:
    """Start :func:`probe_all` on a daemon thread (the studio calls this at start-up); later callers of
    :func:`probe_all` wait for it rather than probe twice."""
    thread = threading.Thread(target=probe_all, name="aiprod-encoder-probe", daemon=True)
    thread.start()
    return thread


def available_presets() -> list[ExportPreset]:
    """The hardware presets whose encoder opened here (probing first if nobody has yet)."""
    results = probe_all()
    return [p for p in preset_registry.hardware() if results.get(p.name) and results[p.name].available]


def is_available(preset: ExportPreset | str) -> bool:
    chosen = preset_registry.resolve(preset)
    if not chosen.is_hardware:
        return True
    result = probe_all().get(chosen.name)
    return bool(result and result.available)


def summary() -> str:
    """One sentence for the export dialog and the CLI: which hardware encoders are offered, or why none."""
    results = probe_all()
    opened = [r for r in results.values() if r.available]
    if opened:
        families = sorted({r.family for r in opened})
        return f"Hardware encoders available: {', '.join(r.encoder for r in opened)} ({', '.join(families)})."
    if not results:
        return "No hardware encoder presets are installed; the software presets are used."
    return (
        "No hardware video encoder opened on this machine (NVIDIA NVENC, AMD AMF, Intel Quick Sync were "
        "tried), so only the software presets are offered. Data-centre GPUs such as the H100 and H200 "
        "have no NVENC."
    )


def check_available(preset: ExportPreset) -> None:
    """ExportError (naming the software preset to use instead) when ``preset`` is a hardware preset whose
    encoder did not open here."""
    if not preset.is_hardware:
        return
    result = probe_all().get(preset.name)
    if result is not None and result.available:
        return
    why = f" ({result.reason})" if result is not None and result.reason else ""
    instead = preset.software_equivalent
    try:
        instead_label = preset_registry.get(instead).label if instead else None
    except AppError:
        instead_label = None
    hint = f" Choose '{instead_label}' instead." if instead_label else " Choose a software preset instead."
    raise ExportError(
        f"The '{preset.label}' preset needs a {preset.data['hardware'].get('vendor', '')} GPU with "
        f"{preset.hardware_family}, and its encoder '{preset.delivery_format().video_codec}' did not open "
        f"on this machine{why}.{hint}"
    )


def set_prober(prober: Callable[[ExportPreset], ProbeResult] | None) -> None:
    """Replace the probe (tests simulate a machine with or without a GPU encoder) and forget the cache."""
    global _prober, _results
    with _lock:
        _prober, _results = prober, None

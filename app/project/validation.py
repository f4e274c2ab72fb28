"""What a project file may hold: bounds on its shape and checks of every value the studio later relies on.

A damaged or hostile ``project.otio`` must end in a ``ProjectError`` that says what is wrong, at load time:
not a ``RecursionError`` from JSON nested ten thousand deep, not a ``ZeroDivisionError`` in the renderer
from a frame rate of 0, not a render that takes ten seconds a frame because the rate is 0.001. Two passes:

* ``check_tree`` on the plain JSON, before OpenTimelineIO sees it: nesting depth, every ``RationalTime``
  (finite, a positive rate, within ``MAX_SECONDS``), every ``TimeRange`` (no negative duration), the
  timeline rate (``MIN_RATE``..``MAX_RATE``), the bin's shape;
* ``check_document`` on the loaded document: each clip's placement, grade, gain, mask and generation
  record, each bin entry's media info, the markers and the colour settings.

Qt-free; both passes are linear in the size of the file.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.document import TimelineDocument, TrackKind
from app.errors import AppError, ProjectError

MAX_PROJECT_BYTES = 512 * 1024 * 1024  # a 30,000-entry bin is ~30 MB; anything this big is not a project
MAX_DEPTH = 64  # our files nest ~12 deep (timeline > stack > track > clip > metadata > grade > cdl)
MIN_RATE, MAX_RATE = 1.0, 1000.0  # timeline frames per second
MAX_TIME_RATE = 1_000_000.0  # a RationalTime's rate (audio sample rates included)
MAX_SECONDS = 7 * 24 * 3600.0  # any time or duration in a project: a week
_MEDIA_INTS = (
    "width",
    "height",
    "frame_count",
    "sample_rate",
    "channels",
    "audio_samples",
    "size_bytes",
    "mtime_ns",
)
_MAX_DIMENSION = 65536
_INT64 = (-(2**63), 2**63 - 1)
# A media rate's bounds as Fractions: comparing a Fraction with a float converts the float every time.
_FPS_LOW, _FPS_HIGH = Fraction.from_float(MIN_RATE / 1000), Fraction.from_float(MAX_RATE)


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _label(node: dict, fallback: str) -> str:
    schema = node.get("OTIO_SCHEMA")
    name = node.get("name")
    if isinstance(schema, str) and isinstance(name, str):
        kind = schema.split(".")[0].lower()
        return f"{kind} '{name[:60]}'" if name else kind
    return fallback


def check_tree(raw: Any, source: Path) -> None:
    """Raise ProjectError for nesting deeper than ``MAX_DEPTH`` or an impossible time, rate or range.

    Two walks with the same checks: a quick one that only answers "all good" (the common case: no labels
    or key paths built for messages nobody reads), and, when it finds anything, the careful one that
    tracks where each value sits and raises with the place named."""
    try:
        clean = _tree_is_clean(raw)
    except Exception:  # noqa: BLE001 - whatever the quick walk trips on, the careful one reports as before
        clean = False
    if not clean:
        _check_tree_named(raw, source)
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    meta = metadata.get("aiprod") if isinstance(metadata, dict) else None
    if isinstance(meta, dict):
        _check_project_meta(meta, source)


def _tree_is_clean(raw: Any) -> bool:
    """True when ``_check_tree_named`` would find nothing: the same checks, without the bookkeeping."""
    low, high = _INT64
    stack: list[tuple[Any, int]] = [(raw, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if isinstance(node, dict):
            schema = node.get("OTIO_SCHEMA")
            if isinstance(schema, str):
                if schema.startswith("RationalTime."):
                    value, rate = node.get("value", 0), node.get("rate", 1)
                    if not (_finite_number(rate) and 0 < rate <= MAX_TIME_RATE):
                        return False
                    if not _finite_number(value) or abs(value / rate) > MAX_SECONDS:
                        return False
                    continue
                if schema.startswith("TimeRange."):
                    duration = node.get("duration")
                    if isinstance(duration, dict):
                        value = duration.get("value", 0)
                        if _finite_number(value) and value < 0:
                            return False
            extra = node.get("metadata")
            if isinstance(extra, dict) and not isinstance(extra.get("aiprod", {}), dict):
                return False
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue  # scalars are checked by their container below
        if not children:
            continue
        if depth >= MAX_DEPTH:  # its children would sit deeper than the limit
            return False
        for value in children:
            if isinstance(value, dict | list):
                push((value, depth + 1))
            elif isinstance(value, int) and not low <= value <= high:
                return False
    return not isinstance(raw, int) or low <= raw <= high


def _check_tree_named(raw: Any, source: Path) -> None:
    """The careful walk: raises ProjectError naming where the first problem sits."""
    stack: list[tuple[Any, int, str, str]] = [(raw, 1, "the timeline", "")]
    while stack:
        node, depth, owner, key = stack.pop()
        if depth > MAX_DEPTH:
            raise ProjectError(
                f"{source} is damaged: its data is nested more than {MAX_DEPTH} levels deep (under {owner}), "
                "which no AIPROD project is."
            )
        if isinstance(node, dict):
            schema = node.get("OTIO_SCHEMA")
            if isinstance(schema, str):
                if schema.startswith("RationalTime."):
                    _check_time(node, source, owner, key)
                    continue
                if schema.startswith("TimeRange."):
                    _check_range(node, source, owner, key)
            label = _label(node, owner)
            extra = node.get("metadata")
            if isinstance(extra, dict) and not isinstance(extra.get("aiprod", {}), dict):
                raise ProjectError(f"{source} is damaged: the AIPROD metadata of {label} is not a table.")
            prefix = "" if label != owner else f"{key}."
            stack.extend(
                (value, depth + 1, label, f"{prefix}{name}".lstrip(".")) for name, value in node.items()
            )
        elif isinstance(node, list):
            stack.extend((value, depth + 1, owner, key) for value in node)
        elif isinstance(node, int) and not _INT64[0] <= node <= _INT64[1]:  # OTIO stores int64 only
            raise ProjectError(f"{source} is damaged: {owner} ({key}) holds the number {node}, too large.")
    # the quick walk saw a problem this one does not: say so rather than let the file through
    raise ProjectError(f"{source} is damaged: a time, range or number in it is impossible.")


def _check_time(node: dict, source: Path, owner: str, key: str) -> None:
    value, rate = node.get("value", 0), node.get("rate", 1)
    where = f"{owner} ({key})" if key else owner
    if not _finite_number(rate) or not 0 < rate <= MAX_TIME_RATE:
        raise ProjectError(
            f"{source} is damaged: {where} has the frame rate {rate!r}; a rate must be a number above 0 "
            f"and at most {MAX_TIME_RATE:g}."
        )
    if not _finite_number(value) or abs(value / rate) > MAX_SECONDS:
        raise ProjectError(
            f"{source} is damaged: {where} has the time {value!r} at {rate:g} fps, which is not a "
            f"finite time within {MAX_SECONDS / 86400:g} days."
        )


def _check_range(node: dict, source: Path, owner: str, key: str) -> None:
    duration = node.get("duration")
    if isinstance(duration, dict):
        value = duration.get("value", 0)
        if _finite_number(value) and value < 0:
            raise ProjectError(f"{source} is damaged: {owner} ({key}) has a negative duration ({value!r}).")


def _check_project_meta(meta: dict, source: Path) -> None:
    rate = meta.get("rate")
    if rate is not None and (not _finite_number(rate) or not MIN_RATE <= rate <= MAX_RATE):
        raise ProjectError(
            f"{source} is damaged: its timeline frame rate is {rate!r}; it must be a number from "
            f"{MIN_RATE:g} to {MAX_RATE:g} frames per second."
        )
    entries = meta.get("bin")
    if entries is None:
        return
    if not isinstance(entries, list):
        raise ProjectError(f"{source} is damaged: its media bin is a {type(entries).__name__}, not a list.")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ProjectError(f"{source} is damaged: media bin entry {index + 1} is not a record.")
        for field in ("id", "path"):
            if not isinstance(entry.get(field), str) or not entry[field]:
                raise ProjectError(
                    f"{source} is damaged: media bin entry {index + 1} has no {field} (found "
                    f"{entry.get(field)!r})."
                )


# ------------------------------------------------------------------------------------------ document
def check_document(doc: TimelineDocument, source: Path) -> None:
    """Raise ProjectError for a value of the loaded document the editor, renderer or exporters cannot use.

    Reads the document through the same queries the editor and the renderer use, so a value those cannot
    read (a gain that is text, say) fails here, once, with the file named.
    """
    try:
        _check_document(doc, source)
    except (ProjectError, RecursionError):
        raise
    except AppError as exc:
        raise ProjectError(f"{source} is damaged: {exc}") from exc
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, ZeroDivisionError) as exc:
        raise ProjectError(
            f"{source} is damaged: a value cannot be read ({type(exc).__name__}: {exc})."
        ) from exc


def _check_document(doc: TimelineDocument, source: Path) -> None:
    from app.color import ColorSettings, Grade

    damaged = f"{source} is damaged:"
    rate = doc.rate
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ProjectError(f"{damaged} its timeline frame rate is {rate!r} ({MIN_RATE:g}-{MAX_RATE:g} fps).")
    limit = MAX_SECONDS * rate
    for item in doc.bin_items():
        _check_media_item(item, damaged)
    seen: set[str] = set()
    for track in doc.tracks():
        doc.dissolves(track.id)
        for clip in doc.clips(track.id):
            where = f"clip '{clip.name[:60]}' on {track.name}"
            if clip.id in seen:  # edits find clips by id: a shared one would move or delete the wrong clip
                raise ProjectError(f"{damaged} {where} has the same id as another clip ({clip.id}).")
            seen.add(clip.id)
            start, duration, source_start = (clip.start.value, clip.duration.value, clip.source_start.value)
            if not (0 <= start <= limit and 0 < duration <= limit and abs(source_start) <= limit):
                raise ProjectError(
                    f"{damaged} {where} is placed at frame {start:g} for {duration:g} frames from source "
                    f"frame {source_start:g}, which is outside any timeline."
                )
            if clip.grade is not None:
                try:
                    Grade.from_dict(clip.grade)
                except AppError as exc:
                    raise ProjectError(f"{damaged} the grade of {where} cannot be used: {exc}") from exc
            if not -60.0 <= clip.gain_db <= 24.0:
                raise ProjectError(f"{damaged} {where} has the gain {clip.gain_db!r} dB (not -60 to +24).")
            if clip.generation is not None and not isinstance(clip.generation, dict):
                raise ProjectError(f"{damaged} the generation record of {where} is not a record.")
            mask = clip.mask
            if mask is not None and (not isinstance(mask, dict) or not isinstance(mask.get("id"), str)):
                raise ProjectError(f"{damaged} the inpainting mask of {where} is not a mask record.")
            _check_clip_look(clip, where, damaged)
        if track.kind is TrackKind.AUDIO and not -60.0 <= track.volume_db <= 12.0:
            raise ProjectError(
                f"{damaged} track {track.name} has the volume {track.volume_db!r} dB (not -60 to +12)."
            )
    try:
        doc.sequence_settings()  # stored: checked; absent (an older project): derived as it always was
    except AppError as exc:
        raise ProjectError(f"{damaged} its sequence settings cannot be used: {exc}") from exc
    for marker in doc.markers():
        if not 0 <= marker.time.value <= limit:
            raise ProjectError(f"{damaged} marker '{marker.name[:60]}' is at frame {marker.time.value:g}.")
    # Shape only: a config file or colour space that is missing on this machine must not stop the project
    # from opening (the viewer and a render say so when they need it).
    try:
        settings = ColorSettings.from_dict(doc.color_settings())
    except AppError as exc:
        raise ProjectError(f"{damaged} its colour settings cannot be used: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"{damaged} its colour settings cannot be used ({exc}).") from exc
    for name, value in asdict(settings).items():
        expected = bool if name == "bake_slow_views" else str  # the names may be None: the defaults
        if not isinstance(value, expected) and not (value is None and expected is str):
            raise ProjectError(f"{damaged} its colour setting {name} is {value!r}, not {expected.__name__}.")


def _check_clip_look(clip, where: str, damaged: str) -> None:
    """A clip's transform, title and fades: the values the compositor and the mix read."""
    from app.media.title import TitleSpec
    from app.media.transform import ClipTransform

    try:
        if clip.transform is not None:
            ClipTransform.from_dict(clip.transform)
        if clip.title is not None:
            TitleSpec.from_dict(clip.title)
    except AppError as exc:
        raise ProjectError(f"{damaged} {where} cannot be shown: {exc}") from exc
    # Fades longer than the clip (it was trimmed after they were set) are fine: playback limits them.
    if not (0 <= clip.fade_in <= MAX_SECONDS * MAX_RATE and 0 <= clip.fade_out <= MAX_SECONDS * MAX_RATE):
        raise ProjectError(f"{damaged} {where} has fades of {clip.fade_in} and {clip.fade_out} frames.")


def _check_media_item(item, damaged: str) -> None:
    where = f"media bin entry '{item.name[:60]}'"
    if item.generation is not None and not isinstance(item.generation, dict):
        raise ProjectError(f"{damaged} the generation record of {where} is not a record.")
    if item.take_of is not None and not isinstance(item.take_of, str):
        raise ProjectError(f"{damaged} {where} is a take of {item.take_of!r}, which is not a media id.")
    info = item.info
    if info is None:
        return
    for name in _MEDIA_INTS:
        value = getattr(info, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ProjectError(f"{damaged} {where} has {name} {value!r}; it must be a whole number >= 0.")
    for name in ("has_video", "has_audio", "variable_frame_rate"):
        flag = getattr(info, name)
        if not isinstance(flag, bool):
            raise ProjectError(f"{damaged} {where} has {name} {flag!r}; it must be true or false.")
    if info.width > _MAX_DIMENSION or info.height > _MAX_DIMENSION:
        raise ProjectError(f"{damaged} {where} claims a picture of {info.width}x{info.height} pixels.")
    fps = info.fps
    if fps is not None and not (isinstance(fps, Fraction) and _FPS_LOW < fps <= _FPS_HIGH):
        raise ProjectError(f"{damaged} {where} has the frame rate {info.fps!r}.")
    if info.sample_rate > 10_000_000 or info.channels > 1024:
        raise ProjectError(f"{damaged} {where} claims {info.channels} channels at {info.sample_rate} Hz.")
    if info.duration_seconds > MAX_SECONDS:
        raise ProjectError(f"{damaged} {where} claims to last {info.duration_seconds:g} seconds.")

"""Cut, copy and paste of timeline clips, and paste attributes. Qt-free.

What is copied is an OTIO timeline of its own (``ClipboardContent``): one track per source track that had
a copied clip, the clips at their offsets from the earliest copied clip, dissolves between copied
neighbours, and the media bin entries they use in ``metadata["aiprod"]["bin"]``. Every clip keeps all its
metadata (grade, mask, gain, fades, transform, title, generation parameters), so a paste is the same clip
again with a new id. Serialised as OTIO JSON (``CLIPBOARD_MIME`` on the system clipboard) it pastes into
another project window or session too.

Where a paste lands: the clipboard's tracks keep their track numbers relative to each other. Pasting onto
track T puts the clips copied from the lowest track of T's kind on T, the others above it, and shifts the
other kind by the same number of tracks (V1 + A1 pasted on V2 go to V2 + A2); missing tracks are made.
Overwrite-style by default (what lies under a pasted clip is trimmed, split or removed); ``insert`` opens
room on the destination tracks instead. Locked tracks refuse (Transaction.commit).
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import opentimelineio as otio

from app.document.edits import Transaction
from app.document.layout import NS, Dis, Seg, TrackLayout, available_frames, frames_of, meta, new_id, plain
from app.document.model import MediaItem, TrackKind
from app.errors import AppError, EditError

RationalTime = otio.opentime.RationalTime

CLIPBOARD_MIME = "application/vnd.aiprod.clips+otio+json"
FORMAT = "aiprod.clipboard"
VERSION = 1
GRADE = "grade"
SOUND = "sound"


@dataclass(frozen=True)
class ClipboardContent:
    """Copied clips as an OTIO timeline (see the module docstring); ``timeline`` is never edited."""

    timeline: otio.schema.Timeline

    @property
    def rate(self) -> float:
        return float(meta(self.timeline).get("rate") or 24.0)

    def tracks(self) -> list[tuple[TrackKind, int, otio.schema.Track]]:
        """(kind, source track index, track) for every clipboard track."""
        return [(TrackKind(t.kind), int(meta(t).get("index", 0)), t) for t in self.timeline.tracks]

    def kinds(self) -> set[TrackKind]:
        return {kind for kind, _, track in self.tracks() if any(True for _ in track.find_clips())}

    def clips(self, kind: TrackKind | None = None) -> list[otio.schema.Clip]:
        """The copied clips (of one kind), lowest track first, in time order."""
        out: list[otio.schema.Clip] = []
        for track_kind, _, track in sorted(self.tracks(), key=lambda t: (t[0] != TrackKind.VIDEO, t[1])):
            if kind is None or track_kind is kind:
                out += list(track.find_clips(shallow_search=True))
        return out

    def bin_entries(self) -> list[dict]:
        return plain(meta(self.timeline).get("bin") or [])

    def to_json(self) -> str:
        return otio.adapters.write_to_string(self.timeline, "otio_json")

    @classmethod
    def from_json(cls, text: str | bytes) -> ClipboardContent:
        """Read clipboard text; EditError when it is not AIPROD Studio clips."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise EditError("The clipboard does not hold AIPROD Studio clips (not UTF-8 text).") from None
        try:
            timeline = otio.adapters.read_from_string(text, "otio_json")
        except Exception:  # noqa: BLE001 - OTIO raises several kinds for malformed JSON
            raise EditError("The clipboard does not hold AIPROD Studio clips (not OTIO JSON).") from None
        if (
            not isinstance(timeline, otio.schema.Timeline)
            or (timeline.metadata.get(NS) or {}).get("format") != FORMAT
        ):
            raise EditError("The clipboard holds a timeline, but not clips copied in AIPROD Studio.")
        version = int((timeline.metadata.get(NS) or {}).get("version") or 0)
        if version > VERSION:
            raise EditError(
                "These clips were copied by a newer AIPROD Studio; update this one to paste them."
            )
        for track in timeline.tracks:
            if track.kind not in (TrackKind.VIDEO.value, TrackKind.AUDIO.value):
                raise EditError("The clipboard's clips are on a track that is neither video nor audio.")
            for clip in track.find_clips(shallow_search=True):
                if not (clip.metadata.get(NS) or {}).get("id"):
                    raise EditError("The clipboard's clips carry no AIPROD Studio ids; copy them again.")
        return cls(timeline)


# ------------------------------------------------------------------------------------------------ copy
def copy_clips(doc, clip_ids, linked: bool = True, masks: Any = None) -> ClipboardContent:
    """The clips (and, when ``linked``, their linked partners) as clipboard content.

    ``masks``: the project's ``app.masks.MaskStore``; the PNG of every inpainting mask the clips use is
    carried along (masks are content-addressed files of one project), so a paste into another project can
    put it into that project's store (``restore_masks``). A mask file missing here is simply not carried.
    """
    ids: list[str] = []
    for cid in clip_ids:
        for member in doc.linked_clips(cid) if linked else [doc.clip(cid).id]:
            if member not in ids:
                ids.append(member)
    if not ids:
        raise EditError("Select the clips to copy first.")
    rate = doc.rate
    infos = [doc.clip(cid) for cid in ids]
    origin = min(frames_of(c.start, rate) for c in infos)
    timeline = otio.schema.Timeline(name="AIPROD Studio clips")
    data = meta(timeline)
    data.update({"format": FORMAT, "version": VERSION, "rate": rate})
    media: dict[str, dict] = {}
    chosen = set(ids)
    for track in doc.tracks():  # document order, so the clipboard lists tracks as the timeline does
        mine = [c for c in infos if c.track_id == track.id]
        if not mine:
            continue
        out = otio.schema.Track(name=track.name, kind=track.kind.value, metadata={NS: {"index": track.index}})
        layout = TrackLayout(out, rate)
        for info in sorted(mine, key=lambda c: c.start.value):
            clip = doc.clip_otio_copy(info.id)
            start = frames_of(info.start, rate) - origin
            dur, src = frames_of(info.duration, rate), frames_of(info.source_start, rate)
            layout.segs.append(Seg.of(clip, start, dur, src, available_frames(clip, rate)))
            if info.media_id is not None and info.media_id not in media:
                media[info.media_id] = doc.bin_item(info.media_id).to_dict()
        for dis in doc.dissolves(track.id):
            if dis.left_id in chosen and dis.right_id in chosen:
                layout.dissolves.append(Dis(dis.id, dis.left_id, dis.right_id, frames_of(dis.duration, rate)))
        layout.write()
        timeline.tracks.append(out)
    data["bin"] = list(media.values())
    if masks is not None:
        data["masks"] = _mask_files(infos, masks)
    return ClipboardContent(timeline)


def _mask_files(infos, masks) -> dict[str, str]:
    out: dict[str, str] = {}
    for info in infos:
        mask_id = (info.mask or {}).get("id")
        if not mask_id or mask_id in out:
            continue
        try:
            out[str(mask_id)] = base64.b64encode(masks.path(str(mask_id)).read_bytes()).decode("ascii")
        except (OSError, AppError):
            continue  # missing or not a mask id: the clip keeps its reference, as it would in this project
    return out


def restore_masks(content: ClipboardContent, masks: Any) -> list[str]:
    """Put the masks the clipboard carries into ``masks`` (a ``MaskStore``) where it lacks them; returns the
    ids of the pasted clips' masks that are still missing (not carried, or damaged on the way)."""
    from PIL import Image, UnidentifiedImageError

    from app.masks.store import mask_id_of

    carried = plain(meta(content.timeline).get("masks") or {})
    wanted = {str((meta(c).get("mask") or {}).get("id") or "") for c in content.clips()} - {""}
    missing: list[str] = []
    for mask_id in sorted(wanted):
        if masks.exists(mask_id):
            continue
        try:
            data = base64.b64decode(carried[mask_id], validate=True)
            with Image.open(io.BytesIO(data)) as image:
                pixels = np.array(image.convert("L") if image.mode != "L" else image, dtype=np.uint8)
            if mask_id_of(pixels) != mask_id:  # content-addressed: other pixels are another mask
                raise ValueError("pixels do not match the id")
            masks.save(pixels)
        except (KeyError, ValueError, OSError, UnidentifiedImageError, AppError):
            missing.append(mask_id)
    return missing


# ------------------------------------------------------------------------------------------------ paste
def paste(
    doc, content: ClipboardContent, at: RationalTime, track_id: str | None = None, insert: bool = False
) -> list[str]:
    """Paste at ``at``; onto ``track_id`` (None: each clip on the track number it was copied from).

    Returns the new clip ids. EditError (nothing changed) for an empty clipboard, a track of the wrong kind
    or a locked destination.
    """
    if not isinstance(at, RationalTime):
        raise EditError("Times must be given as RationalTime values.")
    frame = frames_of(at, doc.rate)
    if frame < 0:
        raise EditError("That time is before the start of the timeline.")
    sources = [
        (k, i, t) for k, i, t in content.tracks() if any(True for _ in t.find_clips(shallow_search=True))
    ]
    if not sources:
        raise EditError("The clipboard is empty; copy clips first.")
    shift = 0
    if track_id is not None:
        target = doc.track_info(track_id)
        lowest = [i for k, i, _ in sources if k is target.kind]
        if not lowest:
            have = "sound" if target.kind is TrackKind.VIDEO else "picture"
            want = "an audio" if target.kind is TrackKind.VIDEO else "a video"
            raise EditError(
                f"The clipboard holds {have} clips only; paste them onto {want} track "
                f"(clips paste onto tracks of their own kind)."
            )
        shift = target.index - min(lowest)
    txn = Transaction(doc)
    destinations = _destinations(doc, txn, sources, shift)
    doc._refuse_locked(dict.fromkeys(destinations))  # before the bin changes: a refused paste changes nothing
    remap = _adopt_media(doc, content)
    rate = doc.rate
    links = Counter(str(meta(c)["link_id"]) for c in content.clips() if meta(c).get("link_id") is not None)
    new_links = {link: new_id() for link, count in links.items() if count > 1}
    pasted: list[tuple[str, list[Seg], list[Dis]]] = []
    length = 0
    for (_, _, track), dest in zip(sources, destinations, strict=True):
        read = TrackLayout.read(track, rate)
        ids: dict[str, str] = {}
        segs: list[Seg] = []
        for seg in read.segs:
            clip = seg.clip.clone()
            data = meta(clip)
            data["id"] = ids.setdefault(seg.id, new_id())
            if data.get("media_id") is not None and str(data["media_id"]) in remap:
                data["media_id"] = remap[str(data["media_id"])]
            old_link = data.get("link_id")
            data["link_id"] = new_links.get(str(old_link)) if old_link is not None else None
            segs.append(Seg.of(clip, seg.start + frame, seg.dur, seg.src, seg.avail))
            length = max(length, seg.end)
        dissolves = [Dis(new_id(), ids[d.left], ids[d.right], d.frames, d.name) for d in read.dissolves]
        pasted.append((dest, segs, dissolves))
    for dest, segs, _ in pasted:
        layout = txn.layout(dest)
        if insert:
            layout.split(frame, links=txn.links)
            layout.shift_from(frame, length)
        else:
            for seg in segs:
                layout.carve(seg.start, seg.end, links=txn.links)
    created: list[str] = []
    for dest, segs, dissolves in pasted:
        layout = txn.layout(dest)
        layout.segs += segs
        layout.dissolves += dissolves
        layout.sort()
        created += [s.id for s in segs]
    txn.commit(created)
    return created


def _destinations(doc, txn: Transaction, sources, shift: int) -> list[str]:
    """The destination track id of each source track (tracks that do not exist yet are made at commit)."""
    existing = {kind: [t.id for t in doc.tracks(kind)] for kind in (TrackKind.VIDEO, TrackKind.AUDIO)}
    out: list[str] = []
    for kind, index, _ in sources:
        number = index + shift
        if number < 0:
            raise EditError("The clips would paste below the first track; paste them onto a higher track.")
        ids = existing[kind]
        while len(ids) <= number:
            name = f"{kind.prefix}{len(ids) + 1}"
            track = otio.schema.Track(name=name, kind=kind.value, metadata={NS: {"id": new_id()}})
            track_id = str(meta(track)["id"])
            txn.new_tracks[track_id] = track
            ids.append(track_id)
        out.append(ids[number])
    return out


def _adopt_media(doc, content: ClipboardContent) -> dict[str, str]:
    """Give every pasted clip a bin entry: the same id, else the same file (returned: copied id -> this
    bin's id), else the copied entry is added to the bin."""
    entries = {e["id"]: e for e in content.bin_entries()}
    by_path = {item.path: item.id for item in doc.bin_items()}
    known = {item.id for item in doc.bin_items()}
    remap: dict[str, str] = {}
    for media_id, entry in entries.items():
        if media_id in known:
            continue
        if entry.get("path") in by_path:
            remap[media_id] = by_path[entry["path"]]
        else:
            doc.add_bin_item(MediaItem.from_dict(entry))
            known.add(media_id)
    for clip in content.clips():
        media_id = meta(clip).get("media_id")
        if media_id is not None and str(media_id) not in known and str(media_id) not in remap:
            raise EditError(
                f"'{clip.name}' uses media the clipboard does not carry; copy it again from its project."
            )
    return remap


# ------------------------------------------------------------------------------------ paste attributes
def paste_attributes(doc, content: ClipboardContent, clip_ids, what=(GRADE, SOUND)) -> list[str]:
    """Copy the clipboard's grade (its first picture clip's) and/or sound levels (its first sound clip's
    gain and fades) onto ``clip_ids``: the grade onto the picture clips among them, the levels onto the
    sound clips. Returns the clips changed; EditError when nothing fits (nothing changed)."""
    what = set(what)
    if not what or not what <= {GRADE, SOUND}:
        raise EditError("Choose what to paste: the grade, the sound levels or both.")
    ids = list(dict.fromkeys(clip_ids))
    if not ids:
        raise EditError("Select the clips to paste onto first.")
    infos = [doc.clip(cid) for cid in ids]
    kinds = {t.id: t.kind for t in doc.tracks()}
    video = [c for c in content.clips(TrackKind.VIDEO) if meta(c).get("title") is None]
    audio = content.clips(TrackKind.AUDIO)
    plan: list[tuple[str, str]] = []  # (attribute, clip id)
    if GRADE in what and video:
        plan += [(GRADE, c.id) for c in infos if kinds[c.track_id] is TrackKind.VIDEO and c.title is None]
    if SOUND in what and audio:
        plan += [(SOUND, c.id) for c in infos if kinds[c.track_id] is TrackKind.AUDIO]
    if not plan:
        wanted = {GRADE: "a grade", SOUND: "sound levels"}
        asked = " or ".join(wanted[w] for w in (GRADE, SOUND) if w in what)
        if (GRADE not in what or not video) and (SOUND not in what or not audio):
            source = "a picture clip" if what == {GRADE} else ("a sound clip" if what == {SOUND} else "clips")
            raise EditError(f"The clipboard holds no {asked} to paste; copy {source} first.")
        raise EditError(
            f"None of the selected clips can take {asked}: a grade goes onto picture clips, "
            "sound levels onto sound clips."
        )
    doc._refuse_locked(dict.fromkeys(doc.clip(cid).track_id for _, cid in plan))
    grade = plain(meta(video[0]).get("grade")) if video else None
    if audio:
        source = meta(audio[0])
        gain = float(source.get("gain_db", 0.0))
        fade_in, fade_out = int(source.get("fade_in", 0) or 0), int(source.get("fade_out", 0) or 0)
        scale = doc.rate / content.rate
        fade_in, fade_out = round(fade_in * scale), round(fade_out * scale)
    for attribute, cid in plan:
        if attribute == GRADE:
            doc.set_clip_grade(cid, grade)
        else:
            doc.set_clip_gain(cid, gain)
            length = frames_of(doc.clip(cid).duration, doc.rate)
            clip_in = min(fade_in, length)
            doc.set_clip_fades(cid, clip_in, min(fade_out, length - clip_in))
    return list(dict.fromkeys(cid for _, cid in plan))


def content_summary(content: ClipboardContent) -> str:
    """'3 clips (2 picture, 1 sound)' for the status bar."""
    video, audio = len(content.clips(TrackKind.VIDEO)), len(content.clips(TrackKind.AUDIO))
    total = video + audio
    parts = [f"{video} picture" if video else "", f"{audio} sound" if audio else ""]
    detail = ", ".join(p for p in parts if p)
    return f"{total} clip{'s' if total != 1 else ''} ({detail})"


__all__ = [
    "CLIPBOARD_MIME",
    "GRADE",
    "SOUND",
    "ClipboardContent",
    "content_summary",
    "copy_clips",
    "paste",
    "paste_attributes",
    "restore_masks",
]

"""TimelineView: the multi-track timeline (QGraphicsView) - ruler, playhead, clips, zoom, scroll, selection.

This module owns the state (document -> scene items, selection, zoom, playhead) and the edits behind the
main window's shortcuts. The mouse gestures live in ui/timeline/gestures.py (TrackGestures for the tracks,
RulerGestures for the ruler), snapping in snapping.py, drops in drops.py; where clips land and the multi-clip
move are app.document.placement. Every edit goes through `_edit` (app.commands.push_edit): one gesture, one
undo step.

Conventions, as a Premiere/Resolve user expects them:

============================  ==========================================================================
Gesture                       Effect
============================  ==========================================================================
Click a clip                  selects it with its linked video/audio partner; Shift-click adds/removes;
                              a click (no drag) on a clip of a multi-selection narrows it to that clip;
                              with linked selection off (Ctrl+Shift+L) the clip alone
Click empty track space       clears the selection
Drag from empty track space   rubber band: selects every clip it touches (with partners); Shift adds
Drag a clip's body            moves it (and its partner) in time and/or to another track of its kind;
                              overwrite-style (Premiere's default drag), done on release
Drag a selected clip          with several clips selected, all of them (and partners) move by the same
                              time on their own tracks; snaps on the grabbed clip's edges; a group move
                              that cannot be made is refused with a message, nothing changed
Ctrl-drag a clip              reorders: the clip leaves its track (the gap closes) and is re-inserted
                              before the first clip whose middle lies right of the drop (one clip only)
Alt-drag                      moves or trims one side of a linked pair alone (both, with linked
                              selection off)
Drag on a locked track        nothing moves; a notice says the track is locked (clips still select)
Header padlock                locks / unlocks the track (one undo step)
Drag a clip's edge            trims live (merged into one undo step); never overlaps a neighbour;
                              Ctrl ripples later clips
Click a dissolve              selects it (drawn highlighted); Delete / Shift+Delete removes it
Right-click                   context_actions(pos): remove dissolve, clip edits, enable/disable, the
                              main window's extra_clip_actions (cut, copy, paste attributes), lock,
                              add/remove track
Ruler: click / drag           moves the playhead (emits playhead_changed); Shift snaps
Ruler: drag a marker's flag   moves the marker on release (snaps to edit points and the playhead)
Ruler: double-click a marker  puts the playhead on it and asks for its name, note and colour
                              (marker_edit_requested; the main window opens the dialog)
Ruler: right-click            ruler_context_actions(x): go to / remove the marker there, or add one
Drop bin items / files        inserted at the drop frame on the track under the cursor (Ctrl:
                              overwrite); below the last track or above the top one: on a new track;
                              files are imported first; import + inserts are one step
+ / - keys, Ctrl+wheel        zoom around the playhead / around the mouse; Backslash zooms to fit
============================  ==========================================================================

Snapping (on by default, `set_snapping`): a dragged edge, a trim, a drop, a dragged marker or a Shift-scrub
within ~8 px of an edit point, a marker or the playhead jumps onto it, and a yellow line shows where.
Selection: clips or one dissolve, never both; `selection_changed` carries the clip ids only.

`files_dropped(paths, track_id, frame)` is emitted after the view imported and placed dropped files, for
information only (listeners must not import them again); `message(str)` says why an edit or drop was refused.
`set_playhead` is the programmatic setter (the player calls it during playback; the view scrolls to keep the
playhead in sight) and does not emit `playhead_changed`; ruler gestures do, so connecting both ways never
loops.

Limits: a group move never changes tracks and cannot Ctrl-reorder; drags do not auto-scroll at the
viewport's edge; a dissolve's length is set from the menu/shortcut only (no dragging its edges).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QUndoStack,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QMenu,
)

from app.commands import push_edit
from app.document import TrackKind
from app.errors import AppError, EditError
from ui.timeline.art import ClipArt
from ui.timeline.drops import (
    MEDIA_IDS_MIME,
    drop_files,
    drop_media_ids,
    media_ids_from_mime,
    paths_from_mime,
)
from ui.timeline.geometry import (
    CLIP_MARGIN,
    TrackRow,
    clamp_pixels_per_frame,
    frame_time,
    layout_rows,
    row_at,
    rows_height,
    to_frames,
)
from ui.timeline.gestures import TrackGestures
from ui.timeline.items import TITLE_HEIGHT, ClipItem, ClipLook, DissolveItem
from ui.timeline.ruler import (
    MARKER_GRAB_PX,
    MARKER_TOP,
    PLAYHEAD_COLOR,
    RULER_HEIGHT,
    RulerMarker,
    RulerWidget,
)
from ui.timeline.snapping import SNAP_COLOR, SnapGuide
from ui.timeline.track_headers import HEADER_WIDTH, TrackHeaders

if TYPE_CHECKING:
    from opentimelineio.opentime import RationalTime

    from app.document import TimelineDocument

ZOOM_STEP = 1.5
TRACK_BAND = QColor(36, 37, 41)
TRACK_BAND_ALT = QColor(32, 33, 36)
TIMELINE_BACKGROUND = QColor(24, 25, 27)


class TimelineView(QGraphicsView):
    playhead_changed = Signal(int)
    selection_changed = Signal(list)
    files_dropped = Signal(list, str, int)
    message = Signal(str)
    extend_requested = Signal(str)  # clip id: "Extend Clip..." (the main window asks how, then queues it)
    gap_selected = Signal(object)  # app.jobs.gapfill.Gap clicked on (None: the gap selection went)
    gap_fill_requested = Signal(object)  # Gap: "Fill Gap with Generation..." (the main window asks, queues)
    marker_edit_requested = Signal(str)  # marker id: double-click or "Edit Marker..." (a dialog edits it)

    def __init__(self, doc: Any, undo_stack: QUndoStack, thumbnails: Any | None = None, parent=None) -> None:
        super().__init__(parent)
        self._doc = doc
        self._stack = undo_stack
        self._art = ClipArt(thumbnails, self) if thumbnails is not None else None
        self._ppf = 4.0
        self._playhead = 0
        self._selection: list[str] = []
        self._snapping = True
        self._linked_selection = True  # a click takes a clip's linked partner too (Ctrl+Shift+L toggles)
        # more right-click entries for a clip (the main window's editing actions: copy, paste attributes...)
        self.extra_clip_actions: Any = None
        self._rows: list[TrackRow] = []
        self._items: dict[str, ClipItem] = {}
        # clip id -> (its record, its bin entry, its row's kind/enabled/locked, the rate, the look made of
        # them): the document hands back the same frozen record for an unchanged clip, so a sync skips it
        self._looks: dict[str, tuple[Any, Any, tuple, float, ClipLook]] = {}
        self._dissolves: dict[str, DissolveItem] = {}
        # Items taken out of the scene live until the event loop turns (see `_retire`).
        self._retired: list[ClipItem | DissolveItem] = []
        self._selected_dissolve: str | None = None
        self._markers: list[RulerMarker] = []
        self._content_frames = 0
        self._dirty = True

        scene = QGraphicsScene(self)
        self.setScene(scene)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setViewportMargins(HEADER_WIDTH, RULER_HEIGHT, 0, 0)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setBackgroundBrush(TIMELINE_BACKGROUND)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self._ruler = RulerWidget(self)
        self._in_out: tuple[int | None, int | None] = (None, None)
        # A refused edit says why right where the user looks (and in the status bar), without a dialog.
        self.notice = QLabel(self.viewport(), objectName="timelineNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(
            "background: rgba(120, 40, 30, 235); color: #ffe9e4; border: 1px solid #ff8a65;"
            "border-radius: 4px; padding: 6px 10px;"
        )
        self.notice.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.hide)
        self._headers = TrackHeaders(self, RULER_HEIGHT)
        self._playhead_line = QGraphicsLineItem()
        self._playhead_line.setPen(QPen(PLAYHEAD_COLOR, 1))
        self._playhead_line.setZValue(100)
        scene.addItem(self._playhead_line)
        self._snap = SnapGuide(self)
        self._gestures = TrackGestures(self)
        self._drop_marker = QGraphicsRectItem()
        self._drop_marker.setPen(QPen(SNAP_COLOR, 1))
        self._drop_marker.setBrush(QColor(255, 214, 64, 50))
        self._drop_marker.setZValue(98)
        self._drop_marker.hide()
        scene.addItem(self._drop_marker)
        # a selected gap between two clips (click empty track space between them): what gap fill fills
        self._selected_gap: Any = None
        self._gap_marker = QGraphicsRectItem()
        self._gap_marker.setPen(QPen(QColor(120, 200, 255), 1, Qt.PenStyle.DashLine))
        self._gap_marker.setBrush(QColor(120, 200, 255, 45))
        self._gap_marker.setZValue(96)
        self._gap_marker.hide()
        scene.addItem(self._gap_marker)
        self.horizontalScrollBar().valueChanged.connect(self._ruler.update)
        self.verticalScrollBar().valueChanged.connect(self._headers.update)

        # The document knows nothing of Qt: subscribe with a weak reference so a deleted view is never called.
        this = weakref.ref(self)

        def on_change(change: object) -> None:
            view = this()
            if view is not None:
                try:
                    view._on_document_changed(change)
                except RuntimeError:  # the C++ side is already gone
                    pass

        unsubscribe = doc.subscribe(on_change)
        self.destroyed.connect(lambda *_: unsubscribe())
        self._sync()

    # ------------------------------------------------------------------------------------------ public API
    def document(self) -> Any:
        return self._doc

    def undo_stack(self) -> QUndoStack:
        return self._stack

    def rate(self) -> float:
        return float(self._doc.rate)

    def playhead(self) -> int:
        return self._playhead

    def set_playhead(self, frame: int, follow: bool = True) -> None:
        """Move the playhead, never emitting playhead_changed; `follow` pages the view to keep it seen."""
        frame = max(0, int(frame))
        if frame != self._playhead:
            self._playhead = frame
            self._place_playhead()
        if follow:
            self._follow_playhead()

    def selected_clip_ids(self) -> list[str]:
        return list(self._selection)

    def select(self, ids: list[str] | tuple[str, ...]) -> None:
        self._ensure_synced()
        wanted = [clip_id for clip_id in dict.fromkeys(ids) if clip_id in self._items]
        self._set_selection(wanted)

    def selected_dissolve_id(self) -> str | None:
        return self._selected_dissolve

    def select_dissolve(self, transition_id: str | None) -> None:
        """Select one dissolve (clearing the clip selection), or none."""
        self._ensure_synced()
        if transition_id not in self._dissolves:
            transition_id = None
        if transition_id is not None:
            self._set_selection([])
        self._selected_dissolve = transition_id
        for tid, item in self._dissolves.items():
            item.set_selected(tid == transition_id)

    def pixels_per_frame(self) -> float:
        return self._ppf

    def set_pixels_per_frame(self, value: float, anchor_frame: float | None = None) -> None:
        """Zoom so `anchor_frame` (default: the playhead) keeps its place on screen (centred if unseen)."""
        value = clamp_pixels_per_frame(value)
        if value == self._ppf:
            return
        anchor = float(self._playhead if anchor_frame is None else anchor_frame)
        old_x = anchor * self._ppf - self.horizontalScrollBar().value()
        if not 0 <= old_x <= self.viewport().width():
            old_x = self.viewport().width() / 2
        self._ppf = value
        self._layout()
        self.horizontalScrollBar().setValue(int(round(anchor * value - old_x)))
        self._ruler.update()

    def zoom_in(self) -> None:
        self.set_pixels_per_frame(self._ppf * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_pixels_per_frame(self._ppf / ZOOM_STEP)

    def zoom_to_fit(self) -> None:
        frames = max(self._content_frames, int(self.rate() * 5))
        self.set_pixels_per_frame(self.viewport().width() * 0.95 / frames)
        self.horizontalScrollBar().setValue(0)

    def snapping(self) -> bool:
        return self._snapping

    def set_snapping(self, enabled: bool) -> None:
        self._snapping = bool(enabled)

    def linked_selection(self) -> bool:
        return self._linked_selection

    def set_linked_selection(self, on: bool) -> None:
        """Off: a click selects a clip alone, and moves, trims, splits and deletes change it alone (Alt
        inverts it for one drag either way)."""
        self._linked_selection = bool(on)

    def clip_item(self, clip_id: str) -> ClipItem | None:
        """The scene item drawing `clip_id` (tests and the benchmark look at geometry through this)."""
        self._ensure_synced()
        return self._items.get(clip_id)

    def rows(self) -> list[TrackRow]:
        return list(self._rows)

    def marker_frames(self) -> list[tuple[int, str, str]]:
        return [(m.frame, m.name, m.color) for m in self._markers]

    def in_out(self) -> tuple[int | None, int | None]:
        """The viewer's in and out marks (frames; out is the last frame included), as the ruler shows them."""
        return self._in_out

    def set_in_out(self, in_point: int | None, out_point: int | None) -> None:
        self._in_out = (in_point, out_point)
        self._ruler.update()

    def show_notice(self, text: str, timeout_ms: int = 6000) -> None:
        """An inline notice over the top of the tracks (no dialog): why an edit was refused."""
        self.notice.setText(text)
        width = max(200, min(560, self.viewport().width() - 16))
        self.notice.setFixedWidth(width)
        self.notice.adjustSize()
        self.notice.move(8, 8)
        self.notice.show()
        self.notice.raise_()
        self._notice_timer.start(timeout_ms)

    def markers(self) -> list[RulerMarker]:
        """The document's markers as the ruler draws them (with their ids)."""
        return list(self._markers)

    def marker_at_viewport(self, x: float, y: float | None = None) -> RulerMarker | None:
        """The marker whose flag is under ruler position (x, y) (any y when None), nearest first."""
        self._ensure_synced()
        if y is not None and y < MARKER_TOP:
            return None  # the timecode strip above the flags always scrubs
        near = [m for m in self._markers if abs(self.frame_to_viewport_x(m.frame) - x) <= MARKER_GRAB_PX]
        return min(near, key=lambda m: abs(self.frame_to_viewport_x(m.frame) - x), default=None)

    # ------------------------------------------------------------------------- edits (main window shortcuts)
    def split_at_playhead(self) -> None:
        """Split the selected clips under the playhead, or every track when nothing selected is under it."""
        at = frame_time(self._playhead, self.rate())
        under = [c for c in self._selection if self._covers(c, self._playhead)]
        linked = self._linked_selection
        if under:
            self._edit("Split", lambda d: _split_each_once(d, under, at, linked))
        else:
            self._edit("Split", lambda d: d.split_all(at))

    def lift_selection(self) -> None:
        """Delete: lift the selected clips (leaving gaps), or remove the selected dissolve."""
        self._delete_selection("Lift", "Select clips or a dissolve to delete first.", ripple=False)

    def ripple_delete_selection(self) -> None:
        """Shift+Delete: remove the selected clips and close the gaps, or remove the selected dissolve."""
        self._delete_selection("Ripple delete", "Select clips to ripple delete first.", ripple=True)

    def _delete_selection(self, text: str, nothing_selected: str, ripple: bool) -> None:
        if self._selected_dissolve is not None:
            self._remove_selected_dissolve()
            return
        ids = list(self._selection)
        if not ids:
            self.message.emit(nothing_selected)
            return
        linked = self._linked_selection
        if self._edit(text, lambda d: d.ripple_delete(ids, linked) if ripple else d.lift(ids, linked)):
            self._set_selection([])

    def _remove_selected_dissolve(self) -> None:
        transition_id = self._selected_dissolve
        if self._edit("Remove dissolve", lambda d: d.remove_dissolve(transition_id)):
            self.select_dissolve(None)

    def add_dissolve_at_selection(self, frames: int = 12) -> None:
        """A dissolve at the selected clip's out point (or, when it has no right neighbour, its in point)."""
        rate = self.rate()
        lefts = []
        for clip_id in self._selection:
            left = self._dissolve_left_of(clip_id)
            if left is not None and left not in lefts:
                lefts.append(left)
        if not lefts:
            self.message.emit("Select a clip that touches another clip on its track to add a dissolve.")
            return
        duration = frame_time(max(1, int(frames)), rate)
        # Sound alone selected (Alt-click picks one side of a linked pair): an audio crossfade at that cut
        # only; with the picture selected, the dissolve and its sound's crossfade together.
        video_ids = {t.id for t in self._doc.tracks(TrackKind.VIDEO)}
        linked = any(self._doc.clip(c).track_id in video_ids for c in self._selection)
        text = "Add dissolve" if linked else "Add audio crossfade"
        self._edit(text, lambda d: [d.add_dissolve(left, duration, linked=linked) for left in lefts])

    def add_marker_at_playhead(self, name: str = "", color: str = "BLUE") -> None:
        # Blue, not red: the playhead is red, and a red marker under it read as a second playhead.
        at = frame_time(self._playhead, self.rate())
        self._edit("Add marker", lambda d: d.add_marker(at, name=name, color=color))

    def toggle_track(self, track_id: str) -> None:
        row = next((r for r in self._rows if r.track_id == track_id), None)
        if row is not None:
            action = "Show" if not row.enabled else "Hide"
            if not row.is_video:
                action = "Unmute" if not row.enabled else "Mute"
            self._edit(f"{action} {row.name}", lambda d: d.set_track_enabled(track_id, not row.enabled))

    def toggle_lock(self, track_id: str) -> None:
        """Lock or unlock a track (one undo step); a locked track refuses every edit of its clips."""
        info = self._doc.track_info(track_id)
        verb = "Unlock" if info.locked else "Lock"
        self._edit(f"{verb} {info.name}", lambda d: d.set_track_locked(track_id, not info.locked))

    def toggle_enabled_selection(self) -> None:
        """Shift+E: disable the selected clips (enable them when all already are disabled)."""
        ids = list(self._selection)
        if not ids:
            self.message.emit("Select the clips to enable or disable first.")
            return
        enable = all(not self._items[c].look.clip_enabled for c in ids if c in self._items)
        text = "Enable clips" if enable else "Disable clips"
        self._edit(text, lambda d: d.set_clips_enabled(ids, enable))

    def toggle_mute(self, track_id: str) -> None:
        info = self._doc.track_info(track_id)
        muted = info.mute or not info.enabled  # a track switched off the older way reads as muted too
        verb = "Unmute" if muted else "Mute"

        def apply(d) -> None:  # noqa: ANN001
            if not info.enabled:
                d.set_track_enabled(track_id, True)
            d.set_track_audio(track_id, mute=not muted)

        self._edit(f"{verb} {info.name}", apply)

    def toggle_solo(self, track_id: str) -> None:
        info = self._doc.track_info(track_id)
        verb = "Unsolo" if info.solo else "Solo"
        self._edit(f"{verb} {info.name}", lambda d: d.set_track_audio(track_id, solo=not info.solo))

    def set_track_volume(self, track_id: str, volume_db: float) -> None:
        """An audio track's volume in dB (-60..+12); a run of changes (a wheel turn) is one undo step."""
        info = self._doc.track_info(track_id)
        volume = max(-60.0, min(12.0, round(float(volume_db), 1)))
        apply = lambda d: d.set_track_audio(track_id, volume_db=volume)  # noqa: E731
        self._edit(f"{info.name} volume", apply, f"volume:{track_id}")

    # --------------------------------------------------------------------------- mapping (ruler, headers)
    def frame_to_viewport_x(self, frame: float) -> float:
        return frame * self._ppf - self.horizontalScrollBar().value()

    def viewport_x_to_frame(self, x: float) -> int:
        return max(0, int(round((x + self.horizontalScrollBar().value()) / self._ppf)))

    def scene_y_to_viewport_y(self, y: float) -> float:
        return y - self.verticalScrollBar().value()

    def scrub_to_viewport_x(self, x: float, snap: bool = False) -> None:
        frame = self.viewport_x_to_frame(x)
        if snap:
            frame = self._snap.frame(frame, self._snap.targets())
        self._scrub_to_frame(frame)

    def _scrub_to_frame(self, frame: int) -> None:
        """A user moved the playhead (ruler gestures): unlike set_playhead, this emits playhead_changed."""
        frame = max(0, int(frame))
        if frame != self._playhead:
            self.set_playhead(frame, follow=False)
            self.playhead_changed.emit(frame)

    # ------------------------------------------------------------------------------- document -> scene
    def _on_document_changed(self, change: object) -> None:
        # Coalesce: one edit can emit several changes (an insert with its linked audio); rebuild once.
        if not self._dirty:
            self._dirty = True
            QTimer.singleShot(0, self._ensure_synced)

    def _ensure_synced(self) -> None:
        if self._dirty:
            self._sync()

    def _sync(self) -> None:
        """Bring the scene in line with the document, reusing the items of clips that still exist."""
        self._dirty = False
        doc = self._doc
        rate = self.rate()
        self._rows = layout_rows(doc.tracks())
        media: dict[str, Any] = {}
        seen: set[str] = set()
        end = 0
        for row in self._rows:
            row_key = (row.kind, row.enabled, row.locked)  # what a look takes from its row
            for clip in doc.clips(row.track_id):
                entry = self._media_of(clip, media)
                known = self._looks.get(clip.id)
                if (known is not None and known[0] is clip and known[1] is entry and known[2] == row_key
                        and known[3] == rate):
                    look = known[4]  # the same record, entry and row: the same look (records are frozen)
                else:
                    look = self._look(clip, row, media, rate)
                    self._looks[clip.id] = (clip, entry, row_key, rate, look)
                seen.add(look.clip_id)
                end = max(end, look.start + look.duration)
                item = self._items.get(look.clip_id)
                if item is None:
                    item = ClipItem(look, self._art)
                    self._items[look.clip_id] = item
                    self.scene().addItem(item)
                if item.look is not look and item.look != look:
                    item.look = look
                    item.update()
                item.row = row
        for clip_id in [c for c in self._items if c not in seen]:
            self._retire(self._items.pop(clip_id))
        for clip_id in [c for c in self._looks if c not in seen]:
            del self._looks[clip_id]
        self._content_frames = end
        self._sync_dissolves(rate)
        self._markers = [
            RulerMarker(m.id, to_frames(m.time, rate), m.name, m.color, getattr(m, "note", ""))
            for m in doc.markers()
        ]
        kept = [c for c in self._selection if c in self._items]
        self._layout()
        if kept != self._selection:
            self._set_selection(kept)
        else:
            self._apply_selection()
        self._headers.update()
        self._ruler.update()

    def _media_of(self, clip: Any, media: dict[str, Any]) -> Any:
        """The clip's bin entry (None: none, or gone), looked up once per sync."""
        if not clip.media_id:
            return None
        if clip.media_id not in media:
            try:
                media[clip.media_id] = self._doc.bin_item(clip.media_id)
            except AppError:
                media[clip.media_id] = None
        return media[clip.media_id]

    def _look(self, clip: Any, row: TrackRow, media: dict[str, Any], rate: float) -> ClipLook:
        item = self._media_of(clip, media)
        info = getattr(item, "info", None)
        fps = float(info.fps) if info is not None and info.fps else None
        seconds = info.duration_seconds if info is not None else None
        return ClipLook(
            clip_id=clip.id,
            kind=row.kind,
            name=clip.name,
            start=to_frames(clip.start, rate),
            duration=to_frames(clip.duration, rate),
            source_start=to_frames(clip.source_start, rate),
            path=str(getattr(item, "path", "") or ""),
            media_fps=fps,
            media_seconds=seconds,
            rate=rate,
            generated=bool(clip.generation) or getattr(item, "kind", "") == "generated",
            enabled=row.enabled and bool(getattr(clip, "enabled", True)),
            link_id=clip.link_id,
            gain_db=clip.gain_db,
            fade_in=clip.fade_in,
            fade_out=clip.fade_out,
            is_title=clip.title is not None,
            clip_enabled=bool(getattr(clip, "enabled", True)),
            locked=row.locked,
            speed=float(getattr(clip, "speed", 1.0)),
        )

    def _retire(self, item: ClipItem | DissolveItem) -> None:
        """Take `item` out of the scene, keeping its Python wrapper (and so the C++ item) alive until the
        event loop turns: dropping the last reference inside a sync deletes the item at once, and an
        update already queued for it could then reach freed memory."""
        self.scene().removeItem(item)
        if not self._retired:
            QTimer.singleShot(0, self._retired.clear)
        self._retired.append(item)

    def _sync_dissolves(self, rate: float) -> None:
        seen = set()
        for row in self._rows:  # audio rows too: their crossfades
            for dissolve in self._doc.dissolves(row.track_id):
                seen.add(dissolve.id)
                item = self._dissolves.get(dissolve.id)
                if item is None:
                    item = DissolveItem(dissolve.id)
                    self._dissolves[dissolve.id] = item
                    self.scene().addItem(item)
                item.cut = to_frames(dissolve.cut, rate)
                item.length = to_frames(dissolve.duration, rate)
                item.row = row
        for transition_id in [t for t in self._dissolves if t not in seen]:
            self._retire(self._dissolves.pop(transition_id))
        if self._selected_dissolve not in self._dissolves:
            self._selected_dissolve = None
        for transition_id, item in self._dissolves.items():
            item.set_selected(transition_id == self._selected_dissolve)

    def _layout(self) -> None:
        """Place every item for the current zoom (positions only: items and their caches are kept)."""
        ppf = self._ppf
        for item in self._items.values():
            look, row = item.look, item.row
            item.place(
                look,
                look.start * ppf,
                row.top + CLIP_MARGIN,
                look.duration * ppf,
                row.height - 2 * CLIP_MARGIN,
                ppf,
            )
        for item in self._dissolves.values():
            before = item.length // 2
            width = max(6.0, item.length * ppf)
            x = (item.cut - before) * ppf if item.length * ppf >= 6 else item.cut * ppf - 3
            # Below the clips' title strip, so the names stay readable, down to the clips' bottom edge.
            top = item.row.top + CLIP_MARGIN + TITLE_HEIGHT + 1
            item.place(QRectF(x, top, width, item.row.bottom - CLIP_MARGIN - 3 - top))
        width = max(self._content_frames * ppf + self.viewport().width() * 0.6, self.viewport().width())
        height = max(rows_height(self._rows), 1.0)
        self.scene().setSceneRect(0, 0, width, height)
        self.resetCachedContent()
        self._place_playhead()
        self._place_gap()

    def _place_playhead(self) -> None:
        height = self.scene().sceneRect().height()
        x = self._playhead * self._ppf
        self._playhead_line.setLine(x, 0, x, max(height, self.viewport().height()))
        self._ruler.update()
        self._headers.update(0, 0, HEADER_WIDTH, RULER_HEIGHT)

    def _follow_playhead(self) -> None:
        x = self.frame_to_viewport_x(self._playhead)
        width = self.viewport().width()
        if width > 0 and not 0 <= x <= width - 2:
            bar = self.horizontalScrollBar()
            bar.setValue(int(self._playhead * self._ppf - width * 0.1))

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt override)
        painter.fillRect(rect, TIMELINE_BACKGROUND)
        for i, row in enumerate(self._rows):
            band = QRectF(rect.left(), row.top, rect.width(), row.height)
            if band.intersects(rect):
                painter.fillRect(band, TRACK_BAND if i % 2 == 0 else TRACK_BAND_ALT)

    # ------------------------------------------------------------------------------------- selection
    def selected_gap(self) -> Any:
        """The selected gap (app.jobs.gapfill.Gap), or None."""
        return self._selected_gap

    def select_gap_at(self, track_id: str, frame: int) -> Any:
        """Select the gap between two clips on `track_id` at `frame` (None, and no gap selected, when
        `frame` is not in one); clears the clip selection."""
        from app.jobs.gapfill import find_gap

        self._ensure_synced()
        gap = find_gap(self._doc, track_id, int(frame))
        if gap is not None:
            self._set_selection([])
            self.select_dissolve(None)
        self._set_gap(gap)
        return gap

    def _gap_at_scene(self, pos: QPointF) -> tuple[str, int] | None:
        row = next((r for r in self._rows if r.top <= pos.y() < r.bottom), None)
        return (row.track_id, int(pos.x() // self._ppf)) if row is not None and pos.x() >= 0 else None

    def _set_gap(self, gap: Any) -> None:
        changed = gap != self._selected_gap
        self._selected_gap = gap
        self._place_gap()
        if changed:
            self.gap_selected.emit(gap)

    def _place_gap(self) -> None:
        gap = self._selected_gap
        if gap is not None:
            from app.jobs.gapfill import find_gap

            if find_gap(self._doc, gap.track_id, gap.start) != gap:  # edited away
                self._selected_gap = None
                self._gap_marker.hide()
                self.gap_selected.emit(None)
                return
        row = next((r for r in self._rows if gap is not None and r.track_id == gap.track_id), None)
        if row is None:
            self._gap_marker.hide()
            return
        rect = QRectF(gap.start * self._ppf, row.top + CLIP_MARGIN, gap.length * self._ppf,
                      row.height - 2 * CLIP_MARGIN)  # fmt: skip
        self._gap_marker.setRect(rect)
        self._gap_marker.show()

    def _set_selection(self, ids: list[str]) -> None:
        if ids and self._selected_dissolve is not None:
            self.select_dissolve(None)  # clips or a dissolve, never both
        if ids and self._selected_gap is not None:
            self._set_gap(None)  # clips or a gap
        changed = ids != self._selection
        self._selection = list(ids)
        self._apply_selection()
        if changed:
            self.selection_changed.emit(list(self._selection))

    def _apply_selection(self) -> None:
        chosen = set(self._selection)
        for clip_id, item in self._items.items():
            item.set_selected(clip_id in chosen)

    def _with_partners(self, clip_id: str) -> list[str]:
        link = self._items[clip_id].look.link_id
        if not link or not self._linked_selection:
            return [clip_id]
        partners = [c for c, item in self._items.items() if item.look.link_id == link and c != clip_id]
        return [clip_id, *partners]

    def _click_select(self, clip_id: str, additive: bool) -> None:
        group = self._with_partners(clip_id)
        if additive:
            if clip_id in self._selection:
                self._set_selection([c for c in self._selection if c not in group])
            else:
                self._set_selection(self._selection + [c for c in group if c not in self._selection])
        elif clip_id not in self._selection:
            self._set_selection(group)

    # ------------------------------------------------------------------------- mouse (ui.timeline.gestures)
    def _clip_at(self, scene_pos: QPointF) -> ClipItem | None:
        for item in self.scene().items(scene_pos):
            if isinstance(item, ClipItem):
                return item
        return None

    def _dissolve_at(self, scene_pos: QPointF) -> DissolveItem | None:
        return next((i for i in self.scene().items(scene_pos) if isinstance(i, DissolveItem)), None)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._ensure_synced()
        if self._gestures.press(event):
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._gestures.move(event):
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._gestures.release(event):
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def snap_line_frame(self) -> int | None:
        """Where the snap line is shown, or None (feedback only; tests read it)."""
        return self._snap.shown_frame()

    # ------------------------------------------------------------------------------------- drag & drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        mime = event.mimeData()
        if mime.hasFormat(MEDIA_IDS_MIME) or mime.hasUrls():
            event.acceptProposedAction()
            self._show_drop(event.position())
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 (Qt override)
        mime = event.mimeData()
        if mime.hasFormat(MEDIA_IDS_MIME) or mime.hasUrls():
            event.acceptProposedAction()
            self._show_drop(event.position())
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 (Qt override)
        self._drop_marker.hide()
        self._snap.hide()
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        self._drop_marker.hide()
        self._snap.hide()
        self._ensure_synced()
        target = self._drop_target(event.position())
        if target is None:
            self.message.emit("Add a track first: there is no track to drop onto.")
            event.ignore()
            return
        track_id, frame = target
        track_id = track_id or None  # "": outside the tracks, a new one is made
        mime = event.mimeData()
        overwrite = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if mime.hasFormat(MEDIA_IDS_MIME):
            created = drop_media_ids(self, media_ids_from_mime(mime), track_id, frame, overwrite)
        else:
            paths = paths_from_mime(mime)
            created = drop_files(self, paths, track_id, frame, overwrite)
            if created:
                self.files_dropped.emit(paths, track_id, frame)
        if created:
            self._ensure_synced()
            self.select(created)
            event.acceptProposedAction()
        else:
            event.ignore()

    def _drop_target(self, viewport_pos: QPointF) -> tuple[str, int] | None:
        """(track id, frame) under the drop; the track id is "" below the last track or above the top one
        (the drop makes a new track there)."""
        pos = self.mapToScene(viewport_pos.toPoint())
        row = row_at(self._rows, pos.y())
        outside = bool(self._rows) and (pos.y() < self._rows[0].top or pos.y() >= self._rows[-1].bottom + 4)
        if row is None and self._rows and not outside:
            row = min(self._rows, key=lambda r: min(abs(pos.y() - r.top), abs(pos.y() - r.bottom)))
        if row is None and not outside:
            return None
        frame = max(0, int(round(pos.x() / self._ppf)))
        if self._snapping:
            frame = self._snap.frame(frame, self._snap.targets())
        return ("" if outside else row.track_id), frame

    def _show_drop(self, viewport_pos: QPointF) -> None:
        target = self._drop_target(viewport_pos)
        if target is None:
            self._drop_marker.hide()
            return
        track_id, frame = target
        row = next((r for r in self._rows if r.track_id == track_id), None)
        if row is None:  # a new track: the marker sits under the last row
            last = self._rows[-1]
            top, height = last.bottom + 4, last.height
        else:
            top, height = row.top, row.height
        self._drop_marker.setRect(frame * self._ppf, top, max(2.0, self.rate() * self._ppf), height)
        self._drop_marker.show()

    # ------------------------------------------------------------------------------------- keys, wheel
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
        elif key == Qt.Key.Key_Backslash:
            self.zoom_to_fit()
        else:
            return super().keyPressEvent(event)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        modifiers = event.modifiers()
        steps = event.angleDelta().y() / 120 or event.angleDelta().x() / 120
        if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            anchor = self.viewport_x_to_frame(event.position().x())
            self.set_pixels_per_frame(self._ppf * (ZOOM_STEP**steps), anchor_frame=anchor)
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - int(steps * 30))
        else:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - int(steps * self.viewport().width() / 8))
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        rect = self.viewport().geometry()
        self._ruler.setGeometry(rect.left(), rect.top() - RULER_HEIGHT, rect.width(), RULER_HEIGHT)
        self._headers.setGeometry(rect.left() - HEADER_WIDTH, 0, HEADER_WIDTH, rect.bottom() + 1)
        self._layout()

    # ------------------------------------------------------------------------------------ context menu
    def context_actions(self, viewport_pos: QPointF) -> list[tuple[str, Any]]:
        """What a right-click at ``viewport_pos`` offers: (text, action) pairs, for the menu and for tests.

        On a dissolve: remove it. On a clip: split at the playhead, lift, ripple delete, add a dissolve.
        Anywhere on a track: add a track of its kind, remove the track (refused for the last of its kind).
        """
        self._ensure_synced()
        pos = self.mapToScene(viewport_pos.toPoint())
        actions: list[tuple[str, Any]] = []
        dissolve = self._dissolve_at(pos)
        if dissolve is not None:
            tid = dissolve.transition_id
            remove = lambda: self._edit("Remove dissolve", lambda d: d.remove_dissolve(tid))  # noqa: E731
            actions.append(("Remove Dissolve", remove))
        clip = self._clip_at(pos)
        if clip is not None:
            if clip.clip_id not in self._selection:
                self._click_select(clip.clip_id, False)
            actions += [
                ("Split at Playhead", self.split_at_playhead),
                ("Lift", self.lift_selection),
                ("Ripple Delete", self.ripple_delete_selection),
                ("Add Dissolve", self.add_dissolve_at_selection),
            ]
            if self._doc.clip(clip.clip_id).media_id is not None:  # a title has no media to continue
                clip_id = clip.clip_id
                actions.append(("Extend Clip...", lambda: self.extend_requested.emit(clip_id)))
            enabled = clip.look.clip_enabled
            actions.append(("Disable Clip" if enabled else "Enable Clip", self.toggle_enabled_selection))
            if self.extra_clip_actions is not None:
                actions += self.extra_clip_actions()
        spot = self._gap_at_scene(pos) if clip is None and dissolve is None else None
        gap = self.select_gap_at(*spot) if spot is not None else None
        if gap is not None and self._doc.track_info(gap.track_id).kind is TrackKind.VIDEO:
            actions.append(("Fill Gap with Generation...", lambda: self.gap_fill_requested.emit(gap)))
        row = next((r for r in self._rows if r.top <= pos.y() < r.bottom), None)
        if row is not None:
            kind = TrackKind.VIDEO if row.is_video else TrackKind.AUDIO
            label = "Video" if row.is_video else "Audio"
            track_id, name = row.track_id, row.name
            lock_text = f"Unlock Track {name}" if row.locked else f"Lock Track {name}"
            actions.append((lock_text, lambda: self.toggle_lock(track_id)))
            actions += [
                (
                    f"Add {label} Track",
                    lambda: self._edit(f"Add {label.lower()} track", lambda d: d.add_track(kind)),
                ),
                (
                    f"Remove Track {name}",
                    lambda: self._edit(f"Remove track {name}", lambda d: d.remove_track(track_id)),
                ),
            ]
        return actions

    def ruler_context_actions(self, x: float) -> list[tuple[str, Any]]:
        """What a right-click on the ruler at viewport x offers: (text, action) pairs, for the menu and tests.

        On a marker: go to it, remove it. Elsewhere: add a marker there.
        """
        self._ensure_synced()
        rate = self.rate()
        marker = self.marker_at_viewport(x)
        if marker is None:
            at = frame_time(self.viewport_x_to_frame(x), rate)
            return [("Add Marker Here", lambda: self._edit("Add marker", lambda d: d.add_marker(at)))]
        marker_id, frame = marker.marker_id, marker.frame
        return [
            ("Go to Marker", lambda: self._scrub_to_frame(frame)),
            ("Edit Marker...", lambda: self.marker_edit_requested.emit(marker_id)),
            ("Remove Marker", lambda: self._edit("Remove marker", lambda d: d.remove_marker(marker_id))),
        ]

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt override)
        actions = self.context_actions(QPointF(event.pos()))
        if not actions:
            return super().contextMenuEvent(event)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for text, slot in actions:
            menu.addAction(text, slot)
        menu.popup(event.globalPos())  # popup, not exec: no nested event loop
        event.accept()

    # ---------------------------------------------------------------------------------------- helpers
    def _edit(self, text: str, apply, merge_key: str | None = None) -> bool:
        """push_edit (one undo step); False when the edit was impossible: a message says why and the
        document is unchanged (EditCommand undoes the first steps of a several-step edit)."""
        try:
            push_edit(self._stack, self._doc, text, apply, merge_key=merge_key)
        except EditError as error:
            self.message.emit(str(error))
            self.show_notice(str(error))
            return False
        self._ensure_synced()
        return True

    def _covers(self, clip_id: str, frame: int) -> bool:
        item = self._items.get(clip_id)
        return item is not None and item.look.start < frame < item.look.start + item.look.duration

    def _dissolve_left_of(self, clip_id: str) -> str | None:
        item = self._items.get(clip_id)
        if item is None:  # (audio clips too: a crossfade at their cut)
            return None
        track = [i for i in self._items.values() if i.row.track_id == item.row.track_id]
        end = item.look.start + item.look.duration
        if any(i.look.start == end for i in track):
            return clip_id
        left = next((i for i in track if i.look.start + i.look.duration == item.look.start), None)
        return left.clip_id if left is not None else None


def _split_each_once(doc: TimelineDocument, clip_ids: list[str], at: RationalTime, linked: bool) -> list[str]:
    """Split ``clip_ids`` at ``at``; a clip already cut as the linked partner of an earlier one is not split
    again (a picture and its sound, both selected, make one split, not a refused second one)."""
    created: list[str] = []
    done: set[str] = set()
    for clip_id in clip_ids:
        if clip_id in done:
            continue
        done.update(doc.linked_clips(clip_id) if linked else [clip_id])
        created += doc.split(clip_id, at, linked=linked)
    return created

"""TimelineView: the multi-track timeline (QGraphicsView) - ruler, playhead, clips, zoom, scroll, gestures.

Gestures, as a Premiere/Resolve user expects them (every edit goes through app.commands.push_edit):

* Click a clip to select it (its linked video/audio partner comes along); Shift-click adds or removes;
  clicking empty space clears. Clicking or dragging in the ruler moves the playhead (Shift snaps).
* Drag a clip's body to move it, to another time and/or another track of the same kind. The clip follows
  the mouse and the edit happens on release, as one undo step (an overwrite-style move, like Premiere's
  default drag). **Ctrl-drag** reorders instead: on release the clip is taken out of its track (the gap
  closes) and re-inserted before the first clip whose middle lies right of the drop point - Premiere's
  Ctrl-drag "insert" rearrange. **Alt** moves or trims one side of a linked pair alone.
* Drag a clip's edge to trim it; the document updates live and the whole drag merges into one undo step.
  Plain trims never overlap a neighbour; **Ctrl**-drag an edge ripples (later clips follow), as Ctrl+drag
  with Premiere's selection tool does.
* Snapping (on by default, `set_snapping`): a dragged edge, a trim, a drop or a Shift-scrub within ~8 px of
  an edit point, a marker or the playhead jumps onto it, and a yellow line shows where.
* Drops: media-bin items (MIME `application/x-aiprod-media-ids`) are inserted (ripple) at the drop frame on
  the track under the cursor; hold **Ctrl** to overwrite instead. Files from the file manager are imported
  into the bin and inserted one after another - import and inserts are one undo step. The view does the
  import itself; `files_dropped(paths, track_id, frame)` is emitted afterwards for information only (a
  status line), so listeners must not import the files again. A drop that cannot be used is ignored and
  `message(str)` says why.
* `+`/`-` zoom around the playhead, Ctrl+wheel zooms around the mouse, the wheel scrolls sideways.

`set_playhead` is the programmatic setter (the player calls it during playback; the view scrolls to keep the
playhead in sight) and does not emit `playhead_changed`; clicking or dragging in the ruler does, so connecting
both ways never loops.

Limits: a drag moves the grabbed clip (with its linked partner), not a multi-selection; dissolves are added
and drawn here but removed elsewhere (doc.remove_dissolve); there is no rubber-band selection.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from typing import Any

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
    QApplication,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QMenu,
)

from app.commands import push_edit
from app.document import TrackKind
from app.errors import AppError, EditError
from ui.timeline.art import ClipArt
from ui.timeline.drops import (
    MEDIA_IDS_MIME,
    all_or_nothing,
    drop_files,
    drop_media_ids,
    media_ids_from_mime,
    paths_from_mime,
)
from ui.timeline.geometry import (
    TrackRow,
    clamp_pixels_per_frame,
    frame_time,
    layout_rows,
    row_at,
    rows_height,
    to_frames,
)
from ui.timeline.items import TITLE_HEIGHT, ClipItem, ClipLook, DissolveItem
from ui.timeline.ruler import PLAYHEAD_COLOR, RULER_HEIGHT, RulerWidget
from ui.timeline.track_headers import HEADER_WIDTH, TrackHeaders

SNAP_PX = 8
ZOOM_STEP = 1.5
CLIP_MARGIN = 2  # vertical inset of a clip inside its track row
TRACK_BAND = QColor(36, 37, 41)
TRACK_BAND_ALT = QColor(32, 33, 36)
TIMELINE_BACKGROUND = QColor(24, 25, 27)
SNAP_COLOR = QColor(255, 214, 64)

_gesture_ids = itertools.count(1)


@dataclass
class _Gesture:
    """A mouse drag in progress: what was grabbed and where it started."""

    kind: str  # "move" / "trim-in" / "trim-out"
    clip_id: str
    press: QPointF  # scene position of the press
    start: int  # the clip's frames at the press
    duration: int
    source_start: int
    track_id: str
    items: list[ClipItem]  # the grabbed item and its linked partners (moved together on screen)
    origins: list[QPointF]
    edit_points: list[int]  # snap targets, the dragged clips excluded
    merge_key: str
    linked: bool  # False when Alt grabbed one side of a linked pair alone
    started: bool = False
    target_start: int = 0
    target_track: str = ""


class TimelineView(QGraphicsView):
    playhead_changed = Signal(int)
    selection_changed = Signal(list)
    files_dropped = Signal(list, str, int)
    message = Signal(str)

    def __init__(self, doc: Any, undo_stack: QUndoStack, thumbnails: Any | None = None, parent=None) -> None:
        super().__init__(parent)
        self._doc = doc
        self._stack = undo_stack
        self._art = ClipArt(thumbnails, self) if thumbnails is not None else None
        self._ppf = 4.0
        self._playhead = 0
        self._selection: list[str] = []
        self._snapping = True
        self._rows: list[TrackRow] = []
        self._items: dict[str, ClipItem] = {}
        self._dissolves: dict[str, DissolveItem] = {}
        self._markers: list[tuple[int, str, str]] = []
        self._content_frames = 0
        self._gesture: _Gesture | None = None
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
        self._headers = TrackHeaders(self, RULER_HEIGHT)
        self._playhead_line = QGraphicsLineItem()
        self._playhead_line.setPen(QPen(PLAYHEAD_COLOR, 1))
        self._playhead_line.setZValue(100)
        scene.addItem(self._playhead_line)
        self._snap_line = QGraphicsLineItem()
        self._snap_line.setPen(QPen(SNAP_COLOR, 1, Qt.PenStyle.DashLine))
        self._snap_line.setZValue(99)
        self._snap_line.hide()
        scene.addItem(self._snap_line)
        self._drop_marker = QGraphicsRectItem()
        self._drop_marker.setPen(QPen(SNAP_COLOR, 1))
        self._drop_marker.setBrush(QColor(255, 214, 64, 50))
        self._drop_marker.setZValue(98)
        self._drop_marker.hide()
        scene.addItem(self._drop_marker)
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

    def clip_item(self, clip_id: str) -> ClipItem | None:
        """The scene item drawing `clip_id` (tests and the benchmark look at geometry through this)."""
        self._ensure_synced()
        return self._items.get(clip_id)

    def rows(self) -> list[TrackRow]:
        return list(self._rows)

    def marker_frames(self) -> list[tuple[int, str, str]]:
        return list(self._markers)

    # ------------------------------------------------------------------------- edits (main window shortcuts)
    def split_at_playhead(self) -> None:
        """Split the selected clips under the playhead, or every track when nothing selected is under it."""
        at = frame_time(self._playhead, self.rate())
        under = [c for c in self._selection if self._covers(c, self._playhead)]
        if under:
            self._edit("Split", lambda d: [new for c in under for new in d.split(c, at)])
        else:
            self._edit("Split", lambda d: d.split_all(at))

    def lift_selection(self) -> None:
        ids = list(self._selection)
        if not ids:
            self.message.emit("Select clips to lift first.")
            return
        if self._edit("Lift", lambda d: d.lift(ids)) is not _FAILED:
            self._set_selection([])

    def ripple_delete_selection(self) -> None:
        ids = list(self._selection)
        if not ids:
            self.message.emit("Select clips to ripple delete first.")
            return
        if self._edit("Ripple delete", lambda d: d.ripple_delete(ids)) is not _FAILED:
            self._set_selection([])

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
        self._edit("Add dissolve", lambda d: [d.add_dissolve(left, duration) for left in lefts])

    def add_marker_at_playhead(self, name: str = "", color: str = "RED") -> None:
        at = frame_time(self._playhead, self.rate())
        self._edit("Add marker", lambda d: d.add_marker(at, name=name, color=color))

    def toggle_track(self, track_id: str) -> None:
        row = next((r for r in self._rows if r.track_id == track_id), None)
        if row is not None:
            action = "Show" if not row.enabled else "Hide"
            if not row.is_video:
                action = "Unmute" if not row.enabled else "Mute"
            self._edit(f"{action} {row.name}", lambda d: d.set_track_enabled(track_id, not row.enabled))

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
            frame = self._snap_frame(frame, self._doc_edit_points(()))[0]
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
            for clip in doc.clips(row.track_id):
                look = self._look(clip, row, media, rate)
                seen.add(look.clip_id)
                end = max(end, look.start + look.duration)
                item = self._items.get(look.clip_id)
                if item is None:
                    item = ClipItem(look, self._art)
                    self._items[look.clip_id] = item
                    self.scene().addItem(item)
                if item.look != look:
                    item.look = look
                    item.update()
                item.row = row
        for clip_id in [c for c in self._items if c not in seen]:
            self.scene().removeItem(self._items.pop(clip_id))
        self._content_frames = end
        self._sync_dissolves(rate)
        self._markers = [(to_frames(m.time, rate), m.name, m.color) for m in doc.markers()]
        kept = [c for c in self._selection if c in self._items]
        self._layout()
        if kept != self._selection:
            self._set_selection(kept)
        else:
            self._apply_selection()
        self._headers.update()
        self._ruler.update()

    def _look(self, clip: Any, row: TrackRow, media: dict[str, Any], rate: float) -> ClipLook:
        item = None
        if clip.media_id:
            if clip.media_id not in media:
                try:
                    media[clip.media_id] = self._doc.bin_item(clip.media_id)
                except AppError:
                    media[clip.media_id] = None
            item = media[clip.media_id]
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
            enabled=row.enabled,
            link_id=clip.link_id,
        )

    def _sync_dissolves(self, rate: float) -> None:
        seen = set()
        for row in self._rows:
            if not row.is_video:
                continue
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
            self.scene().removeItem(self._dissolves.pop(transition_id))

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
    def _set_selection(self, ids: list[str]) -> None:
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
        if not link:
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

    # -------------------------------------------------------------------------------------- mouse
    def _clip_at(self, scene_pos: QPointF) -> ClipItem | None:
        for item in self.scene().items(scene_pos):
            if isinstance(item, ClipItem):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._ensure_synced()
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = self.mapToScene(event.position().toPoint())
        item = self._clip_at(pos)
        additive = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if item is None:
            if not additive:
                self._set_selection([])
            event.accept()
            return
        self._click_select(item.clip_id, additive)
        if additive:
            event.accept()
            return
        edge = item.edge_at(pos.x() - item.pos().x())
        alone = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        ids = [item.clip_id] if alone else self._with_partners(item.clip_id)
        items = [self._items[c] for c in ids]
        look = item.look
        self._gesture = _Gesture(
            kind="move" if edge is None else f"trim-{edge}",
            clip_id=item.clip_id,
            press=pos,
            start=look.start,
            duration=look.duration,
            source_start=look.source_start,
            track_id=item.row.track_id,
            items=items,
            origins=[i.pos() for i in items],
            edit_points=self._doc_edit_points(ids),
            merge_key=f"timeline-drag-{next(_gesture_ids)}",
            linked=not alone,
            target_start=look.start,
            target_track=item.row.track_id,
        )
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        gesture = self._gesture
        pos = self.mapToScene(event.position().toPoint())
        if gesture is None:
            item = self._clip_at(pos)
            edge = item.edge_at(pos.x() - item.pos().x()) if item is not None else None
            self.viewport().setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.ArrowCursor)
            return super().mouseMoveEvent(event)
        if not gesture.started:
            if (pos - gesture.press).manhattanLength() < QApplication.startDragDistance():
                return
            gesture.started = True
            for item in gesture.items:
                item.setZValue(10)
        delta = int(round((pos.x() - gesture.press.x()) / self._ppf))
        if gesture.kind == "move":
            self._drag_move(gesture, delta, pos)
        else:
            self._drag_trim(gesture, delta, event.modifiers())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        gesture, self._gesture = self._gesture, None
        self._snap_line.hide()
        if gesture is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        for item in gesture.items:
            item.setZValue(2 if item.selected else 1)
        if gesture.started and gesture.kind == "move":
            self._commit_move(gesture, event.modifiers())
        elif not gesture.started and gesture.clip_id in self._items:
            self._set_selection(self._with_partners(gesture.clip_id))  # a plain click narrows the selection
        event.accept()

    def _drag_move(self, gesture: _Gesture, delta: int, pos: QPointF) -> None:
        start = max(0, gesture.start + delta)
        if self._snapping:
            start = self._snap_span(start, gesture.duration, gesture.edit_points)
        else:
            self._snap_line.hide()
        grabbed = self._items[gesture.clip_id]
        row = row_at(self._rows, pos.y(), grabbed.row.kind) or grabbed.row
        gesture.target_start, gesture.target_track = start, row.track_id
        dx = (start - gesture.start) * self._ppf
        for item, origin in zip(gesture.items, gesture.origins, strict=True):
            dy = row.top + CLIP_MARGIN - origin.y() if item is grabbed else 0.0
            item.setPos(origin.x() + dx, origin.y() + dy)

    def _drag_trim(self, gesture: _Gesture, delta: int, modifiers: Qt.KeyboardModifier) -> None:
        """Trim live: ask for the edge the mouse wants, let the document clamp it, one merged undo step."""
        edge = gesture.start + (delta if gesture.kind == "trim-in" else gesture.duration + delta)
        if self._snapping:
            edge, _ = self._snap_frame(edge, gesture.edit_points)
        else:
            self._snap_line.hide()
        try:
            clip = self._doc.clip(gesture.clip_id)
        except EditError:
            return
        rate = self.rate()
        if gesture.kind == "trim-in":
            wanted = edge - gesture.start  # +: shorter from the head
            applied = to_frames(clip.source_start, rate) - gesture.source_start
        else:
            wanted = edge - (gesture.start + gesture.duration)  # +: longer tail
            applied = to_frames(clip.duration, rate) - gesture.duration
        step = wanted - applied
        if step == 0:
            return
        ripple = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        linked = gesture.linked
        amount = frame_time(step, rate)
        if gesture.kind == "trim-in":

            def apply(d):
                return d.trim_in(gesture.clip_id, amount, ripple=ripple, linked=linked)
        else:

            def apply(d):
                return d.trim_out(gesture.clip_id, amount, ripple=ripple, linked=linked)

        try:
            push_edit(self._stack, self._doc, "Trim", apply, merge_key=gesture.merge_key)
        except EditError:
            return  # at a neighbour or the end of the media: the edge simply stops there
        self._ensure_synced()
        gesture.items = [self._items[i.clip_id] for i in gesture.items if i.clip_id in self._items]

    def _commit_move(self, gesture: _Gesture, modifiers: Qt.KeyboardModifier) -> None:
        rate = self.rate()
        linked = gesture.linked
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            others = [c for c in self._doc.clips(gesture.track_id) if c.id != gesture.clip_id]
            centre = gesture.target_start + gesture.duration / 2
            index = sum(
                1 for c in others if to_frames(c.start, rate) + to_frames(c.duration, rate) / 2 < centre
            )
            result = self._edit(
                "Reorder clip",
                lambda d: d.reorder_clip(gesture.clip_id, index, linked=linked),
                merge_key=gesture.merge_key,
            )
        elif gesture.target_start == gesture.start and gesture.target_track == gesture.track_id:
            result = None
        else:
            at = frame_time(gesture.target_start, rate)
            result = self._edit(
                "Move clip",
                lambda d: d.move_clip(gesture.clip_id, gesture.target_track, at, linked=linked),
                merge_key=gesture.merge_key,
            )
        if result is _FAILED or result is None:
            self._layout()  # put the dragged items back where the document has them

    # --------------------------------------------------------------------------------------- snapping
    def _doc_edit_points(self, exclude_ids) -> list[int]:
        rate = self.rate()
        try:
            points = {to_frames(t, rate) for t in self._doc.edit_points(exclude_ids=tuple(exclude_ids))}
        except AppError:
            points = set()
        points.update(frame for frame, _, _ in self._markers)
        points.add(self._playhead)
        return sorted(points)

    def _snap_frame(self, frame: int, points: list[int]) -> tuple[int, int | None]:
        """The nearest snap target within SNAP_PX of `frame` (and the distance), shown by the snap line."""
        threshold = SNAP_PX / self._ppf
        best = min(points, key=lambda p: abs(p - frame), default=None)
        if best is None or abs(best - frame) > threshold:
            self._snap_line.hide()
            return frame, None
        self._show_snap(best)
        return best, abs(best - frame)

    def _snap_span(self, start: int, duration: int, points: list[int]) -> int:
        """Snap whichever end of a moved clip is nearer to an edit point."""
        threshold = SNAP_PX / self._ppf
        best: tuple[float, int, int] | None = None
        for edge_offset in (0, duration):
            for point in points:
                distance = abs(point - (start + edge_offset))
                if distance <= threshold and (best is None or distance < best[0]):
                    best = (distance, point - edge_offset, point)
        if best is None:
            self._snap_line.hide()
            return start
        self._show_snap(best[2])
        return max(0, best[1])

    def _show_snap(self, frame: int) -> None:
        x = frame * self._ppf
        self._snap_line.setLine(x, 0, x, max(self.scene().sceneRect().height(), self.viewport().height()))
        self._snap_line.show()

    def snap_line_frame(self) -> int | None:
        """Where the snap line is shown, or None (feedback only; tests read it)."""
        if not self._snap_line.isVisible():
            return None
        return int(round(self._snap_line.line().x1() / self._ppf))

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
        self._snap_line.hide()
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        self._drop_marker.hide()
        self._snap_line.hide()
        self._ensure_synced()
        target = self._drop_target(event.position())
        if target is None:
            self.message.emit("Add a track first: there is no track to drop onto.")
            event.ignore()
            return
        track_id, frame = target
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
        pos = self.mapToScene(viewport_pos.toPoint())
        row = row_at(self._rows, pos.y())
        if row is None and self._rows:
            row = min(self._rows, key=lambda r: min(abs(pos.y() - r.top), abs(pos.y() - r.bottom)))
        if row is None:
            return None
        frame = max(0, int(round(pos.x() / self._ppf)))
        if self._snapping:
            frame, _ = self._snap_frame(frame, self._doc_edit_points(()))
        return row.track_id, frame

    def _show_drop(self, viewport_pos: QPointF) -> None:
        target = self._drop_target(viewport_pos)
        if target is None:
            self._drop_marker.hide()
            return
        track_id, frame = target
        row = next(r for r in self._rows if r.track_id == track_id)
        self._drop_marker.setRect(frame * self._ppf, row.top, max(2.0, self.rate() * self._ppf), row.height)
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
        dissolve = next((i for i in self.scene().items(pos) if isinstance(i, DissolveItem)), None)
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
        row = next((r for r in self._rows if r.top <= pos.y() < r.bottom), None)
        if row is not None:
            kind = TrackKind.VIDEO if row.is_video else TrackKind.AUDIO
            label = "Video" if row.is_video else "Audio"
            track_id, name = row.track_id, row.name
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

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt override)
        actions = self.context_actions(QPointF(event.pos()))
        if not actions:
            return super().contextMenuEvent(event)
        menu = QMenu(self)
        for text, slot in actions:
            menu.addAction(text, slot)
        menu.popup(event.globalPos())  # popup, not exec: no nested event loop
        event.accept()

    # ---------------------------------------------------------------------------------------- helpers
    def _edit(self, text: str, apply, merge_key: str | None = None) -> object:
        """push_edit; an impossible edit becomes a message (the document is unchanged)."""
        try:
            result = push_edit(self._stack, self._doc, text, all_or_nothing(apply), merge_key=merge_key)
        except EditError as error:
            self.message.emit(str(error))
            return _FAILED
        self._ensure_synced()
        return result

    def _covers(self, clip_id: str, frame: int) -> bool:
        item = self._items.get(clip_id)
        return item is not None and item.look.start < frame < item.look.start + item.look.duration

    def _dissolve_left_of(self, clip_id: str) -> str | None:
        item = self._items.get(clip_id)
        if item is None or not item.row.is_video:
            return None
        track = [i for i in self._items.values() if i.row.track_id == item.row.track_id]
        end = item.look.start + item.look.duration
        if any(i.look.start == end for i in track):
            return clip_id
        left = next((i for i in track if i.look.start + i.look.duration == item.look.start), None)
        return left.clip_id if left is not None else None


_FAILED = object()

"""The timeline's mouse gestures: press -> move -> release state machines for the tracks and for the ruler.

`TrackGestures` runs the view's viewport: a press decides what the drag will be (a dissolve is selected, a
clip body is moved, a clip edge is trimmed, empty space starts a rubber band), moves give live feedback and
the release makes the edit. `RulerGestures` runs the ruler: scrubbing, dragging and double-clicking markers.
Both turn gestures into document edits through the view's `_edit` (one push_edit each, so one undo step;
a trim pushes on every move under one merge key, which merges into one step). See the module docstring of
ui/timeline/view.py for the gestures as a user sees them.

The gestures work on the view's scene items and selection directly (this package is one component; the
view's underscore members are its package-internal interface).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPen
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QWidget

from app.commands import push_edit
from app.document.placement import move_clips_by
from app.errors import EditError
from ui.timeline.geometry import CLIP_MARGIN, frame_time, row_at, to_frames
from ui.timeline.items import ClipItem

if TYPE_CHECKING:
    from ui.timeline.view import TimelineView

BAND_PEN = QColor(120, 170, 255)
BAND_FILL = QColor(120, 170, 255, 40)

_merge_keys = (f"timeline-drag-{n}" for n in itertools.count(1))


@dataclass
class ClipDrag:
    """A clip grabbed by its body (kind "move") or an edge ("trim-in" / "trim-out")."""

    kind: str
    clip_id: str
    press: QPointF  # scene position of the press
    start: int  # the grabbed clip's frames at the press
    duration: int
    source_start: int
    track_id: str
    moving: list[str]  # clips the edit moves: the grabbed one (first) and its partners, or the whole group
    group: bool  # several selected clips move by the same time, each on its own track
    items: list[ClipItem]  # the items of `moving` (they follow the mouse)
    origins: list[QPointF]
    lowest_start: int  # the grabbed clip's earliest start that keeps every moving clip at or after 0
    edit_points: list[int]  # snap targets, the moving clips excluded
    merge_key: str
    linked: bool  # False when Alt grabbed one side of a linked pair alone
    started: bool = False
    target_start: int = 0
    target_track: str = ""
    origin_fade: int = 0  # a fade handle's frames at the press


@dataclass
class LockedPress:
    """A press on a clip of a locked track: it selects; dragging only says why nothing moves."""

    press: QPointF
    track_name: str
    told: bool = False


@dataclass
class BandDrag:
    """A rubber band from empty track space: selects every clip it touches."""

    press: QPointF
    kept: list[str]  # the selection the band adds to (with Shift; empty otherwise)
    started: bool = False


@dataclass
class MarkerDrag:
    """A marker grabbed on the ruler; it is drawn at `target` and moved there on release."""

    marker_id: str
    frame: int
    press_x: float
    edit_points: list[int] = field(default_factory=list)
    started: bool = False
    target: int = 0


class TrackGestures:
    """Mouse gestures in the tracks area (the view's viewport)."""

    def __init__(self, view: TimelineView) -> None:
        self._view = view
        self._drag: ClipDrag | BandDrag | LockedPress | None = None
        self._band = QGraphicsRectItem()
        self._band.setPen(QPen(BAND_PEN, 1, Qt.PenStyle.DashLine))
        self._band.setBrush(BAND_FILL)
        self._band.setZValue(97)
        self._band.hide()
        view.scene().addItem(self._band)

    def band_rect(self) -> QRectF | None:
        """The rubber band in scene coordinates while one is shown (feedback only)."""
        return self._band.rect() if self._band.isVisible() else None

    # --------------------------------------------------------------------------------------------- press
    def press(self, event: QMouseEvent) -> bool:
        """Start a gesture; False when the event is not ours (the view passes it on)."""
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        view = self._view
        view.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = view.mapToScene(event.position().toPoint())
        additive = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        dissolve = view._dissolve_at(pos)
        if dissolve is not None:
            view.select_dissolve(dissolve.transition_id)
            return True
        item = view._clip_at(pos)
        if item is None:
            if not additive:
                view._set_selection([])
            view.select_dissolve(None)
            self._drag = BandDrag(press=pos, kept=view.selected_clip_ids())
            return True
        view._click_select(item.clip_id, additive)
        if not additive and item.row is not None and item.row.locked:
            self._drag = LockedPress(pos, item.row.name)  # selectable (to copy), never moved or trimmed
        elif not additive:
            # Alt inverts linked selection for this drag: one side alone when on, both sides when off
            alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            alone = alt == view.linked_selection()
            self._drag = self._grab(item, pos, alone)
        return True

    def _grab(self, item: ClipItem, pos: QPointF, alone: bool) -> ClipDrag:
        view = self._view
        edge = item.edge_at(pos.x() - item.pos().x())
        fade = item.fade_handle_at(pos - item.pos())
        if fade is not None:
            edge = None
        moving = [item.clip_id] if alone else self._partners(item.clip_id)
        group = False
        if edge is None and not alone:
            selected = [c for clip_id in view.selected_clip_ids() for c in view._with_partners(clip_id)]
            others = [c for c in dict.fromkeys(selected) if c not in moving]
            if others and item.clip_id in selected:
                moving, group = moving + others, True
        items = [view._items[c] for c in moving]
        look = item.look
        kind = f"fade-{fade}" if fade is not None else ("move" if edge is None else f"trim-{edge}")
        if fade is not None:
            moving, items = [item.clip_id], [item]
        return ClipDrag(
            kind=kind,
            clip_id=item.clip_id,
            press=pos,
            start=look.start,
            duration=look.duration,
            source_start=look.source_start,
            track_id=item.row.track_id,
            moving=moving,
            group=group,
            items=items,
            origins=[i.pos() for i in items],
            lowest_start=look.start - min(i.look.start for i in items),
            edit_points=view._snap.targets(moving),
            merge_key=next(_merge_keys),
            linked=not alone,
            target_start=look.start,
            target_track=item.row.track_id,
            origin_fade=(look.fade_in if fade == "in" else look.fade_out) if fade is not None else 0,
        )

    def _partners(self, clip_id: str) -> list[str]:
        """The clip and its linked partners whatever the linked-selection setting (an Alt-drag with linked
        selection off moves both)."""
        view = self._view
        link = view._items[clip_id].look.link_id
        if not link:
            return [clip_id]
        return [clip_id, *(c for c, i in view._items.items() if i.look.link_id == link and c != clip_id)]

    # ---------------------------------------------------------------------------------------------- move
    def move(self, event: QMouseEvent) -> bool:
        view = self._view
        drag = self._drag
        pos = view.mapToScene(event.position().toPoint())
        if drag is None:
            self._hover(pos)
            return False
        if isinstance(drag, LockedPress):
            if not drag.told and (pos - drag.press).manhattanLength() >= QApplication.startDragDistance():
                drag.told = True
                text = f"Track {drag.track_name} is locked; unlock it (the padlock in its header) to edit it."
                view.message.emit(text)
                view.show_notice(text)
            return True
        if not drag.started:
            if (pos - drag.press).manhattanLength() < QApplication.startDragDistance():
                return True
            drag.started = True
            if isinstance(drag, ClipDrag):
                for item in drag.items:
                    item.setZValue(10)
        if isinstance(drag, BandDrag):
            self._drag_band(drag, pos)
        elif drag.kind == "move":
            self._drag_move(drag, pos)
        elif drag.kind.startswith("fade-"):
            self._drag_fade(drag, pos)
        else:
            self._drag_trim(drag, pos, event.modifiers())
        return True

    def _hover(self, pos: QPointF) -> None:
        view = self._view
        item = view._clip_at(pos) if view._dissolve_at(pos) is None else None
        edge = item.edge_at(pos.x() - item.pos().x()) if item is not None else None
        if item is not None and item.fade_handle_at(pos - item.pos()) is not None:
            view.viewport().setCursor(Qt.CursorShape.PointingHandCursor)  # a fade handle
            return
        view.viewport().setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.ArrowCursor)

    def _drag_band(self, drag: BandDrag, pos: QPointF) -> None:
        view = self._view
        band = QRectF(drag.press, pos).normalized()
        self._band.setRect(band)
        self._band.show()
        touched = []
        for clip_id, item in view._items.items():
            r = item.sceneBoundingRect()
            # touching counts (a band only one pixel high still catches the clips it crosses)
            if r.left() <= band.right() and r.right() >= band.left() and r.top() <= band.bottom():
                if r.bottom() >= band.top():
                    touched.append((item.row.top, item.look.start, clip_id))
        chosen = list(drag.kept)
        for _, _, clip_id in sorted(touched):
            chosen += [c for c in view._with_partners(clip_id) if c not in chosen]
        view._set_selection(chosen)

    def _drag_move(self, drag: ClipDrag, pos: QPointF) -> None:
        view = self._view
        ppf = view.pixels_per_frame()
        start = max(drag.lowest_start, drag.start + int(round((pos.x() - drag.press.x()) / ppf)))
        if view.snapping():
            start = max(drag.lowest_start, view._snap.span(start, drag.duration, drag.edit_points))
        else:
            view._snap.hide()
        grabbed = drag.items[0]
        row = grabbed.row
        if not drag.group:  # only a single clip (or linked pair) changes track
            row = row_at(view.rows(), pos.y(), grabbed.row.kind) or grabbed.row
        drag.target_start, drag.target_track = start, row.track_id
        dx = (start - drag.start) * ppf
        for item, origin in zip(drag.items, drag.origins, strict=True):
            dy = row.top + CLIP_MARGIN - origin.y() if item is grabbed else 0.0
            item.setPos(origin.x() + dx, origin.y() + dy)

    def _drag_trim(self, drag: ClipDrag, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        """Trim live: ask for the edge the mouse wants, let the document clamp it, one merged undo step."""
        view = self._view
        delta = int(round((pos.x() - drag.press.x()) / view.pixels_per_frame()))
        edge = drag.start + (delta if drag.kind == "trim-in" else drag.duration + delta)
        if view.snapping():
            edge = view._snap.frame(edge, drag.edit_points)
        else:
            view._snap.hide()
        doc = view.document()
        try:
            clip = doc.clip(drag.clip_id)
        except EditError:
            return
        rate = view.rate()
        if drag.kind == "trim-in":
            wanted = edge - drag.start  # +: shorter from the head
            applied = to_frames(clip.source_start, rate) - drag.source_start
        else:
            wanted = edge - (drag.start + drag.duration)  # +: longer tail
            applied = to_frames(clip.duration, rate) - drag.duration
        step = wanted - applied
        if step == 0:
            return
        ripple = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        amount = frame_time(step, rate)
        method = "trim_in" if drag.kind == "trim-in" else "trim_out"
        clip_id, linked = drag.clip_id, drag.linked

        def trim(d):
            return getattr(d, method)(clip_id, amount, ripple=ripple, linked=linked)

        try:
            push_edit(view.undo_stack(), doc, "Trim", trim, merge_key=drag.merge_key)
        except EditError:
            return  # at a neighbour or the end of the media: the edge simply stops there
        view._ensure_synced()
        drag.items = [view._items[i.clip_id] for i in drag.items if i.clip_id in view._items]

    def _drag_fade(self, drag: ClipDrag, pos: QPointF) -> None:
        """A sound fade handle: the fade follows the mouse (frames), one merged undo step."""
        view = self._view
        doc = view.document()
        try:
            clip = doc.clip(drag.clip_id)
        except EditError:
            return
        offset = (pos.x() - drag.press.x()) / view.pixels_per_frame()
        if drag.kind == "fade-in":
            fade_in = max(0, min(int(round(drag.origin_fade + offset)), drag.duration - clip.fade_out))
            fade_out = clip.fade_out
        else:
            fade_out = max(0, min(int(round(drag.origin_fade - offset)), drag.duration - clip.fade_in))
            fade_in = clip.fade_in
        if (fade_in, fade_out) == (clip.fade_in, clip.fade_out):
            return
        clip_id = drag.clip_id
        try:
            push_edit(
                view.undo_stack(), doc, "Clip fades", lambda d: d.set_clip_fades(clip_id, fade_in, fade_out),
                merge_key=drag.merge_key,
            )  # fmt: skip
        except EditError:
            return
        view._ensure_synced()
        drag.items = [view._items[i.clip_id] for i in drag.items if i.clip_id in view._items]

    # ------------------------------------------------------------------------------------------- release
    def release(self, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        view = self._view
        drag, self._drag = self._drag, None
        view._snap.hide()
        self._band.hide()
        if drag is None:
            return False
        if isinstance(drag, LockedPress):
            return True
        if isinstance(drag, ClipDrag):
            for item in drag.items:
                item.setZValue(2 if item.selected else 1)
            if drag.started and drag.kind == "move":
                self._commit_move(drag, event.modifiers())
            elif not drag.started and drag.clip_id in view._items:
                view._set_selection(view._with_partners(drag.clip_id))  # a plain click narrows the selection
        elif isinstance(drag, BandDrag) and not drag.started and not drag.kept:
            spot = view._gap_at_scene(drag.press)  # a click between two clips selects the gap
            if spot is not None:
                view.select_gap_at(*spot)
            else:
                view._set_gap(None)
        return True

    def _commit_move(self, drag: ClipDrag, modifiers: Qt.KeyboardModifier) -> None:
        view = self._view
        rate = view.rate()
        moved = drag.target_start != drag.start or drag.target_track != drag.track_id
        reorder = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        done = False
        if drag.group and reorder:
            view.message.emit("Ctrl-drag rearranges one clip at a time; select a single clip to reorder it.")
        elif drag.group and moved:
            ids, delta = drag.moving, drag.target_start - drag.start
            done = view._edit("Move clips", lambda d: move_clips_by(d, ids, delta))
        elif reorder:
            done = self._reorder(drag)
        elif moved:
            at = frame_time(drag.target_start, rate)
            clip_id, track_id, linked = drag.clip_id, drag.target_track, drag.linked
            done = view._edit("Move clip", lambda d: d.move_clip(clip_id, track_id, at, linked=linked))
        if not done:
            view._layout()  # put the dragged items back where the document has them

    def _reorder(self, drag: ClipDrag) -> bool:
        """Ctrl-drag: re-insert the clip before the first clip whose middle lies right of the drop point."""
        view = self._view
        rate = view.rate()
        others = [c for c in view.document().clips(drag.track_id) if c.id != drag.clip_id]
        centre = drag.target_start + drag.duration / 2
        index = sum(1 for c in others if to_frames(c.start, rate) + to_frames(c.duration, rate) / 2 < centre)
        clip_id, linked = drag.clip_id, drag.linked
        return view._edit("Reorder clip", lambda d: d.reorder_clip(clip_id, index, linked=linked))


class RulerGestures:
    """Mouse gestures on the ruler: press or drag to scrub (Shift snaps), drag a marker's flag to move it
    (snapping like a clip edge), double-click a marker to put the playhead on it and edit it."""

    def __init__(self, view: TimelineView, ruler: QWidget) -> None:
        self._view = view
        self._ruler = ruler
        self._drag: MarkerDrag | None = None

    def dragged_marker(self) -> tuple[str, int] | None:
        """The marker being dragged and the frame it is drawn at, for the ruler's painting."""
        drag = self._drag
        return (drag.marker_id, drag.target) if drag is not None and drag.started else None

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        view = self._view
        marker = view.marker_at_viewport(pos.x(), pos.y())
        if marker is None:
            self._drag = None
            view.scrub_to_viewport_x(pos.x(), snap=bool(modifiers & Qt.KeyboardModifier.ShiftModifier))
            return
        points = view._snap.targets([marker.marker_id])
        self._drag = MarkerDrag(marker.marker_id, marker.frame, pos.x(), points, target=marker.frame)

    def move(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        view = self._view
        drag = self._drag
        if drag is None:
            view.scrub_to_viewport_x(pos.x(), snap=bool(modifiers & Qt.KeyboardModifier.ShiftModifier))
            return
        if not drag.started:
            if abs(pos.x() - drag.press_x) < QApplication.startDragDistance():
                return
            drag.started = True
        frame = max(0, drag.frame + int(round((pos.x() - drag.press_x) / view.pixels_per_frame())))
        if view.snapping():
            frame = view._snap.frame(frame, drag.edit_points)
        drag.target = frame
        self._ruler.update()

    def release(self) -> None:
        view = self._view
        drag, self._drag = self._drag, None
        view._snap.hide()
        if drag is not None and drag.started and drag.target != drag.frame:
            marker_id, at = drag.marker_id, frame_time(drag.target, view.rate())
            view._edit("Move marker", lambda d: d.move_marker(marker_id, at))
        self._ruler.update()

    def double_click(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        view = self._view
        self._drag = None
        marker = view.marker_at_viewport(pos.x(), pos.y())
        if marker is not None:
            view._scrub_to_frame(marker.frame)
            view.marker_edit_requested.emit(marker.marker_id)  # its name, note and colour
        else:
            view.scrub_to_viewport_x(pos.x(), snap=bool(modifiers & Qt.KeyboardModifier.ShiftModifier))

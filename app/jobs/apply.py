"""Applying finished jobs, on the UI thread: each kind's result goes into the current session's document as
one undo step (or, for a result that belongs to a panel, is offered to whoever receives that kind).

Widget-free: the main window builds an :class:`ApplyContext` from its session and playhead and calls
:func:`apply_finished` with the finished job; which function runs is the job kind's ``apply``
(app.jobs.kinds). Messages go back through ``ctx.message`` for the status bar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentimelineio.opentime import RationalTime

from app.errors import AppError
from app.jobs.kinds import kind_named


def _ignore(*_args: Any) -> None:
    return None


@dataclass
class ApplyContext:
    """What an applier may touch: the session's document and undo stack, the playhead, and callbacks to
    the window (a status message, moving the playhead, handing a result to a panel)."""

    doc: Any
    stack: Any
    playhead: int = 0
    at_playhead: bool = False  # Generate > Place Generated Clips at the Playhead
    message: Callable[[str], None] = _ignore
    seek: Callable[[int], None] = _ignore
    # kind name -> a panel's receiver, for results that fill a panel rather than the document
    receivers: Mapping[str, Callable[[Any], None]] = field(default_factory=dict)

    def offer(self, name: str, value: Any) -> bool:
        """Hand `value` to the receiver registered for `name`; False when nobody receives it."""
        receiver = self.receivers.get(name)
        if receiver is None:
            return False
        receiver(value)
        return True


def apply_finished(job: Any, ctx: ApplyContext) -> None:
    """Apply a finished job (``job.kind``, ``job.spec``, ``job.item``) with its kind's applier; a kind
    without one (nothing to apply) is left alone. An unknown kind raises UnknownJobKind."""
    kind = kind_named(job.kind)
    if kind.apply is not None:
        kind.apply(ctx, job)


# --- the studio's own kinds ---------------------------------------------------------------------------------


def apply_generation(ctx: ApplyContext, job: Any) -> None:
    """A generated clip: into the bin and, if the spec asks, onto V1 (after its last clip, or at the
    playhead when the window says so, never inside a shot); one undo step. An impossible insert keeps the
    clip in the bin alone and says why."""
    from app.document import placement
    from app.jobs.result import apply_result

    item, doc, stack = job.item, ctx.doc, ctx.stack
    place_at: Any = None
    if job.spec.place_on_timeline:
        place_at = RationalTime(ctx.playhead, doc.rate) if ctx.at_playhead else "append"
    try:
        created = apply_result(stack, doc, item, place_at=place_at)
    except AppError as exc:
        apply_result(stack, doc, item)
        ctx.message(f"{item.name} is in the media bin; it could not go on the timeline: {exc}")
        return
    if place_at is not None and place_at != "append":
        end = placement.end_of(doc, created)
        if end is not None:
            ctx.seek(end)  # the playhead moves past the insert
    ctx.message(f"Generated {item.name}")


def _clip_still_there(doc: Any, clip_id: str | None) -> str | None:
    if clip_id is None:
        return None
    try:
        doc.clip(clip_id)
    except AppError:  # edited away while the job ran: the result goes to the bin only
        return None
    return clip_id


def apply_inpaint(ctx: ApplyContext, job: Any) -> None:
    """A finished inpaint: the take joins the bin under its original and, if asked, replaces the clip on
    the timeline (one undo step); the original media is never touched."""
    from app.jobs.inpaint import apply_inpaint_result

    spec, item = job.spec, job.item
    target = _clip_still_there(ctx.doc, spec.clip_id) if spec.place else None
    try:
        apply_inpaint_result(ctx.stack, ctx.doc, item, target)
    except AppError as exc:
        apply_inpaint_result(ctx.stack, ctx.doc, item, None)
        ctx.message(f"{item.name} is in the media bin; the clip could not switch to it: {exc}")
        return
    where = "is on the timeline" if target else "is in the media bin"
    ctx.message(f"New take {item.name} {where}")


def apply_extend(ctx: ApplyContext, job: Any) -> None:
    """A finished extension joins its clip (after it, or before it rippling what follows) in one undo step,
    or stays in the bin when the clip is gone or has no room."""
    from app.jobs.extend import apply_extend_result

    spec, item = job.spec, job.item
    target = _clip_still_there(ctx.doc, spec.clip_id)
    try:
        apply_extend_result(ctx.stack, ctx.doc, item, target, spec.direction)
    except AppError as exc:
        apply_extend_result(ctx.stack, ctx.doc, item, None, spec.direction)
        ctx.message(f"{item.name} is in the media bin; it could not join the clip: {exc}")
        return
    where = "is on the timeline" if target else "is in the media bin"
    ctx.message(f"Extended: {item.name} {where}")


def apply_duration(ctx: ApplyContext, job: Any) -> None:
    """The duration head's answer goes to the Generate panel (a receiver named "duration")."""
    suggestion = job.item
    if not ctx.offer("duration", suggestion):
        ctx.message(f"Suggested duration: {suggestion.seconds:g} s ({suggestion.frames} frames)")


def apply_export(ctx: ApplyContext, job: Any) -> None:
    """An export changes nothing in the project: it says where the file is (the Jobs row opens its folder)."""
    note = getattr(job.item, "fast_path_note", None)  # a RenderReport (tests may hand in less)
    ctx.message(f"Exported {job.item.path}" + (f". {note()}" if callable(note) else ""))

"""The editing commands of the Edit menu: cut, copy, paste (overwrite and insert), paste attributes, clip
enable/disable, linked selection, and the marker dialog.

Thin: the work is :mod:`app.document.clipboard` and the document's setters, each made through ``push_edit``
(one undo step). Copied clips go onto the system clipboard as OTIO JSON under ``CLIPBOARD_MIME``, so they
paste into another project window or another studio session; a paste reads them back from there.

Where a paste lands: at the playhead, on the track of the selected clip when it is of a kind the clipboard
holds (else on the tracks the clips were copied from); the playhead then moves to the end of what was pasted,
and the pasted clips are selected.

Copy and Cut follow the keyboard focus: with the media bin focused, Copy takes the selected BIN ITEMS (as a
drag from the bin carries them: ``MEDIA_IDS_MIME``, plus their paths as text) and a paste then places them at
the playhead one after another on V1 (sound-only media on A1), as the bin's Insert/Overwrite (`,` / `.`)
does; Cut is refused there (removing media a paste would need is Delete's job). Never the timeline's clips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QMimeData, QObject
from PySide6.QtGui import QGuiApplication

from app.commands import push_edit
from app.document import placement
from app.document.clipboard import (
    CLIPBOARD_MIME,
    GRADE,
    SOUND,
    ClipboardContent,
    content_summary,
    copy_clips,
    paste,
    paste_attributes,
    restore_masks,
)
from app.errors import AppError, EditError
from app.masks import MaskStore
from ui.marker_dialog import MarkerDialog
from ui.timeline.drops import MEDIA_IDS_MIME, media_ids_from_mime

if TYPE_CHECKING:
    from ui.main_window import MainWindow

ATTRIBUTE_NAMES = {GRADE: "grade", SOUND: "sound levels"}


class EditingActions(QObject):
    """The editing commands of one main window (they act on its current session and timeline)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._content: ClipboardContent | None = None  # the last copy, where no system clipboard exists
        self._media_ids: list[str] = []  # ... when that copy was of media bin items
        self.linked_selection = True
        self.marker_dialog: MarkerDialog | None = None

    # ------------------------------------------------------------------------------------------ wiring
    def attach(self, timeline: Any) -> None:
        """Called for each new session's timeline view."""
        timeline.set_linked_selection(self.linked_selection)
        timeline.extra_clip_actions = self.clip_context_actions
        timeline.marker_edit_requested.connect(self.edit_marker)

    def clip_context_actions(self) -> list[tuple[str, Any]]:
        return [
            ("Cut", self.cut_clips),  # the timeline's own menu: its clips, whatever has the focus
            ("Copy", self.copy_clips),
            ("Paste Attributes: Grade", lambda: self.paste_attributes((GRADE,))),
            ("Paste Attributes: Sound Levels", lambda: self.paste_attributes((SOUND,))),
        ]

    def _say(self, text: str) -> None:
        self._window.show_message(text)
        timeline = self._window.timeline
        if timeline is not None and text:
            timeline.show_notice(text)

    # -------------------------------------------------------------------------------------- clipboard
    def _selection(self) -> list[str]:
        timeline = self._window.timeline
        return timeline.selected_clip_ids() if timeline is not None else []

    def _bin_focused(self) -> bool:
        media_bin = getattr(self._window, "media_bin", None)
        return media_bin is not None and media_bin.has_focus_within()

    def copy(self) -> ClipboardContent | None:
        """Ctrl+C: the media bin's selected items while the bin has the focus, else the timeline's clips."""
        if self._bin_focused():
            self.copy_bin_items()
            return None
        return self.copy_clips()

    def copy_bin_items(self) -> list[str]:
        """The bin's selected items onto the clipboard, for a paste at the playhead; nothing selected: the
        clipboard is left as it was."""
        media_bin = self._window.media_bin
        mime = media_bin.clipboard_mime() if media_bin is not None else None
        if mime is None:
            self._window.show_message("Select the media bin items to copy first.")
            return []
        ids = media_ids_from_mime(mime)
        self._content, self._media_ids = None, ids
        QGuiApplication.clipboard().setMimeData(mime)
        what, them = (f"{len(ids)} bin items", "them") if len(ids) > 1 else ("1 bin item", "it")
        self._window.show_message(f"Copied {what}: Ctrl+V pastes {them} at the playhead.")
        return ids

    def copy_clips(self) -> ClipboardContent | None:
        """The selected timeline clips (with their linked partners when linked selection is on)."""
        ids = self._selection()
        if not ids:
            self._say("Select the clips to copy first.")
            return None
        try:
            session = self._window.session
            masks = MaskStore(session.masks_dir)  # the masks' pixels travel with the clips
            content = copy_clips(session.doc, ids, linked=self.linked_selection, masks=masks)
        except AppError as exc:
            self._say(str(exc))
            return None
        self._content, self._media_ids = content, []
        mime = QMimeData()
        mime.setData(CLIPBOARD_MIME, content.to_json().encode("utf-8"))
        QGuiApplication.clipboard().setMimeData(mime)
        self._window.show_message(f"Copied {content_summary(content)}.")
        return content

    def cut(self) -> None:
        """Ctrl+X: the timeline's clips; refused while the media bin has the focus (nothing changes)."""
        if self._bin_focused():
            self._window.show_message(
                "Cut does not apply to media bin items: copy them (Ctrl+C), or remove them with Delete."
            )
            return
        self.cut_clips()

    def cut_clips(self) -> None:
        """Copy the selected timeline clips, then lift them (one undo step; the clipboard keeps them)."""
        content = self.copy_clips()
        if content is None:
            return
        ids, linked = self._selection(), self.linked_selection
        session = self._window.session
        try:
            push_edit(session.stack, session.doc, "Cut", lambda d: d.lift(ids, linked))
        except AppError as exc:
            self._say(str(exc))
            return
        self._window.timeline.select([])
        self._window.show_message(f"Cut {content_summary(content)}.")

    def clipboard_content(self) -> ClipboardContent:
        """What the system clipboard holds (this window's last copy where the platform has no clipboard)."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
            return ClipboardContent.from_json(bytes(mime.data(CLIPBOARD_MIME).data()))
        if self._content is not None and (mime is None or not mime.formats()):
            return self._content
        if self.clipboard_media_ids():
            raise EditError("The clipboard holds no clips, only media bin items; copy clips on a timeline.")
        raise EditError("The clipboard holds no clips; copy clips on a timeline first (Ctrl+C).")

    def clipboard_media_ids(self) -> list[str]:
        """The media bin items the clipboard holds (none when it holds clips or anything else)."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
            return []
        if mime is not None and mime.hasFormat(MEDIA_IDS_MIME):
            return media_ids_from_mime(mime)
        return list(self._media_ids) if mime is None or not mime.formats() else []

    def paste(self, insert: bool = False) -> list[str]:
        """Ctrl+V (overwrite) / Ctrl+Shift+V (insert) at the playhead."""
        window = self._window
        timeline = window.timeline
        if timeline is None:
            return []
        session = window.session
        doc = session.doc
        media_ids = self.clipboard_media_ids()
        if media_ids:
            return self._paste_media(media_ids, insert)
        try:
            content = self.clipboard_content()
            missing = restore_masks(content, MaskStore(session.masks_dir))  # (from another project)
            target = self._target_track(content)
            at = RationalTime(window.playhead(), doc.rate)
            text = "Paste insert" if insert else "Paste"
            created = push_edit(session.stack, doc, text, lambda d: paste(d, content, at, target, insert))
        except AppError as exc:
            self._say(str(exc))
            return []
        timeline.select(created)
        ends = [doc.clip(c).end.value_rescaled_to(doc.rate) for c in created]
        if ends:
            window.seek(int(round(max(ends))))  # ready to paste again right after
        lost = f" {len(missing)} mask file(s) did not come along; repaint them." if missing else ""
        window.show_message(f"Pasted {content_summary(content)}.{lost}")
        return created

    def _paste_media(self, media_ids: list[str], insert: bool) -> list[str]:
        """Bin items copied from the bin: at the playhead one after another, each on V1 (sound only: A1),
        as the bin's Insert / Overwrite places them; one undo step."""
        window = self._window
        session = window.session
        doc = session.doc
        known = [m for m in media_ids if any(item.id == m for item in doc.bin_items())]
        if not known:
            self._say("Nothing to paste: the copied items are no longer in the media bin.")
            return []
        frame = window.playhead()
        text = "Paste insert" if insert else "Paste"
        try:
            created = push_edit(
                session.stack,
                doc,
                text,
                lambda d: placement.place_one_after_another(d, known, None, frame, overwrite=not insert),
            )
        except AppError as exc:
            self._say(str(exc))
            return []
        window.timeline.select(created)
        end = placement.end_of(doc, created)
        if end is not None:
            window.seek(end)  # ready to paste again right after
        gone = len(media_ids) - len(known)
        lost = f" {gone} copied item(s) are no longer in the media bin." if gone else ""
        window.show_message(f"Pasted {len(known)} bin item{'s' * (len(known) != 1)}.{lost}")
        return created

    def _target_track(self, content: ClipboardContent) -> str | None:
        doc = self._window.session.doc
        kinds = content.kinds()
        for clip_id in self._selection():
            try:
                track = doc.track_info(doc.clip(clip_id).track_id)
            except AppError:
                continue
            if track.kind in kinds:
                return track.id
        return None

    def paste_attributes(self, what: tuple[str, ...] = (GRADE, SOUND)) -> list[str]:
        """Paste Attributes: the clipboard's grade and/or sound levels onto the selected clips."""
        session = self._window.session
        ids = self._selection()
        names = " and ".join(ATTRIBUTE_NAMES[w] for w in what)
        try:
            content = self.clipboard_content()
            apply = lambda d: paste_attributes(d, content, ids, what)  # noqa: E731
            changed = push_edit(session.stack, session.doc, f"Paste {names}", apply)
        except AppError as exc:
            self._say(str(exc))
            return []
        self._window.show_message(f"Pasted the {names} onto {len(changed)} clip{'s' * (len(changed) != 1)}.")
        return changed

    # ------------------------------------------------------------------------------- enable, linking
    def toggle_enabled(self) -> None:
        """Shift+E: disable the selected clips (enable them when they all are disabled)."""
        if self._window.timeline is not None:
            self._window.timeline.toggle_enabled_selection()

    def set_linked_selection(self, on: bool) -> None:
        self.linked_selection = bool(on)
        if self._window.timeline is not None:
            self._window.timeline.set_linked_selection(self.linked_selection)
        self._window.show_message(f"Linked selection {'on' if on else 'off'}.")

    # ---------------------------------------------------------------------------------------- markers
    def edit_marker(self, marker_id: str) -> MarkerDialog | None:
        """The marker dialog for ``marker_id`` (non-modal; OK is one undo step)."""
        session = self._window.session
        if not any(m.id == marker_id for m in session.doc.markers()):
            return None
        if self.marker_dialog is not None:
            try:
                self.marker_dialog.close()
            except RuntimeError:  # already deleted (WA_DeleteOnClose)
                pass
        dialog = MarkerDialog(session.doc, session.stack, marker_id, self._window)
        dialog.finished.connect(lambda _result, d=dialog: self._forget(d))
        self.marker_dialog = dialog
        dialog.show()
        return dialog

    def _forget(self, dialog: MarkerDialog) -> None:
        if self.marker_dialog is dialog:
            self.marker_dialog = None

"""The source viewer: one media item (a bin clip or a take) with its own playhead and in/out marks.

It reuses the timeline viewer (`ui.viewer.Viewer`) on a private one-clip document: the item alone on V1 at
the project's frame rate, so its frame *n* is the media frame *n* every edit counts (the marks go straight to
`app.document.three_point`). The private document never reaches the project or its undo stack.

Source patching sits in its header: the video track the picture goes to (V1 by default) and whether the
sound goes along to the audio track of the same number (A1), linked to the picture. Insert (,) and
Overwrite (.) buttons do what the keys do; the main window makes the edit. Four marks of different lengths
ask `ask_four_point`: fit to fill (the clip takes the timeline range and plays the whole source range at
speed source / record) or trim to the shorter range.
"""

from __future__ import annotations

from opentimelineio.opentime import RationalTime
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import DocumentChange, TimelineDocument, TrackKind
from app.document.sequence import SequenceSettings, settings_for_media
from app.document.three_point import Marks
from app.errors import AppError
from app.media.workers import TimelinePlayer
from ui.viewer import Viewer, format_timecode

FOCUS_FRAME = QColor(90, 150, 230)

# What the main window may ask of the source viewer when it has the focus (transport and marks).
TRANSPORT = (
    "toggle_play", "stop", "shuttle_forward", "shuttle_backward", "step", "seek", "mark_in", "mark_out",
    "clear_marks", "go_end",
)  # fmt: skip


def fit_label(source_frames: int, record_frames: int) -> str:
    """The fit button's text: "Fit to Fill (speed 200%)"."""
    return f"Fit to Fill (speed {source_frames / max(record_frames, 1):.0%})"


def ask_four_point(parent: QWidget | None, source_frames: int, record_frames: int) -> str | None:
    """Four marks of different lengths: "fit" (fit to fill, a speed change), "trim" (to the shorter range)
    or None (cancelled)."""
    shorter = "source" if source_frames < record_frames else "timeline"
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Four-point edit",
        f"The source range is {source_frames} frames and the timeline range {record_frames}.\n\n"
        f"Fit to fill plays the whole source range in the timeline range "
        f"(speed {source_frames / max(record_frames, 1):.0%}, nearest frame, sound resampled so its pitch "
        f"changes); trim to the shorter ({shorter}) range keeps normal speed.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    fit = box.addButton(fit_label(source_frames, record_frames), QMessageBox.ButtonRole.AcceptRole)
    trim = box.addButton("Trim to Shorter", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(fit)
    box.exec()
    clicked = box.clickedButton()
    return "fit" if clicked is fit else "trim" if clicked is trim else None


class SourceViewer(QWidget):
    """`load(media_id)` shows a bin item; `marks()`, `target_track_id()` and `with_audio()` say what an edit
    takes. Call `shutdown()` before dropping it (its player has a decode thread)."""

    loaded = Signal(str)  # media id ("" when cleared)
    marks_changed = Signal(object, object)  # in frame | None, out frame | None (the out frame included)
    message = Signal(str)
    insert_requested = Signal()
    overwrite_requested = Signal()

    def __init__(self, doc: TimelineDocument, parent: QWidget | None = None, gpu: bool | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceViewer")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click anywhere in it gives it the I/O keys
        self._doc = doc
        self._gpu = gpu
        self._media_id: str | None = None
        self._source: TimelineDocument | None = None
        self._player: TimelinePlayer | None = None
        self.viewer: Viewer | None = None

        self.name_label = QLabel("No source", objectName="sourceName")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.target_combo = QComboBox(self, objectName="sourceTargetCombo")
        self.target_combo.setToolTip("Source patching: the video track an insert or overwrite goes to")
        self.target_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.target_combo.currentIndexChanged.connect(lambda _i: self._update_audio_label())
        self.audio_button = QToolButton(self, objectName="sourceAudioButton", checkable=True, checked=True)
        self.audio_button.setAutoRaise(True)
        self.audio_button.setToolTip(
            "Source patching: the sound goes along, linked, to the matching audio track"
        )
        self.insert_button = QToolButton(
            self, text="Insert ,", objectName="sourceInsertButton", autoRaise=True
        )
        self.insert_button.setToolTip("Insert the marked range at the timeline's in mark or playhead (,)")
        self.overwrite_button = QToolButton(
            self, text="Overwrite .", objectName="sourceOverwriteButton", autoRaise=True
        )
        self.overwrite_button.setToolTip("Overwrite the timeline with the marked range (.)")
        self.insert_button.clicked.connect(self.insert_requested)
        self.overwrite_button.clicked.connect(self.overwrite_requested)
        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 2)
        header.addWidget(self.name_label, 1)
        header.addSpacing(12)  # a narrow dock squeezes the name against "Target" otherwise
        header.addWidget(QLabel("Target"))
        header.addWidget(self.target_combo)
        header.addWidget(self.audio_button)
        header.addWidget(self.insert_button)
        header.addWidget(self.overwrite_button)

        self.empty_label = QLabel(
            "Double-click a clip in the Media bin (or a take), or press F on the timeline to match its "
            "frame.",
            objectName="sourceEmpty",
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setMinimumSize(160, 90)
        self._body = QVBoxLayout()
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.addWidget(self.empty_label, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)  # room for the focus frame
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addLayout(self._body, 1)

        self._fill_targets()
        self._update_buttons()
        # The document outlives views: unsubscribe when this widget goes (the lambda holds no `self`).
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        # (a bound method of a QObject: PySide drops the connection when this widget is destroyed)
        QApplication.instance().focusChanged.connect(self._on_focus_changed)  # type: ignore[union-attr]

    # --------------------------------------------------------------------------------------- state
    @property
    def media_id(self) -> str | None:
        return self._media_id

    @property
    def frame(self) -> int:
        return self.viewer.frame if self.viewer is not None else 0

    @property
    def in_point(self) -> int | None:
        return self.viewer.in_point if self.viewer is not None else None

    @property
    def out_point(self) -> int | None:
        return self.viewer.out_point if self.viewer is not None else None

    def marks(self) -> Marks:
        return Marks(self.in_point, self.out_point)

    def frame_count(self) -> int:
        """How many frames the loaded media has here (0 when nothing is loaded)."""
        return self._player.end_frame() if self._player is not None else 0

    def target_track_id(self) -> str | None:
        data = self.target_combo.currentData()
        return str(data) if data else None

    def set_target_track(self, track_id: str) -> None:
        index = self.target_combo.findData(track_id)
        if index < 0:
            raise ValueError("not a video track of this project")
        self.target_combo.setCurrentIndex(index)

    def with_audio(self) -> bool:
        return self.audio_button.isChecked()

    def has_focus_within(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    # ------------------------------------------------------------------------------------- loading
    def load(
        self, media_id: str, frame: int = 0, marks: tuple[int | None, int | None] = (None, None)
    ) -> bool:
        """Show `media_id` at `frame` with `marks`; False (and `message`) when it cannot be shown."""
        try:
            source = self._source_document(media_id)
        except AppError as exc:
            self.message.emit(f"Cannot show this in the source viewer: {exc}")
            return False
        self._drop_player()
        self._source = source
        self._media_id = media_id
        self._player = TimelinePlayer(source, parent=self)
        viewer = Viewer(self._player, gpu=self._gpu)
        viewer.setObjectName("sourcePictureViewer")
        viewer.compare_button.hide()  # nothing is graded here: A/B and split compare belong to the timeline
        viewer.split_button.hide()
        viewer.path_label.hide()
        viewer.marks_changed.connect(self.marks_changed)
        self.empty_label.hide()
        self._body.addWidget(viewer, 1)
        self.viewer = viewer
        last = max(0, self.frame_count() - 1)
        in_point, out_point = marks
        viewer.seek(min(max(0, int(frame)), last))
        if in_point is not None:
            viewer.seek(min(max(0, int(in_point)), last))
            viewer.mark_in()
        if out_point is not None:
            viewer.seek(min(max(0, int(out_point)), last))
            viewer.mark_out()
        viewer.seek(min(max(0, int(frame)), last))
        item = self._doc.bin_item(media_id)
        self.name_label.setText(item.name)
        self.name_label.setToolTip(f"{item.path}\n{self.frame_count()} frames at {self._doc.rate:g} fps")
        self._update_buttons()
        self.marks_changed.emit(self.in_point, self.out_point)
        self.loaded.emit(media_id)
        return True

    def clear(self) -> None:
        """Show nothing (the media left the bin)."""
        self._drop_player()
        self._media_id = None
        self._source = None
        self.empty_label.show()
        self.name_label.setText("No source")
        self.name_label.setToolTip("")
        self._update_buttons()
        self.marks_changed.emit(None, None)
        self.loaded.emit("")

    def shutdown(self) -> None:
        """Stop the player's decode thread (safe to call twice)."""
        self._drop_player()

    def _source_document(self, media_id: str) -> TimelineDocument:
        """A private document with the item alone at the project's rate (frame n = media frame n)."""
        item = self._doc.bin_item(media_id)
        info = item.info
        project = self._doc.sequence_settings()
        rate = self._doc.rate
        width, height = project.width, project.height
        if info is not None and info.has_video and info.width and info.height:
            width, height = settings_for_media(info.width, info.height, None).size
        source = TimelineDocument(
            name=f"Source: {item.name}", sequence=SequenceSettings(width, height, rate, project.audio_rate)
        )
        source.add_bin_item(item)
        color = self._doc.color_settings()
        if color:
            source.set_color_settings(color)  # the same display transform as the timeline's viewer
        source.insert(item.id, source.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, rate))
        return source

    def _drop_player(self) -> None:
        viewer, player = self.viewer, self._player
        self.viewer, self._player = None, None
        if viewer is not None:
            viewer.shutdown()
            viewer.hide()
            self._body.removeWidget(viewer)
            viewer.setParent(None)
            viewer.deleteLater()
        if player is not None:
            player.shutdown()
            player.deleteLater()

    # ------------------------------------------------------------------------------- transport, marks
    def call(self, method: str, *args: object) -> bool:
        """Run a transport or mark method (one of TRANSPORT) on the source; False when nothing is loaded."""
        if method not in TRANSPORT:
            raise ValueError(f"not a source viewer command: {method}")
        if self.viewer is None:
            return False
        if method == "go_end":
            self.viewer.seek(max(0, self.frame_count() - 1))
        else:
            getattr(self.viewer, method)(*args)
        return True

    def describe_marks(self) -> str:
        rate = self._doc.rate
        parts = [
            f"{name} {format_timecode(frame, rate)}"
            for name, frame in (("in", self.in_point), ("out", self.out_point))
            if frame is not None
        ]
        return ", ".join(parts) if parts else "no marks"

    # ----------------------------------------------------------------------------------- patching
    def _fill_targets(self) -> None:
        chosen = self.target_track_id()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        for track in self._doc.tracks(TrackKind.VIDEO):
            self.target_combo.addItem(track.name, track.id)
        index = self.target_combo.findData(chosen) if chosen else -1
        self.target_combo.setCurrentIndex(index if index >= 0 else 0)
        self.target_combo.blockSignals(False)
        self._update_audio_label()

    def _update_audio_label(self) -> None:
        number = max(self.target_combo.currentIndex(), 0) + 1
        self.audio_button.setText(f"A{number}")

    def _update_buttons(self) -> None:
        loaded = self._media_id is not None
        self.insert_button.setEnabled(loaded)
        self.overwrite_button.setEnabled(loaded)

    # ------------------------------------------------------------------------------------ changes
    def _on_document_changed(self, change: DocumentChange) -> None:
        if change.kind in ("tracks", "reset"):
            self._fill_targets()
        media_id = self._media_id
        if media_id is None or change.kind not in ("bin", "reset"):
            return
        try:
            self._doc.bin_item(media_id)
        except AppError:
            self.clear()  # the item left the bin (removed, or its import undone)
            return
        rate_changed = self._source is not None and abs(self._source.rate - self._doc.rate) > 1e-9
        if media_id in change.ids or rate_changed:  # relinked, or a new project rate: show it anew
            scale = self._doc.rate / self._source.rate if self._source is not None else 1.0

            def at(frame: int | None) -> int | None:
                return None if frame is None else int(frame * scale)

            self.load(media_id, at(self.frame) or 0, (at(self.in_point), at(self.out_point)))

    # ------------------------------------------------------------------------------------- focus
    def _on_focus_changed(self, _old: object, _new: object) -> None:
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        super().paintEvent(event)
        if self.has_focus_within():  # which viewer the I/O keys mark, as Premiere outlines its monitor
            painter = QPainter(self)
            painter.setPen(FOCUS_FRAME)
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
            painter.end()

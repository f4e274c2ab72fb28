"""The inspector: what the selected clip or bin item is, for generated media how it was made, and for a
video clip its colour grade.

Read-only apart from two actions on generated media: "Regenerate" (emits the generation dict; the main
window turns it into a job) and "Copy seed", and the grade editor (`ui.grade_panel.GradePanel`, shown for
clips on video tracks), whose every change is an undoable edit on the stack it is given. It follows the
document, so an undo that removes the shown clip clears it and a relink updates the path.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.document import TimelineDocument, TrackKind
from app.errors import AppError
from ui.clip_properties import ClipPropertiesPanel
from ui.grade_panel import GradePanel
from ui.viewer import format_timecode

# Generation keys in the order a person reads them, with their labels. Keys not listed here are shown after
# these, with a label made from the key, so nothing the engine records is ever hidden.
_GENERATION_FIELDS: tuple[tuple[str, str], ...] = (  # keys as app.jobs writes them (generation_record)
    ("prompt", "Prompt"),
    ("negative_prompt", "Negative prompt"),
    ("seed", "Seed"),
    ("model", "Model"),
    ("model_name", "Model name"),
    ("checkpoint_identity", "Checkpoint"),
    ("steps", "Steps"),
    ("width", "Width"),
    ("height", "Height"),
    ("frames", "Frames"),
    ("fps", "FPS"),
    ("guidance", "Guidance"),
    ("audio_guidance", "Audio guidance"),
    ("quantization", "Quantization"),
    ("image", "Start image"),
    ("engine_version", "Engine"),
    ("software", "Software"),
    ("created", "Created"),
)


def _label_for(key: str) -> str:
    return key.replace("_", " ").capitalize()


def generation_rows(generation: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows for a generation dict: known keys first in reading order, then the rest."""
    rows: list[tuple[str, str]] = []
    known = {key for key, _ in _GENERATION_FIELDS}
    paired = "width" in generation and "height" in generation
    for key, label in _GENERATION_FIELDS:
        if paired and key == "width":  # one "Size 1280×704" row reads better than two
            rows.append(("Size", f"{_text(generation['width'])}×{_text(generation['height'])}"))
        elif key in generation and not (paired and key == "height"):
            rows.append((label, _text(generation[key])))
    for key in sorted(generation):
        if key not in known:
            rows.append((_label_for(key), _text(generation[key])))
    return rows


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " × ".join(_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"  # 24.0 -> "24"
    return str(value)


class Inspector(QWidget):
    """Shows one clip (`show_clip`) or one bin item (`show_media`); `clear()` shows nothing."""

    regenerate_requested = Signal(dict, bool)  # the generation, same seed (False: a new seed, a new take)
    clip_shown = Signal(object)  # the clip on show, or None (a bin item, nothing): the take switcher follows

    def __init__(
        self, doc: TimelineDocument, parent: QWidget | None = None, undo_stack: QUndoStack | None = None
    ) -> None:
        """`undo_stack` takes the grade edits (the window's stack); without one the inspector has its own."""
        super().__init__(parent)
        self.setObjectName("inspector")
        self._doc = doc
        self._clip_id: str | None = None
        self._media_id: str | None = None
        self._generation: dict[str, Any] | None = None

        self._title = QLabel(objectName="inspectorTitle")
        self._title.setWordWrap(True)
        self._title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._empty = QLabel("Select a clip or a bin item to see its details.", objectName="inspectorEmpty")
        self._empty.setWordWrap(True)

        self._form_host = QWidget(objectName="inspectorForm")
        self._form = QFormLayout(self._form_host)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setHorizontalSpacing(12)
        self._form.setVerticalSpacing(6)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)

        self.regenerate_button = QPushButton("Regenerate", objectName="regenerateButton")
        self.regenerate_button.setToolTip(
            "Queue a new take with these parameters and a new seed (tick 'Same seed' to repeat this one)"
        )
        self.regenerate_button.clicked.connect(self._regenerate)
        # Same seed makes the same picture: useful after changing a setting by hand, not as a default.
        self.same_seed_check = QCheckBox("Same seed", objectName="sameSeedCheck")
        self.same_seed_check.setToolTip("Regenerate with this clip's seed: the same settings, the same take")
        self.copy_seed_button = QPushButton("Copy seed", objectName="copySeedButton")
        self.copy_seed_button.clicked.connect(self._copy_seed)
        self._actions = QWidget()
        actions = QHBoxLayout(self._actions)
        actions.setContentsMargins(10, 6, 10, 8)
        actions.addWidget(self.regenerate_button)
        actions.addWidget(self.same_seed_check)
        actions.addWidget(self.copy_seed_button)
        actions.addStretch(1)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(10, 10, 10, 10)
        body_layout.setSpacing(10)
        body_layout.addWidget(self._title)
        body_layout.addWidget(self._empty)
        body_layout.addWidget(self._form_host)
        self.grade_panel = GradePanel(doc, undo_stack, body)
        body_layout.addWidget(self.grade_panel)
        # transform (pictures), gain and fades (sound), text (titles): issue 13
        self.clip_properties = ClipPropertiesPanel(doc, self.grade_panel.undo_stack, body)
        body_layout.addWidget(self.clip_properties)
        body_layout.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(self._actions)  # outside the scroll area: a long prompt never hides the buttons

        # The document outlives views; unsubscribe when this widget goes (the lambda holds no `self`).
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.clear()

    # ------------------------------------------------------------------------------------------ public
    def shown_media_id(self) -> str | None:
        """The bin item on show: the media of the shown clip, or the shown bin item; None when empty."""
        if self._clip_id is not None:
            try:
                return self._doc.clip(self._clip_id).media_id
            except AppError:
                return None
        return self._media_id

    def shown_clip_id(self) -> str | None:
        return self._clip_id

    def clear(self) -> None:
        self._set_subject(None, None)
        self._show_grade(None)
        self._show_rows("", [], None)

    def show_clip(self, clip_id: str) -> None:
        try:
            clip = self._doc.clip(clip_id)
        except AppError:
            self.clear()
            return
        self._set_subject(clip_id, None)
        rate = self._doc.rate
        end = clip.start.value + clip.duration.value
        rows = [("Timeline in", self._tc(clip.start.value, rate)), ("Timeline out", self._tc(end, rate))]
        rows.append(("Duration", self._tc(clip.duration.value, rate)))
        rows.append(("Source in", self._tc(clip.source_start.value, rate)))
        if clip.speed != 1.0:  # a retime (OTIO LinearTimeWarp): nearest frame, sound resampled
            from ui.timeline.items import speed_badge

            rows.append(("Speed", speed_badge(clip.speed)))
        track = next((t for t in self._doc.tracks() if t.id == clip.track_id), None)
        if track is not None:
            rows.append(("Track", track.name))
        is_picture = track is not None and track.kind == TrackKind.VIDEO and clip.title is None
        self._show_grade(clip_id if is_picture else None)  # a title is drawn over the graded picture
        generation = clip.generation
        media = self._media(clip.media_id)
        if media is not None:
            rows = [("Path", media.path), *rows, *self._info_rows(media)]
            # The clip records how its first media was made; after a take switch or an inpaint the media
            # on show is another take, and its own record is the one that describes the picture.
            generation = media.generation or generation
        self._show_rows(clip.name, rows, generation)

    def show_media(self, media_id: str) -> None:
        media = self._media(media_id)
        if media is None:
            self.clear()
            return
        self._set_subject(None, media_id)
        self._show_grade(None)
        rows = [("Path", media.path), ("Kind", media.kind)]
        if media.take_of:
            source = self._media(media.take_of)
            rows.append(("Take", f"{media.take} of {source.name if source else 'a removed clip'}"))
        rows += self._info_rows(media)
        self._show_rows(media.name, rows, media.generation)

    # ----------------------------------------------------------------------------------------- helpers
    def _set_subject(self, clip_id: str | None, media_id: str | None) -> None:
        changed = clip_id != self._clip_id or (clip_id is None and media_id != self._media_id)
        self._clip_id, self._media_id = clip_id, media_id
        if clip_id != self.clip_properties.clip_id:
            self.clip_properties.set_clip(clip_id)
        if changed:
            self.clip_shown.emit(clip_id)

    def _media(self, media_id: str | None):  # -> MediaItem | None
        if not media_id:
            return None
        try:
            return self._doc.bin_item(media_id)
        except (AppError, KeyError):
            return None

    @staticmethod
    def _tc(frames: float, rate: float) -> str:
        return f"{format_timecode(int(round(frames)), rate)}  ({int(round(frames))})"

    @staticmethod
    def _info_rows(media) -> list[tuple[str, str]]:
        info = media.info
        if info is None:
            return [("Media", "not readable: relink it from the media bin")]
        rows: list[tuple[str, str]] = []
        if info.still:
            codec = f"{info.video_codec or '?'} {info.pix_fmt or ''}".rstrip()
            rows.append(("Picture", f"{info.width}×{info.height}, {codec} (a still)"))
        elif info.has_video:
            fps = f"{float(info.fps):.3f}".rstrip("0").rstrip(".") if info.fps else "?"
            rows.append(("Video", f"{info.width}×{info.height}, {fps} fps, {info.video_codec or '?'}"))
            rows.append(("Frames", f"{info.frame_count} ({info.duration_seconds:.2f} s)"))
        if info.has_audio:
            rows.append(("Audio", f"{info.audio_codec or '?'}, {info.sample_rate} Hz, {info.channels} ch"))
        rows.append(("Container", info.container))
        return rows

    def _show_grade(self, clip_id: str | None) -> None:
        # Grades belong to pictures: the panel shows for clips on video tracks only.
        if clip_id != self.grade_panel.clip_id:
            self.grade_panel.set_clip(clip_id)
        self.grade_panel.setVisible(clip_id is not None)

    def _show_rows(self, title: str, rows: list[tuple[str, str]], generation: dict | None) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._generation = dict(generation) if generation else None
        for label, text in rows:
            self._add_row(label, text)
        if self._generation:
            heading = QLabel("Generation", objectName="inspectorSection")
            self._form.addRow(heading)
            for label, text in generation_rows(self._generation):
                self._add_row(label, text)
        self._title.setText(title)
        self._title.setVisible(bool(title))
        self._empty.setVisible(not title)
        self._form_host.setVisible(bool(rows))
        self._actions.setVisible(self._generation is not None)
        self.copy_seed_button.setEnabled(bool(self._generation and self._generation.get("seed") is not None))

    def _add_row(self, label: str, text: str) -> None:
        value = QLabel(text, objectName="inspectorValue")
        value.setWordWrap(True)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        name = QLabel(label, objectName="inspectorLabel")
        name.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._form.addRow(name, value)

    def field_text(self, label: str) -> str | None:
        """The text shown for `label` (first match), or None: what a test or a screen reader reads."""
        for row in range(self._form.rowCount()):
            name = self._form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            value = self._form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if name and value and name.widget().text() == label:
                return value.widget().text()
        return None

    def _regenerate(self) -> None:
        if self._generation:
            self.regenerate_requested.emit(dict(self._generation), self.same_seed_check.isChecked())

    def _copy_seed(self) -> None:
        if self._generation and self._generation.get("seed") is not None:
            QGuiApplication.clipboard().setText(str(self._generation["seed"]))

    def _on_document_changed(self, change) -> None:
        # Re-read what is shown: it may have been trimmed, relinked, or removed by an undo.
        if change.kind == "markers":
            return
        if self._clip_id is not None:
            self.show_clip(self._clip_id)
        elif self._media_id is not None:
            self.show_media(self._media_id)

"""The History panel and the generation workflow around it (issue 14).

`HistoryPanel` lists the project's jobs (app.jobs.history: generations, variations, gap fills, inpaints and
extends; finished, failed with their message, or cancelled) newest first, each with its thumbnail and a ✓
on the take the timeline shows. For the selected entry: Reuse Settings (fills the Generate panel), New Seed
(the same settings again with a new seed), Queue Variations (N new seeds, or the seed kept and guidance or
a LoRA's strength swept over a range), Compare (the batch side by side in the viewer's place:
ui.variations_grid) and Apply as Take (the clip on the timeline switches to it, one undo step).

`GenerationWorkflow` is the wiring: it owns the project's history (kept in the project folder, carried along
when the project is first saved or saved as another), records every job that ends, submits variation batches
and gap fills through the job queue (kinds "variations" and "gapfill", app.jobs.kinds), and shows the
variations grid. The main window creates one and binds it to each session.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import TrackKind, placement
from app.errors import AppError, JobError
from app.jobs.gapfill import Gap, gap_fill_spec
from app.jobs.history import (
    GENERATION_KINDS,
    KIND_EXTEND,
    KIND_GAPFILL,
    KIND_GENERATE,
    KIND_INPAINT,
    KIND_VARIATION,
    PROJECT_MAX_ENTRIES,
    HistoryEntry,
    JobHistory,
    carry_folder,
)
from app.jobs.spec import JobSpec
from app.jobs.variations import GUIDANCE, LORA, MAX_VARIATIONS, SEED, VariationPlan, expand, new_batch_id
from app.project.paths import scratch_dir
from ui.variations_grid import APPLIED_MARK, GridCell, VariationsGrid

KIND_LABELS = {
    KIND_GENERATE: "Generation", KIND_VARIATION: "Variation", KIND_GAPFILL: "Gap fill",
    KIND_INPAINT: "Inpaint", KIND_EXTEND: "Extend",
}  # fmt: skip
THUMB = QSize(96, 54)
ENTRY_ROLE = Qt.ItemDataRole.UserRole


def entry_text(entry: HistoryEntry, applied: bool) -> str:
    """Three lines: what it is (✓ when the timeline shows it), the prompt, the outcome and when."""
    what = entry.variation or (f"seed {entry.seed}" if entry.seed is not None else "")
    kind = KIND_LABELS.get(entry.kind, entry.kind.capitalize())
    head = (f"{APPLIED_MARK} " if applied else "") + kind + (f" · {what}" if what else "")
    prompt = entry.prompt if len(entry.prompt) <= 48 else entry.prompt[:47] + "…"
    moment = datetime.datetime.fromtimestamp(entry.finished_at)
    when = moment.strftime("%H:%M" if moment.date() == datetime.date.today() else "%Y-%m-%d %H:%M")
    outcome = entry.status + (f": {entry.error}" if entry.error else "")
    return f"{head}\n{prompt}\n{outcome} — {when}"


class HistoryPanel(QWidget):
    reuse_requested = Signal(object)  # HistoryEntry
    regenerate_requested = Signal(object)  # HistoryEntry
    variations_requested = Signal(object, object)  # HistoryEntry, VariationPlan
    apply_requested = Signal(object)  # HistoryEntry
    compare_requested = Signal(object)  # HistoryEntry

    def __init__(self, history: JobHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.history = history
        self._icons: dict[str, QIcon] = {}  # entry id -> its thumbnail (read from disk once)
        self._lora_entry: str | None = ""  # the entry whose LoRAs the sweep's list shows
        self.is_applied: Callable[[HistoryEntry], bool] = lambda _entry: False
        self.has_batch: Callable[[HistoryEntry], bool] = lambda entry: bool(entry.batch)
        self.list = QListWidget(objectName="historyList")
        self.list.setIconSize(THUMB)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda _item: self._emit(self.compare_requested))
        self.empty_label = QLabel("No jobs yet: every generation of this project is listed here.",
                                  objectName="historyEmpty")  # fmt: skip
        self.empty_label.setWordWrap(True)

        self.reuse_button = QPushButton("Reuse Settings", objectName="historyReuseButton")
        self.reuse_button.setToolTip("Put this job's prompt and settings in the Generate panel")
        self.reuse_button.clicked.connect(lambda: self._emit(self.reuse_requested))
        self.regenerate_button = QPushButton("New Seed", objectName="historyRegenerateButton")
        self.regenerate_button.setToolTip("Queue these settings again with a new seed (a new take)")
        self.regenerate_button.clicked.connect(lambda: self._emit(self.regenerate_requested))
        self.apply_button = QPushButton("Apply as Take", objectName="historyApplyButton")
        self.apply_button.setToolTip("Show this result in its clip's place on the timeline (undoable)")
        self.apply_button.clicked.connect(lambda: self._emit(self.apply_requested))
        self.compare_button = QPushButton("Compare", objectName="historyCompareButton")
        self.compare_button.setToolTip("Its batch of variations side by side in the viewer ([ and ] cycle)")
        self.compare_button.clicked.connect(lambda: self._emit(self.compare_requested))
        buttons = QGridLayout()
        buttons.addWidget(self.reuse_button, 0, 0)
        buttons.addWidget(self.regenerate_button, 0, 1)
        buttons.addWidget(self.apply_button, 1, 0)
        buttons.addWidget(self.compare_button, 1, 1)

        self.count_spin = QSpinBox(objectName="variationCount")
        self.count_spin.setRange(1, MAX_VARIATIONS)
        self.count_spin.setValue(4)
        self.parameter_combo = QComboBox(objectName="variationParameter")
        self.parameter_combo.addItem("New seeds", SEED)
        self.parameter_combo.addItem("Guidance sweep (seed kept)", GUIDANCE)
        self.parameter_combo.addItem("LoRA strength sweep (seed kept)", LORA)
        self.parameter_combo.currentIndexChanged.connect(self._parameter_changed)
        self.lora_combo = QComboBox(objectName="variationLora")
        self.from_spin = QDoubleSpinBox(objectName="variationFrom", decimals=2, singleStep=0.5)
        self.to_spin = QDoubleSpinBox(objectName="variationTo", decimals=2, singleStep=0.5)
        for spin in (self.from_spin, self.to_spin):
            spin.setRange(-4.0, 30.0)
        self.queue_button = QPushButton("Queue Variations", objectName="queueVariationsButton")
        self.queue_button.clicked.connect(self._queue_variations)
        box = QGroupBox("Variations", objectName="variationsBox")
        form = QGridLayout(box)
        form.addWidget(QLabel("Count"), 0, 0)
        form.addWidget(self.count_spin, 0, 1)
        form.addWidget(self.parameter_combo, 1, 0, 1, 2)
        form.addWidget(self.lora_combo, 2, 0, 1, 2)
        self.range_row = QWidget()
        range_layout = QHBoxLayout(self.range_row)
        range_layout.setContentsMargins(0, 0, 0, 0)
        range_layout.addWidget(QLabel("from"))
        range_layout.addWidget(self.from_spin)
        range_layout.addWidget(QLabel("to"))
        range_layout.addWidget(self.to_spin)
        form.addWidget(self.range_row, 3, 0, 1, 2)
        form.addWidget(self.queue_button, 4, 0, 1, 2)

        self.message_label = QLabel(objectName="historyMessage")
        self.message_label.setWordWrap(True)
        # in a scroll area: the dock shares its column with the bin and the jobs, and must not make the
        # window taller than a small screen
        content = QWidget(objectName="historyContent")
        scroll = QScrollArea(objectName="historyScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.list.setMinimumHeight(160)
        layout = QVBoxLayout(content)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)
        layout.addWidget(box)
        layout.addWidget(self.message_label)
        history.changed.connect(self.refresh)
        self._parameter_changed()
        self.refresh()

    # ------------------------------------------------------------------------------------------ public
    def current_entry(self) -> HistoryEntry | None:
        item = self.list.currentItem()
        return self.history.entry(item.data(ENTRY_ROLE)) if item is not None else None

    def select(self, entry_id: str) -> bool:
        for row in range(self.list.count()):
            if self.list.item(row).data(ENTRY_ROLE) == entry_id:
                self.list.setCurrentRow(row)
                return True
        return False

    def items(self) -> list[QListWidgetItem]:
        return [self.list.item(row) for row in range(self.list.count())]

    def item_text(self, entry_id: str) -> str:
        return next((i.text() for i in self.items() if i.data(ENTRY_ROLE) == entry_id), "")

    def plan(self) -> VariationPlan:
        return VariationPlan(
            self.count_spin.value(),
            self.parameter_combo.currentData(),
            self.from_spin.value(),
            self.to_spin.value(),
            str(self.lora_combo.currentData() or ""),
        )

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #ff8a80;" if error else "")

    def refresh(self) -> None:
        current = self.list.currentItem().data(ENTRY_ROLE) if self.list.currentItem() is not None else None
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self.history.entries():
            item = QListWidgetItem(entry_text(entry, self.is_applied(entry)))
            item.setData(ENTRY_ROLE, entry.id)
            item.setToolTip(entry.prompt + (f"\n\n{entry.error}" if entry.error else ""))
            item.setIcon(self._icon(entry))
            if entry.status != "done":
                item.setForeground(Qt.GlobalColor.gray if entry.status == "cancelled" else Qt.GlobalColor.red)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if current is None or not self.select(current):
            self.list.setCurrentRow(0 if self.list.count() else -1)
        self.empty_label.setVisible(self.list.count() == 0)
        self._update_buttons()

    def refresh_marks(self) -> None:
        """The ✓ marks again (after an edit): the texts only, no list rebuild."""
        for item in self.items():
            entry = self.history.entry(item.data(ENTRY_ROLE))
            if entry is not None:
                text = entry_text(entry, self.is_applied(entry))
                if item.text() != text:
                    item.setText(text)
        self._update_buttons()

    # ------------------------------------------------------------------------------------------ inside
    def _icon(self, entry: HistoryEntry) -> QIcon:
        icon = self._icons.get(entry.id)
        if icon is None:
            path = self.history.thumbnail_path(entry)
            pixmap = QPixmap(str(path)) if path is not None else QPixmap()
            if pixmap.isNull():
                pixmap = QPixmap(THUMB)
                pixmap.fill(Qt.GlobalColor.black)
            icon = self._icons[entry.id] = QIcon(pixmap)
        return icon

    def _emit(self, signal) -> None:  # noqa: ANN001
        entry = self.current_entry()
        if entry is not None:
            signal.emit(entry)

    def _queue_variations(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.variations_requested.emit(entry, self.plan())

    def _update_buttons(self, *_args: Any) -> None:
        entry = self.current_entry()
        generation = entry is not None and entry.kind in GENERATION_KINDS
        self.reuse_button.setEnabled(entry is not None and entry.kind != KIND_EXTEND)
        for widget in (self.regenerate_button, self.queue_button):
            widget.setEnabled(generation)
        made = entry is not None and entry.status == "done" and bool(entry.media_id)
        self.apply_button.setEnabled(made and not self.is_applied(entry))
        self.compare_button.setEnabled(entry is not None and self.has_batch(entry))
        shown = entry.id if entry is not None else None
        if shown == self._lora_entry:
            return  # the same entry (an edit elsewhere): keep the LoRA chosen for its sweep
        self._lora_entry = shown
        self.lora_combo.clear()
        for lora in (entry.parameters.get("loras") or []) if entry is not None else []:
            if isinstance(lora, dict) and lora.get("path"):
                self.lora_combo.addItem(Path(str(lora["path"])).stem, str(lora["path"]))
        self._parameter_changed()

    def _parameter_changed(self, *_args: Any) -> None:
        parameter = self.parameter_combo.currentData()
        self.range_row.setVisible(parameter != SEED)
        self.lora_combo.setVisible(parameter == LORA)
        if parameter == GUIDANCE and self.from_spin.value() < 1.0:
            self.from_spin.setValue(2.0)
            self.to_spin.setValue(6.0)
        elif parameter == LORA and (self.from_spin.value() > 4.0 or self.to_spin.value() > 4.0):
            self.from_spin.setValue(0.0)
            self.to_spin.setValue(1.0)


class GenerationWorkflow(QObject):
    """History, variations, the variations grid and gap fill, wired to the main window `window`."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._root = self.project_root(window.session)
        self.history = JobHistory(self._root / "history", self, max_entries=PROJECT_MAX_ENTRIES, kinds=None)
        self.panel = HistoryPanel(self.history)
        self.panel.is_applied = self.is_applied
        self.panel.has_batch = lambda entry: bool(entry.batch or self.history.batches_from(entry))
        self.panel.reuse_requested.connect(self.reuse)
        self.panel.regenerate_requested.connect(self.regenerate)
        self.panel.variations_requested.connect(self.queue_variations)
        self.panel.apply_requested.connect(self.apply_entry)
        self.panel.compare_requested.connect(self.compare)
        self.grid: VariationsGrid | None = None
        self.gap_dialog = None
        self._batch_on_show: tuple[str, str] | None = None  # (batch id, source entry id)
        self._session: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._used: set[str] | None = None  # media ids the timeline shows (cached until the next change)
        self._refresh_timer = QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self._refresh_views)
        jobs = window.jobs
        jobs.job_finished.connect(lambda job_id, _item: self._record(job_id))
        jobs.job_failed.connect(lambda job_id, _text: self._record(job_id))
        jobs.job_cancelled.connect(self._record)
        self.history.changed.connect(self._refresh_grid)

    # ------------------------------------------------------------------------------------------ sessions
    @staticmethod
    def project_root(session: Any) -> Path:
        """The project folder, or the scratch folder of a project never saved."""
        return Path(session.path) if session.path is not None else scratch_dir(session.session_id)

    @property
    def keyframes_dir(self) -> Path:
        return self._root / "keyframes"

    def bind_session(self, session: Any) -> None:
        """A new project is open: its own history; the grid goes into the viewer's place."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._session = session
        self._root = self.project_root(session)
        recovered = getattr(session, "recovered_from", None)
        if recovered is not None and session.path is None:  # a crashed, never-saved project's history
            old = scratch_dir(recovered.session_id)
            self.history.set_folder(old / "history")
            self.history.set_folder(self._root / "history", carry=True)
            carry_folder(old / "keyframes", self._root / "keyframes")
        else:
            self.history.set_folder(self._root / "history")
        session.path_changed.connect(lambda _path, s=session: self._follow_project(s))
        self._unsubscribe = session.doc.subscribe(lambda _change: self._changed())
        window = self.window
        self.grid = VariationsGrid(window.thumbnails)
        self.grid.hide()
        self.grid.apply_requested.connect(lambda entry_id: self.apply_entry(self.history.entry(entry_id)))
        self.grid.closed.connect(self.close_grid)
        window.central_host.layout().addWidget(self.grid)
        self._batch_on_show = None
        if window.timeline is not None:
            window.timeline.playhead_changed.connect(lambda _f: self._update_grid_frame())
            window.timeline.gap_fill_requested.connect(self.open_gap_fill)
        if window.viewer is not None:
            window.viewer.position_changed.connect(lambda _f: self._update_grid_frame())
        self._changed()

    def _follow_project(self, session: Any) -> None:
        """Saved for the first time, or saved as another project: the history and the keyframe images
        move into the project folder with it."""
        if session is not self._session:
            return
        old, self._root = self._root, self.project_root(session)
        self.history.set_folder(self._root / "history", carry=True)
        carry_folder(old / "keyframes", self._root / "keyframes")

    def _record(self, job_id: str) -> None:
        try:
            job = self.window.jobs.job(job_id)
        except KeyError:
            return
        self.history.record(job)

    # ------------------------------------------------------------------------------------------ applied
    def used_media(self) -> set[str]:
        if self._used is None:
            doc = self._session.doc
            self._used = {
                c.media_id for t in doc.tracks(TrackKind.VIDEO) for c in doc.clips(t.id) if c.media_id
            }
        return self._used

    def is_applied(self, entry: HistoryEntry) -> bool:
        return bool(entry.media_id) and self._session is not None and entry.media_id in self.used_media()

    def _changed(self) -> None:
        self._used = None
        self._refresh_timer.start()

    def _refresh_views(self) -> None:
        self.panel.refresh_marks()
        self._refresh_grid()

    # ------------------------------------------------------------------------------------------ actions
    def reuse(self, entry: HistoryEntry) -> None:
        if entry.kind == KIND_INPAINT:
            self.window.regenerate(dict(entry.parameters))  # the Inpaint panel takes its settings
            return
        try:
            spec = entry.spec()
        except JobError as exc:
            self.panel.show_message(str(exc), error=True)
            return
        self.window.reuse_job_settings(spec)
        self.panel.show_message(f"Settings loaded into the Generate panel (seed {spec.seed}).")

    def regenerate(self, entry: HistoryEntry) -> list[str]:
        """The same settings with a new seed: a new take, filed with the entry's variations."""
        return self.queue_variations(entry, VariationPlan(1))

    def queue_variations(self, entry: HistoryEntry, plan: VariationPlan) -> list[str]:
        """Queue a batch made from `entry` (each a take of its clip); returns the job ids."""
        try:
            base = entry.spec()
            batch_id = entry.batch or next(iter(self.history.batches_from(entry)), "") or new_batch_id()
            variations = expand(base, plan, take_of=self._take_root(entry))
        except JobError as exc:
            self.panel.show_message(str(exc), error=True)
            return []
        first = max((e.batch_index for e in self.history.batch(batch_id)), default=-1) + 1
        source = self.history.entry(entry.source) if entry.source else entry
        job_ids = []
        for offset, variation in enumerate(variations):
            try:
                job_id = self.window.jobs.submit(variation.spec, kind="variations")
            except AppError as exc:
                self.panel.show_message(str(exc), error=True)
                break
            self.history.expect(job_id, batch=batch_id, batch_index=first + offset, variation=variation.label,
                                source=source.id if source is not None else entry.id)  # fmt: skip
            job_ids.append(job_id)
        if job_ids:
            what = (
                "a new seed" if plan.count == 1 and plan.parameter == SEED else f"{len(job_ids)} variations"
            )
            text = f"Queued {what}: " + ", ".join(v.label for v in variations[: len(job_ids)])
            self.panel.show_message(text)
            self.window.show_message(text)
            self._batch_on_show = (batch_id, source.id if source is not None else entry.id)
        return job_ids

    def _take_root(self, entry: HistoryEntry) -> str | None:
        if not entry.media_id or self._session is None:
            return None
        try:
            item = self._session.doc.bin_item(entry.media_id)
        except AppError:
            return None
        return item.take_of or item.id

    def apply_entry(self, entry: HistoryEntry | None) -> list[str]:
        """Show `entry`'s clip on the timeline as one undo step: in place of the clip that shows one of its
        takes (the selected clip first), else inserted at the playhead."""
        if entry is None:
            return []
        doc, stack = self._session.doc, self._session.stack
        try:
            item = doc.bin_item(entry.media_id) if entry.media_id else None
        except AppError:
            item = None
        if item is None:
            self.panel.show_message(
                "This job made no clip (or its clip left the bin); nothing to apply.", True
            )
            return []
        family = {i.id for i in doc.takes(item.id)}
        timeline = self.window.timeline
        selected = timeline.selected_clip_ids() if timeline is not None else []
        clips = [doc.clip(c) for c in selected] + [
            c for t in doc.tracks(TrackKind.VIDEO) for c in doc.clips(t.id)
        ]
        target = next((c for c in clips if c.media_id in family), None)
        label = entry.variation or item.name
        try:
            if target is not None:
                if target.media_id == item.id:
                    self.panel.show_message(f"{label} is already on the timeline.")
                    return [target.id]
                created = push_edit(stack, doc, f"Apply {label}",
                                    lambda d: d.set_clip_media(target.id, item.id, linked=True))  # fmt: skip
            else:
                frame = self.window.playhead()
                place = lambda d: placement.place_generated(d, item.id, playhead=frame)  # noqa: E731
                created = push_edit(stack, doc, f"Apply {label}", place)
        except AppError as exc:
            self.panel.show_message(str(exc), error=True)
            return []
        self.window.show_message(f"Applied {label} as the clip's take")
        self.panel.show_message(f"Applied {label}.")
        return list(created)

    # ------------------------------------------------------------------------------------------ the grid
    def compare(self, entry: HistoryEntry | None = None) -> bool:
        """Show the batch of `entry` (or the last one queued) side by side in the viewer's place."""
        if entry is not None:
            batch = entry.batch or next(iter(self.history.batches_from(entry)), "")
            source = entry.source if entry.batch else entry.id
            if not batch:
                self.panel.show_message("No variations of this job yet: queue some first.", error=True)
                return False
            self._batch_on_show = (batch, source)
        if self._batch_on_show is None or self.grid is None:
            return False
        self._refresh_grid()
        if not self.grid.cells():
            self.panel.show_message("None of this batch has finished yet.", error=True)
            return False
        viewer_row = self.window.viewer.parentWidget() if self.window.viewer is not None else None
        if viewer_row is not None:
            viewer_row.hide()
        self.grid.show()
        self._update_grid_frame()
        return True

    def compare_selected(self) -> bool:
        """Ctrl+Shift+G: the History panel's entry's batch, or the last batch queued; closes when shown."""
        if self.grid_shown():
            self.close_grid()
            return False
        entry = self.panel.current_entry()
        return self.compare(entry if entry is not None and self.panel.has_batch(entry) else None)

    def close_grid(self) -> None:
        if self.grid is not None:
            self.grid.hide()
        if self.window.viewer is not None:
            self.window.viewer.parentWidget().show()

    def grid_shown(self) -> bool:
        return self.grid is not None and self.grid.isVisible()

    def cycle(self, step: int) -> None:
        """[ and ]: the next or previous variation (the grid opens on the last batch when closed)."""
        if not self.grid_shown():
            self.compare_selected()
            return
        self.grid.cycle(step)

    def _batch_entries(self) -> list[HistoryEntry]:
        if self._batch_on_show is None:
            return []
        batch_id, source_id = self._batch_on_show
        source = self.history.entry(source_id)
        members = self.history.batch(batch_id)
        return ([source] if source is not None and source.batch != batch_id else []) + members

    def _refresh_grid(self) -> None:
        if self.grid is None or self._batch_on_show is None or self._session is None:
            return
        doc = self._session.doc
        cells, entries = [], self._batch_entries()
        for entry in entries:
            if entry.status != "done" or not entry.media_id:
                continue
            try:
                item = doc.bin_item(entry.media_id)
            except AppError:
                continue
            label = entry.variation or (f"seed {entry.seed}" if entry.seed is not None else item.name)
            if entry.batch != self._batch_on_show[0]:
                label = f"original · {label}"
            frames = item.info.frame_count if item.info is not None else 1
            cells.append(GridCell(entry.id, item.path, frames, label, self.is_applied(entry)))
        waiting = len(entries) - len(cells)
        prompt = entries[0].prompt if entries else ""
        title = f"{len(cells)} takes of “{prompt[:40]}”" + (f" ({waiting} not done)" if waiting else "")
        if cells != self.grid.cells() or self.grid.title.text() != title:
            self.grid.set_batch(cells, title, frame=self.relative_frame(cells))
        self._update_grid_frame()

    def _update_grid_frame(self) -> None:
        if not self.grid_shown() or self._session is None:
            return
        self.grid.set_frame(self.relative_frame())

    def relative_frame(self, cells: list[GridCell] | None = None) -> int:
        """The playhead's frame inside the batch's clip on the timeline (0 when none shows one)."""
        doc = self._session.doc
        if cells is None:
            cells = self.grid.cells() if self.grid is not None else []
        ids = {c.entry_id for c in cells}
        media = {e.media_id for e in self.history.entries() if e.id in ids and e.media_id}
        family = {i.id for m in media for i in _takes(doc, m)}
        playhead = self.window.playhead()
        rate = doc.rate
        for track in doc.tracks(TrackKind.VIDEO):
            for clip in doc.clips(track.id):
                if clip.media_id in family:
                    start = round(clip.start.rescaled_to(rate).value)
                    source = round(clip.source_start.rescaled_to(rate).value)
                    duration = round(clip.duration.rescaled_to(rate).value)
                    return source + max(0, min(playhead - start, duration - 1))
        return 0

    # ------------------------------------------------------------------------------------------ gap fill
    def open_gap_fill(self, gap: Gap | None = None):  # noqa: ANN201 -- the dialog, or None
        from ui.gap_fill_dialog import GapFillDialog
        from ui.generate_panel import random_seed

        timeline = self.window.timeline
        gap = gap if gap is not None else (timeline.selected_gap() if timeline is not None else None)
        if gap is None:
            self.window.show_message("Select a gap first: click the empty track between two clips.")
            return None
        doc = self._session.doc
        if doc.track_info(gap.track_id).kind is not TrackKind.VIDEO:
            self.window.show_message("Gap fill makes pictures: select a gap on a video track.")
            return None
        base = self._gap_base(gap)
        before, after = doc.clip(gap.before).name, doc.clip(gap.after).name
        dialog = GapFillDialog(gap, doc.rate, before, after, base, random_seed(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.queue_requested.connect(
            lambda prompt, seed: self._queue_gap_fill(dialog, gap, base, prompt, seed)
        )
        self.gap_dialog = dialog
        dialog.open()
        return dialog

    def _gap_base(self, gap: Gap) -> JobSpec:
        """The clip before's own settings (model, size, recipe, LoRAs), else the Generate panel's."""
        doc = self._session.doc
        clip = doc.clip(gap.before)
        generation = clip.generation
        if not generation and clip.media_id:
            generation = doc.bin_item(clip.media_id).generation
        if generation and generation.get("kind") in (None, "generate"):
            try:
                return JobSpec.from_generation(generation)
            except (AppError, KeyError, TypeError, ValueError):
                pass
        try:
            return self.window.generate_panel.current_spec()
        except JobError:
            return JobSpec(prompt=self.window.generate_panel.prompt_edit.toPlainText().strip())

    def _queue_gap_fill(self, dialog: Any, gap: Gap, base: JobSpec, prompt: str, seed: int) -> str | None:
        try:
            spec = gap_fill_spec(base.with_changes(seed=seed, name=""), self._session.doc, gap,
                                 self.keyframes_dir, prompt)  # fmt: skip
            job_id = self.window.jobs.submit(spec)
        except AppError as exc:
            dialog.show_error(str(exc))
            return None
        dialog.accept()
        self.window.show_message(f"Queued a gap fill: {spec.detail}")
        return job_id


def _takes(doc: Any, media_id: str) -> list[Any]:
    try:
        return doc.takes(media_id)
    except AppError:
        return []

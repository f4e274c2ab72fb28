"""File > Export...: render the timeline (or the viewer's in/out range) to a delivery preset.

Non-modal: the user can keep working on the project while it is open. In the studio (``submit`` given)
Export hands an ``ExportRequest`` (a snapshot of the document taken at that moment) to the render queue
(app.jobs.JobQueue's render lane) and closes: progress, ETA, cancel and the written file are in the Jobs
panel, and several exports wait in order there. A refusal (a destination that is a project folder or a
media file, say) is shown inline and nothing is queued.

Without ``submit`` (a standalone dialog), the render runs on the dialog's own
``app.export.runner.ExportRunner`` worker thread and the dialog shows progress, ETA and the outcome inline;
while that export runs the dialog closes only by cancelling it, which it asks inline. The last preset,
folder and Exact colour choice are kept in the injected QSettings.

**Exact colour** renders every frame through the float path and OpenColorIO itself
(``render_timeline(..., fast=False)``, ``aiprod-cli render --exact``) instead of sending frames that show one
source frame whole through the fast path (FFmpeg and a baked LUT, within about a code value).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.document import TimelineDocument
from app.errors import AppError
from app.export import ExportPreset, RenderReport
from app.export.runner import ExportRequest, ExportRunner, RenderFunction
from app.media.compositor import TimelineCompositor
from app.project.outputs import check_output_path

PRESET_KEY = "export/preset"
FOLDER_KEY = "export/folder"
EXACT_KEY = "export/exact"
EXACT_TOOLTIP = (
    "Off (the default): frames that show one source frame whole take the fast path, FFmpeg and a LUT "
    "baked from the grade, which differs from OpenColorIO by about one code value.\n"
    "On: every frame goes through the float path and OpenColorIO's own processors, for a master that must "
    "match OpenColorIO itself. Slower."
)

# (group title, the encoders that put a preset in it); the order is the list's order
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ProRes", ("prores_ks", "prores", "prores_aw")),
    ("H.265 / H.264", ("libx265", "libx264", "hevc", "h264")),
    ("DNxHR", ("dnxhd",)),
)
HARDWARE_GROUP = "Hardware encoders (GPU)"  # shown only for encoders that opened here (app.export.hardware)
SEQUENCE_GROUP = "Image sequences"
OTHER_GROUP = "Other"
GROUP_ORDER = (*(title for title, _codecs in GROUPS), HARDWARE_GROUP, SEQUENCE_GROUP, OTHER_GROUP)
AUDIO_NAMES = {"pcm_s24le": "PCM 24-bit", "pcm_s16le": "PCM 16-bit", "aac": "AAC"}
COMMON_SIZES: tuple[tuple[int, int], ...] = (
    (3840, 2160),
    (2560, 1440),
    (1920, 1080),
    (1280, 720),
    (960, 540),
)

# (destination suggested so far, True for a folder) -> the chosen path, or None when the user cancelled
ChooseDestination = Callable[[str, bool], str | None]


@dataclass(frozen=True)
class PresetFacts:
    """What the dialog shows about one ExportPreset."""

    name: str
    title: str
    group: str
    suffix: str  # ".mov"; for image sequences the images' suffix (the destination is a folder)
    sequence: bool
    technical: str  # one line: codec, pix_fmt, audio
    description: str  # the preset's own sentence (what it is for)
    weight: float = 0.0  # orders a group from lightest to heaviest (ProRes Proxy, LT, 422, HQ, 4444)


def facts(preset: ExportPreset) -> PresetFacts:
    """Describe an ExportPreset for the list and the summary."""
    if preset.is_sequence:
        seq = preset.sequence_format()
        audio = AUDIO_NAMES.get(seq.audio_codec, seq.audio_codec)
        alpha = f" / {seq.alpha_pix_fmt} with alpha" if seq.alpha_pix_fmt else ""
        technical = f"{seq.codec} {seq.bit_depth}-bit, {seq.pix_fmt}{alpha}, WAV {audio}"
        group, weight = SEQUENCE_GROUP, 0.0
    else:
        fmt = preset.delivery_format()
        audio = AUDIO_NAMES.get(fmt.audio_codec, fmt.audio_codec)
        tag = f" ({fmt.codec_tag})" if fmt.codec_tag else ""
        technical = f"{fmt.video_codec} {fmt.video_profile}{tag}, {fmt.pix_fmt}, audio {audio}"
        group = next((title for title, codecs in GROUPS if fmt.video_codec in codecs), OTHER_GROUP)
        group = HARDWARE_GROUP if preset.is_hardware else group
        weight = fmt.video_bits_per_pixel
    return PresetFacts(
        preset.name,
        preset.label,
        group,
        preset.extension,
        preset.is_sequence,
        technical,
        preset.description,
        weight,
    )


def with_destination_kind(path: str, preset: PresetFacts, known_suffixes: Iterable[str] = ()) -> str:
    """``path`` with the preset's suffix (a file), or without one (the folder of a sequence).

    Only a suffix of some preset is replaced, so a name like "take 1.2" keeps its ".2"."""
    if not path:
        return path
    p = Path(path)
    known = {s.lower() for s in known_suffixes} | {preset.suffix.lower()}
    stem = p.with_suffix("") if p.suffix.lower() in known else p
    return str(stem) if preset.sequence else str(stem) + preset.suffix


def safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^\w\- .]+", "_", name).strip(" .")
    return cleaned or "Untitled"


def format_timecode(frame: int, rate: float) -> str:
    """HH:MM:SS:FF non-drop, as ui.viewer shows it (kept here so the dialog needs none of the viewer)."""
    fps = max(1, round(rate))
    seconds, ff = divmod(max(0, int(frame)), fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return "estimating..."
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fast_path_note(report: RenderReport) -> str:
    """How many frames took the fast path, as aiprod-cli render says it."""
    return report.fast_path_note()


def _choose_with_dialogs(parent: QWidget) -> ChooseDestination:
    def choose(suggested: str, folder: bool) -> str | None:
        if folder:
            path = QFileDialog.getExistingDirectory(
                parent, "Export image sequence into", str(Path(suggested).parent)
            )
            # the sequence goes into a new folder named like the project, inside the one chosen
            return str(Path(path) / Path(suggested).name) if path else None
        path, _filter = QFileDialog.getSaveFileName(parent, "Export to", suggested)
        return path or None

    return choose


def _reveal_in_file_manager(path: Path) -> None:
    folder = path if path.is_dir() else path.parent
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ExportDialog(QDialog):
    """Preset, destination, range and size; Export renders on a worker thread with progress and cancel."""

    export_finished = Signal(str)  # the path written
    export_failed = Signal(str)  # the message shown
    export_cancelled = Signal()
    export_queued = Signal(str)  # the render queue's job id (the dialog closes after it)

    def __init__(
        self,
        doc: TimelineDocument,
        settings: QSettings,
        in_out: tuple[int | None, int | None] | None = None,
        parent: QWidget | None = None,
        *,
        presets: Sequence[ExportPreset] | None = None,
        render: RenderFunction | None = None,
        choose_destination: ChooseDestination | None = None,
        reveal: Callable[[Path], None] | None = None,
        project_folder: Callable[[], Path | None] | None = None,
        submit: Callable[[ExportRequest], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setObjectName("exportDialog")
        self.setModal(False)
        self.doc = doc
        self._settings = settings
        # render_timeline's convention: frames in .. out - 1; either side None = the timeline's start/end
        self._in_out = in_out if in_out is not None and in_out != (None, None) else None
        self._render = render
        self._choose = choose_destination or _choose_with_dialogs(self)
        self._reveal = reveal or _reveal_in_file_manager
        self._project_folder = project_folder or (lambda: None)  # asked at export time: Save As moves it
        self._submit = submit  # the render queue (raises AppError when it refuses); None: run it here
        self._runner: ExportRunner | None = None
        self._written: Path | None = None
        self._close_after_cancel = False
        if presets is None:
            from app.export import hardware
            from app.export import presets as preset_registry

            # hardware encoders only where they opened (probed once per session, cached)
            presets = preset_registry.available() + hardware.available_presets()
            self.hardware_note = hardware.summary()
        else:
            self.hardware_note = ""
        self._presets = {facts(p).name: p for p in presets}
        self._project_size = TimelineCompositor(doc).frame_size()
        self._build()
        self._restore_choices()
        self._update_summary()
        # The summary follows edits made while the dialog is open (it is not modal). A weak reference, so
        # the document's subscriber list does not keep a closed dialog alive.
        me = weakref.ref(self)

        def on_change(_change: object) -> None:
            dialog = me()
            if dialog is not None:
                dialog._update_summary()

        unsubscribe = doc.subscribe(on_change)
        self.destroyed.connect(lambda *_args: unsubscribe())

    # ------------------------------------------------------------------------------------ building
    def _build(self) -> None:
        self.preset_tree = QTreeWidget(objectName="exportPresetTree")
        self.preset_tree.setColumnCount(2)
        self.preset_tree.setHeaderLabels(["Preset", "Writes"])
        self.preset_tree.setRootIsDecorated(False)
        by_group: dict[str, QTreeWidgetItem] = {}
        described = sorted(
            (facts(p) for p in self._presets.values()),
            key=lambda f: (GROUP_ORDER.index(f.group), f.weight, f.name),
        )
        for info in described:
            header = by_group.get(info.group)
            if header is None:
                header = QTreeWidgetItem(self.preset_tree, [info.group])
                header.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: not selectable
                font = header.font(0)
                font.setBold(True)
                header.setFont(0, font)
                header.setFirstColumnSpanned(True)
                by_group[info.group] = header
            item = QTreeWidgetItem(header, [info.title, info.technical])
            item.setData(0, Qt.ItemDataRole.UserRole, info.name)
            for column in (0, 1):
                item.setToolTip(column, f"{info.description}\n({info.name})")
        self.preset_tree.expandAll()
        self.preset_tree.resizeColumnToContents(0)
        self.preset_tree.currentItemChanged.connect(self._on_preset_changed)

        self.destination_edit = QLineEdit(objectName="exportDestinationEdit")
        self.destination_edit.textEdited.connect(lambda _text: self._update_summary())
        self.browse_button = QPushButton("Choose…", objectName="exportBrowseButton")
        self.browse_button.clicked.connect(self._browse)
        destination = QWidget()
        row = QHBoxLayout(destination)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.destination_edit, 1)
        row.addWidget(self.browse_button)

        self.whole_radio = QRadioButton("Whole timeline", objectName="exportWholeRadio")
        self.range_radio = QRadioButton(objectName="exportInOutRadio")
        if self._in_out is not None:
            start, end = self._in_out
            rate = self.doc.rate
            shown_in = format_timecode(start, rate) if start is not None else "start"
            shown_out = format_timecode(end, rate) if end is not None else "end"
            self.range_radio.setText(f"In/out marks ({shown_in} – {shown_out})")
        else:
            self.range_radio.setText("In/out marks (none set in the viewer)")
            self.range_radio.setEnabled(False)
        self._range_group = QButtonGroup(self)
        self._range_group.addButton(self.whole_radio)
        self._range_group.addButton(self.range_radio)
        (self.range_radio if self._in_out is not None else self.whole_radio).setChecked(True)
        self._range_group.buttonToggled.connect(lambda *_args: self._update_summary())
        ranges = QWidget()
        range_row = QHBoxLayout(ranges)
        range_row.setContentsMargins(0, 0, 0, 0)
        range_row.addWidget(self.whole_radio)
        range_row.addWidget(self.range_radio)
        range_row.addStretch(1)

        self.size_combo = QComboBox(objectName="exportSizeCombo")
        width, height = self._project_size
        # item data "WxH" (a Python tuple does not survive the trip through QVariant); "" = project size
        self.size_combo.addItem(f"Sequence size ({width} × {height})", "")  # File > Sequence Settings
        for w, h in COMMON_SIZES:
            if (w, h) != self._project_size:
                self.size_combo.addItem(f"{w} × {h}", f"{w}x{h}")
        self.size_combo.currentIndexChanged.connect(lambda _i: self._update_summary())

        self.exact_check = QCheckBox(
            "Exact colour (every frame through OpenColorIO; slower)", objectName="exportExactCheck"
        )
        self.exact_check.setToolTip(EXACT_TOOLTIP)
        self.exact_check.toggled.connect(lambda _on: self._update_summary())

        self.summary_label = QLabel(objectName="exportSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.progress_bar = QProgressBar(objectName="exportProgress")
        self.progress_bar.setVisible(False)
        self.eta_label = QLabel(objectName="exportEta")
        self.status_label = QLabel(objectName="exportStatus")  # outcome and errors, inline
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.confirm_frame = QFrame(objectName="exportConfirmClose")
        self.confirm_frame.setFrameShape(QFrame.Shape.StyledPanel)
        confirm_row = QHBoxLayout(self.confirm_frame)
        confirm_row.addWidget(QLabel("An export is running. Cancel it and close?"), 1)
        self.confirm_cancel_button = QPushButton("Cancel Export and Close", objectName="exportConfirmYes")
        self.confirm_keep_button = QPushButton("Keep Exporting", objectName="exportConfirmNo")
        self.confirm_cancel_button.clicked.connect(self._cancel_and_close)
        self.confirm_keep_button.clicked.connect(lambda: self.confirm_frame.setVisible(False))
        confirm_row.addWidget(self.confirm_cancel_button)
        confirm_row.addWidget(self.confirm_keep_button)
        self.confirm_frame.setVisible(False)

        self.export_button = QPushButton("Export", objectName="exportStartButton")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel Export", objectName="exportCancelButton")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.cancel_button.setVisible(False)
        self.reveal_button = QPushButton("Reveal", objectName="exportRevealButton")
        self.reveal_button.clicked.connect(self._reveal_written)
        self.reveal_button.setVisible(False)
        self.close_button = QPushButton("Close", objectName="exportCloseButton")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reveal_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)

        form = QFormLayout()
        form.addRow("Destination", destination)
        form.addRow("Range", ranges)
        form.addRow("Size", self.size_combo)
        form.addRow("Colour", self.exact_check)
        self._inputs: list[QWidget] = [
            self.preset_tree,
            destination,
            self.whole_radio,
            self.range_radio,
            self.size_combo,
            self.exact_check,
        ]

        layout = QVBoxLayout(self)
        layout.addWidget(self.preset_tree, 1)
        self.hardware_label = QLabel(self.hardware_note, objectName="exportHardwareLabel")
        self.hardware_label.setWordWrap(True)
        self.hardware_label.setVisible(bool(self.hardware_note))
        layout.addWidget(self.hardware_label)
        layout.addLayout(form)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.confirm_frame)
        layout.addLayout(buttons)
        self.resize(720, 560)

    def _restore_choices(self) -> None:
        wanted = str(self._settings.value(PRESET_KEY, "") or "")
        items = self._preset_items()
        chosen = next((i for i in items if i.data(0, Qt.ItemDataRole.UserRole) == wanted), None)
        if chosen is None:
            chosen = next((i for i in items if i.data(0, Qt.ItemDataRole.UserRole) == "prores_422_hq"), None)
        if chosen is None and items:
            chosen = items[0]
        folder = str(self._settings.value(FOLDER_KEY, "") or "") or str(Path.home())
        # an INI file gives the bool back as the text "true"/"false"
        self.exact_check.setChecked(str(self._settings.value(EXACT_KEY, "false")).lower() in ("true", "1"))
        self.destination_edit.setText(str(Path(folder) / safe_file_name(self.doc.name)))
        if chosen is not None:
            self.preset_tree.setCurrentItem(chosen)  # applies the suffix through _on_preset_changed

    def _preset_items(self) -> list[QTreeWidgetItem]:
        items = []
        for g in range(self.preset_tree.topLevelItemCount()):
            header = self.preset_tree.topLevelItem(g)
            items.extend(header.child(c) for c in range(header.childCount()))
        return items

    # ------------------------------------------------------------------------------------ choices
    def select_preset(self, name: str) -> None:
        """Make ``name`` the chosen preset (as clicking it in the list would)."""
        for item in self._preset_items():
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                self.preset_tree.setCurrentItem(item)
                return
        raise KeyError(f"no export preset named {name!r}")

    def set_destination(self, path: str) -> None:
        self.destination_edit.setText(path)
        self._update_summary()

    def current_preset(self) -> ExportPreset | None:
        item = self.preset_tree.currentItem()
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return self._presets.get(name) if name else None

    def destination(self) -> Path | None:
        text = self.destination_edit.text().strip()
        return Path(text).expanduser() if text else None

    def frame_range(self) -> tuple[int | None, int | None]:
        """(in_frame, out_frame) for render_timeline: the first frame and one past the last; None = open."""
        if self.range_radio.isChecked() and self._in_out is not None:
            return self._in_out
        return None, None

    def output_size(self) -> tuple[int, int] | None:
        """None means the project size (the renderer's default)."""
        data = self.size_combo.currentData()
        if not data:
            return None
        width, height = str(data).split("x")
        return int(width), int(height)

    def exact(self) -> bool:
        """Every frame through the float path and OpenColorIO itself (no fast path)."""
        return self.exact_check.isChecked()

    def select_size(self, size: tuple[int, int] | None) -> None:
        index = self.size_combo.findData(f"{size[0]}x{size[1]}" if size else "")
        if index < 0:
            raise KeyError(f"no output size {size}")
        self.size_combo.setCurrentIndex(index)

    def _on_preset_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        preset = self.current_preset()
        if preset is not None:
            self.destination_edit.setText(self._with_kind(self.destination_edit.text(), preset))
        self._update_summary()

    def _browse(self) -> None:
        preset = self.current_preset()
        sequence = facts(preset).sequence if preset is not None else False
        chosen = self._choose(self.destination_edit.text(), sequence)
        if chosen:
            self.set_destination(self._with_kind(chosen, preset) if preset is not None else chosen)

    def _with_kind(self, path: str, preset: ExportPreset) -> str:
        return with_destination_kind(path, facts(preset), (p.extension for p in self._presets.values()))

    # ------------------------------------------------------------------------------------ summary
    def _frame_count(self) -> int:
        duration = int(round(self.doc.duration().rescaled_to(self.doc.rate).value))
        start, end = self.frame_range()
        return max(0, (duration if end is None else end) - (0 if start is None else start))

    def _update_summary(self) -> None:
        preset = self.current_preset()
        destination = self.destination()
        frames = self._frame_count()
        problem = None
        if preset is None:
            problem = "Choose a preset."
        elif destination is None:
            problem = "Choose where to write the export."
        elif frames <= 0:
            problem = "Nothing to export: the timeline (or the in/out range) is empty."
        if problem is not None:
            self.summary_label.setText(problem)
            self.export_button.setEnabled(False)
            return
        info = facts(preset)
        width, height = self.output_size() or self._project_size
        seconds = frames / self.doc.rate
        what = "an image sequence into the folder" if info.sequence else "the file"
        text = (
            f"Writes {what} {destination}\n{info.title}: {info.technical}\n"
            f"{width} × {height}, {self.doc.rate:g} fps, {frames} frames "
            f"({format_timecode(frames, self.doc.rate)}, {seconds:.2f} s)"
        )
        if self.exact():
            text += "\nExact colour: every frame through OpenColorIO itself (slower than the fast path)."
        if destination.exists():
            text += "\nReplaces what is there now once the export succeeds."
        self.summary_label.setText(text)
        self.export_button.setEnabled(not self.busy)

    # ------------------------------------------------------------------------------------ export
    @property
    def busy(self) -> bool:
        return self._runner is not None and self._runner.busy

    def start_export(self) -> None:
        preset = self.current_preset()
        destination = self.destination()
        if preset is None or destination is None or self.busy:
            return
        in_frame, out_frame = self.frame_range()
        try:  # the renderer checks too; asking here shows the refusal before a thread starts
            check_output_path(destination, self.doc, self._project_folder())
        except AppError as exc:
            self._on_failed(str(exc))
            return
        if self._runner is None:
            self._runner = ExportRunner(self._render, parent=self)
            self._runner.progress.connect(self._on_progress)
            self._runner.finished.connect(self._on_finished)
            self._runner.failed.connect(self._on_failed)
            self._runner.cancelled.connect(self._on_cancelled)
        if self._submit is not None:
            self._queue_export(preset, destination, in_frame, out_frame)
            return
        self._remember(preset, destination)
        self._written = None
        self.status_label.setText("Starting…")
        self.status_label.setStyleSheet("")
        self.reveal_button.setVisible(False)
        self.progress_bar.setRange(0, 0)  # busy until the first frame reports the total
        self.progress_bar.setVisible(True)
        self.eta_label.setText("")
        self._set_running(True)
        self._runner.start(
            self.doc, preset, destination, in_frame=in_frame, out_frame=out_frame, size=self.output_size(),
            exact=self.exact(),
        )  # fmt: skip

    def _remember(self, preset: ExportPreset, destination: Path) -> None:
        self._settings.setValue(PRESET_KEY, facts(preset).name)
        self._settings.setValue(FOLDER_KEY, str(destination.parent))
        self._settings.setValue(EXACT_KEY, self.exact())

    def _queue_export(
        self, preset: ExportPreset, destination: Path, in_frame: int | None, out_frame: int | None
    ) -> None:
        """Hand the export to the render queue and close; the document is copied now, so edits made from
        here on are not in this export."""
        request = ExportRequest.of(
            self.doc, preset, destination, in_frame=in_frame, out_frame=out_frame, size=self.output_size(),
            project_folder=self._project_folder(), render=self._render, exact=self.exact(),
        )  # fmt: skip
        try:
            job_id = self._submit(request)
        except AppError as exc:
            self._on_failed(str(exc))
            return
        self._remember(preset, destination)
        self.export_queued.emit(job_id)
        self.accept()

    def cancel_export(self) -> None:
        if self._runner is not None and self._runner.busy:
            self._runner.cancel()
            self.status_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        for widget in self._inputs:
            widget.setEnabled(not running)
        if not running and self._in_out is None:
            self.range_radio.setEnabled(False)
        self.export_button.setVisible(not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        if not running:
            self.confirm_frame.setVisible(False)
            self._update_summary()

    def _on_progress(self, done: int, total: int, eta: float) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)
        left = "estimating the time left" if eta < 0 else f"{format_eta(eta)} left"
        self.eta_label.setText(f"Frame {done} of {total} — {left}")
        if self._runner is not None and not self._runner.cancelling:  # "Starting…" ends at the first frame
            target = self.destination()
            self.status_label.setText(f"Exporting {target.name if target else ''}…")

    def _on_finished(self, report: RenderReport) -> None:
        self._written = Path(report.path)
        self._set_running(False)
        self.progress_bar.setValue(self.progress_bar.maximum())
        self.eta_label.setText("")
        self.status_label.setText(f"Exported {self._written}\n{fast_path_note(report)}")
        self.reveal_button.setVisible(True)
        self.export_finished.emit(str(self._written))

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress_bar.setVisible(False)
        self.eta_label.setText("")
        self.status_label.setStyleSheet("color: #e06c75;")
        self.status_label.setText(message)
        self.export_failed.emit(message)

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setVisible(False)
        self.eta_label.setText("")
        self.status_label.setText("Export cancelled; nothing was written.")
        self.export_cancelled.emit()
        if self._close_after_cancel:
            self._close_after_cancel = False
            super().reject()

    def _reveal_written(self) -> None:
        if self._written is not None:
            self._reveal(self._written)

    # ------------------------------------------------------------------------------------ closing
    def reject(self) -> None:
        """Close, Escape and the window's close button: while exporting, ask inline first."""
        if self.busy:
            self.confirm_frame.setVisible(True)
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.busy:
            self.confirm_frame.setVisible(True)
            event.ignore()
            return
        super().closeEvent(event)

    def _cancel_and_close(self) -> None:
        self._close_after_cancel = True
        self.cancel_export()

    def done(self, result: int) -> None:
        # Closing the dialog stops the worker thread; a later Export starts a new one.
        if not self.busy:
            self.shutdown()
        super().done(result)

    def shutdown(self) -> None:
        """Stop the worker thread (cancelling a running export). The main window calls it when it closes."""
        if self._runner is not None:
            was_busy = self._runner.busy
            self._runner.shutdown()
            self._runner.deleteLater()
            self._runner = None
            if was_busy:  # its cancelled signal will never arrive: the thread is gone
                self._on_cancelled()

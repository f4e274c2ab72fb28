"""The main window: the composition of the editor's panels, its menus and its shortcuts.

It owns nothing but wiring. The project (document + undo stack) belongs to the current
:class:`app.project.session.ProjectSession`; when the session changes (New, Open, recover), the
panels that show a document are rebuilt around the new one. Jobs, thumbnails and the engine settings
outlive sessions, so a model stays loaded across projects.

Shortcuts follow Premiere/Resolve: Space play/pause, J/K/L shuttle, I/O marks, Left/Right step a frame,
Home/End, B or Ctrl+K split, Delete lift, Shift+Delete ripple delete, Ctrl+D dissolve, M marker,
comma/period insert/overwrite the bin selection at the playhead, + and - zoom, Ctrl+Z / Ctrl+Shift+Z,
Ctrl+X/C/V cut/copy/paste (Ctrl+Shift+V paste insert, Ctrl+Alt+V paste attributes; ui.clipboard_actions),
Shift+E enable/disable clips, Ctrl+Shift+L linked selection.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app import __version__, gl_grading
from app.commands import push_edit
from app.document import TrackKind, placement, three_point
from app.document.sequence import SequenceSettings, settings_for_media
from app.errors import AppError
from app.export import hardware as hardware_encoders
from app.export.runner import ExportRequest
from app.jobs import EngineSettings, JobQueue, JobSpec
from app.jobs.apply import ApplyContext, apply_finished
from app.jobs.duration import DurationSpec
from app.jobs.extend import ExtendSpec
from app.jobs.history import JobHistory
from app.jobs.inpaint import InpaintSpec
from app.jobs.prompt_presets import PromptPresets
from app.masks import MaskStore
from app.media.workers import ThumbnailProvider, TimelinePlayer
from app.project.paths import data_root
from app.project.session import ProjectSession
from ui.clipboard_actions import EditingActions
from ui.color_settings_dialog import ColorSettingsDialog
from ui.export_dialog import ExportDialog
from ui.extend_dialog import ExtendDialog
from ui.generate_panel import GeneratePanel, random_seed
from ui.history_panel import GenerationWorkflow
from ui.inpaint_panel import InpaintPanel
from ui.inspector import Inspector
from ui.interchange_actions import InterchangeActions
from ui.job_queue import JobQueueView
from ui.level_meter import LevelMeter
from ui.mask_painter import MaskPainter
from ui.media_bin import MediaBin
from ui.project_actions import ProjectActions, ProjectPrompts
from ui.scopes import ScopesPanel
from ui.screen_fit import scrolled, width_without_sideways_scrolling
from ui.sequence_dialog import SequenceSettingsDialog
from ui.settings_dialog import SettingsDialog
from ui.source_viewer import SourceViewer
from ui.takes_switcher import TakesSwitcher
from ui.timeline_view import TimelineView
from ui.viewer import Viewer, format_timecode

LTX2_ATTRIBUTION = "Video and audio generation uses LTX-2 by Lightricks, under the LTX-2 Community License."
STATE_VERSION = 4  # bump when the dock set changes, so an old saved layout is not forced on new docks


def about_text() -> str:
    return (
        f"<h3>AIPROD Studio {__version__}</h3>"
        "<p>Local AI video generation, editing, grading and delivery.</p>"
        f"<p>{LTX2_ATTRIBUTION}</p>"
        "<p>Third-party licences are listed in the NOTICE file.</p>"
    )


# (object name, text, shortcuts): the editor's keyboard map, in one place for the menus, README and tests.
SHORTCUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "playPause": ("Play / Pause", ("Space",)),
    "shuttleBack": ("Shuttle Backward (J)", ("J",)),
    "shuttleStop": ("Stop (K)", ("K",)),
    "shuttleForward": ("Shuttle Forward (L)", ("L",)),
    "stepBack": ("Step Back One Frame", ("Left",)),
    "stepForward": ("Step Forward One Frame", ("Right",)),
    "goStart": ("Go to Start", ("Home",)),
    "goEnd": ("Go to End", ("End",)),
    "markIn": ("Mark In", ("I",)),
    "markOut": ("Mark Out", ("O",)),
    "split": ("Split at Playhead", ("B", "Ctrl+K")),
    "lift": ("Lift", ("Delete",)),
    "rippleDelete": ("Ripple Delete", ("Shift+Delete",)),
    "dissolve": ("Add Dissolve", ("Ctrl+D",)),
    "marker": ("Add Marker", ("M",)),
    "insert": ("Insert Source (or Bin Clip) at Playhead", (",",)),
    "overwrite": ("Overwrite Source (or Bin Clip) at Playhead", (".",)),
    "matchFrame": ("Match Frame in the Source Viewer", ("F",)),
    "zoomIn": ("Zoom In", ("+", "=")),
    "zoomOut": ("Zoom Out", ("-",)),
    "addVideoTrack": ("Add Video Track", ()),
    "addAudioTrack": ("Add Audio Track", ()),
    "cut": ("Cut", ("Ctrl+X",)),
    "copy": ("Copy", ("Ctrl+C",)),
    "paste": ("Paste (Overwrite) at Playhead", ("Ctrl+V",)),
    "pasteInsert": ("Paste Insert at Playhead", ("Ctrl+Shift+V",)),
    "pasteAttributes": ("Paste Grade and Sound Levels", ("Ctrl+Alt+V",)),
    "pasteGrade": ("Paste Grade", ()),
    "pasteSoundLevels": ("Paste Sound Levels", ()),
    "toggleClipEnabled": ("Enable / Disable Clip", ("Shift+E",)),
    "linkedSelection": ("Linked Selection", ("Ctrl+Shift+L",)),
    "previousVariation": ("Previous Variation", ("[", "Alt+Left")),
    "nextVariation": ("Next Variation", ("]", "Alt+Right")),
    "compareVariations": ("Compare Variations in the Viewer", ("Ctrl+Shift+G",)),
    "fillGap": ("Fill Gap with Generation…", ()),
}

# The SHORTCUTS that edit the TIMELINE's selected clips: while the media bin has the keyboard focus they
# change nothing and say so (in Premiere / Resolve a key pressed in the project panel never edits the
# timeline's selection). Lift / Ripple Delete there remove the bin's selected items instead, as its Delete
# key does (ui.media_bin claims Delete / Shift+Delete itself; this covers the Edit menu). Every other entry
# works whatever has the focus: transport, marks, the marker at the playhead, zoom, match frame, variations,
# linked selection (a mode), add track, gap fill (a dialog), and the focus-aware ones: cut / copy / paste
# (ui.clipboard_actions) and , / . (they place the bin's selection).
CLIP_EDIT_SHORTCUTS = frozenset(
    {
        "split",  # the selected clips under the playhead (every track when none is)
        "lift",
        "rippleDelete",
        "dissolve",
        "pasteAttributes",
        "pasteGrade",
        "pasteSoundLevels",
        "toggleClipEnabled",
    }
)
BIN_FOCUS_MESSAGE = "{}: select clips on the timeline first; the media bin has the focus."


class MainWindow(QMainWindow):
    """The studio. ``settings`` and ``prompts`` are injectable so tests never touch the user's files."""

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        prompts: ProjectPrompts | None = None,
        engine_factory: Callable[..., object] | None = None,
        autosave_ms: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("Untitled — AIPROD Studio")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.settings = settings if settings is not None else QSettings()
        hardware_encoders.probe_in_background()  # once per process: which GPU encoders open here
        gl_grading.install_for_exports()  # exports grade on the GPU where a real one is there
        self.undo_group = QUndoGroup(self)
        self.thumbnails = ThumbnailProvider(self)

        self.project = ProjectActions(self, settings=self.settings, prompts=prompts, autosave_ms=autosave_ms)
        self.project.title_changed.connect(self.setWindowTitle)
        self.project.message.connect(self.show_message)
        self.project.session_changed.connect(self._bind_session)

        self.interchange = InterchangeActions(self.project, self)
        self.editing = EditingActions(self)
        self.export_dialog: ExportDialog | None = None
        self.sequence_dialog: SequenceSettingsDialog | None = None
        self.engine_settings = EngineSettings.load(self.settings)
        self.jobs = JobQueue(
            self.engine_settings,
            media_dir=lambda: self.project.session.media_dir,
            engine_factory=engine_factory,
            parent=self,
        )
        # A finished job is applied by its kind (app.jobs.kinds / app.jobs.apply); results meant for a panel
        # rather than the document reach it through these receivers, by kind name.
        self.result_receivers: dict[str, Callable[[object], None]] = {}
        self.jobs.job_finished.connect(lambda job_id, _result: self.apply_finished_job(self.jobs.job(job_id)))
        self.jobs.job_failed.connect(
            lambda job_id, text: self.show_message(f"{self.jobs.job(job_id).job_kind.label} failed: {text}")
        )

        # Panels that outlive a session.
        self.generate_panel = GeneratePanel(self.engine_settings, current_frame=self._current_frame)
        self.generate_panel.options.keyframe_dir = lambda: self.project.session.media_dir / "keyframes"
        self.generate_panel.restore_state(self.settings)  # the last launch's model and settings
        self.generate_panel.generate_requested.connect(self.submit_job)
        self.generate_panel.duration_requested.connect(self.suggest_duration)
        self.result_receivers["duration"] = lambda answer: self.generate_panel.apply_duration_suggestion(
            answer.seconds, answer.frames
        )
        self.generate_panel.settings_requested.connect(self.open_settings)
        self.generate_panel.models_requested.connect(self.open_model_manager)
        self.generate_panel.set_job_queue(self.jobs)  # its message line says when its jobs end
        # Finished generations outlive the session and the launch: the Jobs panel lists them again.
        self.job_history = JobHistory(data_root() / "jobs", self)
        for signal in (self.jobs.job_finished, self.jobs.job_failed):
            signal.connect(lambda job_id, _other: self.job_history.record(self.jobs.job(job_id)))
        self.jobs.job_cancelled.connect(lambda job_id: self.job_history.record(self.jobs.job(job_id)))
        self.job_queue_view = JobQueueView(self.jobs, history=self.job_history)
        self.job_queue_view.reuse_requested.connect(self.reuse_job_settings)
        # The project's history, variations, their grid and gap fill (issue 14: ui.history_panel).
        self.workflow = GenerationWorkflow(self)
        self.generate_panel.set_prompt_presets(PromptPresets(self.settings, self))

        # Panels rebuilt per session (see _bind_session); created empty here so the docks exist.
        self.player: TimelinePlayer | None = None
        self.viewer: Viewer | None = None
        self.timeline: TimelineView | None = None
        self.media_bin: MediaBin | None = None
        self.inspector: Inspector | None = None
        self.mask_painter: MaskPainter | None = None
        self.inpaint_panel: InpaintPanel | None = None
        self.takes_switcher: TakesSwitcher | None = None
        self.source_viewer: SourceViewer | None = None
        # All four marks with different lengths: ask fit or trim (tests answer without a dialog).
        self.four_point_choice: Callable[[int, int], str | None] = self._ask_four_point

        self.bin_dock = self._dock("Media", "mediaBinDock", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.generate_dock = self._dock("Generate", "generateDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.inpaint_dock = self._dock("Inpaint", "inpaintDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.queue_dock = self._dock("Jobs", "jobQueueDock", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.history_dock = self._dock("History", "historyDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.timeline_dock = self._dock("Timeline", "timelineDock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.source_dock = self._dock("Source", "sourceDock", Qt.DockWidgetArea.LeftDockWidgetArea)
        # Scopes under the viewer, beside the timeline (issue 14), hidden until View > Scopes: they cost a
        # render per frame shown. (The right column's tabs are as tall as the Generate panel needs.)
        self.scopes_dock = self._dock("Scopes", "scopesDock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.scopes_panel = ScopesPanel()
        self.scopes_dock.setWidget(self.scopes_panel)
        self.splitDockWidget(self.timeline_dock, self.scopes_dock, Qt.Orientation.Horizontal)
        self.scopes_dock.hide()
        self.central_host = self._new_host("centralHost")
        self.setCentralWidget(self.central_host)
        for dock in self._session_docks():
            dock.setWidget(self._new_host(f"{dock.objectName()}Host"))
        # scrolled: the form is taller than a laptop screen (ui.screen_fit; tests/ui/test_small_screen.py)
        self.generate_dock.setWidget(scrolled(self.generate_panel, "generateScroll"))
        self.queue_dock.setWidget(self.job_queue_view)
        self.history_dock.setWidget(self.workflow.panel)  # a tab beside Generate: results next to settings
        self.tabifyDockWidget(self.generate_dock, self.inspector_dock)
        self.tabifyDockWidget(self.inspector_dock, self.inpaint_dock)
        self.tabifyDockWidget(self.inpaint_dock, self.history_dock)
        self.generate_dock.raise_()
        # the timeline runs under the bin and both viewers (the source viewer made the left column wide)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.actions_by_name: dict[str, QAction] = {}
        self._build_menus()
        self.statusBar().addPermanentWidget(QLabel(f"version {__version__}", objectName="versionLabel"))
        self.show_message("Ready")

        self.resize(1440, 900)
        # Premiere-like proportions: a tall timeline, bin and jobs stacked on the left, generate/inspect
        # on the right, the viewer in the middle.
        # the source viewer beside the timeline's viewer, as Premiere puts its source monitor (split first, so
        # it is as tall as the bin and jobs together)
        self.splitDockWidget(self.bin_dock, self.source_dock, Qt.Orientation.Horizontal)
        self.splitDockWidget(self.bin_dock, self.queue_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.timeline_dock], [330], Qt.Orientation.Vertical)
        self.resizeDocks([self.bin_dock, self.queue_dock], [330, 260], Qt.Orientation.Vertical)
        right = max(360, width_without_sideways_scrolling(self.generate_dock.widget()))
        self.resizeDocks([self.bin_dock, self.generate_dock], [300, right], Qt.Orientation.Horizontal)
        self.resizeDocks([self.bin_dock, self.source_dock], [260, 400], Qt.Orientation.Horizontal)
        self._default_state = self.saveState(STATE_VERSION)
        self._bind_session(self.project.session)
        self._restore_layout()

    # --------------------------------------------------------------------------------- building
    def docks(self) -> list[QDockWidget]:
        return [
            self.bin_dock, self.inspector_dock, self.inpaint_dock, self.generate_dock, self.queue_dock,
            self.timeline_dock, self.source_dock, self.history_dock,
        ]  # fmt: skip

    @staticmethod
    def _new_host(name: str) -> QWidget:
        host = QWidget(objectName=name)
        layout = QVBoxLayout(host)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        return host

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self, objectName=name)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(self, name: str, slot: Callable[[], object], menu: QMenu) -> QAction:
        text, keys = SHORTCUTS[name]
        action = QAction(text, self, objectName=f"{name}Action")
        action.setShortcuts([QKeySequence(key) for key in keys])
        action.triggered.connect(lambda _checked=False: self._run_action(name, slot))
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whichever dock has focus
        self.actions_by_name[name] = action
        return action

    def _run_action(self, name: str, slot: Callable[[], object]) -> None:
        """`slot`, unless it edits the timeline's selected clips while the media bin has the focus
        (CLIP_EDIT_SHORTCUTS): then the bin's own Delete for Lift / Ripple Delete, else a message only."""
        if name in CLIP_EDIT_SHORTCUTS and self.media_bin is not None and self.media_bin.has_focus_within():
            if name in ("lift", "rippleDelete"):
                self.media_bin.remove_selected()
            else:
                self.show_message(BIN_FOCUS_MESSAGE.format(SHORTCUTS[name][0]))
            return
        slot()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        project_actions = self.project.create_actions(self)
        for key in ("new", "open"):
            file_menu.addAction(project_actions[key])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(lambda: self.project.fill_recent_menu(self.recent_menu))
        self.project.fill_recent_menu(self.recent_menu)
        for key in ("save", "save_as"):
            file_menu.addAction(project_actions[key])
        file_menu.addSeparator()
        self.sequence_action = file_menu.addAction("Se&quence Settings…", self.open_sequence_settings)
        self.sequence_action.setObjectName("sequenceSettingsAction")
        project_actions["new"].triggered.connect(self._offer_settings_for_new_project)
        self.import_action = file_menu.addAction("&Import Media…", self._import_media)
        self.import_action.setObjectName("importAction")
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        file_menu.addAction(project_actions["relink"])
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("&Export…", self.open_export_dialog)
        self.export_action.setObjectName("exportAction")
        self.export_action.setShortcut(QKeySequence("Ctrl+M"))  # Premiere's "Export Media"
        self.interchange_actions = self.interchange.create_actions(self)
        file_menu.addAction(self.interchange_actions["export_timeline"])
        file_menu.addAction(self.interchange_actions["import_timeline"])
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self, objectName="quitAction")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)
        self.project_actions = project_actions

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setObjectName("undoAction")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setObjectName("redoAction")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        for name, slot in (
            ("split", lambda: self._timeline_call("split_at_playhead")),
            ("lift", lambda: self._timeline_call("lift_selection")),
            ("rippleDelete", lambda: self._timeline_call("ripple_delete_selection")),
            ("dissolve", lambda: self._timeline_call("add_dissolve_at_selection")),
            ("marker", lambda: self._timeline_call("add_marker_at_playhead")),
            ("insert", lambda: self.place_bin_selection(overwrite=False)),
            ("overwrite", lambda: self.place_bin_selection(overwrite=True)),
            ("matchFrame", self.match_frame),
        ):
            self._action(name, slot, edit_menu)
        edit_menu.addSeparator()
        self._action("cut", self.editing.cut, edit_menu)
        self._action("copy", self.editing.copy, edit_menu)
        self._action("paste", lambda: self.editing.paste(insert=False), edit_menu)
        self._action("pasteInsert", lambda: self.editing.paste(insert=True), edit_menu)
        attributes_menu = edit_menu.addMenu("Paste &Attributes")
        attributes_menu.setObjectName("pasteAttributesMenu")
        self._action("pasteGrade", lambda: self.editing.paste_attributes(("grade",)), attributes_menu)
        self._action("pasteSoundLevels", lambda: self.editing.paste_attributes(("sound",)), attributes_menu)
        self._action("pasteAttributes", self.editing.paste_attributes, attributes_menu)
        self._action("toggleClipEnabled", self.editing.toggle_enabled, edit_menu)
        linked = self._action("linkedSelection", lambda: None, edit_menu)
        linked.setCheckable(True)
        linked.setChecked(True)
        linked.toggled.connect(self.editing.set_linked_selection)
        edit_menu.addSeparator()
        self.add_title_action = edit_menu.addAction("Add &Title at Playhead", self.add_title)
        self.add_title_action.setObjectName("addTitleAction")
        self._action("addVideoTrack", lambda: self._add_track(TrackKind.VIDEO), edit_menu)
        self._action("addAudioTrack", lambda: self._add_track(TrackKind.AUDIO), edit_menu)

        play_menu = bar.addMenu("&Playback")
        for name, method, args in (
            ("playPause", "toggle_play", ()),
            ("shuttleBack", "shuttle_backward", ()),
            ("shuttleStop", "stop", ()),
            ("shuttleForward", "shuttle_forward", ()),
            ("stepBack", "step", (-1,)),
            ("stepForward", "step", (1,)),
            ("markIn", "mark_in", ()),
            ("markOut", "mark_out", ()),
        ):
            self._action(name, lambda m=method, a=args: self._viewer_call(m, *a), play_menu)
        self._action("goStart", lambda: self._viewer_call("seek", 0), play_menu)
        self._action("goEnd", lambda: self._viewer_call("go_end"), play_menu)

        view_menu = bar.addMenu("&View")
        self._action("zoomIn", lambda: self._timeline_call("zoom_in"), view_menu)
        self._action("zoomOut", lambda: self._timeline_call("zoom_out"), view_menu)
        view_menu.addSeparator()
        for dock in self.docks():
            view_menu.addAction(dock.toggleViewAction())
        self.scopes_action = self.scopes_dock.toggleViewAction()
        self.scopes_action.setObjectName("scopesAction")
        view_menu.addAction(self.scopes_action)
        view_menu.addSeparator()
        reset = view_menu.addAction("Reset Layout", self.reset_layout)
        reset.setObjectName("resetLayoutAction")

        color_menu = bar.addMenu("&Colour")
        self.color_settings_action = color_menu.addAction(
            "Project &Colour Settings…", self.open_color_settings
        )
        self.color_settings_action.setObjectName("colorSettingsAction")

        gen_menu = bar.addMenu("&Generate")
        generate = gen_menu.addAction("&Generate", self.generate_panel.request_generate)
        generate.setObjectName("generateAction")
        generate.setShortcut(QKeySequence("Ctrl+Return"))
        settings = gen_menu.addAction("Model &Settings…", self.open_settings)
        settings.setObjectName("settingsAction")
        # Generated clips go after the last clip of V1 unless this is ticked (issue 13: placement).
        self.generated_at_playhead = False
        self.at_playhead_action = gen_menu.addAction("Place Generated Clips at the &Playhead")
        self.at_playhead_action.setObjectName("generatedAtPlayheadAction")
        self.at_playhead_action.setCheckable(True)
        self.at_playhead_action.toggled.connect(lambda on: setattr(self, "generated_at_playhead", bool(on)))
        gen_menu.addSeparator()
        self._action("fillGap", lambda: self.workflow.open_gap_fill(), gen_menu)
        self._action("compareVariations", lambda: self.workflow.compare_selected(), gen_menu)
        self._action("previousVariation", lambda: self.workflow.cycle(-1), gen_menu)
        self._action("nextVariation", lambda: self.workflow.cycle(1), gen_menu)

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = help_menu.addAction("&Keyboard Shortcuts", self.show_shortcuts)
        self.about_action = QAction("&About AIPROD Studio", self, objectName="aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    # -------------------------------------------------------------------------------- sessions
    @property
    def session(self) -> ProjectSession:
        return self.project.session

    def _bind_session(self, session: ProjectSession) -> None:
        """Rebuild the document panels around ``session`` (its document and undo stack).

        The new panels go into hosts that live as long as the window (`_host`): replacing the central
        widget or a dock's widget itself makes the window's layout size its areas anew from the new
        widgets' size hints, which squeezed the viewer to a strip after every Open or recovery."""
        self._teardown_session_panels()
        doc, stack = session.doc, session.stack
        self.undo_group.addStack(stack)
        self.undo_group.setActiveStack(stack)

        self.player = TimelinePlayer(doc, parent=self)
        self.scopes_panel.bind(self.player, doc)
        self.viewer = Viewer(self.player)
        self.viewer.setObjectName("viewer")
        # the stereo peak meter beside the picture, fed what the player plays (issue 13)
        self.level_meter = LevelMeter()
        self.player.levels.connect(self.level_meter.set_levels)
        viewer_row = QWidget(objectName="viewerRow")
        row_layout = QHBoxLayout(viewer_row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.setSpacing(2)
        row_layout.addWidget(self.viewer, 1)
        row_layout.addWidget(self.level_meter)
        self._host(self.central_host).addWidget(viewer_row)
        self._watch_first_clip(doc)

        self.timeline = TimelineView(doc, stack, thumbnails=self.thumbnails)
        self.timeline.setObjectName("timelineView")
        self._host(self.timeline_dock.widget()).addWidget(self.timeline)
        self.media_bin = MediaBin(doc, stack, thumbnails=self.thumbnails)
        self._host(self.bin_dock.widget()).addWidget(self.media_bin)
        self.inspector = Inspector(doc, undo_stack=stack)
        self.takes_switcher = TakesSwitcher(doc, stack)
        self.takes_switcher.failed.connect(self.show_message)
        # One subject for the whole inspector dock: the switcher shows the takes of the clip the inspector
        # shows, whichever way it got there (timeline, bin, undo, a finished inpaint), and hides otherwise.
        self.inspector.clip_shown.connect(self._show_takes_of)
        self._show_takes_of(self.inspector.shown_clip_id())
        inspector_box = QWidget(objectName="inspectorBox")
        box_layout = QVBoxLayout(inspector_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.addWidget(self.takes_switcher)
        box_layout.addWidget(self.inspector, 1)
        self._host(self.inspector_dock.widget()).addWidget(inspector_box)

        self.mask_painter = MaskPainter(self.viewer, doc, stack, lambda: MaskStore(self.session.masks_dir))
        self.inpaint_panel = InpaintPanel(doc, self.engine_settings, painter=self.mask_painter)
        self.inpaint_panel.inpaint_requested.connect(self.submit_inpaint)
        self.inpaint_panel.settings_requested.connect(self.open_settings)
        self.viewer.marks_changed.connect(self.inpaint_panel.set_range)
        self.viewer.marks_changed.connect(self.timeline.set_in_out)  # the ruler shows the marked range
        self.inpaint_panel.set_range(self.viewer.in_point, self.viewer.out_point)
        self._host(self.inpaint_dock.widget()).addWidget(scrolled(self.inpaint_panel, "inpaintScroll"))
        self.mask_painter.painting_changed.connect(lambda on: self._show_painted_clip() if on else None)

        self.timeline.playhead_changed.connect(self._on_timeline_playhead)
        self.viewer.position_changed.connect(self._on_viewer_position)
        self.timeline.selection_changed.connect(self._on_timeline_selection)
        self.timeline.message.connect(self.show_message)
        self.timeline.extend_requested.connect(self.open_extend_dialog)
        self.editing.attach(self.timeline)
        self._bin_selection: list = []
        self.media_bin.selection_changed.connect(self._on_bin_selection)
        self.media_bin.message.connect(self.show_message)
        self.inspector.regenerate_requested.connect(self.regenerate)

        self.source_viewer = SourceViewer(doc)
        self._host(self.source_dock.widget()).addWidget(self.source_viewer)
        self.source_viewer.message.connect(self.show_message)
        self.source_viewer.insert_requested.connect(lambda: self.place_source(overwrite=False))
        self.source_viewer.overwrite_requested.connect(lambda: self.place_source(overwrite=True))
        self.media_bin.item_activated.connect(self.load_source)  # a double-click in the bin
        self.takes_switcher.source_requested.connect(self.load_source)
        self.jobs.set_media_dir(lambda: self.project.session.media_dir)
        self.workflow.bind_session(session)

        if session.missing:
            self.show_message(
                f"{len(session.missing)} media file(s) are missing: File > Relink Missing Media to find them."
            )

    def _teardown_session_panels(self) -> None:
        if self.export_dialog is not None:  # it holds the old document
            self.export_dialog.shutdown()
            self.export_dialog.close()
            self.export_dialog = None
        if self.viewer is not None:
            self.viewer.shutdown()
        if self.source_viewer is not None:
            self.source_viewer.shutdown()
            self.source_viewer = None
        for stack in self.undo_group.stacks():
            if stack is not self.session.stack:
                self.undo_group.removeStack(stack)
        if self.player is not None:
            self.player.shutdown()
            self.player.deleteLater()
            self.player = None
        for host in (self.central_host, *(d.widget() for d in self._session_docks())):
            layout = host.layout()
            while layout.count():
                old = layout.takeAt(0).widget()
                old.hide()
                old.setParent(None)
                old.deleteLater()

    def _session_docks(self) -> list[QDockWidget]:
        return [self.timeline_dock, self.bin_dock, self.inspector_dock, self.inpaint_dock, self.source_dock]

    @staticmethod
    def _host(host: QWidget) -> QVBoxLayout:
        return host.layout()

    # ------------------------------------------------------------------------------ playhead
    def playhead(self) -> int:
        return self.timeline.playhead() if self.timeline is not None else 0

    def seek(self, frame: int) -> None:
        if self.timeline is not None:
            self.timeline.set_playhead(max(0, frame))
        if self.viewer is not None:
            self.viewer.seek(max(0, frame))

    def _go_end(self) -> None:
        end = self.session.doc.duration().rescaled_to(self.session.doc.rate).to_frames()
        self.seek(end)  # one past the last frame, like Premiere: ready to add after everything

    def _on_timeline_playhead(self, frame: int) -> None:
        if self.viewer is not None and self.viewer.frame != frame:
            self.viewer.seek(frame)

    def _on_viewer_position(self, frame: int) -> None:
        if self.timeline is not None and self.timeline.playhead() != frame:
            self.timeline.set_playhead(frame)

    # ----------------------------------------------------------------------------- selection
    def _on_timeline_selection(self, ids: list) -> None:
        if self.inspector is None:
            return
        clip_id = ids[0] if ids else None
        for panel in (self.mask_painter, self.inpaint_panel):
            if panel is not None:
                panel.set_clip(clip_id)
        if self.mask_painter is not None and self.mask_painter.painting:
            self._show_painted_clip()
        if ids:
            self.inspector.show_clip(ids[0])
            self.inspector_dock.raise_()
        else:
            self.inspector.clear()

    def _show_takes_of(self, clip_id: str | None) -> None:
        if self.takes_switcher is not None:
            self.takes_switcher.set_clip(clip_id)
            self.takes_switcher.setVisible(clip_id is not None)

    def _on_bin_selection(self, ids: list) -> None:
        # The bin rebuilds its list after an undo or a relink and reports the same selection again: that is
        # no new choice, and showing it replaced the timeline clip the user had selected since.
        previous, self._bin_selection = self._bin_selection, list(ids)
        if self.inspector is not None and ids and ids != previous:
            self.inspector.show_media(ids[0])
            self.inspector_dock.raise_()

    def _show_painted_clip(self) -> None:
        """Painting draws on the selected clip: keep the viewer on it, so the mask is painted over the
        picture it applies to (the playhead moves to the clip's first frame if it is elsewhere)."""
        ids = self.timeline.selected_clip_ids() if self.timeline is not None else []
        if not ids:
            return
        try:
            clip = self.session.doc.clip(ids[0])
        except AppError:
            return
        start, end = int(clip.start.value), int(clip.start.value + clip.duration.value)
        if not start <= self.playhead() < end:
            self.seek(start)

    # ---------------------------------------------------------------------------------- edits
    def _timeline_call(self, method: str) -> None:
        if self.timeline is None:
            return
        try:
            getattr(self.timeline, method)()
        except AppError as exc:
            self.show_message(str(exc))

    def _viewer_call(self, method: str, *args: object) -> None:
        """Transport and marks go to the source viewer while it has the focus, else to the timeline's."""
        if self.source_viewer is not None and self.source_viewer.has_focus_within():
            if self.source_viewer.call(method, *args):
                return
        if method == "go_end":
            self._go_end()
        elif method == "seek":
            self.seek(*args)  # type: ignore[arg-type]
        elif self.viewer is not None:
            getattr(self.viewer, method)(*args)

    def _add_track(self, kind: TrackKind) -> None:
        label = "video" if kind is TrackKind.VIDEO else "audio"
        push_edit(self.session.stack, self.session.doc, f"Add {label} track", lambda doc: doc.add_track(kind))

    def place_bin_selection(self, overwrite: bool = False) -> list[str]:
        """Insert (or overwrite) the media selected in the bin at the playhead on the first video track;
        with a clip in the source viewer, its marked range instead (a three-point edit, `place_source`)."""
        if self.source_viewer is not None and self.source_viewer.media_id is not None:
            return self.place_source(overwrite)
        if self.media_bin is None or not self.media_bin.selected_ids():
            self.show_message("Select a clip in the media bin first.")
            return []
        doc = self.session.doc
        media_ids = self.media_bin.selected_ids()
        frame = self.playhead()

        def apply(document) -> list[str]:  # pictures on V1, sound-only media on A1, one after another
            return placement.place_one_after_another(document, media_ids, None, frame, overwrite)

        text = "Overwrite" if overwrite else "Insert"
        try:
            created = push_edit(self.session.stack, doc, f"{text} at playhead", apply)
        except AppError as exc:
            self.show_message(str(exc))
            return []
        end = placement.end_of(doc, created)
        if end is not None:
            self.seek(end)  # the playhead moves past what was inserted
        return created

    # --------------------------------------------------------------------------- source viewer, 3-point
    def load_source(
        self, media_id: str, frame: int = 0, marks: tuple[int | None, int | None] = (None, None)
    ) -> bool:
        """Show a bin item (or take) in the source viewer, which takes the focus (I/O mark the source)."""
        if self.source_viewer is None or not self.source_viewer.load(media_id, frame, marks):
            return False
        self.source_dock.show()
        self.source_dock.raise_()
        self.source_viewer.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def place_source(self, overwrite: bool = False) -> list[str]:
        """`,` / `.` with a source loaded: a three-point edit of the source marks against the timeline's
        (in/out marks, else the playhead) on the patched track, as one undo step. Four marks of different
        lengths ask fit or trim (`four_point_choice`). The timeline's marks are used up by the edit and the
        playhead moves past it."""
        source = self.source_viewer
        if source is None or source.media_id is None or self.viewer is None:
            self.show_message("Load a clip into the source viewer first (double-click it in the bin).")
            return []
        doc, media_id = self.session.doc, source.media_id
        source_marks = source.marks()
        record = three_point.Marks(self.viewer.in_point, self.viewer.out_point)
        four_point = None
        if three_point.needs_four_point_choice(source_marks, record):
            four_point = self.four_point_choice(source_marks.frames() or 0, record.frames() or 0)
            if four_point is None:
                self.show_message("Edit cancelled: the source and timeline ranges differ in length.")
                return []
        track_id = source.target_track_id() or doc.tracks(TrackKind.VIDEO)[0].id
        verb = "Overwrite" if overwrite else "Insert"
        try:
            edit = three_point.resolve_for(doc, media_id, source_marks, record, self.playhead(), four_point)
            created = push_edit(
                self.session.stack,
                doc,
                f"{verb} from source",
                lambda d: three_point.place(
                    d, media_id, edit, track_id, overwrite=overwrite, with_audio=source.with_audio()
                ),
            )
        except AppError as exc:
            self.show_message(str(exc))
            return []
        self.viewer.clear_marks()
        self.seek(edit.record_end)
        name = doc.bin_item(media_id).name
        done = (
            f"{verb}: {edit.record_frames} frames of {name} at {format_timecode(edit.record_start, doc.rate)}"
        )
        self.show_message(done + (f" ({edit.note})" if edit.note else ""))
        return created

    def _ask_four_point(self, source_frames: int, record_frames: int) -> str | None:
        """Fit to fill (a speed change), trim to the shorter range, or cancel (ui.source_viewer)."""
        from ui.source_viewer import ask_four_point

        return ask_four_point(self, source_frames, record_frames)

    def match_frame(self) -> bool:
        """F: the clip under the playhead (the selected one first, else the topmost) into the source viewer
        at the same frame, its used range marked in and out."""
        if self.timeline is None:
            return False
        try:
            found = three_point.match_frame(
                self.session.doc, self.playhead(), self.timeline.selected_clip_ids()
            )
        except AppError as exc:
            self.show_message(str(exc))
            return False
        return self.load_source(found.media_id, found.source_frame, (found.source_in, found.source_out))

    # ------------------------------------------------------------------------- sequence settings, titles
    def open_sequence_settings(
        self, intro: str = "", offer: SequenceSettings | None = None
    ) -> SequenceSettingsDialog:
        """The Sequence Settings dialog (non-modal); OK applies the settings as one undoable edit."""
        doc = self.session.doc
        if self.sequence_dialog is not None:
            self.sequence_dialog.close()
        dialog = SequenceSettingsDialog(
            offer or doc.sequence_settings(), self._first_clip_settings(), self, intro
        )
        dialog.settings_chosen.connect(self.apply_sequence_settings)
        self.sequence_dialog = dialog
        dialog.show()  # not modal: the timeline stays usable while it is open
        return dialog

    def apply_sequence_settings(self, settings: SequenceSettings) -> None:
        try:
            push_edit(
                self.session.stack,
                self.session.doc,
                "Sequence settings",
                lambda d: d.set_sequence_settings(settings),
            )
        except AppError as exc:
            self.show_message(str(exc))
            return
        self.show_message(f"Sequence: {settings.describe()}")

    def _first_clip_settings(self) -> SequenceSettings | None:
        doc = self.session.doc
        for track in doc.tracks(TrackKind.VIDEO):
            for clip in doc.clips(track.id):
                try:
                    info = doc.bin_item(clip.media_id).info if clip.media_id else None
                except AppError:
                    info = None
                if info is not None and info.has_video and info.width:
                    fps = float(info.fps) if info.fps else None
                    return settings_for_media(info.width, info.height, fps)
        return None

    def _offer_settings_for_new_project(self) -> None:
        doc = self.session.doc
        if not doc.has_sequence_settings() and not any(doc.clips(t.id) for t in doc.tracks()):
            self.open_sequence_settings("Choose the new project's frame size, frame rate and audio rate.")

    def _watch_first_clip(self, doc) -> None:
        """A project without sequence settings is offered its first clip's format when that clip arrives
        (a status message; the dialog's Match First Clip gives the same)."""
        if doc.has_sequence_settings() or self._first_clip_settings() is not None:
            return

        def changed(_change) -> None:
            if doc is not self.session.doc or doc.has_sequence_settings():
                unsubscribe()
                return
            offer = self._first_clip_settings()
            if offer is not None:
                unsubscribe()
                # offered, not imposed: no dialog in the middle of an edit (it would take the keyboard);
                # the sequence plays at the first clip's format (what it shows) until settings are chosen
                self.show_message(
                    f"The sequence takes the first clip's format, {offer.describe()}: "
                    "File > Sequence Settings… to choose another."
                )

        unsubscribe = doc.subscribe(changed)

    def add_title(self, text: str = "Title") -> str | None:
        """A title at the playhead above the picture (a free video track above V1, or a new one)."""
        frame = self.playhead()
        try:
            clip_id = push_edit(
                self.session.stack,
                self.session.doc,
                "Add title",
                lambda d: placement.add_title(d, frame, {"text": text, "size": 72, "y": 0.8, "box": True}),
            )
        except AppError as exc:
            self.show_message(str(exc))
            return None
        if self.timeline is not None:
            self.timeline.select([clip_id])
        if self.inspector is not None:
            self.inspector.show_clip(clip_id)
        return clip_id

    def _import_media(self) -> None:
        if self.media_bin is not None:
            self.media_bin.import_dialog()

    # ---------------------------------------------------------------------------- generation
    def _current_frame(self):
        return self.viewer.current_frame_array() if self.viewer is not None else None

    def submit_job(self, spec: JobSpec) -> str | None:
        try:
            job_id = self.jobs.submit(spec)
        except AppError as exc:
            self.generate_panel.show_message(str(exc), error=True)
            return None
        self.generate_panel.save_state(self.settings)  # a crash later still remembers what was asked
        self.generate_panel.follow_job(job_id)
        self.queue_dock.raise_()
        self.show_message(f"Queued {spec.display_name()}")
        return job_id

    def submit_inpaint(self, spec: InpaintSpec) -> str | None:
        return self._queue(spec, "Queued an inpaint")

    def _queue(self, spec: object, announcement: str) -> str | None:
        """Queue a job made outside the Generate panel: a refusal goes to the status bar; else the Jobs panel
        comes forward and the status bar says what was queued."""
        try:
            job_id = self.jobs.submit(spec)
        except AppError as exc:
            self.show_message(str(exc))
            return None
        self.queue_dock.raise_()
        self.show_message(announcement)
        return job_id

    def regenerate(self, generation: dict, same_seed: bool = False) -> str | None:
        """A new take from a clip's stored parameters, loaded into the panel and queued: with a new seed
        unless `same_seed` (then the take repeats the clip, bit for bit); the panel and the status bar say
        which. The take is filed under the original clip in the bin (takes of a take go to the same original).
        """
        if generation.get("kind") == "inpaint":
            # An inpaint take is redone from its source, not generated anew: switch the clip back to the
            # original take and press Inpaint (the fields are filled, the seed locked).
            if self.inpaint_panel is not None:
                self.inpaint_panel.load_parameters(generation)
                self.inpaint_dock.raise_()
            self.show_message(
                "This take was inpainted: its settings are in the Inpaint tab. Switch the clip to the take "
                "you want to start from, then press Inpaint."
            )
            return None
        take_of = None
        shown = self.inspector.shown_media_id() if self.inspector is not None else None
        if shown is not None:
            try:
                item = self.session.doc.bin_item(shown)
                take_of = item.take_of or item.id
            except AppError:
                take_of = None
        try:
            spec = JobSpec.from_generation(generation, take_of=take_of)
        except (AppError, KeyError, TypeError, ValueError) as exc:
            self.show_message(f"Cannot regenerate this clip: {exc}")
            return None
        if not same_seed:
            spec = spec.with_changes(seed=random_seed())
        self.generate_panel.load_spec(spec)
        job_id = self.submit_job(spec)
        if job_id is not None:
            text = (
                f"Regenerating with the same seed {spec.seed}: the take repeats this clip"
                if same_seed
                else f"Regenerating with a new seed {spec.seed} (was {generation.get('seed', '?')}; "
                "tick 'Same seed' in the inspector to repeat the clip)"
            )
            self.generate_panel.announce_job(text)
            self.show_message(text)
        return job_id

    def reuse_job_settings(self, spec: JobSpec) -> None:
        """ "Reuse these settings" in the Jobs panel: the job's prompt and settings go to the Generate panel
        (seed included; the lock stays as it is), ready to change and generate."""
        self.generate_panel.load_spec(spec)
        self.generate_dock.raise_()
        self.generate_panel.show_message(f"Settings of '{spec.display_name()}' loaded (seed {spec.seed}).")

    def open_extend_dialog(self, clip_id: str) -> ExtendDialog | None:
        """'Extend Clip...': ask how much and which way, then queue it; the result joins the clip."""
        doc = self.session.doc
        try:
            clip = doc.clip(clip_id)
            media = doc.bin_item(clip.media_id)
        except AppError as exc:
            self.show_message(f"Cannot extend: {exc}")
            return None
        dialog = ExtendDialog(
            clip_id,
            media.id,
            media.path,
            media.generation or clip.generation,
            model=self.generate_panel.model_combo.currentData() or "ltx2",
            quantization=self.engine_settings.quantization,
            seed=random_seed(),
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.submit_extend(dialog.spec()))
        dialog.open()
        return dialog

    def suggest_duration(self, prompt: str, fps: float) -> str | None:
        """Queue a duration-head question; the answer fills the Generate panel's duration."""
        spec = DurationSpec(prompt, fps, quantization=self.engine_settings.quantization)
        try:
            return self.jobs.submit(spec)
        except AppError as exc:
            self.generate_panel.show_message(str(exc), error=True)
            return None

    def submit_extend(self, spec: ExtendSpec) -> str | None:
        return self._queue(spec, f"Queued: extend {spec.display_name()} by {spec.seconds:g} s")

    def apply_finished_job(self, job) -> None:
        """Apply a finished job (its kind's applier, app.jobs.apply) to the current session."""
        context = ApplyContext(
            self.session.doc,
            self.session.stack,
            playhead=self.playhead(),
            at_playhead=self.generated_at_playhead,
            message=self.show_message,
            seek=self.seek,
            receivers=self.result_receivers,
        )
        apply_finished(job, context)

    # ------------------------------------------------------------------------------ delivery
    def open_export_dialog(self) -> ExportDialog:
        """The export dialog for the current timeline; the viewer's in/out marks offer the range."""
        if self.export_dialog is not None:
            self.export_dialog.raise_()
            return self.export_dialog
        in_out = None
        marks = (self.viewer.in_point, self.viewer.out_point) if self.viewer is not None else (None, None)
        if marks != (None, None):
            # The viewer's out mark includes its frame; the renderer's out frame is one past the last.
            in_out = (marks[0], None if marks[1] is None else marks[1] + 1)
        dialog = ExportDialog(
            self.session.doc,
            self.settings,
            in_out=in_out,
            parent=self,
            project_folder=lambda: self.session.path,
            submit=self.submit_export,  # the render queue: the dialog closes, the Jobs panel shows the rest
        )
        dialog.finished.connect(lambda _result: self._forget_export_dialog(dialog))
        self.export_dialog = dialog
        # show(), not open(): open() makes a dialog window-modal; modeless, the editor stays usable.
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.show()
        return dialog

    def submit_export(self, request: ExportRequest) -> str:
        """Queue an export on the render lane (it runs beside any generation); AppError when refused."""
        job_id = self.jobs.submit(request)
        self.queue_dock.raise_()
        self.show_message(f"Queued: {request.display_name()} (progress in the Jobs panel)")
        return job_id

    def _forget_export_dialog(self, dialog: ExportDialog) -> None:
        if self.export_dialog is dialog and not dialog.busy:
            self.export_dialog = None

    def open_color_settings(self) -> ColorSettingsDialog:
        dialog = ColorSettingsDialog(self.session.doc, self.session.stack, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.engine_settings, store=self.settings, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.settings_changed.connect(self.apply_engine_settings)
        dialog.open()
        return dialog

    def open_model_manager(self):  # noqa: ANN201 -- ui.model_manager.ModelManagerDialog
        """The model manager; its "Use this model" sets the generation settings at once."""
        from ui.model_manager import open_for_window

        dialog = open_for_window(self)
        dialog.open()
        return dialog

    def apply_engine_settings(self, settings: EngineSettings) -> None:
        self.engine_settings = settings
        settings.save(self.settings)
        self.jobs.set_settings(settings)
        self.generate_panel.set_settings(settings)
        if self.inpaint_panel is not None:
            self.inpaint_panel.set_settings(settings)

    # ------------------------------------------------------------------------------- layout
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, STATE_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        self.generate_panel.save_state(self.settings)
        self.settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks():
            dock.show()

    # -------------------------------------------------------------------------------- status
    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(text, 0 if text == "Ready" else timeout_ms)

    def show_shortcuts(self) -> QMessageBox:
        rows = "".join(
            f"<tr><td>{text}</td><td><b>{' or '.join(keys)}</b></td></tr>"
            for text, keys in SHORTCUTS.values()
            if keys
        )
        text = f"<table>{rows}</table>"
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard Shortcuts", text, parent=self)
        box.setObjectName("shortcutsBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def show_about(self) -> QMessageBox:
        # open() rather than exec(): window-modal without a nested event loop.
        box = QMessageBox(QMessageBox.Icon.NoIcon, "About AIPROD Studio", about_text(), parent=self)
        box.setObjectName("aboutBox")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    # ------------------------------------------------------------------------------- closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.jobs.busy and not self._confirm_cancel_jobs():
            event.ignore()
            return
        if not self.project.confirm_close():
            event.ignore()
            return
        self.save_layout()
        self.shutdown()
        event.accept()

    def _confirm_cancel_jobs(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Jobs running",
            "A generation or an export is running or queued. Quit anyway and cancel it?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        """Stop every thread this window started (jobs, decoder, thumbnails). Safe to call twice."""
        self.jobs.shutdown()
        if self.export_dialog is not None:
            self.export_dialog.shutdown()
        if self.viewer is not None:
            self.viewer.shutdown()
        if self.source_viewer is not None:
            self.source_viewer.shutdown()
        if self.player is not None:
            self.player.shutdown()
        self.scopes_panel.shutdown()
        self.thumbnails.shutdown()

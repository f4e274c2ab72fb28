"""The generation panel: prompt, start image, duration, size, quality, seed, model; Generate emits a JobSpec.

The panel only collects and checks; the main window hands the spec to the JobQueue. Durations are shown as
the engine will really make them (frames snap to 8k+1), and Generate stays disabled, with a message saying
what to set, while the model cannot load.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.cli import TINY_DEFAULTS
from app.errors import JobError
from app.jobs import (
    MODEL_LTX2,
    MODEL_TINY,
    QUANTIZATION_LABELS,
    QUANTIZATION_MODES,
    RESOLUTION_PRESETS,
    EngineSettings,
    JobSpec,
    frames_for_duration,
)
from app.jobs.plan_worker import PlanWorker
from app.jobs.settings import model_spec_for
from app.jobs.spec import MAX_STEPS, MIN_STEPS
from ui.generation_options import GenerationOptions
from ui.prompt_presets_menu import PromptPresetsButton
from ui.screen_fit import narrow_combos

MODEL_DEFAULT_STEPS = MIN_STEPS - 1  # the steps box's "model default" entry

FPS_CHOICES = (24.0, 25.0, 30.0, 48.0, 50.0)
# What the panel starts a model with (the CLI's defaults): the tiny test model at 768x512 x 121 frames
# x 30 steps would take minutes to make noise, so it gets the small size and length the CLI gives it.
MODEL_FIELD_DEFAULTS = {
    MODEL_LTX2: {"width": 768, "height": 512, "frames": 121, "steps": None},
    MODEL_TINY: dict(TINY_DEFAULTS),
}
STATE_GROUP = "generate"  # QSettings group of the panel's last settings
MAX_SEED_UI = 2**31 - 1  # QSpinBox is 32-bit; seeds from stored clips may be larger (kept as they are)
START_NONE, START_FILE, START_VIEWER = "none", "file", "viewer"

FrameProvider = Callable[[], "np.ndarray | None"]


class GeneratePanel(QWidget):
    generate_requested = Signal(object)  # JobSpec
    settings_requested = Signal()  # "Open settings" from the problem message
    models_requested = Signal()  # "Model manager" from the problem message: how a new user gets the model
    duration_requested = Signal(str, float)  # prompt, fps: "Suggest" (LTX-2.5's duration head)

    def __init__(
        self,
        settings: EngineSettings,
        current_frame: FrameProvider | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("generatePanel")
        self._settings = settings
        self._current_frame = current_frame
        self._problems: list[str] = []
        self._big_seed: int | None = None
        self._loading = False
        self._queue = None  # app.jobs.JobQueue, to say when the jobs queued from here end (set_job_queue)
        self._followed: dict[str, str] = {}  # job id -> "seed 1, 64x64, 9 frames", until it ends
        self._job_text = ""  # the last "Queued"/"Done" line this panel wrote about its jobs

        self.prompt_edit = QPlainTextEdit(objectName="promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the shot: subject, action, camera, light, sound...")
        self.negative_edit = QLineEdit(objectName="negativeEdit")
        self.negative_edit.setPlaceholderText(
            "Model default: Lightricks' reference negative prompt (type to replace it)"
        )

        self.start_combo = QComboBox(objectName="startCombo")
        self.start_combo.addItem("No start image (text to video)", START_NONE)
        self.start_combo.addItem("Image file", START_FILE)
        self.start_combo.addItem("Viewer's current frame", START_VIEWER)
        if current_frame is None:
            self.start_combo.model().item(2).setEnabled(False)
        self.image_edit = QLineEdit(objectName="imageEdit")
        self.image_edit.setPlaceholderText("start image (.png, .jpg)")
        self.image_button = QPushButton("Browse...", objectName="imageButton")
        self.image_button.clicked.connect(self._pick_image)

        self.duration_spin = QDoubleSpinBox(objectName="durationSpin", suffix=" s", decimals=2)
        self.duration_spin.setRange(0.3, 20.0)  # the model's limit, set with the model
        self.duration_spin.setSingleStep(0.5)
        self.duration_spin.setValue(5.0)
        self.duration_label = QLabel(objectName="durationLabel")
        self.duration_label.setWordWrap(True)  # beside "Suggest" in a narrow dock it takes two lines
        self.suggest_button = QPushButton("Suggest", objectName="suggestDurationButton")
        self.suggest_button.setToolTip("LTX-2.5's duration head suggests a length for the prompt")
        self.suggest_button.clicked.connect(self._request_duration)
        self.size_combo = QComboBox(objectName="sizeCombo")
        for label, width, height in RESOLUTION_PRESETS:
            self.size_combo.addItem(label, _size_key(width, height))
        self.fps_combo = QComboBox(objectName="fpsCombo")
        for fps in FPS_CHOICES:
            self.fps_combo.addItem(f"{fps:g} fps", fps)
        self.steps_spin = steps_spin("stepsSpin")
        self.seed_spin = QSpinBox(objectName="seedSpin")
        self.seed_spin.setRange(0, MAX_SEED_UI)
        self.seed_spin.setValue(random_seed())
        self.seed_lock = QCheckBox("Lock", objectName="seedLock")
        self.seed_lock.setToolTip(
            "Locked: every generation uses this seed. Unlocked: a new random seed each time."
        )
        self.model_combo = QComboBox(objectName="modelCombo")
        self.quant_combo = QComboBox(objectName="quantCombo")
        for mode in QUANTIZATION_MODES:
            self.quant_combo.addItem(QUANTIZATION_LABELS[mode], mode)
        self.options = GenerationOptions(current_frame, self)  # quality, recipe, LoRAs, keyframes
        self.options.preset_chosen.connect(self._apply_preset)
        self.options.recipe_combo.currentIndexChanged.connect(self._update_steps_for_recipe)
        self.place_check = QCheckBox("Place on the timeline", objectName="placeCheck")
        self.place_check.setToolTip(
            "After the last clip of V1 (Generate ▸ Place Generated Clips at the Playhead: at the playhead)"
        )
        self.place_check.setChecked(True)
        self.plan_label = QLabel(objectName="memoryPlanLabel")  # engine.planner's line, before Generate
        self.plan_label.setWordWrap(True)
        # computed off the UI thread: a checkpoint's first plan builds meta-device skeletons (~1 s)
        self._plan_worker = PlanWorker(self)
        self._plan_worker.ready.connect(self.plan_label.setText)
        self.message_label = QLabel(objectName="generateMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.models_button = QPushButton("Model manager...", objectName="openModelManagerButton")
        self.models_button.setToolTip("See what the models folder holds and download the model files")
        self.models_button.clicked.connect(self.models_requested)
        self.settings_button = QPushButton("Open settings...", objectName="openSettingsButton")
        self.settings_button.clicked.connect(self.settings_requested)
        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.request_generate)

        image_row = QHBoxLayout()
        image_row.addWidget(self.image_edit, 1)
        image_row.addWidget(self.image_button)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.seed_lock)
        duration_row = QHBoxLayout()
        duration_row.addWidget(self.duration_spin)
        duration_row.addWidget(self.duration_label, 1)
        duration_row.addWidget(self.suggest_button)
        form = QFormLayout()
        # the user's style snippets, added from a menu under the label (issue 14): no extra height
        prompt_label = QWidget(objectName="promptLabel")
        label_column = QVBoxLayout(prompt_label)
        label_column.setContentsMargins(0, 0, 0, 0)
        label_column.addWidget(QLabel("Prompt"))
        self.presets_button = PromptPresetsButton(self.prompt_edit, self)
        label_column.addWidget(self.presets_button)
        label_column.addStretch(1)
        form.addRow(prompt_label, self.prompt_edit)
        form.addRow("Negative", self.negative_edit)
        form.addRow("Start", self.start_combo)
        form.addRow("", image_row)
        form.addRow("Duration", duration_row)
        form.addRow("Size", self.size_combo)
        form.addRow("Frame rate", self.fps_combo)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Seed", seed_row)
        form.addRow("Model", self.model_combo)
        form.addRow("Quantization", self.quant_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.options)
        labels = [form.itemAt(r, QFormLayout.ItemRole.LabelRole) for r in range(form.rowCount())]
        self.options.align_labels(
            max((i.widget().sizeHint().width() for i in labels if i is not None and i.widget()), default=0)
        )
        layout.addWidget(self.place_check)
        layout.addWidget(self.message_label)
        layout.addWidget(self.plan_label)
        setup_row = QHBoxLayout()
        setup_row.addWidget(self.models_button)
        setup_row.addWidget(self.settings_button)
        layout.addLayout(setup_row)
        layout.addWidget(self.generate_button)
        layout.addStretch(1)
        narrow_combos(self)  # the dock scrolls (ui.main_window); long item texts must not widen it

        self.duration_spin.valueChanged.connect(self._update_duration)
        self.fps_combo.currentIndexChanged.connect(self._update_duration)
        self.start_combo.currentIndexChanged.connect(self._update_start)
        self.model_combo.currentIndexChanged.connect(self._update_state)
        self.model_combo.currentIndexChanged.connect(self._update_model_defaults)
        self.model_combo.currentIndexChanged.connect(self._apply_model_field_defaults)
        self.prompt_edit.textChanged.connect(self._recheck_after_error)
        self.seed_spin.valueChanged.connect(self._forget_big_seed)
        for signal in (self.size_combo.currentIndexChanged, self.quant_combo.currentIndexChanged,
                       self.duration_spin.valueChanged, self.fps_combo.currentIndexChanged,
                       self.model_combo.currentIndexChanged, self.options.recipe_combo.currentIndexChanged,
                       self.options.upsampler_combo.currentIndexChanged):
            signal.connect(self.update_plan)
        self.set_settings(settings)
        self._update_start()
        self._update_duration()

    # --- public ---------------------------------------------------------------------------------------------

    def set_prompt_presets(self, presets) -> None:  # noqa: ANN001 -- app.jobs.prompt_presets.PromptPresets
        """The user's prompt presets for the Presets menu (kept in the studio's settings)."""
        self.presets_button.set_store(presets)

    def set_settings(self, settings: EngineSettings) -> None:
        """Re-check the model files and offer the test model only in developer mode; when the real model
        cannot load and the test model is offered, choose the test model (with its small defaults), so
        turning developer mode on is enough to generate."""
        self._settings = settings
        fill_model_combo(self.model_combo, settings)
        self.quant_combo.setCurrentIndex(max(0, self.quant_combo.findData(settings.quantization)))
        self._problems = settings.detect()
        tiny = self.model_combo.findData(MODEL_TINY)
        if self._problems and tiny >= 0 and self.model_combo.currentData() == MODEL_LTX2:
            self.model_combo.setCurrentIndex(tiny)  # emits: the tiny model's defaults and message follow
        self._update_model_defaults()
        self._update_state()
        self.update_plan()

    def model_spec(self):
        """The engine.models.ModelSpec of the chosen model: its defaults and length limit show here."""
        return model_spec_for(self.model_combo.currentData() or MODEL_LTX2, self._settings)

    def current_spec(self) -> JobSpec:
        """The job the fields describe (no random seed drawn here)."""
        width, height = (int(v) for v in self.size_combo.currentData().split("x"))
        fps = float(self.fps_combo.currentData())
        start = self.start_combo.currentData()
        image = self.image_edit.text().strip() if start == START_FILE else None
        image_array = None
        if start == START_VIEWER:
            frame = self._current_frame() if self._current_frame is not None else None
            if frame is None:
                raise JobError(
                    "the viewer shows no frame; move the playhead onto a clip or choose no start image"
                )
            image_array = np.ascontiguousarray(frame)
        if start == START_FILE and not image:
            raise JobError("choose a start image file, or choose 'No start image'")
        if image and not os.path.isfile(image):
            raise JobError(f"start image {image} does not exist; choose another file")
        return JobSpec(
            prompt=self.prompt_edit.toPlainText().strip(),
            negative_prompt=self.negative_edit.text().strip() or None,
            width=width,
            height=height,
            frames=frames_for_duration(self.duration_spin.value(), fps),
            fps=fps,
            steps=steps_value(self.steps_spin),
            seed=self._big_seed if self._big_seed is not None else self.seed_spin.value(),
            model=self.model_combo.currentData(),
            quantization=self.quant_combo.currentData(),
            image=image,
            image_array=image_array,
            place_on_timeline=self.place_check.isChecked(),
            **self.options.job_fields(),
        )

    def request_generate(self) -> JobSpec | None:
        """Check the fields and emit `generate_requested`; on a problem, say what to fix and emit nothing.
        An unlocked seed is drawn anew only for a generation that is really queued (a refused one keeps
        the seed on show)."""
        try:
            spec = self.current_spec()
            spec.validate()
        except JobError as exc:
            self.show_message(str(exc), error=True)
            return None
        if spec.model == MODEL_LTX2 and self._problems:
            self._update_state()
            return None
        if not self.seed_lock.isChecked():
            self._big_seed = None
            self.seed_spin.setValue(random_seed())
            spec = spec.with_changes(seed=self.seed_spin.value())
        self._job_text = f"Queued: {describe_job(spec)}."
        self.show_message(self._job_text)
        self.generate_requested.emit(spec)
        return spec

    def set_job_queue(self, queue) -> None:  # noqa: ANN001 -- app.jobs.JobQueue
        """The queue the window submits to: the message line follows the jobs queued from this panel
        (`follow_job`) until they end, so it never still says "Queued" about a finished clip."""
        self._queue = queue
        queue.job_finished.connect(lambda job_id, _result: self._job_ended(job_id, "Done"))
        queue.job_failed.connect(lambda job_id, text: self._job_ended(job_id, "Failed", text))
        queue.job_cancelled.connect(lambda job_id: self._job_ended(job_id, "Cancelled"))

    def announce_job(self, text: str) -> None:
        """Say something about the job just queued from this panel (a regeneration's new seed): it shows
        until that job ends, then gives way to the outcome, as "Queued" does."""
        self._job_text = text
        self.show_message(text)

    def follow_job(self, job_id: str) -> None:
        """A generation was queued for this panel's fields: say so, and say when it ends."""
        if self._queue is not None:
            self._followed[job_id] = describe_job(self._queue.job(job_id).spec)

    def load_spec(self, spec: JobSpec) -> None:
        """Fill the fields from a spec (regenerate from a clip), its seed included; the seed lock stays as
        the user set it (Regenerate chooses new seed or same seed itself, and says which)."""
        self._loading = True  # the model goes first: its defaults must not overwrite the spec's fields
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(spec.model)))
        self._loading = False
        self.prompt_edit.setPlainText(spec.prompt)
        negative = spec.negative_prompt or ""
        # the model's own negative prompt shows as the placeholder, not as text the user seems to have typed
        self.negative_edit.setText("" if negative == self.model_spec().negative_prompt else negative)
        index = self.size_combo.findData(_size_key(spec.width, spec.height))
        if index < 0:
            self.size_combo.addItem(
                f"{spec.width} x {spec.height} (from clip)", _size_key(spec.width, spec.height)
            )
            index = self.size_combo.count() - 1
        self.size_combo.setCurrentIndex(index)
        fps_index = self.fps_combo.findData(float(spec.fps))
        if fps_index < 0:
            self.fps_combo.addItem(f"{spec.fps:g} fps", float(spec.fps))
            fps_index = self.fps_combo.count() - 1
        self.fps_combo.setCurrentIndex(fps_index)
        self.duration_spin.setValue(spec.frames / spec.fps)
        set_steps(self.steps_spin, spec.steps)
        self.seed_spin.setValue(min(spec.seed, MAX_SEED_UI))
        self._big_seed = spec.seed if spec.seed > MAX_SEED_UI else None
        self.quant_combo.setCurrentIndex(max(0, self.quant_combo.findData(spec.quantization)))
        self.start_combo.setCurrentIndex(self.start_combo.findData(START_FILE if spec.image else START_NONE))
        self.image_edit.setText(spec.image or "")
        self.options.load(spec)

    def save_state(self, store: QSettings) -> None:
        """Remember the last settings (not the prompt's start image data) for the next launch."""
        store.beginGroup(STATE_GROUP)
        try:
            for key, value in (
                ("prompt", self.prompt_edit.toPlainText()),
                ("negative", self.negative_edit.text()),
                ("model", self.model_combo.currentData()),
                ("size", self.size_combo.currentData()),
                ("fps", float(self.fps_combo.currentData())),
                ("duration", self.duration_spin.value()),
                ("steps", self.steps_spin.value()),
                ("seed", self.seed_spin.value()),
                ("seed_locked", self.seed_lock.isChecked()),
                ("quantization", self.quant_combo.currentData()),
                ("place", self.place_check.isChecked()),
            ):
                store.setValue(key, value)
        finally:
            store.endGroup()

    def restore_state(self, store: QSettings) -> None:
        """The settings `save_state` left; a value that no longer fits (a model no longer offered, a size
        no longer listed) keeps what the panel has."""
        store.beginGroup(STATE_GROUP)
        try:
            if not store.contains("model"):
                return
            value = store.value
            self._loading = True
            try:
                _choose(self.model_combo, str(value("model")))
            finally:
                self._loading = False
            self.prompt_edit.setPlainText(str(value("prompt", "") or ""))
            self.negative_edit.setText(str(value("negative", "") or ""))
            _choose(self.size_combo, str(value("size")))
            _choose(self.fps_combo, _float(value("fps"), 24.0))
            self.duration_spin.setValue(_float(value("duration"), self.duration_spin.value()))
            self.steps_spin.setValue(int(_float(value("steps"), self.steps_spin.value())))
            locked = _bool(value("seed_locked", False))
            self.seed_lock.setChecked(locked)
            if locked:
                self.seed_spin.setValue(int(_float(value("seed"), self.seed_spin.value())))
            _choose(self.quant_combo, str(value("quantization")))
            self.place_check.setChecked(_bool(value("place", True)))
        finally:
            store.endGroup()

    def update_plan(self, *_args, vram: int | None = None) -> None:
        """Show the memory plan of the current fields for the real model (headers only: engine.planner)."""
        if not hasattr(self, "plan_label"):
            return
        if self.model_combo.currentData() != MODEL_LTX2 or self._problems:
            self._plan_worker.cancel()
            self.plan_label.setText("")
            return
        from app.jobs.plan_worker import PLANNING

        width, height = (int(v) for v in self.size_combo.currentData().split("x"))
        frames = frames_for_duration(self.duration_spin.value(), float(self.fps_combo.currentData()))
        self.plan_label.setText(PLANNING)
        self._plan_worker.request(
            self._settings.checkpoint, self._settings.gemma_root, self.quant_combo.currentData(),
            self.options.recipe(), width, height, frames, vram=vram,
            upsampler_scale=float(self.options.upsampler_combo.currentData()),
        )

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setProperty("state", "error" if error else "info")

    # --- internals ------------------------------------------------------------------------------------------

    def _job_ended(self, job_id: str, outcome: str, reason: str = "") -> None:
        what = self._followed.pop(job_id, None)
        if what is None:
            return
        if outcome != "Failed" and self.message_label.text() != self._job_text:
            return  # newer news is on show (a refusal, a model problem, a regeneration's seed): it stays
        text = f"{outcome}: {what}" + (f": {reason}" if reason else ".")
        item = getattr(self._queue.job(job_id), "item", None) if self._queue is not None else None
        if outcome == "Done" and getattr(item, "name", None):
            text = f"{outcome}: {what}: {item.name} is in the media bin."
        if self._followed:
            text += f" {len(self._followed)} more queued."
        self._job_text = text
        self.show_message(text, error=outcome == "Failed")

    def _update_state(self) -> None:
        blocked = self.model_combo.currentData() == MODEL_LTX2 and bool(self._problems)
        self.generate_button.setEnabled(not blocked)
        self.settings_button.setVisible(blocked)
        self.models_button.setVisible(blocked)
        if blocked:
            hint = (
                "\nNo model files yet? Press Model manager... below: it downloads what a quality preset "
                "needs and sets it here."
            )
            if not self._settings.developer_tiny:
                hint += " To try the studio without them, turn on developer mode in Settings (the tiny "
                hint += "test model: its clips are noise)."
            self.show_message(
                "Cannot generate yet:\n" + "\n".join(f"\u2022 {p}" for p in self._problems) + hint, True
            )
        elif self.model_combo.currentData() == MODEL_TINY:
            self.show_message("Test model: random weights, the result is noise (developer mode).")
        else:
            self.show_message("")

    def _apply_model_field_defaults(self) -> None:
        """A model chosen by hand (or for the user) starts at its size, length and steps; filling the
        fields from a clip or the last session keeps theirs."""
        if self._loading:
            return
        defaults = MODEL_FIELD_DEFAULTS.get(self.model_combo.currentData())
        if defaults is None:
            return
        _choose(self.size_combo, _size_key(defaults["width"], defaults["height"]))
        fps = float(self.fps_combo.currentData())
        self.duration_spin.setValue(defaults["frames"] / fps)
        set_steps(self.steps_spin, defaults["steps"])

    def _recheck_after_error(self) -> None:
        # A refusal ("prompt is empty") goes once the user edits; the model's state message comes back.
        if self.message_label.property("state") == "error":
            self._update_state()

    def _request_duration(self) -> None:
        prompt = self.prompt_edit.toPlainText().strip()
        if not prompt:
            self.show_message("Write the prompt first: the duration is suggested from it.", error=True)
            return
        self.show_message("Asking the duration head...")
        self.duration_requested.emit(prompt, float(self.fps_combo.currentData()))

    def apply_duration_suggestion(self, seconds: float, frames: int) -> None:
        """The duration head's answer: the duration field takes it (still editable)."""
        fps = float(self.fps_combo.currentData())
        self.duration_spin.setValue(frames / fps)
        self.show_message(f"Suggested duration: {seconds:.1f} s ({frames} frames); change it if you like.")

    def _update_steps_for_recipe(self) -> None:
        """The distilled recipes have fixed sigmas: the steps box says so and cannot be set."""
        recipe = self.options.recipe()
        fixed = recipe in ("distilled", "two-stage")
        self.steps_spin.setEnabled(not fixed)
        if fixed:
            spec = self.model_spec()
            steps = len(spec.distilled_sigmas) - 1
            if recipe == "two-stage":
                label = f"fixed ({steps} + {len(spec.stage_2_distilled_sigmas) - 1}, the recipe's)"
            else:
                label = f"fixed ({steps}, the recipe's)"
            set_steps(self.steps_spin, None)
            self.steps_spin.setSpecialValueText(label)
        else:
            show_model_steps(self.steps_spin, self.model_spec())

    def _apply_preset(self, width: int, height: int, recipe: str) -> None:
        """A quality preset sets the size (its recipe is set in the options); steps go back to the model's."""
        key = _size_key(width, height)
        if self.size_combo.findData(key) < 0:
            self.size_combo.addItem(f"{width} x {height}", key)
        _choose(self.size_combo, key)
        if recipe != "full":
            set_steps(self.steps_spin, None)  # the distilled recipes have fixed sigmas

    def _update_options(self) -> None:
        """The options' presets, estimates and LoRA library follow the chosen model and settings."""
        from app.jobs.lora_library import library_for

        model = self.model_combo.currentData() or MODEL_LTX2
        quantization = self.quant_combo.currentData()
        self.options.set_model(model, self.model_spec(), self._settings.checkpoint, quantization)
        self.options.set_library(library_for(self._settings) if model == MODEL_LTX2 else [])

    def _update_model_defaults(self) -> None:
        """Show the chosen model's reference steps and limit the duration to its positional range."""
        self._update_options()
        spec = self.model_spec()
        has_head = spec.has_duration_head and self.model_combo.currentData() == MODEL_LTX2
        self.suggest_button.setEnabled(has_head)
        self.suggest_button.setVisible(has_head)
        show_model_steps(self.steps_spin, spec)
        if hasattr(self, "options"):
            self._update_steps_for_recipe()  # a distilled recipe keeps its fixed steps
        self.duration_spin.setMaximum(spec.max_seconds)
        self.duration_spin.setToolTip(f"{spec.name} makes clips of up to {spec.max_seconds:g} s")

    def _update_duration(self) -> None:
        fps = float(self.fps_combo.currentData())
        frames = frames_for_duration(self.duration_spin.value(), fps)
        self.duration_label.setText(f"= {frames} frames, {frames / fps:.2f} s")
        if hasattr(self, "options"):
            self.options.set_frames(frames)

    def _update_start(self) -> None:
        from_file = self.start_combo.currentData() == START_FILE
        self.image_edit.setEnabled(from_file)
        self.image_button.setEnabled(from_file)

    def _forget_big_seed(self) -> None:
        if self._big_seed is not None and self.seed_spin.value() != min(self._big_seed, MAX_SEED_UI):
            self._big_seed = None

    def _pick_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Start image",
            self.image_edit.text(),
            "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)",
        )
        if path:
            self.image_edit.setText(path)


def fill_model_combo(combo: QComboBox, settings: EngineSettings) -> None:
    """The models a job can use: LTX-2 always, the tiny random model only in developer mode (labelled as
    noise). Keeps the current choice when it is still offered; emits no change while refilling."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    name = settings.model_spec().name if settings.checkpoint.strip() else "LTX-2"
    combo.addItem(f"{name} (checkpoint from Settings)", MODEL_LTX2)
    if settings.developer_tiny:
        combo.addItem("Test model: random weights (generates noise)", MODEL_TINY)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    combo.blockSignals(False)


def describe_job(spec: JobSpec) -> str:
    """What the message line calls a generation: "seed 7, 768x512, 121 frames"."""
    return f"seed {spec.seed}, {spec.width}x{spec.height}, {spec.frames} frames"


def steps_spin(name: str) -> QSpinBox:
    """A steps box whose lowest entry reads "model default (N)": None in the job, the model's reference
    steps (shared by the generate and inpaint panels)."""
    spin = QSpinBox(objectName=name)
    spin.setRange(MODEL_DEFAULT_STEPS, MAX_STEPS)
    spin.setValue(MODEL_DEFAULT_STEPS)
    return spin


def show_model_steps(spin: QSpinBox, spec) -> None:
    """Name `spec`'s (engine.models.ModelSpec) reference steps on the box's model-default entry."""
    spin.setSpecialValueText(f"model default ({spec.steps})")
    spin.setToolTip(f"{spec.name}'s reference value is {spec.steps} steps; set a number to override it")


def steps_value(spin: QSpinBox) -> int | None:
    return None if spin.value() == MODEL_DEFAULT_STEPS else spin.value()


def set_steps(spin: QSpinBox, steps: int | None) -> None:
    spin.setValue(MODEL_DEFAULT_STEPS if steps is None else int(steps))


def _choose(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


def _float(value: object, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _bool(value: object) -> bool:
    # INI-backed QSettings hand booleans back as the strings "true"/"false".
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _size_key(width: int, height: int) -> str:
    # A string, not a tuple: QComboBox.findData cannot match a tuple stored as item data.
    return f"{width}x{height}"


def random_seed() -> int:
    """A fresh seed that fits the 32-bit seed box."""
    return int.from_bytes(os.urandom(4), "little") & MAX_SEED_UI

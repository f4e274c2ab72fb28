"""The model manager: the models folder (the user's choice; a ComfyUI ``models/`` tree is reused in place),
what it holds for each LTX version, what each quality preset needs, sizes and free disk, and downloads of the
missing files from Hugging Face, only when asked, in the background with progress (app.model_store). Opens on
first run and from Settings ("Model manager...").
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.model_store import credentials
from app.model_store.catalog import CATALOG, PRESET_NEEDS
from app.model_store.folder import (
    FolderReport,
    ModelFolderError,
    VersionStatus,
    human_size,
    models_folder,
    scan,
    set_models_folder,
)
from app.model_store.worker import DownloadWorker
from ui.screen_fit import fit_to_screen

FIRST_RUN_KEY = "models/first_run_offered"
TOKEN_HELP = "https://huggingface.co/settings/tokens"


def _presets_for(status: VersionStatus, key: str) -> str:
    users = [name for name in PRESET_NEEDS if any(item.key == key for item in status.entry.needed_for(name))]
    return "all" if len(users) == len(PRESET_NEEDS) else ", ".join(users) or "none"


class ModelManagerDialog(QDialog):
    """Emits ``use_model`` with EngineSettings changes (checkpoint, gemma_root, lora_folder) on "Use"."""

    use_model = Signal(dict)

    def __init__(self, parent: QWidget | None = None, first_run: bool = False):
        super().__init__(parent)
        self.setObjectName("modelManager")
        self.setWindowTitle("Models" if not first_run else "Welcome to AIPROD Studio: get a model")
        self.resize(1000, 500)
        self.worker = DownloadWorker(self)
        self.worker.planned.connect(self._planned)
        self.worker.progress.connect(self._progress)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.worker.remembered.connect(self._remembered)
        self.worker.warned.connect(self._token_problem)
        self.report: FolderReport | None = None
        self._action = "download"  # what the worker was last asked to do: "plan", "verify" or "download"
        # whether "Use this model" sets the studio's settings at once (open_for_window) or only fills the
        # Settings dialog that opened it
        self.applies_at_once = False
        self.sizes: dict[str, int] = {}  # key -> bytes to fetch, once the hub was asked

        intro = QLabel(objectName="modelIntro")
        intro.setWordWrap(True)
        intro.setText(
            "AIPROD Studio generates with Lightricks' LTX models. Choose where the model files live (an "
            "existing ComfyUI models folder is reused in place), see what is there, and download what is "
            "missing. Nothing is downloaded until you press Download."
            if first_run
            else "Where the model files live, what is there, and what each quality preset needs."
        )
        self.folder_edit = QLineEdit(objectName="modelsFolderEdit")
        self.folder_edit.setReadOnly(True)
        choose = QPushButton("Choose folder...", objectName="modelsFolderButton")
        choose.clicked.connect(self._choose_folder)
        self.free_label = QLabel(objectName="modelsFreeLabel")
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Models folder"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(choose)

        self.version_combo = QComboBox(objectName="modelVersionCombo")
        for entry in CATALOG:
            self.version_combo.addItem(entry.title, entry.version)
        self.preset_combo = QComboBox(objectName="modelPresetCombo")
        for name in PRESET_NEEDS:
            self.preset_combo.addItem(name)
        self.preset_combo.setCurrentText("Standard")
        self.version_combo.currentIndexChanged.connect(self.refresh)
        self.preset_combo.currentIndexChanged.connect(self._update_need)
        pick_row = QHBoxLayout()
        pick_row.addWidget(QLabel("LTX version"))
        pick_row.addWidget(self.version_combo)
        pick_row.addSpacing(16)
        pick_row.addWidget(QLabel("Quality preset"))
        pick_row.addWidget(self.preset_combo)
        pick_row.addStretch(1)
        pick_row.addWidget(self.free_label)

        self.tree = QTreeWidget(objectName="modelFiles")
        self.tree.setHeaderLabels(["What", "File", "Size", "State", "Presets"])
        self.tree.setRootIsDecorated(False)
        for column, width in enumerate((150, 330, 80, 190)):
            self.tree.setColumnWidth(column, width)
        self.summary_label = QLabel(objectName="modelSummary")
        self.summary_label.setWordWrap(True)
        self.need_label = QLabel(objectName="modelNeedLabel")
        self.need_label.setWordWrap(True)

        self.token_edit = QLineEdit(objectName="hfTokenEdit")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(f"Hugging Face read token (for gated models: Gemma); {TOKEN_HELP}")
        self.remember_check = QCheckBox("Remember this token on this computer", objectName="hfRememberCheck")
        self.remember_check.setToolTip(
            "Checked with Hugging Face on the next Download (or Ask the hub), then stored where "
            "huggingface_hub and the hf command keep it ($HF_HOME/token); the studio writes it nowhere else."
        )
        self.forget_button = QPushButton("Forget stored token", objectName="hfForgetButton")
        self.forget_button.clicked.connect(self.forget_token)
        token_row = QHBoxLayout()
        token_row.addWidget(QLabel("Token"))
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.remember_check)
        token_row.addWidget(self.forget_button)
        self.token_state_label = QLabel(objectName="hfTokenState")
        self.token_state_label.setWordWrap(True)

        self.progress_bar = QProgressBar(objectName="modelProgress")
        self.progress_bar.setVisible(False)
        self.status_label = QLabel(objectName="modelStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # room for a three-line message (a refused download says what to do, with a link)
        self.status_label.setMinimumHeight(3 * self.status_label.fontMetrics().lineSpacing() + 4)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        self.sizes_button = QPushButton("Ask the hub for sizes", objectName="modelSizesButton")
        self.download_button = QPushButton("Download missing", objectName="modelDownloadButton")
        self.verify_button = QPushButton("Verify files", objectName="modelVerifyButton")
        self.cancel_button = QPushButton("Cancel download", objectName="modelCancelButton")
        self.use_button = QPushButton("Use this model", objectName="modelUseButton")
        close = QPushButton("Close", objectName="modelCloseButton")
        self.sizes_button.clicked.connect(lambda: self._start(plan_only=True))
        self.download_button.clicked.connect(lambda: self._start())
        self.verify_button.clicked.connect(lambda: self._start(verify=True))
        self.cancel_button.clicked.connect(self.worker.cancel)
        self.use_button.clicked.connect(self._use)
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.sizes_button, self.download_button, self.verify_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(folder_row)
        layout.addLayout(pick_row)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.need_label)
        layout.addLayout(token_row)
        layout.addWidget(self.token_state_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.refresh()
        self.refresh_token_state()

    # ---------------------------------------------------------------------------------------- state
    def folder(self) -> Path:
        return models_folder()

    def version_status(self) -> VersionStatus:
        assert self.report is not None
        return self.report.version(self.version_combo.currentData())

    def refresh(self) -> None:
        self.report = scan(self.folder())
        report = self.report
        layout = "ComfyUI models tree, reused in place" if report.comfy else "the studio's layout"
        self.folder_edit.setText(str(report.folder))
        self.folder_edit.setToolTip(layout)
        self.free_label.setText(f"{human_size(report.free)} free on its disk")
        status = self.version_status()
        self.tree.clear()
        for file in status.files:
            if file.present:
                state, size = "present", human_size(file.size)
            elif file.partial:
                state, size = f"partly downloaded ({human_size(file.partial)})", ""
            else:
                state = "missing" if file.item.required else "missing (optional)"
                size = human_size(self.sizes[file.item.key]) if file.item.key in self.sizes else "?"
            if file.path:
                name = file.path.name + ("/" if file.item.folder else "")
            elif file.item.folder:
                name = f"{file.item.target_folder_name}/ ({file.item.repo})"
            else:
                name = file.item.pattern.rsplit("/", 1)[-1]
            row = QTreeWidgetItem([file.item.role, name, size, state, _presets_for(status, file.item.key)])
            row.setData(0, Qt.ItemDataRole.UserRole, file.item.key)
            row.setToolTip(1, str(file.path) if file.path else f"{file.item.repo}: {file.item.pattern}")
            self.tree.addTopLevelItem(row)
        where = f" ({layout})" if report.exists else " (created on the first download)"
        found = f"Found: {status.summary}." if status.summary else ""
        self.summary_label.setText(f"{status.entry.title} in {report.folder}{where}. {found}".strip())
        for problem in status.problems:
            self.summary_label.setText(self.summary_label.text() + f"\n\u2022 {problem}")
        self._update_need()

    def missing_keys(self) -> list[str]:
        return [item.key for item in self.version_status().missing(self.preset_combo.currentText())]

    def _update_need(self) -> None:
        if self.report is None:
            return
        missing = self.version_status().missing(self.preset_combo.currentText())
        preset = self.preset_combo.currentText()
        if not missing:
            self.need_label.setText(f"Everything the {preset} preset needs is here.")
        else:
            known = [self.sizes[i.key] for i in missing if i.key in self.sizes]
            # the total to fetch for the preset, not one file's size: say so
            size = (f"to download: {human_size(sum(known))}" if len(known) == len(missing)
                    else "download size unknown until the hub is asked")  # fmt: skip
            gated = [i.repo for i in missing if i.gated]
            note = ""
            if gated:
                note = (f" {', '.join(gated)} is gated: accept its licence on huggingface.co with your "
                        "account and enter a token.")  # fmt: skip
            names = ", ".join(i.role for i in missing)
            self.need_label.setText(
                f"The {preset} preset needs: {names} ({size}; {human_size(self.report.free)} free).{note}"
            )
        busy = self.worker.is_running()
        self.download_button.setEnabled(bool(missing) and not busy)
        self.sizes_button.setEnabled(bool(missing) and not busy)
        self.verify_button.setEnabled(not busy and any(f.present for f in self.version_status().files))
        self.cancel_button.setEnabled(busy)
        self.use_button.setEnabled(self.version_status().ready and not busy)

    # -------------------------------------------------------------------------------------- actions
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder (or a ComfyUI models folder)",
                                                  str(self.folder()))  # fmt: skip
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder: str | Path) -> bool:
        try:
            set_models_folder(folder)
        except ModelFolderError as exc:
            self._show(str(exc), problem=True)
            return False
        self.sizes.clear()
        self._show("")
        self.refresh()
        return True

    def _start(self, *, verify: bool = False, plan_only: bool = False) -> None:
        status = self.version_status()
        keys = self.missing_keys() if not verify else [f.item.key for f in status.files if f.present]
        if not keys:
            return
        self.progress_bar.setVisible(not plan_only)
        self.progress_bar.setRange(0, 0)
        self._action = "plan" if plan_only else "verify" if verify else "download"
        what = "Asking the hub for sizes" if plan_only else "Verifying" if verify else "Downloading"
        self._show(f"{what}...")
        token = self.token_edit.text().strip() or None
        version = status.entry.version
        remember = self.remember_check.isChecked() and token is not None
        self.worker.start(version, self.folder(), keys, token, verify=verify, plan_only=plan_only,
                          remember=remember)  # fmt: skip
        self._update_need()

    def _planned(self, files: list) -> None:
        sizes: dict[str, int] = {}
        for remote in files:
            sizes[remote["key"]] = sizes.get(remote["key"], 0) + remote["size"]
        self.sizes.update(sizes)
        total = sum(sizes.values())
        self._show(f"To fetch: {human_size(total)} in {len(files)} files." if files else "Nothing to fetch.")
        self.refresh()

    def _progress(self, p: dict) -> None:
        total = max(1, p["total"])
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * p["done"] / total))
        self.progress_bar.setFormat(f"{human_size(p['done'])} of {human_size(p['total'])}")
        done, size = human_size(p["file_done"]), human_size(p["file_size"])
        line = p.get("message") or f"{p['filename']}: {done} of {size}"
        self._show(line)

    def _finished(self, written: list) -> None:
        self.progress_bar.setVisible(False)
        if written:
            self._show(f"Downloaded and verified {len(written)} files.")
        self.refresh()

    def _failed(self, kind: str, message: str) -> None:
        self.progress_bar.setVisible(False)
        self._show(retry_wording(message, self._action), problem=kind != "cancelled")
        self.refresh()

    # ---------------------------------------------------------------------------------------- token
    def refresh_token_state(self, note: str = "", problem: bool = False) -> None:
        """Say (masked) which token is used when the field is empty; ``note`` first when given."""
        found = credentials.state()
        self.forget_button.setEnabled(found.stored)
        self.token_edit.setPlaceholderText(
            f"Leave empty to use {found.masked}, or paste another read token"
            if found.masked
            else f"Hugging Face read token (for gated models: Gemma); {TOKEN_HELP}"
        )
        self._set_token_text(" ".join(part for part in (note, found.describe()) if part), problem)

    def _set_token_text(self, text: str, problem: bool) -> None:
        self.token_state_label.setText(text)
        self.token_state_label.setProperty("state", "problem" if problem else "ok")
        self.token_state_label.setStyleSheet("color: #ff6b6b;" if problem else "")

    def _remembered(self, masked: str) -> None:
        self.token_edit.clear()  # stored now: an empty field uses it
        self.remember_check.setChecked(False)
        self.refresh_token_state(f"Token {masked} checked by Hugging Face and stored.")

    def _token_problem(self, message: str) -> None:
        """The token could not be stored: it stays in the field (and is used for this session)."""
        self.refresh_token_state(message, problem=True)

    def forget_token(self) -> None:
        try:
            credentials.forget()
        except credentials.TokenError as exc:
            self.refresh_token_state(str(exc), problem=True)
            return
        self.refresh_token_state("The stored token was deleted.")

    def _show(self, text: str, problem: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setProperty("state", "problem" if problem else "ok")
        self.status_label.setStyleSheet("color: #ff6b6b;" if problem else "")

    def settings_changes(self) -> dict[str, str]:
        """What "Use this model" puts into the generation settings (EngineSettings fields)."""
        status = self.version_status()
        present = [f for f in status.files if f.present]
        model = next(f.path for f in present if "model" in f.item.provides)
        encoder = next((f.path for f in present if "text encoder" in f.item.provides), None)
        lora = next((f.path for f in present if "distilled" in f.item.provides), None)
        changes = {"checkpoint": str(model), "gemma_root": str(encoder) if encoder else ""}
        if status.entry.release_layout:  # LTX-2.5: the release folder itself, its encoder inside
            changes = {"checkpoint": str(model.parent.parent), "gemma_root": ""}
        if lora is not None and lora.parent.name == "loras":
            # a LoRA folder of its own (ComfyUI, LTX-2.5) becomes the library; LoRAs beside a 2.x model
            # file are found without it
            changes["lora_folder"] = str(lora.parent)
        return changes

    def _use(self) -> None:
        changes = self.settings_changes()
        self.use_model.emit(changes)
        name = Path(changes["checkpoint"]).name
        if self.applies_at_once:
            self._show(f"The studio now generates with {name}.")
        else:  # opened from Settings: its fields took the paths; nothing is kept until its OK
            self._show(f"Settings now show {name}: press OK there to generate with it.")

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 -- Qt override
        super().showEvent(event)
        fit_to_screen(self)  # a 1366 x 768 laptop shows all of it (ui.screen_fit)

    def done(self, result: int) -> None:
        if self.worker.is_running():
            self.worker.cancel()  # what was fetched stays and resumes next time
        super().done(result)


# The download child's messages end by saying how to try again as if Download was pressed; the other
# actions the worker runs say their own.
RETRY_PHRASES = {
    "plan": "try again", "verify": "press Verify files again", "download": "press Download again",
}  # fmt: skip


def retry_wording(message: str, action: str) -> str:
    """`message` from the download worker, its "press Download again" fitted to `action` (the button the
    user really pressed)."""
    return message.replace("press Download again", RETRY_PHRASES.get(action, RETRY_PHRASES["download"]))


def offer_on_first_run(window, store: QSettings | None = None) -> ModelManagerDialog | None:
    """On the very first start with no model set, open the model manager over the main window."""
    store = store if store is not None else window.settings
    settings = window.engine_settings
    if settings.checkpoint.strip() or store.value(FIRST_RUN_KEY, False) in (True, "true"):
        return None
    store.setValue(FIRST_RUN_KEY, True)
    dialog = open_for_window(window, first_run=True)
    QTimer.singleShot(0, dialog.open)
    return dialog


def open_for_window(window, first_run: bool = False) -> ModelManagerDialog:
    """A model manager over the main window (not yet shown) whose "Use this model" sets the window's
    generation settings at once (the Generate panel follows)."""
    dialog = ModelManagerDialog(window, first_run=first_run)
    dialog.applies_at_once = True
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.use_model.connect(lambda changes: window.apply_engine_settings(
        window.engine_settings.with_changes(**changes)))  # fmt: skip
    return dialog

"""The bridge to the engine: job specs, engine settings, one long-lived worker thread and a queue.

queue = JobQueue(EngineSettings.load(QSettings()), media_dir=lambda: project_media_folder)
queue.job_finished.connect(lambda job_id, item: apply_result(stack, doc, item, playhead, track))
queue.submit(JobSpec(prompt="a cat on a beach", ...))
queue.submit(InpaintSpec.for_clip(doc, clip_id, session.masks_dir, prompt="a red scarf"))  # a new take
queue.submit(ExportRequest.of(doc, "prores_422_hq", "/out/film.mov"))  # app.export.runner; the render lane

Each spec type is a job kind (app.jobs.kinds): its runner on a worker, its applier (app.jobs.apply) after.
"""

from app.jobs.inpaint import InpaintSpec, apply_inpaint_result, read_audio_exact, switch_take
from app.jobs.kinds import JobKind, JobStage, register
from app.jobs.queue import Job, JobQueue, JobStatus
from app.jobs.result import apply_result, build_media_item, generation_record
from app.jobs.settings import TINY_IDENTITY, EngineSettings
from app.jobs.spec import (
    MODEL_LTX2,
    MODEL_TINY,
    RESOLUTION_PRESETS,
    JobSpec,
    frames_for_duration,
    snap_frames,
    snap_side,
)
from app.jobs.worker import EngineWorker, WorkItem
from engine.quantization_modes import QUANTIZATION_LABELS, QUANTIZATION_MODES

__all__ = [
    "EngineSettings",
    "EngineWorker",
    "InpaintSpec",
    "Job",
    "JobKind",
    "JobQueue",
    "JobSpec",
    "JobStage",
    "JobStatus",
    "MODEL_LTX2",
    "MODEL_TINY",
    "QUANTIZATION_LABELS",
    "QUANTIZATION_MODES",
    "RESOLUTION_PRESETS",
    "TINY_IDENTITY",
    "WorkItem",
    "apply_inpaint_result",
    "apply_result",
    "build_media_item",
    "frames_for_duration",
    "generation_record",
    "read_audio_exact",
    "register",
    "snap_frames",
    "snap_side",
    "switch_take",
]

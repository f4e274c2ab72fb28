"""The shot list of ``aiprod-cli farm submit``: a JSON file of shots to generate into a project.

    {
      "project": "Film.aiprod",                 # optional: where the results land (else --project)
      "model": "tiny",                          # optional: 'tiny' or the checkpoint path every node sees
      "width": 768, "height": 512, "fps": 24,   # optional defaults for every shot
      "shots": [
        {"prompt": "a lighthouse at dusk, waves", "duration": 5, "recipe": "distilled", "seed": 42,
         "name": "sh010", "keyframes": [{"image": "boards/sh010.png", "at": 0, "strength": 1.0}]}
      ]
    }

Per shot: ``prompt`` and ``duration`` (seconds) are required; ``recipe`` (full, distilled, two-stage,
two-stage-full), ``seed`` (default: drawn at random and recorded), ``name``, ``steps``, ``width``,
``height``, ``fps``, ``negative_prompt`` and ``keyframes`` are optional. A keyframe's ``at`` is in seconds
(``frame`` counts frames instead; -1 is the last); relative paths are read from the shot list's folder.
Every mistake is a :class:`ShotListError` naming the shot and the field, before anything is sent.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import JobError
from app.jobs.spec import MAX_SEED, MODEL_LTX2, MODEL_TINY, JobSpec, frames_for_duration

RECIPES = ("full", "distilled", "two-stage", "two-stage-full")  # engine.request.RECIPES
TOP_KEYS = {"project", "model", "width", "height", "fps", "quantization", "shots"}
SHOT_KEYS = {
    "prompt", "duration", "recipe", "seed", "name", "steps", "width", "height", "fps", "negative_prompt",
    "keyframes",
}  # fmt: skip
KEYFRAME_KEYS = {"image", "at", "frame", "strength"}
PROJECT_SHOT_LIST = "shots.json"  # `farm submit PROJECT` reads the project's own shot list


class ShotListError(JobError):
    """The shot list cannot be used as written; the message names the shot and the field."""


@dataclass
class ShotList:
    specs: list[JobSpec]
    project: str | None
    model: str
    source: Path
    random_seeds: list[int]  # indexes of shots whose seed was drawn here


def read_shot_list(path: str | os.PathLike[str], *, model: str | None = None) -> ShotList:
    """The shots of `path` as generation specs (model: the --model given, else the file's, else 'tiny' is
    NOT assumed: a real model needs its checkpoint). ShotListError on any mistake."""
    source = Path(path)
    where = source.name
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShotListError(f"there is no shot list at {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShotListError(f"{where} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno}, column {exc.colno}"
        raise ShotListError(f"{where} is not valid JSON: {exc.msg} at {at}") from None
    if not isinstance(data, dict):
        raise ShotListError(f'{where} must hold a JSON object with a "shots" list')
    _unknown(data, TOP_KEYS, where)
    shots = data.get("shots")
    if not isinstance(shots, list) or not shots:
        raise ShotListError(f'{where} has no shots: give "shots": [{{"prompt": ..., "duration": ...}}, ...]')
    chosen_model = model or data.get("model")
    if not isinstance(chosen_model, str) or not chosen_model.strip():
        raise ShotListError(f'{where} names no model: add "model" (a checkpoint path, or "tiny") or --model')
    defaults = {
        "width": _int(data, "width", where, 768),
        "height": _int(data, "height", where, 512),
        "fps": _number(data, "fps", where, 24.0),
    }
    quantization = data.get("quantization", "none")
    if not isinstance(quantization, str):
        raise ShotListError(f'{where}: "quantization" must be a text such as "none" or "fp8"')
    project = data.get("project")
    if project is not None and not isinstance(project, str):
        raise ShotListError(f'{where}: "project" must be the path of a Name.aiprod folder')
    if project is not None:
        project = str((source.parent / project).expanduser()) if not Path(project).is_absolute() else project
    specs, drawn = [], []
    for index, shot in enumerate(shots, start=1):
        spec, random_seed = _shot(shot, index, where, source.parent, defaults, chosen_model, quantization)
        specs.append(spec)
        if random_seed:
            drawn.append(index - 1)
    return ShotList(specs, project, chosen_model, source, drawn)


def _shot(
    shot: Any, index: int, where: str, folder: Path, defaults: dict, model: str, quantization: str
) -> tuple[JobSpec, bool]:
    if not isinstance(shot, dict):
        raise ShotListError(f"{where}: shot {index} must be an object with a prompt and a duration")
    label = f"{where}: shot {index}" + (f" ({shot['name']})" if isinstance(shot.get("name"), str) else "")
    _unknown(shot, SHOT_KEYS, label)
    prompt = shot.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ShotListError(f'{label} has no prompt: add "prompt": "what the shot shows and sounds like"')
    fps = _number(shot, "fps", label, defaults["fps"])
    if "duration" not in shot:
        raise ShotListError(f'{label} has no duration: add "duration": SECONDS')
    duration = _number(shot, "duration", label, None)
    frames = frames_for_duration(duration, fps)
    recipe = shot.get("recipe")
    if recipe is not None and recipe not in RECIPES:
        raise ShotListError(f"{label}: unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    random_seed = "seed" not in shot
    seed = shot.get("seed")
    if random_seed:
        seed = int.from_bytes(os.urandom(4), "little")
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ShotListError(f"{label}: seed {seed!r} must be a whole number from 0 to {MAX_SEED}")
    steps = shot.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 2):
        raise ShotListError(f"{label}: steps {steps!r} must be a whole number, at least 2")
    name = shot.get("name", "")
    if not isinstance(name, str):
        raise ShotListError(f"{label}: name must be a text")
    negative = shot.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise ShotListError(f"{label}: negative_prompt must be a text")
    keyframes = _keyframes(shot.get("keyframes", []), label, folder, frames, fps)
    spec = JobSpec(
        prompt=prompt.strip(),
        negative_prompt=negative,
        width=_int(shot, "width", label, defaults["width"]),
        height=_int(shot, "height", label, defaults["height"]),
        frames=frames,
        fps=fps,
        steps=steps,
        seed=seed,
        model=MODEL_TINY if model == MODEL_TINY else MODEL_LTX2,
        quantization=quantization,
        name=name,
        recipe=recipe,
        keyframes=keyframes,
        preview_every=0,
    )
    try:
        spec.validate()
    except JobError as exc:
        raise ShotListError(f"{label}: {exc}") from None
    return spec, random_seed


def _keyframes(value: Any, label: str, folder: Path, frames: int, fps: float) -> tuple:
    if not isinstance(value, list):
        raise ShotListError(f'{label}: "keyframes" must be a list of {{"image": ..., "at": SECONDS}}')
    made = []
    for number, keyframe in enumerate(value, start=1):
        what = f"{label}, keyframe {number}"
        if not isinstance(keyframe, dict):
            raise ShotListError(f'{what} must be an object such as {{"image": "board.png", "at": 0}}')
        _unknown(keyframe, KEYFRAME_KEYS, what)
        image = keyframe.get("image")
        if not isinstance(image, str) or not image:
            raise ShotListError(f'{what} has no "image"')
        path = Path(image).expanduser()
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            raise ShotListError(f"{what}: the image {path} does not exist")
        if "at" in keyframe and "frame" in keyframe:
            raise ShotListError(f'{what}: give "at" (seconds) or "frame", not both')
        if "frame" in keyframe:
            index = keyframe["frame"]
            if isinstance(index, bool) or not isinstance(index, int):
                raise ShotListError(f"{what}: frame {index!r} must be a whole number")
        else:
            index = round(_number(keyframe, "at", what, 0.0, allow_zero=True) * fps)
        index = index + frames if index < 0 else index
        if not 0 <= index < frames:
            raise ShotListError(f"{what} is outside the shot (frames 0..{frames - 1})")
        strength = _number(keyframe, "strength", what, 1.0, allow_zero=True)
        if strength > 1:
            raise ShotListError(f"{what}: strength {strength:g} must be from 0 to 1")
        made.append((str(path), int(index), float(strength)))
    return tuple(made)


def _unknown(data: dict, allowed: set[str], label: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ShotListError(
            f"{label}: unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}; "
            f"the fields are {', '.join(sorted(allowed))}"
        )


def _number(data: dict, key: str, label: str, default: float | None, *, allow_zero: bool = False) -> float:
    value = data.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        need = "zero or more" if allow_zero else "more than zero"
        raise ShotListError(f"{label}: {key} {value!r} must be a number, {need}")
    return float(value)


def _int(data: dict, key: str, label: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ShotListError(f"{label}: {key} {value!r} must be a whole number of pixels")
    return value

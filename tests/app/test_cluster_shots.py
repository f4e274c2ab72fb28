"""The shot list of `aiprod-cli farm submit`: what it makes of a good one, and a clear error, naming the
shot and the field, for each kind of mistake (nothing is sent to the cluster then)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from app.cluster.shots import ShotListError, read_shot_list
from app.jobs.spec import MODEL_TINY


def write(tmp_path, data, name="shots.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def one(**shot):
    """A shot list of one shot: a valid one with `shot`'s changes."""
    return {"model": "tiny", "shots": [{"prompt": "a", "duration": 1, **shot}]}


def board(tmp_path, name="board.png"):
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(tmp_path / name)
    return name


def test_a_good_shot_list_becomes_generation_specs(tmp_path):
    image = board(tmp_path)
    path = write(tmp_path, {
        "project": "Film.aiprod", "model": "tiny", "width": 64, "height": 64, "fps": 24,
        "shots": [
            {"prompt": "a lighthouse", "duration": 2, "recipe": "distilled", "seed": 42, "name": "sh010",
             "keyframes": [{"image": image, "at": 1.0, "strength": 0.5}, {"image": image, "frame": -1}]},
            {"prompt": "gulls", "duration": 1, "width": 128},
        ],
    })  # fmt: skip
    shots = read_shot_list(path)
    first, second = shots.specs
    assert shots.project == str(tmp_path / "Film.aiprod")
    assert first.model == MODEL_TINY and first.recipe == "distilled" and first.seed == 42
    assert first.frames == 49  # 2 s at 24 fps on the 8k+1 grid
    assert first.keyframes == ((str(tmp_path / image), 24, 0.5), (str(tmp_path / image), 48, 1.0))
    assert first.name == "sh010" and (first.width, first.height) == (64, 64)
    assert second.width == 128 and second.recipe is None
    assert shots.random_seeds == [1]  # drawn here, and said (the CLI prints it)
    assert 0 <= second.seed < 2**32


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", r"not valid JSON: .* line 1, column 2"),
        ("[1, 2]", r'must hold a JSON object with a "shots" list'),
        ({"model": "tiny"}, r"has no shots"),
        ({"model": "tiny", "shots": []}, r"has no shots"),
        ({"shots": [{"prompt": "a", "duration": 1}]}, r"names no model"),
        ({"model": "tiny", "shots": ["a"]}, r"shot 1 must be an object"),
        ({"model": "tiny", "shots": [{"duration": 1}]}, r"shot 1 has no prompt"),
        ({"model": "tiny", "shots": [{"prompt": "  ", "duration": 1}]}, r"shot 1 has no prompt"),
        ({"model": "tiny", "shots": [{"prompt": "a"}]}, r"shot 1 has no duration"),
        (one(duration=-2), r"shot 1: duration -2 must be a number"),
        ({"model": "tiny", "shots": [{"prompt": "a", "duration": "5s"}]}, r"duration '5s' must be a number"),
        (
            {"model": "tiny", "shots": [{"prompt": "a", "duration": 1, "recipe": "fast"}]},
            r"unknown recipe 'fast'; choose one of full, distilled",
        ),
        (one(seed=1.5), r"seed 1.5 must be a whole"),
        (one(seed=-1), r"seed -1 must be a whole"),
        ({"model": "tiny", "shots": [{"prompt": "a", "duration": 1, "steps": 1}]}, r"steps 1 must be"),
        (
            {"model": "tiny", "shots": [{"prompt": "a", "duration": 1, "promt": "x"}]},
            r"unknown field 'promt'; the fields are",
        ),
        (dict(one(), colour=1), r"unknown field 'colour'"),
        (
            {"model": "tiny", "shots": [{"prompt": "a", "duration": 1, "keyframes": "x.png"}]},
            r'"keyframes" must be a list',
        ),
        (
            {"model": "tiny", "shots": [{"prompt": "a", "duration": 1, "keyframes": [{"at": 0}]}]},
            r'keyframe 1 has no "image"',
        ),
        (
            {
                "model": "tiny",
                "shots": [{"prompt": "a", "duration": 1, "keyframes": [{"image": "gone.png"}]}],
            },
            r"keyframe 1: the image .*gone.png does not exist",
        ),
        ({"model": "tiny", "width": 50, "shots": [{"prompt": "a", "duration": 1}]}, r"shot 1: .*32"),
        ({"model": "tiny", "width": "wide", "shots": [{"prompt": "a", "duration": 1}]}, r"width 'wide' must"),
        ({"model": "tiny", "project": 3, "shots": [{"prompt": "a", "duration": 1}]}, r'"project" must be'),
    ],
)
def test_each_mistake_is_named(tmp_path, data, message):
    with pytest.raises(ShotListError, match=message):
        read_shot_list(write(tmp_path, data))


@pytest.mark.parametrize(
    ("keyframe", "message"),
    [
        ({"at": 9.0}, r"shot 2 \(sh020\), keyframe 1 is outside the shot \(frames 0..24\)"),
        ({"frame": 25}, r"keyframe 1 is outside the shot"),
        ({"at": 0, "frame": 0}, r'give "at" \(seconds\) or "frame", not both'),
        ({"strength": 1.5}, r"strength 1.5 must be from 0 to 1"),
        ({"frame": "last"}, r"frame 'last' must be a whole number"),
    ],
)
def test_keyframe_mistakes_name_the_shot_and_keyframe(tmp_path, keyframe, message):
    image = board(tmp_path)
    shots = [
        {"prompt": "fine", "duration": 1},
        {"prompt": "b", "duration": 1, "name": "sh020", "keyframes": [dict(keyframe, image=image)]},
    ]
    with pytest.raises(ShotListError, match=message):
        read_shot_list(write(tmp_path, {"model": "tiny", "shots": shots}))


def test_a_missing_or_unreadable_shot_list(tmp_path):
    with pytest.raises(ShotListError, match="there is no shot list at"):
        read_shot_list(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ShotListError, match="cannot be read"):
        read_shot_list(tmp_path / "bad.json")


def test_the_model_given_on_the_command_line_wins(tmp_path):
    path = write(tmp_path, {"model": "/models/ltx.safetensors", "shots": [{"prompt": "a", "duration": 1}]})
    assert read_shot_list(path, model="tiny").specs[0].model == MODEL_TINY
    assert read_shot_list(path).model == "/models/ltx.safetensors"

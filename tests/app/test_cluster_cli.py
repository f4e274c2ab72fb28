"""`aiprod-cli farm submit / status` without a cluster: an unreachable or missing cluster is a clear error
(exit 2, nothing written), and --fallback-local generates the batch here through the same actor code,
landing the results in the project's media folder, bin and V1 in the shot list's order."""

from __future__ import annotations

import json
import socket

import pytest

from app import cli
from app.cli_farm import STATUS_FILE
from app.project import load_project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "Film.aiprod"
    assert cli.main(["new-project", str(folder), "--size", "64x64", "--fps", "24"]) == 0
    shots = {
        "project": "Film.aiprod", "model": "tiny", "width": 64, "height": 64,
        "shots": [{"prompt": "a boat", "duration": 0.4, "seed": 1, "name": "sh010", "steps": 2},
                  {"prompt": "a gull", "duration": 0.4, "seed": 2, "name": "sh020", "steps": 2}],
    }  # fmt: skip
    (tmp_path / "shots.json").write_text(json.dumps(shots))
    return folder


def test_an_unreachable_cluster_is_exit_2_and_writes_nothing(project, capsys, monkeypatch):
    monkeypatch.delenv("AIPROD_RAY_ADDRESS", raising=False)
    address = f"127.0.0.1:{free_port()}"
    code = cli.main(["farm", "submit", str(project.parent / "shots.json"), "--address", address])
    err = capsys.readouterr().err
    assert code == 2
    assert f"the Ray cluster at {address} cannot be reached" in err
    assert "add --fallback-local" in err
    assert not list((project / "media").glob("*.mkv"))
    assert not (project / STATUS_FILE).exists()


def test_no_cluster_named_is_exit_2(project, capsys, monkeypatch):
    monkeypatch.delenv("AIPROD_RAY_ADDRESS", raising=False)
    assert cli.main(["farm", "submit", str(project.parent / "shots.json")]) == 2
    assert "no render cluster is named: give --address" in capsys.readouterr().err


def test_a_shot_list_mistake_is_exit_2_before_anything_runs(project, capsys):
    (project.parent / "bad.json").write_text('{"model": "tiny", "shots": [{"prompt": "a"}]}')
    assert cli.main(["farm", "submit", str(project.parent / "bad.json"), "--project", str(project)]) == 2
    assert "shot 1 has no duration" in capsys.readouterr().err


def test_fallback_local_lands_the_batch_in_the_project(project, capsys, monkeypatch):
    monkeypatch.setenv("AIPROD_RAY_ADDRESS", f"127.0.0.1:{free_port()}")  # the env names the cluster
    code = cli.main(["farm", "submit", str(project.parent / "shots.json"), "--fallback-local"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "cannot be reached" in err and "generating on this machine" in err
    doc = load_project(project).doc
    items = doc.bin_items()
    assert sorted(item.name for item in items) == ["sh010", "sh020"]
    assert all(item.kind == "generated" and item.generation["model"] == "tiny" for item in items)
    assert {item.generation["seed"] for item in items} == {1, 2}
    clips = doc.clips(doc.tracks()[0].id)
    by_id = {item.id: item.name for item in items}
    assert [by_id[clip.media_id] for clip in clips] == ["sh010", "sh020"]  # the shot list's order on V1

    assert cli.main(["farm", "status", str(project)]) == 0
    out = capsys.readouterr().out
    assert "2 done" in out and "sh010" in out and "this machine" in out
    assert cli.main(["farm", "status", str(project), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)["batch"]
    assert [row["state"] for row in record["shots"]] == ["done", "done"]
    assert all(row["file"].endswith(".mkv") for row in record["shots"])


def test_status_of_a_project_without_a_batch(project, capsys):
    assert cli.main(["farm", "status", str(project)]) == 2
    assert "has no farm batch yet" in capsys.readouterr().err


def test_a_project_target_reads_its_own_shots_json(project, capsys):
    shot = {"prompt": "a kite", "duration": 0.4, "seed": 7, "name": "sh900", "steps": 2}
    shots = {"model": "tiny", "width": 64, "height": 64, "shots": [shot]}
    (project / "shots.json").write_text(json.dumps(shots))
    code = cli.main(["farm", "submit", str(project), "--fallback-local", "--no-place"])
    assert code == 0, capsys.readouterr().err
    doc = load_project(project).doc
    assert [item.name for item in doc.bin_items()] == ["sh900"]
    assert doc.clips(doc.tracks()[0].id) == []  # --no-place: the bin only


def test_a_project_without_shots_json_is_exit_2(project, capsys):
    assert cli.main(["farm", "submit", str(project), "--fallback-local"]) == 2
    assert "there is no shot list at" in capsys.readouterr().err

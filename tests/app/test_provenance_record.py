"""One provenance record: old vocabularies (the engine's metadata as the CLI wrote it, ``checkpoint`` for
``checkpoint_identity``) load migrated, and the same record reaches OTIO, EDL, FCP 7 XML, FCPXML and the
rendered file's tags."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app import provenance  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.export import probe, render_timeline  # noqa: E402
from app.interchange import export_timeline, import_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.project import load_project, save_project  # noqa: E402

# What `aiprod-cli generate` used to store: the engine's metadata as it came (engine/engine.py).
ENGINE_SHAPED = {
    "ai_generated": True,
    "model": "LTX-2 19B dev",
    "model_version": "2.0",
    "checkpoint_identity": "ltx-2-19b-dev.safetensors sha256:9f2c",
    "quantization": "fp8",
    "seed": 3,
    "parameters": {"prompt": "a fox", "num_frames": 121, "guidance_scale": 3.0, "width": 768, "seed": 3,
                   "preview_every": 4, "stg_scale": 1.0},
    "engine_version": "0.3",
    "created": "2026-01-01T00:00:00+00:00",
    "prompt": "a fox",
}  # fmt: skip
# A studio record with the older key for the checkpoint.
OLD_KEY = {
    "model": "ltx2",
    "model_name": "LTX-2 19B dev",
    "checkpoint": "sha256:abc",
    "prompt": "p",
    "seed": 1,
}


def test_the_engine_metadata_becomes_the_record():
    record = provenance.normalize(ENGINE_SHAPED)
    assert record["model"] == "ltx2" and record["model_name"] == "LTX-2 19B dev"
    assert record["checkpoint_identity"] == "ltx-2-19b-dev.safetensors sha256:9f2c"
    assert (record["frames"], record["guidance"], record["width"], record["seed"]) == (121, 3.0, 768, 3)
    assert record["stg_scale"] == 1.0 and record["model_version"] == "2.0"
    assert "parameters" not in record and "preview_every" not in record
    assert provenance.normalize(record) == record  # idempotent


def test_an_old_checkpoint_key_is_renamed_and_nothing_is_lost():
    record = provenance.normalize(OLD_KEY)
    assert record["checkpoint_identity"] == "sha256:abc" and "checkpoint" not in record
    assert {k: v for k, v in record.items() if k != "checkpoint_identity"} == {
        k: v for k, v in OLD_KEY.items() if k != "checkpoint"
    }
    both = provenance.normalize({**OLD_KEY, "checkpoint_identity": "other"})
    assert both["checkpoint"] == "sha256:abc" and both["checkpoint_identity"] == "other"  # kept, not dropped


@pytest.fixture
def old_project(tmp_path) -> Path:
    doc = TimelineDocument(name="Old", rate=24)
    ids, errors = import_files(
        doc, [make_video(tmp_path / "a.mp4", frames=12), make_video(tmp_path / "b.mp4")]
    )
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.add_bin_item(replace(doc.bin_item(ids[0]), generation=dict(ENGINE_SHAPED)))
    doc.insert(ids[0], video, RationalTime(0, 24))
    doc.insert(ids[1], video, RationalTime(12, 24))
    doc.set_clip_generation(doc.clips(video)[1].id, dict(OLD_KEY))
    folder = tmp_path / "Old.aiprod"
    save_project(doc, folder)
    text = (folder / "project.otio").read_text()
    assert '"parameters"' in text and '"checkpoint": "sha256:abc"' in text  # stored the old way
    return folder


def test_an_old_project_loads_with_the_record_migrated(old_project):
    doc = load_project(old_project).doc
    generated = [item for item in doc.bin_items() if item.generation]
    assert len(generated) == 1
    assert generated[0].generation["checkpoint_identity"] == ENGINE_SHAPED["checkpoint_identity"]
    assert (
        generated[0].generation["model_name"] == "LTX-2 19B dev" and generated[0].generation["frames"] == 121
    )
    clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[1]
    assert clip.generation["checkpoint_identity"] == "sha256:abc" and "checkpoint" not in clip.generation


def _records_in(text: str) -> list[dict]:
    found = []
    for line in text.replace("&quot;", '"').splitlines():
        if "AIPROD GENERATION:" in line:
            found.append(json.loads(line.split("AIPROD GENERATION:", 1)[1].split("<", 1)[0].strip()))
    return found


def test_every_format_carries_the_same_record(old_project, tmp_path):
    doc = load_project(old_project).doc
    expected = {"sha256:abc", ENGINE_SHAPED["checkpoint_identity"]}
    edl = export_timeline(doc, tmp_path / "cut.edl")[0]
    assert {r["checkpoint_identity"] for r in _records_in(edl.read_text())} == expected
    assert "checkpoint" not in str(_records_in(edl.read_text())).replace("checkpoint_identity", "")
    xml = export_timeline(doc, tmp_path / "cut.xml")[0]
    assert {r["checkpoint_identity"] for r in _records_in(xml.read_text())} == expected
    fcpxml = export_timeline(doc, tmp_path / "cut.fcpxml")[0].read_text().replace("&quot;", '"')
    assert all(f'"checkpoint_identity":"{c}"' in fcpxml for c in expected)
    back = import_timeline(export_timeline(doc, tmp_path / "cut.otio")[0])
    records = [c.generation for t in back.tracks() for c in back.clips(t.id) if c.generation]
    assert {r["checkpoint_identity"] for r in records} == expected
    out = render_timeline(doc, "h264_high", tmp_path / "cut.mp4").path
    tags = probe(out)["metadata"]
    assert set(tags["checkpoint"].split("; ")) == expected
    assert {r["checkpoint"] for r in json.loads(tags["generation"])} == expected  # per clip, too
    assert "LTX-2 19B dev" in tags["model"]


def test_a_file_written_by_an_older_cli_is_imported_with_its_record(tmp_path):
    import numpy as np

    from app.export import write_clip

    old_tags = {k: v for k, v in ENGINE_SHAPED.items()}  # the engine's metadata written flat, as before
    out = write_clip(tmp_path / "old.mov", np.zeros((2, 32, 32, 3), np.float32), 24, metadata=old_tags)
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [out, make_video(tmp_path / "plain.mp4", frames=4)])
    assert not errors
    record = doc.bin_item(ids[0]).generation
    assert record["checkpoint_identity"] == ENGINE_SHAPED["checkpoint_identity"]
    assert (record["model_name"], record["frames"], record["seed"]) == ("LTX-2 19B dev", 121, 3)
    assert doc.bin_item(ids[1]).generation is None  # an ordinary file stays ordinary

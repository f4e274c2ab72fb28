"""The parts of the render-node backend that need no cluster: media travelling with a job (packed here,
unpacked on the node, the original paths put back into the record), the actor's code run in-process
(generate, extend with its source clip travelling as bytes, cancel, failure), and landing a result in a
project's media folder (unique names, atomic, nothing partial)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cluster.config import ClusterConfig, ClusterUnreachable, cluster_address, split_address
from app.cluster.host import EngineHost, JobPayload
from app.cluster.landing import land
from app.cluster.travel import pack, restore_paths, unpack
from app.errors import JobError
from app.jobs.extend import ExtendSpec
from app.jobs.master import LATENTS_SUFFIX, MASTER_SUFFIX
from app.jobs.settings import EngineSettings
from app.jobs.spec import JobSpec
from app.project.atomic import is_temporary

DEV = EngineSettings(developer_tiny=True)


def tiny(seed=3, name="clip", **changes) -> JobSpec:
    return JobSpec(prompt="a harbour", width=64, height=64, frames=9, steps=2, seed=seed, model="tiny",
                   name=name, **changes)  # fmt: skip


def picture(path: Path) -> Path:
    Image.fromarray(np.full((64, 64, 3), 77, np.uint8)).save(path)
    return path


def test_a_generations_files_travel_as_bytes_and_come_back_as_their_original_paths(tmp_path):
    start, key = picture(tmp_path / "start.png"), picture(tmp_path / "key.png")
    spec = tiny(image=str(start), keyframes=((str(key), 8, 0.5),))
    packed = pack(spec)
    assert set(packed.originals.values()) == {str(start), str(key)}
    assert packed.size == start.stat().st_size + key.stat().st_size
    assert packed.spec.image not in (str(start), None) and not Path(packed.spec.image).is_absolute()
    node = tmp_path / "node"
    local, back = unpack(packed, node)
    assert Path(local.image).read_bytes() == start.read_bytes()
    assert Path(local.keyframes[0][0]).read_bytes() == key.read_bytes()
    assert local.keyframes[0][1:] == (8, 0.5)
    assert restore_paths(local.generation_parameters(), back) == spec.generation_parameters()
    assert pack(spec, shared_folder=True).spec is spec  # a shared folder: nothing travels


def test_an_inpaint_travels_with_its_clip_latents_and_mask(tmp_path):
    from app.jobs.inpaint import InpaintSpec

    media, masks = tmp_path / "media", tmp_path / "masks"
    media.mkdir()
    masks.mkdir()
    (media / "take.mkv").write_bytes(b"clip bytes")
    (media / f"take{LATENTS_SUFFIX}").write_bytes(b"latent bytes")
    (masks / "m1.png").write_bytes(b"mask bytes")
    (masks / "other.png").write_bytes(b"not this one")
    spec = InpaintSpec(clip_id="c", media_id="m", mask_id="m1", frame_range=(0, 9), prompt="a red scarf",
                       source_path=str(media / "take.mkv"), masks_dir=str(masks))  # fmt: skip
    packed = pack(spec)
    assert sorted(Path(name).name for name in packed.files) == sorted(
        ["take.mkv", f"take{LATENTS_SUFFIX}", "m1.png"]
    )
    local, back = unpack(packed, tmp_path / "node")
    assert Path(local.source_path).read_bytes() == b"clip bytes"
    assert (Path(local.source_path).parent / f"take{LATENTS_SUFFIX}").read_bytes() == b"latent bytes"
    assert (Path(local.masks_dir) / "m1.png").read_bytes() == b"mask bytes"
    assert restore_paths({"source": local.source_path, "masks": local.masks_dir}, back) == {
        "source": spec.source_path, "masks": spec.masks_dir,
    }  # fmt: skip
    (masks / "m1.png").unlink()
    with pytest.raises(JobError, match="the mask m1 is not in"):
        pack(spec)


def test_a_missing_file_or_a_kind_that_cannot_travel_is_said_before_sending(tmp_path):
    with pytest.raises(JobError, match=r"the start image .*gone.png does not exist"):
        pack(tiny(image=str(tmp_path / "gone.png")))
    with pytest.raises(JobError, match="cannot run on render nodes yet"):
        pack(object())


def test_addresses_and_settings(monkeypatch):
    monkeypatch.setenv("AIPROD_RAY_ADDRESS", "10.0.0.2:6379")
    assert cluster_address("") == "10.0.0.2:6379"
    assert cluster_address(" 10.0.0.9:7000 ") == "10.0.0.9:7000"  # Settings win
    monkeypatch.delenv("AIPROD_RAY_ADDRESS")
    assert cluster_address("") == ""
    assert split_address("10.0.0.2") == ("10.0.0.2", 6379)
    assert split_address("ray://head:10001") is None
    with pytest.raises(ClusterUnreachable, match="is not HOST:PORT"):
        split_address("head:port")
    with pytest.raises(JobError, match="choose 'gpu' or 'cpu'"):
        ClusterConfig("h:1", resources="tpu").validate()
    with pytest.raises(JobError, match="at least 1"):
        ClusterConfig("h:1", max_attempts=0).validate()
    monkeypatch.setenv("AIPROD_RAY_ACTOR", "cpu")
    monkeypatch.setenv("AIPROD_RAY_SHARED_FOLDER", "1")
    config = ClusterConfig.from_env("h:1")
    assert (config.resources, config.shared_folder) == ("cpu", True)
    monkeypatch.setenv("AIPROD_RAY_ACTOR", "quantum")
    with pytest.raises(JobError, match="AIPROD_RAY_ACTOR"):
        ClusterConfig.from_env("h:1")


@pytest.fixture(scope="module")
def host():
    return EngineHost()  # the tiny engine, loaded once and kept between jobs, as on a node


def test_the_actor_code_generates_and_the_result_lands_under_a_free_name(host, tmp_path):
    media = tmp_path / "media"
    first = host.run(JobPayload("j1", "generate", pack(tiny()), DEV))
    second = host.run(JobPayload("j2", "generate", pack(tiny(seed=4)), DEV))
    assert first.status == second.status == "done"
    assert sorted(first.files) == [f"clip{LATENTS_SUFFIX}", f"clip{MASTER_SUFFIX}"]
    assert first.result.path == f"clip{MASTER_SUFFIX}"  # relative: the landing places it
    a, b = land(first, media), land(second, media)
    assert (a.name, b.name) == ("clip", "clip_2")  # never over an earlier clip
    assert b.generation["latents"] == f"clip_2{LATENTS_SUFFIX}"
    assert Path(b.path).read_bytes() == second.files[f"clip{MASTER_SUFFIX}"]
    assert b.info is not None and b.info.frame_count == 9 and b.info.path == b.path
    assert not [p for p in media.iterdir() if is_temporary(p.name)]
    assert host.loaded() == ("tiny", "none")


def test_an_extend_travels_with_its_source_clip(host, tmp_path):
    media = tmp_path / "project" / "media"
    source = land(host.run(JobPayload("g", "generate", pack(tiny(name="shot")), DEV)), media)
    spec = ExtendSpec(source_path=source.path, seconds=0.4, prompt="more harbour", seed=2, model="tiny",
                      name="shot_ext", steps=2)  # fmt: skip
    packed = pack(spec)
    assert any(name.endswith(LATENTS_SUFFIX) for name in packed.files)  # its latents travel beside it
    outcome = host.run(JobPayload("e", "extend", packed, DEV))
    assert outcome.status == "done", outcome.message
    item = land(outcome, media)
    assert item.generation["extended_from"] == source.path  # the project's clip, not the node's copy
    assert Path(item.path).parent == media.resolve()


def test_a_cancelled_or_failing_job_comes_back_as_such(tmp_path):
    payload = JobPayload("c", "generate", pack(tiny()), DEV)
    assert EngineHost(engine_factory=lambda *_: _CancelsAtOnce()).run(payload).status == "cancelled"
    broken = EngineSettings(checkpoint=str(tmp_path / "missing.safetensors"))
    outcome = EngineHost().run(JobPayload("f", "generate", pack(tiny().with_changes(model="ltx2")), broken))
    assert outcome.status == "failed" and "missing.safetensors" in outcome.message
    assert outcome.error is not None


class _CancelsAtOnce:
    """An engine whose generation is cancelled by the user at its first step."""

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):
        from engine.errors import GenerationCancelled

        raise GenerationCancelled(1)


class _Handle:
    """An actor handle's shape: `run.remote(payload)` records what was sent to it."""

    def __init__(self):
        self.sent = []
        self.run = self
        self.poll = self

    def remote(self, payload):
        self.sent.append(payload.job_id)
        return object()


def test_a_job_goes_to_the_actor_that_already_has_its_model_loaded():
    from app.cluster.farm import Farm, _Actor

    farm = Farm(ClusterConfig("h:1", resources="cpu"))
    fp8, plain = ("tiny", "fp8"), ("tiny", "none")
    a = _Actor(_Handle(), None, 0.0, node="a", key=plain)
    b = _Actor(_Handle(), None, 0.0, node="b", key=fp8)
    farm._actors = [a, b]
    farm.submit("first-fp8", "generate", tiny(quantization="fp8"), DEV)
    farm.submit("plain", "generate", tiny(), DEV)
    events = farm._dispatch()
    assert a.handle.sent == ["plain"] and b.handle.sent == ["first-fp8"]  # not the oldest-first order
    assert {(e.job_id, e.node) for e in events} == {("first-fp8", "b"), ("plain", "a")}
    assert farm.node_of("plain") == "a" and farm.attempts_of("plain") == 1
    # a fresh actor (nothing loaded) takes the oldest job
    c = _Actor(_Handle(), None, 0.0, node="c")
    farm._actors.append(c)
    farm.submit("x", "generate", tiny(quantization="fp8"), DEV)
    farm._dispatch()
    assert c.handle.sent == ["x"]


def test_poll_reports_progress_and_previews_and_cancel_stops_a_running_job(host):
    """What the farm thread reads and does through the actor while a job runs (here on threads, as the
    threaded actor runs its methods)."""
    import threading
    import time

    spec = tiny(name="long").with_changes(steps=40, frames=17, preview_every=1)
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(r=host.run(JobPayload("long", "generate", pack(spec), DEV)))
    )
    runner.start()
    snapshots = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = host.poll("long")
        if snapshot is not None:
            snapshots.append(snapshot)
            if snapshot["step"] >= 2 and any(s["preview"] is not None for s in snapshots):
                break
        time.sleep(0.01)
    assert host.cancel("long") is True
    runner.join(60)
    assert outcome["r"].status == "cancelled" and not outcome["r"].files
    assert any(s["stage"] == "DENOISING" for s in snapshots)
    assert snapshots[-1]["steps"] == 40 and snapshots[-1]["step"] >= 2
    previews = [s["preview"] for s in snapshots if s["preview"] is not None]
    assert previews and previews[0].dtype == np.uint8 and previews[0].shape[2] == 3
    assert host.poll("long") is None and host.cancel("long") is False  # forgotten once it ended


# --- exports on a node -------------------------------------------------------------------------------------


def graded_timeline(root: Path, frames: int = 12):
    """Two clips on V1, the first graded with a shipped look, the second with a LUT file of the project's
    own (a copy of a shipped .cube): what an export on a node must get right."""
    import shutil

    from opentimelineio.opentime import RationalTime

    from app.color import looks
    from app.document import TimelineDocument, TrackKind
    from app.media.importer import import_files
    from tests.media_builders import make_video

    root.mkdir(parents=True, exist_ok=True)
    media = [make_video(root / f"{name}.mov", frames=frames, codec="prores_ks") for name in ("a", "b")]
    lut = shutil.copy(Path(looks.shipped_luts_dir()) / "sepia.cube", root / "mine.cube")
    doc = TimelineDocument(name="Nodes", rate=24)
    ids, errors = import_files(doc, media)
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, RationalTime(0, 24))
    doc.insert(ids[1], video, RationalTime(frames, 24))
    first, second = doc.clips(video)
    doc.set_clip_grade(first.id, {"look": "teal_orange", "lut_mix": 1.0, "exposure": 0.3})
    doc.set_clip_grade(second.id, {"lut_path": str(lut), "lut_mix": 1.0})
    return doc


def decoded_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_an_export_travels_renders_on_the_actor_and_lands_whole_at_its_destination(tmp_path):
    from app.cluster.landing import land_export
    from app.errors import ExportError
    from app.export import render_timeline
    from app.export.runner import ExportRequest
    from app.project.outputs import OutputRefused

    doc = graded_timeline(tmp_path / "project")
    local = render_timeline(doc, "prores_422_proxy", tmp_path / "local.mov")
    request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / "film.mov")
    with pytest.raises(ExportError, match="destination folder .*out' does not exist"):  # as a local export
        pack(request)
    (tmp_path / "out").mkdir()
    packed = pack(request)
    # the media and the LUT travel as bytes; the snapshot's clips and grade point at their keys
    assert sorted(Path(p).name for p in packed.originals.values()) == ["a.mov", "b.mov", "mine.cube"]
    media_keys = [key for key in packed.files if key.endswith(".mov")]
    assert all(f'"target_url": "{key}"' in packed.spec.otio_json for key in media_keys)
    assert list(packed.spec.luts.values()) == [k for k in packed.files if k.endswith(".cube")]
    outcome = EngineHost().run(JobPayload("e1", "export", packed, DEV))
    assert outcome.status == "done", outcome.message
    assert list(outcome.files) == ["film.mov"]
    report = land_export(outcome, request)
    assert report.path == (tmp_path / "out" / "film.mov").absolute() and report.graded
    assert not [p for p in (tmp_path / "out").iterdir() if is_temporary(p.name)]
    mine, theirs = decoded_frames(report.path), decoded_frames(local.path)
    assert len(mine) == len(theirs) == 24
    assert all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
    assert not np.array_equal(mine[0], decoded_frames(tmp_path / "project" / "a.mov")[0])  # graded

    # the output-refusal rules hold at submit: a destination over a clip's media is refused before sending
    with pytest.raises(OutputRefused, match="media file"):
        pack(ExportRequest.of(doc, "prores_422_proxy", tmp_path / "project" / "a.mov"))


def test_a_cancelled_export_on_the_actor_comes_back_cancelled_and_writes_nothing(tmp_path):
    import threading

    from app.export.runner import ExportRequest

    doc = graded_timeline(tmp_path / "project")
    (tmp_path / "out").mkdir()
    # upscaled, so the frames after the first take a while: the cancel lands mid-export
    request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / "film.mov", size=(1280, 720))
    host = EngineHost()
    cancelled = threading.Event()

    def cancel_when_running() -> None:  # the farm's cancel, through the actor, once frames are reported
        while not cancelled.is_set():
            snapshot = host.poll("e2")
            if snapshot is not None and snapshot["step"] >= 1:
                cancelled.set()
                host.cancel("e2")
            cancelled.wait(0.001)

    helper = threading.Thread(target=cancel_when_running)
    helper.start()
    outcome = host.run(JobPayload("e2", "export", pack(request), DEV))
    cancelled.set()
    helper.join()
    assert outcome.status == "cancelled" and not outcome.files
    assert not list((tmp_path / "out").iterdir())


def test_an_image_sequence_export_comes_back_as_its_folder_and_lands_whole(tmp_path):
    from app.cluster.landing import land_export
    from app.export import render_timeline
    from app.export.runner import ExportRequest

    doc = graded_timeline(tmp_path / "project", frames=3)
    (tmp_path / "here").mkdir()
    (tmp_path / "out").mkdir()
    local = render_timeline(doc, "png_sequence", tmp_path / "here" / "frames")
    request = ExportRequest.of(doc, "png_sequence", tmp_path / "out" / "frames")
    outcome = EngineHost().run(JobPayload("s1", "export", pack(request), DEV))
    assert outcome.status == "done", outcome.message
    report = land_export(outcome, request)
    assert report.path == (tmp_path / "out" / "frames").absolute()
    mine, theirs = sorted(report.path.iterdir()), sorted(Path(local.path).iterdir())
    assert [p.name for p in mine] == [p.name for p in theirs]
    assert len([p for p in mine if p.suffix == ".png"]) == 6
    pictures = [(a, b) for a, b in zip(mine, theirs, strict=True) if a.suffix == ".png"]
    assert all(np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))) for a, b in pictures)


def test_export_travel_mistakes_are_said_before_sending_and_nothing_lands(tmp_path, monkeypatch):
    from app.cluster.host import RemoteOutcome
    from app.cluster.landing import land_export
    from app.errors import ExportError
    from app.export.runner import ExportRequest

    doc = graded_timeline(tmp_path / "project", frames=3)
    (tmp_path / "project" / "mine.cube").unlink()  # the grade's LUT file is gone
    with pytest.raises(JobError, match=r"the LUT file of a clip's grade .*mine.cube does not exist"):
        pack(ExportRequest.of(doc, "prores_422_proxy", tmp_path / "film.mov"))
    (tmp_path / "out").mkdir()
    request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / "film.mov")
    with pytest.raises(ExportError, match="sent no output for film.mov"):
        land_export(RemoteOutcome("x", "done", result=object()), request)
    assert not list((tmp_path / "out").iterdir())
    (tmp_path / "out" / "frames").mkdir()
    (tmp_path / "out" / "frames" / "old.png").write_bytes(b"x")
    with pytest.raises(ExportError, match="already exists and is not empty"):
        pack(ExportRequest.of(doc, "png_sequence", tmp_path / "out" / "frames"))
    monkeypatch.setenv("AIPROD_RAY_EXPORT_ACTORS", "many")
    with pytest.raises(JobError, match="AIPROD_RAY_EXPORT_ACTORS must be a whole number"):
        ClusterConfig.from_env("10.0.0.1:6379")
    monkeypatch.setenv("AIPROD_RAY_EXPORT_ACTORS", "3")
    exports = ClusterConfig.from_env("10.0.0.1:6379", resources="gpu").for_exports()
    assert (exports.resources, exports.actors) == ("cpu", 3)
    with pytest.raises(JobError, match="export actors must be at least 1"):
        ClusterConfig("10.0.0.1:6379", exports=0).validate()

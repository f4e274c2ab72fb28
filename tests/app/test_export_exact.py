"""Exact colour for studio exports: an ``ExportRequest(exact=True)`` renders every frame through the float
path and OpenColorIO itself (``render_timeline(..., fast=False)``, as ``aiprod-cli render --exact``), on
this machine and on a render node (the flag travels in the export's parcel). A default request leaves the
renderer on its fast path and passes no ``fast`` keyword, so a render function without it keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cluster.host import EngineHost, JobPayload
from app.cluster.landing import land_export
from app.cluster.travel import ExportParcel, pack, unpack
from app.document import TimelineDocument
from app.export.runner import ExportRequest, ExportRunner, render_request
from app.jobs.settings import EngineSettings
from tests.media_builders import back_to_back, make_video

TIMEOUT_MS = 30_000
FRAMES = 6


class Recorder:
    """render_timeline-shaped, taking any keyword: records what it was called with."""

    def __init__(self) -> None:
        self.kwargs: list[dict] = []

    def __call__(self, doc, preset, out_path, **kwargs):  # noqa: ANN001, ANN204
        self.kwargs.append(kwargs)
        return "report"


def strict_render(doc, preset, out_path, *, in_frame, out_frame, size, on_progress, cancel):  # noqa: ANN001, ANN201
    """An injected render function of the older shape: no ``fast``, no ``project_folder``."""
    return ("strict", out_path)


@pytest.fixture(scope="module")
def doc(tmp_path_factory) -> TimelineDocument:
    """Two short clips on V1, the first graded with a shipped look: every frame shows one source frame
    whole, so with the fast path on every frame can take it."""
    root = tmp_path_factory.mktemp("exact_media")
    media = [make_video(root / f"{name}.mov", frames=FRAMES, codec="prores_ks") for name in ("a", "b")]
    document = back_to_back(media, name="Exact")
    first = document.clips(document.tracks()[0].id)[0]
    document.set_clip_grade(first.id, {"look": "teal_orange", "lut_mix": 1.0, "exposure": 0.3})
    return document


# ------------------------------------------------------------------------------------ the request
def test_an_exact_request_reaches_the_render_function_as_fast_false(doc, tmp_path):
    render = Recorder()
    request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "m.mov", exact=True, render=render)
    assert request.exact
    assert render_request(request, lambda *_: None) == "report"
    assert render.kwargs[-1]["fast"] is False


def test_a_default_request_passes_no_fast_keyword_and_an_older_render_function_still_works(doc, tmp_path):
    render = Recorder()
    request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "m.mov", render=render)
    assert not request.exact
    render_request(request, lambda *_: None)
    assert "fast" not in render.kwargs[-1]  # the renderer's own default: the fast path
    plain = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "p.mov", render=strict_render)
    assert render_request(plain, lambda *_: None) == ("strict", tmp_path / "p.mov")
    # the exact request asks the renderer for something an older function cannot do: said, not ignored
    with pytest.raises(TypeError, match="fast"):
        render_request(ExportRequest.of(doc, "prores_422_proxy", tmp_path / "e.mov", exact=True,
                                        render=strict_render), lambda *_: None)  # fmt: skip


def test_the_jobs_panel_detail_says_exact_colour_only_when_asked(doc, tmp_path):
    exact = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "m.mov", exact=True)
    default = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "m.mov")
    assert "exact colour" in exact.detail
    assert "exact colour" not in default.detail


def test_the_runner_passes_exact_to_its_render_function(qtbot, doc, tmp_path):
    render = Recorder()
    runner = ExportRunner(render)
    try:
        with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
            runner.start(doc, "prores_422_proxy", tmp_path / "m.mov", exact=True)
        with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
            runner.start(doc, "prores_422_proxy", tmp_path / "n.mov")
    finally:
        assert runner.shutdown(TIMEOUT_MS)
    assert render.kwargs[0]["fast"] is False
    assert "fast" not in render.kwargs[1]


# ------------------------------------------------------------------------------------ a real render
def test_a_real_exact_export_takes_no_frame_on_the_fast_path_and_the_default_does(doc, tmp_path):
    def export(name: str, **kwargs):  # noqa: ANN202 - a RenderReport
        request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / name, **kwargs)
        return render_request(request, lambda *_: None)

    exact, default = export("exact.mov", exact=True), export("fast.mov")
    assert exact.frames == default.frames == 2 * FRAMES
    assert exact.fast_frames == 0
    assert default.fast_frames > 0
    assert Path(exact.path).is_file() and Path(default.path).is_file()


# ------------------------------------------------------------------------------------ render nodes
def test_exact_travels_in_the_parcel_and_the_node_rebuilds_it(doc, tmp_path):
    (tmp_path / "out").mkdir()
    for wanted in (True, False):
        request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / "film.mov", exact=wanted)
        packed = pack(request)
        assert isinstance(packed.spec, ExportParcel) and packed.spec.exact is wanted
        on_node, _back = unpack(packed, tmp_path / f"node-{wanted}")
        assert isinstance(on_node, ExportRequest) and on_node.exact is wanted
        assert ("exact colour" in on_node.detail) is wanted
    shared = pack(ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / "film.mov", exact=True),
                  shared_folder=True)  # fmt: skip
    assert shared.spec.exact is True  # on a shared folder too


def test_a_nodes_export_honours_exact(doc, tmp_path):
    (tmp_path / "out").mkdir()
    host = EngineHost()
    reports = {}
    for name, wanted in (("exact.mov", True), ("fast.mov", False)):
        request = ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / name, exact=wanted)
        outcome = host.run(JobPayload(name, "export", pack(request), EngineSettings(developer_tiny=True)))
        assert outcome.status == "done", outcome.message
        reports[name] = land_export(outcome, request)
    assert reports["exact.mov"].fast_frames == 0
    assert reports["fast.mov"].fast_frames > 0
    assert reports["exact.mov"].path.is_file()

"""Issue 4's "done when", headless: two clips graded with a shipped look and a CDL tweak; the exported
ProRes 422 HQ and H.265 Main10 files, decoded the way a player does (BT.709 as tagged), show the colours
the viewer shows, and carry the mixed audio; `aiprod-cli render` writes the same file from the project."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime

from app.color import CDL, Grade
from app.document import TimelineDocument, TrackKind
from app.export import probe, render_timeline, write_clip
from app.export.yuv import yuv_planes_to_rgb
from app.media.compositor import TimelineCompositor
from app.media.importer import import_files
from app.project import save_project

REPO_ROOT = Path(__file__).resolve().parents[2]
W, H, FRAMES = 128, 72, 12


def _footage(path: Path, hue: tuple[float, float, float]) -> Path:
    """Smooth footage (gradients, a soft sun) with a tone: what players and 4:2:0 handle gracefully."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([np.full((H, W), c, np.float32) for c in hue], -1) * (1 - 0.6 * y[..., None] / H)
    frames = np.empty((FRAMES, H, W, 3), np.float32)
    for i in range(FRAMES):
        sun = np.exp(-(((x - 30 - 4 * i) ** 2 + (y - 25) ** 2) / 150.0))[..., None]
        frames[i] = np.clip(base + 0.6 * sun, 0, 1)
    t = np.arange(FRAMES * 48000 // 24) / 48000
    tone = (0.25 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    write_clip(path, frames, fps=Fraction(24), audio=np.stack([tone, tone]), sample_rate=48000)
    return path


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    out = []
    for plane in frame.planes:
        stride = plane.line_size // 2
        buf = np.frombuffer(plane, dtype="<u2", count=plane.height * stride)
        out.append(buf.reshape(plane.height, stride)[:, : plane.width].astype(np.float32))
    return out


def _decoded(path: Path, index: int, chroma: tuple[int, int]) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return yuv_planes_to_rgb(*_planes(frame), chroma)
    raise AssertionError(f"{path.name} has no frame {index}")


@pytest.fixture(scope="module")
def graded_project(tmp_path_factory) -> tuple[TimelineDocument, Path]:
    folder = tmp_path_factory.mktemp("grade")
    doc = TimelineDocument(name="Graded", rate=24)
    ids, errors = import_files(doc, [_footage(folder / "a.mov", (0.9, 0.6, 0.4)),
                                     _footage(folder / "b.mov", (0.3, 0.4, 0.8))])  # fmt: skip
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    first = doc.insert(ids[0], video, RationalTime(0, 24))[0]
    second = doc.insert(ids[1], video, RationalTime(FRAMES, 24))[0]
    doc.set_clip_grade(first, Grade(look="teal_orange", cdl=CDL(slope=(1.05, 1.0, 0.95))).to_dict())
    doc.set_clip_grade(second, Grade(look="faded_film", cdl=CDL(saturation=1.3), exposure=0.3).to_dict())
    return doc, folder


@pytest.mark.parametrize(
    ("preset", "suffix", "chroma", "mean_limit"),
    [("prores_422_hq", ".mov", (2, 1), 1.0 / 255), ("h265_main10", ".mp4", (2, 2), 2.5 / 255)],
)
def test_exports_show_the_viewers_graded_colours_and_carry_the_mix(graded_project, preset, suffix, chroma,
                                                                   mean_limit, tmp_path):  # fmt: skip
    doc, _folder = graded_project
    out = render_timeline(doc, preset, tmp_path / f"film{suffix}").path
    compositor = TimelineCompositor(doc)
    try:
        for frame in (4, FRAMES + 6):  # one frame of each graded clip
            viewer = compositor.frame_at(RationalTime(frame, 24)).astype(np.float32) / 255
            ungraded = viewer  # guard: the grade must be visible in what we compare
            compositor.graded = False
            ungraded = compositor.frame_at(RationalTime(frame, 24)).astype(np.float32) / 255
            compositor.graded = True
            assert np.abs(viewer - ungraded).mean() > 4 / 255
            decoded = _decoded(out, frame, chroma)
            assert np.abs(decoded - viewer).mean() <= mean_limit, (preset, frame)
    finally:
        compositor.close()
    info = probe(out)
    assert info["frame_count"] == 2 * FRAMES and info["channels"] == 2
    with av.open(str(out)) as container:
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert np.sqrt(np.mean(sound.astype(np.float64) ** 2)) > 0.05  # the clips' tone, mixed


def test_cli_render_writes_the_same_picture_headless(graded_project, tmp_path):
    doc, _folder = graded_project
    project = tmp_path / "Graded.aiprod"
    save_project(doc, project)
    out = tmp_path / "cli.mov"
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "render", str(project),
         "--preset", "prores_422_hq", "--out", str(out), "--quiet"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    in_app = render_timeline(doc, "prores_422_hq", tmp_path / "app.mov").path
    for frame in (3, FRAMES + 3):
        assert np.abs(_decoded(out, frame, (2, 1)) - _decoded(in_app, frame, (2, 1))).max() < 1e-6

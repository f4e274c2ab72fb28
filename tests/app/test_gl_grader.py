"""GPU grading for exports: the viewer's OCIO GLSL shader run offscreen into a float framebuffer, checked
against the CPU processor within 1/255 (frames, bands of rows, a whole export), and the CPU fallback where
there is no GL or the GPU path fails.

The GL checks run in a child under Xvfb + Mesa (`xvfb-run`, Qt's xcb platform), as the viewer's GPU test does:
Qt's offscreen platform has no OpenGL. The child writes what it measured to JSON; the parent asserts on it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from xvfb_child import measure_under_xvfb, needs_xvfb

from app.color import CDL, Grade, GradePipeline, looks
from app.export.grading import (
    CpuGrader,
    FallbackGrader,
    GraderUnavailable,
    default_grader,
    set_default_grader,
)

CHILD_ENV = "AIPROD_GL_GRADER_OUT"
TOLERANCE = 1 / 255


def grades(tmp_path: Path) -> dict[str, Grade]:
    cube = tmp_path / "user.cube"
    grid = np.linspace(0.0, 1.0, 17)
    lines = ["LUT_3D_SIZE 17"]
    for b in grid:
        for g in grid:
            for r in grid:
                lines.append(f"{r**0.8:.6f} {0.05 + 0.9 * g:.6f} {b**1.25:.6f}")
    cube.write_text("\n".join(lines) + "\n")
    names = [look.name for look in looks.available()]
    cdl = CDL(slope=(1.08, 1.0, 0.94), offset=(0.01, 0.0, -0.01), power=(0.95, 1.0, 1.05), saturation=1.15)
    out = {
        "cdl_exposure": Grade(cdl=cdl, exposure=0.3),
        "user_lut_half_mix": Grade(lut_path=str(cube), lut_mix=0.5, cdl=cdl),
    }
    if names:
        out["look_cdl_exposure"] = Grade(look=names[0], lut_mix=0.8, cdl=cdl, exposure=0.3)
    return out


def pattern(height: int = 90, width: int = 160) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / (width - 1), y / (height - 1), ((x * 7 + y * 13) % 256) / 255], -1)
    rgb[2 * height // 3 :] = np.random.default_rng(7).random((height - 2 * height // 3, width, 3))
    return rgb.astype(np.float32)


# ----------------------------------------------------------------------------- without OpenGL (here)
def test_a_refusing_gpu_grader_hands_the_frame_and_the_rest_to_the_cpu():
    class Refusing:
        name, parallel, calls = "gl", False, 0

        def grade(self, pipeline, rgb, grade):
            self.calls += 1
            raise GraderUnavailable("shader refused by the driver")

    pipeline = GradePipeline()
    grade = Grade(cdl=CDL(slope=(1.2, 1.0, 0.8)), exposure=0.2)
    primary = Refusing()
    grader = FallbackGrader(primary)
    assert grader.name == "gl"
    rgb = pattern()
    first = grader.grade(pipeline, rgb, grade)
    second = grader.grade(pipeline, rgb, grade)
    assert np.array_equal(first, CpuGrader().grade(pipeline, rgb, grade))
    assert np.array_equal(second, first)
    assert primary.calls == 1  # after the first refusal the CPU grades the rest
    assert grader.name == "cpu" and "shader refused" in grader.error


def test_the_default_grader_is_the_cpu_unless_one_is_registered_and_a_broken_factory_falls_back():
    try:
        set_default_grader(None)
        assert isinstance(default_grader(), CpuGrader)

        class Fake:
            name, parallel = "gl", False

            def grade(self, pipeline, rgb, grade):
                return rgb

        fake = Fake()
        set_default_grader(lambda: fake)
        registered = default_grader()
        assert isinstance(registered, FallbackGrader) and registered.primary is fake
        set_default_grader(lambda: None)  # no GL here: the CPU
        assert isinstance(default_grader(), CpuGrader)

        def broken():
            raise RuntimeError("no GL")

        set_default_grader(broken)
        assert isinstance(default_grader(), CpuGrader)
    finally:
        set_default_grader(None)


def test_without_opengl_no_gl_grader_is_made(qapp):
    from PySide6.QtGui import QGuiApplication

    from app import gl_grading as gl_grader

    if QGuiApplication.platformName() != "offscreen":
        pytest.skip("Qt's offscreen platform is the one without OpenGL")
    assert gl_grader.make_gl_grader() is None
    assert gl_grader.install_for_exports({}) is None
    assert isinstance(default_grader(), CpuGrader)


def test_software_rasterizers_are_recognised():
    from app.gl_grading import is_software

    assert is_software("llvmpipe (LLVM 15.0.6, 256 bits)") and is_software("softpipe")
    assert not is_software("NVIDIA GeForce RTX 4090/PCIe/SSE2")


# ------------------------------------------------------------------------------- under Xvfb + Mesa
@pytest.mark.slow
@needs_xvfb
def test_gpu_grading_matches_the_cpu_within_one_code_value(tmp_path):
    measured = measure_under_xvfb(__file__, "test_gl_inside_xvfb", CHILD_ENV, tmp_path / "gl.json")
    print(json.dumps(measured, indent=1))
    assert measured["renderer"]
    for case, numbers in measured["frames"].items():
        assert numbers["moved"] > 0.02, case  # the grade changes the picture at all
        assert numbers["max_diff"] <= TOLERANCE, (case, numbers)
    assert measured["bands"]["max_diff"] <= TOLERANCE
    assert measured["unclamped"]["cpu_max"] > 1.0 and measured["unclamped"]["max_diff"] <= TOLERANCE
    export = measured["export"]
    assert export["grader"] == "gl" and export["frames"] == export["compared"] > 0
    assert export["max_diff"] <= TOLERANCE
    assert measured["installed"] == {"grader": True, "default": "gl"}  # the studio's wiring registers it


def test_gl_inside_xvfb(tmp_path):
    """Runs only as the child of the test above (under Xvfb); writes its measurements to JSON."""
    target = os.environ.get(CHILD_ENV)
    if not target:
        pytest.skip("the Xvfb child of test_gpu_grading_matches_the_cpu_within_one_code_value")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])
    from app.gl_grading import GLGrader, make_gl_grader

    grader = make_gl_grader()
    if grader is None:
        Path(target).write_text(json.dumps({"skipped": "no OpenGL 3.3 context / float framebuffer"}))
        return
    pipeline = GradePipeline()
    measured: dict = {"renderer": grader.renderer, "frames": {}}
    rgb = pattern()
    try:
        for name, grade in grades(tmp_path).items():
            cpu = pipeline.render(rgb, grade)
            gpu = grader.grade(pipeline, rgb, grade)
            measured["frames"][name] = {
                "max_diff": float(np.abs(cpu - gpu).max()),
                "moved": float(np.abs(cpu - rgb).max()),
            }
        grade = next(iter(grades(tmp_path).values()))
        banded = GLGrader(max_rows=7)  # bands of 7 rows: the tiles line up with no seam
        banded.start()
        tall = pattern(101, 64)
        measured["bands"] = {
            "max_diff": float(
                np.abs(banded.grade(pipeline, tall, grade) - pipeline.render(tall, grade)).max()
            )
        }
        banded.close()
        bright = Grade(exposure=1.5)  # values above 1 must survive the float framebuffer
        cpu = pipeline.render(rgb, bright)
        measured["unclamped"] = {
            "cpu_max": float(cpu.max()),
            "max_diff": float(np.abs(cpu - grader.grade(pipeline, rgb, bright)).max()),
        }
        measured["export"] = _export_with(grader, tmp_path)
        from app.gl_grading import install_for_exports

        forced = install_for_exports({"AIPROD_EXPORT_GPU_GRADING": "1"})  # even on llvmpipe
        measured["installed"] = {"grader": forced is not None, "default": default_grader().name}
        set_default_grader(None)
        if forced is not None:
            forced.close()
    finally:
        grader.close()
    Path(target).write_text(json.dumps(measured))
    del app


def _export_with(grader, tmp_path: Path) -> dict:
    """The same graded timeline exported as 16-bit PNGs by the GPU grader and the CPU: within 1/255."""
    import av
    from opentimelineio.opentime import RationalTime

    from app.document import TimelineDocument, TrackKind
    from app.export import render_timeline
    from app.media.importer import import_files
    from tests.media_builders import make_video

    doc = TimelineDocument(name="GL", rate=24)
    ids, errors = import_files(doc, [make_video(tmp_path / "a.mkv", frames=12, size=(96, 64), audio=False)])
    assert not errors
    (clip,) = doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24), with_audio=False)
    doc.set_clip_grade(clip, next(iter(grades(tmp_path).values())).to_dict())
    gpu = render_timeline(doc, "png_sequence", tmp_path / "gpu", grader=FallbackGrader(grader))
    cpu = render_timeline(doc, "png_sequence", tmp_path / "cpu", grader=CpuGrader(), mode="sequential")
    worst, compared = 0.0, 0
    for image in sorted((tmp_path / "gpu").glob("*.png")):
        twin = tmp_path / "cpu" / image.name.replace("gpu.", "cpu.", 1)
        with av.open(str(image)) as a, av.open(str(twin)) as b:
            x = next(a.decode(video=0)).to_ndarray().astype(np.float64) / 65535
            y = next(b.decode(video=0)).to_ndarray().astype(np.float64) / 65535
        worst, compared = max(worst, float(np.abs(x - y).max())), compared + 1
    return {"grader": gpu.grader, "frames": gpu.frames, "compared": compared, "max_diff": worst,
            "cpu_grader": cpu.grader}  # fmt: skip

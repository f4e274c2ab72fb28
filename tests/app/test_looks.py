"""The shipped looks: rebuilt byte for byte by luts/make_looks.py, listed with titles, readable by OCIO, and
applied the same by our pipeline and by FFmpeg's lut3d filter (an independent .cube reader)."""

from __future__ import annotations

import importlib.util
import sys
from fractions import Fraction

import av
import numpy as np
import PyOpenColorIO as ocio
import pytest

from app.color import GradePipeline, looks
from app.errors import ColorError

REQUIRED = {
    "warm",
    "cool",
    "teal_orange",
    "bleach_bypass",
    "bw_high_contrast",
    "faded_film",
    "day_for_night",
    "punchy",
}


def load_generator():
    spec = importlib.util.spec_from_file_location("make_looks", looks.LUTS_DIR / "make_looks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_generator_rebuilds_the_committed_files_byte_for_byte(tmp_path):
    written = load_generator().write_all(tmp_path)
    assert {p.name for p in written} == {look.path.name for look in looks.available()}
    for path in written:
        assert path.read_bytes() == (looks.LUTS_DIR / path.name).read_bytes(), path.name


def test_at_least_eight_looks_with_titles_and_descriptions():
    available = looks.available()
    assert REQUIRED <= {look.name for look in available} and len(available) >= 8
    by_name = {look.name: look for look in available}
    assert by_name["teal_orange"].title == "Teal and Orange"
    assert "orange-teal" in by_name["teal_orange"].description
    assert all(look.title and look.description and look.path.is_file() for look in available)
    assert looks.path("warm") == by_name["warm"].path
    with pytest.raises(ColorError, match="Unknown look 'sunset'.*warm"):
        looks.path("sunset")
    with pytest.raises(ColorError):
        looks.path("../luts/warm")


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_look_opens_in_ocio_as_a_33_cube_that_changes_the_picture(name):
    config = ocio.Config.CreateRaw()
    processor = config.getProcessor(ocio.FileTransform(src=str(looks.path(name))))
    [lut] = list(processor.createGroupTransform())
    assert isinstance(lut, ocio.Lut3DTransform) and lut.getGridSize() == 33
    probe = np.array([[0.8, 0.5, 0.3], [0.2, 0.4, 0.7]], np.float32)
    out = probe.copy()
    processor.getDefaultCPUProcessor().applyRGB(out)
    assert np.abs(out - probe).max() > 0.02 and np.all((out >= 0) & (out <= 1))


def ffmpeg_lut3d(path, rgb16: np.ndarray) -> np.ndarray:
    """``rgb16`` (uint16 [H, W, 3]) through FFmpeg's lut3d filter with tetrahedral interpolation."""
    height, width = rgb16.shape[:2]
    graph = av.filter.Graph()
    source = graph.add_buffer(width=width, height=height, format="rgb48le", time_base=Fraction(1, 24))
    lut = graph.add("lut3d", f"file={path}:interp=tetrahedral")
    sink = graph.add("buffersink")
    source.link_to(lut)
    lut.link_to(sink)
    graph.configure()
    graph.push(av.VideoFrame.from_ndarray(rgb16, format="rgb48le"))
    return graph.pull().to_ndarray().astype(np.float32) / 65535


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_look_matches_ffmpegs_lut3d(name):
    rng = np.random.default_rng(11)
    rgb16 = rng.integers(0, 65536, (48, 64, 3), dtype=np.uint16)
    rgb16[0, :33] = np.linspace(0, 65535, 33).astype(np.uint16)[:, None]  # the grey axis, on lattice points
    ours = GradePipeline().render(rgb16.astype(np.float32) / 65535, {"look": name})
    theirs = ffmpeg_lut3d(looks.path(name), rgb16)
    assert np.abs(ours - theirs).max() < 1e-3  # measured 1.5e-5: one 16-bit step

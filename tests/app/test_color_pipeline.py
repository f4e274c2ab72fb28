"""app.color: grades become OCIO processors that match the references (OCIO's own FileTransform, the ASC
CDL formula, linear-light exposure); errors are ColorErrors a user can act on; the display view is the
identity by default and slow views are baked within a measured error."""

from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio
import pytest

from app.color import CDL, ColorSettings, Grade, GradePipeline, looks
from app.color import bake as baking
from app.color.pipeline import apply_processor
from app.errors import ColorError

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@pytest.fixture(scope="module")
def pipeline() -> GradePipeline:
    return GradePipeline()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.random((96, 80, 3), dtype=np.float32)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def write_cube(path, size: int, values: np.ndarray, extra: str = "") -> None:
    """A .cube file (red fastest) of ``values`` float ``[size**3, 3]``."""
    rows = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in values.tolist())
    path.write_text(f"{extra}LUT_3D_SIZE {size}\n{rows}\n")


def random_cube(path, size: int = 9, seed: int = 3) -> None:
    axis = np.linspace(0, 1, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    lattice = np.stack([r, g, b], -1).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    write_cube(path, size, np.clip(lattice**1.3 + rng.normal(0, 0.05, lattice.shape), 0, 1))


def ocio_apply(transform: ocio.Transform, rgb: np.ndarray) -> np.ndarray:
    config = ColorSettings().load_config()
    out = np.ascontiguousarray(rgb, np.float32).copy()
    config.getProcessor(transform).getDefaultCPUProcessor().applyRGB(out)
    return out


# ------------------------------------------------------------------------------------------- identity
@pytest.mark.parametrize("grade", [None, {}, Grade(), Grade(lut_mix=0.0, look="warm"), {"cdl": {}}])
def test_an_ungraded_clip_renders_unchanged(pipeline, image, grade):
    out = pipeline.render(image, grade)
    assert out.dtype == np.float32 and out.shape == image.shape and out is not image
    assert np.array_equal(out, image)
    assert pipeline.is_identity(grade)


def test_the_default_view_shows_the_file_as_is(pipeline, image):
    spaces = pipeline.spaces
    assert (spaces.input_space, spaces.working_space, spaces.output_space) == (
        "sRGB Encoded Rec.709 (sRGB)",
    ) * 3
    assert (spaces.display, spaces.view) == ("sRGB - Display", "Video (colorimetric)")
    assert pipeline.display_is_identity()
    assert np.array_equal(pipeline.display(image), image)
    # and the GPU processor the viewer would run for it is within 1e-4 of the identity too
    assert np.abs(ocio_apply(pipeline.display_processor().createGroupTransform(), image) - image).max() < 1e-4


# ----------------------------------------------------------------------------------------------- LUTs
def test_a_lut_through_the_pipeline_equals_ocio_alone(pipeline, image, tmp_path):
    cube = tmp_path / "random.cube"
    random_cube(cube)
    for grade, path in (
        (Grade(lut_path=str(cube)), cube),
        (Grade(look="teal_orange"), looks.path("teal_orange")),
    ):
        ours = pipeline.render(image, grade)
        reference = ocio_apply(
            ocio.FileTransform(src=str(path), interpolation=ocio.INTERP_TETRAHEDRAL), image
        )
        assert np.abs(ours - reference).max() < 1e-6
        assert np.abs(ours - image).max() > 0.05  # the LUT really did something


def test_lut_mix_blends_the_lut_with_its_input(pipeline, image, tmp_path):
    cube = tmp_path / "random.cube"
    random_cube(cube)
    full = pipeline.render(image, Grade(lut_path=str(cube)))
    assert np.array_equal(pipeline.render(image, Grade(lut_path=str(cube), lut_mix=0.0)), image)
    assert np.array_equal(pipeline.render(image, Grade(lut_path=str(cube), lut_mix=1.0)), full)
    for mix in (0.25, 0.7, 0.9):  # several mixes of one file: each its own processor
        blended = pipeline.render(image, Grade(lut_path=str(cube), lut_mix=mix))
        assert np.abs(blended - (image + mix * (full - image))).max() < 1e-5


def test_a_lut_that_is_not_a_single_3d_table_is_mixed_by_resampling(pipeline, image, tmp_path):
    cube = tmp_path / "shaper.cube"  # a 1D shaper and a 3D table in one .cube (Resolve writes these)
    size = 9
    axis = np.linspace(0, 1, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    lattice = np.stack([r, g, b], -1).reshape(-1, 3)
    shaper = "\n".join(f"{v:.6f} {v:.6f} {v:.6f}" for v in np.linspace(0, 1, 17) ** 0.8)
    write_cube(cube, size, lattice[:, ::-1] ** 1.2, extra=f"LUT_1D_SIZE 17\n{shaper}\n")
    full = pipeline.render(image, Grade(lut_path=str(cube)))
    half = pipeline.render(image, Grade(lut_path=str(cube), lut_mix=0.5))
    assert np.abs(half - (image + 0.5 * (full - image))).max() < 5e-3


# ------------------------------------------------------------------------------------ CDL and exposure
def test_cdl_follows_the_asc_formula(pipeline, image):
    cdl = CDL(slope=(1.2, 0.9, 1.05), offset=(0.02, -0.01, 0.0), power=(0.9, 1.1, 1.3), saturation=1.4)
    ours = pipeline.render(image, Grade(cdl=cdl))
    x = image.astype(np.float64)
    out = np.clip(x * cdl.slope + cdl.offset, 0, 1) ** cdl.power  # ASC v1.2: clamp, power, saturation, clamp
    luma = out @ LUMA.astype(np.float64)
    out = np.clip(luma[..., None] + cdl.saturation * (out - luma[..., None]), 0, 1)
    assert np.abs(ours - out).max() < 2e-5


def test_exposure_plus_one_stop_doubles_linear_light(pipeline):
    values = np.linspace(0.0, 0.7, 64, dtype=np.float32)  # stays below 1.0 in linear after doubling
    rgb = np.stack([values, values[::-1], values * 0.5], -1)[None]
    brighter = pipeline.render(rgb, Grade(exposure=1.0))
    assert np.abs(srgb_to_linear(brighter) - 2 * srgb_to_linear(rgb)).max() < 1e-4
    darker = pipeline.render(rgb, Grade(exposure=-2.0))
    assert np.abs(srgb_to_linear(darker) - 0.25 * srgb_to_linear(rgb)).max() < 1e-4


def test_the_order_is_exposure_then_cdl_then_lut(pipeline, image):
    grade = Grade(look="warm", exposure=0.5, cdl=CDL(slope=(1.1, 1.0, 0.9)))
    step1 = pipeline.render(image, Grade(exposure=0.5))
    step2 = pipeline.render(step1, Grade(cdl=CDL(slope=(1.1, 1.0, 0.9))))
    step3 = pipeline.render(step2, Grade(look="warm"))
    assert np.abs(pipeline.render(image, grade) - step3).max() < 1e-5


def test_grades_are_cached_and_a_changed_grade_renders_anew(pipeline, image):
    grade = Grade(look="punchy", cdl=CDL(saturation=0.8))
    same = Grade.from_dict(grade.to_dict())
    assert same == grade and pipeline.processor(grade) is pipeline.processor(same)
    first = pipeline.render(image, grade)
    other = pipeline.render(image, Grade(look="punchy", cdl=CDL(saturation=1.2)))
    assert np.abs(first - other).max() > 0.02


def test_two_threads_give_the_same_pixels_as_one():
    config = ColorSettings().load_config()
    cpu = config.getProcessor(ocio.CDLTransform(slope=[1.2, 1, 0.8], sat=1.3)).getDefaultCPUProcessor()
    rgb = np.random.default_rng(1).random((257, 33, 3), dtype=np.float32)
    one, two = rgb.copy(), rgb.copy()
    apply_processor(cpu, one, threads=1)
    apply_processor(cpu, two, threads=2)
    assert np.array_equal(one, two) and not np.array_equal(one, rgb)


def test_the_grade_processor_compiles_to_a_gpu_shader(pipeline):
    processor = pipeline.processor(Grade(look="bleach_bypass", exposure=0.3, cdl=CDL(power=(1.1, 1, 1))))
    desc = ocio.GpuShaderDesc.CreateShaderDesc(language=ocio.GPU_LANGUAGE_GLSL_4_0)
    processor.getDefaultGPUProcessor().extractGpuShaderInfo(desc)
    assert "OCIOMain" in desc.getShaderText() and len(list(desc.get3DTextures())) == 1


# ------------------------------------------------------------------------------------------------ data
def test_grade_dicts_round_trip_and_fill_defaults():
    grade = Grade.from_dict(
        {"look": "teal_orange", "lut_mix": 0.8, "exposure": 0.5, "cdl": {"slope": [1.1, 1.0, 0.9]}}
    )
    assert grade.cdl == CDL(slope=(1.1, 1.0, 0.9)) and grade.lut_path is None and grade.input_space is None
    assert Grade.from_dict(grade.to_dict()) == grade
    assert Grade.from_dict({}).is_identity() and not grade.is_identity()
    with pytest.raises(ColorError, match="between 0 and 1"):
        Grade(lut_mix=1.5)
    with pytest.raises(ColorError, match="three numbers"):
        Grade.from_dict({"cdl": {"slope": "bright"}})
    with pytest.raises(ColorError, match="power must be above 0"):
        CDL(power=(1, 0, 1))


def test_settings_default_to_an_empty_dict_and_reject_unknown_keys():
    assert ColorSettings().to_dict() == {}
    custom = ColorSettings(view="ACES 2.0 - SDR 100 nits (Rec.709)")
    assert ColorSettings.from_dict(custom.to_dict()) == custom
    assert "ACEScg" in ColorSettings().color_spaces()
    with pytest.raises(ColorError, match="Unknown colour setting"):
        ColorSettings.from_dict({"gamma": 2.2})


# ---------------------------------------------------------------------------------------------- errors
def test_a_missing_lut_file_is_named(pipeline, tmp_path):
    missing = tmp_path / "gone.cube"
    with pytest.raises(ColorError, match="gone.cube' does not exist"):
        pipeline.validate(Grade(lut_path=str(missing)))
    with pytest.raises(ColorError):
        pipeline.render(np.zeros((2, 2, 3), np.float32), {"lut_path": str(missing)})


def test_a_malformed_lut_file_is_named(pipeline, tmp_path):
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\nnot numbers at all\n")
    with pytest.raises(ColorError, match="'bad.cube' cannot be read"):
        pipeline.validate(Grade(lut_path=str(bad)))


def test_an_unknown_look_lists_the_shipped_ones(pipeline):
    with pytest.raises(ColorError, match="Unknown look 'tealorange'.*teal_orange"):
        pipeline.validate(Grade(look="tealorange"))


def test_an_unknown_colour_space_names_close_matches(pipeline):
    with pytest.raises(ColorError, match="Unknown colour space 'ACES cg'.*'ACEScg'"):
        pipeline.validate(Grade(input_space="ACES cg"))
    with pytest.raises(ColorError, match="Unknown colour space"):
        GradePipeline({"working_space": "Linear Rec709"})
    with pytest.raises(ColorError, match="Unknown view"):
        GradePipeline({"view": "Filmic"})


def test_an_unreadable_config_is_a_colour_error(tmp_path):
    with pytest.raises(ColorError, match="does not exist"):
        GradePipeline({"config": str(tmp_path / "missing.ocio")})
    garbage = tmp_path / "garbage.ocio"
    garbage.write_text("ocio_profile_version: 2\ncolorspaces: [this is: not: valid\n")
    with pytest.raises(ColorError, match="cannot be used"):
        GradePipeline({"config": str(garbage)})


def test_a_users_own_config_works(tmp_path, image):
    config = ocio.Config.CreateRaw()
    path = tmp_path / "mine.ocio"
    path.write_text(config.serialize())
    pipeline = GradePipeline({"config": str(path)})
    assert np.array_equal(pipeline.render(image, None), image)
    graded = pipeline.render(image, Grade(cdl=CDL(slope=(0.5, 0.5, 0.5))))
    assert np.abs(graded - image * 0.5).max() < 1e-6


# ------------------------------------------------------------------------------------------ slow views
def test_the_aces_view_is_baked_within_the_measured_error(image):
    pipeline = GradePipeline({"view": "ACES 2.0 - SDR 100 nits (Rec.709)"})
    baked, exact = pipeline.display_processor(), pipeline.display_processor(exact=True)
    assert baking.is_slow(exact) and not baking.is_slow(baked)
    samples = np.random.default_rng(5).random((20000, 3), dtype=np.float32)
    worst, mean = baking.bake_error(exact.getDefaultCPUProcessor(), baked.getDefaultCPUProcessor(), samples)
    assert worst < 0.02 and mean < 0.001
    shown = pipeline.display(image)
    assert not pipeline.display_is_identity() and np.abs(shown - image).max() > 0.05


def test_scene_linear_sources_are_baked_through_a_log_shaper():
    config = ColorSettings().load_config()
    assert baking.needs_shaper(config, "ACEScg") and not baking.needs_shaper(
        config, "sRGB Encoded Rec.709 (sRGB)"
    )
    view = ocio.DisplayViewTransform(
        src="ACEScg", display="sRGB - Display", view="ACES 2.0 - SDR 100 nits (Rec.709)"
    )
    baked = config.getProcessor(baking.bake(config, "ACEScg", view, size=33))
    # scene-linear values over many stops, from deep shadow to 16x diffuse white
    stops = 2.0 ** np.linspace(-8, 4, 4000)
    samples = np.stack([stops, stops * 0.6, stops * 0.3], -1).astype(np.float32)
    worst, mean = baking.bake_error(
        config.getProcessor(view).getDefaultCPUProcessor(), baked.getDefaultCPUProcessor(), samples
    )
    assert worst < 0.03 and mean < 0.005

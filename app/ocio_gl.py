"""OpenColorIO's GPU path in Qt's OpenGL wrappers: what the viewer (``ui.gl_frame_view``) and the export's
GPU grader (``app.gl_grading``) share.

OCIO turns a processor into shader text plus the lookup tables it samples (1D tables as 2D textures, 3D LUTs
as 3D textures) and uniforms (``Processor.getDefaultGPUProcessor().extractGpuShaderInfo``). Here that becomes
a linked ``QOpenGLShaderProgram`` with its tables uploaded (:func:`build_program`), and a draw of a triangle
strip through it with the frame on texture unit 0 (:func:`draw`). The viewer draws image row 0 at the top
and clamps to the display range; the grader keeps rows in readback order and keeps floats outside 0..1.
Each caller names the error type a failure raises.

Contexts: desktop OpenGL 3.3 core (GLSL 330) or OpenGL ES 3.0 (GLSL 300 es). Every function here needs the
context current; GL objects are freed with :func:`delete` while it is (never by the garbage collector).
QtGui and QtOpenGL only (no QtWidgets).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import PyOpenColorIO as ocio
import shiboken6
from PySide6.QtGui import QOpenGLContext, QSurfaceFormat
from PySide6.QtOpenGL import QOpenGLShader, QOpenGLShaderProgram, QOpenGLTexture, QOpenGLVertexArrayObject

GL_UNPACK_ALIGNMENT = 0x0CF5
GL_TRIANGLE_STRIP = 0x0005

Luts = list[tuple[QOpenGLTexture, str]]  # (texture, sampler name)

# A triangle strip over the viewport without vertex buffers (gl_VertexID); UV_EXPRESSION: where a corner
# samples the frame.
_VERTEX = """
out vec2 v_uv;
void main() {
    vec2 p = vec2(float((gl_VertexID & 1) * 2 - 1), float((gl_VertexID >> 1) * 2 - 1));
    v_uv = UV_EXPRESSION;
    gl_Position = vec4(p, 0.0, 1.0);
}
"""
# On screen, image row 0 at the top; into a framebuffer read back with glReadPixels (row 0 first), no flip.
_UV_TOP_DOWN = "vec2((p.x + 1.0) * 0.5, (1.0 - p.y) * 0.5)"
_UV_READBACK = "(p + 1.0) * 0.5"

_FRAGMENT_MAIN = """
uniform sampler2D u_frame;
in vec2 v_uv;
out vec4 fragColor;
void main() {
    vec4 picture = texture(u_frame, v_uv);
    vec3 graded = OCIO_FUNCTION(vec4(picture.rgb, 1.0)).rgb;
    fragColor = vec4(OUTPUT, 1.0);
}
"""


def surface_format() -> QSurfaceFormat:
    """What the GPU paths ask for: OpenGL 3.3 core on desktops, OpenGL ES 3.0 where Qt runs on ES."""
    fmt = QSurfaceFormat()
    if QOpenGLContext.openGLModuleType() == QOpenGLContext.OpenGLModuleType.LibGLES:
        fmt.setRenderableType(QSurfaceFormat.RenderableType.OpenGLES)
        fmt.setVersion(3, 0)
    else:
        fmt.setVersion(3, 3)
        fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    return fmt


def shader_language(context: QOpenGLContext) -> tuple[Any, str]:
    """OCIO's GLSL dialect for `context` and the header our shaders start with."""
    if context.isOpenGLES():
        precision = "precision highp float;\nprecision highp sampler2D;\nprecision highp sampler3D;\n"
        header = "#version 300 es\n" + precision
        return ocio.GPU_LANGUAGE_GLSL_ES_3_0, header
    return ocio.GPU_LANGUAGE_GLSL_1_3, "#version 330 core\n"  # 1.3 dialect: texture(), valid in 330 core


def build_program(
    context: QOpenGLContext,
    processor: ocio.Processor,
    function_name: str,
    *,
    top_down: bool,
    clamp: bool,
    error: type[Exception],
) -> tuple[QOpenGLShaderProgram, Luts, list]:
    """`processor` as a linked program, its lookup tables uploaded, and its uniforms (set them every draw).

    `top_down`: image row 0 at the top of the viewport (the screen) rather than in readback order;
    `clamp`: the output clamped to 0..1 (a display) rather than kept as floats (an export).

    Raises:
        error: a shader did not compile or link (the message carries the driver's log).
    """
    language, header = shader_language(context)
    desc = ocio.GpuShaderDesc.CreateShaderDesc(language=language, functionName=function_name)
    desc.setAllowTexture1D(False)  # 2D tables work on both desktop GL and ES
    processor.getDefaultGPUProcessor().extractGpuShaderInfo(desc)
    program = QOpenGLShaderProgram()
    vertex = _VERTEX.replace("UV_EXPRESSION", _UV_TOP_DOWN if top_down else _UV_READBACK)
    main = _FRAGMENT_MAIN.replace("OUTPUT", "clamp(graded, 0.0, 1.0)" if clamp else "graded")
    fragment = header + desc.getShaderText() + main.replace("OCIO_FUNCTION", function_name)
    if not program.addShaderFromSourceCode(QOpenGLShader.ShaderTypeBit.Vertex, header + vertex):
        raise error(f"vertex shader: {program.log()}")
    if not program.addShaderFromSourceCode(QOpenGLShader.ShaderTypeBit.Fragment, fragment):
        raise error(f"OCIO shader: {program.log()}")
    if not program.link():
        raise error(f"shader link: {program.log()}")
    gl = context.functions()
    luts: Luts = []
    for texture in desc.getTextures():
        red = texture.channel == ocio.GpuShaderDesc.TEXTURE_RED_CHANNEL
        luts.append((_lut_2d(gl, texture.width, texture.height, red, texture), texture.samplerName))
    for texture in desc.get3DTextures():
        luts.append((_lut_3d(gl, texture.edgeLen, texture), texture.samplerName))
    return program, luts, list(desc.getUniforms())


def new_texture_2d(
    width: int, height: int, fmt: QOpenGLTexture.TextureFormat, filter_: QOpenGLTexture.Filter
) -> QOpenGLTexture:
    """An allocated 2D texture without mipmaps, clamped at the edges."""
    texture = QOpenGLTexture(QOpenGLTexture.Target.Target2D)
    texture.setSize(width, height)
    texture.setFormat(fmt)
    texture.setMipLevels(1)
    texture.allocateStorage()
    texture.setMinMagFilters(filter_, filter_)
    texture.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
    return texture


def draw(
    gl: Any,
    vao: QOpenGLVertexArrayObject,
    program: QOpenGLShaderProgram,
    frame: QOpenGLTexture,
    luts: Luts,
    uniforms: list,
) -> None:
    """Draw the viewport-filling strip through `program`, `frame` on unit 0 (``u_frame``), tables after it."""
    program.bind()
    frame.bind(0)
    program.setUniformValue1i(program.uniformLocation("u_frame"), 0)
    for unit, (lut, sampler) in enumerate(luts, start=1):
        lut.bind(unit)
        program.setUniformValue1i(program.uniformLocation(sampler), unit)
    for name, data in uniforms:
        _set_uniform(program, name, data)
    vao.bind()
    gl.glDrawArrays(GL_TRIANGLE_STRIP, 0, 4)
    vao.release()
    program.release()


def delete(gl_object: object) -> None:
    """Free a Qt GL wrapper now (its C++ destructor needs the context that made it to be current)."""
    if shiboken6.isValid(gl_object):
        shiboken6.delete(gl_object)


def _filter(texture: Any) -> QOpenGLTexture.Filter:
    nearest = texture.interpolation == ocio.INTERP_NEAREST
    return QOpenGLTexture.Filter.Nearest if nearest else QOpenGLTexture.Filter.Linear


def _upload_floats(
    gl: Any, texture: QOpenGLTexture, pixel_format: QOpenGLTexture.PixelFormat, values
) -> None:
    gl.glPixelStorei(GL_UNPACK_ALIGNMENT, 1)  # float rows of 1 or 3 channels need not be 4-byte aligned
    texture.setData(0, pixel_format, QOpenGLTexture.PixelType.Float32, values)
    gl.glPixelStorei(GL_UNPACK_ALIGNMENT, 4)


def _lut_2d(gl: Any, width: int, height: int, red: bool, source: Any) -> QOpenGLTexture:
    values = np.ascontiguousarray(source.getValues(), np.float32)
    fmt = QOpenGLTexture.TextureFormat.R32F if red else QOpenGLTexture.TextureFormat.RGB32F
    lut = new_texture_2d(width, height, fmt, _filter(source))
    _upload_floats(gl, lut, QOpenGLTexture.PixelFormat.Red if red else QOpenGLTexture.PixelFormat.RGB, values)
    return lut


def _lut_3d(gl: Any, edge: int, source: Any) -> QOpenGLTexture:
    values = np.ascontiguousarray(source.getValues(), np.float32)
    lut = QOpenGLTexture(QOpenGLTexture.Target.Target3D)
    lut.setSize(edge, edge, edge)
    lut.setFormat(QOpenGLTexture.TextureFormat.RGB32F)
    lut.setMipLevels(1)
    lut.allocateStorage()
    _upload_floats(gl, lut, QOpenGLTexture.PixelFormat.RGB, values)
    lut.setMinMagFilters(_filter(source), _filter(source))
    lut.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
    return lut


def _set_uniform(program: QOpenGLShaderProgram, name: str, data: Any) -> None:
    # Dynamic properties (e.g. an exposure OCIO left adjustable) arrive as uniforms; set them every draw.
    location = program.uniformLocation(name)
    if location < 0:
        return  # declared but optimised away by the driver
    kind = data.type
    if kind == ocio.UNIFORM_DOUBLE:
        program.setUniformValue1f(location, float(data.getDouble()))
    elif kind == ocio.UNIFORM_BOOL:
        program.setUniformValue1i(location, int(data.getBool()))
    elif kind == ocio.UNIFORM_FLOAT3:
        program.setUniformValue(location, *(float(v) for v in data.getFloat3()))
    elif kind == ocio.UNIFORM_VECTOR_FLOAT:
        values = [float(v) for v in data.getVectorFloat()]
        program.setUniformValueArray(location, values, len(values), 1)
    elif kind == ocio.UNIFORM_VECTOR_INT:
        values = [int(v) for v in data.getVectorInt()]
        program.setUniformValueArray(location, values, len(values))

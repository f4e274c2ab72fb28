"""The viewer's GPU path: a QOpenGLWidget that shows a frame through an OpenColorIO processor as GLSL.

OCIO turns a processor into shader text plus the lookup tables it samples (1D tables as 2D textures, 3D
LUTs as 3D textures) and uniforms; this widget compiles that into a fragment shader, uploads the tables
once per processor and each frame as an 8-bit texture, and draws it letterboxed like the CPU `FrameView`.
The CPU path (`GradePipeline.display` / `.render`) runs the same processor, so the two agree: measured on
Mesa llvmpipe within 1/255 (tests/ui/test_viewer_gpu.py).

Contexts: desktop OpenGL 3.3 core (GLSL 330) or OpenGL ES 3.0 (GLSL 300 es). `opengl_available()` says
whether such a context can be made here; where it cannot (no display, Qt's offscreen platform, an old
driver) the viewer uses the CPU path. A shader that fails to build emits `failed` and the viewer falls back.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import PyOpenColorIO as ocio
import shiboken6
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QImage, QOffscreenSurface, QOpenGLContext, QSurfaceFormat
from PySide6.QtOpenGL import QOpenGLShader, QOpenGLShaderProgram, QOpenGLTexture, QOpenGLVertexArrayObject
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QSizePolicy, QWidget

OCIO_FUNCTION = "OCIODisplay"
_FORCE_CPU_ENV = "AIPROD_VIEWER_GPU"  # "0" turns the GPU path off (a driver that draws wrongly)
_available: bool | None = None
_NEVER_FREED: list[object] = []

# A triangle strip over the viewport without vertex buffers (gl_VertexID); image row 0 at the top.
_VERTEX = """
out vec2 v_uv;
void main() {
    vec2 p = vec2(float((gl_VertexID & 1) * 2 - 1), float((gl_VertexID >> 1) * 2 - 1));
    v_uv = vec2((p.x + 1.0) * 0.5, (1.0 - p.y) * 0.5);
    gl_Position = vec4(p, 0.0, 1.0);
}
"""

_FRAGMENT_MAIN = """
uniform sampler2D u_frame;
in vec2 v_uv;
out vec4 fragColor;
void main() {
    vec4 picture = texture(u_frame, v_uv);
    fragColor = vec4(clamp(OCIO_FUNCTION(vec4(picture.rgb, 1.0)).rgb, 0.0, 1.0), 1.0);
}
"""


def surface_format() -> QSurfaceFormat:
    """What the view asks for: OpenGL 3.3 core on desktops, OpenGL ES 3.0 where Qt runs on ES."""
    fmt = QSurfaceFormat()
    if QOpenGLContext.openGLModuleType() == QOpenGLContext.OpenGLModuleType.LibGLES:
        fmt.setRenderableType(QSurfaceFormat.RenderableType.OpenGLES)
        fmt.setVersion(3, 0)
    else:
        fmt.setVersion(3, 3)
        fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    return fmt


def opengl_available() -> bool:
    """Whether a context the view can use is available (checked once per process; needs a QGuiApplication)."""
    global _available
    if os.environ.get(_FORCE_CPU_ENV, "") == "0":
        return False
    if _available is None:
        _available = _probe_context()
    return _available


def _probe_context() -> bool:
    context = QOpenGLContext()
    context.setFormat(surface_format())
    if not context.create():
        return False  # e.g. Qt's offscreen platform, or no GL driver at all
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    try:
        if not surface.isValid() or not context.makeCurrent(surface):
            return False
        version = context.format().version()
        context.doneCurrent()
    finally:
        surface.destroy()
    return version >= ((3, 0) if context.isOpenGLES() else (3, 3))


def _language(context: QOpenGLContext) -> tuple[Any, str]:
    """OCIO's GLSL dialect for `context` and the header our shaders start with."""
    if context.isOpenGLES():
        precision = "precision highp float;\nprecision highp sampler2D;\nprecision highp sampler3D;\n"
        header = "#version 300 es\n" + precision
        return ocio.GPU_LANGUAGE_GLSL_ES_3_0, header
    return ocio.GPU_LANGUAGE_GLSL_1_3, "#version 330 core\n"  # 1.3 dialect: texture(), valid in 330 core


class GLFrameView(QOpenGLWidget):
    """Paints one QImage through an OCIO processor (or unchanged), scaled to fit with its aspect kept."""

    failed = Signal(str)  # the shader could not be built or drawn; show the CPU path instead

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerFrame")
        self.setFormat(surface_format())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._image = QImage()
        self._processor: ocio.Processor | None = None
        self._frame_dirty = True
        self._shader_dirty = True
        self._broken: str | None = None
        self._gl = _GLResources()
        self._uniforms: list[tuple[str, Any]] = []

    # ------------------------------------------------------------------------------------------ public
    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._frame_dirty = True
        self.update()

    def set_processor(self, processor: ocio.Processor | None) -> None:
        """The OCIO transform the picture is shown through; None shows it unchanged."""
        self._processor = processor
        self._shader_dirty = True
        self.update()

    def processor(self) -> ocio.Processor | None:
        return self._processor

    @property
    def error(self) -> str | None:
        """Why the GPU path stopped drawing (None while it works)."""
        return self._broken

    def image_rect(self) -> QRect:
        """Where the picture lands in the widget (letterboxed / pillarboxed), in widget pixels."""
        if self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    # -------------------------------------------------------------------------------------- GL events
    def initializeGL(self) -> None:
        # GL objects must be freed with their context current, never by Python's garbage collector (that
        # runs later under some other context: a crash). `hideEvent` frees them (a closing window hides its
        # children first); if the context goes without a hide, the holder keeps them alive for good.
        self.context().aboutToBeDestroyed.connect(self._gl.abandon)
        self._shader_dirty = self._frame_dirty = True

    def hideEvent(self, event: QHideEvent) -> None:
        if self._gl.holds_anything() and self.context() is not None and self.context().isValid():
            self.makeCurrent()
            self._gl.release()
            self.doneCurrent()
            self._shader_dirty = self._frame_dirty = True  # rebuilt at the next paint after a show
        super().hideEvent(event)

    def paintGL(self) -> None:
        gl = self.context().functions()
        gl.glClearColor(0.0, 0.0, 0.0, 1.0)
        gl.glClear(0x00004000)  # GL_COLOR_BUFFER_BIT
        if self._image.isNull() or self._broken:
            return
        try:
            if self._shader_dirty:
                self._build_program()
            if self._frame_dirty:
                self._upload_frame()
            self._draw(gl)
        except _GLFailure as exc:
            self._broken = str(exc)
            QTimer.singleShot(0, lambda message=str(exc): self.failed.emit(message))

    # --------------------------------------------------------------------------------------- internals
    def _build_program(self) -> None:
        self._gl.release_program()
        self._uniforms = []
        language, header = _language(self.context())
        processor = self._processor or ocio.Config.CreateRaw().getProcessor(ocio.MatrixTransform())
        desc = ocio.GpuShaderDesc.CreateShaderDesc(language=language, functionName=OCIO_FUNCTION)
        desc.setAllowTexture1D(False)  # 2D tables work on both desktop GL and ES
        processor.getDefaultGPUProcessor().extractGpuShaderInfo(desc)

        program = QOpenGLShaderProgram()
        fragment = header + desc.getShaderText() + _FRAGMENT_MAIN.replace("OCIO_FUNCTION", OCIO_FUNCTION)
        if not program.addShaderFromSourceCode(QOpenGLShader.ShaderTypeBit.Vertex, header + _VERTEX):
            raise _GLFailure(f"vertex shader: {program.log()}")
        if not program.addShaderFromSourceCode(QOpenGLShader.ShaderTypeBit.Fragment, fragment):
            raise _GLFailure(f"OCIO shader: {program.log()}")
        if not program.link():
            raise _GLFailure(f"shader link: {program.log()}")
        self._gl.program = program
        for texture in desc.getTextures():
            red = texture.channel == ocio.GpuShaderDesc.TEXTURE_RED_CHANNEL
            self._gl.luts.append(
                (self._lut_texture_2d(texture.width, texture.height, red, texture), texture.samplerName)
            )
        for texture in desc.get3DTextures():
            self._gl.luts.append((self._lut_texture_3d(texture.edgeLen, texture), texture.samplerName))
        self._uniforms = list(desc.getUniforms())
        self._shader_dirty = False

    @staticmethod
    def _filter(texture: Any) -> QOpenGLTexture.Filter:
        nearest = texture.interpolation == ocio.INTERP_NEAREST
        return QOpenGLTexture.Filter.Nearest if nearest else QOpenGLTexture.Filter.Linear

    def _lut_texture_2d(self, width: int, height: int, red: bool, source: Any) -> QOpenGLTexture:
        values = np.ascontiguousarray(source.getValues(), np.float32)
        lut = QOpenGLTexture(QOpenGLTexture.Target.Target2D)
        lut.setSize(width, height)
        lut.setFormat(QOpenGLTexture.TextureFormat.R32F if red else QOpenGLTexture.TextureFormat.RGB32F)
        lut.setMipLevels(1)
        lut.allocateStorage()
        pixel_format = QOpenGLTexture.PixelFormat.Red if red else QOpenGLTexture.PixelFormat.RGB
        self._set_unpack_alignment(1)
        lut.setData(0, pixel_format, QOpenGLTexture.PixelType.Float32, values)
        self._set_unpack_alignment(4)
        lut.setMinMagFilters(self._filter(source), self._filter(source))
        lut.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
        return lut

    def _lut_texture_3d(self, edge: int, source: Any) -> QOpenGLTexture:
        values = np.ascontiguousarray(source.getValues(), np.float32)
        lut = QOpenGLTexture(QOpenGLTexture.Target.Target3D)
        lut.setSize(edge, edge, edge)
        lut.setFormat(QOpenGLTexture.TextureFormat.RGB32F)
        lut.setMipLevels(1)
        lut.allocateStorage()
        self._set_unpack_alignment(1)
        lut.setData(0, QOpenGLTexture.PixelFormat.RGB, QOpenGLTexture.PixelType.Float32, values)
        self._set_unpack_alignment(4)
        lut.setMinMagFilters(self._filter(source), self._filter(source))
        lut.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
        return lut

    def _set_unpack_alignment(self, alignment: int) -> None:
        self.context().functions().glPixelStorei(0x0CF5, alignment)  # GL_UNPACK_ALIGNMENT

    def _upload_frame(self) -> None:
        rgba = self._image.convertToFormat(QImage.Format.Format_RGBA8888)
        width, height = rgba.width(), rgba.height()
        pixels = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.bytesPerLine() * height)
        pixels = np.ascontiguousarray(pixels.reshape(height, -1)[:, : width * 4])
        texture = self._gl.frame
        if texture is None or (texture.width(), texture.height()) != (width, height):
            if texture is not None:
                _delete(texture)
            texture = QOpenGLTexture(QOpenGLTexture.Target.Target2D)
            texture.setSize(width, height)
            texture.setFormat(QOpenGLTexture.TextureFormat.RGBA8_UNorm)
            texture.setMipLevels(1)
            texture.allocateStorage()
            texture.setMinMagFilters(QOpenGLTexture.Filter.Linear, QOpenGLTexture.Filter.Linear)
            texture.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
            self._gl.frame = texture
        texture.setData(0, QOpenGLTexture.PixelFormat.RGBA, QOpenGLTexture.PixelType.UInt8, pixels)
        self._frame_dirty = False

    def _draw(self, gl: Any) -> None:
        if self._gl.vao is None:
            self._gl.vao = QOpenGLVertexArrayObject()
            self._gl.vao.create()  # core profiles draw nothing without a bound vertex array
        program, texture, vao = self._gl.program, self._gl.frame, self._gl.vao
        if program is None or texture is None or vao is None:
            return
        ratio = self.devicePixelRatioF()
        rect = self.image_rect()
        gl.glViewport(
            round(rect.x() * ratio),
            round((self.height() - rect.bottom() - 1) * ratio),  # GL counts rows from the bottom
            round(rect.width() * ratio),
            round(rect.height() * ratio),
        )
        program.bind()
        texture.bind(0)
        program.setUniformValue1i(program.uniformLocation("u_frame"), 0)
        for unit, (lut, sampler) in enumerate(self._gl.luts, start=1):
            lut.bind(unit)
            program.setUniformValue1i(program.uniformLocation(sampler), unit)
        for name, data in self._uniforms:
            self._set_uniform(program, name, data)
        vao.bind()
        gl.glDrawArrays(0x0005, 0, 4)  # GL_TRIANGLE_STRIP
        vao.release()
        program.release()
        gl.glViewport(0, 0, round(self.width() * ratio), round(self.height() * ratio))

    @staticmethod
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


class _GLResources:
    """The GL objects of one view, freed explicitly while their context is current (never by the GC)."""

    def __init__(self) -> None:
        self.program: QOpenGLShaderProgram | None = None
        self.vao: QOpenGLVertexArrayObject | None = None
        self.frame: QOpenGLTexture | None = None
        self.luts: list[tuple[QOpenGLTexture, str]] = []  # (texture, sampler name)

    def holds_anything(self) -> bool:
        return bool(self.luts) or any(o is not None for o in (self.program, self.vao, self.frame))

    def release_program(self) -> None:
        """Free the shader and its tables (the context must be current)."""
        for lut, _sampler in self.luts:
            _delete(lut)
        self.luts.clear()
        if self.program is not None:
            _delete(self.program)
        self.program = None

    def release(self) -> None:
        """Free everything (the context must be current)."""
        self.release_program()
        if self.frame is not None:
            _delete(self.frame)
        if self.vao is not None:
            self.vao.destroy()
            _delete(self.vao)
        self.frame = self.vao = None

    def abandon(self) -> None:
        """The context is going and may not be current: keep the wrappers alive for good (their destructors
        would otherwise run later under another context); the driver reclaims the memory with the context."""
        if self.holds_anything():
            _NEVER_FREED.append((self.luts, self.program, self.vao, self.frame))
            self.luts, self.program, self.vao, self.frame = [], None, None, None


def _delete(gl_object: object) -> None:
    """Free a Qt GL wrapper now (its C++ destructor needs the context that made it to be current)."""
    if shiboken6.isValid(gl_object):
        shiboken6.delete(gl_object)


class _GLFailure(RuntimeError):
    """The driver refused the shader or a texture (a message for the log and the viewer's label)."""

"""The viewer's GPU path: a QOpenGLWidget that shows a frame through an OpenColorIO processor as GLSL.

OCIO turns a processor into shader text plus the lookup tables it samples (1D tables as 2D textures, 3D
LUTs as 3D textures) and uniforms; this widget compiles that into a fragment shader (`app.ocio_gl`, shared
with the export's GPU grader), uploads the tables once per processor and each frame as an 8-bit texture,
and draws it letterboxed like the CPU `FrameView`.
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
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QImage, QOffscreenSurface, QOpenGLContext
from PySide6.QtOpenGL import QOpenGLShaderProgram, QOpenGLTexture, QOpenGLVertexArrayObject
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ocio_gl import build_program, delete, draw, new_texture_2d, surface_format

OCIO_FUNCTION = "OCIODisplay"
_FORCE_CPU_ENV = "AIPROD_VIEWER_GPU"  # "0" turns the GPU path off (a driver that draws wrongly)
_available: bool | None = None
_NEVER_FREED: list[object] = []


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
        processor = self._processor or ocio.Config.CreateRaw().getProcessor(ocio.MatrixTransform())
        program, luts, uniforms = build_program(
            self.context(), processor, OCIO_FUNCTION, top_down=True, clamp=True, error=_GLFailure
        )
        self._gl.program, self._gl.luts, self._uniforms = program, luts, uniforms
        self._shader_dirty = False

    def _upload_frame(self) -> None:
        rgba = self._image.convertToFormat(QImage.Format.Format_RGBA8888)
        width, height = rgba.width(), rgba.height()
        pixels = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.bytesPerLine() * height)
        pixels = np.ascontiguousarray(pixels.reshape(height, -1)[:, : width * 4])
        texture = self._gl.frame
        if texture is None or (texture.width(), texture.height()) != (width, height):
            if texture is not None:
                delete(texture)
            linear = QOpenGLTexture.Filter.Linear
            texture = new_texture_2d(width, height, QOpenGLTexture.TextureFormat.RGBA8_UNorm, linear)
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
        draw(gl, vao, program, texture, self._gl.luts, self._uniforms)
        gl.glViewport(0, 0, round(self.width() * ratio), round(self.height() * ratio))


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
            delete(lut)
        self.luts.clear()
        if self.program is not None:
            delete(self.program)
        self.program = None

    def release(self) -> None:
        """Free everything (the context must be current)."""
        self.release_program()
        if self.frame is not None:
            delete(self.frame)
        if self.vao is not None:
            self.vao.destroy()
            delete(self.vao)
        self.frame = self.vao = None

    def abandon(self) -> None:
        """The context is going and may not be current: keep the wrappers alive for good (their destructors
        would otherwise run later under another context); the driver reclaims the memory with the context."""
        if self.holds_anything():
            _NEVER_FREED.append((self.luts, self.program, self.vao, self.frame))
            self.luts, self.program, self.vao, self.frame = [], None, None, None


class _GLFailure(RuntimeError):
    """The driver refused the shader or a texture (a message for the log and the viewer's label)."""

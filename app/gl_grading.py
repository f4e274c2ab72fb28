"""Grading on the GPU during export: the viewer's OpenColorIO GLSL shader, run offscreen on float frames.

``GLGrader`` implements :class:`app.export.grading.Grader` for the Qt-free export core. It renders each frame
(or band of rows, for frames taller than the GPU's texture limit) as a float32 RGB texture through the
grade's OCIO GPU processor into an RGBA32F framebuffer object and reads the floats back, so values outside
0..1 survive as they do on the CPU. The shader text, lookup tables and uniforms come from
``Processor.getDefaultGPUProcessor().extractGpuShaderInfo`` through ``app.ocio_gl``, as in the viewer;
the CPU processor (``GradePipeline.render``) stays the reference and the fallback: measured within 1/255
on Mesa llvmpipe (tests/app/test_gl_grader.py).

Threads: OpenGL contexts belong to one thread, and the export grades on pool threads that change from one
export to the next. So the grader owns one thread for its lifetime, makes its context current there once,
and ``grade()`` (from any thread) hands the frame to it and waits. The offscreen surface is created where
the grader is made, which must be the GUI thread (Qt requires it on some platforms); a
``QGuiApplication`` must exist. Where no OpenGL 3.3 core / ES 3.0 context can be made (Qt's offscreen
platform, no driver), :func:`make_gl_grader` returns None and the CPU grades.

QtGui and QtOpenGL only (no QtWidgets); the export core never imports this module: the studio registers it
(``app.export.grading.set_default_grader``).
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

import numpy as np
import PyOpenColorIO as ocio
from PySide6.QtGui import QOffscreenSurface, QOpenGLContext
from PySide6.QtOpenGL import (
    QOpenGLFramebufferObject,
    QOpenGLFramebufferObjectFormat,
    QOpenGLShaderProgram,
    QOpenGLTexture,
    QOpenGLVertexArrayObject,
)

from app.export.grading import GraderUnavailable
from app.ocio_gl import build_program, delete, draw, new_texture_2d, surface_format

log = logging.getLogger(__name__)

OCIO_FUNCTION = "OCIOGrade"
PROGRAMS_KEPT = 16  # compiled grades kept (an export rarely has more distinct grades in flight)
GL_RGBA32F = 0x8814
GL_RGBA = 0x1908
GL_FLOAT = 0x1406
GL_PACK_ALIGNMENT = 0x0D05
GL_UNPACK_ALIGNMENT = 0x0CF5
GL_MAX_TEXTURE_SIZE = 0x0D33


def make_gl_grader() -> GLGrader | None:
    """A working GL grader, or None where no usable context can be made (call on the GUI thread)."""
    try:
        grader = GLGrader()
        grader.start()
    except GraderUnavailable as exc:
        log.info("GPU grading is not available (%s); exports grade on the CPU", exc)
        return None
    return grader


class GLGrader:
    """Runs a GradePipeline's grade processors as OCIO GLSL on float frames (see the module doc)."""

    name = "gl"
    parallel = False  # one GL thread; the export's grade stage then runs one worker

    def __init__(self, max_rows: int | None = None) -> None:
        self._surface = QOffscreenSurface()
        self._surface.setFormat(surface_format())
        self._surface.create()  # here, on the GUI thread
        if not self._surface.isValid():
            raise GraderUnavailable("no offscreen OpenGL surface on this platform")
        self._max_rows = max_rows
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: str | None = None
        self.renderer: str = ""  # GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- public
    def start(self) -> None:
        """Start the GL thread and make its context; GraderUnavailable when that fails."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aiprod-gl-grade", daemon=True)
                self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise GraderUnavailable(self._error)
        if not self._ready.is_set():
            raise GraderUnavailable("the OpenGL context did not start within 30 s")

    def grade(self, pipeline: Any, rgb: np.ndarray, grade: Any) -> np.ndarray:
        """``rgb`` float32 [H, W, 3] graded through ``pipeline.processor(grade)`` on the GPU (a new array).

        Raises:
            GraderUnavailable: the GPU path failed (the export then grades on the CPU).
        """
        self.start()
        processor = pipeline.processor(grade)
        if processor.isNoOp():
            return np.array(rgb, dtype=np.float32, copy=True)
        future: Future = Future()
        self._jobs.put((processor, np.ascontiguousarray(rgb, dtype=np.float32), future))
        return future.result()

    def close(self) -> None:
        """Free the GL objects and stop the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._jobs.put(None)
            thread.join(10)
        self._surface.destroy()

    # ---------------------------------------------------------------------------------- the GL thread
    def _run(self) -> None:
        context = QOpenGLContext()
        context.setFormat(surface_format())
        if not context.create() or not context.makeCurrent(self._surface):
            self._error = "no OpenGL context could be made current (offscreen platform or no driver)"
            self._ready.set()
            return
        state = _GLState(context, self._max_rows)
        try:
            state.check_version()
            self.renderer = state.renderer
        except GraderUnavailable as exc:
            self._error = str(exc)
            context.doneCurrent()
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                processor, rgb, future = job
                try:
                    future.set_result(state.grade(processor, rgb))
                except GraderUnavailable as exc:
                    future.set_exception(exc)
                except Exception as exc:  # noqa: BLE001 - a driver error: fall back to the CPU
                    future.set_exception(
                        GraderUnavailable(f"GPU grading failed: {type(exc).__name__}: {exc}")
                    )
        finally:
            state.release()
            context.doneCurrent()


class _GLState:
    """What lives on the GL thread: programs per processor, the frame texture, the framebuffer."""

    def __init__(self, context: QOpenGLContext, max_rows: int | None) -> None:
        self.context = context
        self.gl = context.functions()
        self.extra = context.extraFunctions()
        self.max_rows = max_rows
        self.programs: OrderedDict[str, tuple[QOpenGLShaderProgram, list, list]] = OrderedDict()
        self.frame: QOpenGLTexture | None = None
        self.fbo: QOpenGLFramebufferObject | None = None
        self.vao = QOpenGLVertexArrayObject()
        self.vao.create()
        self.renderer = ""
        self._read_pixels = _read_pixels_function(context)

    def check_version(self) -> None:
        version = self.context.format().version()
        if version < ((3, 0) if self.context.isOpenGLES() else (3, 3)):
            raise GraderUnavailable(f"OpenGL {version[0]}.{version[1]} is too old (3.3 core / ES 3.0 needed)")
        if self._read_pixels is None:
            raise GraderUnavailable("glReadPixels could not be resolved")
        try:
            self.renderer = str(self.gl.glGetString(0x1F01) or "")  # GL_RENDERER
        except Exception:  # noqa: BLE001 - only informative
            self.renderer = ""

    # ------------------------------------------------------------------------------------------ grading
    def grade(self, processor: ocio.Processor, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        limit = int(self._integer(GL_MAX_TEXTURE_SIZE) or 4096)
        if width > limit:
            raise GraderUnavailable(f"frames wider than the GPU's {limit}-pixel texture limit")
        band = min(height, limit, self.max_rows or height)
        program, luts, uniforms = self._program(processor)
        out = np.empty((height, width, 3), np.float32)
        for top in range(0, height, band):
            rows = rgb[top : top + band]
            out[top : top + rows.shape[0]] = self._draw(program, luts, uniforms, rows)
        return out

    def _draw(self, program, luts, uniforms, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        texture = self._frame_texture(width, height)
        self.gl.glPixelStorei(GL_UNPACK_ALIGNMENT, 1)
        texture.setData(0, QOpenGLTexture.PixelFormat.RGB, QOpenGLTexture.PixelType.Float32, rgb)
        fbo = self._framebuffer(width, height)
        if not fbo.bind():
            raise GraderUnavailable("the float framebuffer could not be bound")
        self.gl.glViewport(0, 0, width, height)
        draw(self.gl, self.vao, program, texture, luts, uniforms)
        out = np.empty((height, width, 4), np.float32)
        self.gl.glPixelStorei(GL_PACK_ALIGNMENT, 4)
        self._read_pixels(0, 0, width, height, GL_RGBA, GL_FLOAT, out.ctypes.data)
        error = self.gl.glGetError()
        fbo.release()
        if error:
            raise GraderUnavailable(f"OpenGL error 0x{error:04x} while grading")
        return out[..., :3]

    def _frame_texture(self, width: int, height: int) -> QOpenGLTexture:
        texture = self.frame
        if texture is not None and (texture.width(), texture.height()) == (width, height):
            return texture
        if texture is not None:
            delete(texture)
        nearest = QOpenGLTexture.Filter.Nearest
        texture = new_texture_2d(width, height, QOpenGLTexture.TextureFormat.RGB32F, nearest)
        self.frame = texture
        return texture

    def _framebuffer(self, width: int, height: int) -> QOpenGLFramebufferObject:
        fbo = self.fbo
        if fbo is not None and (fbo.width(), fbo.height()) == (width, height):
            return fbo
        if fbo is not None:
            delete(fbo)
        fmt = QOpenGLFramebufferObjectFormat()
        fmt.setInternalTextureFormat(GL_RGBA32F)
        fbo = QOpenGLFramebufferObject(width, height, fmt)
        if not fbo.isValid():
            raise GraderUnavailable("this GPU cannot render into a 32-bit float framebuffer")
        self.fbo = fbo
        return fbo

    def _program(self, processor: ocio.Processor):
        key = processor.getCacheID()
        cached = self.programs.get(key)
        if cached is not None:
            self.programs.move_to_end(key)
            return cached
        program, luts, uniforms = build_program(
            self.context, processor, OCIO_FUNCTION, top_down=False, clamp=False, error=GraderUnavailable
        )
        entry = (program, luts, uniforms)
        self.programs[key] = entry
        while len(self.programs) > PROGRAMS_KEPT:
            _key, (old, old_luts, _u) = self.programs.popitem(last=False)
            for lut, _sampler in old_luts:
                delete(lut)
            delete(old)
        return entry

    def _integer(self, name: int) -> int:
        value = (ctypes.c_int * 1)()
        getter = _gl_function(self.context, "glGetIntegerv", None, ctypes.c_uint, ctypes.c_void_p)
        if getter is None:
            return 0
        getter(name, ctypes.cast(value, ctypes.c_void_p))
        return int(value[0])

    def release(self) -> None:
        for program, luts, _uniforms in self.programs.values():
            for lut, _sampler in luts:
                delete(lut)
            delete(program)
        self.programs.clear()
        for obj in (self.frame, self.fbo):
            if obj is not None:
                delete(obj)
        self.vao.destroy()
        delete(self.vao)
        self.frame = self.fbo = None


def _gl_function(context: QOpenGLContext, name: str, restype: Any, *argtypes: Any):
    """A GL entry point as a ctypes function (PySide6 cannot read pixels into a numpy buffer)."""
    address = context.getProcAddress(name.encode())
    if not address:
        return None
    if not isinstance(address, int):
        try:
            address = int(address)
        except (TypeError, ValueError):
            return None
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


def _read_pixels_function(context: QOpenGLContext):
    int_, uint = ctypes.c_int, ctypes.c_uint
    return _gl_function(context, "glReadPixels", None, int_, int_, int_, int_, uint, uint, ctypes.c_void_p)


SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer")
GPU_GRADING_ENV = "AIPROD_EXPORT_GPU_GRADING"  # "0": never; "1": even on a software rasterizer; else auto
_installed: GLGrader | None = None
_decided = False  # asked once per process (every main window asks)


def is_software(renderer: str) -> bool:
    """True for Mesa's CPU rasterizers, where the shader runs on the same cores OCIO's CPU path would use."""
    return any(name in renderer.lower() for name in SOFTWARE_RENDERERS)


def install_for_exports(environ: dict[str, str] | None = None) -> GLGrader | None:
    """Make exports grade on the GPU where that helps: a GL grader on a real GPU is registered as the export
    core's default grader (``app.export.grading.set_default_grader``). On Mesa's software rasterizer
    (llvmpipe: VMs, Xvfb) the shader runs on the CPU and is slower than OCIO's CPU path, so it is not used
    unless ``AIPROD_EXPORT_GPU_GRADING=1``; ``=0`` turns GPU grading off. Call on the GUI thread; once per
    process (later calls return the first result)."""
    import os

    from app.export.grading import set_default_grader

    global _installed, _decided
    setting = (environ if environ is not None else os.environ).get(GPU_GRADING_ENV, "auto")
    if setting == "0":
        return None
    if _decided:
        return _installed
    _decided = True
    grader = make_gl_grader()
    if grader is None:
        return None
    if is_software(grader.renderer) and setting != "1":
        log.info("GPU grading skipped: %s is a software rasterizer (set %s=1 to use it)",
                 grader.renderer, GPU_GRADING_ENV)  # fmt: skip
        grader.close()
        return None
    _installed = grader
    set_default_grader(lambda: grader)
    log.info("exports grade on the GPU (%s)", grader.renderer)
    return grader

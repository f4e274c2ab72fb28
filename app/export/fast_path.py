"""The export's fast path: a frame that shows one source frame whole (Qt-free).

Most frames of a cut are one source frame, fitted into the output frame: no dissolve, no title, no move or
crop. For those the export skips the float pipeline (16-bit RGB -> float32 -> OpenColorIO's CPU processor ->
our float BT.709 R'G'B' -> Y'CbCr) and does the same work in two cheap steps:

1. **FFmpeg** (two filter graphs on each grade worker: one per source format, one per grade and size; the
   render builds the first frame's grade graph ahead, while its preflight runs): libswscale turns the
   decoded frame into 16-bit planar R'G'B' exactly as the reader does for the float path
   (:func:`app.media.reader.rgb_filters`), then ``lut3d`` (tetrahedral) applies one 3D LUT that holds the
   clip's whole grade, the clip to 0..1, the BT.709 matrix and the limited-range scaling: its three outputs
   are Y', Cb and Cr as 10-bit code values x 64, in the G, B and R planes. A source of another size than
   the output is then scaled there with libswscale's bilinear filter (within 0.35/255 of the PIL bilinear
   resize ``app.media.transform.place`` does) and letterboxed into black, as the compositor fits it.
2. **numpy, in integers**: Y is rounded to the delivery's bit depth, Cb/Cr are decimated with the same
   filters as :mod:`app.export.yuv` ([1, 2, 1]/4 co-sited horizontally, row pairs averaged for 4:2:0) and
   rounded once, straight into the encoder's frame.

The LUT is sampled from the grade's own OpenColorIO processor (65^3; the matrix is linear, so an ungraded
clip needs only a 2^3 LUT, which tetrahedral interpolation reproduces exactly). Before a grade is used it is
checked against the exact processor on random colours: a grade whose baked LUT differs by more than
``MAX_BAKE_ERROR`` anywhere, and every grade of a scene-linear source (values beyond 1 that a LUT over
0..1 cannot hold), stays on the float path, which remains the reference. Frames of both paths may meet in
one export (a dissolve between two fast cuts): they differ by rounding, about a code value.

Why not libswscale for R'G'B' -> Y'CbCr: it scales 16-bit or float RGB to limited-range 10-bit Y' as if by
1023/255 (white lands on 943 instead of 940, measured with PyAV 18.1's FFmpeg), and its chroma filter
differs from ours; the integer step above costs ~10 ms per 1080p frame and keeps our conventions.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

import av
import av.filter
import numpy as np

from app.export.formats import DeliveryFormat
from app.export.yuv import C_SCALE_10, C_ZERO_10, RGB_TO_YCBCR_709, Y_BLACK_10, Y_SCALE_10
from app.media.reader import filter_graph, rgb_filters

log = logging.getLogger(__name__)

LUT_SIZE = 65  # lattice points per axis of a graded clip's LUT (FFmpeg's lut3d takes up to 256)
MAX_BAKE_ERROR = 2.0 / 255  # the most a baked grade may differ from OCIO's exact processor (0..1 units)
CHECK_SAMPLES = 65536  # random colours a baked grade is checked on
_CODE_SCALE = 64  # the LUT writes 10-bit code values x 64 into 16-bit samples
# planar delivery formats the integer step writes: (horizontal, vertical) chroma factors and bit depth
FORMATS = {
    "yuv422p10le": (2, 1, 10),
    "yuv420p10le": (2, 2, 10),
    "yuv444p10le": (1, 1, 10),
    "yuv422p": (2, 1, 8),
    "yuv420p": (2, 2, 8),
    "yuv444p": (1, 1, 8),
}


@dataclass(frozen=True)
class FastFrame:
    """One timeline frame for the fast path: the decoded source frame and the LUT that grades it."""

    index: int
    frame: av.VideoFrame
    lut: str  # path of the .cube file (grade + BT.709 matrix + limited range)
    size: tuple[int, int] | None = None  # the output frame (width, height); None: the source's
    # where the picture lands when it is scaled or letterboxed (x0, y0, width, height); None: the whole frame
    placed: tuple[int, int, int, int] | None = None


def supported(fmt: DeliveryFormat) -> bool:
    """True when the fast path can write ``fmt`` (planar 8/10-bit Y'CbCr without alpha) with this FFmpeg."""
    return not fmt.alpha and fmt.planar_pix_fmt in FORMATS and "lut3d" in av.filter.filters_available


class FastPath:
    """Per export: the baked LUTs (in a temporary folder) and each worker thread's filter graphs.

    ``lut_for`` runs on the decode thread; ``convert`` on any grade worker (each thread builds its own
    graphs: an FFmpeg filter graph is not shared between threads). ``close`` removes the LUT files.
    """

    def __init__(self, fmt: DeliveryFormat) -> None:
        if not supported(fmt):
            raise ValueError(f"the fast path cannot write {fmt.planar_pix_fmt}")
        self.fmt = fmt
        self.frames = 0  # frames that took the fast path (counted on the decode thread)
        self.refused: dict[str, str] = {}  # grade (as text) -> why it stays on the float path
        self._folder: str | None = None
        self._luts: dict[Any, str | None] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        # LUT graphs built ahead of the first frame (``warm``), handed to the first worker that needs one
        self._spares: dict[tuple, list[av.filter.Graph]] = {}

    # ------------------------------------------------------------------------------------- the LUTs
    def lut_for(self, pipeline: Any, grade: Any) -> str | None:
        """The .cube file for a clip with ``grade`` under ``pipeline`` (a GradePipeline; None or an identity
        grade: the matrix alone), or None when the grade must stay on the float path."""
        from app.color import Grade

        ungraded = pipeline is None or grade is None or pipeline.is_identity(grade)
        key: Any = None if ungraded else (id(pipeline), Grade.coerce(grade))
        with self._lock:
            if key in self._luts:
                return self._luts[key]
        try:
            path = self._bake(None if ungraded else pipeline, None if ungraded else Grade.coerce(grade))
        except OSError as exc:  # no room or no right to write the LUT: the float path needs no file
            self.refused[str(key)] = f"its LUT could not be written ({exc.strerror or exc})"
            log.warning("the export's fast path is off: %s", self.refused[str(key)])
            path = None
        with self._lock:
            self._luts[key] = path
        return path

    def _bake(self, pipeline: Any, grade: Any) -> str | None:
        if pipeline is None:
            axis = np.array([0.0, 1.0])
            r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
            rgb = np.stack([r, g, b], axis=-1).reshape(-1, 3)
            return self._write(_ycbcr_codes(rgb), 2, "matrix")
        from app.color import bake as baking

        name = str(grade.to_dict())
        source = grade.input_space or pipeline.spaces.input_space
        if baking.needs_shaper(pipeline.config, source):
            self.refused[name] = f"'{source}' is scene-linear: values beyond 1 do not fit a LUT over 0..1"
            return None
        exact = pipeline.processor(grade).getDefaultCPUProcessor()
        lattice = baking.lattice(LUT_SIZE)
        exact.applyRGB(lattice)
        graded = np.clip(lattice, 0.0, 1.0)
        error = _bake_error(exact, graded)
        if error > MAX_BAKE_ERROR:
            self.refused[name] = f"its baked LUT differs from the exact grade by {error * 255:.2f}/255"
            log.info("grade %s stays on the float path: %s", name, self.refused[name])
            return None
        return self._write(_ycbcr_codes(graded.astype(np.float64)), LUT_SIZE, f"grade{len(self._luts)}")

    def _write(self, codes: np.ndarray, size: int, stem: str) -> str:
        """Write ``codes`` ([size**3, 3] Y', Cb, Cr in 0..1 of 16 bits, OCIO lattice order: blue fastest)
        as a .cube file for lut3d (red fastest), its outputs in (R, G, B) = (Cr, Y', Cb)."""
        with self._lock:
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="aiprod-export-luts-")
            folder = self._folder
        lattice = np.stack([codes[:, 2], codes[:, 0], codes[:, 1]], axis=-1).reshape(size, size, size, 3)
        rows = lattice.transpose(2, 1, 0, 3).reshape(-1)  # [b][g][r]: red fastest
        path = os.path.join(folder, f"{stem}-{threading.get_ident()}-{len(os.listdir(folder))}.cube")
        with open(path, "wb") as handle:
            handle.write(f"LUT_3D_SIZE {size}\n".encode("ascii"))
            handle.write(_cube_rows(rows))
        return path

    # ------------------------------------------------------------------------------------ the frames
    def convert(self, item: FastFrame) -> av.VideoFrame:
        """``item``'s frame graded and converted: a new frame in the delivery's planar format, BT.709 tagged
        by the encoder, at the source's size (the renderer only sends frames of the output size)."""
        graphs = getattr(self._local, "graphs", None)
        if graphs is None:
            graphs = self._local.graphs = {}
        frame = item.frame
        placed = item.placed
        shape = (placed[2], placed[3]) if placed else item.size or (frame.width, frame.height)
        # Two graphs per thread: the source format's (-> 16-bit R'G'B') and the LUT's (its .cube file is
        # parsed when the graph is built: ~0.1 s for 65^3, so ``warm`` may build it ahead).
        key = (frame.format.name, frame.width, frame.height, frame.colorspace, frame.color_range)
        to_rgb = graphs.get(key)
        if to_rgb is None:
            chain = [*rgb_filters(frame), ("format", "pix_fmts=gbrp16le")]
            to_rgb = graphs[key] = filter_graph(frame, chain)
        lut_key = (item.lut, (frame.width, frame.height), shape)
        graded = graphs.get(lut_key)
        if graded is None:
            graded = graphs[lut_key] = self._spare(lut_key) or _lut_graph(*lut_key)
        to_rgb.push(frame)
        graded.push(to_rgb.pull())
        planes = graded.pull().planes  # G, B, R = Y', Cb, Cr (code values x 64)
        g, b, r = (np.frombuffer(p, "<u2").reshape(p.height, p.line_size // 2)[:, : p.width] for p in planes)
        if placed is not None and item.size is not None:
            g, b, r = _letterbox((g, b, r), placed, item.size)
        return _yuv_frame(g, b, r, self.fmt.planar_pix_fmt)

    def warm(
        self, pipeline: Any, grade: Any, size: tuple[int, int], shape: tuple[int, int] | None = None
    ) -> None:
        """Bake ``grade``'s LUT and build its filter graph for ``size`` sources scaled to ``shape`` (default:
        not scaled) ahead of the first frame: the render runs this on a helper thread while its preflight
        checks the media, so neither the bake nor the .cube parse delays the first frame. The first worker
        thread that converts such a frame takes the graph over."""
        lut = self.lut_for(pipeline, grade)
        if lut is None:
            return
        key = (lut, tuple(size), tuple(shape or size))
        graph = _lut_graph(*key)
        with self._lock:
            self._spares.setdefault(key, []).append(graph)

    def _spare(self, key: tuple) -> av.filter.Graph | None:
        with self._lock:
            spares = self._spares.get(key)
            return spares.pop() if spares else None

    def close(self) -> None:
        with self._lock:
            folder, self._folder = self._folder, None
            self._luts.clear()
            self._spares.clear()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _lut_graph(lut: str, size: tuple[int, int], shape: tuple[int, int]) -> av.filter.Graph:
    """16-bit R'G'B' frames of ``size`` -> ``lut3d`` with the .cube file ``lut`` -> bilinear scale to
    ``shape`` when it differs (what app.media.transform.place does)."""
    chain = [("lut3d", f"file={_escape(lut)}:interp=tetrahedral")]
    if shape != size:
        chain.append(("scale", f"w={shape[0]}:h={shape[1]}:flags=bilinear"))
    return filter_graph(av.VideoFrame(size[0], size[1], "gbrp16le"), chain)


def _ycbcr_codes(rgb: np.ndarray) -> np.ndarray:
    """R'G'B' (0..1, float64 [N, 3]) -> BT.709 limited-range 10-bit code values x 64, over 65535."""
    ycc = rgb @ RGB_TO_YCBCR_709.T
    codes = np.empty_like(ycc)
    codes[:, 0] = ycc[:, 0] * Y_SCALE_10 + Y_BLACK_10
    codes[:, 1:] = ycc[:, 1:] * C_SCALE_10 + C_ZERO_10
    return codes * (_CODE_SCALE / 65535.0)


def _cube_rows(values: np.ndarray) -> bytes:
    """``values`` (0..1, a multiple of 3) as .cube text, three per line, seven decimals: formatted by numpy
    as fixed-width digits (Python's formatting of a 65^3 LUT's 824k numbers takes ~6x longer)."""
    scaled = np.rint(np.clip(values, 0.0, 1.0) * 1e7).astype(np.int64)
    text = np.empty((scaled.size, 10), np.uint8)  # "d.ddddddd" and a space (a newline after every third)
    text[:, 0] = 48 + scaled // 10_000_000
    text[:, 1] = ord(".")
    rest = scaled % 10_000_000
    for place in range(8, 1, -1):
        text[:, place] = 48 + rest % 10
        rest //= 10
    text[:, 9] = ord(" ")
    lines = text.reshape(-1, 30)
    lines[:, 29] = ord("\n")
    return lines.tobytes()


def _bake_error(exact: Any, graded_lattice: np.ndarray) -> float:
    """Largest difference between OCIO's exact processor (clipped to 0..1) and tetrahedral interpolation
    in ``graded_lattice`` on random colours (OCIO's own Lut3D op does the interpolation)."""
    import PyOpenColorIO as ocio

    samples = np.random.default_rng(0).random((CHECK_SAMPLES, 3), dtype=np.float32)
    want = samples.copy()
    exact.applyRGB(want)
    np.clip(want, 0.0, 1.0, out=want)
    lut = ocio.Lut3DTransform(LUT_SIZE)
    lut.setInterpolation(ocio.INTERP_TETRAHEDRAL)
    lut.setData(np.ascontiguousarray(graded_lattice, dtype=np.float32).reshape(-1))
    got = samples.copy()
    ocio.Config.CreateRaw().getProcessor(lut).getDefaultCPUProcessor().applyRGB(got)
    return float(np.abs(got - want).max())


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def _letterbox(planes: Planes, placed: tuple[int, int, int, int], size: tuple[int, int]) -> Planes:
    """The scaled planes pasted at ``placed`` into black frames of ``size`` (Y' 64, Cb/Cr 512, x 64)."""
    x0, y0, w, h = placed
    width, height = size
    out = []
    for plane, black in zip(planes, (Y_BLACK_10, C_ZERO_10, C_ZERO_10), strict=True):
        full = np.full((height, width), black * _CODE_SCALE, np.uint16)
        fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
        full[fy0:fy1, fx0:fx1] = plane[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        out.append(full)
    return out[0], out[1], out[2]


def _escape(path: str) -> str:
    """A path as an FFmpeg filter option value (``:``, ``\\``, ``'`` and ``,`` escaped)."""
    out = path.replace("\\", "/") if os.name == "nt" else path
    for char in ("\\", "'", ":", ",", "[", "]", ";", "="):
        out = out.replace(char, "\\" + char)
    return out


def _yuv_frame(y16: np.ndarray, cb16: np.ndarray, cr16: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """Round 16-bit (code x 64) planes to the delivery's depth and chroma subsampling, into a new frame."""
    horizontal, vertical, bits = FORMATS[pix_fmt]
    height, width = y16.shape
    out = av.VideoFrame(width, height, pix_fmt)
    dtype = np.uint16 if bits > 8 else np.uint8
    views = [
        np.frombuffer(p, dtype).reshape(p.height, p.line_size // dtype().itemsize)[:, : p.width]
        for p in out.planes
    ]
    drop = 6 + (10 - bits)  # 16-bit samples -> the delivery's bits
    np.right_shift(y16 + np.uint16(1 << (drop - 1)), drop, out=views[0], casting="unsafe")
    # Chroma in uint16: first drop the bits the filter's sum would overflow (4 samples for 4:2:2, 8 for
    # 4:2:0; each at most 960 x 64), keeping 4 (3) fractional bits for the one rounding at the end.
    pre = {1: 0, 2: 2, 4: 3}[horizontal * vertical]
    for plane, view in zip((cb16, cr16), views[1:], strict=True):
        if horizontal == 1:  # 4:4:4
            np.right_shift(plane + np.uint16(1 << (drop - 1)), drop, out=view, casting="unsafe")
            continue
        c = plane >> np.uint16(pre)
        centre, right = c[:, 0::2], c[:, 1::2]
        total = centre << np.uint16(1)  # [1, 2, 1] centred on the even columns, the edge replicated
        total += right
        total[:, 1:] += right[:, : total.shape[1] - 1]
        total[:, 0] += centre[:, 0]
        shift = drop - pre + 2
        if vertical == 2:  # the mean of each pair of rows
            total = total[0::2] + total[1::2]
            shift += 1
        total += np.uint16(1 << (shift - 1))
        np.right_shift(total, shift, out=view, casting="unsafe")
    return out

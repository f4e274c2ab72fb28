"""Video scopes (Qt-free, numpy): luma waveform, RGB parade, vectorscope and histograms of one frame.

What the scopes measure is what the export encodes. Feed them the export's frame (``TimelineRenderer.frame``
/ ``TimelineCompositor.frame_at_float``: each clip graded by the CPU OpenColorIO processor, float32
display-referred R'G'B', before any viewer display/view transform); :func:`prepare` then clips it to 0..1
exactly as the encoder does (``app.export.yuv.to_unit_rgb``) and may sub-sample it.

Encoding, the export's own (``app.export.yuv``): BT.709, Kr = 0.2126, Kb = 0.0722, on the gamma-encoded
values (no transfer function is applied), so luma is Y' = 0.2126 R' + 0.7152 G' + 0.0722 B' and the
vectorscope plots Cb = (B' - Y') / 1.8556, Cr = (R' - Y') / 1.5748 (-0.5..0.5). Percent / IRE on the
waveform is that Y' (or a channel) times 100, i.e. 0 % = code 64 and 100 % = code 940 of the 10-bit
limited-range file the encoder writes.

Coordinates of every array returned here are image coordinates (row 0 at the top):
- waveform / parade: ``[levels, columns]`` counts; row 0 is 100 %, the last row 0 % (:func:`level_row`);
  column ``c`` gathers the frame's pixel columns ``x`` with ``x * columns // width == c``;
- vectorscope: ``[size, size]`` counts; Cb grows to the right, Cr upwards (:func:`chroma_cell`), the usual
  orientation, on which the 75 % colour bars land on :data:`BAR_TARGETS_75`;
- histogram: ``[4, bins]`` counts of R', G', B' and Y' (bin ``i`` holds ``i / bins <= v < (i + 1) / bins``,
  1.0 in the last bin); each row sums to the pixel count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.export.yuv import RGB_TO_YCBCR_709, to_unit_rgb

MODES = ("waveform", "parade", "vectorscope", "histogram")
LUMA_WEIGHTS = tuple(float(w) for w in RGB_TO_YCBCR_709[0])  # (0.2126, 0.7152, 0.0722): the export's Y'
BAR_AMPLITUDE = 0.75
BAR_COLOURS: dict[str, tuple[float, float, float]] = {
    "R": (1.0, 0.0, 0.0),
    "Mg": (1.0, 0.0, 1.0),
    "B": (0.0, 0.0, 1.0),
    "Cy": (0.0, 1.0, 1.0),
    "G": (0.0, 1.0, 0.0),
    "Yl": (1.0, 1.0, 0.0),
}
CHANNEL_NAMES = ("R", "G", "B", "Y")


def bar_targets(amplitude: float = BAR_AMPLITUDE) -> dict[str, tuple[float, float]]:
    """(Cb, Cr) of the colour-bar primaries and secondaries at ``amplitude`` (0.75: the 75 % bars)."""
    out = {}
    for name, rgb in BAR_COLOURS.items():
        _y, cb, cr = RGB_TO_YCBCR_709 @ (np.asarray(rgb, np.float64) * amplitude)
        out[name] = (float(cb), float(cr))
    return out


BAR_TARGETS_75 = bar_targets()


# ------------------------------------------------------------------------------------------- input
def prepare(frame: np.ndarray, step: int = 1) -> np.ndarray:
    """``frame`` ([H, W, 3] float or uint8 R'G'B') as the encoder sees it: float32 clipped to 0..1, keeping
    every ``step``-th row and column (``step`` 4 while playing: 1/16 of the pixels).

    Raises:
        ValueError: not an [H, W, 3+] picture, empty, or ``step`` < 1.
    """
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] < 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"a scope needs an [height, width, 3] picture, not an array of shape {array.shape}")
    if int(step) < 1:
        raise ValueError(f"the scope's sub-sampling step must be 1 or more, not {step}")
    picture = array[:: int(step), :: int(step), :3]
    return to_unit_rgb(np.ascontiguousarray(picture))


def luma(rgb: np.ndarray) -> np.ndarray:
    """Y' of prepared ``rgb`` with the export's BT.709 weights (float32 [H, W])."""
    kr, kg, kb = (np.float32(w) for w in LUMA_WEIGHTS)
    return kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]


def chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Cb, Cr) of prepared ``rgb`` with the export's BT.709 matrix (float32 [H, W] each, -0.5..0.5)."""
    m = RGB_TO_YCBCR_709.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return m[1, 0] * r + m[1, 1] * g + m[1, 2] * b, m[2, 0] * r + m[2, 1] * g + m[2, 2] * b


# ------------------------------------------------------------------------------------------ coordinates
def _nearest(unit: np.ndarray | float, steps: int) -> np.ndarray:
    """Index 0..steps-1 nearest to ``unit`` (0..1) on a scale of ``steps`` points, as int32 (halves round
    up). Inputs outside 0..1 land on the ends."""
    index = np.floor(np.asarray(unit, np.float32) * np.float32(steps - 1) + np.float32(0.5)).astype(np.int32)
    return np.clip(index, 0, steps - 1, out=index) if index.ndim else np.clip(index, 0, steps - 1)


def level_row(value: float | np.ndarray, levels: int) -> np.ndarray | int:
    """The waveform row of a level 0..1 (row 0 = 100 %, row ``levels - 1`` = 0 %)."""
    row = (levels - 1) - _nearest(value, levels)
    return int(row) if np.ndim(row) == 0 else row


def chroma_cell(cb: float | np.ndarray, cr: float | np.ndarray, size: int):  # noqa: ANN201
    """(row, column) of a chroma pair on a ``size`` x ``size`` vectorscope (Cb right, Cr up; the centre
    is neutral). Values past +-0.5 land on the edge."""
    col = _nearest(np.asarray(cb, np.float32) + np.float32(0.5), size)
    row = (size - 1) - _nearest(np.asarray(cr, np.float32) + np.float32(0.5), size)
    if np.ndim(row) == 0:
        return int(row), int(col)
    return row, col


# ----------------------------------------------------------------------------------------------- scopes
def _column_waveform(values: np.ndarray, levels: int, columns: int) -> np.ndarray:
    # Counted bottom-up (level index 0 = 0 %) and flipped once at the end: one pass less per pixel.
    width = values.shape[1]
    col_of_x = ((np.arange(width, dtype=np.int64) * columns) // width).astype(np.int32)
    flat = _nearest(values, levels)
    flat *= np.int32(columns)
    flat += col_of_x[None, :]
    counts = np.bincount(flat.ravel(), minlength=levels * columns).reshape(levels, columns)
    return np.ascontiguousarray(counts[::-1]).astype(np.uint32)


def waveform(rgb: np.ndarray, levels: int = 256, columns: int | None = None) -> np.ndarray:
    """Luma waveform of prepared ``rgb``: uint32 ``[levels, columns]`` counts (columns default: the width)."""
    columns = rgb.shape[1] if columns is None else int(columns)
    return _column_waveform(luma(rgb), int(levels), columns)


def parade(rgb: np.ndarray, levels: int = 256, columns: int | None = None) -> np.ndarray:
    """R', G', B' waveforms side by side: uint32 ``[3, levels, columns]`` (each channel its own panel)."""
    columns = rgb.shape[1] if columns is None else int(columns)
    return np.stack([_column_waveform(rgb[..., c], int(levels), columns) for c in range(3)])


def vectorscope(rgb: np.ndarray, size: int = 256) -> np.ndarray:
    """Cb/Cr density of prepared ``rgb``: uint32 ``[size, size]`` counts (see :func:`chroma_cell`)."""
    cb, cr = chroma(rgb)
    row, col = chroma_cell(cb, cr, int(size))
    row *= np.int32(size)
    row += col
    return np.bincount(row.ravel(), minlength=size * size).reshape(size, size).astype(np.uint32)


def histogram(rgb: np.ndarray, bins: int = 256) -> np.ndarray:
    """Counts per level of R', G', B' and Y': uint32 ``[4, bins]``; every row sums to the pixel count."""
    out = np.empty((4, int(bins)), np.uint32)
    for index, values in enumerate((rgb[..., 0], rgb[..., 1], rgb[..., 2], luma(rgb))):
        bucket = (values * np.float32(bins)).astype(np.int32)
        np.clip(bucket, 0, bins - 1, out=bucket)
        out[index] = np.bincount(bucket.ravel(), minlength=bins)
    return out


# ------------------------------------------------------------------------------------------ pictures
TRACE = (235, 235, 235)
PARADE_COLOURS = ((255, 80, 70), (90, 230, 90), (90, 140, 255))
HISTOGRAM_COLOURS = ((255, 80, 70), (90, 230, 90), (90, 140, 255), (225, 225, 225))


def intensity(counts: np.ndarray) -> np.ndarray:
    """Counts -> 0..1 brightness, logarithmic (a few stray pixels stay visible next to a flat area), the
    densest cell at full brightness."""
    counts = counts.astype(np.float32)
    top = float(counts.max())
    if top <= 0:
        return np.zeros_like(counts)
    return np.log1p(counts) / np.float32(np.log1p(top))


def _tint(level: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    scaled = level[..., None] * np.asarray(colour, np.float32)
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def waveform_image(counts: np.ndarray, colour: tuple[int, int, int] = TRACE) -> np.ndarray:
    """uint8 RGB ``[levels, columns, 3]`` picture of waveform counts (black where no pixel falls)."""
    return _tint(intensity(counts), colour)


def parade_image(counts: np.ndarray, gap: int = 4) -> np.ndarray:
    """The three parade panels side by side in their colours with ``gap`` black columns between."""
    levels, columns = counts.shape[1:]
    out = np.zeros((levels, 3 * columns + 2 * gap, 3), np.uint8)
    for c in range(3):
        x0 = c * (columns + gap)
        out[:, x0 : x0 + columns] = _tint(intensity(counts[c]), PARADE_COLOURS[c])
    return out


def vectorscope_image(counts: np.ndarray) -> np.ndarray:
    """uint8 RGB ``[size, size, 3]``: each cell lit in the colour its chroma stands for (at mid luma)."""
    size = counts.shape[0]
    axis = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    cb = axis[None, :]
    cr = axis[::-1, None]
    inverse = np.linalg.inv(RGB_TO_YCBCR_709).astype(np.float32)
    y = np.float32(0.6)
    hue = np.stack([inverse[i, 0] * y + inverse[i, 1] * cb + inverse[i, 2] * cr for i in range(3)], axis=-1)
    hue = 0.35 + 0.65 * np.clip(hue, 0.0, 1.0)  # faint chroma stays readable on black
    level = intensity(counts)[..., None]
    return np.clip(level * hue * 255.0 + 0.5, 0, 255).astype(np.uint8)


def histogram_image(counts: np.ndarray, height: int = 200) -> np.ndarray:
    """uint8 RGB ``[height, bins, 3]``: R', G', B' filled and added (overlaps mix), Y' as an outline."""
    bins = counts.shape[1]
    out = np.zeros((height, bins, 3), np.float32)
    top = float(counts[:, 1:-1].max()) if bins > 2 else float(counts.max())
    top = top if top > 0 else float(max(counts.max(), 1))
    rows = np.arange(height, dtype=np.float32)[:, None]
    for c in range(4):
        bar = np.minimum(counts[c].astype(np.float32) / top, 1.0) * (height - 1)
        filled = rows >= (height - 1) - bar[None, :]
        if c < 3:
            out += filled[..., None] * (np.asarray(HISTOGRAM_COLOURS[c], np.float32) * 0.55)
        else:
            edge = filled & ~np.vstack([filled[1:], np.zeros((1, bins), bool)]) | (
                filled & ~np.vstack([np.zeros((1, bins), bool), filled[:-1]])
            )
            out[edge] = HISTOGRAM_COLOURS[3]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------- one call
@dataclass(frozen=True)
class Scope:
    """One scope of one frame: its counts, its picture and what it was computed from."""

    mode: str
    counts: np.ndarray
    image: np.ndarray  # uint8 RGB [H, W, 3]
    width: int  # pixels of the prepared (sub-sampled) frame
    height: int
    step: int
    clipped: float  # share of samples the encoder clips (any channel outside 0..1 before clipping)


def compute(frame: np.ndarray, mode: str, step: int = 1, *, levels: int = 256, columns: int = 384) -> Scope:
    """The ``mode`` scope (one of :data:`MODES`) of the export frame ``frame``, sub-sampled by ``step``.

    Waveform and parade gather the columns into ``columns`` (at most the prepared width), so the picture's
    cost and size do not grow with the frame.

    Raises:
        ValueError: an unknown mode or a picture :func:`prepare` refuses.
    """
    if mode not in MODES:
        raise ValueError(f"scope mode must be one of {', '.join(MODES)}, not {mode!r}")
    raw = np.asarray(frame)
    rgb = prepare(raw, step)
    sampled = raw[:: int(step), :: int(step), :3]
    clipped = 0.0
    if sampled.dtype != np.uint8:
        clipped = float(np.mean(np.any((sampled < 0.0) | (sampled > 1.0), axis=-1)))
    width = min(int(columns), rgb.shape[1])
    if mode == "waveform":
        counts = waveform(rgb, levels, width)
        image = waveform_image(counts)
    elif mode == "parade":
        counts = parade(rgb, levels, width)
        image = parade_image(counts)
    elif mode == "vectorscope":
        counts = vectorscope(rgb, levels)
        image = vectorscope_image(counts)
    else:
        counts = histogram(rgb, levels)
        image = histogram_image(counts)
    return Scope(mode, counts, image, rgb.shape[1], rgb.shape[0], int(step), clipped)


# ------------------------------------------------------------------------------------ the export's frame
@dataclass(frozen=True)
class FrameRequest:
    """Everything the export reads of a document to render timeline frame ``frame``, read at once on the
    document's thread, so the picture can be rendered on another one (the document is not thread-safe)."""

    frame: int
    rate: float
    sample: object  # app.document.VideoSample | None
    grades: dict  # {clip id: grade dict | None} of the clips the sample shows
    color: dict  # doc.color_settings()
    sequence: object  # app.document.sequence.SequenceSettings

    @classmethod
    def read(cls, doc, frame: int) -> FrameRequest:  # noqa: ANN001 - a TimelineDocument
        from opentimelineio.opentime import RationalTime

        sample = doc.video_at(RationalTime(int(frame), doc.rate))
        grades: dict = {}
        if sample is not None:
            for clip_id in (sample.clip_id, sample.mix_clip_id):
                if clip_id:
                    try:
                        grades[clip_id] = doc.clip(clip_id).grade
                    except Exception:  # noqa: BLE001 - as TimelineCompositor.grades_for: shown ungraded
                        grades[clip_id] = None
        color, sequence = dict(doc.color_settings()), doc.sequence_settings()
        return cls(int(frame), float(doc.rate), sample, grades, color, sequence)


@dataclass(frozen=True)
class _Graded:
    grade: dict | None


class _FrozenDocument:
    """The part of a TimelineDocument the export's renderer reads, frozen at one request."""

    def __init__(self, request: FrameRequest) -> None:
        self.request = request
        self.rate = request.rate

    def video_at(self, _t: object) -> object:
        return self.request.sample

    def color_settings(self) -> dict:
        return self.request.color

    def sequence_settings(self) -> object:
        return self.request.sequence

    def clip(self, clip_id: str) -> _Graded:
        return _Graded(self.request.grades.get(clip_id))


class ExportFrameRenderer:
    """Renders :class:`FrameRequest` s with the export's own renderer (``app.export.TimelineRenderer``:
    16-bit decode, each clip's grade on the CPU OpenColorIO processor, dissolves, titles): the pixels an
    export of that frame encodes. Use it from one thread; it keeps that thread's decoders open between
    frames. Raises ColorError for a grade that cannot be applied, as the export does."""

    def __init__(self) -> None:
        self._compositor = None

    def render(self, request: FrameRequest) -> np.ndarray:
        from app.export.renderer import TimelineRenderer
        from app.media.cache import FrameCache
        from app.media.compositor import TimelineCompositor

        document = _FrozenDocument(request)
        if self._compositor is None:
            self._compositor = TimelineCompositor(document, FrameCache(max_frames=2))  # type: ignore[arg-type]
        else:
            self._compositor.doc = document  # same decoders and grade processors, the new frame's state
        renderer = TimelineRenderer(document, compositor=self._compositor)  # type: ignore[arg-type]
        return renderer.frame(request.frame)

    def close(self) -> None:
        """Close the decoders of the calling thread."""
        if self._compositor is not None:
            self._compositor.close()

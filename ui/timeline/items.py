"""Scene items: one ClipItem per clip, one DissolveItem per dissolve.

Items are kept between document changes and only re-positioned (see TimelineScene.sync), so a change to one
clip never rebuilds a hundred. Painting touches only the exposed part of a clip (thumbnails tile by tile,
waveforms column range by column range), and clips too narrow for detail draw just their body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from ui.timeline.art import ClipArt
from ui.timeline.geometry import TrackRow

TITLE_HEIGHT = 15
CLIP_CACHE_MODE = QGraphicsItem.CacheMode.DeviceCoordinateCache
EDGE_GRAB_PX = 6  # how close to a clip's edge a press grabs the edge (trim) rather than the body (move)

VIDEO_BODY = QColor(58, 96, 148)
GENERATED_BODY = QColor(104, 78, 150)
TITLE_BODY = QColor(150, 110, 60)
FADE_PEN = QColor(250, 250, 250, 200)
AUDIO_BODY = QColor(44, 112, 82)
WAVE_RGBA = (150, 230, 180, 230)
SELECTED_PEN = QColor(255, 190, 60)
TITLE_TEXT = QColor(236, 238, 242)
DISABLED_VEIL = QColor(16, 16, 18, 165)
LOCKED_HATCH = QColor(255, 255, 255, 60)


def speed_badge(speed: float) -> str:
    """A retimed clip's speed as the timeline and the inspector show it: "150%", "33.3%"."""
    percent = speed * 100
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 0.05 else f"{percent:.1f}%"


@dataclass(frozen=True)
class ClipLook:
    """What a clip item needs to paint itself; rebuilt from the document on every change (cheap)."""

    clip_id: str
    kind: str  # "video" / "audio"
    name: str
    start: int  # timeline frames
    duration: int
    source_start: int  # timeline-rate frames into the media
    path: str
    media_fps: float | None  # the file's frame rate, to turn timeline frames into file frames
    media_seconds: float | None  # the file's length, to map waveform buckets to time
    rate: float  # timeline rate
    generated: bool
    enabled: bool
    link_id: str | None
    gain_db: float = 0.0  # sound: shown beside the name
    fade_in: int = 0  # sound fades, frames: drawn as ramps
    fade_out: int = 0
    is_title: bool = False  # a title clip: its own colour, no filmstrip
    clip_enabled: bool = True  # False: a disabled clip (plays as nothing), drawn dimmed
    locked: bool = False  # on a locked track: drawn hatched
    speed: float = 1.0  # a retimed clip (OTIO LinearTimeWarp): "150%" beside the name, pictures at speed


class ClipItem(QGraphicsItem):
    """A clip: a rounded body, its name, and a filmstrip (video) or waveform (audio) painted lazily."""

    def __init__(self, look: ClipLook, art: ClipArt | None) -> None:
        super().__init__()
        self.look = look
        self.row: TrackRow | None = None  # set by the view on every sync
        self._art = art
        self._width = 1.0
        self._height = 1.0
        self._ppf = 1.0
        self.selected = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # the view runs every gesture itself
        # Scrolling repaints clips at the same size: a device-space cache turns that into a blit. Zooming
        # changes the size and so re-renders, which is what it has to do anyway.
        self.setCacheMode(CLIP_CACHE_MODE)

    @property
    def clip_id(self) -> str:
        return self.look.clip_id

    def place(self, look: ClipLook, x: float, y: float, width: float, height: float, ppf: float) -> None:
        if (width, height) != (self._width, self._height):
            self.prepareGeometryChange()
        changed = look != self.look or (width, height, ppf) != (self._width, self._height, self._ppf)
        self.look, self._width, self._height, self._ppf = look, max(1.0, width), height, ppf
        self.setPos(x, y)
        if changed:
            self.update()

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.setZValue(2 if selected else 1)
            self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF(0, 0, self._width, self._height)

    def edge_at(self, local_x: float) -> str | None:
        """ "in"/"out" when local_x is on a trim handle. Narrow clips keep a middle third for moving."""
        grab = min(EDGE_GRAB_PX, self._width / 3)
        if local_x <= grab:
            return "in"
        if local_x >= self._width - grab:
            return "out"
        return None

    def fade_handles(self) -> dict[str, QPointF]:
        """Sound clips: where the fade-in and fade-out handles sit (local coordinates): on the clip's top edge
        at the end of each ramp, kept clear of the trim edges."""
        if self.look.kind != "audio" or self.look.is_title or self._width < 4 * EDGE_GRAB_PX:
            return {}
        top = TITLE_HEIGHT + 1.0
        inset = EDGE_GRAB_PX + 3.0
        left = min(max(inset, self.look.fade_in * self._ppf), self._width / 2 - 1)
        right = self._width - min(max(inset, self.look.fade_out * self._ppf), self._width / 2 - 1)
        return {"in": QPointF(left, top), "out": QPointF(right, top)}

    def fade_handle_at(self, local: QPointF) -> str | None:
        """ "in"/"out" when ``local`` is on a fade handle (within 5 px)."""
        for side, spot in self.fade_handles().items():
            if abs(local.x() - spot.x()) <= 5 and abs(local.y() - spot.y()) <= 5:
                return side
        return None

    # ---------------------------------------------------------------------------------------------- paint
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        rect = self.boundingRect()
        exposed = option.exposedRect.intersected(rect)
        look = self.look
        base = AUDIO_BODY if look.kind == "audio" else (GENERATED_BODY if look.generated else VIDEO_BODY)
        if look.is_title:
            base = TITLE_BODY
        if not look.enabled:
            base = QColor(base).darker(170)
        painter.setPen(QPen(base.lighter(140), 1))
        painter.setBrush(base)
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
        if self._width >= 12:
            content = QRectF(1, TITLE_HEIGHT, self._width - 2, self._height - TITLE_HEIGHT - 1)
            if look.is_title:
                pass  # the text is the name; no filmstrip of a file
            elif look.kind == "video":
                self._paint_filmstrip(painter, content, exposed)
            else:
                self._paint_waveform(painter, content, exposed)
                self._paint_fades(painter, content)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(FADE_PEN)
                for spot in self.fade_handles().values():
                    painter.drawRect(QRectF(spot.x() - 3, spot.y() - 3, 6, 6))
            self._paint_title(painter, rect)
        if not look.clip_enabled:  # disabled: the whole clip, filmstrip and waveform included, dimmed
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(DISABLED_VEIL)
            painter.drawRoundedRect(rect, 3, 3)
        if look.locked:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(LOCKED_HATCH, Qt.BrushStyle.BDiagPattern))
            painter.drawRect(rect)
        if self.selected:
            painter.setPen(QPen(SELECTED_PEN, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 3, 3)

    def _paint_fades(self, painter: QPainter, content: QRectF) -> None:
        """The clip's sound fades as ramps from silence (bottom) to its level (top)."""
        look = self.look
        if not (look.fade_in or look.fade_out):
            return
        painter.save()
        painter.setPen(QPen(FADE_PEN, 1.2))
        if look.fade_in:
            x = content.left() + min(look.fade_in * self._ppf, content.width())
            painter.drawLine(QPointF(content.left(), content.bottom()), QPointF(x, content.top()))
        if look.fade_out:
            x = content.right() - min(look.fade_out * self._ppf, content.width())
            painter.drawLine(QPointF(x, content.top()), QPointF(content.right(), content.bottom()))
        painter.restore()

    def _paint_title(self, painter: QPainter, rect: QRectF) -> None:
        font = QFont(painter.font())
        font.setPixelSize(11)
        painter.setFont(font)
        painter.setPen(TITLE_TEXT)
        text_rect = QRectF(5, 1, max(0.0, rect.width() - 8), TITLE_HEIGHT - 1)
        name = self.look.name
        if self.look.speed != 1.0:
            name = f"{speed_badge(self.look.speed)}  {name}"  # first: a short retimed clip still shows it
        if self.look.kind == "audio" and self.look.gain_db:
            name = f"{name}  {self.look.gain_db:+.1f} dB"
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)

    def _file_frame(self, timeline_frame: float) -> int:
        """The file frame shown `timeline_frame` frames into the media (the contract's floor mapping)."""
        fps = self.look.media_fps or self.look.rate
        seconds = timeline_frame / self.look.rate
        return max(0, int(np.floor(seconds * fps + 1e-9)))

    def _paint_filmstrip(self, painter: QPainter, content: QRectF, exposed: QRectF) -> None:
        if self._art is None or content.height() < 8:
            return
        tile_h = int(content.height())
        tile_w = max(8.0, tile_h * 16 / 9)
        first = max(0, int((exposed.left() - content.left()) // tile_w))
        last = int((exposed.right() - content.left()) // tile_w)
        # Tiles show frames on a power-of-two grid so that zooming in and out reuses cached thumbnails.
        frames_per_tile = tile_w / self._ppf
        grid = 1
        while grid < frames_per_tile:
            grid *= 2
        painter.save()
        painter.setClipRect(content)
        for tile in range(first, last + 1):
            x = content.left() + tile * tile_w
            if x >= content.right():
                break
            wanted = self.look.source_start + tile * frames_per_tile * self.look.speed
            index = self._file_frame(round(wanted / grid) * grid)
            image = self._art.thumbnail(self.look.path, index, tile_h, self)
            if image is None:
                continue
            target = QRectF(x, content.top(), image.width() * tile_h / max(1, image.height()), tile_h)
            painter.drawImage(target, image)
        painter.restore()

    def _paint_waveform(self, painter: QPainter, content: QRectF, exposed: QRectF) -> None:
        if self._art is None or content.height() < 6:
            return
        seconds_total = self.look.media_seconds
        if not seconds_total or seconds_total <= 0:
            return
        peaks = self._art.waveform(self.look.path, seconds_total, self)
        if peaks is None or len(peaks) == 0:
            return
        left = int(max(content.left(), np.floor(exposed.left())))
        right = int(min(content.right(), np.ceil(exposed.right())))
        columns, rows = right - left, int(content.height())
        if columns <= 0 or rows <= 0:
            return
        # Each pixel column covers a range of buckets; its extent is the min/max over that range. The
        # picture is built with numpy in one go (a path of thousands of points costs far more in Python).
        buckets_per_second = len(peaks) / seconds_total
        xs = left + np.arange(columns + 1, dtype=np.float64)
        offsets = (xs - content.left()) / self._ppf * self.look.speed
        seconds = (self.look.source_start + offsets) / self.look.rate
        idx = np.clip((seconds * buckets_per_second).astype(np.int64), 0, len(peaks) - 1)
        lo = np.minimum.reduceat(peaks[:, 0], idx)[:-1]
        hi = np.maximum.reduceat(peaks[:, 1], idx)[:-1]
        half = rows / 2
        top = np.floor(half - np.clip(hi, -1, 1) * (half - 1))
        bottom = np.ceil(half - np.clip(lo, -1, 1) * (half - 1))
        ys = np.arange(rows, dtype=np.float64)[:, None]
        inside = (ys >= top[None, :]) & (ys <= bottom[None, :])
        pixels = np.zeros((rows, columns, 4), dtype=np.uint8)
        pixels[inside] = WAVE_RGBA
        image = QImage(pixels.data, columns, rows, columns * 4, QImage.Format.Format_RGBA8888)
        painter.drawImage(QPointF(left, content.top()), image)


class DissolveItem(QGraphicsItem):
    """A dissolve: a crossed box centred on the cut, over the two clips (editors' convention).

    A click selects it (drawn in the selection colour); Delete then removes it.
    """

    def __init__(self, transition_id: str) -> None:
        super().__init__()
        self.transition_id = transition_id
        self.cut = 0  # frames; set by the view on every sync
        self.length = 0
        self.row: TrackRow | None = None
        self._rect = QRectF(0, 0, 1, 1)
        self.selected = False
        self.setZValue(5)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.update()

    def place(self, rect: QRectF) -> None:
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(rect)
            self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        r = self._rect
        if self.selected:  # the clips' selection colour: Delete removes what is drawn this way
            painter.setPen(QPen(SELECTED_PEN, 2))
            painter.setBrush(QBrush(QColor(120, 90, 20, 190)))
        else:
            painter.setPen(QPen(QColor(250, 250, 250), 1.2))
            painter.setBrush(QBrush(QColor(20, 20, 24, 150)))
        painter.drawRect(r)
        painter.drawLine(r.topLeft(), r.bottomRight())
        painter.drawLine(r.bottomLeft(), r.topRight())

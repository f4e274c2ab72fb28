"""Simple titles: text in a font, size and colour, at a position, on an optional box, fading in and out.

Rendered here (Pillow's FreeType, a bundled or system DejaVu font), not by Qt, so the viewer and the export
draw the same pixels. A title is a picture with alpha over whatever the tracks below show. Qt-free.

Sizes are in pixels of a 1080-line frame and scale with the sequence height, so a title keeps its look
when the sequence size changes. ``x``/``y`` place the text block's centre as fractions of the frame.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from app.errors import EditError
from app.package_data import resources_dir

# Font name -> file (DejaVu ships with most Linux systems; CI installs fonts-dejavu-core).
FONTS = {
    "DejaVu Sans": "DejaVuSans.ttf",
    "DejaVu Sans Bold": "DejaVuSans-Bold.ttf",
    "DejaVu Serif": "DejaVuSerif.ttf",
    "DejaVu Sans Mono": "DejaVuSansMono.ttf",
}
_FONT_DIRS = (
    resources_dir() / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
MAX_TEXT = 2000
MIN_SIZE, MAX_SIZE = 4, 600


@dataclass(frozen=True)
class TitleSpec:
    text: str = "Title"
    font: str = "DejaVu Sans"
    size: int = 72  # pixels on a 1080-line frame
    color: str = "#ffffff"
    x: float = 0.5
    y: float = 0.5
    box: bool = False
    box_color: str = "#000000"
    box_opacity: float = 0.6
    fade_in: float = 0.0  # seconds
    fade_out: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise EditError("A title needs some text.")
        if len(self.text) > MAX_TEXT:
            raise EditError(f"A title holds at most {MAX_TEXT} characters ({len(self.text)} given).")
        if self.font not in FONTS:
            raise EditError(f"Unknown title font {self.font!r}; choose one of {', '.join(FONTS)}.")
        if not isinstance(self.size, int) or not MIN_SIZE <= self.size <= MAX_SIZE:
            raise EditError(f"A title's size must be {MIN_SIZE} to {MAX_SIZE} pixels (asked: {self.size!r}).")
        for name in ("color", "box_color"):
            try:
                ImageColor.getrgb(getattr(self, name))
            except (ValueError, AttributeError, TypeError):
                raise EditError(
                    f"The title's {name.replace('_', ' ')} {getattr(self, name)!r} is not a colour "
                    "(use #rrggbb or a name)."
                ) from None
        for name in ("x", "y", "box_opacity"):
            value = getattr(self, name)
            if not _finite(value) or not 0.0 <= value <= 1.0:
                raise EditError(
                    f"The title's {name.replace('_', ' ')} must be from 0 to 1 (asked: {value!r})."
                )
        for name in ("fade_in", "fade_out"):
            value = getattr(self, name)
            if not _finite(value) or not 0.0 <= value <= 60.0:
                raise EditError(
                    f"The title's {name.replace('_', ' ')} must be 0 to 60 seconds (asked: {value!r})."
                )

    def label(self) -> str:
        first = self.text.strip().splitlines()[0]
        return first if len(first) <= 40 else first[:39] + "…"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TitleSpec:
        if isinstance(data, TitleSpec):
            return data
        if not hasattr(data, "get"):
            raise EditError("A title is not a table of text, font, size, colours and position.")
        try:
            values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            if "size" in values:
                values["size"] = int(values["size"])
            for key in ("x", "y", "box_opacity", "fade_in", "fade_out"):
                if key in values:
                    values[key] = float(values[key])
            if "box" in values:
                values["box"] = bool(values["box"])
        except (TypeError, ValueError) as exc:
            raise EditError(f"A title holds a value of the wrong kind: {exc}") from None
        return cls(**values)


def font_path(name: str) -> Path | None:
    """The font file for ``name`` if this machine has it."""
    filename = FONTS.get(name)
    if filename is None:
        return None
    for folder in _FONT_DIRS:
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    return None


def _font(name: str, pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path(name)
    if path is not None:
        return ImageFont.truetype(str(path), pixels)
    # No DejaVu here: Pillow's built-in font (the same on every machine), so viewer and export still agree.
    return ImageFont.load_default(pixels)


@functools.lru_cache(maxsize=16)
def _layer(spec_json: str, width: int, height: int) -> np.ndarray:
    """The title without fading: float32 [H, W, 4] straight (not premultiplied) RGBA."""
    spec = TitleSpec.from_dict(json.loads(spec_json))
    scale = height / 1080.0
    font = _font(spec.font, max(1, round(spec.size * scale)))
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    cx, cy = spec.x * width, spec.y * height
    left, top, right, bottom = draw.multiline_textbbox(
        (cx, cy), spec.text, font=font, anchor="mm", align="center"
    )
    if spec.box:
        pad = round(0.3 * spec.size * scale)
        r, g, b = ImageColor.getrgb(spec.box_color)[:3]
        draw.rectangle(
            (left - pad, top - pad, right + pad, bottom + pad), fill=(r, g, b, round(255 * spec.box_opacity))
        )
    r, g, b = ImageColor.getrgb(spec.color)[:3]
    text = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(text).multiline_text(
        (cx, cy), spec.text, font=font, fill=(r, g, b, 255), anchor="mm", align="center"
    )
    image.alpha_composite(text)
    layer = np.asarray(image, np.float32) * np.float32(1 / 255)
    layer.setflags(write=False)
    return layer


@functools.lru_cache(maxsize=16)
def _extent(spec_json: str, width: int, height: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the part of the frame the title touches."""
    alpha = _layer(spec_json, width, height)[..., 3]
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return 0, 0, 0, 0
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def render_title(
    title: dict | TitleSpec, width: int, height: int, seconds: float, length: float
) -> np.ndarray:
    """The title at ``seconds`` into a clip of ``length`` seconds: float32 [H, W, 4] RGBA (straight alpha,
    the fades applied to alpha)."""
    spec = TitleSpec.from_dict(title)
    layer = _layer(json.dumps(spec.to_dict(), sort_keys=True), width, height)
    fade = fade_weight(spec, seconds, length)
    if fade >= 1.0:
        return layer
    out = layer.copy()
    out[..., 3] *= np.float32(fade)
    return out


def fade_weight(spec: TitleSpec, seconds: float, length: float) -> float:
    """0..1: the title's opacity at ``seconds`` into its clip (linear fades)."""
    weight = 1.0
    if spec.fade_in > 0:
        weight = min(weight, max(0.0, seconds / spec.fade_in))
    if spec.fade_out > 0:
        weight = min(weight, max(0.0, (length - seconds) / spec.fade_out))
    return min(weight, 1.0)


def composite(picture: np.ndarray, overlays: tuple, width: int, height: int) -> np.ndarray:
    """``picture`` (uint8 or float32 [H, W, 3]) with each (title, seconds, length) drawn over it. Only the
    part of the frame a title touches is blended (a lower third costs a lower third, not a whole frame)."""
    if not overlays:
        return picture
    integer = picture.dtype == np.uint8
    out = picture.copy() if integer else picture.astype(np.float32, copy=True)
    for title, seconds, length in overlays:
        spec = TitleSpec.from_dict(title)
        key = json.dumps(spec.to_dict(), sort_keys=True)
        y0, y1, x0, x1 = _extent(key, width, height)
        fade = fade_weight(spec, seconds, length)
        if y1 <= y0 or fade <= 0.0:
            continue
        layer = _layer(key, width, height)[y0:y1, x0:x1]
        alpha = layer[..., 3:4] * np.float32(fade)
        region = out[y0:y1, x0:x1].astype(np.float32)
        if integer:
            region *= np.float32(1 / 255)
        blended = region * (1.0 - alpha) + layer[..., :3] * alpha
        if integer:
            out[y0:y1, x0:x1] = np.clip(blended * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:
            out[y0:y1, x0:x1] = blended
    return out


def coverage(overlays: tuple, width: int, height: int) -> np.ndarray:
    """float32 [H, W]: the combined alpha of the titles (for exports with an alpha channel)."""
    out = np.zeros((height, width), np.float32)
    for title, seconds, length in overlays:
        alpha = render_title(title, width, height, seconds, length)[..., 3]
        out = out + alpha * (1.0 - out)
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

"""Inpainting masks (Qt-free): content-addressed mask files and pure-numpy painting.

store = MaskStore(session.masks_dir)
mask = paint_brush(new_mask(768, 512), x=100, y=80, radius=24, feather=8)
doc.set_clip_mask(clip_id, {"id": store.save(mask), "in": 0, "out": 49})
"""

from app.masks.paint import (
    clear,
    invert,
    is_empty,
    new_mask,
    paint_brush,
    paint_ellipse,
    paint_rect,
    paint_stroke,
)
from app.masks.store import MaskStore, mask_id_of

__all__ = [
    "MaskStore",
    "clear",
    "invert",
    "is_empty",
    "mask_id_of",
    "new_mask",
    "paint_brush",
    "paint_ellipse",
    "paint_rect",
    "paint_stroke",
]

"""Mask files of a project: immutable, content-addressed one-channel PNGs in `masks/<sha1>.png`.

A mask never changes once written; editing a mask writes a new file and the document only swaps which id a
clip points at. So undo needs no copies of pixels, the same mask painted twice is stored once, and a mask
id names exactly one picture forever (a renderer or a take can trust it). The id is the SHA-1 of the
pixels (with their size), not of the PNG bytes, so it does not depend on the PNG encoder's version; `load`
checks it, which turns a silently damaged file into a clear error.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

import numpy as np

from app.errors import MaskError, ProjectError

MASK_SUFFIX = ".png"
_ID = re.compile(r"^[0-9a-f]{40}$")


def mask_id_of(mask: np.ndarray) -> str:
    """The content id of a mask: SHA-1 over its size and its pixels."""
    mask = _checked(mask)
    digest = hashlib.sha1(f"{mask.shape[1]}x{mask.shape[0]}:".encode())
    digest.update(np.ascontiguousarray(mask).tobytes())
    return digest.hexdigest()


def _checked(mask: np.ndarray) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim != 2 or array.dtype != np.uint8 or array.size == 0:
        raise MaskError(
            f"a mask must be a one-channel 8-bit image, not an array of shape {array.shape} ({array.dtype})"
        )
    return array


class MaskStore:
    """The masks of one project folder (`ProjectSession.masks_dir`)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def path(self, mask_id: str) -> Path:
        if not isinstance(mask_id, str) or not _ID.match(mask_id):
            # Also keeps a hand-edited project from pointing a mask id outside the folder.
            raise MaskError(f"{mask_id!r} is not a mask id; repaint the mask")
        return self.folder / f"{mask_id}{MASK_SUFFIX}"

    def exists(self, mask_id: str) -> bool:
        try:
            return self.path(mask_id).is_file()
        except MaskError:
            return False

    def save(self, mask: np.ndarray) -> str:
        """Store `mask` (uint8 HxW; 0 keep, 255 regenerate) and return its id. Saving the same pixels again
        writes nothing. The file appears whole or not at all (temporary file, then rename)."""
        from PIL import Image

        from app.project.atomic import atomic_write_bytes

        mask = _checked(mask)
        mask_id = mask_id_of(mask)
        path = self.path(mask_id)
        if path.is_file():
            return mask_id
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(mask), mode="L").save(buffer, format="PNG")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, buffer.getvalue(), what="the mask")
        except OSError as exc:
            message = f"cannot create the mask folder {self.folder} ({exc.strerror}); check it"
            raise MaskError(message) from exc
        except ProjectError as exc:
            raise MaskError(str(exc)) from exc
        return mask_id

    def load(self, mask_id: str) -> np.ndarray:
        """The mask's pixels as a new uint8 HxW array; MaskError when the file is missing or damaged."""
        from PIL import Image, UnidentifiedImageError

        path = self.path(mask_id)
        if not path.is_file():
            raise MaskError(f"the mask file {path.name} is missing from {self.folder}; paint the mask again")
        try:
            with Image.open(path) as image:
                if image.mode != "L":
                    raise MaskError(f"the mask file {path.name} is not a one-channel image; paint it again")
                mask = np.array(image, dtype=np.uint8)
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
            raise MaskError(f"the mask file {path.name} is damaged ({exc}); paint the mask again") from exc
        if mask_id_of(mask) != mask_id:
            raise MaskError(f"the mask file {path.name} was changed or damaged on disk; paint the mask again")
        return mask

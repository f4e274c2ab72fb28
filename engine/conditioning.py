"""A start image prepared the way Lightricks' pipelines prepare it (ltx-pipelines `load_image_conditioning`).

The image is first passed through one H.264 frame at the model's CRF (33 for LTX-2.0/2.3, 18 from 2.4 on:
`ModelSpec.default_image_crf`), because the models were trained on compressed video and a pristine still
conditions them differently; then it is resized bilinearly to cover the frame (aspect kept), centre-cropped
and scaled to -1..1.
"""

from __future__ import annotations

import io
import logging
import math

import numpy as np
import torch

log = logging.getLogger(__name__)


def h264_round_trip(image: np.ndarray, crf: int) -> np.ndarray:
    """[H, W, 3] uint8 -> the same frame after one libx264 encode at `crf` (preset veryfast, yuv420p) and
    decode; odd sizes lose their last row/column, as in the reference. Unchanged when `crf` is 0 or no H.264
    encoder is available (logged)."""
    if not crf:
        return image
    import av

    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    image = np.ascontiguousarray(image[:height, :width])
    buffer = io.BytesIO()
    try:
        with av.open(buffer, "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=1, options={"crf": str(crf), "preset": "veryfast"})
            stream.height, stream.width = height, width
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            container.mux(stream.encode(frame))
            container.mux(stream.encode())
        with av.open(io.BytesIO(buffer.getvalue())) as container:
            decoded = next(container.decode(video=0))
            return decoded.to_ndarray(format="rgb24")
    except (av.FFmpegError, ValueError, StopIteration) as exc:
        log.warning("start image not re-compressed (no usable H.264 encoder: %s); used as it is", exc)
        return image


def resize_and_center_crop(image: np.ndarray, width: int, height: int) -> torch.Tensor:
    """[H, W, 3] uint8 -> [1, 3, 1, height, width] float 0..255: bilinear resize covering the frame (sizes
    rounded up), then the centre crop."""
    tensor = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)[None]
    src_h, src_w = tensor.shape[-2:]
    scale = max(height / src_h, width / src_w)
    new_h, new_w = math.ceil(src_h * scale), math.ceil(src_w * scale)
    tensor = torch.nn.functional.interpolate(
        tensor, size=(new_h, new_w), mode="bilinear", align_corners=False
    )
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return tensor[:, :, None, top : top + height, left : left + width]


def start_image_pixels(image: np.ndarray, width: int, height: int, crf: int) -> torch.Tensor:
    """The start frame [1, 3, 1, height, width] in -1..1, ready for the video VAE's encoder."""
    return resize_and_center_crop(h264_round_trip(image, crf), width, height) / 127.5 - 1.0


def clip_pixels(frames: np.ndarray, width: int, height: int) -> torch.Tensor:
    """A clip's frames [K, H, W, 3] float 0..1 -> [1, 3, K, height, width] in -1..1 for the video VAE's
    encoder: no compression round trip (they are already video), resized only when the size differs."""
    video = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).permute(3, 0, 1, 2)  # [3,K,H,W]
    if video.shape[-2:] != (height, width):
        video = torch.stack(
            [resize_and_center_crop(frame.permute(1, 2, 0).numpy() * 255.0, width, height)[0, :, 0] / 255.0
             for frame in video.unbind(1)],
            dim=1,
        )
    return video[None] * 2.0 - 1.0

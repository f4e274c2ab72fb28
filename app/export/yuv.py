"""Explicit BT.709 R'G'B' <-> Y'CbCr conversion with limited-range 10-bit quantisation.

We never let FFmpeg/libswscale convert RGB to YUV: its implicit reformat uses BT.601
coefficients even when the stream is tagged BT.709, which shifts hues (most visibly reds
and greens). Instead the planes are built here and handed to the encoder as-is.

Conventions
-----------
* Input is display-referred, non-linear (gamma-encoded) R'G'B' in 0..1 — the values
  the model outputs. No transfer function is applied; values are clipped to 0..1.
* Matrix: ITU-R BT.709-6 item 3.2/3.3, Kr = 0.2126, Kb = 0.0722::

      Y' = 0.2126 R' + 0.7152 G' + 0.0722 B'
      Cb = (B' - Y') / 1.8556
      Cr = (R' - Y') / 1.5748

* Quantisation: limited ("tv"/"mpeg") range, 10 bit: Y = 64 + 876·Y', C = 512 + 896·C,
  rounded to nearest and clipped to Y 64..940, C 64..960. 8 bit (H.264 High) is the same scaled
  by 1/4: Y = 16 + 219·Y', C = 128 + 224·C, clipped to Y 16..235, C 16..240.
* Alpha (ProRes 4444): full range, 0..1 -> 0..1023 (10 bit), straight (not premultiplied).
* Chroma siting (documented choice): horizontally **co-sited** with the even luma samples
  (BT.709 / SMPTE 274M 4:2:2, HEVC ``chroma_sample_loc_type`` 0 "left"), decimated with a
  [1, 2, 1]/4 filter centred on the even samples (edges replicated). For 4:2:0, chroma is
  sited vertically **between** the two luma rows and produced by averaging each pair of
  rows. The inverse (:func:`yuv_planes_to_rgb`) interpolates linearly with the same siting.
"""

from __future__ import annotations

import numpy as np

KR = 0.2126
KB = 0.0722
KG = 1.0 - KR - KB
CB_DIV = 2.0 * (1.0 - KB)  # 1.8556
CR_DIV = 2.0 * (1.0 - KR)  # 1.5748

#: Rows give Y', Cb, Cr from R', G', B' (BT.709).
RGB_TO_YCBCR_709 = np.array(
    [
        [KR, KG, KB],
        [-KR / CB_DIV, -KG / CB_DIV, 0.5],
        [0.5, -KG / CR_DIV, -KB / CR_DIV],
    ],
    dtype=np.float64,
)
#: Rows give R', G', B' from Y', Cb, Cr (BT.709).
YCBCR_TO_RGB_709 = np.linalg.inv(RGB_TO_YCBCR_709)

Y_BLACK_10 = 64
Y_WHITE_10 = 940
C_ZERO_10 = 512
C_MIN_10 = 64
C_MAX_10 = 960
Y_SCALE_10 = Y_WHITE_10 - Y_BLACK_10  # 876
C_SCALE_10 = 896


def to_unit_rgb(frame: np.ndarray) -> np.ndarray:
    """Return ``frame`` ([H, W, 3] uint8 or float) as float32 R'G'B' clipped to 0..1."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.clip(frame.astype(np.float32, copy=False), 0.0, 1.0)


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.709 matrix: [H, W, 3] R'G'B' (0..1) -> float32 Y' (0..1), Cb, Cr (-0.5..0.5)."""
    m = RGB_TO_YCBCR_709.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = m[0, 0] * r + m[0, 1] * g + m[0, 2] * b
    cb = m[1, 0] * r + m[1, 1] * g + m[1, 2] * b
    cr = m[2, 0] * r + m[2, 1] * g + m[2, 2] * b
    return y, cb, cr


def subsample_chroma(plane: np.ndarray, horizontal: int, vertical: int) -> np.ndarray:
    """Decimate a float chroma plane [H, W] by (horizontal, vertical) in {1, 2}.

    Horizontal: [1, 2, 1]/4 centred on even columns (co-sited). Vertical: mean of row pairs
    (sited between rows). Width/height must be even where decimated.
    """
    out = plane
    if horizontal == 2:
        p = np.pad(out, ((0, 0), (1, 1)), mode="edge")
        w = out.shape[1]
        out = (p[:, 0:w:2] + 2.0 * p[:, 1 : w + 1 : 2] + p[:, 2 : w + 2 : 2]) * 0.25
    elif horizontal != 1:
        raise ValueError(f"unsupported horizontal chroma factor {horizontal}")
    if vertical == 2:
        out = (out[0::2, :] + out[1::2, :]) * 0.5
    elif vertical != 1:
        raise ValueError(f"unsupported vertical chroma factor {vertical}")
    return out


def _shift(bits: int) -> int:
    if bits not in (8, 10):
        raise ValueError(f"unsupported bit depth {bits}")
    return 10 - bits


def _sample_type(bits: int) -> type:
    return np.uint8 if bits == 8 else np.uint16


def quantise_luma(y: np.ndarray, bits: int = 10) -> np.ndarray:
    scale = float(1 << _shift(bits))
    q = np.rint(y * (Y_SCALE_10 / scale) + Y_BLACK_10 / scale)
    return np.clip(q, Y_BLACK_10 / scale, Y_WHITE_10 / scale).astype(_sample_type(bits))


def quantise_chroma(c: np.ndarray, bits: int = 10) -> np.ndarray:
    scale = float(1 << _shift(bits))
    q = np.rint(c * (C_SCALE_10 / scale) + C_ZERO_10 / scale)
    return np.clip(q, C_MIN_10 / scale, C_MAX_10 / scale).astype(_sample_type(bits))


def quantise_alpha(a: np.ndarray, bits: int = 10) -> np.ndarray:
    top = (1 << bits) - 1
    return np.clip(np.rint(a * top), 0, top).astype(_sample_type(bits))


def rgb_to_yuv_planes(
    frame: np.ndarray, chroma_subsampling: tuple[int, int], bits: int = 10
) -> tuple[np.ndarray, ...]:
    """[H, W, 3|4] uint8/float R'G'B'(A) -> limited-range planes (Y, Cb, Cr[, A]).

    ``bits`` 10 gives uint16 samples, 8 gives uint8. Y (and A) have shape [H, W]; Cb/Cr have shape
    [H / vertical, W / horizontal]. A fourth input channel becomes a full-range alpha plane.
    """
    y, cb, cr = rgb_to_ycbcr(to_unit_rgb(frame[..., :3]))
    h, v = chroma_subsampling
    planes = (
        quantise_luma(y, bits),
        quantise_chroma(subsample_chroma(cb, h, v), bits),
        quantise_chroma(subsample_chroma(cr, h, v), bits),
    )
    if frame.shape[-1] == 4:
        planes += (quantise_alpha(to_unit_rgb(frame[..., 3]), bits),)
    return planes


def _upsample_horizontal_cosited(c: np.ndarray) -> np.ndarray:
    out = np.empty((c.shape[0], c.shape[1] * 2), dtype=np.float32)
    out[:, 0::2] = c
    right = np.concatenate([c[:, 1:], c[:, -1:]], axis=1)
    out[:, 1::2] = (c + right) * 0.5
    return out


def _upsample_vertical_centred(c: np.ndarray) -> np.ndarray:
    above = np.concatenate([c[:1], c[:-1]], axis=0)
    below = np.concatenate([c[1:], c[-1:]], axis=0)
    out = np.empty((c.shape[0] * 2, c.shape[1]), dtype=np.float32)
    out[0::2] = 0.75 * c + 0.25 * above
    out[1::2] = 0.75 * c + 0.25 * below
    return out


def yuv_planes_to_rgb(
    y: np.ndarray, cb: np.ndarray, cr: np.ndarray, chroma_subsampling: tuple[int, int], bits: int = 10
) -> np.ndarray:
    """Inverse of :func:`rgb_to_yuv_planes`: limited planes -> float32 [H, W, 3] 0..1.

    Useful for previews of decoded files without going through libswscale's BT.601 default.
    """
    scale = float(1 << _shift(bits))
    yf = (y.astype(np.float32) * scale - Y_BLACK_10) / Y_SCALE_10
    cbf = (cb.astype(np.float32) * scale - C_ZERO_10) / C_SCALE_10
    crf = (cr.astype(np.float32) * scale - C_ZERO_10) / C_SCALE_10
    h, v = chroma_subsampling
    if h == 2:
        cbf, crf = _upsample_horizontal_cosited(cbf), _upsample_horizontal_cosited(crf)
    if v == 2:
        cbf, crf = _upsample_vertical_centred(cbf), _upsample_vertical_centred(crf)
    m = YCBCR_TO_RGB_709.astype(np.float32)
    rgb = np.stack([m[i, 0] * yf + m[i, 1] * cbf + m[i, 2] * crf for i in range(3)], axis=-1)
    return np.clip(rgb, 0.0, 1.0)

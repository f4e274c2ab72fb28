"""The LTX-2.5 duration head (`model_patches/*duration-head*.safetensors`): a shot length from the prompt.

A small regression head on the text connectors' outputs predicts log-seconds; it returns seconds. The
module is diffusers' `LTX2DurationHead`; the file stores ltx-core's layout (`duration_head.*`, the pooler as
`nn.MultiheadAttention` with a fused `in_proj`). Sizes come from the file's `config` (`transformer`
cross-attention widths and the `duration_head` section), with ltx-core's defaults for absent keys.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoint import SafetensorsFile, read_official_config
from engine.errors import CheckpointError

PREFIX = "duration_head."
# ltx-pipelines' DurationPredictor bounds.
MIN_SECONDS = 1.0
MAX_SECONDS = 20.0


def duration_head_config(config: dict) -> dict:
    """Constructor arguments of diffusers' `LTX2DurationHead`, ltx-core's defaults for absent keys."""
    transformer = config.get("transformer", {})
    head = config.get("duration_head", {})
    if not isinstance(transformer, dict) or not isinstance(head, dict):
        raise CheckpointError(
            "config.transformer / config.duration_head are not objects", component="duration_head"
        )
    try:
        return {
            "video_cross_attention_dim": int(transformer.get("cross_attention_dim", 4096)),
            "audio_cross_attention_dim": int(transformer.get("audio_cross_attention_dim", 2048)),
            "pooler_hidden_dim": int(head.get("pooler_hidden_dim", 256)),
            "num_queries": int(head.get("num_queries", 1)),
            "num_pooler_heads": int(head.get("num_pooler_heads", 4)),
            "mlp_hidden_dim": int(head.get("mlp_hidden", 256)),
        }
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"config.duration_head has an invalid value ({exc})", component="duration_head"
        ) from exc


def convert_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ltx-core names (`nn.MultiheadAttention` pooler) -> diffusers names (separate q/k/v linears)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix(PREFIX)
        if key.startswith("attention_pooler.cross_attn.in_proj_"):
            leaf = "weight" if key.endswith("weight") else "bias"
            for name, part in zip(("to_q", "to_k", "to_v"), value.chunk(3, dim=0), strict=True):
                out[f"attention_pooler.{name}.{leaf}"] = part.contiguous()
            continue
        key = key.replace("attention_pooler.cross_attn.out_proj.", "attention_pooler.to_out.")
        out[key] = value
    return out


def load_duration_head(path: str | Path, dtype: torch.dtype = torch.float32):
    """diffusers' `LTX2DurationHead` from the duration-head file."""
    from accelerate import init_empty_weights
    from diffusers.pipelines.ltx2.duration_head import LTX2DurationHead

    from engine.components import assign_state

    checkpoint = SafetensorsFile.open(path, component="duration_head")
    keys = [k for k in checkpoint.keys() if k.startswith(PREFIX)]
    if not keys:
        raise CheckpointError(
            "has no duration_head.* weights (expected model_patches/ltx-2.5-duration-head-*.safetensors)",
            path=checkpoint.path,
            component="duration_head",
        )
    try:
        kwargs = duration_head_config(read_official_config(checkpoint))
    except CheckpointError as exc:
        raise CheckpointError(exc.detail, path=checkpoint.path, component="duration_head") from exc
    try:
        with init_empty_weights():
            head = LTX2DurationHead(**kwargs)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        raise CheckpointError(
            f"config does not describe a valid duration head ({exc})",
            path=checkpoint.path,
            component="duration_head",
        ) from exc
    state = convert_state(checkpoint.load(keys, dtype=dtype))
    return assign_state(head, state, "duration_head", checkpoint.path)


def seconds_to_num_frames(
    seconds: float,
    frame_rate: float,
    temporal_ratio: int = 8,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> int:
    """ltx-pipelines' frame count for a duration: clamp, floor to the `k * ratio + 1` grid, lift if below."""
    min_frames = round(min_seconds * frame_rate)
    max_frames = round(max_seconds * frame_rate)
    frames = max(min_frames, min(round(seconds * frame_rate), max_frames))
    if frames < 1:
        raise ValueError(f"a duration of {seconds} s gives no frame at {frame_rate} fps")
    snapped = ((frames - 1) // temporal_ratio) * temporal_ratio + 1
    if snapped < min_frames:
        snapped = min(-(-(min_frames - 1) // temporal_ratio) * temporal_ratio + 1, max_frames)
    return snapped


@torch.no_grad()
def predict_seconds(
    head, video_context: torch.Tensor | None, audio_context: torch.Tensor | None
) -> torch.Tensor:
    """Predicted shot duration in seconds, `(B,)`, from the connectors' outputs (either may be None)."""
    return head(video_context, audio_context)


def predict_num_frames(
    head,
    video_context: torch.Tensor | None,
    audio_context: torch.Tensor | None,
    frame_rate: float,
    temporal_ratio: int = 8,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> int:
    """ltx-pipelines' `DurationPredictor`: one prompt's duration as a frame count on the latent grid."""
    seconds = predict_seconds(head, video_context, audio_context)
    if seconds.numel() != 1:
        raise ValueError("predict one prompt at a time: one frame count cannot serve several prompts")
    return seconds_to_num_frames(float(seconds.item()), frame_rate, temporal_ratio, min_seconds, max_seconds)

"""Measuring what a transformer forward allocates, on any device, and the inputs such a forward takes.

`LivePeak` is a TorchDispatchMode that sees every tensor an operator returns, counts its storage once (views
share it) and uncounts it when the storage is freed (a weakref finalizer), so `peak` is the most bytes of
tensors created inside the block that were alive at one time. On the CPU torch keeps no allocator statistics,
and tracemalloc does not see torch's allocations (they bypass Python's allocator), so this is how the
planner's activation estimates are checked against the tiny models. What it cannot see: scratch memory an
operator
allocates and frees inside itself (an attention kernel's workspace), and allocator caching/fragmentation; the
planner's CUDA reserve covers those. Weights and inputs made before entering the mode are not counted.

`transformer_inputs` builds the keyword arguments the engine's runtime passes to `LTX2VideoTransformer3DModel`
for one denoising step (video and audio tokens, text contexts, timesteps, RoPE coordinates).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

FPS = 24.0
AUDIO_LATENTS_PER_SECOND = 25.0  # 16 kHz mel, hop 160, x4 temporal compression


class LivePeak(TorchDispatchMode):
    """Peak bytes of live tensors created while the mode is active (see the module docstring)."""

    def __init__(self, device: str = "cpu", existing=()):
        super().__init__()
        self.device = device
        self.current = 0
        self.peak = 0
        self._live: dict[int, int] = {}
        # storages that exist already (weights, inputs): a view of them (`weight.t()`) allocates nothing
        self._existing = {t.untyped_storage().data_ptr() for t in existing if isinstance(t, torch.Tensor)}

    def _release(self, key: int, nbytes: int) -> None:
        if self._live.pop(key, None) is not None:
            self.current -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor) or tensor.device.type != self.device:
                continue
            storage = tensor.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes == 0 or key in self._live or key in self._existing:
                continue
            self._live[key] = nbytes
            self.current += nbytes
            self.peak = max(self.peak, self.current)
            weakref.finalize(storage, self._release, key, nbytes)
        return out


def audio_tokens(frames: int, fps: float = FPS) -> int:
    return round(frames / fps * AUDIO_LATENTS_PER_SECOND)


def transformer_inputs(
    model, batch: int, size: tuple[int, int, int], text_tokens: int, device, dtype, seed: int = 0
) -> dict[str, Any]:
    """The keyword arguments of one transformer forward (one denoising step of `batch` samples)."""
    width, height, frames = size
    cfg = model.config
    temporal, spatial = int(cfg.vae_scale_factors[0]), int(cfg.vae_scale_factors[1])
    latent_f, latent_h, latent_w = (frames - 1) // temporal + 1, height // spatial, width // spatial
    audio_f = audio_tokens(frames)
    gen = torch.Generator(device="cpu").manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float32).to(device=device, dtype=dtype)

    if getattr(cfg, "use_prompt_embeddings", True):  # 2.0: the projection lives in the transformer
        video_ctx, audio_ctx = cfg.caption_channels, cfg.caption_channels
    else:  # 2.3 / 2.5: the connectors hand over contexts already at the attention widths
        video_ctx = cfg.num_attention_heads * cfg.attention_head_dim
        audio_ctx = cfg.audio_num_attention_heads * cfg.audio_attention_head_dim
    timestep = torch.full((batch,), 500.0, device=device)
    mask = torch.ones(batch, text_tokens, device=device, dtype=dtype)
    return {
        "hidden_states": randn(batch, latent_f * latent_h * latent_w, cfg.in_channels),
        "audio_hidden_states": randn(batch, audio_f, cfg.audio_in_channels),
        "encoder_hidden_states": randn(batch, text_tokens, video_ctx),
        "audio_encoder_hidden_states": randn(batch, text_tokens, audio_ctx),
        "timestep": timestep,
        "sigma": timestep,
        "encoder_attention_mask": mask,
        "audio_encoder_attention_mask": mask,
        "num_frames": latent_f,
        "height": latent_h,
        "width": latent_w,
        "fps": FPS,
        "audio_num_frames": audio_f,
        "video_coords": model.rope.prepare_video_coords(batch, latent_f, latent_h, latent_w, device, fps=FPS),
        "audio_coords": model.audio_rope.prepare_audio_coords(batch, audio_f, device),
        "return_dict": False,
    }


def forward_peak(model, inputs: dict[str, Any]) -> int:
    """Peak bytes of tensors alive at once during one no-grad forward of `model` (CPU or CUDA)."""
    device = inputs["hidden_states"].device.type
    existing = [*model.parameters(), *model.buffers(), *inputs.values()]
    with torch.no_grad(), LivePeak(device, existing) as probe:
        out = model(**inputs)
        del out
    return probe.peak

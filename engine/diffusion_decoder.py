"""The LTX-2.5 diffusion video decoder (`vae/ltx-2.5-video-vae-*.safetensors`, `CausalDiffusionVAE`).

Stages 1-4 upsample the latent into a context volume with neighbourhood-attention blocks; stage 5 denoises
patchified pixels conditioned on that context (one x0 step as released). The module classes are diffusers'
(`LTX2VideoDiffusionDecoderModel`); what diffusers does not do the way Lightricks' reference (ltx-core 1.2.0,
`DiffusionVideoDecoder`) does is done here:

* loading: fused `attn.qkv` split into q/k/v, static AdaLN gates (`gate_msa`, `gate_mlp`, `gate_ctx`) folded
  into the following linear weights in float32 and rounded back to the stored dtype (as ltx-core), `coarse_*`
  preview heads dropped;
* the canvas: a latent below the decoder's minimum size is edge-padded first (time: repeat the last frame;
  height/width: replicate both edges, the odd one after), x_t is drawn on that padded stage-5 pixel canvas
  and the output is cropped back. diffusers draws on the unpadded canvas, which fails (or differs) there;
* attention: an exact, memory-bounded eager neighbourhood attention (NATTEN `na3d` windows: centred, shifted
  inward at the borders), so the decoder runs on CPU and on GPUs without NATTEN or compiled FlexAttention;
  in stage 5 the width axis is edge-replicated first, as ltx-pipelines' default decode mode does.

Only the untiled decode is implemented; long or large clips need the conv decoder (the default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.errors import CheckpointError

DECODER_PREFIX = "decoder."
STATS_PREFIX = "per_channel_statistics."
_GATE_FOLDS = (
    (".attn.proj.weight", ".gate_msa"),
    (".attn.proj.bias", ".gate_msa"),
    (".mlp.w_down.weight", ".gate_mlp"),
    (".mlp.w_down.bias", ".gate_mlp"),
    (".context_proj.weight", ".gate_ctx"),
    (".context_proj.bias", ".gate_ctx"),
)
_GATES = (".gate_msa", ".gate_mlp", ".gate_ctx")
# Element budget of one query tile's [queries, keys] score block (per head) in the eager attention.
NA_SCORE_BUDGET = 2**24


def is_diffusion_vae_config(config: dict) -> bool:
    vae = config.get("vae")
    return isinstance(vae, dict) and vae.get("_class_name") == "CausalDiffusionVAE"


def _kernel(value, what: str) -> tuple[int, int, int]:
    kernel = tuple(int(v) for v in value)
    if len(kernel) != 3 or min(kernel) < 1:
        raise ValueError(f"{what} must be three positive sizes, got {value!r}")
    return kernel


def diffusion_decoder_config(config: dict) -> dict:
    """Constructor arguments of diffusers' `LTX2VideoDiffusionDecoderModel` from the file's `config.vae`.

    Absent keys take ltx-core's `DiffusionVideoDecoder` defaults (the reference), not diffusers'.
    """
    vae = config.get("vae")
    if not isinstance(vae, dict):
        raise CheckpointError("the model config has no 'vae' section", component="diffusion_decoder")
    decoder = vae.get("decoder", vae)
    if not isinstance(decoder, dict):
        raise CheckpointError("config.vae.decoder is not an object", component="diffusion_decoder")
    try:
        channels = tuple(int(c) for c in decoder.get("stage_channels", (1024, 512, 256, 256, 128)))
        depths = tuple(int(d) for d in decoder.get("stage_depths", (4, 6, 4, 2, 8)))
        kernels = [
            _kernel(k, "stage_kernels")
            for k in decoder.get("stage_kernels", ((3, 7, 7), (3, 7, 7), (3, 5, 5), (3, 5, 5), (3, 3, 3)))
        ]
        upsamples = [
            (_kernel(stride, "upsample stride"), int(reduction))
            for stride, reduction in decoder.get(
                "upsamples", (((1, 2, 2), 2), ((2, 1, 1), 2), ((2, 2, 2), 1), ((2, 2, 2), 2))
            )
        ]
        stage5_kernel = _kernel(decoder.get("stage5_kernel", (3, 7, 7)), "stage5_kernel")
        head_dim = int(decoder.get("head_dim", decoder.get("na_head_dim", 64)))
        if "stage5_channels" in decoder and int(decoder["stage5_channels"]) != channels[-1]:
            raise ValueError("a stage5_channels different from the last stage's width is not supported")
        if (
            len(depths) != len(channels)
            or len(upsamples) != len(channels) - 1
            or len(kernels) < len(upsamples)
        ):
            raise ValueError("stage_channels, stage_depths, stage_kernels and upsamples disagree in length")
        if any(c % head_dim for c in channels):
            raise ValueError(f"every stage width must be a multiple of head_dim {head_dim}")
        output_type = vae.get("model_output_type", "v")
        if output_type not in ("x0", "v"):
            raise ValueError(f"model_output_type must be 'x0' or 'v', got {output_type!r}")
        spatial = int(decoder.get("patch_size", 4)) * math.prod(s[1] for s, _ in upsamples)
        temporal = math.prod(s[0] for s, _ in upsamples)
        return {
            "out_channels": int(decoder.get("out_channels", 3)),
            "latent_channels": int(decoder.get("in_channels", vae.get("latent_channels", 128))),
            "patch_size": int(decoder.get("patch_size", 4)),
            "decoder_head_dim": head_dim,
            "decoder_stage_channels": channels,
            "decoder_stage_depths": depths,
            "decoder_stage_kernels": tuple(kernels[: len(upsamples)]),
            "decoder_upsample_strides": tuple(s for s, _ in upsamples),
            "decoder_upsample_channel_reductions": tuple(r for _, r in upsamples),
            "decoder_stage5_kernel": stage5_kernel,
            "decoder_t_emb_dim": int(decoder.get("t_emb_dim", 384)),
            "decoder_timestep_scale_multiplier": float(decoder.get("timestep_scale_multiplier", 1.0)),
            "decoder_model_output_type": output_type,
            "decoder_num_inference_steps": int(decoder.get("default_num_inference_steps", 2)),
            "spatial_compression_ratio": spatial,
            "temporal_compression_ratio": temporal,
        }
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CheckpointError(
            f"config.vae does not describe a diffusion decoder ({exc})", component="diffusion_decoder"
        ) from exc


def convert_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ltx-core / ComfyUI names -> diffusers names: qkv split, gates folded then dropped, coarse_* dropped.

    `state` holds the file's tensors in their stored dtype: the fold runs in float32 and rounds back to it,
    exactly as ltx-core's loader does, so a bf16 file gives the reference's bf16 weights.
    """
    decoder = {k.removeprefix(DECODER_PREFIX): v for k, v in state.items() if k.startswith(DECODER_PREFIX)}
    gates = {k: v for k, v in decoder.items() if k.endswith(_GATES)}
    out: dict[str, torch.Tensor] = {}
    for key, value in decoder.items():
        if key in gates or key.startswith("coarse_"):
            continue
        for leaf, gate_suffix in _GATE_FOLDS:
            if key.endswith(leaf) and (gate := gates.get(key[: -len(leaf)] + gate_suffix)) is not None:
                gate_f = gate.float()
                folded = gate_f[:, None] * value.float() if value.ndim == 2 else gate_f * value.float()
                value = folded.to(value.dtype)
                break
        if key.endswith((".attn.qkv.weight", ".attn.qkv.bias")):
            base, leaf = key.rsplit(".qkv.", 1)
            for name, part in zip(("to_q", "to_k", "to_v"), value.chunk(3, dim=0), strict=True):
                out[f"decoder.{base}.{name}.{leaf}"] = part.contiguous()
            continue
        key = key.replace(".attn.proj.", ".attn.to_out.0.")
        key = key.replace(".attn.q_norm.", ".attn.norm_q.").replace(".attn.k_norm.", ".attn.norm_k.")
        key = key.replace("t_embedder.mlp.0.", "t_embedder.timestep_embedder.linear_1.")
        key = key.replace("t_embedder.mlp.2.", "t_embedder.timestep_embedder.linear_2.")
        out["decoder." + key] = value
    stats = {k.removeprefix(STATS_PREFIX): v for k, v in state.items() if k.startswith(STATS_PREFIX)}
    if "mean-of-means" in stats:
        out["latents_mean"] = stats["mean-of-means"]
    if "std-of-means" in stats:
        out["latents_std"] = stats["std-of-means"]
    return out


# --- neighbourhood attention ---------------------------------------------------------------------------


def _window_starts(length: int, kernel: int, device: torch.device) -> torch.Tensor:
    index = torch.arange(length, device=device)
    return (index - kernel // 2).clamp(0, length - kernel)


def _pick_query_tile(dims: tuple[int, int, int], kernels: tuple[int, int, int], heads: int) -> list[int]:
    tile = list(dims)

    def cost(t: list[int]) -> int:
        keys = math.prod(min(d, s + k - 1) for s, k, d in zip(t, kernels, dims, strict=True))
        return math.prod(t) * keys * heads

    while cost(tile) > NA_SCORE_BUDGET and max(tile) > 1:
        axis = max(range(3), key=lambda a: tile[a] / kernels[a])
        tile[axis] = max(1, (tile[axis] + 1) // 2)
    return tile


def neighborhood_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, kernel_size: tuple[int, int, int]
) -> torch.Tensor:
    """3D neighbourhood attention with NATTEN `na3d` semantics; `(B, T, H, W, heads, D)` in and out.

    The query must already carry the softmax scale. Queries are tiled so one tile's score block stays under
    `NA_SCORE_BUDGET`; each tile attends to the union of its queries' windows with an exact mask.
    """
    batch, frames, height, width, heads, dim = query.shape
    dims = (frames, height, width)
    kernels = tuple(min(k, n) for k, n in zip(kernel_size, dims, strict=True))
    starts = [_window_starts(n, k, query.device) for n, k in zip(dims, kernels, strict=True)]
    tile = _pick_query_tile(dims, kernels, heads)
    out = torch.empty_like(value)
    for t0 in range(0, frames, tile[0]):
        for h0 in range(0, height, tile[1]):
            for w0 in range(0, width, tile[2]):
                ranges = []
                masks = []
                for axis, begin in enumerate((t0, h0, w0)):
                    end = min(begin + tile[axis], dims[axis])
                    first = int(starts[axis][begin])
                    last = int(starts[axis][end - 1]) + kernels[axis]
                    ranges.append((begin, end, first, last))
                    keys = torch.arange(first, last, device=query.device)
                    window = starts[axis][begin:end, None]
                    masks.append((keys[None, :] >= window) & (keys[None, :] < window + kernels[axis]))
                (qt0, qt1, kt0, kt1), (qh0, qh1, kh0, kh1), (qw0, qw1, kw0, kw1) = ranges
                mask = (
                    masks[0][:, None, None, :, None, None]
                    & masks[1][None, :, None, None, :, None]
                    & masks[2][None, None, :, None, None, :]
                )
                n_q = (qt1 - qt0) * (qh1 - qh0) * (qw1 - qw0)
                n_k = (kt1 - kt0) * (kh1 - kh0) * (kw1 - kw0)
                q = query[:, qt0:qt1, qh0:qh1, qw0:qw1].reshape(batch, n_q, heads, dim).transpose(1, 2)
                k = key[:, kt0:kt1, kh0:kh1, kw0:kw1].reshape(batch, n_k, heads, dim).transpose(1, 2)
                v = value[:, kt0:kt1, kh0:kh1, kw0:kw1].reshape(batch, n_k, heads, dim).transpose(1, 2)
                o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.reshape(n_q, n_k), scale=1.0)
                out[:, qt0:qt1, qh0:qh1, qw0:qw1] = o.transpose(1, 2).reshape(
                    batch, qt1 - qt0, qh1 - qh0, qw1 - qw0, heads, dim
                )
    return out


class EagerNeighborhoodAttnProcessor:
    """diffusers attention processor running `neighborhood_attention` (no FlexAttention, no NATTEN).

    With `replicate_width_edges` (the stage-5 diffusion blocks), the width axis is edge-replicated by half a
    window on each side before attention and cropped after, so border queries see centred windows over
    replicated tokens instead of NATTEN's inward-shifted ones. That is what ltx-core's default decode mode
    (`CHUNKED_EAGER`: W-chunked stage-5 attention, halos edge-replicated at the volume's W borders)
    computes; the deterministic stages keep plain NATTEN windows, as there.
    """

    def __init__(self, replicate_width_edges: bool = False):
        self.replicate_width_edges = replicate_width_edges

    def __call__(self, attn, hidden_states: torch.Tensor, block_mask=None) -> torch.Tensor:
        batch, frames, height, width, _ = hidden_states.shape
        halo = attn.kernel_size[2] // 2 if self.replicate_width_edges else 0
        if halo:
            hidden_states, _ = _resize(hidden_states, 3, width + 2 * halo, symmetric=True)
        query, key, value = attn.project_qkv(hidden_states)
        out = neighborhood_attention(query, key, value, attn.kernel_size)
        if halo:
            out = out[:, :, :, halo : halo + width]
        return attn.to_out[0](out.reshape(batch, frames, height, width, attn.heads * attn.head_dim))


def use_eager_attention(model: torch.nn.Module) -> None:
    """Install the eager processors (their block masks are then never built)."""
    from diffusers.models.autoencoders.ltx2_diffusion_decoder import LTX2VideoVaeNeighborhoodAttention

    diffusion_attentions = {id(block.attn) for block in model.decoder.diff_blocks}
    for module in model.modules():
        if isinstance(module, LTX2VideoVaeNeighborhoodAttention):
            module.processor = EagerNeighborhoodAttnProcessor(id(module) in diffusion_attentions)
            # diffusers builds a block mask only for its own flex processor; make that explicit.
            module.build_block_mask = lambda hidden_states: None


# --- decoding on the reference's canvas ----------------------------------------------------------------


@dataclass(frozen=True)
class AxisPad:
    before: int
    after: int


def _resize(x: torch.Tensor, dim: int, size: int, symmetric: bool) -> tuple[torch.Tensor, AxisPad]:
    """Edge-pad axis `dim` to `size` (ltx-core `resize_axis`: repeat the last, or both edges, odd after)."""
    length = x.shape[dim]
    if length >= size:
        return x, AxisPad(0, 0)
    need = size - length
    before = need // 2 if symmetric else 0
    after = need - before
    parts = []
    if before:
        parts.append(x.narrow(dim, 0, 1).expand(*[before if d == dim else -1 for d in range(x.ndim)]))
    parts.append(x)
    parts.append(x.narrow(dim, length - 1, 1).expand(*[after if d == dim else -1 for d in range(x.ndim)]))
    return torch.cat(parts, dim=dim), AxisPad(before, after)


def min_latent_size(model) -> tuple[int, int, int]:
    """Smallest latent (T, H, W) for which every stage's attention window fits (ltx-core's size floor)."""
    config = model.config
    strides = [(1, 1, 1)]
    for stride in config.decoder_upsample_strides:
        strides.append(tuple(a * b for a, b in zip(strides[-1], stride, strict=True)))
    mins = [1, 1, 1]
    for stage, kernel in enumerate(config.decoder_stage_kernels):
        for axis in range(3):
            mins[axis] = max(mins[axis], -(-kernel[axis] // strides[stage][axis]))
    for axis in range(3):
        mins[axis] = max(mins[axis], -(-config.decoder_stage5_kernel[axis] // strides[-1][axis]))
    return mins[0], mins[1], mins[2]


@torch.no_grad()
def decode(
    model,
    latent: torch.Tensor,
    generator: torch.Generator | None = None,
    num_inference_steps: int | None = None,
    *,
    normalized: bool = True,
) -> torch.Tensor:
    """Decode a normalised latent `(B, 128, F, H, W)` to pixels `(B, 3, 1+8(F-1), 32H, 32W)` in about [-1, 1].

    As ltx-core: un-normalise with the file's latent statistics, pad to the minimum size, draw x_t on the
    padded stage-5 canvas from `generator` (drawn on the generator's device, in the latent's dtype), run the
    stage-5 steps, crop to the content. `normalized=False` takes latents already un-normalised (VAE space,
    what the conv VAE's `decode` takes).
    """
    config = model.config
    decoder = model.decoder
    dtype = next(model.parameters()).dtype
    latent = latent.to(dtype)
    mean = model.latents_mean.to(latent.device, dtype).view(1, -1, 1, 1, 1)
    std = model.latents_std.to(latent.device, dtype).view(1, -1, 1, 1, 1)
    if normalized:
        latent = latent * std + mean
    frames = (latent.shape[2] - 1) * config.temporal_compression_ratio + 1
    height = latent.shape[3] * config.spatial_compression_ratio
    width = latent.shape[4] * config.spatial_compression_ratio

    min_t, min_h, min_w = min_latent_size(model)
    latent, _ = _resize(latent, 2, min_t, symmetric=False)
    latent, h_pad = _resize(latent, 3, min_h, symmetric=True)
    latent, w_pad = _resize(latent, 4, min_w, symmetric=True)

    context = decoder.forward_stage_4(decoder.forward_stages_1_to_3(latent))
    canvas = (
        latent.shape[0],
        decoder.out_channels,
        context.shape[1],
        context.shape[2] * decoder.patch_size,
        context.shape[3] * decoder.patch_size,
    )
    noise_device = generator.device if generator is not None else latent.device
    x_t = torch.randn(canvas, generator=generator, device=noise_device, dtype=dtype).to(latent.device)
    steps = num_inference_steps or config.decoder_num_inference_steps
    pixels = decoder.denoise(context, x_t, steps)
    top = h_pad.before * config.spatial_compression_ratio
    left = w_pad.before * config.spatial_compression_ratio
    return pixels[:, :, :frames, top : top + height, left : left + width].contiguous()


def load_diffusion_decoder(path, dtype: torch.dtype = torch.float32):
    """diffusers' `LTX2VideoDiffusionDecoderModel` from a `CausalDiffusionVAE` file, with eager attention."""
    from accelerate import init_empty_weights
    from diffusers import LTX2VideoDiffusionDecoderModel

    from engine.checkpoint import SafetensorsFile, read_official_config
    from engine.components import assign_state

    checkpoint = SafetensorsFile.open(path, component="diffusion_decoder")
    config = read_official_config(checkpoint)
    if not is_diffusion_vae_config(config):
        raise CheckpointError(
            "is not a diffusion video decoder (config.vae._class_name is not 'CausalDiffusionVAE')",
            path=checkpoint.path,
            component="diffusion_decoder",
        )
    try:
        kwargs = diffusion_decoder_config(config)
    except CheckpointError as exc:
        raise CheckpointError(exc.detail, path=checkpoint.path, component="diffusion_decoder") from exc
    keys = [k for k in checkpoint.keys() if k.startswith((DECODER_PREFIX, STATS_PREFIX))]
    if not any(k.startswith(DECODER_PREFIX) for k in keys):
        raise CheckpointError("has no decoder.* weights", path=checkpoint.path, component="diffusion_decoder")
    # Fold the gates in the stored dtype (the reference's rounding), then cast.
    state = {k: v.to(dtype) for k, v in convert_state(checkpoint.load(keys)).items()}
    try:
        with init_empty_weights():
            model = LTX2VideoDiffusionDecoderModel(**kwargs)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        raise CheckpointError(
            f"config.vae does not describe a valid diffusion decoder ({exc})",
            path=checkpoint.path,
            component="diffusion_decoder",
        ) from exc
    model = assign_state(model, state, "diffusion_decoder", checkpoint.path)
    use_eager_attention(model)
    return model

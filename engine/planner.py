"""The memory planner: will this generation fit this card, and how should the engine place the model?

    weights = weights_of("ltx-2.3")                     # or a checkpoint path; headers only, no weights read
    plan = plan_generation(weights, quantization="fp8", recipe="two-stage", width=1280, height=704,
                           frames=121, vram=24 * GiB, ram=64 * GiB)
    print(plan.summary())   # "fits: yes, peak VRAM 21.3 GiB, peak RAM 41.0 GiB, transformer streamed ..."

What it decides, in this order:

* **transformer**: `resident` (all its weights on the GPU) when they fit beside the other components and the
  largest stage's activations; else `streamed` (diffusers' block-level group offloading: each transformer
  block's weights stay in pinned system RAM and are copied to the GPU on a side CUDA stream while the previous
  block computes, so two blocks are on the GPU at a time); else `sequential` (leaf-level offloading: one layer
  at a time, slowest); else it does not fit.
* **text encoder**: on the GPU only while it encodes when its weights fit beside what stays resident (the
  engine moves it in and out), else on the CPU (slower prompt encoding, no VRAM).
* **VAE decode**: tiles from `engine.tiling.plan_tiles`, with the budget the rest of the plan leaves.

Estimates, each a sum of parts the plan lists:

* weights: exact parameter counts (engine.model_sizes) x bytes per parameter of the quantization (quanto's
  data + scales; see `model_sizes.quantized_linear_bytes`);
* transformer activations: `ACTIVATION_BYTES_PER_WIDTH[dtype]` x batch x (video tokens x video width + audio
  tokens x audio width), plus the text contexts. The constant was measured with `engine.memory_probe.LivePeak`
  on the tiny models (tests/engine/test_planner.py checks it at several sizes, widths and batches): 16.4
  float32 elements per token and channel at peak in float32, 35.9 bytes in bfloat16 (RoPE tables and norms
  compute in float32); 40 is used for bf16, a margin for kernel workspaces the probe cannot see;
* `CUDA_RESERVE`: the CUDA context, cuBLAS workspaces and allocator fragmentation, outside torch's counters;
* time: FLOPs of every transformer pass (2 x linear parameters x tokens + attention) at an assumed sustained
  rate (`--tflops`, default 100 TFLOPS bf16; fp8-fast counts double), or the host-to-GPU copy of the streamed
  weights when that is slower (`--pcie-gbps`, default 20 GB/s), plus text encoding. It is a rough guide until
  the GPU suite has measured it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from engine.errors import RequestError
from engine.model_sizes import GiB, ModelWeights, transformer_bytes
from engine.models import SPECS, ModelSpec
from engine.request import RECIPES, TWO_STAGE_RECIPES, UPSAMPLER_SCALES, stage_1_size_step

# Peak bytes of transformer activations per (token x channel) of one sample, by compute element size.
ACTIVATION_BYTES_PER_WIDTH = {2: 40.0, 4: 72.0}
# Text contexts and their keys/values in every block's cross-attention, per (text token x channel).
TEXT_BYTES_PER_WIDTH = {2: 8.0, 4: 16.0}
CUDA_RESERVE = 1 * GiB
# Python, torch, diffusers and transformers loaded, before any weight (measured RSS about 1.3 GiB here).
PROCESS_RAM = 2 * GiB
TEXT_TOKENS = 1024
GEMMA_LAYERS_KEPT = 49  # every Gemma hidden state is kept for the feature extractor
DEFAULT_TFLOPS = 100.0
DEFAULT_PCIE_GBPS = 20.0
PLAN_QUANTIZATIONS = ("none", "fp8", "fp8-fast", "int8", "int4")


@dataclass(frozen=True)
class StagePlan:
    name: str
    width: int
    height: int
    frames: int
    steps: int
    batch: int  # the largest batch of one transformer call
    samples_per_step: int  # transformer samples per step (batched and separate passes)
    video_tokens: int
    audio_tokens: int
    activation_bytes: int
    flops_per_sample: float


@dataclass(frozen=True)
class MemoryPlan:
    """What the planner decided and why; `summary()` is the one line the CLI and the studio show."""

    model: str
    version: str
    quantization: str
    recipe: str
    width: int
    height: int
    frames: int
    vram: int
    ram: int
    transformer: str  # "resident" | "streamed" | "sequential"
    text_encoder: str  # "gpu-while-encoding" | "cpu"
    stages: tuple[StagePlan, ...]
    weight_bytes: dict[str, int]
    vae_tiles: object  # engine.tiling.TilePlan
    peak_vram: int
    peak_ram: int
    seconds: float
    fits: bool
    phases: dict[str, int] = field(default_factory=dict)  # peak VRAM of each phase
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        text_encoder = (
            "text encoder on GPU while encoding" if self.text_encoder != "cpu" else "text encoder on CPU"
        )
        tiles = self.vae_tiles
        vae = (
            f"VAE tiles {tiles.tile_width}x{tiles.tile_height}x{tiles.tile_frames}"
            if tiles.tiled(self.height, self.width, self.frames)
            else "VAE untiled"
        )
        return (
            f"fits: {'yes' if self.fits else 'no'}, peak VRAM {self.peak_vram / GiB:.1f} GiB, "
            f"peak RAM {self.peak_ram / GiB:.1f} GiB, transformer {self.transformer}, {text_encoder}, {vae}, "
            f"about {_duration(self.seconds)}"
        )

    def lines(self) -> list[str]:
        out = [
            f"model: LTX-{self.version} ({self.model}), quantization {self.quantization}, "
            f"recipe {self.recipe}, "
            f"{self.width}x{self.height}, {self.frames} frames",
            f"card: {self.vram / GiB:.1f} GiB VRAM ({CUDA_RESERVE / GiB:.1f} GiB kept for CUDA), "
            f"{self.ram / GiB:.1f} GiB RAM",
            "weights: " + ", ".join(f"{k} {v / GiB:.2f} GiB" for k, v in self.weight_bytes.items()),
        ]
        for s in self.stages:
            out.append(
                f"stage {s.name}: {s.width}x{s.height}x{s.frames}, {s.steps} steps x {s.samples_per_step} "
                f"samples (batch {s.batch}), {s.video_tokens} video + {s.audio_tokens} audio tokens, "
                f"activations {s.activation_bytes / GiB:.2f} GiB, {s.flops_per_sample:.2e} FLOP per sample"
            )
        out.append(
            "peak VRAM by phase: " + ", ".join(f"{k} {v / GiB:.1f} GiB" for k, v in self.phases.items())
        )
        out.extend(f"note: {n}" for n in self.notes)
        out.append(self.summary())
        return out


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def parse_bytes(text: str | int | float) -> int:
    """'24GiB', '24 GB', '16g', '8000MiB', 24 -> bytes (a bare number is GiB; GB/MB are decimal)."""
    if isinstance(text, (int, float)):
        value, unit = float(text), "gib"
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
        if not match:
            raise RequestError(f"'{text}' is not a memory size; write it like 24GiB, 16GB or 12000MiB")
        value, unit = float(match.group(1)), match.group(2).lower()
    units = {
        "": GiB,
        "g": GiB,
        "gib": GiB,
        "gb": 10**9,
        "mib": 1024**2,
        "mb": 10**6,
        "m": 1024**2,
        "tib": 1024**4,
        "tb": 10**12,
    }
    if unit not in units:
        raise RequestError(f"'{text}': unknown unit '{unit}'; use GiB, GB, MiB or MB")
    result = int(value * units[unit])
    if result <= 0:
        raise RequestError(f"'{text}' must be more than zero")
    return result


# --- per-stage arithmetic -----------------------------------------------------------------------------------


def _widths(config: dict) -> tuple[int, int]:
    video = int(config.get("num_attention_heads", 32)) * int(config.get("attention_head_dim", 128))
    audio = int(config.get("audio_num_attention_heads", 32)) * int(config.get("audio_attention_head_dim", 64))
    return video, audio


def activation_bytes(
    config: dict,
    batch: int,
    video_tokens: int,
    audio_tokens: int,
    text_tokens: int,
    dtype_bytes: int,
    per_token_timesteps: bool = False,
) -> int:
    """Estimated peak bytes of one transformer forward's activations (see the module docstring)."""
    video_w, audio_w = _widths(config)
    per_width = ACTIVATION_BYTES_PER_WIDTH[dtype_bytes]
    total = per_width * batch * (video_tokens * video_w + audio_tokens * audio_w)
    total += TEXT_BYTES_PER_WIDTH[dtype_bytes] * batch * text_tokens * (video_w + audio_w)
    if per_token_timesteps:
        # image-to-video: every token gets its own AdaLN rows (6, or 9 with the prompt AdaLN), in float32
        rows = 9 if config.get("cross_attn_mod") else 6
        total += 4 * rows * batch * (video_tokens * video_w + audio_tokens * audio_w)
    return int(total)


def transformer_flops(weights: ModelWeights, video_tokens: int, audio_tokens: int, text_tokens: int) -> float:
    """FLOPs of one transformer pass of one sample: 2 x linear weights x the tokens they see, + attention."""
    config = weights.transformer_config
    video_w, audio_w = _widths(config)
    layers = len(weights.block_params)
    linear = 0.0
    for name, out_f, in_f, _ in weights.linears:
        if not name.startswith("transformer_blocks."):
            tokens = audio_tokens if "audio" in name else video_tokens
        elif "audio_to_video" in name or "video_to_audio" in name:
            # cross-modal attention: queries of one stream, keys/values of the other; counted on the larger
            tokens = max(video_tokens, audio_tokens) if "to_q" in name or "to_out" in name else audio_tokens
        elif "attn2" in name and ("to_k" in name or "to_v" in name):
            tokens = text_tokens
        else:
            tokens = audio_tokens if "audio" in name else video_tokens
        linear += 2.0 * out_f * in_f * tokens
    attention = layers * (
        4.0 * video_tokens * video_tokens * video_w  # self-attention: scores and weighted sum
        + 4.0 * audio_tokens * audio_tokens * audio_w
        + 4.0 * video_tokens * text_tokens * video_w  # text cross-attention
        + 4.0 * audio_tokens * text_tokens * audio_w
        + 8.0 * video_tokens * audio_tokens * audio_w  # both audio-video cross-attentions
    )
    return linear + attention


def recipe_stages(
    spec: ModelSpec, recipe: str, width: int, height: int, frames: int, upsampler_scale: float = 2.0
) -> list[tuple]:
    """(name, width, height, frames, steps, batch, samples per step) of each denoising stage of `recipe`
    (the two-stage ones' stage 1 at the output / `upsampler_scale`)."""
    from engine.recipes import stage_1_size

    v = spec.video_guidance
    batched = 1 + (v.cfg_scale != 1.0) + (v.stg_scale != 0.0)  # conditioned, negative, STG: one batch
    separate = 1 if v.modality_scale != 1.0 else 0  # the modality-isolated pass runs on its own
    if recipe == "full":
        return [("full", width, height, frames, spec.steps, batched, batched + separate)]
    distilled_steps = len(spec.distilled_sigmas) - 1
    if recipe == "distilled":
        return [("distilled", width, height, frames, distilled_steps, 1, 1)]
    stage2 = len(spec.stage_2_distilled_sigmas) - 1
    small_w, small_h = stage_1_size(width, height, upsampler_scale)
    size = "half size" if float(upsampler_scale) == 2.0 else "2/3 size"
    if recipe == "two-stage-full":  # the dev model's guided steps at reduced size, then the LoRA refine
        return [
            (f"1 ({size}, guided)", small_w, small_h, frames, spec.steps, batched, batched + separate),
            ("2 (refine)", width, height, frames, stage2, 1, 1),
        ]
    return [
        (f"1 ({size})", small_w, small_h, frames, distilled_steps, 1, 1),
        ("2 (refine)", width, height, frames, stage2, 1, 1),
    ]


def _check_request(
    spec: ModelSpec, recipe: str, quantization: str, width: int, height: int, frames: int, scale: float = 2.0
):
    if recipe not in RECIPES:
        raise RequestError(f"recipe '{recipe}' is unknown; use one of {', '.join(RECIPES)}")
    if quantization not in PLAN_QUANTIZATIONS:
        raise RequestError(
            f"quantization '{quantization}' is unknown; use one of {', '.join(PLAN_QUANTIZATIONS)}"
        )
    two_stage = recipe in TWO_STAGE_RECIPES
    if float(scale) not in UPSAMPLER_SCALES:
        raise RequestError(f"upsampler scale {scale:g} is unknown; use 2 or 1.5")
    ratio = stage_1_size_step(spec.spatial_ratio, scale) if two_stage else spec.spatial_ratio
    for name, value in (("width", width), ("height", height)):
        if value <= 0 or value % ratio:
            why = f" (the {recipe} recipe runs stage 1 at 1/{scale:g} of it)" if two_stage else ""
            raise RequestError(f"{name} {value} must be a positive multiple of {ratio}{why}")
        if value > spec.max_side:
            raise RequestError(f"{name} {value} is larger than {spec.max_side}")
    if frames < 1 or (frames - 1) % spec.temporal_ratio:
        raise RequestError(
            f"frames {frames} must be {spec.temporal_ratio}k+1 (e.g. {spec.nearest_frames(max(frames, 1))})"
        )
    spec.check_length(frames, spec.default_fps)


# --- the plan -----------------------------------------------------------------------------------------------


def plan_generation(
    weights: ModelWeights,
    *,
    quantization: str = "none",
    recipe: str = "full",
    width: int = 768,
    height: int = 512,
    frames: int = 121,
    vram: int,
    ram: int,
    text_encoder_quantization: str = "none",
    image: bool = False,
    tflops: float = DEFAULT_TFLOPS,
    pcie_gbps: float = DEFAULT_PCIE_GBPS,
    keep_precise: list[str] | None = None,
    upsampler_scale: float = 2.0,
) -> MemoryPlan:
    """Plan a generation on a CUDA card with `vram` bytes and `ram` bytes of system memory (bf16 compute);
    `upsampler_scale` is the two-stage recipes' upsampler (2, or LTX-2.3's 1.5)."""
    from engine.tiling import plan_tiles

    if keep_precise is None:
        from engine.engine import TRANSFORMER_KEEP_PRECISE

        keep_precise = list(TRANSFORMER_KEEP_PRECISE)
    spec = SPECS.get(weights.version, SPECS["2.0"])
    _check_request(spec, recipe, quantization, width, height, frames, upsampler_scale)
    if vram <= CUDA_RESERVE:
        raise RequestError(f"{vram / GiB:.1f} GiB of VRAM is less than CUDA itself needs")
    notes = list(weights.notes)
    dtype_bytes = 2
    mode = quantization
    if weights.prequantized_fp8 and quantization in ("none", "fp8", "fp8-fast"):
        mode = "fp8-prequantized"
        notes.append("the transformer is a pre-quantized FP8 release: loaded as stored")
    # --- weights
    transformer = transformer_bytes(weights, mode, keep_precise, dtype_bytes)
    te_mode = text_encoder_quantization
    te_params = weights.params("text_encoder")
    te_bytes = {"none": 2, "fp8": 1, "int8": 1, "int4": 0.53}.get(te_mode, 2) * te_params
    sizes = {
        "transformer": transformer,
        "text encoder": int(te_bytes),
        "connectors": weights.params("connectors") * dtype_bytes,
        "VAE": weights.params("vae") * dtype_bytes,
        "audio VAE + vocoder": (weights.params("audio_vae") + weights.params("vocoder")) * dtype_bytes,
    }
    if recipe in TWO_STAGE_RECIPES:
        sizes["upsampler"] = weights.params("upsampler") * dtype_bytes
    # the connectors only turn Gemma's states into contexts: they come to the GPU with the text encoder
    resident_small = sum(
        v for k, v in sizes.items() if k not in ("transformer", "text encoder", "connectors")
    )
    # --- stages
    stages = []
    for name, w, h, f, steps, batch, samples in recipe_stages(
        spec, recipe, width, height, frames, upsampler_scale
    ):
        lf, lh, lw = spec.latent_shape(w, h, f)
        tokens, audio = lf * lh * lw, spec.audio_latent_frames(f, spec.default_fps)
        act = activation_bytes(
            weights.transformer_config,
            batch,
            tokens,
            audio,
            TEXT_TOKENS,
            dtype_bytes,
            per_token_timesteps=image,
        )
        flops = transformer_flops(weights, tokens, audio, TEXT_TOKENS)
        stages.append(StagePlan(name, w, h, f, steps, batch, samples, tokens, audio, act, flops))
    peak_act = max(s.activation_bytes for s in stages)
    usable = vram - CUDA_RESERVE
    # --- transformer placement
    blocks = weights.block_params
    block_share = transformer / max(1, weights.transformer_params)  # bytes per parameter after quantization
    outside_blocks = int((weights.transformer_params - sum(blocks)) * block_share)
    largest_block = int(max(blocks) * block_share) if blocks else 0
    largest_linear = max((o * i for _, o, i, _ in weights.linears), default=0) * block_share
    gpu_transformer = {
        "resident": transformer,
        "streamed": outside_blocks + 2 * largest_block,  # the block computing and the one arriving
        "sequential": int(2 * largest_linear),
    }
    te_act = TEXT_TOKENS * GEMMA_LAYERS_KEPT * weights.text_hidden_size * dtype_bytes * 2

    def evaluate(option: str):
        """(phases, text encoder place, tiles, VAE budget) with the transformer placed as `option`."""
        on_gpu = resident_small + gpu_transformer[option]
        # resident: the connectors stay on the GPU too; streamed: they come with the text encoder
        connectors = sizes["connectors"]
        if option == "resident":
            on_gpu += connectors
            connectors = 0
        encoding = on_gpu + connectors + te_act
        place = "gpu-while-encoding" if encoding + sizes["text encoder"] <= usable else "cpu"
        encode_peak = encoding + (sizes["text encoder"] if place != "cpu" else 0)
        budget = max(usable - on_gpu, 256 * 1024**2)
        tiles = plan_tiles(
            weights.vae_config,
            height,
            width,
            frames,
            budget,
            dtype_bytes,
            spec.spatial_ratio,
            spec.temporal_ratio,
        )
        phases = {
            "text encoding": encode_peak + CUDA_RESERVE,
            "denoising": on_gpu + peak_act + CUDA_RESERVE,
            "decoding": on_gpu + tiles.estimated_peak_bytes + CUDA_RESERVE,
        }
        return phases, place, tiles, budget

    # the first placement (fastest first) whose every phase fits the card; else layer by layer
    choice = "sequential"
    for option in ("resident", "streamed"):
        phases, _, tiles, budget = evaluate(option)
        if max(phases.values()) <= vram and tiles.estimated_peak_bytes <= budget:
            choice = option
            break
    phases, te_place, tiles, vae_budget = evaluate(choice)
    if te_place == "cpu":
        notes.append(
            "the text encoder does not fit beside the resident weights: it encodes on the CPU "
            "(quantizing it, e.g. --text-encoder-quant int8, would let it use the GPU)"
        )
    peak_vram = max(phases.values())
    # --- RAM: what lives in system memory while generating
    ram_parts = PROCESS_RAM + sizes["text encoder"]  # the text encoder waits on the CPU between prompts
    if choice != "resident":
        ram_parts += transformer  # pinned host copy the blocks stream from
    if te_place == "cpu":
        ram_parts += te_act
    peak_ram = int(ram_parts)
    # --- time
    rate = tflops * 1e12 * (2.0 if quantization == "fp8-fast" else 1.0)  # FP8 tensor cores: twice bf16
    seconds = 0.0
    for s in stages:
        compute = s.flops_per_sample * s.batch / rate
        passes = s.steps * math.ceil(s.samples_per_step / s.batch)
        per_pass = compute
        if choice == "streamed":
            per_pass = max(compute, transformer / (pcie_gbps * 1e9))
        elif choice == "sequential":
            per_pass = compute + transformer / (pcie_gbps * 1e9)
        seconds += passes * per_pass
    te_flops = 2.0 * te_params * TEXT_TOKENS * (2 if recipe == "full" else 1)
    seconds += te_flops / (rate if te_place != "cpu" else 1e12)
    if tiles.estimated_peak_bytes > vae_budget:
        notes.append("even the smallest VAE tiles exceed the memory left for decoding")
    fits = peak_vram <= vram and peak_ram <= ram and tiles.estimated_peak_bytes <= vae_budget
    if peak_ram > ram:
        notes.append(f"needs {peak_ram / GiB:.1f} GiB of system RAM, {ram / GiB:.1f} GiB given")
    if choice == "sequential":
        notes.append("layer-by-layer offloading: very slow; a smaller quantization or size would help")
    return MemoryPlan(
        model=weights.source,
        version=weights.version,
        quantization=quantization,
        recipe=recipe,
        width=width,
        height=height,
        frames=frames,
        vram=vram,
        ram=ram,
        transformer=choice,
        text_encoder=te_place,
        stages=tuple(stages),
        weight_bytes=sizes,
        vae_tiles=tiles,
        peak_vram=int(peak_vram),
        peak_ram=peak_ram,
        seconds=seconds,
        fits=bool(fits),
        phases=phases,
        notes=tuple(notes),
    )


def plan_for_device(
    model,
    text_encoder=None,
    quantization: str = "none",
    device=None,
    *,
    text_encoder_quantization: str = "none",
    recipe: str | None = None,
    width: int | None = None,
    height: int | None = None,
    frames: int | None = None,
) -> MemoryPlan:
    """The plan for `model` on this machine: free VRAM of `device` (CUDA) and available RAM, at the version's
    default size (768x512x121) unless given. What `Engine.from_checkpoint` follows on CUDA."""
    import torch

    from engine.model_sizes import weights_of
    from engine.tiling import available_memory

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    weights = weights_of(model, text_encoder)
    spec = SPECS.get(weights.version, SPECS["2.0"])
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        vram = int(free) + CUDA_RESERVE // 2  # part of the reserve is the context already counted as used
    else:
        vram = 1 << 50  # no GPU: nothing to place
    return plan_generation(
        weights,
        quantization=quantization,
        recipe=recipe or "full",
        width=width or spec.default_width,
        height=height or spec.default_height,
        frames=frames or spec.default_frames,
        vram=vram,
        ram=available_memory(torch.device("cpu")),
        text_encoder_quantization=text_encoder_quantization,
    )

"""The public engine: load LTX-2 once, then generate clips with sound, with progress, preview and cancel.

Generation runs the shared runtime (engine/runtime.py): the reference's guided Euler loop over diffusers'
LTX-2 modules, with the loaded model's `ModelSpec` for every default. Decoding is tiled from a memory budget
and skipped entirely on cancel.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import threading
import time
from pathlib import Path

import numpy as np
import torch
from diffusers.utils import logging as diffusers_logging

from engine import quantization as quant
from engine.checkpoint import CheckpointLayout, detect_layout
from engine.components import ModelComponents, build_skeleton, load_diffusers_folder, load_official
from engine.conditioning import clip_pixels, start_image_pixels
from engine.errors import GenerationCancelled, OutOfMemoryError, RequestError
from engine.models import LTX_2_0, GuidanceParams, ModelSpec, detect_spec, spec_for_file
from engine.recipes import NoiseSource, Stage, plan_stages, total_steps
from engine.request import (
    RECIPES,
    TWO_STAGE_RECIPES,
    GenerationRequest,
    GenerationResult,
    Keyframe,
    LoraChoice,
)
from engine.runtime import (
    LatentState,
    PreviewCallback,
    ProgressCallback,
    PromptContexts,
    Runtime,
    StageCallback,
    StepInfo,
    StepReporter,
    fit_length,
    to_uint8,
)
from engine.text_encoder import (
    TextEncoder,
    load_text_encoder,
    load_tokenizer,
    text_encoder_identity,
    text_encoder_skeleton,
)
from engine.tiling import TilePlan

log = logging.getLogger(__name__)

ENGINE_VERSION = "0.2.0"
MODEL_NAME = "Lightricks LTX-2"
# Prompt contexts kept per (prompt, negative prompt, length, text encoder): a new seed skips Gemma.
PROMPT_CACHE_SIZE = 8


# Layers that stay in full precision when the transformer is quantized: the input/output projections and the
# timestep/caption embeddings are small and most sensitive to rounding.
TRANSFORMER_KEEP_PRECISE = [
    "proj_in",
    "proj_out",
    "audio_proj_in",
    "audio_proj_out",
    "*time_embed*",
    "*caption_projection*",
    "av_cross_attn_*",
]
# Only Gemma's language-model layers are quantized: the vision tower is unused and the output head is tied
# to the embeddings.
TEXT_ENCODER_KEEP_PRECISE = ["lm_head", "*vision_tower*", "*multi_modal_projector*"]
NON_TRANSFORMER = ("connectors", "vae", "audio_vae", "vocoder")
# The distilled recipes run without guidance (one conditioned pass per step), as ltx-pipelines' distilled one.
DISTILLED_GUIDANCE = {
    "guidance_scale": 1.0,
    "audio_guidance_scale": 1.0,
    "stg_scale": 0.0,
    "audio_stg_scale": 0.0,
    "modality_scale": 1.0,
    "audio_modality_scale": 1.0,
    "guidance_rescale": 0.0,
    "audio_guidance_rescale": 0.0,
}


def _loader(layout: CheckpointLayout):
    if layout is CheckpointLayout.RELEASE_FOLDER:
        from engine.ltx25_layout import load_ltx25

        return load_ltx25
    if layout is CheckpointLayout.LTX23_SINGLE_FILE:
        from engine.ltx23_loader import load_ltx23

        return load_ltx23
    return load_official if layout is CheckpointLayout.OFFICIAL_SINGLE_FILE else load_diffusers_folder


def _load_components(
    path,
    layout: CheckpointLayout,
    dtype: torch.dtype,
    mode: str,
    cache: quant.QuantizedCache,
    device: torch.device,
    loras: list | None = None,
) -> ModelComponents:
    """Load every component; a quantized transformer comes from the cache when one exists for this file
    (and LoRA set: LoRAs are fused before quantizing)."""
    load = _loader(layout)
    if mode == "none":
        return load(path, dtype)
    components = load(path, dtype, only=NON_TRANSFORMER)
    config = components.configs["transformer"]
    components.transformer = quantized_transformer(
        lambda: load(path, dtype, only=("transformer",)).transformer,
        lambda: build_skeleton("transformer", config),
        mode,
        cache,
        components.identity,
        device,
        loras or [],
    )
    return components


def _lora_key(loras: list) -> tuple:
    """What identifies a fused LoRA set: each file's identity and strength, in order."""
    return tuple((str(lora.path), lora.identity, float(strength)) for lora, strength in loras)


def _load_lora_files(choices) -> list:
    """[(LoraFile, strength)] of LoraChoice items (or (path, strength) pairs); errors name the file."""
    from engine.lora import load_lora

    out = []
    for choice in choices:
        path, strength = (choice.path, choice.strength) if isinstance(choice, LoraChoice) else choice
        out.append((load_lora(path), float(strength)))
    return out


def _distilled_choice(lora) -> LoraChoice:
    """A distilled LoRA (a path or LoraChoice), checked to be a LoRA file (CheckpointError names it)."""
    from engine.lora import load_lora

    choice = lora if isinstance(lora, LoraChoice) else LoraChoice(str(lora), 1.0)
    load_lora(choice.path)
    return LoraChoice(str(choice.path), float(choice.strength))


def _same_file(a, b) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == str(b)


def quantized_transformer(load_full, build, mode, cache, identity, device, loras) -> torch.nn.Module:
    """A quantized transformer with `loras` fused before quantizing, from the on-disk cache keyed by the
    checkpoint's identity plus every LoRA file's identity and strength (switching back to a used set is a
    cache read, not a re-fuse and re-quantize)."""
    from engine.lora import fuse_loras

    key = identity
    if loras:
        sets = ";".join(f"{ident}@{strength:g}" for _, ident, strength in _lora_key(loras))
        key = f"{identity}|loras:{sets}"

    def load_fused():
        module = load_full()
        if loras:
            fuse_loras(module, loras)
        return module

    return _quantize_with_cache(
        load_fused, build, mode, cache, key, "transformer", device, exclude=TRANSFORMER_KEEP_PRECISE
    )


def _attach_release_companions(components, path, layout, dtype, upsampler, text_encoder):
    """The spatial upsamplers beside a single-file checkpoint or in a 2.5 folder's `latent_upscale_models/`
    (or the ones named: a path or a list of paths, each placed by the scale its config says), and the LoRAs
    found there. Returns the `UpsamplerSet`; the x2 one is loaded now (`components.upsampler`), others when a
    request first needs them."""
    from engine.ltx25_layout import UPSAMPLER_DIR
    from engine.upsampler import UpsamplerSet, find_upsampler_files, load_upsampler

    upsamplers = UpsamplerSet(dtype)
    if components.upsampler is not None:  # the 2.5 folder's loader took the first file it found
        upsamplers.add(components.upsampler)
    given = [upsampler] if isinstance(upsampler, (str, Path)) else list(upsampler or [])
    for item in given:
        upsamplers.add(load_upsampler(item, dtype))  # a bad file named by the caller is an error
    if given:
        components.companions["upsampler"] = Path(given[0])
    folder = Path(path) if layout is CheckpointLayout.RELEASE_FOLDER else Path(path).parent
    if layout in (CheckpointLayout.OFFICIAL_SINGLE_FILE, CheckpointLayout.LTX23_SINGLE_FILE):
        from engine.checkpoint_report import describe_checkpoint

        try:
            report = describe_checkpoint(path, text_encoder=text_encoder)
        except Exception as exc:  # noqa: BLE001 -- the report is a convenience; loading already succeeded
            log.warning("could not look for companions beside %s (%s)", path, exc)
            report = None
        if report is not None:
            for found in report.upscalers:
                upsamplers.add_file(found)
            components.companions.setdefault("loras", list(report.loras))
    if layout in (
        CheckpointLayout.OFFICIAL_SINGLE_FILE,
        CheckpointLayout.LTX23_SINGLE_FILE,
        CheckpointLayout.RELEASE_FOLDER,
    ):
        from engine.checkpoint_report import companion_folders

        for found in find_upsampler_files(companion_folders(folder, UPSAMPLER_DIR)):
            upsamplers.add_file(found)
    components.upsampler = upsamplers.get(2.0)
    if components.upsampler is not None and "upsampler" not in components.companions:
        components.companions["upsampler"] = Path(components.upsampler.source)
    return upsamplers


def _quantize_with_cache(
    load_full,
    build_skeleton_fn,
    mode: str,
    cache: quant.QuantizedCache,
    identity: str,
    component: str,
    device: torch.device,
    exclude: list[str] | None = None,
):
    """Requantize from the on-disk cache if possible; otherwise load, quantize and store for next time."""
    skeleton = build_skeleton_fn()
    if skeleton is not None and cache.load_into(skeleton, identity, mode, component, torch.device("cpu")):
        log.info("%s: loaded %s weights from the quantization cache", component, mode)
        return skeleton.eval().requires_grad_(False)
    module = load_full()
    log.info("%s: quantizing to %s (first launch for this checkpoint; cached afterwards)", component, mode)
    quant.quantize_module(module, mode, exclude=exclude)
    if mode == "fp8-fast":  # a cast of the loaded weights, seconds: not cached
        return module
    try:
        cache.save(module, identity, mode, component)
    except OSError as exc:  # a read-only or full cache folder must not stop generation
        log.warning("could not write the quantization cache (%s); the next launch will quantize again", exc)
    return module


def _fp8_fallback(mode: str, device: torch.device) -> str:
    """fp8-fast needs FP8 tensor cores: elsewhere weight-only fp8, with a warning that says why."""
    from engine.fp8 import effective_mode

    mode, why = effective_mode(mode, device)
    if why:
        log.warning("%s", why)
    return mode


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


@contextlib.contextmanager
def _diffusers_quiet():
    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(previous)


class Engine:
    """A loaded LTX-2 model ready to generate. Build it with `from_checkpoint` or `tiny`.

    `engine.spec` is the loaded version's `ModelSpec` (defaults, size rules, audio rate); `engine.runtime`
    is the shared runtime generation and inpainting run on.
    """

    def __init__(
        self,
        components: ModelComponents,
        text_encoder: TextEncoder,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        quantization: str = "none",
        offload_text_encoder: bool | None = None,
        vae_memory_budget: int | None = None,
        max_sequence_length: int = 1024,
        model_name: str = MODEL_NAME,
        spec: ModelSpec | None = None,
        memory_plan=None,
        compile_blocks: bool | None = None,
    ):
        self.device = torch.device(device) if device is not None else default_device()
        # engine.planner.MemoryPlan: where the transformer and text encoder go (None: all resident)
        self.memory_plan = memory_plan
        self.transformer_placement = memory_plan.transformer if memory_plan is not None else "resident"
        if memory_plan is not None and memory_plan.text_encoder == "cpu":
            offload_text_encoder = False  # it stays on the CPU and encodes there
        self.dtype = dtype or default_dtype(self.device)
        self.components = components
        self.text_encoder = text_encoder
        self.quantization = quantization
        self.model_name = model_name
        self.max_sequence_length = max_sequence_length
        self.offload_text_encoder = (
            (self.device.type == "cuda") if offload_text_encoder is None else offload_text_encoder
        )
        self.last_preview_stats: dict[str, float] = {}

        if quantization != "none":
            # A missing compiler or unwritable kernel folder becomes a clear error here, not a crash later.
            quant.ensure_kernels(quantization, self.device)
        for name, module in components.modules().items():
            if name != "transformer" or self.transformer_placement == "resident":
                module.to(self.device)
            if name != "transformer" or quantization == "none":
                # LTX-2's classes list no modules that must stay fp32, so diffusers' warning about
                # casting with `.to()` does not apply; keep it off the user's console.
                with _diffusers_quiet():
                    module.to(self.dtype)
        if self.transformer_placement != "resident":
            from engine.placement import place_transformer

            place_transformer(components.transformer, self.transformer_placement, self.device)
        from engine.fp8 import prepare_compute

        # a pre-quantized FP8 release or fp8-fast: FP8 matmuls on FP8 tensor cores, else weight-only
        self.fp8_compute = prepare_compute(components.transformer, self.device)
        from engine.placement import compile_blocks as compile_regions
        from engine.placement import compile_requested

        # regional torch.compile of the transformer blocks: off unless asked ($AIPROD_COMPILE_BLOCKS=1)
        self.compiled_blocks = 0
        if compile_requested(compile_blocks):
            self.compiled_blocks = compile_regions(components.transformer)
        text_encoder.model.to("cpu" if self.offload_text_encoder else self.device)
        if spec is None:
            spec = detect_spec(config=components.configs.get("transformer"))
        self.runtime = Runtime(
            components,
            text_encoder,
            spec,
            device=self.device,
            dtype=self.dtype,
            offload_text_encoder=self.offload_text_encoder,
            vae_memory_budget=vae_memory_budget,
            planned_tiles=getattr(memory_plan, "vae_tiles", None),
        )
        self._prompt_cache: dict[tuple, PromptContexts] = {}
        self.prompt_encodings = 0  # how many times the text encoder ran (the cache's misses)
        from engine.lora import LoraSwitcher

        self._lora_switcher = LoraSwitcher(components.transformer)
        self._quantized_loras: tuple = ()  # the set fused into a quantized transformer before quantizing
        self._reload_transformer = None  # set by from_checkpoint: () -> full-precision transformer
        self._quant_cache: quant.QuantizedCache | None = None
        from engine.upsampler import UpsamplerSet

        # the latent spatial upsamplers by scale (from_checkpoint fills it with those found or given)
        self.upsamplers = UpsamplerSet(self.dtype)
        if components.upsampler is not None:
            self.upsamplers.add(components.upsampler)
        self._distilled_lora: LoraChoice | None = None  # given; else the one found beside the checkpoint

    # --- construction ---------------------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        text_encoder: str | Path | None = None,
        *,
        quantization: str = "none",
        device: torch.device | str | None = None,
        text_encoder_quantization: str = "none",
        cache_dir: str | Path | None = None,
        vae_memory_budget: int | None = None,
        upsampler: str | Path | list | None = None,
        loras: list[LoraChoice] | None = None,
        memory_plan=None,
        distilled_lora: str | Path | LoraChoice | None = None,
    ) -> Engine:
        """Load an official single-file checkpoint or a diffusers folder, plus a local Gemma-3 root.

        Nothing is fetched from any hub. With `quantization` other than "none" the transformer is quantized
        with optimum-quanto and cached on disk, keyed by the checkpoint's identity, so later launches skip it.

        The release's latent spatial upsamplers (the two-stage recipes need one: x2, or LTX-2.3's x1.5) are
        found beside the checkpoint (a 2.0/2.3 file's folder, a 2.5 folder's `latent_upscale_models/`);
        `upsampler` names one or a list of them instead (each placed by the scale its config says).
        `loras` (LoraChoice) are fused from the start; for a quantized model they are fused before quantizing
        (see `set_loras`). `engine.available_loras` lists the LoRAs found beside it. `distilled_lora` (a path
        or a LoraChoice with its strength) is the LoRA the two-stage-full recipe adds for its refine; by
        default the one found beside the checkpoint (a LoRA file named "distilled").

        `memory_plan` (engine.planner.MemoryPlan) places the transformer (resident, streamed block by block,
        or layer by layer) and the text encoder; on CUDA without one, `engine.planner.plan_for_device` plans
        the version's default size with the free VRAM and RAM.
        """
        mode = quant.parse_mode(quantization)
        te_mode = quant.parse_mode(text_encoder_quantization)
        device = torch.device(device) if device is not None else default_device()
        dtype = default_dtype(device)
        mode = _fp8_fallback(mode, device)
        from engine.text_encoder import check_root

        if not Path(path).is_dir():
            # Name a missing or broken Gemma folder first, before the checkpoint is even opened (only a
            # folder can be an LTX-2.5 release, which carries its own text encoder).
            check_root(text_encoder)
        layout = detect_layout(path)
        release = layout is CheckpointLayout.RELEASE_FOLDER  # LTX-2.5: the text encoder is inside the folder
        if not release:
            check_root(text_encoder)  # fail before spending minutes on the transformer
        cache = quant.QuantizedCache(Path(cache_dir) if cache_dir else quant.default_cache_root())
        lora_files = _load_lora_files(loras or [])  # a bad file fails before the minutes of loading
        components = _load_components(path, layout, dtype, mode, cache, device, lora_files)
        if layout in (CheckpointLayout.OFFICIAL_SINGLE_FILE, CheckpointLayout.LTX23_SINGLE_FILE):
            spec = spec_for_file(path)
        elif release:
            spec = spec_for_file(components.companions["transformer"])
        else:
            spec = detect_spec(config=components.configs.get("transformer"))
        if release:
            from engine.ltx25_layout import load_extras

            # a quantized load builds the core modules only; the folder's other parts come here
            encoder = load_extras(components, dtype).text_encoder
            if te_mode != "none":
                quant.quantize_module(encoder.model, te_mode, exclude=TEXT_ENCODER_KEEP_PRECISE)
        elif te_mode == "none":
            encoder = load_text_encoder(text_encoder, dtype)
        else:
            root = Path(text_encoder)
            model = _quantize_with_cache(
                lambda: load_text_encoder(root, dtype).model,
                lambda: text_encoder_skeleton(root, dtype),
                te_mode,
                cache,
                text_encoder_identity(root),
                "text_encoder",
                device,
                exclude=TEXT_ENCODER_KEEP_PRECISE,
            )
            encoder = TextEncoder(model, load_tokenizer(root), str(root))
        if distilled_lora is not None:  # a bad file fails before the minutes of loading
            distilled_lora = _distilled_choice(distilled_lora)
        upsamplers = _attach_release_companions(components, path, layout, dtype, upsampler, text_encoder)
        if memory_plan is None and device.type == "cuda":
            from engine.errors import EngineError
            from engine.planner import plan_for_device

            try:
                memory_plan = plan_for_device(
                    path, text_encoder, mode, device, text_encoder_quantization=te_mode
                )
            except (EngineError, ValueError, OSError) as exc:  # no plan must not stop a model that loaded
                log.warning("no memory plan (%s); the model stays resident on the GPU", exc)
        engine = cls(
            components,
            encoder,
            device=device,
            dtype=dtype,
            quantization=mode,
            vae_memory_budget=vae_memory_budget,
            spec=spec,
            memory_plan=memory_plan,
        )
        load = _loader(layout)
        engine._reload_transformer = lambda: load(path, dtype, only=("transformer",)).transformer
        engine._lora_switcher.reload = engine._reload_transformer  # big LoRA sets unfuse from the file
        engine._quant_cache = cache
        engine.upsamplers = upsamplers
        engine._distilled_lora = distilled_lora
        if lora_files:
            if mode == "none":
                engine._lora_switcher.apply(lora_files)
            else:
                engine._quantized_loras = _lora_key(lora_files)
        return engine

    @classmethod
    def tiny(
        cls,
        seed: int = 0,
        *,
        device: torch.device | str | None = "cpu",
        quantization: str = "none",
        vae_memory_budget: int | None = None,
    ) -> Engine:
        """A random-init model of the real architecture, built in-process (no files). It produces noise."""
        from engine.tiny import TINY_MAX_SEQUENCE, tiny_components, tiny_text_encoder

        mode = quant.parse_mode(quantization)
        device = torch.device(device) if device is not None else default_device()
        mode = _fp8_fallback(mode, device)
        components = tiny_components(seed)
        if mode != "none":
            quant.quantize_module(components.transformer, mode, exclude=TRANSFORMER_KEEP_PRECISE)
        return cls(
            components,
            tiny_text_encoder(seed),
            device=device,
            quantization=mode,
            vae_memory_budget=vae_memory_budget,
            max_sequence_length=TINY_MAX_SEQUENCE,
            model_name="tiny random LTX-2 (noise)",
            spec=LTX_2_0,
        )

    # --- properties -----------------------------------------------------------------------------------------

    @property
    def spec(self) -> ModelSpec:
        """The loaded version's description (defaults adjusted to this transformer's depth)."""
        return self.runtime.spec

    @property
    def spatial_ratio(self) -> int:
        return self.runtime.spatial_ratio

    @property
    def temporal_ratio(self) -> int:
        return self.runtime.temporal_ratio

    @property
    def audio_sample_rate(self) -> int:
        return self.runtime.audio_sample_rate

    @property
    def identity(self) -> str:
        return self.components.identity

    @property
    def vae_memory_budget(self) -> int | None:
        return self.runtime.vae_memory_budget

    @vae_memory_budget.setter
    def vae_memory_budget(self, value: int | None) -> None:
        self.runtime.vae_memory_budget = value

    @property
    def last_tile_plan(self) -> TilePlan | None:
        return self.runtime.last_tile_plan

    @property
    def upsampler(self):
        """The x2 latent spatial upsampler (engine.upsampler.LatentUpsampler) or None."""
        return self.upsamplers.get(2.0)

    @property
    def distilled_lora(self) -> LoraChoice | None:
        """The LoRA the two-stage-full recipe adds for its refine: the one given (`from_checkpoint`,
        `set_distilled_lora`), else a LoRA named "distilled" found beside the checkpoint (strength 1, as
        ltx-pipelines' DEFAULT_LORA_STRENGTH), else None."""
        if self._distilled_lora is not None:
            return self._distilled_lora
        found = [p for p in self.available_loras if "distilled" in p.name.lower()]
        return LoraChoice(str(found[0]), 1.0) if found else None

    def set_distilled_lora(self, lora: str | Path | LoraChoice | None) -> None:
        """Use `lora` (a path, or a LoraChoice with its strength) as the two-stage-full refine's distilled
        LoRA; None goes back to the one found beside the checkpoint. A file that is not a LoRA raises
        CheckpointError and changes nothing."""
        self._distilled_lora = None if lora is None else _distilled_choice(lora)

    @property
    def is_distilled_checkpoint(self) -> bool:
        """Whether the weights are a distilled release (by its file name, as Lightricks names them)."""
        source = Path(self.components.companions.get("transformer") or self.components.source).name.lower()
        return "distilled" in source

    @property
    def available_loras(self) -> list[Path]:
        """LoRA files found beside the checkpoint (the release's distilled LoRA, for example)."""
        return [Path(p) for p in self.components.companions.get("loras", []) or []]

    @property
    def active_loras(self) -> list[dict]:
        """The LoRAs fused now: [{"path", "identity", "strength"}]."""
        active = self._quantized_loras if self.quantization != "none" else self._lora_switcher.active
        return [{"path": p, "identity": i, "strength": s} for p, i, s in active]

    @property
    def default_recipe(self) -> str:
        """"distilled" for a distilled checkpoint (by its file name, as Lightricks names them) or a dev one
        with the distilled LoRA fused; "full" otherwise."""
        source = Path(self.components.companions.get("transformer") or self.components.source).name.lower()
        loras = [Path(d["path"]).name.lower() for d in self.active_loras]
        if "distilled" in source or any("distilled" in name for name in loras):
            return "distilled"
        return "full"

    def recipes(self) -> list[str]:
        """The recipes this engine can run now: the version's (`spec.recipes`), the two-stage ones only with a
        latent upsampler, two-stage-full only on a dev checkpoint with the distilled LoRA at hand."""
        out = []
        for recipe in self.spec.recipes:
            if recipe in TWO_STAGE_RECIPES and not self.upsamplers.scales():
                continue
            if recipe == "two-stage-full" and (self.is_distilled_checkpoint or self.distilled_lora is None):
                continue
            out.append(recipe)
        return out

    # --- LoRAs ----------------------------------------------------------------------------------------------

    def set_loras(self, loras) -> None:
        """Make `loras` (LoraChoice items, or (path, strength) pairs) the fused set; [] removes every LoRA.

        Unquantized: the targeted weights' originals are kept and restored exactly before the next set is
        fused (no reload). Quantized: the transformer is reloaded from the checkpoint, the set fused before
        quantizing, and the result cached on disk keyed by checkpoint + LoRA files + strengths, so switching
        back to a used set reads the cache. A bad file raises CheckpointError and changes nothing.
        """
        files = _load_lora_files(loras)
        if self.quantization == "none":
            self._lora_switcher.apply(files)
            return
        key = _lora_key(files)
        if key == self._quantized_loras:
            return
        if self._reload_transformer is None:
            raise RequestError(
                "LoRAs cannot be changed on this quantized model (it was not loaded from a checkpoint); "
                "load it without quantization"
            )
        config = self.components.configs["transformer"]
        transformer = quantized_transformer(
            self._reload_transformer,
            lambda: build_skeleton("transformer", config),
            self.quantization,
            self._quant_cache,
            self.components.identity,
            self.device,
            files,
        ).to(self.device)
        from engine.runtime import install_stg

        install_stg(transformer)
        self.components.transformer = transformer
        self._quantized_loras = key

    # --- requests -------------------------------------------------------------------------------------------

    def resolve(self, request: GenerationRequest) -> GenerationRequest:
        """`request` with the loaded model's reference values for every unset field, validated."""
        if request.max_sequence_length == GenerationRequest.max_sequence_length:
            request = request.with_changes(max_sequence_length=self.max_sequence_length)
        if request.recipe is None:
            request = request.with_changes(recipe=self.default_recipe)
        if request.recipe not in ("full", "two-stage-full", None) and request.recipe in self.spec.recipes:
            if request.steps is not None:
                raise RequestError(
                    f"the {request.recipe} recipe has fixed sigmas ({len(self.spec.distilled_sigmas) - 1} "
                    "steps); leave steps unset or use the full recipe"
                )
            request = request.with_changes(steps=len(self.spec.distilled_sigmas) - 1)
            unset = {k: v for k, v in DISTILLED_GUIDANCE.items() if getattr(request, k) is None}
            request = request.with_changes(**unset)
        elif request.recipe not in self.spec.recipes and request.recipe in RECIPES:
            raise RequestError(f"{self.spec.name} has no {request.recipe} recipe")
        explicit_blocks = request.stg_blocks is not None
        request = request.with_defaults(self.spec.guidance_defaults())
        request.validate(
            self.spatial_ratio,
            self.temporal_ratio,
            num_layers=len(self.components.transformer.transformer_blocks) if explicit_blocks else None,
        )
        self.spec.check_length(request.num_frames, request.fps)
        if request.recipe in TWO_STAGE_RECIPES:
            self.upsamplers.require(request.upsampler_scale, request.recipe)
        if request.recipe == "two-stage-full":
            if self.is_distilled_checkpoint:
                raise RequestError(
                    "the two-stage-full recipe runs the dev model's guided steps in stage 1; this is a "
                    "distilled checkpoint: use the two-stage recipe"
                )
            if self.distilled_lora is None:
                raise RequestError(
                    "the two-stage-full recipe refines with the release's distilled LoRA (e.g. "
                    "ltx-2.3-22b-distilled-lora-384-1.1.safetensors beside the checkpoint); put it there or "
                    "pass distilled_lora= / --distilled-lora"
                )
        if request.video_decoder == "diffusion" and self.components.diffusion_decoder is None:
            raise RequestError(
                "the diffusion video decoder is not loaded (LTX-2.5 release folders bring it as "
                "vae/ltx-2.5-video-vae-*.safetensors); use the conv decoder"
            )
        return request

    def guidance(self, request: GenerationRequest) -> tuple[GuidanceParams, GuidanceParams]:
        """(video, audio) guidance of a resolved request."""
        blocks = tuple(request.stg_blocks)
        video = GuidanceParams(
            cfg_scale=request.guidance_scale,
            stg_scale=request.stg_scale,
            stg_blocks=blocks,
            rescale_scale=request.guidance_rescale,
            modality_scale=request.modality_scale,
        )
        audio = GuidanceParams(
            cfg_scale=request.audio_guidance_scale,
            stg_scale=request.audio_stg_scale,
            stg_blocks=blocks,
            rescale_scale=request.audio_guidance_rescale,
            modality_scale=request.audio_modality_scale,
        )
        return video, audio

    def encode_prompts(self, request: GenerationRequest) -> PromptContexts:
        """Contexts of a resolved request (the negative prompt's only when CFG needs them)."""
        guided = not (
            math.isclose(request.guidance_scale, 1.0) and math.isclose(request.audio_guidance_scale, 1.0)
        )
        negative = request.negative_prompt if guided else None
        encoder = self.text_encoder
        key = (request.prompt, negative, request.max_sequence_length, encoder.source, id(encoder.model))
        cached = self._prompt_cache.pop(key, None)
        if cached is None:
            from engine.placement import on_device_while

            # with a streamed transformer the connectors come to the GPU only while prompts are encoded
            streamed = self.transformer_placement != "resident"
            with on_device_while(self.components.connectors, self.device, streamed):
                cached = self.runtime.encode_prompts(request.prompt, negative, request.max_sequence_length)
            self.prompt_encodings += 1
        self._prompt_cache[key] = cached  # most recently used last
        while len(self._prompt_cache) > PROMPT_CACHE_SIZE:
            self._prompt_cache.pop(next(iter(self._prompt_cache)))
        return cached

    def initial_noise(
        self, request: GenerationRequest, video_tokens: int, audio_tokens: int, noise=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The initial noise in packed tokens: `noise` ([video, audio], each [1, tokens, C]) if given, else
        drawn from the request's seed on the CPU in the reference's order (video, then audio)."""
        channels = int(self.components.transformer.config.in_channels)
        audio_channels = int(self.components.transformer.config.audio_in_channels)
        shapes = ((1, video_tokens, channels), (1, audio_tokens, audio_channels))
        if noise is None:
            generator = torch.Generator(device="cpu").manual_seed(request.seed)
            return tuple(torch.randn(*shape, generator=generator) for shape in shapes)
        tensors = list(noise) if isinstance(noise, (list, tuple)) else [noise]
        if len(tensors) != 2:
            raise RequestError(
                f"noise must be two tensors (video tokens, then audio tokens), got {len(tensors)}"
            )
        out = []
        for name, tensor, shape in zip(("video", "audio"), tensors, shapes, strict=True):
            tensor = torch.as_tensor(tensor)
            if tuple(tensor.shape) != shape:
                raise RequestError(
                    f"the {name} noise has shape {tuple(tensor.shape)}; this request needs {shape} "
                    "(packed tokens [1, tokens, channels], as the reference pipeline draws them)"
                )
            if not torch.isfinite(tensor).all():
                raise RequestError(f"the {name} noise contains NaN or infinite values")
            out.append(tensor.float())
        return out[0], out[1]

    # --- generation -----------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        on_preview: PreviewCallback | None = None,
        cancel: threading.Event | None = None,
        noise: list[torch.Tensor] | None = None,
        on_stage: StageCallback | None = None,
    ) -> GenerationResult:
        """Generate one clip with sound. Raises GenerationCancelled (nothing decoded) if `cancel` is set.

        `noise`, when given, replaces the seed's draws: every draw of the recipe in the reference's order and
        packed token layout ([1, F*H*W (+ keyframe tokens), 128] frame-major, [1, T, 128] channel-major):
        full: [video, audio]; distilled: [video, audio] plus, for LTX-2.5's ancestral sampler, a video and an
        audio draw per step but the last; two-stage: stage 1's draws, then stage 2's [video, audio].
        `on_progress(step, steps)` counts over all stages; `on_stage(StageProgress)` says which stage.
        """
        request = self.resolve(request)
        if request.loras is not None:
            self.set_loras(request.loras)
        # the clip records the LoRAs really fused (the engine's set when the request named none)
        request = request.with_changes(
            loras=tuple(LoraChoice(d["path"], d["strength"]) for d in self.active_loras)
        )
        image = self._load_image(request.image) if request.image is not None else None
        keyframes = [(self._load_keyframe(k), k.frame, float(k.strength)) for k in request.keyframes]
        if image is not None:
            keyframes.insert(0, (image, 0, 1.0))
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(0)
        try:
            return self._generate(request, keyframes, on_progress, on_preview, cancel, noise, on_stage)
        except torch.OutOfMemoryError as exc:
            raise OutOfMemoryError(
                f"out of {self.device.type.upper()} memory at {request.width}x{request.height}, "
                f"{request.num_frames} frames (quantization: {self.quantization}); try int4 quantization, "
                "fewer frames or a smaller size"
            ) from exc

    def _generate(self, request, keyframes, on_progress, on_preview, cancel, noise, on_stage):
        runtime = self.runtime
        timings: dict[str, float] = {}
        started = time.perf_counter()
        stages = plan_stages(
            self.spec,
            request.recipe,
            request.width,
            request.height,
            self.spec.sigmas(request.steps),
            request.upsampler_scale,
        )
        # two-stage-full: stage 1 runs the caller's LoRAs without the distilled one, stage 2 adds it (as
        # ltx-pipelines builds its two stages); the caller's set is back in place afterwards, whatever happens
        user_loras = tuple(request.loras or ())
        stage_loras = {}
        if any(stage.distilled_lora for stage in stages):
            distilled = self.distilled_lora
            base = tuple(c for c in user_loras if not _same_file(c.path, distilled.path))
            stage_loras = {st.index: base + ((distilled,) if st.distilled_lora else ()) for st in stages}
        channels, audio_frames, _ = runtime.audio_latent_shape(request.num_frames, request.fps)
        draws = NoiseSource(request.seed, noise)
        draws.expect(stages)
        contexts = self.encode_prompts(request)
        timings["text_encoder_s"] = time.perf_counter() - started

        previews: dict = {}
        reporter = StepReporter(
            total_steps(stages),
            on_progress,
            on_preview,
            cancel,
            request.preview_every,
            lambda info: previews["stage"](info),  # the current stage's grid
        )
        reporter.on_stage = on_stage
        video_guidance, audio_guidance = self.guidance(request)
        denoise_start = time.perf_counter()
        reporter.start = denoise_start
        offset = 0
        video_latents = audio_tokens = None
        stage_records = []
        # each stage's step weighs its tokens times its guidance passes (for the progress fraction / ETA)
        passes = 1 + sum(
            not math.isclose(a, b)
            for a, b in (
                (max(video_guidance.cfg_scale, audio_guidance.cfg_scale), 1.0),
                (max(video_guidance.stg_scale, audio_guidance.stg_scale), 0.0),
                (max(video_guidance.modality_scale, audio_guidance.modality_scale), 1.0),
            )
        )
        step_work = [
            math.prod(runtime.latent_grid(st.width, st.height, request.num_frames))
            * (passes if st.guided else 1)
            for st in stages
        ]
        total_work = float(sum(w * st.steps for w, st in zip(step_work, stages, strict=True)))
        work_before = 0.0
        try:
            for stage, work in zip(stages, step_work, strict=True):
                if stage.index in stage_loras:
                    self.set_loras(list(stage_loras[stage.index]))
                stage_records.append(self.active_loras)
                video_latents, audio_tokens = self._run_stage(
                    stage, work, request, keyframes, video_latents, audio_tokens, audio_frames, draws,
                    previews, reporter, offset, work_before, total_work, contexts, video_guidance,
                    audio_guidance,
                )
                offset += stage.steps
                work_before += work * stage.steps
        finally:
            if stage_loras:
                self.set_loras(list(user_loras))
        draws.check_used_up()
        timings["denoise_s"] = time.perf_counter() - denoise_start
        return self._finish(request, stages, stage_records, video_latents, audio_tokens, channels, timings,
                            reporter, started, noise)

    def _run_stage(self, stage, work, request, keyframes, video_latents, audio_tokens, audio_frames, draws,
                   previews, reporter, offset, work_before, total_work, contexts, video_guidance,
                   audio_guidance):
        """One stage's denoising loop; returns (video latents [1, C, f, h, w], audio tokens) for the clip
        (a stage that does not give the clip its sound passes the previous stage's audio on)."""
        runtime = self.runtime
        grid = runtime.latent_grid(stage.width, stage.height, request.num_frames)
        tokens = math.prod(grid)
        conditioning = self._keyframe_condition(keyframes, request, stage, grid)
        video, audio = self._stage_state(
            stage, grid, conditioning, video_latents, audio_tokens, audio_frames, request, draws
        )

        def preview(info: StepInfo) -> np.ndarray:
            return to_uint8(runtime.decode_frame(info.video_x0[:, :tokens], grid, grid[0] // 2))

        previews["stage"] = preview
        reporter.begin_stage(
            stage.index, stage.count, stage.steps, offset, reporter.total, work_before, work, total_work
        )
        plain = GuidanceParams()
        with torch.no_grad():
            video, audio = runtime.denoise(
                video,
                audio,
                torch.tensor(stage.sigmas, dtype=torch.float32),
                contexts,
                video_guidance if stage.guided else plain,
                audio_guidance if stage.guided else plain,
                reporter,
                sampler=stage.sampler,
                draw_noise=lambda shape, what, n=stage.index: draws.draw(
                    shape, f"stage {n} ancestral {what} noise", ancestral=True
                ),
            )
        video_latents = runtime.unpack_video(video.latent[:, :tokens], grid)  # keyframe tokens dropped
        return video_latents, audio.latent if stage.audio_out or audio_tokens is None else audio_tokens

    def _finish(self, request, stages, stage_records, video_latents, audio_tokens, channels, timings,
                reporter, started, noise) -> GenerationResult:
        """Decode the final latents and describe the clip."""
        runtime = self.runtime
        timings["preview_s"] = reporter.spent
        self.last_preview_stats = reporter.stats(timings["denoise_s"])

        audio_latents = runtime.unpack_audio(audio_tokens, channels)
        decode_start = time.perf_counter()
        if request.video_decoder == "diffusion":
            frames = runtime.decode_video_diffusion(runtime.denormalize_video(video_latents), request.seed)
        else:
            frames = runtime.decode_video_vae_space(runtime.denormalize_video(video_latents))
        waveform = runtime.decode_audio_vae_space(runtime.denormalize_audio(audio_latents))
        timings["decode_s"] = time.perf_counter() - decode_start
        timings["total_s"] = time.perf_counter() - started

        frames_np = ((frames[0].float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).cpu().numpy()
        audio_np = fit_length(
            waveform[0].float().clamp(-1, 1).cpu().numpy(),
            round(request.num_frames / request.fps * self.audio_sample_rate),
        )
        metadata = self.metadata(request)
        metadata["stages"] = [
            {"width": st.width, "height": st.height, "steps": st.steps, "sampler": st.sampler}
            for st in stages
        ]
        if len(stages) > 1:
            metadata["upsampler_scale"] = float(request.upsampler_scale)
        if any(st.distilled_lora for st in stages):
            for record, loras in zip(metadata["stages"], stage_records, strict=True):
                record["loras"] = loras
            metadata["distilled_lora"] = {
                "path": str(self.distilled_lora.path), "strength": float(self.distilled_lora.strength)
            }
        if noise is not None:
            metadata["noise"] = "caller-supplied"
        return GenerationResult(
            frames=np.ascontiguousarray(frames_np, dtype=np.float32),
            audio=np.ascontiguousarray(audio_np, dtype=np.float32),
            sample_rate=self.audio_sample_rate,
            fps=float(request.fps),
            metadata=metadata,
            video_latents=video_latents.float().cpu(),
            audio_latents=audio_latents.float().cpu(),
            timings=timings,
        )

    def _stage_state(self, stage: Stage, grid, conditioning, previous_video, previous_audio, audio_frames,
                     request, draws: NoiseSource) -> tuple[LatentState, LatentState]:
        """The latent states a stage starts from, as ltx-pipelines builds them: noise (stage 1) or the
        upsampled previous latent blended with fresh noise at the stage's first sigma (the reference's
        noiser: x = lerp(clean, lerp(x, noise, s0), mask)); conditioned tokens keep their clean values."""
        runtime = self.runtime
        clean, mask, extra_clean, extra_mask, extra_coords = conditioning
        coords = torch.cat([runtime.video_coords(grid, request.fps), extra_coords.to(self.device)], dim=2)
        channels = int(self.components.transformer.config.in_channels)
        audio_channels = int(self.components.transformer.config.audio_in_channels)
        n = stage.index
        total = clean.shape[1] + extra_clean.shape[1]
        video_noise = draws.draw((1, total, channels), f"stage {n} video noise").to(self.device)
        audio_noise = draws.draw((1, audio_frames, audio_channels), f"stage {n} audio noise").to(self.device)
        audio_clean, audio_mask = self._audio_prefix(request, audio_frames, audio_channels)
        if stage.upsample:
            from engine.upsampler import upsample_latent

            vae = self.components.vae
            upsampler = self.upsamplers.require(request.upsampler_scale, request.recipe)
            upsampled = upsample_latent(previous_video, upsampler, vae.latents_mean, vae.latents_std)
            base = runtime.pack_video(upsampled.to(self.device).float())
            start = float(stage.sigmas[0])
            video_base = torch.cat([base, torch.zeros_like(extra_clean)], dim=1)
            video_noise = (1 - start) * video_base + start * video_noise
            audio_base = previous_audio.to(self.device).float()  # held tokens kept their values in stage 1
            audio_noise = (1 - start) * audio_base + start * audio_noise
            audio_clean = audio_base
            # where nothing conditions a token, its "clean" value is the upsampled latent (unused: mask 1)
            clean = torch.where(mask < 1, clean, base)
        full_clean = torch.cat([clean, extra_clean], dim=1)
        full_mask = torch.cat([mask, extra_mask], dim=1)
        video = LatentState.from_noise(video_noise, coords, full_clean, full_mask)
        audio_coords = runtime.audio_coords(audio_frames)
        audio = LatentState.from_noise(audio_noise, audio_coords, audio_clean, audio_mask)
        return video, audio

    def _audio_prefix(self, request, audio_frames: int, channels: int):
        """(clean tokens, denoise mask) holding `request.audio_prefix` at the start and `request.audio_suffix`
        at the end of the clip, or (None, None) when neither is given."""
        if request.audio_prefix is None and request.audio_suffix is None:
            return None, None
        clean = torch.zeros(1, audio_frames, channels, device=self.device)
        mask = torch.ones(1, audio_frames, 1, device=self.device)
        for name, held in (("audio_prefix", request.audio_prefix), ("audio_suffix", request.audio_suffix)):
            if held is None:
                continue
            tokens = self._held_audio_tokens(name, held, audio_frames, channels)
            count = tokens.shape[1]
            span = slice(0, count) if name == "audio_prefix" else slice(audio_frames - count, audio_frames)
            clean[:, span] = tokens
            mask[:, span] = 0.0
        return clean, mask

    def _held_audio_tokens(self, name: str, held, audio_frames: int, channels: int) -> torch.Tensor:
        """Packed tokens [1, t, C*mel] of audio latents a request holds; RequestError naming the field."""
        prefix = torch.as_tensor(np.asarray(held) if not torch.is_tensor(held) else held).float()
        if prefix.ndim == 3:
            prefix = prefix[None]
        if prefix.ndim != 4:
            raise RequestError(
                f"{name} has shape {tuple(prefix.shape)}; it must be audio latents [1, C, t, mel]"
            )
        tokens = self.runtime.pack_audio(prefix.to(self.device))
        if tokens.shape[2] != channels or not 0 < tokens.shape[1] <= audio_frames:
            raise RequestError(
                f"{name} has shape {tuple(prefix.shape)}; it must be audio latents [1, C, t, mel] with "
                f"C x mel = {channels} and 1..{audio_frames} latent frames for this clip"
            )
        if not torch.isfinite(tokens).all():
            raise RequestError(f"{name} contains NaN or infinite values")
        return tokens

    def _keyframe_condition(self, keyframes, request: GenerationRequest, stage: Stage, grid):
        """Keyframe images as ltx-pipelines conditions on them: frame 0 by replacing latent frame 0 (denoise
        mask 1 - strength), any other frame by appending its encoded image as guiding tokens placed at that
        pixel frame (one-frame time bounds, no attention mask), as `VideoConditionByKeyframeIndex` does.

        Returns (clean [1,S,C], mask [1,S,1], extra clean [1,K,C], extra mask [1,K,1], extra coords)."""
        runtime = self.runtime
        f, h, w = grid
        channels = int(self.components.transformer.config.in_channels)
        clean = torch.zeros(1, channels, f, h, w, device=self.device)
        mask = torch.ones(1, 1, f, h, w, device=self.device)
        extra_clean, extra_mask, extra_coords = [], [], []
        for image, frame, strength in keyframes:
            if isinstance(image, np.ndarray) and image.ndim == 4:  # a clip's frames (extend)
                encoded = runtime.encode_video(clip_pixels(image, stage.width, stage.height)).float()
            else:
                pixels = start_image_pixels(
                    np.asarray(image, dtype=np.uint8), stage.width, stage.height, self.spec.default_image_crf
                )
                encoded = runtime.encode_video(pixels).float()  # [1, C, 1, h, w]
            if frame == 0:
                span = encoded.shape[2]
                clean[:, :, :span] = encoded
                mask[:, :, :span] = 1.0 - strength
                continue
            tokens = runtime.pack_video(encoded)
            extra_clean.append(tokens)
            extra_mask.append(torch.full_like(tokens[..., :1], 1.0 - strength))
            coords = runtime.video_coords((1, h, w), request.fps).clone()
            coords[:, 0, :, 0] = frame / request.fps
            coords[:, 0, :, 1] = (frame + 1) / request.fps
            extra_coords.append(coords)
        empty = torch.zeros(1, 0, channels, device=self.device)
        return (
            runtime.pack_video(clean),
            runtime.pack_video(mask),
            torch.cat(extra_clean, dim=1) if extra_clean else empty,
            torch.cat(extra_mask, dim=1) if extra_mask else empty[..., :1],
            torch.cat(extra_coords, dim=2) if extra_coords else torch.zeros(1, 3, 0, 2, device=self.device),
        )

    # --- inpainting -----------------------------------------------------------------------------------------

    def inpaint(
        self,
        source_frames: np.ndarray,
        source_audio: np.ndarray | None,
        sample_rate: int,
        mask: np.ndarray,
        frame_range: tuple[int, int],
        request: GenerationRequest,
        strength: float = 1.0,
        regenerate_audio: bool = False,
        source_latents=None,
        on_progress: ProgressCallback | None = None,
        on_preview: PreviewCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Regenerate only the masked region of frames [start, end) of a clip; see engine/inpaint.py.

        `source_frames` [F, H, W, 3] float 0..1 (F = 8k+1, sizes multiples of 32), `mask` [H, W] float 0..1
        (255-scaled uint8 accepted), `request` supplies prompt, negative prompt, seed, steps, guidance, fps
        and preview_every (its size and length are taken from the source). `strength` 1 regenerates the
        region completely, 0 keeps it (the source is returned unchanged). Pixels with mask 0 and frames
        outside the range are bit-identical to the source; the audio is the source's unless
        `regenerate_audio`, which replaces only the range's samples. `source_latents` (denoiser space, as
        returned by generate) skip encoding when they match the frames. Raises RequestError for bad inputs
        and GenerationCancelled (nothing decoded) when `cancel` is set.
        """
        from engine.inpaint import run_inpaint

        return run_inpaint(
            self,
            source_frames,
            source_audio,
            sample_rate,
            mask,
            frame_range,
            request,
            strength=strength,
            regenerate_audio=regenerate_audio,
            source_latents=source_latents,
            on_progress=on_progress,
            on_preview=on_preview,
            cancel=cancel,
        )

    def metadata(self, request: GenerationRequest) -> dict:
        """Provenance of a clip made from a resolved `request`."""
        return {
            "ai_generated": True,
            "model": self.model_name,
            "model_version": self.spec.version,
            "model_source": self.components.source,
            "checkpoint_identity": self.identity,
            "quantization": self.quantization,
            "device": self.device.type,
            "dtype": str(self.dtype).replace("torch.", ""),
            "seed": request.seed,
            "recipe": request.recipe,
            "loras": self.active_loras,
            "parameters": request.parameters(),
            "engine_version": ENGINE_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    def _load_keyframe(self, keyframe: Keyframe):
        """A keyframe's image (PIL), or a clip's frames [K, H, W, 3] float 0..1 (K = 8m+1, frame 0 only)."""
        image = keyframe.image
        if isinstance(image, np.ndarray) and image.ndim == 4:
            count = image.shape[0]
            if keyframe.frame != 0 or (count - 1) % self.temporal_ratio or image.shape[3] != 3:
                raise RequestError(
                    f"a clip used as conditioning must start at frame 0 and have {self.temporal_ratio}k+1 "
                    f"RGB frames; got {count} frames at frame {keyframe.frame}"
                )
            frames = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
            if not np.isfinite(frames).all():
                raise RequestError("the conditioning clip contains NaN or infinite values")
            return np.clip(frames, 0.0, 1.0)
        return self._load_image(image)

    def suggest_duration(self, prompt: str, fps: float = 24.0, max_sequence_length: int | None = None):
        """LTX-2.5's duration head: (seconds, frame count on the 8k+1 grid at `fps`) for `prompt`, from its
        text contexts (cached like a generation's). Raises RequestError when the model has no head."""
        from engine.duration_head import predict_seconds, seconds_to_num_frames

        head = self.components.duration_head
        if head is None:
            raise RequestError(
                f"{self.spec.name} has no duration head (LTX-2.5 release folders bring it as "
                "model_patches/ltx-2.5-duration-head-*.safetensors); choose a duration"
            )
        request = GenerationRequest(prompt=prompt, guidance_scale=1.0, audio_guidance_scale=1.0)
        if max_sequence_length is not None:
            request = request.with_changes(max_sequence_length=max_sequence_length)
        elif request.max_sequence_length == GenerationRequest.max_sequence_length:
            request = request.with_changes(max_sequence_length=self.max_sequence_length)
        request.validate()
        contexts = self.encode_prompts(request)
        weight = next(head.parameters())
        seconds = float(
            predict_seconds(head, contexts.video.to(weight), contexts.audio.to(weight)).reshape(-1)[0]
        )
        frames = seconds_to_num_frames(seconds, fps, self.temporal_ratio)
        return seconds, min(frames, self.spec.max_frames_at(fps))

    def _load_image(self, image) -> object:
        import PIL.Image

        if isinstance(image, (str, Path)):
            try:
                with PIL.Image.open(image) as handle:
                    return handle.convert("RGB")
            except (OSError, ValueError) as exc:
                raise RequestError(f"start image {image} could not be read ({exc})") from exc
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3:
            raise RequestError(f"start image must be H x W x 3, got shape {array.shape}")
        if array.dtype != np.uint8:
            array = (np.clip(array.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
        return PIL.Image.fromarray(array)

    # --- decoding -------------------------------------------------------------------------------------------

    def plan_decode(self, latents_shape: tuple[int, ...]) -> TilePlan:
        """The tile plan a decode of latents of this shape would use (budget from free memory)."""
        return self.runtime.plan_decode(latents_shape)

    def decode_video(self, latents: torch.Tensor) -> torch.Tensor:
        """Denoiser-space latents [B, C, f, h, w] -> video [B, 3, F, H, W] in -1..1 (tiled to the budget)."""
        runtime = self.runtime
        return runtime.decode_video_vae_space(runtime.denormalize_video(latents.to(self.device)))

    def decode_audio(self, latents: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Denoiser-space audio latents [B, C, t, m] -> (waveform [B, channels, samples], sample rate)."""
        runtime = self.runtime
        waveform = runtime.decode_audio_vae_space(runtime.denormalize_audio(latents.to(self.device)))
        return waveform, self.audio_sample_rate

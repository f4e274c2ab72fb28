"""The generation recipes Lightricks' pipelines run, as data: which stages, at which size, over which sigmas,
with which sampler and guidance, and where each noise draw comes from.

- `full`: the dev model's recipe (ltx-pipelines' one-stage pipeline): the version's sigma schedule over
  `steps`, with the version's guidance (CFG, STG, modality guidance, rescale).
- `distilled`: the distilled schedule (`ModelSpec.distilled_sigmas`, 8 steps), no guidance: one transformer
  pass per step. For distilled checkpoints, or a dev checkpoint with the distilled LoRA fused.
- `two-stage`: ltx-pipelines' `DistilledPipeline`: the distilled stage 1 at half width and height, the x2
  latent spatial upsampler, the upsampled latent blended with fresh noise at the first stage-2 sigma
  (x = (1 - s) x + s noise) and refined over `ModelSpec.stage_2_distilled_sigmas`, no guidance. The audio is
  generated in stage 1 and re-noised and refined with the video in stage 2. Sizes must be multiples of 64.
- `two-stage-full`: ltx-pipelines' `TI2VidTwoStagesPipeline` (the dev model's production recipe): stage 1 is
  the `full` recipe (the version's sigma schedule over `steps`, its full guidance, plain Euler, also on 2.5)
  at half width and height, without the distilled LoRA; then the x2 upsampler, the same blend with fresh noise
  at the first stage-2 sigma, and the refine over the stage-2 distilled sigmas, unguided, with the release's
  distilled LoRA added to the LoRA set (strength 1, ltx-pipelines' DEFAULT_LORA_STRENGTH). Stage 2 denoises
  the audio alongside (the video attends to it) but, as the reference, keeps stage 1's audio as the clip's
  sound.

Both two-stage recipes take LTX-2.3's x1.5 latent upsampler instead of the x2 (`upsampler_scale=1.5`): stage 1
then runs at 2/3 of the output size, so outputs must be multiples of 96 (stage 1 an even number of latents).

LTX-2.5 samples the distilled stage 1 (of both distilled recipes) with the ancestral Euler step, which draws
fresh noise at every step but the last from its own generator seeded `seed + 10000`; stage 2 is plain Euler in
every version. Without caller-supplied noise every draw is made as the reference makes it on the CPU, so a
seed gives the reference's clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from engine.errors import RequestError
from engine.models import ModelSpec
from engine.request import RECIPES
from engine.sampling import ANCESTRAL_SEED_OFFSET

__all__ = ["RECIPES", "NoiseSource", "Stage", "plan_stages", "stage_1_size"]


@dataclass(frozen=True)
class Stage:
    """One denoising loop of a recipe."""

    index: int  # 1-based
    count: int
    width: int
    height: int
    sigmas: tuple[float, ...]
    sampler: str  # "euler" | "euler_ancestral"
    guided: bool  # the request's guidance (False: one conditioned pass per step)
    upsample: bool  # starts from the previous stage's latent, upsampled and re-noised to sigmas[0]
    distilled_lora: bool = False  # runs with the distilled LoRA added to the LoRA set (two-stage-full)
    audio_out: bool = True  # its audio is the clip's (False: the previous stage's audio is kept)

    @property
    def steps(self) -> int:
        return len(self.sigmas) - 1


def stage_1_size(width: int, height: int, scale: float = 2.0) -> tuple[int, int]:
    """Stage 1's size for a `width` x `height` output with an upsampler of `scale` (x2: 1/2, x1.5: 2/3)."""
    if float(scale) == 2.0:
        return width // 2, height // 2
    if float(scale) == 1.5:
        return width * 2 // 3, height * 2 // 3
    raise RequestError(f"upsampler scale {scale:g} is unknown; use 2 or 1.5")


def plan_stages(
    spec: ModelSpec,
    recipe: str,
    width: int,
    height: int,
    sigmas: Sequence[float],
    upsampler_scale: float = 2.0,
) -> list[Stage]:
    """The stages of `recipe` for a clip of `width` x `height`; `sigmas` is the full recipe's schedule."""
    full = tuple(float(s) for s in sigmas)
    if recipe == "full":
        return [Stage(1, 1, width, height, full, "euler", True, False)]
    stage_1 = tuple(spec.distilled_sigmas)
    stage_2 = tuple(spec.stage_2_distilled_sigmas)
    sampler = spec.distilled_stage_1_sampler
    if recipe == "distilled":
        return [Stage(1, 1, width, height, stage_1, sampler, True, False)]
    small_w, small_h = stage_1_size(width, height, upsampler_scale)
    if recipe == "two-stage":
        return [
            Stage(1, 2, small_w, small_h, stage_1, sampler, True, False),
            Stage(2, 2, width, height, stage_2, "euler", False, True),
        ]
    if recipe == "two-stage-full":
        return [
            Stage(1, 2, small_w, small_h, full, "euler", True, False),
            Stage(2, 2, width, height, stage_2, "euler", False, True, distilled_lora=True, audio_out=False),
        ]
    raise RequestError(f"recipe '{recipe}' is unknown; use one of {', '.join(RECIPES)}")


def total_steps(stages: Sequence[Stage]) -> int:
    return sum(stage.steps for stage in stages)


class NoiseSource:
    """Every noise draw of a run, in the reference's order.

    Given `noise` (a list of tensors in the order the reference draws them: each stage's initial video and
    audio, and between them, for an ancestral stage, a video and an audio draw per step but the last), the
    draws come from it, each checked against the shape it must have. Otherwise initial draws come from one
    CPU generator seeded `seed` (continued from stage to stage, as ltx-pipelines' noiser) and ancestral draws
    from a second one seeded `seed + 10000`.
    """

    def __init__(self, seed: int, noise: Sequence[torch.Tensor] | None = None):
        self.given = None if noise is None else list(noise)
        self.used = 0
        self.initial = torch.Generator(device="cpu").manual_seed(int(seed))
        self.ancestral = torch.Generator(device="cpu").manual_seed(int(seed) + ANCESTRAL_SEED_OFFSET)

    def draw(self, shape: tuple[int, ...], what: str, ancestral: bool = False) -> torch.Tensor:
        if self.given is None:
            generator = self.ancestral if ancestral else self.initial
            return torch.randn(*shape, generator=generator)
        index = self.used
        if index >= len(self.given):
            raise RequestError(
                f"noise has {len(self.given)} tensors; this request draws more (draw {index + 1} is the "
                f"{what}, shape {tuple(shape)})"
            )
        tensor = torch.as_tensor(self.given[index])
        if tuple(tensor.shape) != tuple(shape):
            raise RequestError(
                f"the {what} has shape {tuple(tensor.shape)} (noise tensor {index + 1}); this request needs "
                f"{tuple(shape)} (packed tokens [1, tokens, channels], as the reference pipeline draws them)"
            )
        if not torch.isfinite(tensor).all():
            raise RequestError(f"the {what} contains NaN or infinite values (noise tensor {index + 1})")
        self.used += 1
        return tensor.float()

    def expect(self, stages: Sequence[Stage]) -> None:
        """Refuse a caller's list of the wrong length before any work."""
        if self.given is None:
            return
        count = sum(
            2 + (2 * (stage.steps - 1) if stage.sampler == "euler_ancestral" else 0) for stage in stages
        )
        if len(self.given) != count:
            what = "two tensors (video tokens, then audio tokens)" if count == 2 else f"{count} tensors"
            raise RequestError(
                f"noise must be {what} for this recipe, in the reference's draw order; got {len(self.given)}"
            )

    def check_used_up(self) -> None:
        if self.given is not None and self.used != len(self.given):
            raise RequestError(
                f"noise has {len(self.given)} tensors but this request draws {self.used}; pass exactly the "
                "draws of the recipe (see the README, 'Comparing with Lightricks' reference')"
            )

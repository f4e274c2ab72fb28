"""Sampler steps the reference pipelines use, as pure functions on packed latents (any shape).

LTX-2.5's distilled recipe samples stage 1 with the rectified-flow ancestral Euler step (ltx-core 1.2.0
`EulerAncestralDiffusionStep`, eta 1, s_noise 1, its noise drawn from a generator seeded with `seed + 10000`,
video first, then audio, at every step but the last). Earlier versions use the plain Euler step.
"""

from __future__ import annotations

import torch

# ltx-pipelines' DistilledPipeline: the ancestral generator's seed offset and the step's constants.
ANCESTRAL_SEED_OFFSET = 10000
ANCESTRAL_ETA = 1.0
ANCESTRAL_S_NOISE = 1.0


def euler_step(sample: torch.Tensor, denoised: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """Plain Euler for an x0 model: x <- x + (s' - s) (x - x0) / s; returns x0 at s' = 0."""
    if sigma_next == 0:
        return denoised.to(sample.dtype)
    x = sample.float()
    velocity = (x - denoised.float()) / sigma
    return (x + (sigma_next - sigma) * velocity).to(sample.dtype)


def euler_ancestral_step(
    sample: torch.Tensor,
    denoised: torch.Tensor,
    sigma: float | torch.Tensor,
    sigma_next: float | torch.Tensor,
    noise: torch.Tensor | None,
    eta: float = ANCESTRAL_ETA,
    s_noise: float = ANCESTRAL_S_NOISE,
) -> torch.Tensor:
    """One ancestral Euler step: deterministically to `sigma_down`, then re-noised up to `sigma_next`.

    `sigma_down = s' (1 + (s'/s - 1) eta)`; `x = (s_down/s) x + (1 - s_down/s) x0`; then
    `x = ((1 - s')/(1 - s_down)) x + noise * s_noise * r` with
    `r = sqrt(max(0, s'^2 - s_down^2 (1 - s')^2 / (1 - s_down)^2))`.
    At `sigma_next == 0` it returns x0 and draws nothing (pass `noise=None`). Computed in float32.
    """
    sigma = torch.as_tensor(sigma, dtype=torch.float32)
    sigma_next = torch.as_tensor(sigma_next, dtype=torch.float32)
    if sigma_next == 0:
        return denoised.to(sample.dtype)
    if eta > 0 and noise is None:
        raise ValueError("an ancestral step with eta > 0 needs a noise tensor")
    x = sample.float()
    x0 = denoised.float()
    sigma_down = sigma_next * (1.0 + (sigma_next / sigma - 1.0) * eta)
    ratio = sigma_down / sigma
    x = ratio * x + (1.0 - ratio) * x0
    if eta > 0:
        alpha_next = 1.0 - sigma_next
        alpha_down = 1.0 - sigma_down
        renoise = (sigma_next**2 - sigma_down**2 * alpha_next**2 / alpha_down**2).clamp(min=0) ** 0.5
        x = (alpha_next / alpha_down) * x + noise.float() * s_noise * renoise
    return x.to(sample.dtype)


def first_frame_keyframes_mask(batch: int, frames: int, height: int, width: int) -> torch.Tensor:
    """The per-token keyframe marker ltx-core passes with every video latent: `(B, F*H*W, 1)`, 1 on the first
    latent frame (it encodes a single pixel frame, like a keyframe slot), 0 elsewhere.

    ltx-core marks it unconditionally (`VideoLatentTools._first_frame_keyframes_mask`); models with
    `use_keyframes_abs_pos_embedding` (LTX-2.5) add their keyframe embedding there, others ignore it. Pass
    it as the diffusers transformer's `video_keyframes_mask`: without it a 2.5 model computes something else
    (4e-2 relative error on the tiny fixture's stage-1 latents).
    """
    mask = torch.zeros(batch, frames * height * width, 1)
    mask[:, : height * width] = 1.0
    return mask

"""Putting the model where the memory plan says: the transformer resident, streamed block by block, or layer
by layer, and the text encoder on the GPU only while it encodes (or on the CPU).

Streaming is diffusers' group offloading (`ModelMixin.enable_group_offload`), not a hand-written loop: with
`offload_type="block_level"` and one block per group, each transformer block's weights live in system RAM and
are copied to the GPU when the block runs; with `use_stream=True` (CUDA) the next block is copied on a side
stream while the current one computes (its host copy pinned), so the copy hides behind compute when a block's
compute takes longer than its transfer. `"sequential"` is `offload_type="leaf_level"`: one layer at a time.
"""

from __future__ import annotations

import contextlib
import logging

import torch

log = logging.getLogger(__name__)

PLACEMENTS = ("resident", "streamed", "sequential")


def place_transformer(transformer: torch.nn.Module, placement: str, device: torch.device) -> None:
    """Move the transformer to `device` (resident) or install group offloading hooks that stream it there."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown transformer placement {placement!r}; use one of {', '.join(PLACEMENTS)}")
    if placement == "resident":
        transformer.to(device)
        return
    transformer.to("cpu")
    use_stream = device.type == "cuda"
    kwargs = {"num_blocks_per_group": 1} if placement == "streamed" else {}
    transformer.enable_group_offload(
        onload_device=device,
        offload_device=torch.device("cpu"),
        offload_type="block_level" if placement == "streamed" else "leaf_level",
        use_stream=use_stream,
        **kwargs,
    )
    log.info("transformer %s to %s (group offloading, stream=%s)", placement, device, use_stream)


@contextlib.contextmanager
def on_device_while(module: torch.nn.Module | None, device: torch.device, enabled: bool = True):
    """`module` on `device` for the block, back on the CPU after (CUDA cache freed); no-op if disabled."""
    if not enabled or module is None or device.type != "cuda":
        yield
        return
    module.to(device)
    try:
        yield
    finally:
        module.to("cpu")
        torch.cuda.empty_cache()


COMPILE_ENV = "AIPROD_COMPILE_BLOCKS"


def compile_requested(value: bool | None = None) -> bool:
    """An explicit choice, else `$AIPROD_COMPILE_BLOCKS` ("1"/"true"); off by default until measured."""
    import os

    if value is not None:
        return bool(value)
    return os.environ.get(COMPILE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def compile_blocks(transformer: torch.nn.Module, **compile_kwargs) -> int:
    """Regional compilation: `torch.compile` each repeated transformer block in place (diffusers'
    `compile_repeated_blocks`), not the whole model, so compiling takes one block's time and the offload hooks
    around blocks keep working. Returns how many blocks were compiled."""
    transformer.compile_repeated_blocks(**compile_kwargs)
    count = len(transformer.transformer_blocks)
    log.info("compiled %d transformer blocks (%s)", count, compile_kwargs or "torch.compile defaults")
    return count

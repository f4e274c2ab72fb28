"""AIPROD Studio inference engine: LTX-2 through diffusers, Qt-free.

    from engine import Engine, GenerationRequest
    engine = Engine.from_checkpoint("ltx-2-19b-dev.safetensors", text_encoder="gemma-3-12b-it",
                                    quantization="fp8")
    result = engine.generate(GenerationRequest(prompt="a cat on a beach"), on_progress=print)

The engine never contacts a model hub: configs come from the checkpoint file or the package.
"""

from __future__ import annotations

import os

# Set before transformers/diffusers are imported anywhere in the process: weights come from local files only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__all__ = ["Engine", "GenerationRequest", "GenerationResult", "PreviewFrame"]


def __getattr__(name: str):
    # Lazy: importing torch and diffusers takes seconds, and `engine.errors` users need neither.
    if name == "Engine":
        from engine.engine import Engine

        return Engine
    if name in ("GenerationRequest", "GenerationResult", "PreviewFrame"):
        from engine import request

        return getattr(request, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")

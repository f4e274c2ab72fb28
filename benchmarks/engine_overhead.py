"""Engine overhead: `Engine.tiny().generate()` against a bare diffusers `LTX2Pipeline` on the same modules.

Both sides share the very same tiny modules (transformer, connectors, both VAEs, vocoder, text encoder and
tokenizer), the same initial noise and the same settings; the bare pipeline decodes video and audio itself
(`output_type="np"`), as the engine does. The engine follows Lightricks' reference sampler, so the bare
pipeline is given the reference's sigma schedule (a scheduler without diffusers' token-count shift), the
engine's packed noise, and CFG only (no STG / modality guidance / rescale, which diffusers computes
differently); then the two must make the same clip. Runs alternate (ours/bare, then bare/ours, ...) in one
process after a warm-up of each, and the script prints every run, the medians and the median ratio ours/bare
(goal <= 1.05).
It also checks that both produce the same frames and sound.

    .venv/bin/python benchmarks/engine_overhead.py                  # defaults: 7 runs, 128x128x17, 8 steps
    .venv/bin/python benchmarks/engine_overhead.py --runs 1 --steps 2 --size 64
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

PROMPT = "a cat on a beach at sunset"
GOAL_RATIO = 1.05


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each side (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs of each side (default 1)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--size", type=int, default=128, help="width and height in pixels (multiple of 32)")
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--height", type=int, default=None)
    parser.add_argument("--frames", type=int, default=17, help="8k+1 frames")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: steady on small shared hosts; 0: torch's)")
    parser.add_argument("--out", default=None,
                        help="result folder or .json file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    return args


def build(seed: int):
    """The tiny engine, and a bare LTX2Pipeline made of the engine's own modules."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.ltx2 import LTX2Pipeline

    from engine.engine import Engine

    engine = Engine.tiny(seed=seed)
    c = engine.components
    bare = LTX2Pipeline(
        # sigmas are passed as they are: no dynamic (token-count) shift, no terminal stretch
        scheduler=FlowMatchEulerDiscreteScheduler(
            num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False
        ),
        vae=c.vae, audio_vae=c.audio_vae, text_encoder=engine.text_encoder.model,
        tokenizer=engine.text_encoder.tokenizer, connectors=c.connectors, transformer=c.transformer,
        vocoder=c.vocoder,
    )
    bare.set_progress_bar_config(disable=True)
    return engine, bare


class VaeTilingState:
    """The engine sets tiling on the shared VAE before each decode; the bare side gets diffusers' state."""

    NAMES = ("use_tiling", "use_framewise_decoding", "tile_sample_min_height", "tile_sample_min_width",
             "tile_sample_stride_height", "tile_sample_stride_width", "tile_sample_min_num_frames",
             "tile_sample_stride_num_frames")

    def __init__(self, vae):
        self.vae = vae
        self.saved = {name: getattr(vae, name) for name in self.NAMES if hasattr(vae, name)}

    def restore(self) -> None:
        for name, value in self.saved.items():
            setattr(self.vae, name, value)


def run_ours(engine, request) -> tuple[float, float, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = engine.generate(request)
    return time.perf_counter() - start, time.process_time() - cpu, result


def bare_inputs(engine, request) -> dict[str, Any]:
    """The engine's schedule and initial noise, in the form LTX2Pipeline takes them."""
    runtime = engine.runtime
    resolved = engine.resolve(request)
    grid = runtime.latent_grid(resolved.width, resolved.height, resolved.num_frames)
    frames = runtime.audio_latent_frames(resolved.num_frames, resolved.fps)
    video, audio = engine.initial_noise(resolved, grid[0] * grid[1] * grid[2], frames)
    channels = runtime.audio_latent_shape(resolved.num_frames, resolved.fps)[0]
    # LTX2Pipeline normalises given audio latents; hand it the noise in VAE space so it recovers it.
    audio = runtime.pack_audio(runtime.denormalize_audio(runtime.unpack_audio(audio, channels)))
    sigmas = engine.spec.sigmas(resolved.steps)[:-1].numpy()
    return {"latents": video, "audio_latents": audio, "sigmas": sigmas}


def run_bare(
    bare, tiling: VaeTilingState, request, max_sequence_length: int, inputs: dict[str, Any]
) -> tuple[float, float, Any]:
    import torch

    tiling.restore()
    start, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        video, audio = bare(
            prompt=request.prompt, negative_prompt=request.negative_prompt,
            height=request.height, width=request.width, num_frames=request.num_frames,
            frame_rate=float(request.fps), num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale, audio_guidance_scale=request.audio_guidance_scale,
            stg_scale=0.0, audio_stg_scale=0.0, modality_scale=1.0, audio_modality_scale=1.0,
            guidance_rescale=0.0, audio_guidance_rescale=0.0, spatio_temporal_guidance_blocks=None,
            use_cross_timestep=True,  # ltx-core: the other modality's sigma (same here: one timestep)
            output_type="np", return_dict=False, max_sequence_length=max_sequence_length, **inputs,
        )
    return time.perf_counter() - start, time.process_time() - cpu, (video, audio)


def compare(result, bare_output) -> dict[str, Any]:
    """Max abs differences between our frames/audio and the bare pipeline's.

    The engine pads or trims the waveform to exactly the clip's duration (the audio latent grid is 40 ms
    coarse), so sound is compared over the samples both have; the length difference is reported too.
    """
    import numpy as np

    video, audio = bare_output
    bare_frames = np.asarray(video[0], dtype=np.float32)            # [F, H, W, 3] in 0..1
    bare_audio = audio[0].float().clamp(-1, 1).cpu().numpy()        # [channels, samples]
    out: dict[str, Any] = {
        "frames_shape_ours": list(result.frames.shape), "frames_shape_bare": list(bare_frames.shape),
        "audio_shape_ours": list(result.audio.shape), "audio_shape_bare": list(bare_audio.shape),
        "frames_max_abs_diff": None, "audio_max_abs_diff": None, "audio_samples_compared": 0,
    }
    if result.frames.shape == bare_frames.shape:
        out["frames_max_abs_diff"] = float(np.abs(result.frames - bare_frames).max())
    if result.audio.shape[0] == bare_audio.shape[0]:
        common = min(result.audio.shape[1], bare_audio.shape[1])
        out["audio_samples_compared"] = common
        out["audio_max_abs_diff"] = float(np.abs(result.audio[:, :common] - bare_audio[:, :common]).max())
        if result.audio.shape[1] > bare_audio.shape[1]:
            out["audio_padding_max_abs"] = float(np.abs(result.audio[:, common:]).max())
    return out


def explain(diff: dict[str, Any]) -> str | None:
    """Why outputs might differ (None when they agree to float rounding)."""
    reasons = []
    if diff["frames_max_abs_diff"] is None or diff["audio_max_abs_diff"] is None:
        reasons.append("output shapes differ: the two paths do not generate the same clip")
    elif max(diff["frames_max_abs_diff"], diff["audio_max_abs_diff"]) > 1e-3:
        reasons.append(
            "values differ beyond float rounding: the engine runs its own (reference) denoising loop, "
            "encodes the prompt itself and decodes with its own tiled path; a different schedule, noise "
            "or guidance on either side would show here")
    ours_len, bare_len = diff["audio_shape_ours"][-1], diff["audio_shape_bare"][-1]
    if ours_len != bare_len and not reasons:
        return (f"sound agrees over the {diff['audio_samples_compared']} common samples; the engine "
                f"{'pads' if ours_len > bare_len else 'trims'} the waveform to the clip duration "
                f"({bare_len} -> {ours_len} samples), the bare pipeline does not")
    return "; ".join(reasons) or None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return _common.run_with_threads(_run, parse_args(argv))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.request import GenerationRequest

    width, height = args.width or args.size, args.height or args.size
    load_before = _common.load_average()
    t0 = time.perf_counter()
    engine, bare = build(args.seed)
    build_s = time.perf_counter() - t0
    tiling = VaeTilingState(engine.components.vae)
    request = GenerationRequest(prompt=PROMPT, negative_prompt="", width=width, height=height,
                                num_frames=args.frames, steps=args.steps, guidance_scale=4.0,
                                audio_guidance_scale=7.0, stg_scale=0.0, audio_stg_scale=0.0,
                                modality_scale=1.0, audio_modality_scale=1.0, guidance_rescale=0.0,
                                audio_guidance_rescale=0.0, seed=args.seed, preview_every=0)
    seq = engine.max_sequence_length
    inputs = bare_inputs(engine, request)
    print(f"engine_overhead: tiny LTX-2 on {engine.device} ({str(engine.dtype).replace('torch.', '')}), "
          f"{width}x{height}x{args.frames}, {args.steps} steps, guidance 4.0/7.0, stg 0, modality 1, "
          f"rescale 0, max_sequence_length {seq}, seed {args.seed}; {args.warmup} warm-up + {args.runs} "
          f"timed runs each, alternating; torch threads {torch.get_num_threads()}; built in {build_s:.1f} s; "
          f"load average {load_before}")

    for _ in range(args.warmup):
        run_ours(engine, request)
        run_bare(bare, tiling, request, seq, inputs)

    wall = {"ours": [], "bare": []}
    cpu = {"ours": [], "bare": []}
    last: dict[str, Any] = {}
    for index in range(args.runs):
        order = ("ours", "bare") if index % 2 == 0 else ("bare", "ours")
        for side in order:
            if side == "ours":
                seconds, cpu_s, last[side] = run_ours(engine, request)
            else:
                seconds, cpu_s, last[side] = run_bare(bare, tiling, request, seq, inputs)
            wall[side].append(seconds)
            cpu[side].append(cpu_s)
        print(f"  run {index + 1:2d} ({order[0]} first): ours {_common.fmt_s(wall['ours'][-1])}   "
              f"bare {_common.fmt_s(wall['bare'][-1])}   ratio {wall['ours'][-1] / wall['bare'][-1]:.3f}   "
              f"(cpu time ours {cpu['ours'][-1]:.3f} s, bare {cpu['bare'][-1]:.3f} s)")

    med = {side: _common.median(values) for side, values in wall.items()}
    med_cpu = {side: _common.median(values) for side, values in cpu.items()}
    ratio = med["ours"] / med["bare"]
    cpu_ratio = med_cpu["ours"] / med_cpu["bare"]
    pair_ratio = _common.median([a / b for a, b in zip(wall["ours"], wall["bare"], strict=True)])
    min_ratio = min(wall["ours"]) / min(wall["bare"])
    diff = compare(last["ours"], last["bare"])
    why = explain(diff)
    load_after = _common.load_average()
    print(f"median wall: ours {_common.fmt_s(med['ours'])}   bare {_common.fmt_s(med['bare'])}")
    print(f"median cpu:  ours {_common.fmt_s(med_cpu['ours'])}   bare {_common.fmt_s(med_cpu['bare'])}")
    print(f"ratio ours/bare: {ratio:.3f} (median wall times; goal <= {GOAL_RATIO}: "
          f"{'met' if ratio <= GOAL_RATIO else 'NOT met'})   median per-pair ratio {pair_ratio:.3f}   "
          f"best-run ratio {min_ratio:.3f}   cpu-time ratio {cpu_ratio:.3f}")
    print(f"same output: frames max abs diff {diff['frames_max_abs_diff']}, "
          f"audio max abs diff {diff['audio_max_abs_diff']}")
    if why:
        print(f"note: {why}")
    print(f"engine phases (last run): {({k: round(v, 4) for k, v in last['ours'].timings.items()})}; "
          f"load average {load_after}")

    payload = {
        "benchmark": "engine_overhead",
        "date": _common.today(),
        "created": _common.now_utc(),
        "machine": _common.machine_info(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "settings": {"width": width, "height": height, "frames": args.frames, "steps": args.steps,
                     "guidance_scale": 4.0, "audio_guidance_scale": 7.0, "stg_scale": 0.0,
                     "modality_scale": 1.0, "guidance_rescale": 0.0, "max_sequence_length": seq,
                     "seed": args.seed, "runs": args.runs, "warmup": args.warmup, "prompt": PROMPT,
                     "threads": torch.get_num_threads(), "device": str(engine.device),
                     "dtype": str(engine.dtype)},
        "ours_s": wall["ours"], "bare_s": wall["bare"],
        "ours_cpu_s": cpu["ours"], "bare_cpu_s": cpu["bare"],
        "median_ours_s": med["ours"], "median_bare_s": med["bare"],
        "median_ours_cpu_s": med_cpu["ours"], "median_bare_cpu_s": med_cpu["bare"],
        "ratio": ratio, "median_pair_ratio": pair_ratio, "min_ratio": min_ratio, "cpu_ratio": cpu_ratio,
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio <= GOAL_RATIO,
        "engine_timings_last_run": dict(last["ours"].timings),
        "engine_tile_plan": repr(engine.last_tile_plan),
        "output_diff": diff, "output_diff_explanation": why,
    }
    path = _common.write_json(payload, args.out,
                              f"engine_overhead-{_common.slug(payload['machine']['hostname'])}")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main(sys.argv[1:])

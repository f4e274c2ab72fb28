"""Render nodes (issue 17): a batch of generations on a Ray cluster with 1 vs 2 worker nodes, side by side
with the same batch on this machine through the same actor code without Ray (the reference).

The script starts a local cluster (a head with no CPUs and two worker nodes of one CPU each), warms one
actor per worker (the tiny model loaded: loading is not part of a batch), then times the batch from
submit to the last result landed in a media folder: with 1 actor, then with 2 actors (one per worker).
It prints the times and the ratios (reference / farm: 1.0 = no overhead; 2 workers / 1 worker: the
speed-up).

On a 2-core machine the head, the two nodes' raylets, both actors and this driver share two cores, so the
"speed-up" here only shows the cluster's overhead (scheduling, polling, results travelling as bytes); real
speed-up needs one GPU (or machine) per worker.

    .venv/bin/python benchmarks/farm_batch.py                  # 6 shots of 128x96, 25 frames, 8 steps
    .venv/bin/python benchmarks/farm_batch.py --dry-run --out /tmp   # 2 shots of 64x64, 9 frames, 2 steps
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=6, help="generations in the batch (default 6)")
    parser.add_argument("--size", default="128x96", help="WIDTHxHEIGHT of each shot (default 128x96)")
    parser.add_argument("--frames", type=int, default=25, help="frames per shot, 8k+1 (default 25)")
    parser.add_argument("--steps", type=int, default=8, help="denoising steps (default 8)")
    parser.add_argument("--dry-run", action="store_true", help="2 tiny shots: checks the script only")
    parser.add_argument("--out", help="result file or folder (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.jobs, args.size, args.frames, args.steps = 2, "64x64", 9, 2
    return args


def specs(args: argparse.Namespace) -> list[Any]:
    from app.jobs.spec import MODEL_TINY, JobSpec

    width, height = (int(v) for v in args.size.lower().split("x"))
    return [
        JobSpec(prompt=f"shot {i}: a harbour at dusk", width=width, height=height, frames=args.frames,
                steps=args.steps, seed=1000 + i, model=MODEL_TINY, name=f"shot{i}")  # fmt: skip
        for i in range(args.jobs)
    ]


def run_reference(batch: list[Any], settings: Any) -> float:
    """The batch on this machine, one after the other, through EngineHost (what a node runs), landed; on one
    torch thread, as each actor runs."""
    import torch

    from app.cluster.host import EngineHost, JobPayload
    from app.cluster.landing import land
    from app.cluster.travel import pack

    host = EngineHost()
    media = Path(tempfile.mkdtemp(prefix="farm-bench-ref-"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as an actor with num_cpus=1 (Ray sets OMP_NUM_THREADS=1 there)
    try:
        # the model loads here, and the landing's first use imports what it needs: neither is in the batch
        land(host.run(JobPayload("warm", "generate", pack(batch[0]), settings)), media / "warm")
        start = time.perf_counter()
        for index, spec in enumerate(batch):
            outcome = host.run(JobPayload(f"ref{index}", "generate", pack(spec), settings))
            assert outcome.status == "done", outcome.message
            land(outcome, media)
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(media, ignore_errors=True)


def run_farm(address: str, actors: int, batch: list[Any], settings: Any) -> dict[str, Any]:
    """The batch on `actors` actors of the cluster, timed from submit to the last result landed."""
    from app.cluster.config import ClusterConfig
    from app.cluster.farm import Farm
    from app.cluster.landing import land

    farm = Farm(ClusterConfig(address, resources="cpu", actors=actors))
    farm.connect()
    media = Path(tempfile.mkdtemp(prefix="farm-bench-"))
    try:
        for index in range(actors):  # warm every actor: the model load is not part of a batch
            farm.submit(f"warm{index}", "generate", batch[0], settings)
        warm = farm.run_all()
        assert all(e.type != "failed" for e in warm), warm
        for event in warm:
            if event.type == "finished":
                land(event.data, media / "warm")
        nodes: dict[str, int] = {}

        def on_event(event: Any) -> None:
            if event.type == "finished":
                land(event.data, media)
                nodes[event.node] = nodes.get(event.node, 0) + 1
            if event.type == "failed":
                raise RuntimeError(event.data)

        start = time.perf_counter()
        for index, spec in enumerate(batch):
            farm.submit(f"job{index}", "generate", spec, settings)
        farm.run_all(on_event)
        seconds = time.perf_counter() - start
        return {"actors": actors, "seconds": seconds, "jobs_per_node": nodes}
    finally:
        farm.shutdown()
        shutil.rmtree(media, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import ray
    from ray.cluster_utils import Cluster

    from app.cluster.config import NodeSettings

    settings = NodeSettings(developer_tiny=True)
    batch = specs(args)
    reference = run_reference(batch, settings)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        cluster.add_node(num_cpus=1)
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        one = run_farm(cluster.address, 1, batch, settings)
        two = run_farm(cluster.address, 2, batch, settings)
    finally:
        ray.shutdown()
        cluster.shutdown()
    payload = {
        "benchmark": "farm_batch",
        "date": _common.now_utc(),
        "dry_run": bool(args.dry_run),
        "machine": _common.machine_info(),
        "load_average": _common.load_average(),
        "batch": {"jobs": args.jobs, "size": args.size, "frames": args.frames, "steps": args.steps},
        "reference_local_s": reference,
        "one_worker": one,
        "two_workers": two,
        "ratio_reference_over_one_worker": reference / one["seconds"],
        "ratio_reference_over_two_workers": reference / two["seconds"],
        "speedup_two_over_one": one["seconds"] / two["seconds"],
        "note": "on a 2-core machine the ratios show the cluster's overhead, not a speed-up",
    }
    path = _common.write_json(payload, args.out, "farm_batch", "dry-run" if args.dry_run else "")
    cores = payload["machine"]["cpu_cores"]
    print(f"farm batch: {args.jobs} tiny generations {args.size}x{args.frames} frames, {args.steps} steps "
          f"({cores} cores)")  # fmt: skip
    print(f"  this machine, no Ray (reference) {_common.fmt_s(reference)}")
    print(f"  cluster, 1 worker                {_common.fmt_s(one['seconds'])}   reference/farm "
          f"{payload['ratio_reference_over_one_worker']:.2f}")  # fmt: skip
    print(f"  cluster, 2 workers               {_common.fmt_s(two['seconds'])}   reference/farm "
          f"{payload['ratio_reference_over_two_workers']:.2f}   2 vs 1 worker "
          f"x{payload['speedup_two_over_one']:.2f}  jobs per node "
          f"{sorted(two['jobs_per_node'].values())}")  # fmt: skip
    if cores is not None and cores <= 2:
        print(f"  note: {cores} cores run the head, both nodes and this driver: the ratio shows the overhead")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()

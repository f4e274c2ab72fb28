"""`aiprod-cli farm submit` and `aiprod-cli farm status`: a batch of shots on the studio's render nodes (a
Ray cluster; app.cluster), headless. `app.cli` registers them.

    aiprod-cli farm submit shots.json --address 192.168.1.20:6379
    aiprod-cli farm submit Film.aiprod            # the project's own shots.json; AIPROD_RAY_ADDRESS
    aiprod-cli farm status Film.aiprod [--address 192.168.1.20:6379]

`submit` stays in the foreground until every shot has landed (the cluster's actors belong to it); each
result lands in the project's media folder and bin as it comes (the project is saved after each), then the
shots go on V1 in the list's order. `status` reads the batch's record in the project
(``.farm-status.json``) from any shell. Exit codes as in app.cli: 0 all landed, 1 a shot failed, 2 bad
input (a shot list mistake, no cluster), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

STATUS_FILE = ".farm-status.json"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    from engine.quantization_modes import QUANTIZATION_MODES

    farm = commands.add_parser(
        "farm",
        help="generate a shot list on a Ray cluster of render nodes",
        description="Run a batch of generations on the studio's render nodes (a Ray cluster: `ray start "
        "--head` on one machine, `ray start --address=HEAD:6379` on the others). Results land in the "
        "project. A Ray cluster trusts every machine in it: keep it on a private network.",
    )
    farm_commands = farm.add_subparsers(dest="farm_command", required=True)
    submit = farm_commands.add_parser(
        "submit",
        help="generate every shot of a shot list (or a project's shots.json) on the cluster",
        description='Shot list: JSON with "shots": [{"prompt", "duration" (s), "recipe", "seed", '
        '"keyframes": [{"image", "at" (s), "strength"}]}] and optionally "project", "model" '
        "(see README, 'Render nodes').",
    )
    submit.add_argument("target", help="SHOTLIST.json, or a Name.aiprod project holding shots.json")
    submit.add_argument("--project", help="the project the results land in (default: the shot list's)")
    submit.add_argument("--address", help="the Ray head, HOST:PORT (default: $AIPROD_RAY_ADDRESS)")
    submit.add_argument("--model", help="'tiny' or the checkpoint path as every node sees it")
    submit.add_argument("--text-encoder", help="the Gemma-3 folder as every node sees it")
    submit.add_argument("--quant", choices=list(QUANTIZATION_MODES), help="weight quantization")
    submit.add_argument(
        "--actor-resources",
        choices=["gpu", "cpu"],
        default=os.environ.get("AIPROD_RAY_ACTOR", "gpu"),
        help="one actor per GPU (default) or, on a CPU-only cluster, per CPU",
    )
    submit.add_argument("--actors", type=int, help="how many actors (default: one per GPU / CPU)")
    submit.add_argument("--max-attempts", type=int, default=3, help="starts per shot when nodes die (3)")
    submit.add_argument(
        "--shared-folder",
        action="store_true",
        help="every node sees the keyframe images at the same paths: read them there, send nothing",
    )
    submit.add_argument(
        "--fallback-local",
        action="store_true",
        help="when the cluster cannot be reached, generate the batch on this machine instead",
    )
    submit.add_argument("--no-place", action="store_true", help="results go to the bin only, not onto V1")
    submit.add_argument("--quiet", action="store_true", help="no line per event")
    status = farm_commands.add_parser("status", help="show a project's farm batch (and the cluster's nodes)")
    status.add_argument("project", help="the Name.aiprod project of the batch")
    status.add_argument("--address", help="also list the nodes of the Ray cluster at HOST:PORT")
    status.add_argument("--json", action="store_true", help="machine-readable output")


def run_farm(args: argparse.Namespace) -> int:
    if args.farm_command == "submit":
        return run_submit(args)
    return run_status(args)


def _fail(message: str, code: int = 2) -> int:
    print(f"aiprod-cli: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


# --- submit -------------------------------------------------------------------------------------------------


class _Batch:
    """The batch's record (the status file) and the landing of its results into the project."""

    def __init__(self, folder: Path, shots: Any, address: str, quiet: bool) -> None:
        self.folder = folder
        self.quiet = quiet
        self.specs = shots.specs
        self.media_ids: dict[int, str] = {}
        self.failed: dict[int, str] = {}
        self.record: dict[str, Any] = {
            "address": address,
            "shot_list": str(shots.source),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "shots": [
                {
                    "shot": i + 1,
                    "name": spec.display_name(),
                    "prompt": spec.prompt,
                    "seed": spec.seed,
                    "state": "waiting",
                    "node": "",
                    "nodes": [],
                    "attempts": 0,
                    "step": 0,
                    "steps": 0,
                    "file": "",
                    "error": "",
                }  # fmt: skip
                for i, spec in enumerate(self.specs)
            ],
        }  # written at the first event: an unreachable cluster leaves the project untouched

    @staticmethod
    def index(job_id: str) -> int:
        return int(job_id.removeprefix("shot")) - 1

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"aiprod-cli: {text}", file=sys.stderr)

    def save(self) -> None:
        from app.project.atomic import atomic_write_bytes

        self.record["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        data = json.dumps(self.record, indent=2).encode("utf-8")
        atomic_write_bytes(self.folder / STATUS_FILE, data, what="the farm status")

    def on_event(self, event: Any) -> None:
        from app.errors import AppError

        index = self.index(event.job_id)
        row = self.record["shots"][index]
        label = f"shot {index + 1} ({row['name']})"
        if event.type == "started":
            row.update(state="running", node=event.node, attempts=event.data)
            row["nodes"].append(event.node)
            self.say(f"{label}: started on {event.node}" + (f" (try {event.data})" if event.data > 1 else ""))
        elif event.type == "progress":
            row.update(step=event.data["step"], steps=event.data["steps"])
            return  # not saved at every step
        elif event.type == "retry":
            row.update(state="retrying", error=event.data)
            self.say(f"{label}: {event.data}; it runs again on another node")
        elif event.type == "finished":
            try:
                path = self.land(index, event.data)
            except AppError as exc:
                row.update(state="failed", error=f"it could not land in the project: {exc}")
                self.failed[index] = row["error"]
                self.say(f"{label}: {row['error']}")
            else:
                row.update(state="done", node=event.node, file=str(path), error="", step=row["steps"])
                self.say(f"{label}: landed {path.name} (made on {event.node})")
        elif event.type in ("failed", "cancelled"):
            message = event.data or "cancelled"
            row.update(state=event.type, error=message)
            self.failed[index] = message
            self.say(f"{label}: {event.type}: {message}")
        self.save()

    def land(self, index: int, outcome: Any) -> Path:
        """Into the media folder and the bin, saved at once, so a later crash keeps what landed."""
        from app.cluster.landing import land
        from app.project import load_project, project_layout, save_project

        item = land(outcome, project_layout(self.folder).media)
        loaded = load_project(self.folder)
        self.media_ids[index] = loaded.doc.add_bin_item(item)
        save_project(loaded.doc, self.folder)
        return Path(item.path)

    def place(self) -> None:
        """The landed shots onto V1, in the shot list's order, after what is there."""
        from app.document import placement
        from app.project import load_project, save_project

        if not self.media_ids:
            return
        loaded = load_project(self.folder)
        placement.append(loaded.doc, [self.media_ids[i] for i in sorted(self.media_ids)])
        save_project(loaded.doc, self.folder)


def _shot_list_path(target: str) -> tuple[Path, str | None]:
    """(the shot list, the project it came with when TARGET is a project folder)."""
    from app.cluster.shots import PROJECT_SHOT_LIST

    path = Path(target).expanduser()
    if path.suffix.lower() == ".json":
        return path, None
    from app.project import project_layout

    folder = project_layout(path).folder
    return folder / PROJECT_SHOT_LIST, str(folder)


def run_submit(args: argparse.Namespace) -> int:
    from app.cluster.config import ClusterConfig, ClusterUnreachable, NodeSettings, cluster_address
    from app.cluster.shots import ShotListError, read_shot_list
    from app.errors import AppError

    try:
        shot_path, target_project = _shot_list_path(args.target)
        shots = read_shot_list(shot_path, model=args.model)
        project = args.project or target_project or shots.project
        if not project:
            raise ShotListError(
                f'{shot_path.name} names no project: add "project": "Film.aiprod" or give --project'
            )
        from app.project import load_project

        folder = load_project(project).folder  # a missing or broken project is said now
        address = cluster_address(args.address)
        if not address and not args.fallback_local:
            raise ShotListError(
                "no render cluster is named: give --address HOST:PORT or set AIPROD_RAY_ADDRESS "
                "(or --fallback-local to generate on this machine)"
            )
        tiny = shots.model == "tiny"
        settings = NodeSettings(
            checkpoint="" if tiny else shots.model,
            gemma_root=args.text_encoder or "",
            quantization=args.quant or "none",
            developer_tiny=tiny,
        )
        if args.quant:
            shots.specs = [spec.with_changes(quantization=args.quant) for spec in shots.specs]
        config = ClusterConfig(
            address or "local",
            resources=args.actor_resources,
            actors=args.actors,
            max_attempts=args.max_attempts,
            shared_folder=args.shared_folder,
        )
        config.validate()
    except (AppError, OSError) as exc:
        return _fail(str(exc))
    for index in shots.random_seeds:
        print(f"aiprod-cli: shot {index + 1}: seed {shots.specs[index].seed} (drawn)", file=sys.stderr)
    batch = _Batch(folder, shots, address or "this machine", args.quiet)
    if address:
        try:
            ran = _run_on_cluster(config, batch, settings)
        except ClusterUnreachable as exc:
            if not args.fallback_local:
                return _fail(f"{exc}; add --fallback-local to generate the batch on this machine instead")
            print(f"aiprod-cli: {exc}; generating on this machine (--fallback-local)", file=sys.stderr)
            batch.record["address"] = f"this machine (the cluster at {address} could not be reached)"
            ran = False
        except AppError as exc:
            return _fail(str(exc))
        if not ran:
            _run_here(batch, settings)
    else:
        _run_here(batch, settings)
    if not args.no_place:
        batch.place()
    done = len(batch.media_ids)
    print(f"aiprod-cli: {done} of {len(batch.specs)} shot(s) landed in {folder}", file=sys.stderr)
    for index, message in sorted(batch.failed.items()):
        print(f"aiprod-cli: shot {index + 1} failed: {message}", file=sys.stderr)
    return 0 if done == len(batch.specs) else 1


def _run_on_cluster(config: Any, batch: _Batch, settings: Any) -> bool:
    from app.cluster.farm import Farm

    farm = Farm(config)
    info = farm.connect()
    batch.say(f"{len(info['actors'])} render actor(s) on the cluster at {config.address}")
    try:
        for index, spec in enumerate(batch.specs):
            farm.submit(f"shot{index + 1}", "generate", spec, settings)
        farm.run_all(batch.on_event)
    finally:
        farm.shutdown()
    return True


def _run_here(batch: _Batch, settings: Any) -> None:
    """The batch on this machine, through the same actor code (no Ray), one shot after the other."""
    from app.cluster.farm import FarmEvent
    from app.cluster.host import EngineHost, JobPayload
    from app.cluster.travel import pack

    host = EngineHost()
    node = f"{socket.gethostname()} (this machine)"
    for index, spec in enumerate(batch.specs):
        job_id = f"shot{index + 1}"
        batch.on_event(FarmEvent("started", job_id, node, 1))
        outcome = host.run(JobPayload(job_id, "generate", pack(spec, shared_folder=True), settings))
        if outcome.status == "done":
            batch.on_event(FarmEvent("finished", job_id, node, outcome))
        else:
            batch.on_event(FarmEvent(outcome.status, job_id, node, outcome.message))


# --- status -------------------------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    from app.errors import AppError
    from app.project import project_layout

    try:
        folder = project_layout(args.project).folder
    except AppError as exc:
        return _fail(str(exc))
    path = folder / STATUS_FILE
    if not path.is_file():
        return _fail(f"{folder} has no farm batch yet; start one with `aiprod-cli farm submit`")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _fail(f"{path} cannot be read: {exc}")
    nodes = None
    if args.address:
        try:
            nodes = cluster_nodes(args.address)
        except AppError as exc:
            return _fail(str(exc))
    if args.json:
        print(json.dumps({"batch": record, "nodes": nodes}, indent=2))
        return 0
    shots = record.get("shots", [])
    counts: dict[str, int] = {}
    for row in shots:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    print(f"batch on {record.get('address')}, started {record.get('started')}: {summary}")
    for row in shots:
        progress = f" step {row['step']}/{row['steps']}" if row["state"] == "running" and row["steps"] else ""
        tries = f", {row['attempts']} tries" if row.get("attempts", 0) > 1 else ""
        where = f" on {row['node']}" if row.get("node") else ""
        line = f"  {row['shot']:>3} {row['name'][:30]:<30} {row['state']}{progress}{where}{tries}"
        if row.get("error") and row["state"] != "done":
            line += f" -- {row['error']}"
        print(line)
    for node in nodes or ():
        state = "alive" if node["alive"] else "dead"
        print(
            f"node {node['address']} ({node['id'][:6]}): {state}, {node['gpus']:g} GPU, {node['cpus']:g} CPU"
        )
    return 0


def cluster_nodes(address: str) -> list[dict[str, Any]]:
    """The cluster's nodes as Ray sees them (ClusterUnreachable when it cannot be reached)."""
    import ray

    from app.cluster.config import ClusterUnreachable, check_reachable

    check_reachable(address)
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001
            raise ClusterUnreachable(f"cannot join the Ray cluster at {address}: {exc}") from exc
    return [
        {
            "id": node["NodeID"],
            "address": node.get("NodeManagerAddress", ""),
            "alive": bool(node.get("Alive")),
            "gpus": float(node.get("Resources", {}).get("GPU", 0)),
            "cpus": float(node.get("Resources", {}).get("CPU", 0)),
        }
        for node in ray.nodes()
    ]

"""Which Ray cluster renders, and what each of its actors asks for.

The studio's Settings name the cluster ("Render nodes: this machine / Ray cluster at ADDRESS"); when they
say "this machine", ``AIPROD_RAY_ADDRESS`` may still name one (render machines, scripts). Empty: the
in-process worker, which needs nothing.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from app.errors import JobError

ENV_ADDRESS = "AIPROD_RAY_ADDRESS"
ENV_ACTOR = "AIPROD_RAY_ACTOR"  # "gpu" (default: one actor per GPU) or "cpu" (one per CPU, for tests)
ENV_SHARED = "AIPROD_RAY_SHARED_FOLDER"  # "1": every node sees the project at the same path; nothing travels
ENV_EXPORTS = "AIPROD_RAY_EXPORT_ACTORS"  # how many CPU actors render exports (default 2)
DEFAULT_EXPORT_ACTORS = 2
DEFAULT_PORT = 6379  # `ray start --head`'s GCS port
RESOURCES = ("gpu", "cpu")


class ClusterUnreachable(JobError):
    """The Ray cluster named in Settings / AIPROD_RAY_ADDRESS cannot be reached."""


def cluster_address(settings_address: str | None = None) -> str:
    """The Ray address to use: the one in Settings, else ``AIPROD_RAY_ADDRESS``; "" for this machine."""
    chosen = (settings_address or "").strip()
    return chosen or os.environ.get(ENV_ADDRESS, "").strip()


@dataclass(frozen=True)
class ClusterConfig:
    """How the farm uses the cluster at `address`.

    `resources`: "gpu" -> one actor per GPU (num_gpus=1); "cpu" -> actors with num_cpus=1 (CPU-only
    clusters, tests). `actors`: how many (None: every GPU, or every CPU, the cluster has). `max_attempts`:
    how many actors a job may be started on before it fails (a node that dies mid-job costs one).
    `shared_folder`: the project is on a folder every node sees at the same path, so media is read there
    instead of travelling with the job. `exports`: how many export actors (num_cpus=1 each, no GPU, no
    engine) the render lane's farm starts (:meth:`for_exports`).
    """

    address: str
    resources: str = "gpu"
    actors: int | None = None
    max_attempts: int = 3
    shared_folder: bool = False
    connect_timeout_s: float = 5.0
    actor_start_timeout_s: float = 300.0
    exports: int = DEFAULT_EXPORT_ACTORS

    @classmethod
    def from_env(cls, address: str, **changes: object) -> ClusterConfig:
        resources = os.environ.get(ENV_ACTOR, "gpu").strip().lower() or "gpu"
        shared = os.environ.get(ENV_SHARED, "").strip().lower() in ("1", "true", "yes", "on")
        values: dict[str, object] = {"address": address, "resources": resources, "shared_folder": shared}
        exports = os.environ.get(ENV_EXPORTS, "").strip()
        if exports:
            try:
                values["exports"] = int(exports)
            except ValueError:
                raise JobError(f"{ENV_EXPORTS} must be a whole number, got {exports!r}") from None
        values.update(changes)
        config = cls(**values)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        if self.resources not in RESOURCES:
            raise JobError(f"render-node actors use {self.resources!r}; choose 'gpu' or 'cpu' ({ENV_ACTOR})")
        if self.max_attempts < 1:
            raise JobError(f"max attempts must be at least 1, got {self.max_attempts}")
        if self.exports < 1:
            raise JobError(f"the number of export actors must be at least 1, got {self.exports}")
        if self.actors is not None and self.actors < 1:
            raise JobError(f"the number of actors must be at least 1, got {self.actors}")

    def for_exports(self) -> ClusterConfig:
        """The render lane's farm on the same cluster: `exports` actors asking for one CPU each (exports
        need no GPU and no engine; a GPU actor stays free for generations)."""
        return dataclasses.replace(self, resources="cpu", actors=self.exports)


def split_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a plain ``HOST[:PORT]`` address; None for forms Ray resolves itself ("auto",
    "local", ``ray://``)."""
    text = address.strip()
    if not text or text in ("auto", "local") or "://" in text:
        return None
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, DEFAULT_PORT
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ClusterUnreachable(
            f"the Ray address {address!r} is not HOST:PORT (e.g. 192.168.1.20:6379)"
        ) from None


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A quick TCP look at the head's port, so an unreachable cluster is said in seconds, not after Ray's
    own minute of retries. Raises ClusterUnreachable with what to do."""
    where = split_address(address)
    if where is None:
        return
    host, port = where
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterUnreachable(
            f"the Ray cluster at {address} cannot be reached ({reason}). Start it there with "
            f"`ray start --head --node-ip-address=<private IP>` or fix the address in Settings "
            f"(Render nodes) / {ENV_ADDRESS}"
        ) from exc


@dataclass(frozen=True)
class NodeSettings:
    """What a node needs to load the model when the job comes from `aiprod-cli farm` (the studio sends its
    app.jobs.settings.EngineSettings, which has the same fields): the checkpoint and text encoder paths
    as every node sees them."""

    checkpoint: str = ""
    gemma_root: str = ""
    quantization: str = "none"
    developer_tiny: bool = True
    lora_folder: str = ""

    def text_encoder_path(self, report: object = None) -> Path | None:
        return Path(self.gemma_root).expanduser() if self.gemma_root.strip() else None

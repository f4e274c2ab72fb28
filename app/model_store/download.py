"""Fetching a version's missing files from Hugging Face, only when the user asks: resumable across sessions,
verified against the sizes and SHA-256 hashes the hub reports, with clear messages for a full disk, a refused
token (401) and a gated repository whose licence was not accepted yet (403). Qt-free.

huggingface_hub does the talking (the repository listing with ``HfApi.model_info(files_metadata=True)``, the
file URL, the auth headers and the streamed, Range-resumed GET of ``file_download.http_get``); this module
keeps the bytes of an interrupted file as ``<name>.aiprod-partial`` beside its destination, so a download
stopped by an error, a cancel or a closed studio continues where it stopped (huggingface_hub's own
``hf_hub_download`` deletes its partial file on failure). The endpoint is ``$HF_ENDPOINT`` when set (tests
point it at a local server), else the hub.

The engine sets ``HF_HUB_OFFLINE=1`` for its own process, so the studio runs downloads in a child process
(``python -m app.model_store.download``, driven by :mod:`app.model_store.worker`) whose environment allows
the network; the engine's process never goes online.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.model_store.catalog import CATALOG, CatalogFile, VersionEntry, newest, version
from app.model_store.folder import (
    PARTIAL_SUFFIX,
    ensure_folder,
    free_bytes,
    human_size,
    record_download,
    target_dir,
)
from app.project.atomic import commit

HUB = "https://huggingface.co"
# Kept free beyond the files themselves, so the disk is not filled to the last byte.
DISK_MARGIN = 256 * 1024 * 1024
SKIPPED_FILES = {".gitattributes"}


class DownloadError(Exception):
    """A download that cannot go on; ``kind`` says which (disk_full, unauthorized, gated, not_found, network,
    corrupt, cancelled) and the message what to do."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RemoteFile:
    repo: str
    revision: str  # the commit the listing came from (every file of a plan from the same commit)
    filename: str  # path in the repository
    size: int
    sha256: str | None  # None for a small non-LFS file (its size is still checked)
    dest: str  # absolute destination path
    key: str  # the catalog entry it belongs to
    replaces_bad_copy: bool = False  # a file was there but did not match the hub's size or hash

    @property
    def partial(self) -> Path:
        dest = Path(self.dest)
        return dest.with_name(dest.name + PARTIAL_SUFFIX)


def child_environment(token: str | None = None) -> dict[str, str]:
    """The download process's environment: the studio's, without the offline switches the engine sets for
    its own process (a download is the user's explicit request), with the token when one is given."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    if token:
        env["HF_TOKEN"] = token
    return env


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or HUB


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def explain(exc: BaseException, repo: str = "", folder: Path | None = None) -> DownloadError:
    """A DownloadError saying in words what went wrong and what to do."""
    if isinstance(exc, DownloadError):
        return exc
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    status = _http_status(exc)
    page = f"{endpoint()}/{repo}" if repo else endpoint()
    if isinstance(exc, GatedRepoError) or status == 403:
        return DownloadError(
            "gated",
            f"{repo or 'This repository'} is gated: its licence has not been accepted with your Hugging Face "
            f"account yet ({status or 403}). Open {page} while signed in, accept the terms, enter a read "
            "token of that account, then press Download again.",
        )
    if status == 401:
        return DownloadError(
            "unauthorized",
            "Hugging Face refused the access token (401): it was revoked, has expired or was mistyped. "
            f"Create a read token at {HUB}/settings/tokens, enter it in the model manager and press Download "
            "again.",
        )
    if isinstance(exc, RepositoryNotFoundError) or status == 404:
        return DownloadError("not_found", f"{repo or 'The repository'} was not found on {endpoint()} (404).")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" holding {folder}" if folder else ""
        return DownloadError(
            "disk_full",
            f"The disk{where} is full. What was downloaded is kept and the download resumes where it "
            "stopped: free some space, or choose a models folder on another disk, and press Download again.",
        )
    if isinstance(exc, HfHubHTTPError):
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return DownloadError("network", f"Hugging Face answered with an error ({status}): {first_line}")
    return DownloadError(
        "network",
        f"Cannot download from {endpoint()}: {exc}. Check the connection and press Download again; "
        "the download resumes where it stopped.",
    )


def _sha256(path: Path, chunk: int = 8 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _listing(repo: str, token: str | None) -> tuple[str, list[tuple[str, int, str | None]]]:
    """(commit, [(path, size, sha256 or None)]) of a repository, as the hub reports them. Without a token,
    huggingface_hub's own (``$HF_TOKEN``, or the one ``hf auth login`` stored) is used."""
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=endpoint(), token=token or None).model_info(repo, files_metadata=True)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message
        raise explain(exc, repo) from exc
    files = []
    for sibling in info.siblings or ():
        lfs = sibling.lfs
        sha = getattr(lfs, "sha256", None) if lfs is not None else None
        size = sibling.size if sibling.size is not None else getattr(lfs, "size", None)
        if size is not None:
            files.append((sibling.rfilename, int(size), sha))
    return info.sha or "main", files


def _pick(item: CatalogFile, listing: list[tuple[str, int, str | None]]) -> list[tuple[str, int, str | None]]:
    if item.folder:
        return [f for f in listing if "/" not in f[0] and f[0] not in SKIPPED_FILES]
    matching = {f[0]: f for f in listing if fnmatch.fnmatchcase(f[0], item.pattern)}
    return [matching[newest(list(matching))]] if matching else []


def plan(entry: VersionEntry, items: Iterable[CatalogFile], folder: Path, token: str | None = None, *,
         verify: bool = False) -> list[RemoteFile]:  # fmt: skip
    """The files to fetch for ``items`` of ``entry`` into ``folder``: those missing, those whose size differs
    from the hub's, and (``verify``) those whose SHA-256 differs. Files already right are left alone."""
    listings: dict[str, tuple[str, list[tuple[str, int, str | None]]]] = {}
    todo: list[RemoteFile] = []
    for item in items:
        if item.repo not in listings:
            listings[item.repo] = _listing(item.repo, token)
        commit, listing = listings[item.repo]
        chosen = _pick(item, listing)
        if not chosen:
            missing = f"{item.repo} has no file matching {item.pattern} ({item.role})."
            raise DownloadError("not_found", missing)
        base = target_dir(folder, entry, item)
        for name, size, sha in chosen:
            dest = base / item.target_folder_name / name if item.folder else base / name.rsplit("/", 1)[-1]
            bad = False
            if dest.is_file():
                if dest.stat().st_size == size and not (verify and sha and _sha256(dest) != sha):
                    continue
                bad = True
            todo.append(RemoteFile(item.repo, commit, name, size, sha, str(dest), item.key, bad))
    return todo


def bytes_to_fetch(files: Iterable[RemoteFile]) -> int:
    total = 0
    for remote in files:
        have = remote.partial.stat().st_size if remote.partial.is_file() else 0
        total += max(0, remote.size - (have if have <= remote.size else 0))
    return total


def check_space(files: list[RemoteFile], folder: Path) -> None:
    """DownloadError('disk_full') before anything is fetched when the disk cannot take the files."""
    needed = bytes_to_fetch(files)
    free = free_bytes(folder)
    if needed + DISK_MARGIN > free:
        raise DownloadError(
            "disk_full",
            f"Not enough free disk space: the download needs {human_size(needed)} (plus "
            f"{human_size(DISK_MARGIN)} to spare) and the disk holding {folder} has {human_size(free)} free. "
            "Free some space or choose a models folder on another disk.",
        )


class _Writer:
    """The partial file as http_get sees it: counts bytes for the progress, stops on cancel."""

    def __init__(self, handle, on_bytes: Callable[[int], None], cancelled: Callable[[], bool]):
        self._handle = handle
        self._on_bytes = on_bytes
        self._cancelled = cancelled

    def write(self, chunk: bytes) -> int:
        if self._cancelled():
            raise DownloadError("cancelled", "Download cancelled; it resumes where it stopped next time.")
        written = self._handle.write(chunk)
        self._on_bytes(len(chunk))
        return written

    def __getattr__(self, name):  # tell, seek, truncate, flush
        return getattr(self._handle, name)


class _QuietTqdm:
    """No console progress bars from huggingface_hub; progress goes to the caller's callback."""

    def __init__(self, *args, **kwargs):
        pass

    def update(self, n=1):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass


def open_partial(path: Path):
    """The partial file, opened to append (a hook: tests replace it to simulate a disk that fills up)."""
    return path.open("ab")


def _fetch(remote: RemoteFile, token: str | None, on_bytes: Callable[[int], None],
           cancelled: Callable[[], bool]) -> None:  # fmt: skip
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    partial = remote.partial
    partial.parent.mkdir(parents=True, exist_ok=True)
    resume = partial.stat().st_size if partial.is_file() else 0
    if resume > remote.size:
        partial.unlink()
        resume = 0
    on_bytes(resume)
    url = hf_hub_url(remote.repo, remote.filename, revision=remote.revision, endpoint=endpoint())
    headers = build_hf_headers(token=token or None)
    headers["Accept-Encoding"] = "identity"
    with open_partial(partial) as handle:
        writer = _Writer(handle, on_bytes, cancelled)
        http_get(url, writer, resume_size=resume, headers=headers, expected_size=remote.size,
                 displayed_filename=remote.filename, tqdm_class=_QuietTqdm)  # fmt: skip


def _verified(remote: RemoteFile) -> bool:
    partial = remote.partial
    if partial.stat().st_size != remote.size:
        return False
    return remote.sha256 is None or _sha256(partial) == remote.sha256


@dataclass(frozen=True)
class Progress:
    filename: str
    file_done: int
    file_size: int
    done: int  # all files of the plan
    total: int
    message: str = ""


def download(files: list[RemoteFile], folder: Path, token: str | None = None, *,
             progress: Callable[[Progress], None] = lambda p: None,
             cancelled: Callable[[], bool] = lambda: False) -> list[Path]:  # fmt: skip
    """Fetch ``files`` (from :func:`plan`) into ``folder``; the paths written. Each file is verified (size,
    SHA-256) before it takes its name; one that arrives corrupted is fetched again once, then refused."""
    ensure_folder(folder)
    check_space(files, folder)
    total = sum(f.size for f in files)
    done_before = 0
    written = []
    for remote in files:
        dest = Path(remote.dest)
        for attempt in (1, 2):
            state = {"file": 0, "before": done_before}

            def on_bytes(count: int, remote=remote, state=state) -> None:
                state["file"] += count
                done = state["before"] + state["file"]
                progress(Progress(remote.filename, state["file"], remote.size, done, total))

            try:
                _fetch(remote, token, on_bytes, cancelled)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message
                raise explain(exc, remote.repo, folder) from exc
            if _verified(remote):
                break
            remote.partial.unlink(missing_ok=True)
            if attempt == 2:
                raise DownloadError(
                    "corrupt",
                    f"{remote.filename} arrived corrupted twice (its size or SHA-256 differs from what "
                    f"{endpoint()} reports); nothing was kept. Try again later.",
                )
            progress(Progress(remote.filename, 0, remote.size, done_before, total,
                              f"{remote.filename} arrived corrupted; fetching it again"))  # fmt: skip
        if dest.exists():
            dest.unlink()  # the bad copy the plan found
        commit(remote.partial, dest)  # the app's one atomic rename (fsync'd, folder made durable)
        record_download(folder, dest)
        written.append(dest)
        done_before += remote.size
        progress(Progress(remote.filename, remote.size, remote.size, done_before, total))
    return written


# ------------------------------------------------------------------------------------ the child process
def main(argv: list[str] | None = None) -> int:
    """``python -m app.model_store.download [--verify] [--plan-only] [--remember] VERSION FOLDER KEY...``
    (the token in $HF_TOKEN): plans and fetches, printing one JSON object a line: {"plan": [...]},
    {"progress": ...}, then {"done": [...]} or {"error": ..., "kind": ...}. ``--remember`` first checks the
    token with the hub and stores it as huggingface_hub does (:mod:`app.model_store.credentials`):
    {"remembered": "<masked>"}, or {"warning": ...} when it cannot be stored (the download goes on with it),
    or a 401 error (nothing stored)."""
    args = list(sys.argv[1:] if argv is None else argv)
    verify = "--verify" in args
    plan_only = "--plan-only" in args
    remember = "--remember" in args
    args = [a for a in args if a not in ("--verify", "--plan-only", "--remember")]
    name, folder, keys = args[0], Path(args[1]), set(args[2:])
    token = os.environ.get("HF_TOKEN") or None

    def emit(obj: dict) -> None:
        print(json.dumps(obj), flush=True)

    try:
        if remember and token:
            from app.model_store.credentials import TokenError
            from app.model_store.credentials import remember as store_token

            try:
                emit({"remembered": store_token(token)})
            except TokenError as exc:
                if exc.kind != "storage":
                    raise DownloadError(exc.kind, str(exc)) from None
                emit({"warning": str(exc)})
        entry = version(name, CATALOG)
        items = [item for item in entry.files if item.key in keys]
        files = plan(entry, items, folder, token, verify=verify)
        emit({"plan": [asdict(f) for f in files]})
        if plan_only:
            return 0
        last = [0.0]

        def report(p: Progress) -> None:
            if p.message or p.file_done in (0, p.file_size) or p.done - last[0] >= max(1, p.total // 200):
                last[0] = p.done
                emit({"progress": asdict(p)})

        written = download(files, folder, token, progress=report)
    except DownloadError as exc:
        emit({"error": str(exc), "kind": exc.kind})
        return 1
    emit({"done": [str(p) for p in written]})
    return 0


if __name__ == "__main__":
    sys.exit(main())

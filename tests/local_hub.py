"""A stand-in for the Hugging Face hub on 127.0.0.1, for tests without the internet.

It serves folders as repositories in the hub's URL layout, the parts huggingface_hub calls:
``GET /api/models/{repo}/revision/{rev}`` (the listing with sizes and LFS SHA-256 when ``blobs`` is asked),
``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ``ETag``/``X-Linked-Etag``, ``X-Repo-Commit``,
``Content-Length`` and ``Range`` support, and ``GET /api/whoami-v2`` (what ``huggingface_hub.login`` asks
before it stores a token: 200 with ``token_name`` as the token's display name, 401 without a token or with
one other than ``token``). Knobs: ``cut_after`` (bytes after which a GET drops the
connection), ``token`` (the only token accepted: others get 401 "Invalid credentials"), ``gated`` (repos
answered with 403 GatedRepo), ``corrupt_once`` (paths whose first GET sends flipped bytes). ``requests``
records (method, path, Range header) of each request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class LocalHub:
    def __init__(self, repos: dict[str, Path]):
        self.repos = {name: Path(folder) for name, folder in repos.items()}
        self.cut_after: int | None = None
        self.token: str | None = None
        self.token_name = "aiprod-test-token"
        self.gated: set[str] = set()
        self.corrupt_once: set[str] = set()
        self.requests: list[tuple[str, str, str | None]] = []
        self.bytes_sent = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub._handle(self, head=True)

            def do_GET(self):
                hub._handle(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LocalHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --------------------------------------------------------------------------------------------------
    def files(self, repo: str) -> dict[str, Path]:
        root = self.repos[repo]
        return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}

    @staticmethod
    def sha256(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def _refuse(self, handler, repo: str, head: bool) -> bool:
        auth = handler.headers.get("Authorization", "")
        if auth and self.token is not None and auth != f"Bearer {self.token}":
            self._send(handler, 401, b'{"error": "Invalid credentials"}', head,
                       {"X-Error-Message": "Invalid credentials in Authorization header"})  # fmt: skip
            return True
        if repo in self.gated:
            body = f'{{"error": "Access to model {repo} is restricted."}}'.encode()
            self._send(handler, 403, body, head, {"X-Error-Code": "GatedRepo",
                                                  "X-Error-Message": "Access restricted"})  # fmt: skip
            return True
        return False

    def _send(self, handler, status: int, body: bytes, head: bool, headers: dict[str, str] | None = None):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)

    def _repo_of(self, parts: list[str]) -> tuple[str, list[str]] | None:
        for name in self.repos:
            n = name.count("/") + 1
            if "/".join(parts[:n]) == name:
                return name, parts[n:]
        return None

    def _handle(self, handler, head: bool) -> None:
        url = urlparse(handler.path)
        path = unquote(url.path)
        self.requests.append((handler.command, path, handler.headers.get("Range")))
        parts = [p for p in path.split("/") if p]
        if parts == ["api", "whoami-v2"]:
            auth = handler.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or (self.token is not None and auth != f"Bearer {self.token}"):
                refused = {"X-Error-Message": "Invalid credentials in Authorization header"}
                return self._send(handler, 401, b'{"error": "Invalid credentials"}', head, refused)
            access = {"displayName": self.token_name, "role": "read"}
            body = json.dumps({"type": "user", "name": "studio-tester", "auth": {"accessToken": access}})
            return self._send(handler, 200, body.encode(), head, {"Content-Type": "application/json"})
        if parts[:2] == ["api", "models"]:
            found = self._repo_of(parts[2:])
            if found is None:
                return self._send(handler, 404, b"{}", head, {"X-Error-Code": "RepoNotFound"})
            repo, _rest = found
            if self._refuse(handler, repo, head):
                return None
            siblings = []
            for name, file in self.files(repo).items():
                size = file.stat().st_size
                entry = {"rfilename": name, "size": size, "blobId": self.sha256(file)[:40]}
                if file.suffix == ".safetensors":
                    entry["lfs"] = {"sha256": self.sha256(file), "size": size, "pointerSize": 134}
                siblings.append(entry)
            body = json.dumps({"id": repo, "modelId": repo, "sha": COMMIT, "siblings": siblings}).encode()
            return self._send(handler, 200, body, head, {"Content-Type": "application/json"})
        found = self._repo_of(parts)
        if found is None or len(found[1]) < 3 or found[1][0] != "resolve":
            return self._send(handler, 404, b"{}", head, {"X-Error-Code": "RepoNotFound"})
        repo, rest = found
        if self._refuse(handler, repo, head):
            return None
        name = "/".join(rest[2:])
        file = self.files(repo).get(name)
        if file is None:
            return self._send(handler, 404, b"{}", head, {"X-Error-Code": "EntryNotFound"})
        data = file.read_bytes()
        if not head and name in self.corrupt_once:
            self.corrupt_once.discard(name)
            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        etag = f'"{self.sha256(file)}"'
        start = 0
        rng = handler.headers.get("Range")
        status = 200
        if rng and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-")[0] or 0)
            status = 206
        body = data[start:]
        headers = {"ETag": etag, "X-Linked-Etag": etag, "X-Repo-Commit": COMMIT, "Accept-Ranges": "bytes",
                   "X-Linked-Size": str(len(data))}  # fmt: skip
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if head:
            return None
        if self.cut_after is not None and len(body) > self.cut_after:
            handler.wfile.write(body[: self.cut_after])
            handler.wfile.flush()
            self.bytes_sent += self.cut_after
            self.cut_after = None  # one cut: the next request goes through
            handler.close_connection = True
            return None
        handler.wfile.write(body)
        self.bytes_sent += len(body)
        return None

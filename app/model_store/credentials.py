"""The Hugging Face token, remembered between sessions only when the user asks, stored the way
huggingface_hub itself stores it: ``huggingface_hub.login(token, add_to_git_credential=False)`` checks it with
the hub (``whoami``) and writes ``$HF_HOME/token`` (plus its named entry in ``$HF_HOME/stored_tokens``), the
same files ``hf auth login`` writes and every huggingface_hub program reads; ``huggingface_hub.logout(name)``
forgets it.
The studio never writes a token anywhere else (no settings file, no project, no log line, no message: only
:func:`mask` of it is ever shown). Qt-free.

:func:`remember` talks to the hub, so it runs in the download child process (the studio's own process stays
offline); :func:`state` and :func:`forget` only read and delete files and run anywhere.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

ENV_NAMES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")  # what huggingface_hub reads before its token file
# A file that cannot be written (rather than a connection that failed).
_STORAGE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENOSPC,
                   errno.EDQUOT, errno.EEXIST}  # fmt: skip


class TokenError(Exception):
    """The token could not be stored or forgotten; ``kind`` says why (unauthorized, storage, network,
    environment) and the message what to do. A message never contains the token."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def mask(token: str | None) -> str:
    """What the user may see of a token: its prefix and last four characters (``hf_…wxyz``)."""
    if not token:
        return ""
    prefix = "hf_" if token.startswith("hf_") else ""
    tail = token[-4:] if len(token) >= len(prefix) + 8 else ""
    return f"{prefix}\u2026{tail}"


def token_path() -> Path:
    """huggingface_hub's token file (``$HF_HOME/token``, by default ``~/.cache/huggingface/token``)."""
    from huggingface_hub import constants

    return Path(constants.HF_TOKEN_PATH)


@dataclass(frozen=True)
class TokenState:
    """The token huggingface_hub would use when the dialog's field is left empty."""

    masked: str  # "" when there is none
    source: str  # "stored" ($HF_HOME/token), "environment" ($HF_TOKEN), or "" (none)
    path: Path  # the token file, whether or not it exists

    @property
    def stored(self) -> bool:
        return self.source == "stored"

    def describe(self) -> str:
        if self.source == "environment":
            return f"Using the token from $HF_TOKEN ({self.masked}) when the field is empty."
        if self.source == "stored":
            return (f"Using the token stored on this computer ({self.masked}, in {self.path}, shared with "
                    "the hf command) when the field is empty.")  # fmt: skip
        return "No token is stored on this computer."


def state() -> TokenState:
    """Which token huggingface_hub's ``get_token()`` finds, masked, and where it comes from."""
    from huggingface_hub import get_token

    try:
        token = get_token()
    except Exception:  # noqa: BLE001 - an unreadable token file or a failed OIDC exchange: no token to show
        token = None
    if not token:
        return TokenState("", "", token_path())
    from_env = any(os.environ.get(name, "").strip() == token for name in ENV_NAMES)
    return TokenState(mask(token), "environment" if from_env else "stored", token_path())


def _storage_error(exc: OSError, doing: str) -> TokenError:
    where = token_path().parent
    reason = exc.strerror or type(exc).__name__
    return TokenError(
        "storage",
        f"Could not {doing} the token in {where} ({reason}). It is still used for this session's downloads; "
        f"to keep it, make {where} writable (or set $HF_HOME to a folder you can write to) and try again.",
    )


def remember(token: str) -> str:
    """Check ``token`` with the hub and store it as huggingface_hub does (``login``); its masked form.
    TokenError: the hub refused it (401: nothing stored, a token stored earlier stays), the token folder
    cannot be written (nothing else changed), or the hub could not be reached."""
    token = token.strip()
    if not token:
        raise TokenError("unauthorized", "There is no token to remember: paste a read token first.")
    from huggingface_hub import login
    from huggingface_hub.errors import HfHubHTTPError

    try:
        login(token, add_to_git_credential=False)
    except HfHubHTTPError as exc:  # before OSError: it is one
        from app.model_store.download import explain

        error = explain(exc)
        raise TokenError(error.kind, str(error).replace(token, mask(token))) from None
    except OSError as exc:
        if exc.filename is not None or exc.errno in _STORAGE_ERRNOS:
            raise _storage_error(exc, "store") from None
        reason = exc.strerror or exc
        raise TokenError("network", f"Could not check the token with the hub: {reason}") from None
    except ValueError as exc:  # an organisation token
        raise TokenError("unauthorized", str(exc).replace(token, mask(token))) from None
    except Exception as exc:  # noqa: BLE001 - the hub could not be reached
        text = str(exc).replace(token, mask(token))
        raise TokenError("network", f"Could not check the token with the hub: {text}") from None
    return mask(token)


def forget() -> TokenState:
    """Delete the stored token the way ``hf auth logout <name>`` does (``logout`` of its name, which also
    drops huggingface.co from git's credential helpers; a token file with no named entry is deleted alone;
    other named tokens stay). The state afterwards. TokenError when the file cannot be deleted, or when
    $HF_TOKEN still provides one (then it is still used, and the message says so)."""
    from huggingface_hub import get_token, logout
    from huggingface_hub.utils import get_stored_tokens

    path = token_path()
    try:
        active = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
        names = [name for name, value in get_stored_tokens().items() if active and value == active]
    except OSError as exc:
        raise _storage_error(exc, "delete") from None
    if active:
        try:
            if names:
                logout(names[0])  # that entry of stored_tokens and the token file; others stay
            path.unlink(missing_ok=True)  # a token file with no named entry (an older hf login)
        except OSError as exc:
            if path.exists():  # logout's own OSError about $HF_TOKEN comes after the file is gone
                raise _storage_error(exc, "delete") from None
    if any(os.environ.get(name, "").strip() for name in ENV_NAMES) and get_token():
        raise TokenError(
            "environment",
            "The stored token was deleted, but $HF_TOKEN is set in the environment the studio was started "
            "from and is still used; unset it to stop using it.",
        )
    return state()

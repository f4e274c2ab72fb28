"""Error hierarchy for the application layer.

Every error carries a message written for the person using the app: it says what
went wrong and, where possible, what to do about it.
"""

from __future__ import annotations


class AppError(Exception):
    """Base class for all errors the application reports to the user."""


class ExportError(AppError):
    """Writing a video file failed or was refused before it started."""


class ExportCancelled(ExportError):
    """The export was cancelled by the user; nothing was written."""

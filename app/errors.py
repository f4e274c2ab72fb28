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


class EditError(AppError):
    """An edit cannot be made as asked (no room, no media handles, unknown clip...). Nothing changed."""


class MediaError(AppError):
    """A media file is missing, unreadable or of a kind the studio cannot use."""


class ProjectError(AppError):
    """A project cannot be opened or saved (corrupt, truncated, newer format, unwritable). Nothing on disk
    was overwritten."""


class JobError(AppError):
    """A generation job cannot start or failed; the message says what the user can do about it."""


class ColorError(AppError):
    """A colour setting cannot be used: unknown colour space, missing or malformed LUT, bad config."""


class InterchangeError(AppError):
    """A timeline cannot be exported to or imported from an interchange format (EDL, FCP XML, OTIO)."""


class MaskError(AppError):
    """An inpainting mask cannot be used: its file is missing or damaged, or it is not a one-channel image."""

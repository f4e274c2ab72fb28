"""Headless project building: a new project with sequence settings, and files appended to it as the
studio's bin drop places them (pictures on a video track with their sound on the matching audio track,
sound-only files on an audio track, stills five seconds long). Qt-free; ``aiprod-cli new-project`` and
``aiprod-cli add`` call these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.document import TimelineDocument, TrackKind, placement
from app.document.sequence import SequenceSettings
from app.errors import EditError, MediaError, ProjectError
from app.project.store import load_project, project_layout, save_project


@dataclass(frozen=True)
class AddReport:
    clips: list[str]  # created clip ids
    problems: list[str]  # files that could not be used, one message each
    end_frame: int  # the end of the last clip added


def new_project(folder: str | os.PathLike[str], settings: SequenceSettings, name: str | None = None) -> Path:
    """Create ``folder`` (``Name.aiprod``) holding an empty timeline with ``settings``.

    Raises:
        ProjectError: a project is already there (nothing is overwritten) or the folder cannot be written.
    """
    layout = project_layout(folder)
    if layout.project_file.exists():
        raise ProjectError(f"{layout.folder} already holds a project; choose another folder.")
    doc = TimelineDocument(name=name or layout.folder.name.removesuffix(".aiprod"), sequence=settings)
    save_project(doc, layout.folder)
    return layout.folder


def add_files(
    folder: str | os.PathLike[str], paths: list[str | os.PathLike[str]], track: str | None = None
) -> AddReport:
    """Append ``paths`` (media, stills, sound) after the last clip of ``track`` (a name such as "V1" or
    "A2", made when it is the next track of its kind; default V1 for pictures, A1 for sound-only files)
    and save the project once.

    A file that cannot be used is reported and skipped; the others are added. Nothing is saved when none
    can be used.

    Raises:
        ProjectError: no project there, or its media is missing.
        EditError: the track does not exist, or nothing could be added.
    """
    from app.media.importer import import_files

    loaded = load_project(folder)
    doc = loaded.doc
    track_id = None
    if track is not None:
        named = {t.name.upper(): t.id for t in doc.tracks()}
        track_id = named.get(track.upper())
        kinds = {"V": TrackKind.VIDEO, "A": TrackKind.AUDIO}
        wanted = track.upper()
        if (
            track_id is None
            and wanted[:1] in kinds
            and wanted[1:] == str(len(doc.tracks(kinds[wanted[0]])) + 1)
        ):
            track_id = doc.add_track(kinds[wanted[0]])  # the next track up is made (A2 for a music bed)
        if track_id is None:
            raise EditError(
                f"The project has no track {track}; it has {', '.join(t.name for t in doc.tracks())}."
            )
    media_ids, errors = import_files(doc, [str(Path(os.fspath(p)).expanduser()) for p in paths])
    problems = [str(e) for e in errors]
    created: list[str] = []
    for media_id in media_ids:  # one by one: a file a track cannot take is reported, the rest still go on
        try:
            target = track_id
            if target is not None and doc.track_info(target).kind is TrackKind.AUDIO:
                info = doc.bin_item(media_id).info
                if info is not None and not info.has_audio:
                    raise EditError(f"'{doc.bin_item(media_id).name}' has no sound; it cannot go on {track}.")
            created += placement.append(doc, [media_id], target)
        except (EditError, MediaError) as exc:
            problems.append(str(exc))
    if not created:
        raise EditError("Nothing was added. " + " ".join(problems))
    save_project(doc, loaded.folder)
    return AddReport(created, problems, placement.end_of(doc, created) or 0)

"""A retimed clip (OTIO LinearTimeWarp, fit to fill) in an export: each rendered frame is the source frame
app.document.resolve names (identified by the picture make_video draws into it), and its sound is the
source's resampled to fit (a 440 Hz tone at 200% sounds at 880 Hz, at 50% at 220 Hz)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import decoded_index, make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.document.three_point import Marks, place, resolve_for  # noqa: E402
from app.export import render_timeline  # noqa: E402
from app.export.audio_mix import TimelineAudioMix  # noqa: E402
from app.media.importer import import_files  # noqa: E402

RATE = 24
SR = 48_000
TONE = 440.0  # make_video's sine


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("retime") / "s.mov", frames=60, codec="prores_ks", audio=True)


def fitted(source: Path, src: tuple[int, int], rec: tuple[int, int]) -> tuple[TimelineDocument, float]:
    """A document with the source range ``src`` fit to fill the timeline range ``rec`` on V1 (and A1)."""
    doc = TimelineDocument(name="Retime", rate=RATE)
    (media,), errors = import_files(doc, [source])
    assert not errors
    edit = resolve_for(doc, media, Marks(*src), Marks(*rec), 0, four_point="fit")
    place(doc, media, edit, doc.tracks(TrackKind.VIDEO)[0].id, overwrite=True)
    return doc, edit.source_frames / edit.record_frames


@pytest.mark.parametrize(("src", "rec"), [((4, 43), (0, 19)), ((10, 19), (0, 19))])
def test_rendered_frames_are_the_retimed_source_frames(source, tmp_path, src, rec):
    doc, speed = fitted(source, src, rec)
    report = render_timeline(
        doc, "prores_422_proxy", tmp_path / "r.mov", in_frame=rec[0], out_frame=rec[1] + 1
    )
    with av.open(str(report.path)) as container:
        got = [decoded_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    expected = [src[0] + math.floor(k * speed + 1e-6) for k in range(rec[1] - rec[0] + 1)]
    assert got == expected
    assert got[0] == src[0] and got[-1] <= src[1]


def dominant_hz(sound: np.ndarray) -> float:
    mono = sound.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    return float(np.fft.rfftfreq(mono.size, 1 / SR)[int(np.argmax(spectrum))])


@pytest.mark.parametrize(("src", "rec"), [((4, 43), (0, 19)), ((10, 19), (0, 19))])
def test_a_retimed_clips_sound_is_resampled_to_fit(source, src, rec):
    doc, speed = fitted(source, src, rec)
    (seg,) = doc.audio_segments(RationalTime(0, RATE), RationalTime(rec[1] + 1, RATE))
    assert seg.speed == speed
    mix = TimelineAudioMix(doc, 0.0, (rec[1] + 1) / RATE)
    try:
        sound = mix.read(0, mix.samples)
    finally:
        mix.close()
    assert sound.shape == (2, (rec[1] + 1) * SR // RATE)  # the record range's length, not the source's
    quiet = int(0.05 * SR)  # the clip's own start and end are ramps of the sine: skip the edges
    assert dominant_hz(sound[:, quiet:-quiet]) == pytest.approx(TONE * speed, rel=0.04)

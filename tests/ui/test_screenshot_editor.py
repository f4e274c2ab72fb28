"""Screenshots of the issue 13 editor (artifacts/screenshots): a 16:9 sequence with a 4:3 clip filled to the
frame, a title over it selected in the inspector, audio tracks with mute/solo/volume, the level meter while
playing; and the Sequence Settings dialog."""

from __future__ import annotations

import sys
from pathlib import Path

from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_screenshot import SCREENSHOTS, _distinct_colours, _save, _scene, themed_window  # noqa: E402, F401

from app.commands import push_edit  # noqa: E402
from app.document import TrackKind, placement  # noqa: E402
from app.document.sequence import SequenceSettings  # noqa: E402
from ui.sequence_dialog import SequenceSettingsDialog  # noqa: E402


def test_sequence_titles_and_sound_screenshot(themed_window, qtbot, tmp_path):  # noqa: F811
    window = themed_window
    window.resize(1600, 1000)
    doc, stack = window.session.doc, window.session.stack
    window.apply_sequence_settings(SequenceSettings(640, 360, 24.0, 48000))
    clip_path = _scene(tmp_path / "dusk.mov", (0.9, 0.45, 0.2), frames=72)
    media_ids = window.media_bin.import_files([str(clip_path)])
    v1 = doc.tracks(TrackKind.VIDEO)[0].id

    def build(d):  # noqa: ANN001, ANN202
        (clip, _audio) = d.insert(media_ids[0], v1, RationalTime(0, 24))
        d.set_clip_transform(clip, {"mode": "fill", "scale": 1.1})
        d.set_clip_gain(_audio, -3.0)
        d.set_clip_fades(_audio, 12, 24)
        title = placement.add_title(
            d, 6, {"text": "Dusk, day one", "size": 90, "y": 0.8, "box": True, "color": "#ffe9b0"}, 60
        )
        a1 = d.tracks(TrackKind.AUDIO)[0].id
        d.set_track_audio(a1, volume_db=-6.0, solo=True)
        a2 = d.add_track(TrackKind.AUDIO)
        d.set_track_audio(a2, mute=True)
        return title

    title = push_edit(stack, doc, "Build", build)
    window.timeline.select([title])
    window.inspector.show_clip(title)
    window.seek(30)
    window.player.play()
    qtbot.waitUntil(lambda: window.level_meter.peak[0] > -40, timeout=5000)
    qtbot.wait(200)
    image = window.grab().toImage()
    window.player.pause()
    _save(image, "editor_sequence_titles_sound.png", window)
    assert _distinct_colours(image) > 40

    dialog = SequenceSettingsDialog(doc.sequence_settings(), SequenceSettings(320, 180, 24.0, 48000), window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.width_box.setValue(1081)  # shows the refusal in place
    qtbot.wait(50)
    shot = dialog.grab().toImage()
    path: Path = SCREENSHOTS / "sequence_settings_dialog.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert shot.save(str(path))
    dialog.close()

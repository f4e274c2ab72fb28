"""Sound out, for real: a private PulseAudio daemon with a null sink stands in for a sound card, the
TimelinePlayer plays a clip with a 440 Hz tone, and what reaches the sink is recorded from its monitor.

Skipped where PulseAudio is not installed (.ci/run installs it, so CI runs this)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
needs_pulse = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "parec")) or sys.platform == "win32",
    reason="needs pulseaudio, pactl and parec (Linux; .ci/run installs them)",
)

PLAYER = """
import sys, time
from pathlib import Path
import app
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
sys.path.append("tests")
from media_builders import make_video
from opentimelineio.opentime import RationalTime
from app.document import TimelineDocument, TrackKind
from app.media.importer import import_files
from app.media.workers import TimelinePlayer

qt = QGuiApplication([])
doc = TimelineDocument(rate=24)
clip = make_video(Path(sys.argv[1]), frames=96, codec="prores_ks", audio=True)
ids, _ = import_files(doc, [str(clip)])
doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
player = TimelinePlayer(doc)
print("OUTPUT", player.has_audio_output, flush=True)
shown = []
player.frame_ready.connect(lambda frame, image: shown.append(frame))
started = time.monotonic()
player.play()
QTimer.singleShot(2500, qt.quit)
qt.exec()
print("FRAMES", len(shown), shown[-1] if shown else -1, round(time.monotonic() - started, 2), flush=True)
player.shutdown()
"""


@pytest.fixture
def pulse(tmp_path):  # noqa: ANN201
    runtime = tmp_path / "pulse-runtime"
    runtime.mkdir()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime / "pulse")}
    daemon = subprocess.run(
        ["pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--load=module-null-sink sink_name=studio_test",
         "--load=module-native-protocol-unix"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if daemon.returncode != 0:
        pytest.skip(f"pulseaudio would not start here: {daemon.stderr.strip()[-300:]}")
    try:
        for _ in range(50):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield env
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)


@needs_pulse
def test_the_player_sends_the_timelines_sound_to_the_audio_device(pulse, tmp_path):
    env = {**pulse, "QT_QPA_PLATFORM": "offscreen", "QT_LOGGING_RULES": "qt.multimedia.*=false"}
    recording = subprocess.Popen(
        ["parec", "-d", "studio_test.monitor", "--format=s16le", "--channels=2", "--rate=48000", "--raw",
         "--latency-msec=20"],
        env=pulse, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        player = subprocess.run(
            [sys.executable, "-c", PLAYER, str(tmp_path / "tone.mov")],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        time.sleep(0.3)  # let the last recorded fragments through before stopping the recorder
        recording.terminate()
        captured, _ = recording.communicate(timeout=30)
    assert player.returncode == 0, player.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in player.stdout.splitlines() if " " in line)
    assert lines["OUTPUT"] == "True"  # a device was found: not the silent fallback
    count, last, seconds = lines["FRAMES"].split()
    # Pictures kept running at the timeline rate (2.5 s at 24 fps, generously bounded) while sound played.
    assert 20 <= int(last) <= 90 and int(count) >= 20

    samples = np.frombuffer(captured, dtype="<i2").astype(np.float32) / 32768.0
    assert samples.size > 2 * 12000  # the monitor recorded at least a quarter of a second (stereo)
    loud = samples.reshape(-1, 2)[:, 0]
    assert np.sqrt(np.mean(loud**2)) > 0.01, "only silence reached the sound device"
    # The tone is 440 Hz: the strongest frequency of the loud part of the recording.
    active = loud[np.abs(loud) > 0.005]
    spectrum = np.abs(np.fft.rfft(active[: 48000 // 2]))
    peak_hz = np.argmax(spectrum[1:]) + 1
    peak_hz *= 48000 / min(active.size, 48000 // 2)
    assert abs(peak_hz - 440) < 15, peak_hz

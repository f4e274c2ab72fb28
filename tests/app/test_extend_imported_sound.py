"""Extending an imported clip (a file this studio did not generate: no audio latents beside it) continues
its sound: the studio's job path (`read_clip` + `run_extend`) and `aiprod-cli extend` read the file's sound
and the engine encodes it with the audio VAE; a file without sound still extends, its sound following the
picture. The written takes are probed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app import cli
from app.export import probe, write_clip
from app.jobs.extend import ExtendSpec, read_clip, run_extend
from app.media.clip_reader import SOURCE_SOUND_RATE, source_sound


def _imported(folder: Path, with_sound: bool = True) -> Path:
    rng = np.random.default_rng(4)
    frames = rng.random((17, 64, 64, 3)).astype(np.float32)
    rate = 44100
    t = np.arange(round(17 / 24 * rate)) / rate
    sound = (0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 550 * t)])).astype(np.float32)
    path = folder / ("camera.mov" if with_sound else "silent.mov")
    return write_clip(path, frames, 24, sound if with_sound else None, rate if with_sound else None)


def test_the_studio_extends_an_imported_clip_with_its_sound(tmp_path):
    from engine.engine import Engine

    path = _imported(tmp_path)
    source = read_clip(path)
    assert source.audio_latents is None and source.generation is None  # a foreign file
    sound, rate = source_sound(source)
    assert rate == SOURCE_SOUND_RATE and sound.shape[0] == 2
    assert np.sqrt(np.mean(sound**2)) > 0.1  # the file's tones, read back
    engine = Engine.tiny(device="cpu")
    for direction in ("forward", "backward"):
        spec = ExtendSpec(source_path=str(path), seconds=0.5, direction=direction, prompt="waves", seed=2,
                          preview_every=0)
        result = run_extend(engine, spec, source)
        extend = result.metadata["extend"]
        assert extend["sound_held"] and extend["sound_from"] == "encoded from the source's sound"
        assert extend["held_audio_latent_frames"] >= 1
        assert np.sqrt(np.mean(result.audio**2)) > 1e-3
    silent = read_clip(_imported(tmp_path, with_sound=False))
    assert source_sound(silent) == (None, None)
    result = run_extend(engine, ExtendSpec(source_path=str(silent.path), seconds=0.5, prompt="waves",
                                           preview_every=0), silent)
    assert not result.metadata["extend"]["sound_held"]


def test_cli_extend_of_an_imported_clip_holds_its_sound(capsys, tmp_path):
    path = _imported(tmp_path)
    out = tmp_path / "ext.mov"
    code = cli.main(["extend", str(path), "--out", str(out), "--quiet", "--seconds", "0.5", "--model", "tiny",
                     "--steps", "2", "--prompt", "waves"])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    info = probe(out)
    assert info["frame_count"] == 16 and info["channels"] == 2
    record = json.loads(info["metadata"]["aiprod_generation"])
    assert record["extend"]["sound_held"] and record["extend"]["sound_from"].startswith("encoded")


def test_an_unreadable_sound_falls_back_to_the_picture(tmp_path, monkeypatch):
    from app.errors import MediaError
    from app.media import audio

    path = _imported(tmp_path)
    source = read_clip(path)

    def broken(*args, **kwargs):
        raise MediaError("damaged audio")

    monkeypatch.setattr(audio, "read_audio", broken)
    assert source_sound(source) == (None, None)

"""The project's colour settings: which OpenColorIO config, and which spaces, display and view to use.

Defaults (every field None = "choose for this config"):

* config: OCIO's built-in ACES studio config, ``ocio://studio-config-latest``.
* input space (clips without their own): **sRGB Encoded Rec.709 (sRGB)**. Generated and imported clips are
  display-referred Rec.709/sRGB video: their code values are meant to be shown as they are on an sRGB
  monitor, which is what every player does.
* working space (where the CDL and the LUT act): the same space, i.e. we grade the display-referred
  Rec.709 code values directly, as Resolve does on a Rec.709 timeline without colour management. Our
  looks are authored for exactly these values, and an ungraded clip passes through untouched.
* output space (what the export writes): the same again, so files play in any player as the viewer shows.
* display/view: ``sRGB - Display`` with ``Video (colorimetric)``, which for that output space is the
  identity (measured: 1.8e-5 max through OCIO's float maths; the pipeline then skips it). The ACES 2.0 SDR
  view and every other view of the config remain available for scene-referred material.

A user's own config works too: names left None fall back to that config's roles (``color_picking``,
``default``) and its default display and view.
"""

from __future__ import annotations

import difflib
import os
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import PyOpenColorIO as ocio

from app.errors import ColorError

BUILTIN_CONFIG = "ocio://studio-config-latest"
VIDEO_SPACE = "sRGB Encoded Rec.709 (sRGB)"
DEFAULT_DISPLAY = "sRGB - Display"
DEFAULT_VIEW = "Video (colorimetric)"

_configs: dict[tuple[str, int], ocio.Config] = {}
_configs_lock = threading.Lock()


@dataclass(frozen=True)
class ResolvedSpaces:
    """The names a pipeline uses, after defaults were chosen for the loaded config."""

    input_space: str
    working_space: str
    output_space: str
    display: str
    view: str


@dataclass(frozen=True)
class ColorSettings:
    """Project colour settings; ``to_dict()`` leaves out defaults, so ``{}`` means "all defaults"."""

    config: str = BUILTIN_CONFIG
    working_space: str | None = None
    output_space: str | None = None
    display: str | None = None
    view: str | None = None
    input_space: str | None = None  # the default for clips whose grade names none (added to the contract)
    bake_slow_views: bool = True  # bake costly display views into a shaper + 3D LUT (added)

    def to_dict(self) -> dict:
        defaults = ColorSettings()
        return {k: v for k, v in asdict(self).items() if v != getattr(defaults, k)}

    @classmethod
    def from_dict(cls, data: dict | None) -> ColorSettings:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ColorError(f"Unknown colour setting(s): {', '.join(unknown)}.")
        return cls(**{k: (v if v != "" else None) for k, v in data.items()})

    # ------------------------------------------------------------------------------------------- config
    def load_config(self) -> ocio.Config:
        """The OCIO config (cached per path and file modification time).

        Raises:
            ColorError: the file is missing or OCIO cannot read or validate it.
        """
        name = self.config or BUILTIN_CONFIG
        builtin = name.startswith("ocio://")
        stamp = 0
        if not builtin:
            if not os.path.isfile(name):
                raise ColorError(
                    f"The OpenColorIO config '{name}' does not exist. Choose another config file or go back "
                    "to the built-in ACES config."
                )
            stamp = os.stat(name).st_mtime_ns
        key = (name, stamp)
        with _configs_lock:
            config = _configs.get(key)
        if config is not None:
            return config
        try:
            config = ocio.Config.CreateFromFile(name)
            config.validate()
            # OCIO's own processor cache gave two in-memory 3D LUTs of different values (two LUT mixes of
            # one file) the same cache id and so the same processor; GradePipeline caches per Grade itself.
            config.setProcessorCacheFlags(ocio.PROCESSOR_CACHE_OFF)
        except Exception as exc:  # noqa: BLE001 - OCIO raises its own Exception type for every problem
            where = name if builtin else Path(name).name
            raise ColorError(
                f"The OpenColorIO config '{where}' cannot be used: {exc}. "
                "Fix the file or choose another config."
            ) from exc
        with _configs_lock:
            _configs[key] = config
        return config

    def color_spaces(self) -> list[str]:
        return list(self.load_config().getColorSpaceNames())

    def displays(self) -> list[str]:
        return list(self.load_config().getDisplays())

    def views(self, display: str | None = None) -> list[str]:
        config = self.load_config()
        display = display or self.resolve().display
        return list(config.getViews(display))

    def check_space(self, name: str) -> str:
        """``name`` if the config has that colour space (or role); else ColorError naming close matches."""
        config = self.load_config()
        space = config.getColorSpace(name)
        if space is not None:
            return space.getName()
        raise ColorError(f"Unknown colour space '{name}'. {_suggest(name, self.color_spaces())}")

    def resolve(self) -> ResolvedSpaces:
        """The spaces, display and view in use; explicit names are checked against the config."""
        config = self.load_config()

        def space(explicit: str | None) -> str:
            if explicit is not None:
                return self.check_space(explicit)
            for candidate in (VIDEO_SPACE, ocio.ROLE_COLOR_PICKING, ocio.ROLE_DEFAULT):
                found = config.getColorSpace(candidate)
                if found is not None:
                    return found.getName()
            return next(iter(config.getColorSpaceNames()))

        # Each defaults to the video space on its own: choosing a working space (say ACEScct, to grade in
        # log) must not change what the clips are or what the file holds.
        working, output, source = space(self.working_space), space(self.output_space), space(self.input_space)
        displays = list(config.getDisplays())
        display = self.display or (
            DEFAULT_DISPLAY if DEFAULT_DISPLAY in displays else config.getDefaultDisplay()
        )
        if display not in displays:
            raise ColorError(f"Unknown display '{display}'. {_suggest(display, displays)}")
        views = list(config.getViews(display))
        view = self.view or (DEFAULT_VIEW if DEFAULT_VIEW in views else config.getDefaultView(display))
        if view not in views:
            raise ColorError(f"Unknown view '{view}' for the display '{display}'. {_suggest(view, views)}")
        return ResolvedSpaces(source, working, output, display, view)


def _suggest(name: str, choices: list[str]) -> str:
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.4)
    if close:
        return "Did you mean: " + ", ".join(f"'{lowered[c]}'" for c in close) + "?"
    return "Pick one from the list the config offers."


def suggest(name: str, choices: list[str]) -> str:
    """A sentence naming the closest of ``choices`` to ``name`` (used in other colour errors)."""
    return _suggest(name, choices)


def settings_from(data: dict[str, Any] | ColorSettings | None) -> ColorSettings:
    return data if isinstance(data, ColorSettings) else ColorSettings.from_dict(data)

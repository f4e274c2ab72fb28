"""The timeline view (see ui/timeline/view.py for the gestures and their conventions).

The code lives in the ui.timeline package (scene items, ruler, track headers, drops); this module is the
name docs/editor-architecture.md promises.
"""

from ui.timeline.view import TimelineView

__all__ = ["TimelineView"]

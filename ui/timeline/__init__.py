"""The timeline editor view: a QGraphicsView with ruler, track headers, clips, dissolves and gestures."""

from ui.timeline.view import TimelineView

__all__ = ["TimelineView"]

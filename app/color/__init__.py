"""Colour management (Qt-free): project colour settings, per-clip grades and the display transform.

Generated and imported clips are display-referred Rec.709/sRGB video; by default they are graded as those
code values and written back in the same space, so an ungraded clip renders unchanged and an exported file
plays in any player with the viewer's colours. See ``settings`` (defaults), ``pipeline`` (grade order,
LUT mix, threads) and ``bake`` (slow views baked into 3D LUTs).
"""

from app.color import looks
from app.color.grade import CDL, Grade
from app.color.pipeline import GradePipeline
from app.color.settings import ColorSettings
from app.errors import ColorError

__all__ = ["CDL", "ColorError", "ColorSettings", "Grade", "GradePipeline", "looks"]

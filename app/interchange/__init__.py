"""Timeline interchange with other editors: OTIO, CMX 3600 EDL, FCP 7 XML and FCPXML (Qt-free).

export_timeline(doc, "cut.edl")      -> [cut_V1.edl, cut_V2.edl]   # one EDL per video track
import_timeline("cut.xml")           -> TimelineDocument            # media probed, missing flagged
LOSSES["edl"]                        -> what an EDL cannot carry (measured by the round-trip tests)
"""

from app.interchange.formats import FORMATS, LOSSES, InterchangeFormat, format_for
from app.interchange.reader import import_timeline
from app.interchange.writer import export_timeline

__all__ = ["FORMATS", "LOSSES", "InterchangeFormat", "export_timeline", "format_for", "import_timeline"]

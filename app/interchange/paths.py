"""Media locations as interchange formats want them: file URLs for the XML formats, plain paths for us.

FCP 7 XML and FCPXML readers expect ``file://`` URLs (percent-encoded); EDL comments and OTIO carry plain
paths. On import any of these (and ``file://localhost/...``) becomes an absolute local path again.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname


def to_file_url(path: str) -> str:
    """``/media/shot a.mov`` -> ``file:///media/shot%20a.mov`` (already a URL: unchanged)."""
    if not path or "://" in path:
        return path
    return Path(os.path.abspath(path)).as_uri()


def to_local_path(url: str) -> str:
    """A file URL or a path as a local path; other schemes (http...) are left as they are."""
    if not url:
        return url
    parsed = urlparse(url)
    if parsed.scheme == "file":
        # url2pathname turns "/C:/x" into "C:\\x" on Windows; the netloc "localhost" means this machine.
        host = parsed.netloc if parsed.netloc not in ("", "localhost") else ""
        path = url2pathname(parsed.path)  # decodes %20 etc.
        return f"//{host}{path}" if host else path
    return url  # a plain path (or a Windows drive path, whose "C:" urlparse takes for a scheme)

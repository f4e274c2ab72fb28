"""The test suite runs with the undo check on (tests/conftest.py sets AIPROD_VERIFY_UNDO=1): any test whose
edit changes the document without reporting it fails there, not only the undo tests."""

from __future__ import annotations

import os

import pytest
from PySide6.QtGui import QUndoStack

from app.commands import push_edit
from app.document import TrackKind
from app.document.layout import meta
from app.document.pieces import PieceTracker
from tests.app.test_commands import make_doc

pytestmark = pytest.mark.skipif(
    not os.environ.get("AIPROD_VERIFY_UNDO"), reason="the undo check was turned off for this run"
)


def test_the_check_is_on_without_any_test_asking(qapp):
    assert PieceTracker.verify is True


def test_an_edit_that_hides_a_change_fails_an_ordinary_test(qapp):
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id

    def sneaky(d):  # changes a clip behind the document's back: no _emit, so no undo piece for it
        meta(d._cached_layout(v1).segs[0].clip)["gain_db"] = 5.0

    with pytest.raises(AssertionError, match="clip:"):
        push_edit(stack, doc, "Sneaky", sneaky)

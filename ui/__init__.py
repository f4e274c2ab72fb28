"""AIPROD Studio user interface: widgets, views and dialogs; the composition root lives in ui.main."""

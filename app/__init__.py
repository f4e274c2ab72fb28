"""AIPROD Studio application layer (Qt-free services shared by the CLI and the UI)."""

__version__ = "0.1.0"

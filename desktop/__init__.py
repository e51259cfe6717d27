"""Lacuna's PySide6 front end. Talks to `core` only through its public API."""

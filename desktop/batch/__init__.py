"""The batch dialog: repair a whole folder tree with `core.batch`, sharing its manifest with the CLI."""

from desktop.batch.dialog import BatchDialog

__all__ = ["BatchDialog"]

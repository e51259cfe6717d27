"""Widgets of the main window: canvas, tool panel, method picker, progress panel, DICOM tags."""

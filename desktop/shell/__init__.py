"""The thin shell around the workspaces: menus, docks, recent files, drag and drop, the window."""

from desktop.shell.window import MainWindow

__all__ = ["MainWindow"]

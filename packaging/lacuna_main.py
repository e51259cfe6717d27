"""The desktop build's entry point (PyInstaller): the same `lacuna` command as the installed package."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())

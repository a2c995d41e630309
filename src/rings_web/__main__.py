"""``python -m rings_web`` = the ``rings-web`` command."""

import sys

from .native.cli import main

if __name__ == "__main__":
    sys.exit(main())

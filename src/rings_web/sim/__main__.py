"""``python -m rings_web.sim``: see :mod:`.cli`."""

import sys

from .cli import main

sys.exit(main())

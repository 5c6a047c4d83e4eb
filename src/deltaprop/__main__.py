"""``python -m deltaprop``: the same as the ``deltaprop`` command."""

import sys

from .cli import main

sys.exit(main())

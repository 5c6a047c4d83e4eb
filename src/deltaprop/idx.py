"""Deprecated path: ``deltaprop.idx`` moved to ``deltaprop.datasets.idx``; this re-export goes in the next release."""

import warnings

from .datasets.idx import *  # noqa: F403  (the same public names)
from .datasets.idx import __all__  # noqa: F401

warnings.warn("deltaprop.idx moved to deltaprop.datasets.idx; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

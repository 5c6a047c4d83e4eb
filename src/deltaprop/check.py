"""Deprecated path: ``deltaprop.check`` moved to ``deltaprop.teach.check``; this re-export goes in the next release."""

import warnings

from .teach.check import *  # noqa: F403  (the same public names)
from .teach.check import __all__  # noqa: F401

warnings.warn("deltaprop.check moved to deltaprop.teach.check; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

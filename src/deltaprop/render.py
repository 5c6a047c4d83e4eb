"""Deprecated path: ``deltaprop.render`` moved to ``deltaprop.teach.render``; this re-export goes in the next release."""

import warnings

from .teach.render import *  # noqa: F403  (the same public names)
from .teach.render import __all__  # noqa: F401

warnings.warn("deltaprop.render moved to deltaprop.teach.render; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

"""Deprecated path: ``deltaprop.slips`` moved to ``deltaprop.teach.slips``; this re-export goes in the next release."""

import warnings

from .teach.slips import *  # noqa: F403  (the same public names)
from .teach.slips import __all__  # noqa: F401

warnings.warn("deltaprop.slips moved to deltaprop.teach.slips; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

"""Deprecated path: ``deltaprop.notation`` moved to ``deltaprop.teach.notation``; this re-export goes in the next release."""

import warnings

from .teach.notation import *  # noqa: F403  (the same public names)
from .teach.notation import __all__  # noqa: F401

warnings.warn("deltaprop.notation moved to deltaprop.teach.notation; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

"""Deprecated path: ``deltaprop.explain`` moved to ``deltaprop.teach.explain``; this re-export goes in the next release."""

import warnings

from .teach.explain import *  # noqa: F403  (the same public names)
from .teach.explain import __all__  # noqa: F401

warnings.warn("deltaprop.explain moved to deltaprop.teach.explain; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

"""Deprecated path: ``deltaprop.scaling`` moved to ``deltaprop.datasets.scaling``; this re-export goes in the next release."""

import warnings

from .datasets.scaling import *  # noqa: F403  (the same public names)
from .datasets.scaling import __all__  # noqa: F401

warnings.warn("deltaprop.scaling moved to deltaprop.datasets.scaling; import it from there (the old path goes in the next release)",
              DeprecationWarning, stacklevel=2)

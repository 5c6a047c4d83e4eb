"""Deprecated path: ``deltaprop.kernels`` moved into ``deltaprop.engine``; this re-export goes in the next release."""

import warnings

from .engine import *  # noqa: F403  (the same public names)
from .engine import __all__  # noqa: F401

warnings.warn("deltaprop.kernels moved into deltaprop.engine; import it from there "
              "(the old path goes in the next release)", DeprecationWarning, stacklevel=2)

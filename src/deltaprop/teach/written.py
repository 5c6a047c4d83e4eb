r"""Numbers as a student wrote them: the tolerance that the digits written allow.

A number written with d digits after the point is right when the exact value rounds to it at d
decimals: |given - exact| <= 0.5 10^-d. The same rule covers significant digits, since it is the
place of the last digit written that counts: 0.0137 and 1.37e-2 both end at 10^-4. An integer
(``1``, ``0``) says nothing about its precision and is held to the ordinary tolerances.

JSON loses the written text (``0.50`` parses as 0.5), so ``load_answers`` parses numbers as
:class:`Written`, a float that keeps its text. A plain float from Python code counts the digits of
its shortest representation (``repr``): 0.123 has three.

Examples
--------
>>> half_unit(Written("0.123")), half_unit(Written("1.37e-2")), half_unit(Written("0.50"))
(0.0005, 5e-05, 0.005)
>>> half_unit(1)
0.0
>>> rounded(0.123456, 0.0005)
'0.123'
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["Written", "half_unit", "half_units", "rounded"]


class Written(float):
    """A float that remembers the text it was written as (``json.loads(..., parse_float=Written)``)."""

    text: str

    def __new__(cls, text: str) -> Written:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def _decimals(text: str) -> int:
    """The decimal place of the last digit written: 3 for 0.123, 4 for 1.37e-2, -2 for 5e2."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    return len(mantissa.partition(".")[2]) - int(exponent or 0)


def half_unit(x: Any) -> float:
    """Half a unit in the last digit written (0 for an integer or a number that is not finite)."""
    if isinstance(x, (bool, int, np.integer)):
        return 0.0
    text = x.text if isinstance(x, Written) else repr(float(x))
    if not math.isfinite(float(x)):
        return 0.0
    try:
        return 0.5 * 10.0 ** -_decimals(text)
    except (ValueError, OverflowError):
        return 0.0


def half_units(value: Any) -> np.ndarray:
    """The half-units of every number in a nested list (or array), as an array of the same shape."""
    if isinstance(value, (list, tuple)):
        parts = [half_units(v) for v in value]
        try:
            return np.array(parts, dtype=np.float64)
        except ValueError:  # a ragged list: the reader rejects it with its own message
            return np.zeros(0)
    if isinstance(value, np.ndarray):
        return np.array([half_unit(v) for v in value.flat], dtype=np.float64).reshape(value.shape)
    try:
        return np.array(half_unit(value))
    except (TypeError, ValueError):
        return np.array(0.0)


def rounded(x: float, half: float) -> str:
    """``x`` written to the place whose half-unit is ``half`` (for "written to 3 decimals it reads ...")."""
    d = -round(math.log10(2 * half))
    return f"{x:.{d}f}" if d >= 0 else f"{round(x, d):.0f}"

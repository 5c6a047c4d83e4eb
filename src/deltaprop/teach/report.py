r"""The verdict of ``check``: one finding per quantity given, and the report as text.

A finding's ``status`` drives both the report and the partial credit of ``deltaprop grade``:
"ok", "wrong" (the first wrong quantity), "follows" (wrong only because of the student's own
earlier values) or "also wrong" (wrong on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .notation import Notation
from .render import format_matrix
from .slips import SLIPS

__all__ = ["CONVENTIONS", "CheckReport", "Finding"]

CONVENTIONS = {"per-sample": "δ_i = ∂c_i/∂z_i, per sample",
               "batch-mean": "δ = ∂C/∂z with C the batch mean: 1/m of the per-sample δ"}


@dataclass(frozen=True)
class Finding:
    """The verdict on one quantity the student gave.

    ``status`` is "ok", "wrong" (the first wrong quantity), "follows" (wrong, but what the
    student's own earlier values give) or "also wrong" (wrong on its own). ``note`` says when a
    number that no slip reproduces misses only in its last digit, or has a shape that does not fit.
    """

    kind: str
    l: int
    symbol: str
    status: str
    given: Any
    expected: Any
    slips: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class CheckReport:
    """All findings in the order of a hand computation."""

    notation: Notation
    summary: str
    findings: tuple[Finding, ...]
    rtol: float
    atol: float
    convention: str = "per-sample"

    @property
    def ok(self) -> bool:
        """True when every given quantity agrees within the tolerances."""
        return all(f.status == "ok" for f in self.findings)

    @property
    def first_wrong(self) -> Finding | None:
        """The first quantity that is wrong, or None."""
        return next((f for f in self.findings if f.status != "ok"), None)

    def text(self, precision: int = 4) -> str:
        """The report as plain text."""
        def show(v: Any, kind: str) -> str:
            v = np.asarray(v, dtype=np.float64)
            if v.ndim == 3:  # one matrix per sample
                return "[" + (",\n" + " " * 21).join(show(v_i, kind) for v_i in v) + "]"
            if v.ndim == 2 and v.shape[0] == 1 and kind in ("z", "a", "delta", "dx"):
                v = v[0]  # one sample: a plain list, as written
            if v.ndim == 0:
                return format_matrix([[v]], precision)[0][0]
            rows = ["[" + ", ".join(row) + "]" for row in format_matrix(np.atleast_2d(v), precision)]
            if v.ndim == 1:
                return rows[0]
            return "[" + (",\n" + " " * 21).join(rows) + "]"

        mark = {"ok": "✓", "wrong": "✗", "follows": "~", "also wrong": "✗"}
        note = {"ok": "", "wrong": "  <- first wrong", "follows": "  wrong, but follows from your earlier values",
                "also wrong": "  wrong on its own as well"}
        out = [f"deltaprop check: {self.summary}; rtol {self.rtol:g}, atol {self.atol:g}, or the digits written",
               f"delta convention: {self.convention} ({CONVENTIONS[self.convention]})", ""]
        out += [f"  {mark[f.status]} {f.symbol}{note[f.status]}" for f in self.findings]
        first = self.first_wrong
        if first is None:
            out += ["", f"All {len(self.findings)} quantities agree."]
            return "\n".join(out) + "\n"
        out += ["", f"First wrong: {first.symbol}"]
        for f in [first] + [f for f in self.findings if f.status == "also wrong"]:
            if f is not first:
                out.append(f"Also wrong on its own: {f.symbol}")
            label = "it should be:    " if f is first else "from your values:"
            out += [f"  you wrote:        {show(f.given, f.kind)}", f"  {label} {show(f.expected, f.kind)}"]
            out += self._slip_lines(f)
        follows = [f.symbol for f in self.findings if f.status == "follows"]
        alone = [f for f in self.findings if f.status == "also wrong"]
        out.append(f"Wrong only because of an earlier error (consistent with your own values): "
                   f"{', '.join(follows) or 'none'}")
        n_ok = sum(f.status == "ok" for f in self.findings)
        out += ["", f"Result: {1 + len(alone)} wrong, {len(follows)} following from an earlier error, {n_ok} correct."]
        return "\n".join(out) + "\n"

    def _slip_lines(self, f: Finding) -> list[str]:
        if f.note:
            return [f"  {f.note}"]
        if not f.slips:
            return ["  likely slip: none of the known slips reproduces this number"]
        by_name = {s.name: s for s in SLIPS}
        return [f"  likely slip: {name}: {by_name[name].description.format(layout=self.notation.layout_note())}"
                for name in f.slips]

r"""The text of ``check --impl``'s report: the verdict, the first wrong quantity, the slip, the smallest case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .render import format_matrix
from .slips import SLIPS

if TYPE_CHECKING:
    from .impl import ImplReport

__all__ = ["impl_text"]


def _matrix(M: Any, indent: int) -> str:
    rows = ["[" + ", ".join(r) + "]" for r in format_matrix(np.atleast_2d(np.asarray(M, dtype=np.float64)), 4)]
    return ("\n" + " " * indent).join(rows)


def _case_lines(r: ImplReport, case: dict[str, Any]) -> list[str]:
    """A case written in the convention's own layout and layer numbers."""
    conv, nt = r.convention, r.convention.nt
    sizes, L = case["sizes"], len(case["sizes"]) - 1
    out = [f"    sizes {sizes}, activations {case['activations']}, cost {case['cost']}, "
           f"{len(case['X'])} sample{'s' if len(case['X']) > 1 else ''}"]
    for l in range(1, L + 1):
        W = np.array(case["W"][l - 1], dtype=np.float64).reshape(sizes[l - 1], sizes[l])
        b = np.array(case["b"][l - 1], dtype=np.float64)
        head = f"    {nt.sym('W', l)} = "
        out.append(head + _matrix(nt.weights(W, b), len(head)))
        if not nt.bias_unit:
            head = f"    {nt.sym('b', l)} = "
            out.append(head + _matrix(b[:, None] if nt.columns else b, len(head)))
    for name, key in (("x", "X"), ("y", "Y")):
        V = np.array(case[key], dtype=np.float64)
        head = f"    {name} = "
        out.append(head + _matrix(V.T if nt.columns else V, len(head))
                   + ("   (one column per sample)" if nt.columns and len(V) > 1 else ""))
    return out


def _wrong_lines(r: ImplReport, w: Any) -> list[str]:
    nt = r.convention.nt
    if w.kind == "call":
        return [f"  your function failed: {w.error}"]
    sym = nt.expand("{" + w.kind + "}", w.l)
    where = f" (sample {w.call + 1})" if r.convention.per_sample else ""
    lines = [f"  first wrong: {sym}, layer {nt.layer(w.l)}{where}"]
    given, right = np.asarray(w.given), np.asarray(w.right)
    if given.shape != right.shape:
        shape = "x".join(map(str, given.shape)) or "a number"
        lines.append(f"    shape: {shape} returned where {sym} is {'x'.join(map(str, right.shape))}")
    lines += [f"    you returned: {_matrix(given, 18)}", f"    it should be: {_matrix(right, 18)}"]
    return lines


def impl_text(r: ImplReport) -> str:
    """The report as plain text."""
    conv = r.convention
    head = f"deltaprop check --impl {r.spec} --convention {conv.name}: {conv.signature}"
    if r.import_error is not None:
        return f"{head}\n\nCould not call your function: {r.import_error}\n"
    if r.ok:
        return (f"{head}\n\nPASS: all {r.cases} random cases agree with exact backpropagation "
                f"(every dC/dW and dC/db, rtol 1e-6).\n")
    out = [head, "", f"FAIL: {r.failed} of {r.cases} random cases disagree with exact backpropagation.", "",
           "The first failing case:"]
    assert r.case is not None
    out += _case_lines(r, r.case) + _wrong_lines(r, r.first)
    by_name = {s.name: s for s in SLIPS}
    if r.slips:
        out += [f"  likely slip: {n}: {by_name[n].description.format(layout=conv.nt.layout_note())}"
                for n in r.slips]
    else:
        out.append("  likely slip: none of the known slips reproduces these numbers")
    if r.smallest is not None and r.smallest != r.case:
        out += ["", "The smallest case that still fails (shrunk):"]
        out += _case_lines(r, r.smallest) + _wrong_lines(r, r.smallest_wrong)
    return "\n".join(out) + "\n"

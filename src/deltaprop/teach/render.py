r"""Write an :class:`~deltaprop.teach.explain.Explanation` as plain text, Markdown or LaTeX.

Numbers have ``precision`` digits after the point (scientific notation with ``precision``
significant digits when a matrix holds an entry that would show as 0, or one of 10^6 or more). A matrix
wider than ``width`` characters (text), or than 8 columns or 12 rows (Markdown, LaTeX), is
abbreviated with an ellipsis unless ``full`` is set.

Examples
--------
>>> from deltaprop import Network
>>> from deltaprop.teach.explain import explain
>>> net = Network([1, 1], ["identity"], "quadratic")
>>> net.weights, net.biases = [[[2.0]]], [[-1.0]]
>>> print("\n".join(render(explain(net, [[6.0]], [[10.0]]), "text").splitlines()[6:10]))
Forward pass
  a^(0) = x = [ 6.0000 ]
  z^(1) = a^(0) W^(1) + b^(1) = [ 11.0000 ]
  a^(1) = identity(z^(1)) = [ 11.0000 ]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .explain import Explanation, Step

__all__ = ["FORMATS", "format_matrix", "render"]

FORMATS = ("text", "markdown", "latex")
_MAX_COLS, _MAX_ROWS = 8, 12


def _number_format(M: np.ndarray, precision: int) -> str:
    nonzero = np.abs(M[M != 0])
    if nonzero.size and (nonzero.min() < 10.0 ** -precision or nonzero.max() >= 1e6):  # would show as 0, or long
        return f"{{:.{max(precision - 1, 0)}e}}"
    return f"{{:.{precision}f}}"


def _keep(n: int, limit: int) -> list[int | None]:
    """Indices to show of n, at most ``limit`` of them, None marking the ellipsis."""
    if n <= limit:
        return list(range(n))
    head = (limit - 1) // 2 + (limit - 1) % 2
    tail = limit - 1 - head
    return [*range(head), None, *range(n - tail, n)]


def format_matrix(M: Any, precision: int = 4, *, max_cols: int | None = None,
                  max_rows: int | None = None) -> list[list[str]]:
    """Cells of a matrix as strings; "…" (or "⋮") stands for the entries left out.

    Examples
    --------
    >>> format_matrix(np.arange(5.0)[None, :], 1, max_cols=3)
    [['0.0', '…', '4.0']]
    """
    M = np.atleast_2d(np.asarray(M, dtype=np.float64))
    fmt = _number_format(M, precision)
    rows = _keep(M.shape[0], max_rows or M.shape[0])
    cols = _keep(M.shape[1], max_cols or M.shape[1])
    out = []
    for i in rows:
        if i is None:
            out.append(["⋮" if j is not None else "⋱" for j in cols])
        else:
            out.append(["…" if j is None else fmt.format(M[i, j] + 0.0) for j in cols])  # + 0.0: no "-0.0"
    return out


# ----- text ------------------------------------------------------------------------------------
def _text_block(M: Any, precision: int, width: int | None, full: bool) -> list[str]:
    M = np.atleast_2d(np.asarray(M, dtype=np.float64))
    probe = format_matrix(M, precision)
    cell = max(len(c) for row in probe for c in row)
    max_cols = None if full or width is None else max(3, (width - 4) // (cell + 2))
    cells = format_matrix(M, precision, max_cols=max_cols, max_rows=None if full else _MAX_ROWS)
    return ["[ " + "  ".join(c.rjust(cell) for c in row) + " ]" for row in cells]


def _hcat(blocks: list[list[str]], seps: list[str]) -> list[str]:
    """Blocks of lines side by side, aligned at the top, with a separator between each pair."""
    h = max(len(b) for b in blocks)
    widths = [max(len(s) for s in b) for b in blocks]
    lines = []
    for i in range(h):
        parts = []
        for k, b in enumerate(blocks):
            parts.append((b[i] if i < len(b) else "").ljust(widths[k]))
            if k < len(seps):
                parts.append(seps[k] if i == 0 else " " * len(seps[k]))
        lines.append("".join(parts).rstrip())
    return lines


def _mark(step: Step, tol: float, fmt: str) -> str:
    ok = step.error is not None and step.error <= tol
    if fmt == "latex":
        sign = r"$\checkmark$" if ok else r"$\times$"
        return rf"{sign} central finite differences: relative error ${_tex_number(step.error)}$"
    if fmt == "markdown":
        return f"{'✓' if ok else '✗'} central finite differences: relative error ${_tex_number(step.error)}$"
    return f"{'✓' if ok else '✗'} finite differences: relative error {step.error:.1e}"


def _text(e: Explanation, precision: int, width: int, full: bool) -> str:
    out = ["deltaprop explain: " + e.summary]
    for title, steps in e.sections:
        out += ["", title]
        for s in steps:
            head = "  " + s.formula["text"]
            if s.kind == "cost":
                out.append(f"{head} = {s.value:.{precision}f}" if abs(s.value) >= 10.0 ** (1 - precision)
                           else f"{head} = {s.value:.{max(precision - 1, 0)}e}")
                continue
            value = _text_block(s.value, precision, width, full)
            blocks: list[list[str]] = []
            if s.terms:
                blocks = [_text_block(t, precision, width, full) for t in s.terms]
            if not s.terms and len(head) + len(value[0]) + 3 <= width:
                out += _hcat([[head + " = "], value], [""])
            else:
                out.append(head)
                pad = " " * (len(s.symbol["text"]) + 3)
                if blocks:
                    sep = " ⊙ " if s.op == "*" else "  "  # elementwise, or matrices multiplied
                    out += [pad + line for line in _hcat([["= "]] + blocks, [""] + [sep] * (len(blocks) - 1))]
                out += [pad + line for line in _hcat([["= "], value], [""])]
            if s.error is not None:
                out.append("  " + " " * len(s.symbol["text"]) + "   " + _mark(s, e.tolerance, "text"))
    verdict = "all gradients agree" if e.worst_error <= e.tolerance else "SOME GRADIENTS DISAGREE"
    out += ["", (f"Finite-difference check: {verdict} (largest relative error {e.worst_error:.1e}, "
                 f"tolerance {e.tolerance:.0e})")]
    return "\n".join(out) + "\n"


# ----- Markdown and LaTeX --------------------------------------------------------------------------
def _tex_number(v: float | None) -> str:
    if v is None:
        return ""
    mantissa, exp = f"{v:.1e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exp)}}}"


def _tex_matrix(M: Any, precision: int, full: bool) -> str:
    limit = (None, None) if full else (_MAX_COLS, _MAX_ROWS)
    cells = format_matrix(M, precision, max_cols=limit[0], max_rows=limit[1])
    sub = {"…": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots"}
    rows = [" & ".join(sub.get(c, c) for c in row) for row in cells]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _tex_equation(s: Step, precision: int, full: bool) -> str:
    parts = [s.formula["latex"]]
    if s.kind == "cost":
        return f"{parts[0]} = {format_matrix([[s.value]], precision)[0][0]}"
    if s.terms:
        parts.append((r" \odot " if s.op == "*" else " ").join(_tex_matrix(t, precision, full) for t in s.terms))
    parts.append(_tex_matrix(s.value, precision, full))
    return " = ".join(parts)


def _tex_text(text: str) -> str:
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
    return "".join(table.get(ch, ch) for ch in text)


def _markdown(e: Explanation, precision: int, full: bool) -> str:
    out = ["# Backpropagation, step by step", "", _md_text(e.summary)]
    for title, steps in e.sections:
        out += ["", f"## {title}", ""]
        for s in steps:
            out += ["$$", _tex_equation(s, precision, full), "$$", ""]
            if s.error is not None:
                out += [_mark(s, e.tolerance, "markdown"), ""]
    return "\n".join(out).rstrip() + "\n"


def _md_text(text: str) -> str:
    for ch in "\\`*_[]<>#|$":
        text = text.replace(ch, "\\" + ch)
    return text


def _latex(e: Explanation, precision: int, full: bool) -> str:
    widest = max((np.atleast_2d(np.asarray(x)).shape[1] for s in e.steps() for x in (s.value, *s.terms)),
                 default=1)
    out = [r"\documentclass{article}", r"\usepackage{amsmath,amssymb}",
           rf"\setcounter{{MaxMatrixCols}}{{{max(widest, _MAX_COLS) + 2}}}", r"\allowdisplaybreaks",
           r"\begin{document}", r"\section*{Backpropagation, step by step}", e.summary_latex or _tex_text(e.summary)]
    for title, steps in e.sections:
        out += [rf"\subsection*{{{_tex_text(title)}}}"]
        for s in steps:
            out += [r"\[", _tex_equation(s, precision, full), r"\]"]
            if s.error is not None:
                out += [r"\noindent " + _mark(s, e.tolerance, "latex"), ""]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def render(e: Explanation, fmt: str = "text", *, precision: int = 4, full: bool = False, width: int = 100) -> str:
    """The explanation as a string: fmt is "text", "markdown" or "latex" (a whole document).

    Raises
    ------
    ValueError
        For an unknown format, a precision outside 1..15 or a width below 20.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 15:
        raise ValueError(f"precision must be an integer number of digits in 1..15, got {precision!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 20:
        raise ValueError(f"width must be an integer >= 20 characters, got {width!r}")
    if fmt == "text":
        return _text(e, precision, width, full)
    if fmt == "markdown":
        return _markdown(e, precision, full)
    return _latex(e, precision, full)

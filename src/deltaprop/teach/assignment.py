r"""Homework: one backpropagation problem per student, seeded by the student's id, with its answer key.

``make_assignment(roster, out)`` reads a roster (CSV with an ``id`` column and optionally
``name``) and writes, for each student, ``out/<id>/worksheet.md`` and ``worksheet.tex`` (the
network, its weights, the sample, and a blank for every number to compute) and
``out/<id>/answers.json`` (the same problem in ``check``'s format, every answer ``null``, for
the student to fill in), plus ``out/answer_key.json`` for the teacher: per student, the exact
answers (``deltaprop.teach.key``). The problem is drawn from ``numpy.random.default_rng`` seeded
with SHA-256 of "<course seed>:<id>", so the same roster and seed give the same homework.

A problem: sizes n_0-n_1-n_L with n_0, n_1 in {2, 3}; a hidden sigmoid, tanh or ReLU layer; a
sigmoid output with the quadratic cost or a softmax output with cross-entropy; weights, biases
and x with one decimal (numbers a student can work with by hand).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..network import Network
from .key import answer_key
from .notation import Notation, get_notation
from .render import _tex_text

__all__ = ["compact_json", "draw_problem", "make_assignment", "read_roster", "worksheet"]

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def read_roster(path: str | Path) -> list[dict[str, str]]:
    """The students of a roster CSV: rows with a unique, file-name-safe ``id`` (and optional ``name``)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "id" not in rows[0]:
        raise ValueError(f"{path}: expected a CSV with a header naming an 'id' column (and optionally 'name')")
    seen: set[str] = set()
    for i, row in enumerate(rows, start=2):
        sid = (row.get("id") or "").strip()
        if not _ID.match(sid) or sid in (".", ".."):
            raise ValueError(f"{path}: line {i}: id must be 1-64 letters, digits, '_', '-' or '.', got {sid!r}")
        if sid in seen:
            raise ValueError(f"{path}: line {i}: id {sid!r} appears twice")
        seen.add(sid)
        row["id"] = sid
    return [{"id": r["id"], "name": (r.get("name") or "").strip()} for r in rows]


def _rng(student_id: str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{student_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def draw_problem(student_id: str, seed: int = 0) -> tuple[Network, np.ndarray, np.ndarray, tuple[str, ...]]:
    """The student's network, sample x (1, n_0), target y (1, n_L) and the quantities to compute."""
    rng = _rng(student_id, seed)
    hidden = str(rng.choice(["sigmoid", "tanh", "relu"]))
    out, cost = [("sigmoid", "quadratic"), ("softmax", "cross_entropy")][int(rng.integers(2))]
    sizes = [int(rng.integers(2, 4)), int(rng.integers(2, 4)), 2 if out == "softmax" else int(rng.integers(1, 3))]
    net = Network(sizes, [hidden, out], cost, dtype="float64")

    def tenths(*shape: int) -> np.ndarray:
        v = rng.integers(-10, 11, shape) / 10
        return np.where(v == 0, 0.1, v)  # no zero weights: every path counts

    net.weights = [tenths(sizes[0], sizes[1]), tenths(sizes[1], sizes[2])]
    net.biases = [tenths(sizes[1]), tenths(sizes[2])]
    X = tenths(1, sizes[0])
    Y = np.eye(sizes[2])[[int(rng.integers(sizes[2]))]] if out == "softmax" else rng.integers(0, 2, (1, sizes[2]))
    kinds = ("z", "a", "cost", "delta", "dW", "db") + (("dx",) if rng.random() < 0.5 else ())
    return net, X, Y.astype(np.float64), kinds


def _blank_like(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _blank_like(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_like(v) for v in value]
    return None


def worksheet(key: dict[str, Any], student: dict[str, str], fmt: str = "markdown") -> str:
    """The worksheet of one problem: the network, the numbers given, a blank for each number asked."""
    nt = get_notation(key["notation"])
    tex = fmt == "latex"
    net = key["network"]

    def matrix(rows: Any) -> str:
        rows = [rows] if not isinstance(rows[0], list) else rows
        body = r" \\ ".join(" & ".join(_num(v) for v in r) for r in rows)
        return r"\begin{bmatrix} " + body + r" \end{bmatrix}"

    def column(v: Any) -> Any:
        return [[x] for x in v] if nt.columns else v

    title = f"Backpropagation by hand: {student.get('name') or student['id']}"
    lines = [rf"\section*{{{_tex_text(title)}}}" if tex else f"# {title}", ""]
    acts = ", ".join(net["activations"])
    lines.append(f"Network {'-'.join(map(str, net['sizes']))} in {nt.name} notation; "
                 f"activations {acts}; cost {net['cost'].replace('_', ' ')}. Give every number to at least "
                 f"3 decimals; fill in answers.json (the same blanks) and hand it in as {student['id']}.json.")
    lines.append("")
    L = len(net["sizes"]) - 1
    given = []
    for l in range(1, L + 1):
        given.append(f"{nt.sym('W', l, 'latex')} = {matrix(net['weights'][str(nt.layer(l))])}")
        if not nt.bias_unit:
            given.append(f"{nt.sym('b', l, 'latex')} = {matrix(column(net['biases'][str(nt.layer(l))]))}")
    given += [f"x = {matrix(column(key['x']))}", f"y = {matrix(column(key['y']))}"]
    lines += _display(given, tex) + ["", "Compute:", ""]
    asked = []
    ans = key["answers"]
    for kind, layer in _hand_order(L, nt):
        if kind not in ans or (layer and layer not in ans[kind]):
            continue
        if kind in ("cost", "dx"):
            sym = nt.cost_letter if kind == "cost" else r"\frac{\partial c}{\partial x}"
            asked.append(f"{sym} = {_blanks(ans[kind], nt, tex)}")
        else:
            sym = nt.expand("{" + kind + "}", int(layer) - nt.offset, "latex")
            asked.append(f"{sym} = {_blanks(ans[kind][layer], nt, tex, matrix_kind=kind == 'dW')}")
    return "\n".join(lines + _display(asked, tex)) + "\n"


def _hand_order(L: int, nt: Notation) -> list[tuple[str, str]]:
    """(kind, their layer key) in the order a hand computation makes them; "" for cost and dx."""
    forward = [(k, str(nt.layer(l))) for l in range(1, L + 1) for k in ("z", "a")]
    backward = [(k, str(nt.layer(l))) for l in range(L, 0, -1) for k in ("delta", "dW", "db")]
    return forward + [("cost", "")] + backward + [("dx", "")]


def compact_json(data: Any) -> str:
    """Indented JSON with every innermost list on one line (a row of a matrix reads as a row)."""
    text = json.dumps(data, indent=2)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def _num(v: float) -> str:
    return f"{v:g}"


def _blanks(value: Any, nt: Notation, tex: bool, matrix_kind: bool = False) -> str:
    blank = r"\underline{\qquad\quad}"
    if not isinstance(value, list):
        return blank
    rows = value if isinstance(value[0], list) else [value]
    if not matrix_kind and nt.columns:
        rows = [[r] for r in rows[0]]  # a column vector
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(blank for _ in r) for r in rows) + r" \end{bmatrix}"


def _display(equations: list[str], tex: bool) -> list[str]:
    if tex:
        return [r"\begin{align*}"] + [e.replace("=", "&=", 1) + r" \\" for e in equations] + [r"\end{align*}"]
    return [line for e in equations for line in ("$$", e, "$$")]


def make_assignment(roster: str | Path, out: str | Path, *, notation: str = "seeds", seed: int = 0) -> list[Path]:
    """Write every student's worksheet and blank answers file, and the answer key; returns the files written."""
    nt = get_notation(notation)
    students = read_roster(roster)
    out = Path(out)
    written, keys = [], {}
    for s in students:
        net, X, Y, kinds = draw_problem(s["id"], seed)
        key = answer_key(net, X, Y, nt, kinds=kinds)
        keys[s["id"]] = dict(key, name=s["name"])
        folder = out / s["id"]
        folder.mkdir(parents=True, exist_ok=True)
        blank = {k: v for k, v in key.items() if k != "delta"}
        blank["answers"] = _blank_like(key["answers"])
        files = {"worksheet.md": worksheet(key, s), "worksheet.tex": _tex_document(worksheet(key, s, "latex")),
                 "answers.json": compact_json(blank)}
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            written.append(folder / name)
    key_path = out / "answer_key.json"
    key_path.write_text(compact_json({"notation": nt.name, "seed": seed, "students": keys}), encoding="utf-8")
    return written + [key_path]


def _tex_document(body: str) -> str:
    return "\n".join([r"\documentclass{article}", r"\usepackage{amsmath,amssymb}", r"\begin{document}", body,
                      r"\end{document}", ""])

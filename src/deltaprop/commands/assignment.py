"""``deltaprop assignment``: one backpropagation problem per student, and the teacher's answer key.

Usage::

    deltaprop assignment --students examples/teach/roster.csv --out homework --notation nielsen

Writes ``homework/<id>/worksheet.md``, ``worksheet.tex`` and ``answers.json`` (blanks to fill in)
for every student of the roster (a CSV with an ``id`` column and optionally ``name``), and
``homework/answer_key.json``. Each problem is drawn from a generator seeded by the student's id
(and ``--seed``), so the same roster gives the same homework. Grade with ``deltaprop grade``.
"""

from __future__ import annotations

import argparse
import sys

from ._common import nonnegative_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The roster, the output folder, the notation and the course seed."""
    from ..teach.notation import NOTATIONS

    p.add_argument("--students", required=True, metavar="ROSTER.csv", help="a CSV with an 'id' column (and 'name')")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write the worksheets and the key to")
    p.add_argument("--notation", choices=list(NOTATIONS), default="seeds", metavar="NOTATION",
                   help="seeds (default), cs189, nielsen or higham")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="the course seed, mixed with each id (default 0)")


def run(args: argparse.Namespace) -> int:
    """Write the worksheets and the key; print where."""
    from pathlib import Path

    from ..teach.assignment import make_assignment

    key = Path(args.out) / "answer_key.json"
    if key.exists():
        raise ValueError(f"{key} exists; choose another --out (an answer key is never overwritten)")
    files = make_assignment(args.students, args.out, notation=args.notation, seed=args.seed)
    n = (len(files) - 1) // 3
    print(f"{n} problem{'s' if n != 1 else ''} written to {args.out}/<id>/ (worksheet.md, worksheet.tex, "
          f"answers.json); the answer key is {key}")
    print(f"grade with: deltaprop grade ANSWERS_DIR --key {key}", file=sys.stderr)
    return 0

"""``deltaprop grade``: grade the students' answers files against the key of ``deltaprop assignment``.

Usage::

    deltaprop grade submitted/ --key homework/answer_key.json --out grades
    deltaprop grade submitted/ --key homework/answer_key.json --weights delta=2,dW=2 --follow-credit 0.5

Reads ``submitted/<id>.json`` (or ``submitted/<id>/answers.json``) for every student of the key;
writes ``grades/gradebook.csv`` (student, name, score, first wrong quantity, slip) and
``grades/feedback/<id>.md``. A value that is wrong only because of the student's own earlier
mistake earns ``--follow-credit`` of its weight.
"""

from __future__ import annotations

import argparse

from ._common import nonnegative_float


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The answers folder, the key, the output folder and the scoring."""
    p.add_argument("answers", metavar="DIR_OF_ANSWERS", help="the folder of <id>.json answers files")
    p.add_argument("--key", required=True, metavar="KEY.json", help="answer_key.json from deltaprop assignment")
    p.add_argument("--out", default="grades", metavar="DIR", help="where the gradebook and feedback go (default grades)")
    p.add_argument("--weights", default=None, metavar="KIND=W,...",
                   help="points per quantity kind, e.g. delta=2,dW=2 (z, a, cost, delta, dW, db, dx; default 1 each)")
    p.add_argument("--follow-credit", type=nonnegative_float, default=0.5,
                   help="share of the points for a value that follows from the student's own earlier error "
                        "(default 0.5)")


def run(args: argparse.Namespace) -> int:
    """Grade, write the gradebook and the feedback, print the gradebook."""
    from pathlib import Path

    from ..io import write_atomic
    from ..teach.grade import grade, gradebook_csv, parse_weights

    if args.follow_credit > 1:
        raise ValueError(f"--follow-credit must be in [0, 1], got {args.follow_credit:g}")
    grades = grade(args.answers, args.key, weights=parse_weights(args.weights), follow_credit=args.follow_credit)
    out = Path(args.out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    book = gradebook_csv(grades)
    write_atomic(out / "gradebook.csv", book.encode())
    for g in grades:
        write_atomic(out / "feedback" / f"{g.student}.md", g.feedback.encode())
    print(book, end="")
    return 0

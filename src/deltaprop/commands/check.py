"""``deltaprop check``: compare a hand computation of backpropagation with the right numbers.

Usage::

    deltaprop check examples/answers/seed_003_slip.json
    deltaprop check my_answers.json --notation nielsen --rtol 1e-3

Exit code 0 when every given number agrees within the tolerances, 1 when one does not (the
report names the first wrong quantity, the likely slip, and what follows from it), 2 for a
malformed file. The file format is described in ``deltaprop.teach.check``.
"""

from __future__ import annotations

import argparse
import sys

from ._common import nonnegative_float, positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The answers file, its notation and the tolerances."""
    from ..teach.notation import NOTATIONS

    p.add_argument("answers", metavar="ANSWERS.json", help="the network, the sample and your numbers (JSON)")
    p.add_argument("--notation", choices=list(NOTATIONS), default=None, metavar="NOTATION",
                   help="seeds, cs189, nielsen or higham (default: the file's 'notation', else seeds)")
    p.add_argument("--delta", choices=["per-sample", "batch-mean"], default=None,
                   help="your delta convention: per-sample dc_i/dz_i or batch-mean dC/dz = 1/m of it "
                        "(default: the file's 'delta', else detected)")
    p.add_argument("--rtol", type=nonnegative_float, default=1e-2, help="relative tolerance (default 0.01)")
    p.add_argument("--atol", type=nonnegative_float, default=1e-4, help="absolute tolerance (default 0.0001)")
    p.add_argument("--precision", type=positive_int, default=4, help="digits shown after the point (default 4)")
    p.add_argument("--max-params", type=positive_int, default=10**7, metavar="N",
                   help="refuse networks with more parameters than this (default 10000000)")


def run(args: argparse.Namespace) -> int:
    """Check the file; print the report; 0 if all agree, 1 otherwise."""
    from ..teach.check import check, load_answers

    report = check(load_answers(args.answers), notation=args.notation, delta=args.delta, rtol=args.rtol,
                   atol=args.atol, where=args.answers, max_params=args.max_params)
    sys.stdout.write(report.text(args.precision))
    return 0 if report.ok else 1

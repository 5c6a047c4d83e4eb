"""``deltaprop check``: compare a hand computation, or a student's own backprop code, with the right numbers.

Usage::

    deltaprop check examples/answers/seed_003_slip.json
    deltaprop check my_answers.json --notation nielsen --rtol 1e-3
    deltaprop check --impl student.py:backprop --convention rows
    deltaprop check --impl network.py:Network.backprop --convention nielsen --activations sigmoid \\
        --outputs sigmoid+quadratic

Exit code 0 when every given number agrees (or every random case passes), 1 when one does not
(the report names the first wrong quantity, the likely slip, and what follows from it, or the
smallest failing case), 2 for a malformed file or flag. The answers format is described in
``deltaprop.teach.check``; the conventions of ``--impl`` in ``deltaprop.teach.conventions``.
A student's code runs in a child process with a time and a memory limit: isolation against
hangs and crashes, not a security sandbox.
"""

from __future__ import annotations

import argparse
import sys

from ._common import nonnegative_float, nonnegative_int, positive_float, positive_int


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The answers file (or --impl), its notation and the tolerances."""
    from ..teach.notation import NOTATIONS

    p.add_argument("answers", metavar="ANSWERS.json", nargs="?",
                   help="the network, the sample and your numbers (JSON)")
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
    impl = p.add_argument_group("a student's code (instead of ANSWERS.json)")
    impl.add_argument("--impl", metavar="FILE.py:FUNCTION",
                      help="the student's backprop, e.g. student.py:backprop or network.py:Network.backprop")
    impl.add_argument("--convention", default="rows", metavar="CONVENTION",
                      help="how it is called: rows (default; alias seeds), nielsen, higham or cs189")
    impl.add_argument("--cases", type=positive_int, default=200, help="random networks to try (default 200)")
    impl.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the random cases (default 0)")
    impl.add_argument("--activations", type=_names, default=None, metavar="G1,G2,...",
                      help="hidden activations to draw from (default sigmoid,tanh,relu)")
    impl.add_argument("--outputs", type=_names, default=None, metavar="G+COST,...",
                      help="output activation + cost pairs to draw from "
                           "(default sigmoid+quadratic,identity+quadratic,softmax+cross_entropy)")
    impl.add_argument("--timeout", type=positive_float, default=10.0, help="seconds per case (default 10)")
    impl.add_argument("--memory", type=positive_int, default=2048, help="memory limit in MiB (default 2048)")


def run(args: argparse.Namespace) -> int:
    """Check the file (or the code); print the report; 0 if all agree, 1 otherwise."""
    if (args.answers is None) == (args.impl is None):
        raise ValueError("give either ANSWERS.json or --impl FILE.py:FUNCTION")
    if args.impl is not None:
        return _impl(args)
    from ..teach.check import check, load_answers

    report = check(load_answers(args.answers), notation=args.notation, delta=args.delta, rtol=args.rtol,
                   atol=args.atol, where=args.answers, max_params=args.max_params)
    sys.stdout.write(report.text(args.precision))
    return 0 if report.ok else 1


def _impl(args: argparse.Namespace) -> int:
    from ..teach.impl import HIDDEN, OUTPUTS, check_impl
    from ..teach.sandbox import Limits

    path, sep, function = args.impl.rpartition(":")
    if not sep or not path or not function:
        raise ValueError(f"--impl must be FILE.py:FUNCTION (e.g. student.py:backprop), got {args.impl!r}")
    limits = Limits(timeout=args.timeout, memory=args.memory * 1024**2)
    report = check_impl(path, function, args.convention, cases=args.cases, seed=args.seed,
                        hidden=args.activations or HIDDEN, outputs=args.outputs or OUTPUTS, limits=limits)
    sys.stdout.write(report.text())
    return 0 if report.ok else 1

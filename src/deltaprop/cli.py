"""The ``deltaprop`` command.

Usage::

    deltaprop train                                    # 64-256-10 on the embedded digits
    deltaprop train --dataset mnist --data-dir ../shared/data/mnist --batch-size 128 --lr 0.1 --out mnist.safetensors
    deltaprop evaluate mnist.safetensors --dataset mnist --metrics-json eval.json
    deltaprop predict mnist.safetensors rows.csv --proba
    deltaprop export mnist.safetensors --format onnx --out mnist.onnx
    deltaprop explain --sizes 2,2,3,2 --activations sigmoid,sigmoid,sigmoid --cost quadratic --x 0.1,0.1 --y 1,0
    deltaprop check answers.json --notation nielsen
    deltaprop bench --quick
    deltaprop playground                               # the backward pass, live, in the browser

Results go to stdout, progress to stderr. Exit codes:

* 0 -- done;
* 1 -- training diverged (the cost or a gradient became NaN or Inf; the last good weights are
  saved to --out and the checkpoint folder), or a checked hand computation is wrong;
* 2 -- bad input (a flag, a data file, a model file): one line on stderr, no traceback, nothing
  written;
* 130 -- interrupted by Ctrl-C (during training, after saving a checkpoint to resume from).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import NoReturn

import numpy as np

from . import __version__

# name -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
#
# Deferred imports: the command modules import the library inside run(), not at their top, on purpose.
# build_parser imports every command module, and the modules their commands use (plots and matplotlib,
# datasets, teach, export, bench, the playground) cost about 2 s together; a command pays only for
# its own. This is the one place besides the forwarders Network.fit/Network.save where a deferred
# import is allowed; import-linter's contract (pyproject.toml) sees these imports all the same.
COMMANDS = {
    "train": ("deltaprop.commands.train", "train a network (default: the embedded digits)"),
    "evaluate": ("deltaprop.commands.evaluate", "accuracy, cost and confusion matrix of a saved model"),
    "predict": ("deltaprop.commands.predict", "one prediction per input row"),
    "export": ("deltaprop.commands.export", "export a model to ONNX or PyTorch"),
    "explain": ("deltaprop.commands.explain", "print every number of one backward pass"),
    "check": ("deltaprop.commands.check", "check a hand computation (or a student's code) of backpropagation"),
    "assignment": ("deltaprop.commands.assignment", "one backpropagation problem per student, and the answer key"),
    "grade": ("deltaprop.commands.grade", "grade the students' answers against the key: gradebook and feedback"),
    "bench": ("deltaprop.commands.bench", "benchmark against PyTorch and scikit-learn"),
    "playground": ("deltaprop.commands.playground", "the backward pass, live, in the browser (127.0.0.1)"),
}


class UsageError(Exception):
    """A bad command line; reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand whose module is installed."""
    parser = _Parser(prog="deltaprop", description="Feedforward networks trained by backpropagation.")
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is None:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 diverged or check failed, 2 bad input, 130 interrupted)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        # Floating-point overflow in user data or a diverging run is reported by the checks
        # (non-finite data, DivergenceError) as one line; NumPy's own warnings would add more.
        with np.errstate(all="ignore"):
            return int(importlib.import_module(args._module).run(args))
    except SystemExit as exc:  # --help and --version print and exit 0 through argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("deltaprop: error: out of memory (smaller --hidden widths, --batch-size or data?)", file=sys.stderr)
        return 2
    except (UsageError, ValueError, TypeError, OSError, RuntimeError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and exc.strerror:  # the system's words, not "[Errno 2] ..."
            text = f"{exc.filename}: {exc.strerror[:1].lower()}{exc.strerror[1:]}"
        elif isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
            text = f"{exc.filename}: {text}"
        if not text.startswith("deltaprop"):
            text = f"deltaprop: error: {text}"
        print(text, file=sys.stderr)
        return 2

#!/usr/bin/env python
"""Time deltaprop against PyTorch, scikit-learn and NumPy baselines: ``deltaprop bench`` as a script.

Usage (from the repository root)::

    python benchmarks/compare.py --quick                    # about two minutes, a subset of MNIST
    python benchmarks/compare.py --data-dir ../shared/data/mnist --out benchmarks/results
    python benchmarks/compare.py --configs minibatch,memory --rounds 7
    python benchmarks/compare.py --help

Each contender runs in its own worker process; the contenders alternate round by round in a
shuffled order. The table (with PASS/FAIL per target) goes to stdout, bench.json and the PNG
charts to --out. All the code lives in ``deltaprop.bench``; this file only forwards the flags.
"""

import sys

from deltaprop.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))

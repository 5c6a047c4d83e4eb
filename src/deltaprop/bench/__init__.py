"""Benchmarks of deltaprop against PyTorch, scikit-learn and NumPy baselines (issue 4).

``run_benchmark(Options(quick=True))`` runs every configuration: each contender in its own worker
process, alternating round by round in shuffled order, and returns a JSON-ready document;
``table(doc)`` renders it as text with a PASS/FAIL line per target, and ``write_outputs(doc,
folder)`` writes ``bench.json`` and the PNG charts. ``deltaprop bench`` and
``benchmarks/compare.py`` are the same code behind flags.

Examples
--------
>>> opts = Options(configs=("higham",), quick=True)
>>> [conf.name for conf in plan(opts)], plan(opts)[0].points[0].total_steps
(['higham'], 1000000)
"""

from typing import Any

from .configs import CONFIG_NAMES, CONTENDERS, Configuration, Options, Point, Target, Task, plan

_LAZY = {"run_benchmark": "harness", "table": "report", "write_outputs": "report"}


def __getattr__(name: str) -> Any:
    """The harness and the report, imported on first use: a worker process needs neither.

    Not a cycle: start-up time. The harness pulls importlib.metadata and subprocess (about 0.2 s),
    and every ``deltaprop`` command builds its parser through ``deltaprop.bench.configs``.
    """
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["CONFIG_NAMES", "CONTENDERS", "Configuration", "Options", "Point", "Target", "Task", "plan",
           "run_benchmark", "table", "write_outputs"]

"""The benchmark's main loop: prepare the data once, then run each configuration in worker processes.

Within a configuration every round runs each contender's unit of work (an epoch, or a block of
single-sample steps) once, in a freshly shuffled order, so that the slow drifts of a shared
machine hit every contender alike. Before each unit of work the harness waits ``settle`` seconds:
thread pools (OpenBLAS, OpenMP, deltaprop's helper) keep spinning for a while after their work, and
the previous contender's would otherwise take cores from the next one. Only the unit of work is
timed, inside the worker; loading, evaluation and process start-up are not.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..datasets import load_mnist
from . import configs, targets
from .configs import Configuration, Options, Point
from .process import Worker, WorkerError, start_workers, unavailable

Progress = Callable[[str], None]


def synthetic_rows(n_train: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """MNIST-shaped random rows: X uniform in [0, 1) float32 (m, 784), y = argmax of a fixed linear map."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((784, 10)).astype(np.float32)  # (n_0, n_L)
    out = {}
    for part, m in (("train", n_train), ("test", n_test)):
        X = rng.random((m, 784), dtype=np.float32)
        out[f"X_{part}"], out[f"y_{part}"] = X, ((X - 0.5) @ teacher).argmax(axis=1).astype(np.int64)
    return out


def prepare_data(opts: Options, plan: list[Configuration], folder: str | Path) -> dict[tuple[int, int], dict[str, str]]:
    """Load MNIST (or make synthetic rows) once and write each needed (n_train, n_test) subset as .npy files."""
    needed = sorted({conf.rows for conf in plan if conf.rows is not None})
    if not needed:
        return {}
    n_train, n_test = max(r[0] for r in needed), max(r[1] for r in needed)
    if opts.dataset == "synthetic":
        arrays = synthetic_rows(n_train, n_test, opts.seed)
    else:
        ds = load_mnist(opts.data_dir, subset=(n_train, n_test))
        arrays = {"X_train": ds.X_train, "y_train": ds.y_train, "X_test": ds.X_test, "y_test": ds.y_test}
    files: dict[tuple[int, int], dict[str, str]] = {}
    for rows in needed:
        files[rows] = {}
        for key, array in arrays.items():
            path = Path(folder) / f"{key}-{rows[0]}-{rows[1]}.npy"
            np.save(path, np.ascontiguousarray(array[:rows[0] if key.endswith("train") else rows[1]]))
            files[rows][key] = str(path)
    return files


def summary(values: list[float]) -> dict[str, float | None]:
    """Median, min and max (None for an empty list)."""
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


class _Run:
    """The workers of one configuration and what happened to each contender."""

    def __init__(self, conf: Configuration, workers: dict[str, Worker], setup: dict[str, Any],
                 opts: Options, rng: random.Random, progress: Progress) -> None:
        self.conf, self.workers, self.setup = conf, workers, setup
        self.opts, self.rng, self.progress = opts, rng, progress
        self.failed: dict[str, str] = {}
        self.info: dict[str, dict[str, Any]] = {}

    def call(self, c: str, command: str, **arguments: Any) -> Any:
        """A worker call; on failure the contender is marked failed and its worker closed (returns None)."""
        if c not in self.workers:
            return None
        try:
            return self.workers[c].call(command, **arguments)
        except WorkerError as exc:
            self.failed[c] = str(exc)
            self.workers.pop(c).close()
            self.progress(f"{self.conf.name}: {exc}")
            return None

    def active(self, point: Point) -> list[str]:
        return [c for c in point.tasks if c in self.workers]

    def reset(self, point: Point, seed: int) -> None:
        for c in self.active(point):
            info = self.call(c, "reset", task=point.tasks[c], seed=seed)
            if info is not None:
                self.info[c] = info

    def row(self, c: str, **values: Any) -> dict[str, Any]:
        if c in self.failed:
            return {"status": "error", "note": self.failed[c]}
        return {"status": "ok", "path": self.info.get(c, {}).get("path", ""),
                "data_bytes": self.setup[c]["data_bytes"], **values}

    def finish(self, c: str) -> dict[str, Any]:
        memory = self.call(c, "memory") or {}
        acc = self.call(c, "evaluate")
        return {"peak_rss": memory.get("peak_rss"), "accuracy": acc}

    def rounds(self, point: Point) -> dict[str, Any]:
        """``conf.rounds`` units of work per contender, alternating in shuffled order."""
        seconds: dict[str, list[float]] = {c: [] for c in self.active(point)}
        by_round: dict[str, list[float | None]] = {c: [] for c in seconds}  # None: no result that round
        timed: dict[str, int] = {}
        for r in range(self.conf.rounds):
            if r == 0 or self.conf.reset_each_round:
                self.reset(point, self.opts.seed)
            order = self.active(point)
            self.rng.shuffle(order)
            for c in order:
                time.sleep(self.opts.settle)  # the last contender's spinning thread pools go idle first
                out = self.call(c, "run")
                if out is None:
                    by_round[c].append(None)
                    continue
                total = point.total_steps or out["steps"]
                seconds[c].append(out["seconds"] * total / out["steps"])  # the whole workload
                by_round[c].append(seconds[c][-1])
                timed[c] = out["steps"]
                self.progress(f"{self.conf.name} {point.label} round {r + 1}/{self.conf.rounds}: "
                              f"{c} {seconds[c][-1]:.3g} {self.conf.unit}")
        rows = {}
        for c, measured in seconds.items():
            end = self.finish(c) if c in self.workers else {}
            total = point.total_steps or timed.get(c, 0)
            note = ""
            if c in timed and timed[c] < total:
                note = f"timed {timed[c]:,} of {total:,} steps, extrapolated x{total / timed[c]:.3g}"
            rows[c] = self.row(c, seconds=measured, round_seconds=by_round[c], **summary(measured),
                               timed_steps=timed.get(c),
                               extrapolated=bool(note), note=note, **end)
        return rows

    def until(self, point: Point) -> dict[str, Any]:
        """Epochs until the test accuracy reaches the threshold, for each of ``conf.seeds`` seeds."""
        conf = self.conf
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in self.active(point)}
        for s in range(conf.seeds):
            seed = self.opts.seed + s
            self.reset(point, seed)
            log: dict[str, dict[str, Any]] = {
                c: {"seed": seed, "epoch_seconds": [], "accuracy": [], "reached": False} for c in runs}
            for epoch in range(conf.max_epochs):
                pending = [c for c in self.active(point) if not log[c]["reached"]]
                self.rng.shuffle(pending)
                for c in pending:
                    time.sleep(self.opts.settle)
                    out = self.call(c, "run")
                    acc = None if out is None else self.call(c, "evaluate")
                    if acc is None:
                        continue
                    log[c]["epoch_seconds"].append(out["seconds"])
                    log[c]["accuracy"].append(acc)
                    log[c]["reached"] = acc >= conf.threshold
                    self.progress(f"{conf.name} seed {seed} epoch {epoch + 1}: {c} {out['seconds']:.3g} s, "
                                  f"test accuracy {acc:.2%}")
            for c, done in runs.items():
                spent = sum(log[c]["epoch_seconds"])
                done.append({**log[c], "seconds": spent if log[c]["reached"] else None,
                             "epochs": len(log[c]["accuracy"])})
        rows = {}
        for c, done in runs.items():
            times = [r["seconds"] if r["reached"] else math.inf for r in done]
            median = statistics.median(times) if times else math.inf
            reached = [t for t in times if math.isfinite(t)]
            note = "" if len(reached) == len(times) else (
                f"{len(times) - len(reached)} of {len(times)} runs did not reach {conf.threshold:.1%} "
                f"in {conf.max_epochs} epochs")
            end = self.finish(c) if c in self.workers else {}
            rows[c] = self.row(c, runs=done, seconds=[r["seconds"] for r in done],
                               median=median if math.isfinite(median) else None,
                               min=min(reached, default=None), max=max(reached, default=None),
                               epochs=[r["epochs"] for r in done], note=note, **end)
        return rows


def run_configuration(conf: Configuration, files: dict[str, str] | None, opts: Options,
                      rng: random.Random, progress: Progress) -> dict[str, Any]:
    """Run one configuration; returns its JSON-ready result (without the target checks)."""
    contenders = list(dict.fromkeys(c for p in conf.points for c in p.tasks))
    notes = {c: unavailable(c, opts) for c in contenders}
    skipped = {c: note for c, note in notes.items() if note is not None}
    runnable = [c for c in contenders if c not in skipped]
    load_before = os.getloadavg()[0]
    progress(f"{conf.name}: starting {', '.join(runnable)}")
    workers, setup, errors = start_workers(runnable, files, opts)
    run = _Run(conf, workers, setup, opts, rng, progress)
    run.failed.update(errors)
    points = []
    try:
        for point in conf.points:
            rows = run.until(point) if conf.threshold is not None else run.rounds(point)
            for c in point.tasks:
                if c in skipped:
                    rows[c] = {"status": "skipped", "note": skipped[c]}
                elif c not in rows:
                    rows[c] = run.row(c)
            points.append({"label": point.label, "sizes": list(next(iter(point.tasks.values())).sizes),
                           "total_steps": point.total_steps,
                           "contenders": {c: rows[c] for c in point.tasks}})
    finally:
        for worker in list(workers.values()):
            worker.close()
    return {"name": conf.name, "title": conf.title, "unit": conf.unit, "note": conf.note,
            "rows": list(conf.rows) if conf.rows else None, "rounds": conf.rounds, "seeds": conf.seeds,
            "threshold": conf.threshold, "max_epochs": conf.max_epochs,
            "versions": {c: s.get("versions", {}) for c, s in setup.items()},
            "load_average": [load_before, os.getloadavg()[0]], "points": points}


def machine() -> dict[str, Any]:
    """What the numbers depend on: CPUs, platform, library versions, load."""
    versions: dict[str, str | None] = {}
    for package in ("numpy", "torch", "scikit-learn", "threadpoolctl"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "versions": versions,
            "load_average": list(os.getloadavg())}


def run_benchmark(opts: Options, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run the configurations that ``opts`` selects; returns the whole result document (JSON-ready).

    ``progress`` receives one line of text per measured unit of work (the library never prints).
    """
    say = progress or (lambda text: None)
    plan = configs.plan(opts)
    rng = random.Random(opts.seed)
    started = time.time()
    doc: dict[str, Any] = {"deltaprop": __version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "machine": machine(), "options": configs.as_dict(opts), "configurations": []}
    with tempfile.TemporaryDirectory(prefix="deltaprop-bench-") as folder:
        files = prepare_data(opts, plan, folder)
        for conf in plan:
            result = run_configuration(conf, files.get(conf.rows) if conf.rows else None, opts, rng, say)
            result["targets"] = targets.check(conf, result)
            doc["configurations"].append(result)
    doc["seconds"] = time.time() - started
    return doc

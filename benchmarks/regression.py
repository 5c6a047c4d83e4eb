"""Held-out R^2 of the plain ``deltaprop train`` command on regression CSV files, against scikit-learn.

    python benchmarks/regression.py            # seeds 0 1 2, about two minutes
    python benchmarks/regression.py --seeds 0

Each data set is written to a CSV file and trained with ``deltaprop train --dataset FILE.csv`` and no
other training flag (the task, cost, optimizer, epochs and early stopping are the regression defaults).
scikit-learn's ``MLPRegressor(hidden_layer_sizes=(256,), max_iter=2000)`` behind a ``StandardScaler``
is fitted on the same training rows (``load_csv(...).split``) and scored on the same held-out rows.
Target (issue 14): deltaprop's R^2 at most 0.05 below scikit-learn's.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.datasets import load_csv

DATA = {
    "diabetes (442 x 10)": lambda: load_diabetes(return_X_y=True),
    "friedman1 (1000 x 10, noise 1)": lambda: make_friedman1(n_samples=1000, noise=1.0, random_state=0),
}


def write(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{j}" for j in range(X.shape[1])] + ["target"])
        w.writerows([*map(repr, row), repr(t)] for row, t in zip(X.tolist(), y.tolist()))


def deltaprop_r2(path: Path, seed: int) -> tuple[float, float]:
    metrics = path.with_suffix(".json")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "deltaprop", "train", "--dataset", str(path), "--seed", str(seed),
                    "--metrics-json", str(metrics), "--quiet"], check=True, capture_output=True)
    return json.loads(metrics.read_text())["test_r2"], time.perf_counter() - start


def sklearn_r2(path: Path, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    test = np.array(load_csv(path).split["test_rows"])
    train = np.setdiff1d(np.arange(len(y)), test)
    model = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(256,), max_iter=2000, random_state=seed))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[train], y[train])
    return float(r2_score(y[test], model.predict(X[test]))), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print("| data set | seed | deltaprop R^2 | scikit-learn R^2 | difference | target (>= -0.05) | "
          "deltaprop s | scikit-learn s |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in DATA.items():
            X, y = make()
            path = Path(folder) / (name.split()[0] + ".csv")
            write(path, X, y)
            for seed in args.seeds:
                ours, t_ours = deltaprop_r2(path, seed)
                theirs, t_theirs = sklearn_r2(path, X, y, seed)
                verdict = "pass" if ours - theirs >= -0.05 else "FAIL"
                print(f"| {name} | {seed} | {ours:.4f} | {theirs:.4f} | {ours - theirs:+.4f} | {verdict} | "
                      f"{t_ours:.1f} | {t_theirs:.1f} |", flush=True)


if __name__ == "__main__":
    main()

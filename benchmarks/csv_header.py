"""Time to read a wide CSV file (one header row, four data rows) with ``deltaprop.datasets.read_labelled``.

    python benchmarks/csv_header.py

Issue 15 measured 23 s for 40,000 columns when repeated names were found with ``header.count``
per column; the target is well under a second.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from deltaprop.datasets import read_labelled


def main() -> None:
    print("| columns | file size | read_labelled s |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for n in (40_000, 200_000):
            path = Path(folder) / f"wide{n}.csv"
            rows = [",".join(f"c{j}" for j in range(n)) + ",label"]
            rows += [",".join([str(k)] * n) + f",{k % 2}" for k in range(4)]
            path.write_text("\n".join(rows) + "\n")
            start = time.perf_counter()
            X, labels = read_labelled(path)
            seconds = time.perf_counter() - start
            assert X.shape == (4, n) and labels == [0, 1, 0, 1]
            print(f"| {n:,} | {path.stat().st_size / 2**20:.1f} MB | {seconds:.3f} |")


if __name__ == "__main__":
    main()

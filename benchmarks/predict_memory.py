"""Peak memory of ``deltaprop predict`` on a Parquet file: rows without a target, and the model's training file.

Writes N rows of 99 float32 features (``--rows``, default 1.25 million: 0.5 GB) in row groups of
``--group-rows`` rows twice: without a target, and with the 0/1 "label" last (the training file's
layout), trains a small model on 2,000 such rows, then runs ``deltaprop predict MODEL FILE --out
preds.csv`` on each in a subprocess and reads its peak resident set with GNU time (``%M``, as
``stream_memory.py`` does). ``--src`` runs the command from another source tree (for a before and
after); a tree that refuses the training file shows it as refused.

Usage::

    PYTHONPATH=src python benchmarks/predict_memory.py [--rows 1250000] [--dir /work/tmp] [--src OTHER/src]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from stream_memory import N_0, generate, peak_rss  # noqa: E402


def features_only(path: Path, rows: int, group_rows: int, seed: int = 0) -> None:
    """``rows`` rows of N_0 float32 features named x0.., no target, written a row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"x{k}" for k in range(N_0)]
    with pq.ParquetWriter(path, pa.schema([(n, pa.float32()) for n in names]), compression="none",
                          use_dictionary=False) as writer:
        for a in range(0, rows, group_rows):
            X = rng.standard_normal((min(group_rows, rows - a), N_0), dtype=np.float32)
            writer.write_table(pa.table(list(X.T), names=names), row_group_size=group_rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_250_000)
    p.add_argument("--group-rows", type=int, default=80_000, help="rows per Parquet row group (30.5 MB)")
    p.add_argument("--dir", default=os.environ.get("TMPDIR", tempfile.gettempdir()))
    p.add_argument("--src", help="the source tree whose deltaprop predict is measured (default: this one)")
    args = p.parse_args()
    if args.src:
        os.environ["PYTHONPATH"] = str(Path(args.src).resolve())
    folder = Path(tempfile.mkdtemp(prefix="deltaprop-predict-", dir=args.dir))
    try:
        rows_file = folder / "rows.parquet"
        features_only(rows_file, args.rows, args.group_rows)
        (folder / "big").mkdir()
        training_file, shards = generate(folder / "big", args.rows, args.group_rows, 1)
        shutil.rmtree(shards)
        (folder / "tiny").mkdir()
        tiny, _ = generate(folder / "tiny", 2000, 1000, 1)
        model = folder / "m.safetensors"
        _, _, rc = peak_rss([sys.executable, "-m", "deltaprop", "train", "--dataset", str(tiny), "--epochs", "1",
                             "--hidden", "32", "--quiet", "--out", str(model)], folder)
        if rc:
            raise SystemExit("training the model failed")
        print(f"deltaprop from {os.environ.get('PYTHONPATH', '(installed)')}; {args.rows:,} rows x {N_0} float32 "
              f"features, row groups of {args.group_rows:,} rows ({args.group_rows * N_0 * 4 / 2**20:.1f} MB)")
        print("| input | file MB | peak RSS MB | wall s |")
        print("|---|---|---|---|")
        for name, path in (("rows without a target", rows_file), ("the training file (+ label)", training_file)):
            start = time.perf_counter()
            peak, _, rc = peak_rss([sys.executable, "-m", "deltaprop", "predict", str(model), str(path), "--out",
                                    str(folder / "preds.csv")], folder)
            wall = time.perf_counter() - start
            shown = f"{peak:.1f} | {wall:.0f}" if rc == 0 else f"refused (exit {rc}) | -"
            print(f"| {name} | {path.stat().st_size / 2**20:.0f} | {shown} |")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()

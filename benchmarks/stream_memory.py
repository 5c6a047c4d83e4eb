"""Peak memory of ``deltaprop train`` streaming a data set bigger than the bar: a Parquet file and an .npy shard folder.

Generates N rows of 99 float32 features and a 0/1 label (float32 column; 4 x 100 bytes a row, so
the default 10.8 million rows are 4.32 GB) in a temporary folder (``--dir``, default $TMPDIR),
once as one Parquet file with row groups of ``--group-rows`` rows and once as ``--shards`` .npy
shards; writing is itself streamed. It then runs ``deltaprop train --dataset ... --epochs 1
--quiet`` on each in a subprocess and reads its peak resident set (GNU time's ``%M``: everything
the process touched, its imports, the memory-mapped pages and Arrow's buffers included), and
compares it with the bar of issue 19:

    peak RSS <= model + 2 chunks + 150 MB

where model is the bytes of W, b, their gradients and the optimiser's state, and a chunk is a row
group (Parquet) or ``datasets.stream.CHUNK_BYTES`` (.npy). It also runs the same command on a
tiny data set of each kind, which shows what the interpreter and the imports take before any data.
The folder is deleted at the end (``--keep`` keeps it).

Usage::

    PYTHONPATH=src python benchmarks/stream_memory.py [--rows 10800000] [--dir /work/tmp] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_0 = 99
HIDDEN = 32


def generate(folder: Path, rows: int, group_rows: int, shards: int, seed: int = 0) -> tuple[Path, Path]:
    """The same rows as one Parquet file and as .npy shards, written block by block."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = rng.normal(size=N_0).astype(np.float32)
    parquet, shard_dir = folder / "data.parquet", folder / "shards"
    shard_dir.mkdir()
    names = [f"x{k}" for k in range(N_0)] + ["label"]
    schema = pa.schema([(n, pa.float32()) for n in names])
    per_shard = -(-rows // shards)
    with pq.ParquetWriter(parquet, schema, compression="none", use_dictionary=False) as writer:
        done = 0
        for s in range(shards):
            k = min(per_shard, rows - done)
            shard = np.lib.format.open_memmap(shard_dir / f"part-{s:03d}.npy", mode="w+", dtype=np.float32,
                                              shape=(k, N_0 + 1))
            for a in range(0, k, group_rows):
                b = min(a + group_rows, k)
                X = rng.standard_normal((b - a, N_0), dtype=np.float32)
                y = (X @ w > 0).astype(np.float32)
                shard[a:b, :N_0], shard[a:b, N_0] = X, y
                writer.write_table(pa.table([*X.T, y], names=names), row_group_size=group_rows)
            shard.flush()
            del shard
            done += k
    return parquet, shard_dir


def peak_rss(argv: list[str], folder: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, exit code) of a command, measured by GNU time (``%M``).

    Not ``os.wait4``: a child forked from this process starts with this process's resident set
    as its high-water mark, which ``ru_maxrss`` keeps after the exec; ``/usr/bin/time``, small,
    forks the command itself.
    """
    report = folder / "time.txt"
    start = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
    return int(report.read_text().split()[-1]) / 1024, wall, run.returncode  # %M is in KiB


def train_cmd(dataset: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "deltaprop", "train", "--dataset", str(dataset), "--epochs", "1", "--hidden",
            str(HIDDEN), "--batch-size", "256", "--quiet", "--out", str(out)]


def main() -> None:
    from deltaprop.datasets import _shards as ds_shards

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_800_000)
    p.add_argument("--group-rows", type=int, default=80_000, help="rows per Parquet row group (32 MB of float32)")
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--dir", default=os.environ.get("TMPDIR", tempfile.gettempdir()))
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="deltaprop-stream-", dir=args.dir))
    try:
        start = time.perf_counter()
        parquet, shards = generate(folder, args.rows, args.group_rows, args.shards)
        size = sum(f.stat().st_size for f in shards.iterdir())
        print(f"generated {args.rows:,} rows x {N_0 + 1} float32 columns: {size / 1e9:.2f} GB of .npy shards, "
              f"{parquet.stat().st_size / 1e9:.2f} GB of Parquet, in {time.perf_counter() - start:.0f} s")
        tiny = folder / "tiny"
        tiny.mkdir()
        tiny_parquet, tiny_shards = generate(tiny, 2000, 1000, 2)
        n_params = N_0 * HIDDEN + HIDDEN + HIDDEN * 2 + 2
        model = 4 * n_params * 4 / 2**20  # W and b, dW and db, the momentum's velocity, the last good copy; float32
        chunk_bytes = {"Parquet": args.group_rows * (N_0 + 1) * 4, ".npy shards": ds_shards.CHUNK_BYTES}
        rows = []
        for kind, data, small in (("Parquet", parquet, tiny_parquet), (".npy shards", shards, tiny_shards)):
            base, _, rc0 = peak_rss(train_cmd(small, folder / "tiny.safetensors"), folder)
            peak, wall, rc = peak_rss(train_cmd(data, folder / "m.safetensors"), folder)
            chunk = chunk_bytes[kind] / 2**20
            bar = model + 2 * chunk + 150
            rows.append((kind, model, chunk, bar, base, peak, wall, "yes" if peak <= bar and rc == rc0 == 0 else "no"))
        print(f"\n{'data set':<12} {'model MB':>9} {'chunk MB':>9} {'bar MB':>8} {'tiny run MB':>12} "
              f"{'peak RSS MB':>12} {'wall s':>8}  under the bar")
        for kind, model, chunk, bar, base, peak, wall, ok in rows:
            print(f"{kind:<12} {model:>9.2f} {chunk:>9.1f} {bar:>8.1f} {base:>12.1f} {peak:>12.1f} {wall:>8.0f}  {ok}")
        print("\nbar = model + 2 chunks + 150 MB; 'tiny run' is the same command on 2,000 rows (interpreter, imports).")
    finally:
        if args.keep:
            print(f"data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

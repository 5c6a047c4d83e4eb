"""Instructions per training epoch, counted by valgrind's callgrind: a measure the machine's load does not move.

    python benchmarks/instructions.py 89348cf HEAD [--rows 2560] [--data-dir DIR]

Each argument is a git revision of this repository (or a folder holding a deltaprop ``src/`` tree). Each trains
the bench's minibatch network (784-256-10, ReLU, softmax + cross-entropy, SGD momentum 0.9, lr 0.1, batch 128,
float32) with ``train(epochs=1)`` per epoch, as ``deltaprop bench`` times it, on the first ROWS MNIST rows, on one
thread (no helper thread, BLAS at one thread): under callgrind once for 1 epoch and once for 3. Half the
difference is one epoch's instructions, the ``train`` call's own work included (validation, the kernel's set-up)
and the start-up cancelled. numba compiles for the generic x86-64 CPU (``NUMBA_CPU_NAME=generic``), so that the
run under valgrind (another CPU to numba) loads the code the first run cached instead of compiling it again, and
the string hashes are seeded (``PYTHONHASHSEED``): dictionary collisions otherwise move the count by about 1 %.
Needs valgrind; each run takes a few minutes.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import os, sys
os.cpu_count = lambda: 1  # no helper thread: the count is of one thread's work
sys.path.insert(0, sys.argv[1])
import numpy as np
from threadpoolctl import threadpool_limits
threadpool_limits(1)
from deltaprop import Network, train
from deltaprop.optim import make_optimizer
X, Y = np.load(sys.argv[2]), np.load(sys.argv[3])
net = Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", dtype="float32", seed=0)
opt = make_optimizer("momentum", lr=0.1, momentum=0.9)
for e in range(int(sys.argv[4])):
    train(net, X, Y, epochs=1, batch_size=128, optimizer=opt, seed=e)
print(float(np.abs(net.weights[0]).sum()))
"""


def idx(path: Path) -> np.ndarray:
    """An IDX file's array (the MNIST format: magic, dimensions, then unsigned bytes)."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def source(rev: str, work: Path) -> Path:
    """The src/ folder of rev: a folder as it is, a git revision exported into work."""
    if Path(rev, "src").is_dir():
        return Path(rev, "src").resolve()
    out = work / re.sub(r"\W", "_", rev)
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def count(src: Path, data: tuple[Path, Path], epochs: int, out: Path) -> tuple[int, str]:
    """Instructions of one run under callgrind, and what it printed (the weights' sum, to compare runs)."""
    env = {**os.environ, "NUMBA_CPU_NAME": "generic", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    argv = [sys.executable, "-c", CHILD, str(src), str(data[0]), str(data[1]), str(epochs)]
    subprocess.run(argv, env=env, check=True, capture_output=True)  # compiles and caches, outside valgrind
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv], env=env,
                          check=True, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1)), done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revs", nargs="+", help="git revisions, or folders holding a src/ tree")
    parser.add_argument("--rows", type=int, default=2560, help="MNIST training rows per epoch (default 2560)")
    parser.add_argument("--data-dir", default=os.environ.get("DELTAPROP_DATA"),
                        help="folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("--data-dir (or DELTAPROP_DATA) must name the folder with the MNIST files")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        images, labels = (Path(args.data_dir) / f"train-{k}-idx{d}-ubyte.gz" for k, d in (("images", 3), ("labels", 1)))
        X = idx(images)[:args.rows].reshape(args.rows, 784).astype(np.float32) / 255
        Y = np.eye(10, dtype=np.float32)[idx(labels)[:args.rows]]
        data = (work / "X.npy", work / "Y.npy")
        np.save(data[0], X)
        np.save(data[1], Y)
        print(f"callgrind, {args.rows} MNIST rows per epoch, one thread; instructions per epoch = (3 epochs - 1) / 2")
        print(f"{'revision':24s} {'start-up + 1 epoch':>19s} {'per epoch':>12s} {'vs first':>9s}  weights' sum")
        first = None
        for rev in args.revs:
            src = source(rev, work)
            one, _ = count(src, data, 1, work / "one.out")
            three, weights = count(src, data, 3, work / "three.out")
            epoch = (three - one) / 2
            first = first or epoch
            print(f"{rev[:24]:24s} {one / 1e9:17.3f} G {epoch / 1e6:10.2f} M {100 * (epoch / first - 1):+8.2f} %  "
                  f"{weights}", flush=True)


if __name__ == "__main__":
    main()

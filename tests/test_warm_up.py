"""engine.support.warm_up: the compiled loops' once-per-process cost paid on a background thread.

Each case runs in a fresh interpreter, since what it checks (numba imported, the code generator
prepared) happens once per process.
"""

import subprocess
import sys

import pytest

pytest.importorskip("numba")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_warm_up_prepares_the_compiled_loops_on_its_own_thread():
    done = _python(
        "import sys, threading\n"
        "from deltaprop.engine import support\n"
        "assert 'numba' not in sys.modules, 'deltaprop imported numba before the warm-up'\n"
        "t = support.warm_up()\n"
        "assert isinstance(t, threading.Thread) and t.daemon and t is not threading.current_thread()\n"
        "t.join(timeout=240)\n"
        "assert not t.is_alive()\n"
        "from deltaprop.engine import _loops\n"
        "print(len(_loops.ready.signatures), support.loops() is _loops)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True"]  # ready() was called once (loaded or compiled) on that thread


def test_warm_up_without_numba_starts_nothing():
    done = _python(
        "import importlib.util, threading\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'numba' else real(name, *a)\n"
        "from deltaprop.engine import support\n"
        "before = threading.active_count()\n"
        "print(support.warm_up(), threading.active_count() - before)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "0"]


def test_training_after_the_warm_up_gives_the_same_bits():
    # mostly-zero inputs take the compiled kernel; the weights must not depend on who loaded its loops
    code = (
        "import sys, numpy as np\n"
        "from deltaprop import Network\n"
        "from deltaprop.engine import support\n"
        "from deltaprop.train import train\n"
        "if sys.argv[1] == 'warm':\n"
        "    support.warm_up().join()\n"
        "rng = np.random.default_rng(3)\n"
        "X = rng.random((300, 64)) * (rng.random((300, 64)) < 0.2)\n"
        "Y = np.eye(3)[rng.integers(0, 3, 300)]\n"
        "net = Network([64, 16, 3], ['relu', 'softmax'], 'cross_entropy', seed=1)\n"
        "train(net, X, Y, epochs=2, batch_size=32, optimizer='momentum', lr=0.1, kernel='compiled', seed=2)\n"
        "print(b''.join(W.tobytes() for W in net.weights + net.biases).hex())\n")
    runs = [subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=300)
            for mode in ("warm", "cold")]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert len(runs[0].stdout) > 1000 and runs[0].stdout == runs[1].stdout


@pytest.mark.parametrize("repeat", range(3))
def test_an_error_during_the_warm_up_exits_cleanly(tmp_path, repeat):
    # `train --dataset mnist` starts the warm-up, then finds no files: exit 2, one line, while the
    # daemon thread may still be importing numba (the interpreter must not crash on the way out)
    done = subprocess.run([sys.executable, "-m", "deltaprop", "train", "--dataset", "mnist", "--data-dir",
                           str(tmp_path / "none"), "--epochs", "1", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "train-images-idx3-ubyte" in lines[0] and "not found" in lines[0]

"""The runnable examples: one script per seed exercise, the worked answer files, Higham & Higham."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from deltaprop.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, check=False,
                          timeout=300, cwd=EXAMPLES.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout or script == "higham.py", proc.stdout
    return proc.stdout


def test_seed_000_001_delta_recursion():
    out = run("seed_000_001_delta_recursion.py")
    errors = [float(v) for v in re.findall(r"^(?:delta|dC/d[Wb])\^\(\d\)\s+(\S+)", out, flags=re.MULTILINE)]
    assert len(errors) == 9 and max(errors) < 1e-12  # the seeds' sums agree with net.trace
    slip = float(re.search(r"off by a relative (\S+)", out).group(1))
    assert slip > 0.1


def test_seed_002_cs189_mnist(mnist_dir):
    out = run("seed_002_cs189_mnist.py", "--data-dir", str(mnist_dir))
    assert float(re.search(r"Network.gradients: max difference (\S+)", out).group(1)) < 1e-12
    assert float(re.search(r"max weight difference (\S+)", out).group(1)) < 1e-9
    assert float(re.search(r"test accuracy (\S+)", out).group(1)) > 0.8


def test_seed_003_regression():
    out = run("seed_003_regression.py")
    assert "J(0, 1) = 0.5" in out and "h(6) = 11" in out
    assert "class 1 exactly where x1 <= 5 on 1111/1111 grid points" in out


def test_seed_004_input_jacobian():
    out = run("seed_004_input_jacobian.py")
    assert float(re.search(r"max \|product - input_jacobian\| = (\S+),", out).group(1)) < 1e-14
    assert float(re.search(r"central differences\| = (\S+)", out).group(1)) < 1e-8


def test_higham_script_writes_the_figures(tmp_path):
    out = run("higham.py", "--steps", "3000", "--record-every", "500", "--out-dir", str(tmp_path), "--numpy")
    assert "cost at the start: 5.33   (paper: 5.3)" in out
    for name in ("higham_cost.png", "higham_regions.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


SLIP_OF = {"seed_000_001": "missing-derivative", "seed_002": "relu-derivative-as-relu",
           "seed_003": "sigmoid-derivative-twice", "seed_004": "transposed-dW"}


@pytest.mark.parametrize("seed", sorted(SLIP_OF))
def test_answer_files(seed, capsys):
    assert main(["check", str(EXAMPLES / "answers" / f"{seed}_correct.json")]) == 0
    assert "quantities agree" in capsys.readouterr().out
    assert main(["check", str(EXAMPLES / "answers" / f"{seed}_slip.json")]) == 1
    out = capsys.readouterr().out
    assert f"likely slip: {SLIP_OF[seed]}:" in out
    # the same file, explained: the network and the sample come from it
    assert main(["explain", "--weights", str(EXAMPLES / "answers" / f"{seed}_correct.json")]) == 0
    assert "all gradients agree" in capsys.readouterr().out

"""`check --impl`: the grader is tested against wrong code too.

Correct reference implementations, one per convention and each in that convention's own style
(examples/impl/reference_*.py), must pass; buggy ones, made from a reference by the one-line
change a student makes for each named slip, must be flagged (and the slip named where the slip
changes the numbers without breaking the shapes). The references themselves are checked against
central finite differences, so the grader's truth is not the only witness.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop.gradcheck import numerical_gradients
from deltaprop.teach.impl import _network, _size, check_impl, draw_case
from deltaprop.teach.sandbox import Limits

IMPL = Path(__file__).resolve().parents[1] / "examples" / "impl"
FUNCTION = {"rows": "backprop", "nielsen": "Network.backprop", "higham": "backprop", "cs189": "backprop"}


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rows_reference_agrees_with_central_differences():
    rng = np.random.default_rng(7)
    ref = _load(IMPL / "reference_rows.py")
    for _ in range(5):
        case = draw_case(rng)
        net, X, Y = _network(case)
        dW, db = ref.backprop(net.weights, net.biases, X, Y, list(case["activations"]), case["cost"])
        fW, fb = numerical_gradients(net, X, Y)
        for l in range(net.L):
            np.testing.assert_allclose(dW[l], fW[l], rtol=1e-5, atol=1e-8, err_msg=f"dW[{l + 1}]")
            np.testing.assert_allclose(db[l], fb[l], rtol=1e-5, atol=1e-8, err_msg=f"db[{l + 1}]")


@pytest.mark.parametrize("convention", list(FUNCTION))
def test_correct_references_pass_in_every_convention(convention):
    report = check_impl(IMPL / f"reference_{convention}.py", FUNCTION[convention], convention, cases=60, seed=1)
    assert report.ok, report.text()
    assert "PASS: all 60 random cases" in report.text()


def test_skeletons_exist_for_every_convention_and_fail_until_filled_in():
    for convention in FUNCTION:
        path = IMPL / f"skeleton_{convention}.py"
        assert path.is_file(), path
        report = check_impl(path, FUNCTION[convention], convention, cases=3)
        assert not report.ok


# (slip, old line fragment, new fragment, pools). Every named slip of the catalogue that code can make;
# cost-summed concerns the cost, which backprop does not return.
MUTANTS = [
    ("relu-derivative-as-relu", "return (z > 0).astype(float)", "return np.maximum(0, z)", ("relu",)),
    ("sigmoid-derivative-twice", "return s * (1 - s)\n", "return s * (1 - s) * (1 - s)\n", ("sigmoid",)),
    ("derivative-at-a", "gp = {l: derivative(activations[l - 1], z[l])", "gp = {l: derivative(activations[l - 1], a[l])",
     ("tanh",)),
    ("missing-derivative", "delta[l] = (delta[l + 1] @ W[l + 1].T) * gp[l]", "delta[l] = delta[l + 1] @ W[l + 1].T",
     ("tanh",)),
    ("fused-delta-times-a(1-a)", "delta[L] = a[L] - Y", "delta[L] = a[L] * (1 - a[L]) * (a[L] - Y)", None),
    ("tanh-derivative-1-tanh", "return 1 - np.tanh(z) ** 2", "return 1 - np.tanh(z)", ("tanh",)),
    ("transposed-W", "(delta[l + 1] @ W[l + 1].T)", "(delta[l + 1] @ W[l + 1])", None),
    ("W-of-this-layer", "(delta[l + 1] @ W[l + 1].T)", "(delta[l + 1] @ W[l].T)", None),
    ("bias-forgotten", "z[l] = a[l - 1] @ W[l] + b[l]", "z[l] = a[l - 1] @ W[l]", None),
    ("a-for-a-prev-in-dW", "dW = [a[l - 1].T @ delta[l] / m", "dW = [a[l].T @ delta[l] / m", None),
    ("transposed-dW", "dW = [a[l - 1].T @ delta[l] / m", "dW = [delta[l].T @ a[l - 1] / m", None),
    ("missing-1/m", "dW = [a[l - 1].T @ delta[l] / m", "dW = [a[l - 1].T @ delta[l]", None),
    ("missing-1/2", "delta[L] = (a[L] - Y) * gp[L]", "delta[L] = 2 * (a[L] - Y) * gp[L]", None),
    ("sign", "delta[L] = (a[L] - Y) * gp[L]", "delta[L] = (Y - a[L]) * gp[L]", None),
]
# Slips that break the shapes on most networks: flagged (the code fails), named when the shapes let them through.
SHAPE_BREAKING = {"transposed-W", "W-of-this-layer"}


def _mutant(tmp_path, source, old, new, name="student.py"):
    text = source.read_text()
    assert old in text, f"{old!r} not in {source.name}"
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("slip, old, new, hidden", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_every_buggy_implementation_is_flagged_and_its_slip_named(tmp_path, slip, old, new, hidden):
    path = _mutant(tmp_path, IMPL / "reference_rows.py", old, new)
    kwargs = {"hidden": hidden} if hidden else {}
    report = check_impl(path, "backprop", "rows", cases=40, seed=3, **kwargs)
    assert not report.ok and report.failed >= 1
    text = report.text()
    assert "FAIL:" in text and "The first failing case:" in text
    if slip in SHAPE_BREAKING:
        assert slip in report.slips or report.first.kind == "call", text
    else:
        assert slip in report.slips, text
    assert report.smallest is not None and _size(report.smallest) <= _size(report.case)
    assert report.smallest_wrong is not None  # the shrunk case still fails


@pytest.mark.parametrize("convention, old, new, slip", [
    ("nielsen", "nabla_w[-k] = np.dot(delta, activations[-k - 1].transpose())",
     "nabla_w[-k] = np.dot(activations[-k - 1], delta.transpose())", "transposed-dW"),
    ("higham", "delta[l] = D @ Wl[l + 1].T @ delta[l + 1]", "delta[l] = Wl[l + 1].T @ delta[l + 1]",
     "missing-derivative"),
    ("cs189", "delta = xs[L] - y", "delta = y - xs[L]", "sign"),
])
def test_buggy_implementations_in_the_other_conventions(tmp_path, convention, old, new, slip):
    path = _mutant(tmp_path, IMPL / f"reference_{convention}.py", old, new)
    report = check_impl(path, FUNCTION[convention], convention, cases=40, seed=2, hidden=("tanh", "sigmoid"))
    assert not report.ok
    assert slip in report.slips, report.text()


# ----- untrusted code ---------------------------------------------------------------------------------
HOSTILE = {
    "hang": ("def backprop(W, b, X, Y, activations, cost):\n    while True:\n        pass\n", "no answer within 1 s"),
    "exit": ("import os\ndef backprop(W, b, X, Y, activations, cost):\n    os._exit(3)\n", "exited with code 3"),
    "memory": ("import numpy as np\ndef backprop(W, b, X, Y, activations, cost):\n"
               "    return np.ones((40000, 40000)), None\n", "MemoryError"),
    "segfault": ("import ctypes\ndef backprop(W, b, X, Y, activations, cost):\n    ctypes.string_at(0)\n",
                 "stopped by a crash (SIGSEGV)"),
    "import": ("raise RuntimeError('broken on import')\n", "RuntimeError: broken on import"),
    "missing": ("def other():\n    pass\n", "has no attribute 'backprop'"),
    "print-and-garbage": ("def backprop(W, b, X, Y, activations, cost):\n    print('hello')\n    return 'abc'\n",
                          "a str was returned where an array of numbers belongs"),
    "hang-on-import": ("while True:\n    pass\n", "no answer within 10 s while importing the module"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_code_neither_crashes_nor_hangs_the_grader(tmp_path, kind):
    source, message = HOSTILE[kind]
    path = tmp_path / "student.py"
    path.write_text(source)
    report = check_impl(path, "backprop", "rows", cases=5, limits=Limits(timeout=1.0, memory=512 * 1024**2, import_timeout=10.0))
    assert not report.ok
    assert message in report.text(), report.text()


# ----- the command line ---------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "deltaprop", "check", *args], capture_output=True, text=True)


def test_cli_passes_a_reference_and_fails_a_buggy_one(tmp_path):
    out = _cli("--impl", f"{IMPL / 'reference_nielsen.py'}:Network.backprop", "--convention", "nielsen",
               "--cases", "30")
    assert out.returncode == 0 and "PASS: all 30 random cases" in out.stdout, out.stdout + out.stderr
    path = _mutant(tmp_path, IMPL / "reference_rows.py", "delta[L] = a[L] - Y", "delta[L] = Y - a[L]")
    out = _cli("--impl", f"{path}:backprop", "--convention", "seeds", "--cases", "30", "--outputs",
               "softmax+cross_entropy")
    assert out.returncode == 1 and "likely slip: sign" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("args, message", [
    (["--impl", "nofile.py:backprop"], "nofile.py: no such file"),
    (["--impl", "student.py"], "--impl must be FILE.py:FUNCTION"),
    (["--impl", "REF:backprop", "--convention", "matlab"], "unknown convention 'matlab'; known: rows, nielsen"),
    (["--impl", "REF:backprop", "--outputs", "softmax"], "an output must be ACTIVATION+COST"),
    ([], "give either ANSWERS.json or --impl FILE.py:FUNCTION"),
])
def test_cli_bad_flags_exit_2_with_one_line(args, message):
    args = [a.replace("REF", str(IMPL / "reference_rows.py")) for a in args]
    out = _cli(*args)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr

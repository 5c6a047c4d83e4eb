"""`check` is fair to correct work: digits written, the delta convention, per-sample gradients, more slips.

The right numbers come from ``by_hand`` (test_check.py): a forward and backward pass written out
in NumPy, slips included, with every later value computed from the student's own.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from test_check import answers, by_hand, statuses

from deltaprop import Network
from deltaprop.teach.check import check, load_answers
from deltaprop.teach.notation import NOTATIONS, get_notation


def dump(obj, decimals=None, sig=None):
    """JSON text with every float written to ``decimals`` places or ``sig`` significant digits."""
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v, decimals, sig)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(dump(v, decimals, sig) for v in obj) + "]"
    if isinstance(obj, float) and (decimals is not None or sig is not None):
        return f"{obj:.{decimals}f}" if decimals is not None else f"{obj:.{sig - 1}e}"
    return json.dumps(obj)


def write(tmp_path, data, **fmt):
    """The answers written as a student would (numbers rounded as text), read back through load_answers."""
    numbers = copy.deepcopy(data)
    path = tmp_path / "answers.json"
    head = {k: v for k, v in numbers.items() if k != "answers"}
    path.write_text(dump(head)[:-1] + ', "answers": ' + dump(numbers["answers"], **fmt) + "}")
    return path


def _small_valued():
    """A net whose numbers are small (|dW| ~ 1e-2), where rtol 1e-2 alone fails rounded work."""
    net = Network([3, 4, 2], ["tanh", "sigmoid"], "quadratic", dtype="float64", seed=3)
    X = np.array([[0.5, -0.2, 0.8], [0.1, 0.4, -0.6], [-0.3, 0.2, 0.9]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    return net, X, Y


@pytest.mark.parametrize("notation", list(NOTATIONS))
@pytest.mark.parametrize("fmt", [{"decimals": 3}, {"decimals": 2}, {"sig": 2}, {"sig": 3}])
def test_correct_work_rounded_to_the_digits_written_passes(tmp_path, notation, fmt):
    net, X, Y = _small_valued()
    nt = get_notation(notation)
    path = write(tmp_path, answers(net, nt, X, Y, by_hand(net, X, Y)), **fmt)
    report = check(load_answers(path))
    assert report.ok, report.text()


def test_rounded_work_failed_before_with_the_tolerances_alone(tmp_path):
    """The same file read as plain floats (no digits) fails: the digits are what makes it fair."""
    net, X, Y = _small_valued()
    path = write(tmp_path, answers(net, get_notation("seeds"), X, Y, by_hand(net, X, Y)), decimals=3)
    plain = json.loads(path.read_text())
    for kind in ("dW", "delta", "db"):  # the digits of 17-digit floats: only rtol/atol count
        for l, v in plain["answers"][kind].items():
            plain["answers"][kind][l] = (np.asarray(v) + 1e-12 * 1.234567).tolist()
    assert not check(plain).ok


def _one_unit():
    net = Network([1, 1], ["identity"], "quadratic", dtype="float64")
    net.weights, net.biases = [[[0.01262]]], [[0.0]]
    return net


def test_a_number_off_in_its_last_digit_is_a_rounding_slip():
    net = _one_unit()
    data = {"network": {"sizes": [1, 1], "activations": ["identity"], "cost": "quadratic",
                        "weights": [[[0.01262]]], "biases": [[0.0]]}, "x": [1.0], "y": [0.0],
            "answers": {"z": {"1": [0.012]}}}  # z = 1 * 0.01262 = 0.01262: truncated, not rounded
    assert float(net.forward([[1.0]])[0, 0]) == pytest.approx(0.01262)
    report = check(data)
    assert report.first_wrong.symbol == "z^(1)" and report.first_wrong.slips == ()
    assert "rounding only" in report.text() and "reads 0.013" in report.text()
    data["answers"]["z"]["1"] = [0.011]  # two units off: a real error
    assert "rounding only" not in check(data).text()
    data["answers"]["z"]["1"] = [0.013]
    assert check(data).ok


def test_integers_say_nothing_about_precision():
    data = {"network": {"sizes": [1, 1], "activations": ["identity"], "cost": "quadratic",
                        "weights": [[[0.3]]], "biases": [[0.0]]}, "x": [1.0], "y": [0.0],
            "answers": {"z": {"1": [0]}}}  # 0 for 0.3 is wrong, although 0.3 rounds to 0
    assert not check(data).ok


# ----- the delta convention --------------------------------------------------------------------------
def _batch_mean(values, m):
    out = dict(values)
    out["delta"] = {l: d / m for l, d in values["delta"].items()}  # dC/dz with C the mean: 1/m of dc_i/dz_i
    return out


@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_batch_mean_deltas_are_correct_in_their_convention(notation):
    net, X, Y = _small_valued()
    nt = get_notation(notation)
    values = by_hand(net, X, Y)
    data = answers(net, nt, X, Y, _batch_mean(values, 3))
    data["answers"]["dx"] = (values["delta"][1] @ net.weights[0].T).tolist()  # dc_i/dx_i stays per sample
    report = check(data)
    assert report.ok, report.text()
    assert report.convention == "batch-mean" and "delta convention: batch-mean" in report.text()
    data["delta"] = "batch-mean"
    assert check(data).ok
    data["delta"] = "per-sample"  # stated wrongly: the deltas are 1/m too small
    report = check(data)
    assert report.first_wrong.kind == "delta" and report.first_wrong.l == net.L
    np.testing.assert_allclose(report.first_wrong.expected, nt.vectors("delta", values["delta"][2], 2, 2).T
                               if nt.columns else values["delta"][2], rtol=1e-12)


def test_per_sample_deltas_are_detected_as_such_and_the_convention_is_validated():
    net, X, Y = _small_valued()
    data = answers(net, get_notation("seeds"), X, Y, by_hand(net, X, Y))
    report = check(data)
    assert report.ok and report.convention == "per-sample"
    with pytest.raises(ValueError, match="delta must be one of per-sample, batch-mean, got 'mean'"):
        check(dict(data, delta="mean"))


# ----- per-sample gradients ------------------------------------------------------------------------
@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_per_sample_gradients_are_compared_with_each_samples_own(notation):
    net, X, Y = _small_valued()
    nt = get_notation(notation)
    data = answers(net, nt, X, Y, by_hand(net, X, Y))
    singles = [by_hand(net, X[i:i + 1], Y[i:i + 1]) for i in range(3)]  # one hand computation per sample
    data["answers"]["dW"] = {str(nt.layer(l)): [nt.weights(s["dW"][l], s["db"][l]).tolist() for s in singles]
                             for l in (1, 2)}
    if not nt.bias_unit:
        data["answers"]["db"] = {str(nt.layer(l)): [s["db"][l].tolist() for s in singles] for l in (1, 2)}
    report = check(data)
    assert report.ok, report.text()
    data["answers"]["dW"][str(nt.layer(1))][1] = (-np.asarray(data["answers"]["dW"][str(nt.layer(1))][1])).tolist()
    report = check(data)
    assert report.first_wrong.kind == "dW" and report.first_wrong.l == 1
    assert np.shape(report.first_wrong.expected)[0] == 3
    assert "First wrong" in report.text()  # the report prints one matrix per sample, no internal error


# ----- more named slips --------------------------------------------------------------------------
def _named(net, X, Y, values, notation="seeds"):
    report = check(answers(net, get_notation(notation), X, Y, values))
    assert not report.ok
    return report.first_wrong


@pytest.mark.parametrize("sizes", [[2, 2, 2], [2, 3, 2]])
@pytest.mark.parametrize("notation", ["seeds", "nielsen", "cs189"])
def test_a_instead_of_a_prev_in_dW_square_and_not(sizes, notation):
    net = Network(sizes, ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=4)
    X, Y = np.array([[0.3, 0.8]]), np.array([[1.0, 0.0]])
    values = by_hand(net, X, Y)
    values["dW"][2] = values["a"][2].T @ values["delta"][2]  # a^(2) where a^(1) belongs
    first = _named(net, X, Y, values, notation)
    assert first.kind == "dW" and first.l == 2 and first.slips == ("a-for-a-prev-in-dW",)


def test_a_shape_that_does_not_fit_gets_a_shape_hint():
    net = Network([2, 3, 2], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=4)
    X, Y = np.array([[0.3, 0.8]]), np.array([[1.0, 0.0]])
    values = by_hand(net, X, Y)
    values["dW"][2] = np.full((2, 2), 0.37)
    report = check(answers(net, get_notation("seeds"), X, Y, values))
    assert "shape: 2x2 given where ∂C/∂W^(2) is 3x2" in report.text()


def test_W_of_this_layer_in_the_delta_recursion():
    net = Network([2, 3, 2], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=6)
    X, Y = np.array([[0.3, 0.8]]), np.array([[1.0, 0.0]])
    W1 = net.weights[0]  # (2, 3): delta^(2) (1, 2) @ W^(1) (2, 3) fits where W^(2)T belongs
    first = _named(net, X, Y, by_hand(net, X, Y, back=lambda l, dn, Wn: dn @ W1))
    assert first.symbol == "δ^(1)" and first.slips == ("W-of-this-layer",)


def test_bias_forgotten_in_z():
    net = Network([2, 3, 2], ["tanh", "sigmoid"], "quadratic", dtype="float64", seed=6)
    net.biases = [[0.3, -0.2, 0.5], [0.1, -0.1]]  # the initial biases are 0
    X, Y = np.array([[0.3, 0.8]]), np.array([[1.0, 0.0]])
    student = Network(net.sizes, net.activations, net.cost_name, dtype="float64")
    student.weights, student.biases = net.weights, [np.zeros(3), net.biases[1]]
    report = check(answers(net, get_notation("seeds"), X, Y, by_hand(student, X, Y), cost=float(student.cost(X, Y))))
    assert report.first_wrong.symbol == "z^(1)" and report.first_wrong.slips == ("bias-forgotten",)
    assert all(s in ("ok", "follows", "wrong") for s in statuses(report).values()), statuses(report)


def test_tanh_derivative_as_one_minus_tanh():
    net = Network([2, 3, 2], ["tanh", "identity"], "quadratic", dtype="float64", seed=5)
    X, Y = np.array([[0.9, -0.4]]), np.array([[1.0, -1.0]])
    first = _named(net, X, Y, by_hand(net, X, Y, gprime=lambda l, z, a: 1 - np.tanh(z) if l == 1 else np.ones_like(z)))
    assert first.symbol == "δ^(1)" and first.slips == ("tanh-derivative-1-tanh",)


def _two_samples():
    net = Network([2, 2], ["sigmoid"], "quadratic", dtype="float64", seed=0)
    X, Y = np.array([[0.1, 0.7], [0.5, -0.3]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    return net, X, Y


def test_cost_summed_is_told_apart_from_missing_half_by_the_other_answers():
    net, X, Y = _two_samples()
    C = float(net.cost(X, Y))
    values = by_hand(net, X, Y)
    values["dW"][1] = values["dW"][1] * 2  # sums over the m = 2 samples elsewhere too
    report = check(answers(net, get_notation("seeds"), X, Y, values, cost=2 * C))
    slips = {f.symbol: f.slips for f in report.findings if f.status != "ok"}
    assert slips["C"] == ("cost-summed",) and slips["∂C/∂W^(1)"] == ("missing-1/m",)
    values = by_hand(net, X, Y, delta_L=lambda a, z: 2 * (a - Y) * a * (1 - a))  # the 1/2 dropped everywhere
    report = check(answers(net, get_notation("seeds"), X, Y, values, cost=2 * C))
    assert {f.symbol: f.slips for f in report.findings}["C"] == ("missing-1/2",)


def test_cost_summed_over_three_samples_is_named_alone():
    net, X, Y = _small_valued()
    report = check(answers(net, get_notation("seeds"), X, Y, by_hand(net, X, Y), cost=3 * float(net.cost(X, Y))))
    assert report.first_wrong.symbol == "C" and report.first_wrong.slips == ("cost-summed",)


def test_cli_reads_per_sample_gradients_without_an_internal_error(tmp_path):
    net, X, Y = _small_valued()
    nt = get_notation("cs189")
    data = answers(net, nt, X, Y, by_hand(net, X, Y))
    singles = [by_hand(net, X[i:i + 1], Y[i:i + 1]) for i in range(3)]
    data["answers"]["dW"] = {str(l): [nt.weights(s["dW"][l], s["db"][l]).tolist() for s in singles] for l in (1, 2)}
    data["answers"]["dW"]["1"][0][0][0] += 0.5
    path = tmp_path / "cs189.json"
    path.write_text(json.dumps(data))
    out = subprocess.run([sys.executable, "-m", "deltaprop", "check", str(path)], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert "First wrong: ∂J/∂W^(1)" in out.stdout and "Traceback" not in out.stderr

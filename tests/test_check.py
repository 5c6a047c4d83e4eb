"""deltaprop.teach.check and deltaprop.teach.slips: the first wrong number, its slip, and what follows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.teach.check import check
from deltaprop.cli import main
from deltaprop.teach.notation import NOTATIONS, get_notation
from deltaprop.teach.slips import SLIPS


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def network_json(net, nt):
    out = {"sizes": list(net.sizes), "activations": list(net.activations), "cost": net.cost_name,
           "weights": {str(nt.layer(l)): nt.weights(W, b).tolist()
                       for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1)}}
    if not nt.bias_unit:
        out["biases"] = {str(nt.layer(l)): b.tolist() for l, b in enumerate(net.biases, start=1)}
    return out


def by_hand(net, X, Y, *, gprime=None, delta_L=None, back=None):
    """A student's forward and backward pass written out in NumPy, with optional slips.

    gprime(l, z, a) replaces g_l'(z); delta_L(a, z) replaces delta^(L); back(l, delta_next, W_next)
    replaces delta^(l+1) W^(l+1)T. Every later quantity is computed from the student's own values.
    """
    L, m = net.L, X.shape[0]
    W = dict(enumerate(net.weights, start=1))
    b = dict(enumerate(net.biases, start=1))
    z, a, d = {}, {0: X}, {}
    for l in range(1, L + 1):
        z[l] = a[l - 1] @ W[l] + b[l]
        a[l] = net.g[l].value(z[l])
    deriv = {"sigmoid": lambda z: sigmoid(z) * (1 - sigmoid(z)), "tanh": lambda z: 1 - np.tanh(z) ** 2,
             "relu": lambda z: (z > 0).astype(float), "identity": np.ones_like}
    gp = gprime or (lambda l, z_, a_: deriv[net.g[l].name](z_))
    if delta_L is not None:
        d[L] = delta_L(a[L], z[L])
    elif net.activations[-1] == "softmax" or net.cost_name == "binary_cross_entropy":
        d[L] = a[L] - Y  # the fused pairs (only these two appear below)
    else:
        d[L] = (a[L] - Y) * gp(L, z[L], a[L])
    for l in range(L - 1, 0, -1):
        d[l] = (back or (lambda l, dn, Wn: dn @ Wn.T))(l, d[l + 1], W[l + 1]) * gp(l, z[l], a[l])
    dW = {l: a[l - 1].T @ d[l] / m for l in d}
    db = {l: d[l].mean(axis=0) for l in d}
    return {"z": z, "a": {l: a[l] for l in range(1, L + 1)}, "delta": d, "dW": dW, "db": db}


def answers(net, nt, X, Y, values, cost=None, dx=True):
    m = X.shape[0]

    def vec(v):
        return v[0].tolist() if m == 1 else v.tolist()

    ans = {kind: {str(nt.layer(l)): vec(v) for l, v in values[kind].items()} for kind in ("z", "a", "delta")}
    ans["dW"] = {str(nt.layer(l)): nt.weights(values["dW"][l], values["db"][l]).tolist() for l in values["dW"]}
    if not nt.bias_unit:
        ans["db"] = {str(nt.layer(l)): v.tolist() for l, v in values["db"].items()}
    ans["cost"] = float(net.cost(X, Y)) if cost is None else cost
    if dx:
        ans["dx"] = vec(values["delta"][1] @ net.weights[0].T)
    return {"notation": nt.name, "network": network_json(net, nt), "x": vec(X), "y": vec(Y), "answers": ans}


def statuses(report):
    return {f.symbol: f.status for f in report.findings}


@pytest.mark.parametrize("notation", list(NOTATIONS))
@pytest.mark.parametrize("acts, cost", [(["sigmoid", "sigmoid"], "quadratic"), (["relu", "softmax"], "cross_entropy"),
                                        (["tanh", "sigmoid"], "binary_cross_entropy")])
def test_correct_answers_pass_in_every_notation(notation, acts, cost):
    net = Network([3, 4, 2], acts, cost, dtype="float64", seed=2)
    X, Y = np.array([[0.5, -0.2, 0.8]]), np.array([[0.0, 1.0]])
    nt = get_notation(notation)
    report = check(answers(net, nt, X, Y, by_hand(net, X, Y)))
    assert report.ok and report.first_wrong is None
    assert len(report.findings) == 4 + 1 + 2 * (2 if nt.bias_unit else 3) + 1
    assert "All 12 quantities agree" in report.text() or "All 10 quantities agree" in report.text()


def _hidden_relu_net():
    net = Network([2, 3, 2], ["relu", "softmax"], "cross_entropy", dtype="float64")
    net.weights = [[[0.5, -0.4, 1.5], [0.2, 0.6, -0.5]], [[0.7, -0.2], [-0.4, 0.5], [0.2, 0.3]]]
    net.biases = [[0.1, -0.2, 0.0], [0.0, 0.1]]
    return net, np.array([[1.0, 2.0]]), np.array([[0.0, 1.0]])  # z^(1) = (1.0, 0.6, 0.5): ReLU' = 1, not z


@pytest.mark.parametrize("case", ["relu", "sigmoid-twice", "at-a", "missing", "fused", "transposed-W", "sign"])
def test_each_delta_slip_is_named_and_its_consequences_follow(case):
    if case == "relu":
        net, X, Y = _hidden_relu_net()
        net.weights = [np.array([[0.5, -0.4, 0.3], [0.2, 0.6, -0.5]]), net.weights[1]]  # z^(1) = (1.0, 0.6, -0.7)
        values = by_hand(net, X, Y, gprime=lambda l, z, a: np.maximum(0, z))
        slip, first = "relu-derivative-as-relu", "δ^(1)"
    elif case in ("sigmoid-twice", "at-a", "missing"):
        net = Network([2, 3, 2], ["tanh" if case != "sigmoid-twice" else "sigmoid", "identity"], "quadratic",
                      dtype="float64", seed=5)
        X, Y = np.array([[0.9, -0.4]]), np.array([[1.0, -1.0]])
        wrong = {"sigmoid-twice": lambda l, z, a: sigmoid(z) * (1 - sigmoid(z)) * (1 - sigmoid(z)),
                 "at-a": lambda l, z, a: 1 - np.tanh(a) ** 2,
                 "missing": lambda l, z, a: np.ones_like(z)}[case]
        values = by_hand(net, X, Y, gprime=lambda l, z, a: wrong(l, z, a) if l == 1 else np.ones_like(z))
        slip = {"sigmoid-twice": "sigmoid-derivative-twice", "at-a": "derivative-at-a",
                "missing": "missing-derivative"}[case]
        first = "δ^(1)"
    elif case == "fused":
        net, X, Y = _hidden_relu_net()
        values = by_hand(net, X, Y, delta_L=lambda a, z: a * (1 - a) * (a - Y))
        slip, first = "fused-delta-times-a(1-a)", "δ^(2)"
    elif case == "transposed-W":
        net = Network([2, 2, 2], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=1)
        X, Y = np.array([[0.3, 0.8]]), np.array([[1.0, 0.0]])
        values = by_hand(net, X, Y, back=lambda l, dn, Wn: dn @ Wn)
        slip, first = "transposed-W", "δ^(1)"
    else:
        net, X, Y = _hidden_relu_net()
        values = by_hand(net, X, Y, delta_L=lambda a, z: Y - a)
        slip, first = "sign", "δ^(2)"
    report = check(answers(net, get_notation("seeds"), X, Y, values))
    assert not report.ok
    assert report.first_wrong.symbol == first
    assert slip in report.first_wrong.slips
    later = [f for f in report.findings if report.findings.index(f) > report.findings.index(report.first_wrong)]
    assert later and all(f.status in ("ok", "follows") for f in later), statuses(report)
    assert any(f.status == "follows" for f in later)
    text = report.text()
    assert f"First wrong: {first}" in text and f"likely slip: {slip}:" in text


def test_transposed_dW_in_column_notations():
    net = Network([2, 3, 2], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=0)
    X, Y = np.array([[0.1, 0.7]]), np.array([[1.0, 0.0]])
    nt = get_notation("nielsen")
    data = answers(net, nt, X, Y, by_hand(net, X, Y))
    data["answers"]["dW"]["3"] = np.array(data["answers"]["dW"]["3"]).T.tolist()  # (3, 2): ours, not Nielsen's
    report = check(data)
    assert report.first_wrong.symbol == "∂C/∂w^3"
    assert report.first_wrong.slips == ("transposed-dW",)
    assert "rows: units of layer l; columns: units of layer l-1" in report.text()


def test_missing_one_over_m_and_missing_half():
    net = Network([2, 2], ["sigmoid"], "quadratic", dtype="float64", seed=0)
    X, Y = np.array([[0.1, 0.7], [0.5, -0.3]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    values = by_hand(net, X, Y)
    values["dW"][1] = values["dW"][1] * 2  # the sum over m = 2 samples
    c = 0.5 * np.sum((values["a"][1] - Y) ** 2, axis=1)  # c per sample
    report = check(answers(net, get_notation("seeds"), X, Y, values, cost=float(2 * c.mean())))
    wrong = {f.symbol: f.slips for f in report.findings if f.status != "ok"}
    assert wrong["C"] == ("cost-summed",)  # 2 c-bar: with m = 2 also 1/2 left out; the summed dW settles it
    assert wrong["∂C/∂W^(1)"] == ("missing-1/m",)
    assert report.first_wrong.symbol == "C"


def test_independent_error_after_the_first_is_reported_on_its_own():
    net, X, Y = _hidden_relu_net()
    values = by_hand(net, X, Y, delta_L=lambda a, z: Y - a)
    values["db"][1] = values["db"][1] + 0.3  # unrelated to the sign slip
    report = check(answers(net, get_notation("seeds"), X, Y, values))
    assert statuses(report)["∂C/∂b^(1)"] == "also wrong"
    assert statuses(report)["∂C/∂W^(1)"] == "follows"
    assert "Also wrong on its own: ∂C/∂b^(1)" in report.text()
    assert "none of the known slips reproduces this number" in report.text()


def test_tolerances():
    net = Network([2, 2], ["sigmoid"], "quadratic", dtype="float64", seed=0)
    X, Y = np.array([[0.1, 0.7]]), np.array([[1.0, 0.0]])
    data = answers(net, get_notation("seeds"), X, Y, by_hand(net, X, Y))
    data["answers"]["cost"] *= 1.005  # a hand-rounded cost, 0.5 % off
    assert check(data).ok
    assert not check(data, rtol=1e-3).ok
    with pytest.raises(ValueError, match="rtol must be a number >= 0, got -1"):
        check(data, rtol=-1)


def test_catalogue_names_are_unique_and_described():
    names = [s.name for s in SLIPS]
    assert len(set(names)) == len(names) >= 10
    assert all(s.description for s in SLIPS)


# ----- files and the command line ------------------------------------------------------------------
def _write(tmp_path, data, name="a.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_cli_exit_codes(tmp_path, capsys):
    net, X, Y = _hidden_relu_net()
    good = answers(net, get_notation("cs189"), X, Y, by_hand(net, X, Y))
    assert main(["check", _write(tmp_path, good)]) == 0
    assert "All 10 quantities agree" in capsys.readouterr().out
    bad = answers(net, get_notation("cs189"), X, Y, by_hand(net, X, Y, delta_L=lambda a, z: Y - a))
    assert main(["check", _write(tmp_path, bad), "--notation", "cs189"]) == 1
    assert "likely slip: sign" in capsys.readouterr().out


def _valid():
    net = Network([2, 3, 1], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=0)
    X, Y = np.array([[0.1, 0.7]]), np.array([[1.0]])
    return answers(net, get_notation("nielsen"), X, Y, by_hand(net, X, Y))


def _edit(path_keys, value):
    data = _valid()
    node = data
    for k in path_keys[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path_keys[-1]]
    else:
        node[path_keys[-1]] = value
    return data


@pytest.mark.parametrize("data, message", [
    ("{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    ("[1, 2]", "expected a JSON object with network, x, y and answers, got list"),
    (_edit(["network"], KeyError), "has no 'network'"),
    (_edit(["network", "weights", "2"], [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]),
     ("weights[2] must have shape (3, 2) in nielsen notation (rows: units of layer l; columns: units of layer l-1), "
      "got (2, 3)")),
    (_edit(["network", "weights"], {"1": [[0.0]], "2": [[0.0]]}), "layer keys in nielsen notation start at 2"),
    (_edit(["network", "weights"], {"7": [[0.0]]}), "layer keys in nielsen notation are 1..3, got '7'"),
    (_edit(["network", "activations"], ["sigmoid", "bogus"]), "unknown activation 'bogus'"),
    (_edit(["answers", "gradient"], [1.0]), "unknown answer 'gradient'; known in nielsen notation: z, a, cost"),
    (_edit(["answers", "cost"], "0.5"), "answers.cost must be a number, got '0.5'"),
    (_edit(["answers", "z", "2"], "abc"), "must be a list of numbers"),
    (_edit(["notation"], "higham-x"), "unknown notation 'higham-x'"),
    (_edit(["answers"], {}), "answers must be a non-empty object"),
    (_edit(["y"], [1.0, 0.0, 1.0]), "Y must have shape (m, n_L) = (1, 1)"),
])
def test_malformed_files_exit_2_with_one_line(data, message, tmp_path, capsys):
    path = _write(tmp_path, data)
    before = Path(path).read_text()
    assert main(["check", path]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert Path(path).read_text() == before


def test_notation_flag_must_agree_with_the_file(tmp_path, capsys):
    assert main(["check", _write(tmp_path, _valid()), "--notation", "higham"]) == 2
    assert "written in 'nielsen' notation, but --notation says 'higham'" in capsys.readouterr().err


def test_cs189_bias_unit_and_db(tmp_path, capsys):
    net, X, Y = _hidden_relu_net()
    nt = get_notation("cs189")
    data = answers(net, nt, X, Y, by_hand(net, X, Y))
    data["answers"]["x"] = {"1": [1.0] + data["answers"].pop("a")["1"]}  # x^(1) with its bias unit x_0 = 1
    data["answers"]["s"] = data["answers"].pop("z")
    assert check(data).ok
    data["answers"]["db"] = {"1": [0.0, 0.0, 0.0]}
    with pytest.raises(ValueError, match="in cs189 notation the bias gradient is row 0 of dW"):
        check(data)

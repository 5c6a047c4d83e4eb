"""deltaprop.teach: explain, render, notation and the `deltaprop explain` command."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import oracle
import pytest

from deltaprop import Network
from deltaprop.activations import Sigmoid
from deltaprop.cli import main
from deltaprop.teach.explain import explain
from deltaprop.teach.notation import NOTATIONS, get_notation
from deltaprop.teach.render import render

NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]\d+)?")


def higham_net() -> Network:
    return Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=0, init=0.5)


def by_key(e, kind, l):
    return next(s for s in e.steps() if s.kind == kind and s.l == l)


def test_hand_worked_one_layer():
    # h(x) = 2 x - 1 at x = 6, y = 10: z = a = 11, C = 1/2 (11 - 10)^2 = 0.5, delta = a - y = 1,
    # dC/dW = x delta = 6, dC/db = 1, dc/dx = delta W = 2
    net = Network([1, 1], ["identity"], "quadratic", dtype="float64")
    net.weights, net.biases = [[[2.0]]], [[-1.0]]
    e = explain(net, [[6.0]], [[10.0]])
    for kind, l, want in [("z", 1, 11.0), ("a", 1, 11.0), ("delta", 1, 1.0), ("dW", 1, 6.0), ("db", 1, 1.0),
                          ("dx", 1, 2.0)]:
        value = np.asarray(by_key(e, kind, l).value)
        assert value.shape == (1, 1), kind
        np.testing.assert_allclose(value, [[want]], rtol=0, atol=1e-15, err_msg=kind)
    assert by_key(e, "cost", 1).value == 0.5
    text = render(e, "text")
    assert "z^(1) = a^(0) W^(1) + b^(1) = [ 11.0000 ]" in text
    assert "C = ½ ‖a^(1) - y‖² = 0.5000" in text


@pytest.mark.parametrize("acts, cost", [
    (["sigmoid", "sigmoid", "sigmoid"], "quadratic"),
    (["relu", "tanh", "softmax"], "cross_entropy"),
    (["tanh", "softplus", "sigmoid"], "binary_cross_entropy"),
    (["leaky_relu", "identity", "softmax"], "quadratic"),
    (["tanh", "sigmoid", "sigmoid"], "cross_entropy"),
])
@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_values_match_autograd_and_finite_differences(acts, cost, notation):
    net = Network([3, 4, 3, 2], acts, cost, dtype="float64", seed=3)
    X = np.array([[0.2, -0.5, 0.9], [1.1, 0.3, -0.7]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    e = explain(net, X, Y, notation=notation)
    nt = get_notation(notation)
    assert e.worst_error < 1e-6
    dW, db = oracle.gradients(net, X, Y)
    for l in range(1, 4):
        want = nt.weights(np.asarray(dW[l - 1]), np.asarray(db[l - 1]))
        got = by_key(e, "dW", l).value
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13, err_msg=f"dW[{l}] in {notation}")
    t = net.trace(X, Y)
    for l in range(1, 4):
        for kind, ours in (("z", t.z[l]), ("delta", t.delta[l])):
            got = by_key(e, kind, l).value
            want = ours.T if nt.columns else ours
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"{kind}[{l}]")
    J = net.input_jacobian(X)  # dc/dx = (dc/da^(L)) da^(L)/dx, per sample
    grad = np.einsum("mk,mkn->mn", net.c.grad_a(t.a[3], Y), J)
    got = by_key(e, "dx", 1).value
    np.testing.assert_allclose(got, grad.T if nt.columns else grad, rtol=1e-10, atol=1e-13)


def _block(text: str, symbol: str) -> np.ndarray:
    """The matrix printed after 'symbol =' in the text output, parsed back into numbers."""
    lines = text.splitlines()
    start = next(i for i, s in enumerate(lines) if s.strip().startswith(f"{symbol} ="))
    if "[" not in lines[start]:  # a long formula: the value follows on the next line, "= [ ... ]"
        start += 1
    top = start  # the value's first row stands on the line with the name (or "=")
    bottom = start + 1
    while bottom < len(lines) and lines[bottom].strip().startswith("["):
        bottom += 1
    rows = [[float(v) for v in NUMBER.findall(line.split("[", 1)[1])] for line in lines[top:bottom]]
    return np.array(rows)


def test_two_notations_show_the_same_numbers_transposed():
    net = higham_net()
    x, y = [[0.1, 0.1]], [[1.0, 0.0]]
    seeds = render(explain(net, x, y, notation="seeds"), precision=8)
    nielsen = render(explain(net, x, y, notation="nielsen"), precision=8)
    higham = render(explain(net, x, y, notation="higham"), precision=8)
    cs189 = render(explain(net, x, y, notation="cs189"), precision=8)
    for l in (1, 2, 3):
        ours = _block(seeds, f"W^({l})")
        assert ours.shape == net.weights[l - 1].shape
        np.testing.assert_allclose(ours, net.weights[l - 1], rtol=0, atol=1e-8)
        theirs = _block(nielsen, f"w^{l + 1}")  # Nielsen numbers the input as layer 1
        assert theirs.shape == ours.T.shape
        np.testing.assert_allclose(theirs, ours.T, rtol=0, atol=0)
        np.testing.assert_allclose(_block(higham, f"W^[{l + 1}]"), ours.T, rtol=0, atol=0)
        folded = _block(cs189, f"W^({l})")  # the bias is row 0
        assert folded.shape == (ours.shape[0] + 1, ours.shape[1])
        np.testing.assert_allclose(folded[1:], ours, rtol=0, atol=0)
        np.testing.assert_allclose(folded[0], net.biases[l - 1], rtol=0, atol=1e-8)
        dW_seeds, dW_higham = _block(seeds, f"∂C/∂W^({l})"), _block(higham, f"∂C/∂W^[{l + 1}]")
        assert dW_higham.shape == dW_seeds.T.shape
        np.testing.assert_allclose(dW_higham, dW_seeds.T, rtol=0, atol=0)


def test_broken_derivative_is_caught_by_finite_differences(monkeypatch):
    monkeypatch.setattr(Sigmoid, "derivative_from", lambda self, z, a: a * (1 - a) * (1 - a))  # seed 003's slip
    e = explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]])
    assert e.worst_error > 1e-2
    text = render(e)
    assert "✗ finite differences" in text and "SOME GRADIENTS DISAGREE" in text


def test_formulas_per_notation():
    e = explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]], notation="higham")
    assert by_key(e, "z", 1).formula["text"] == "z^[2] = W^[2] a^[1] + b^[2]"
    assert by_key(e, "delta", 2).formula["text"] == "δ^[3] = D^[3] (W^[4])ᵀ δ^[4]"
    assert by_key(e, "dW", 1).formula["text"] == "∂C/∂W^[2] = δ^[2] (a^[1])ᵀ"
    e = explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]], notation="cs189")
    assert by_key(e, "z", 2).formula["text"] == "s^(2) = (W^(2))ᵀ x^(1)"
    assert by_key(e, "a", 1).value.shape == (3, 1)  # x^(1) with x_0 = 1 on top
    assert by_key(e, "a", 1).value[0, 0] == 1.0
    net = Network([2, 2], ["softmax"], "cross_entropy", dtype="float64", seed=0)
    assert by_key(explain(net, [[1.0, 2.0]], [1]), "delta", 1).formula["text"] == "δ^(1) = ∂c/∂a^(1) J = a^(1) - y"


def test_several_samples_and_mean_formulas():
    net = higham_net()
    e = explain(net, [[0.1, 0.1], [0.3, 0.4], [0.9, 0.2]], [[1, 0], [0, 1], [0, 1]], notation="nielsen")
    assert e.m == 3
    step = by_key(e, "dW", 1)
    assert step.formula["text"] == "∂C/∂w^2 = (1/m) δ^2 (a^1)ᵀ"
    assert by_key(e, "z", 1).value.shape == (2, 3)  # columns are samples


def _tex_balanced(doc: str) -> None:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", doc):
        depth += (ch == "{") - (ch == "}")
        assert depth >= 0
    assert depth == 0
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+\*?)\}", doc):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack.pop() == name
    assert not stack
    assert doc.count(r"\[") == doc.count(r"\]")


@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_latex_is_a_well_formed_document(notation, tmp_path):
    doc = render(explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]], notation=notation), "latex")
    assert doc.startswith(r"\documentclass{article}") and doc.rstrip().endswith(r"\end{document}")
    _tex_balanced(doc)
    if shutil.which("pdflatex") is None:
        return  # the structural check above is the evidence on machines without TeX
    (tmp_path / "e.tex").write_text(doc)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "e.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "e.pdf").stat().st_size > 1000


def test_markdown_structure():
    from markdown_it import MarkdownIt

    md = render(explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]], notation="higham"), "markdown")
    tokens = MarkdownIt().parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Backpropagation, step by step", "Network", "Forward pass", "Cost", "Backward pass",
                        "Input gradient"]
    assert md.count("$$") % 2 == 0 and md.count("$$") >= 2 * 20
    for line in md.splitlines():
        if line != "$$":
            assert line.replace(r"\$", "").count("$") % 2 == 0, line
    assert r"W^{[2]} = \begin{bmatrix}" in md and "✓ central finite differences" in md


def test_wide_matrices_are_abbreviated_unless_full():
    net = Network([40, 3, 2], ["tanh", "sigmoid"], "quadratic", dtype="float64", seed=0)
    X = np.linspace(-1, 1, 40)[None, :]
    e = explain(net, X, [[1.0, 0.0]])
    short, full = render(e, width=60), render(e, full=True, width=60)
    assert "…" in short and "…" not in full
    assert max(len(s) for s in short.splitlines() if s.strip().startswith(("a^(0)", "["))) <= 80
    assert r"\cdots" in render(e, "latex") and r"\cdots" not in render(e, "latex", full=True)
    assert len(NUMBER.findall(full)) > len(NUMBER.findall(short))


def test_precision():
    net = higham_net()
    text = render(explain(net, [[0.1, 0.1]], [[1.0, 0.0]]), precision=2)
    W1 = _block(text, "W^(1)")
    assert W1.shape == (2, 2)
    np.testing.assert_allclose(W1, np.round(net.weights[0], 2), rtol=0, atol=1e-12)
    block = text.split("W^(1) = ")[1].split("b^(1)")[0]
    assert all(len(v.split(".")[1]) == 2 for v in NUMBER.findall(block))


def test_bad_input_raises_and_changes_nothing():
    net = higham_net()
    before = [W.copy() for W in net.weights]
    with pytest.raises(ValueError, match="X has 3 columns; this network expects n_0 = 2"):
        explain(net, [[0.1, 0.1, 0.1]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="unknown notation 'dirac'; known: seeds, cs189, nielsen, higham"):
        explain(net, [[0.1, 0.1]], [[1.0, 0.0]], notation="dirac")
    e = explain(net, [[0.1, 0.1]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="format must be one of text, markdown, latex, got 'html'"):
        render(e, "html")
    with pytest.raises(ValueError, match="precision must be an integer"):
        render(e, precision=0)
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)


# ----- the command --------------------------------------------------------------------------------
def test_cli_explain_sizes(capsys):
    code = main(["explain", "--sizes", "2,2,3,2", "--activations", "sigmoid,sigmoid,sigmoid", "--cost", "quadratic",
                 "--seed", "0", "--init", "0.5", "--x", "0.1,0.1", "--y", "1,0", "--notation", "higham"])
    out = capsys.readouterr().out
    assert code == 0
    assert "z^[2] = W^[2] a^[1] + b^[2]" in out and "all gradients agree" in out
    # the same network as Network(..., seed=0, init=0.5): the cost agrees
    assert f"= {higham_net().cost([[0.1, 0.1]], [[1.0, 0.0]]):.4f}" in out


def test_cli_several_samples_and_labels(capsys):
    args = ["explain", "--sizes", "2,3,2", "--activations", "tanh,softmax", "--cost", "cross_entropy"]
    assert main(args + ["--x", "0.1,0.2;0.3,0.4", "--x", "0.5,0.6", "--y", "0", "--y", "1;1"]) == 0
    out = capsys.readouterr().out
    assert "3 samples" in out and "(1/m) (a^(0))ᵀ δ^(1)" in out


def test_cli_weights_and_model_files(capsys, tmp_path):
    from pathlib import Path

    weights = Path(__file__).resolve().parents[1] / "examples" / "higham_weights.json"
    assert main(["explain", "--weights", str(weights), "--notation", "seeds", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert r"W^{(1)} = \begin{bmatrix} 0.3000 & 0.8000 \\ -0.5000 & 0.2000 \end{bmatrix}" in out
    net = higham_net()
    net.save(tmp_path / "m.safetensors")
    assert main(["explain", "--model", str(tmp_path / "m.safetensors"), "--x", "0.1,0.1", "--y", "1,0"]) == 0
    assert f"= {net.cost([[0.1, 0.1]], [[1.0, 0.0]]):.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["explain", "--x", "0.1,0.1", "--y", "1,0"], "give exactly one of --sizes"),
    (["explain", "--sizes", "2,2", "--x", "0.1,0.1,0.3", "--y", "1,0"], "X has 3 columns"),
    (["explain", "--sizes", "2,2", "--x", "0.1,0.1"], "give the sample with --x"),
    (["explain", "--sizes", "2,2", "--x", "0.1,abc", "--y", "1,0"], "expected comma-separated numbers"),
    (["explain", "--sizes", "2,2", "--x", "0.1,0.1", "--y", "1,0", "--notation", "dirac"], "invalid choice"),
    (["explain", "--weights", "/nonexistent.json", "--x", "0.1,0.1", "--y", "1,0"], "nonexistent.json"),
])
def test_cli_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_fortran_ordered_parameters_are_checked_correctly():
    # weights set from a transposed view are stored in Fortran order; the finite differences
    # must still perturb the network's own numbers
    net = higham_net()
    net.weights = [np.asfortranarray(W) for W in net.weights]
    assert explain(net, [[0.1, 0.1]], [[1.0, 0.0]]).worst_error < 1e-6


# ----- the whole derivation (issue 17, section 4) ------------------------------------------------------------
def _softmax_net(cost):
    net = Network([2, 3], ["softmax"], cost, dtype="float64")
    net.weights, net.biases = [[[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]]], [[0.1, 0.0, -0.1]]
    return net


def test_softmax_cross_entropy_shows_dc_da_the_jacobian_and_how_they_cancel():
    net = _softmax_net("cross_entropy")
    x, y = np.array([[1.0, 2.0]]), np.array([[0.0, 1.0, 0.0]])
    z = x @ net.weights[0] + net.biases[0]
    a = np.exp(z) / np.exp(z).sum()  # softmax by hand
    e = explain(net, x, y)
    np.testing.assert_allclose(by_key(e, "dc/da", 1).value, -y / a, rtol=1e-12)  # d(-sum y ln a)/da
    J = np.diag(a[0]) - np.outer(a[0], a[0])
    np.testing.assert_allclose(by_key(e, "J", 1).value, J, rtol=1e-12)
    delta = by_key(e, "delta", 1)
    np.testing.assert_allclose((-y / a) @ J, a - y, rtol=1e-12)  # the cancellation, by hand
    np.testing.assert_allclose(delta.value, a - y, rtol=1e-12)
    assert delta.op == "@" and len(delta.terms) == 2
    text = render(e)
    assert "∂c/∂a^(1) = -y / a^(1)" in text and "J = ∂a^(1)/∂z^(1) = diag(a^(1)) - a^(1) a^(1)ᵀ" in text
    assert "δ^(1) = ∂c/∂a^(1) J = a^(1) - y" in text


def test_softmax_with_the_quadratic_cost_prints_the_jacobian_values():
    net = _softmax_net("quadratic")
    x, y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    e = explain(net, x, y, notation="nielsen")
    t = net.trace(x, y)
    for i in range(2):
        a = t.a[1][i]
        np.testing.assert_allclose(by_key_all(e, "J")[i].value, np.diag(a) - np.outer(a, a), rtol=1e-12)
    assert "J_2 = ∂a^2/∂z^2" in render(e)


def by_key_all(e, kind):
    return [s for s in e.steps() if s.kind == kind]


def test_higham_shows_D_as_a_diagonal_matrix_and_the_product_as_written():
    net = higham_net()
    x, y = [[0.1, 0.1]], [[1.0, 0.0]]
    e = explain(net, x, y, notation="higham")
    t = net.trace(np.array(x), np.array(y))
    s = 1 / (1 + np.exp(-t.z[2][0]))
    D = by_key(e, "D", 2)
    np.testing.assert_allclose(D.value, np.diag(s * (1 - s)), rtol=1e-12)  # D^[3] = diag(sigma'(z^[3]))
    delta = by_key(e, "delta", 2)
    assert delta.op == "@" and len(delta.terms) == 3
    product = delta.terms[0] @ delta.terms[1] @ delta.terms[2]
    np.testing.assert_allclose(product, delta.value, rtol=1e-12)
    np.testing.assert_allclose(delta.value, t.delta[2].T, rtol=1e-12)
    text = render(e)
    assert "D^[3] = diag(sigmoid'(z^[3]))" in text and "δ^[3] = D^[3] (W^[4])ᵀ δ^[4]" in text
    assert "⊙" not in text.split("Backward pass")[1].split("Input gradient")[0]


def test_gradient_descent_step_with_lr():
    net = higham_net()
    x, y = np.array([[0.1, 0.1], [0.4, 0.2]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    dW, db = oracle.gradients(net, x, y)  # autograd
    e = explain(net, x, y, lr=0.5)
    for l in (1, 2, 3):
        np.testing.assert_allclose(by_key(e, "W_new", l).value, net.weights[l - 1] - 0.5 * np.asarray(dW[l - 1]),
                                   rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(by_key(e, "b_new", l).value[0], net.biases[l - 1] - 0.5 * np.asarray(db[l - 1]),
                                   rtol=1e-10, atol=1e-13)
    assert "W^(1) ← W^(1) - η ∂C/∂W^(1)  (η = 0.5)" in render(e)
    with pytest.raises(ValueError, match="lr must be a positive number, got -1"):
        explain(net, x, y, lr=-1)


def test_per_sample_gradients_before_the_mean():
    net = higham_net()
    x, y = np.array([[0.1, 0.1], [0.4, 0.2], [0.9, -0.3]]), np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    e = explain(net, x, y, notation="nielsen", per_sample=True)
    for l in (1, 2, 3):
        each = by_key_all(e, "dW_i")[3 * (3 - l):3 * (3 - l) + 3]
        assert all(s.l == l for s in each)
        for i, s in enumerate(each):  # each sample alone, explained on its own
            alone = by_key(explain(net, x[i:i + 1], y[i:i + 1], notation="nielsen"), "dW", l).value
            np.testing.assert_allclose(s.value, alone, rtol=1e-12, err_msg=f"dc_{i + 1}/dw^{l + 1}")
        np.testing.assert_allclose(np.mean([s.value for s in each], axis=0), by_key(e, "dW", l).value, rtol=1e-12)
    assert "∂c_2/∂w^3 = δ^3 (a^2)ᵀ  (sample 2)" in render(e)
    assert not by_key_all(explain(net, x, y), "dW_i")  # only on request


@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_latex_header_is_mathematics_not_escaped_text(notation):
    doc = render(explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]], notation=notation), "latex")
    header = doc.split(r"\section*{Backpropagation, step by step}")[1].split(r"\subsection*")[0]
    assert r"\^{}" not in header and header.count("$") % 2 == 0 and ("$z" in header or "$s" in header)
    assert r"\delta_i = \partial c_i / \partial z_i" in header


def test_explain_states_its_delta_convention():
    assert "δ per sample: δ_i = ∂c_i/∂z_i" in render(explain(higham_net(), [[0.1, 0.1]], [[1.0, 0.0]]))


def test_cli_lr_and_per_sample(capsys):
    assert main(["explain", "--sizes", "2,2", "--x", "0.1,0.2;0.3,0.4", "--y", "1,0;0,1", "--lr", "0.1",
                 "--per-sample"]) == 0
    out = capsys.readouterr().out
    assert "Gradient-descent step" in out and "∂c_2/∂W^(1)" in out

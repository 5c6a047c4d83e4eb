r"""
1. The delta recursion, derived and checked
===========================================

Seeds 000 and 001 derive backpropagation for a feedforward network. This tutorial writes the
derivation down for a 2-3-2 network, computes every delta by hand with NumPy, compares it with
:meth:`deltaprop.Network.trace`, and then lets :func:`deltaprop.teach.explain` and
:func:`deltaprop.teach.check` do the same work, the second one on a hand computation with a slip.

The model, row-major with one sample per row (see :doc:`/guide/model`)::

    z^(l) = a^(l-1) W^(l) + b^(l)
    a^(l) = g_l(z^(l))
    C = (1/m) sum_x c(x)

The chain rule through a^(l), and then through every z^(l+1) it feeds, gives the recursion
(``*`` is the elementwise product)::

    delta^(L) = dc/da^(L) * g_L'(z^(L))
    delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l))      l = L-1, ..., 1
    dC/dW^(l) = a^(l-1)T delta^(l) / m
    dC/db^(l) = the mean of the rows of delta^(l)
"""

# %%
# A small network
# ---------------
# In float64, so that central differences agree with backpropagation to about 1e-10.
import json

import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp
from deltaprop.teach import check, explain, render

net = dp.Network([2, 3, 2], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=0)
X = np.array([[1.0, 0.5]])  # (m, n_0) = (1, 2)
Y = np.array([[1.0, 0.0]])  # (m, n_L) = (1, 2)
print(net)

# %%
# The recursion by hand
# ---------------------
# For the quadratic cost c = 1/2 ||a - y||^2, dc/da^(L) = a^(L) - y, and the sigmoid's
# derivative is g'(z) = sigma(z) (1 - sigma(z)). Layers are keyed by l, as in the notes.
W = dict(enumerate(net.weights, start=1))  # W[l] is W^(l), (n_{l-1}, n_l)
b = dict(enumerate(net.biases, start=1))
L = net.L


def sigma(z):
    return 1 / (1 + np.exp(-z))


z, a = {}, {0: X}
for l in range(1, L + 1):
    z[l] = a[l - 1] @ W[l] + b[l]  # (m, n_l)
    a[l] = sigma(z[l])

delta = {L: (a[L] - Y) * sigma(z[L]) * (1 - sigma(z[L]))}
for l in range(L - 1, 0, -1):
    delta[l] = (delta[l + 1] @ W[l + 1].T) * sigma(z[l]) * (1 - sigma(z[l]))
dW = {l: a[l - 1].T @ delta[l] / len(X) for l in delta}

t = net.trace(X, Y)  # deltaprop's backward pass, keyed by l the same way
for l in range(L, 0, -1):
    print(f"l = {l}: delta by hand {delta[l].round(6)}, deltaprop {t.delta[l].round(6)}, "
          f"max |difference| in dW {np.abs(dW[l] - t.dW[l]).max():.1e}")

# %%
# Against finite differences, with and without g'
# -----------------------------------------------
# Seed 001's last line leaves out the factor g_l'(z^(l)). :func:`deltaprop.numerical_gradients`
# gives dC/dW^(l) by central differences; the recursion with g' agrees with it to rounding, the one
# without g' does not.
dW_fd, _ = dp.numerical_gradients(net, X, Y)
no_g = {L: delta[L]}
for l in range(L - 1, 0, -1):
    no_g[l] = no_g[l + 1] @ W[l + 1].T  # the slip: g_l'(z^(l)) left out
errors = {}
for name, d in (("with g'", delta), ("without g' (seed 001)", no_g)):
    errors[name] = [np.abs(a[l - 1].T @ d[l] - dW_fd[l - 1]).max() / np.abs(dW_fd[l - 1]).max() for l in (1, 2)]
    print(f"{name:>22}: relative error of dC/dW^(1), dC/dW^(2) = {errors[name][0]:.1e}, {errors[name][1]:.1e}")

fig, ax = plt.subplots(figsize=(6, 3.2))
for k, (name, e) in enumerate(errors.items()):
    ax.bar(np.arange(2) + 0.38 * k, np.maximum(e, 1e-17), width=0.38, label=name)
ax.set_yscale("log")
ax.set_xticks(np.arange(2) + 0.19, ["dC/dW^(1)", "dC/dW^(2)"])
ax.set_ylabel("relative error against\ncentral differences")
ax.axhline(1e-6, color="grey", lw=0.8, ls="--")
ax.legend()
ax.set_title("The recursion needs the factor g'(z)")
fig.tight_layout()

# %%
# The same work by ``explain``
# ----------------------------
# :func:`deltaprop.teach.explain` computes every z, a, delta and gradient and checks each gradient
# against central differences; ``deltaprop explain`` on the command line prints the same (see
# :doc:`/guide/explain_check`).
e = explain(net, X, Y, notation="seeds")
print(render(e, "text", precision=4))
print("worst relative error:", f"{e.worst_error:.1e}")

# %%
# A hand computation with a slip, checked
# ---------------------------------------
# A student's answers in JSON, written in the seeds' notation: right up to delta^(2), then the
# hidden delta without g' (the numbers of seed 001's slip). :func:`deltaprop.teach.check` finds the
# first wrong number, names the slip, and sorts the later numbers.
answers = {
    "notation": "seeds",
    "network": {"sizes": [2, 3, 2], "activations": ["sigmoid", "sigmoid"], "cost": "quadratic",
                "weights": {str(l): W[l].tolist() for l in W}, "biases": {str(l): b[l].tolist() for l in b}},
    "x": X[0].tolist(), "y": Y[0].tolist(),
    "answers": {"a": {"2": a[2][0].round(4).tolist()},
                "delta": {"2": delta[2][0].round(4).tolist(), "1": no_g[1][0].round(4).tolist()}},
}
report = check(json.loads(json.dumps(answers)))
print(report.text())
assert not report.ok and (report.first_wrong.kind, report.first_wrong.l) == ("delta", 1)

# %%
# The repository ships such files, right and with the slip, for every seed in ``examples/answers/``:
# ``deltaprop check examples/answers/seed_000_001_slip.json`` prints the same kind of report. The
# example :doc:`/auto_examples/seed_000_001_delta_recursion` evaluates the recursion sum by sum.

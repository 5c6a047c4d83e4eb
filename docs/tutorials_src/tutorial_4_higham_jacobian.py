r"""
4. Higham & Higham's example and the input Jacobian
===================================================

Seed 004 follows Higham & Higham (2019), "Deep learning: an introduction for applied
mathematicians": ten points in the unit square, two classes, a 2-2-3-2 network with the sigmoid in
every layer and the quadratic cost, trained by 10^6 single-sample SGD steps with eta = 0.05. The
seed then asks for the derivative of the output with respect to the input::

    da^[L]/dx = D^[L] W^[L] D^[L-1] W^[L-1] ... D^[2] W^[2]
    D^[l] = diag(sigma'(z^[l]))

in the paper's notation, where the input is layer 1 and W^[l] is (n_l, n_{l-1}): deltaprop's
W^(l) is their W^[l+1] transposed. :meth:`deltaprop.Network.input_jacobian` computes it by
backpropagation, one row of the Jacobian per output.
"""

# %%
# Training as the paper does
# --------------------------
# :func:`deltaprop.datasets.higham_points` gives the ten points; ``init=0.5`` draws every weight and
# bias as 0.5 N(0, 1); :func:`deltaprop.sgd_steps` takes the steps, each on one point drawn with
# replacement (compiled when numba is installed, a NumPy loop otherwise).
import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp
from deltaprop.datasets import higham_points
from deltaprop import sgd_steps

X, Y = higham_points()  # (10, 2), (10, 2) one-hot
net = dp.Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=0, init=0.5)
rng = np.random.default_rng(0)


def paper_cost(net):
    """The paper's measure: sum over the points of ||y - a^[4]||^2 (20 times deltaprop's C here)."""
    return float(((net.forward(X) - Y) ** 2).sum())


steps, costs = [0], [paper_cost(net)]
for k in range(100):  # 100 chunks of 10,000 steps
    sgd_steps(net, X, Y, 10_000, 0.05, rng)
    steps.append(10_000 * (k + 1))
    costs.append(paper_cost(net))
correct = int((net.forward(X).argmax(axis=1) == Y.argmax(axis=1)).sum())
print(f"cost at the start {costs[0]:.2f} (paper: 5.3), after 10^6 steps {costs[-1]:.2e} (paper: 7.3e-4); "
      f"{correct}/10 classified correctly")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
ax1.semilogy(steps, costs)
ax1.set_xlabel("SGD step")
ax1.set_ylabel("sum of ||y - a||^2 over the points")
u = np.linspace(0, 1, 201)
G1, G2 = np.meshgrid(u, u)
grid = np.column_stack([G1.ravel(), G2.ravel()])  # (201^2, 2)
ax2.contourf(G1, G2, net.forward(grid).argmax(axis=1).reshape(G1.shape), levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dafc"])
labels = Y.argmax(axis=1)
ax2.scatter(*X[labels == 0].T, marker="o", c="#c0392b", label="class A")
ax2.scatter(*X[labels == 1].T, marker="x", c="#1f4e9c", label="class B")
ax2.set_aspect("equal")
ax2.legend(loc="upper right", fontsize=8)
ax2.set_title("decision regions", fontsize=10)
fig.tight_layout()

# %%
# The input Jacobian three ways
# -----------------------------
# At one point x, the product of D and W matrices in the paper's order, deltaprop's
# backpropagated Jacobian (shape (m, n_L, n_0)), and central differences of ``net.forward``.
x = np.array([[0.3, 0.7]])  # (1, 2)
t = net.trace(x, np.zeros((1, 2)))
J_product = np.eye(2)
for l in range(1, net.L + 1):
    W_paper = net.weights[l - 1].T  # their W^[l+1], (n_l, n_{l-1})
    D = np.diag(net.g[l].derivative(t.z[l])[0])  # D^[l+1], (n_l, n_l)
    J_product = D @ W_paper @ J_product
J = net.input_jacobian(x)[0]  # (n_L, n_0)
eps = 1e-6
J_fd = np.column_stack([(net.forward(x + eps * e) - net.forward(x - eps * e))[0] / (2 * eps) for e in np.eye(2)])
print("input_jacobian:\n", J.round(6))
print(f"max |product - input_jacobian| = {np.abs(J_product - J).max():.1e}, "
      f"max |central differences - input_jacobian| = {np.abs(J_fd - J).max():.1e}")

# %%
# Where the output is sensitive to the input
# ------------------------------------------
# The row for class B's output unit, d a_2 / dx, is a gradient field over the square: it is large
# across the decision boundary and nearly zero far from it, where the sigmoids saturate.
coarse = np.linspace(0.04, 0.96, 18)
C1, C2 = np.meshgrid(coarse, coarse)
P = np.column_stack([C1.ravel(), C2.ravel()])  # (324, 2)
dB = net.input_jacobian(P)[:, 1, :]  # (324, n_0): d a_2 / dx at each point
fig, ax = plt.subplots(figsize=(5, 5))
ax.contour(G1, G2, net.forward(grid)[:, 1].reshape(G1.shape), levels=[0.5], colors="grey")
size = np.hypot(dB[:, 0], dB[:, 1])
arrows = ax.quiver(P[:, 0], P[:, 1], dB[:, 0], dB[:, 1], size, cmap="viridis", angles="xy", scale_units="xy",
                   scale=size.max() / 0.05)  # the longest arrow is one grid step long
fig.colorbar(arrows, ax=ax, shrink=0.7, label="|d a_2 / dx|")
ax.scatter(*X[labels == 0].T, marker="o", c="#c0392b")
ax.scatter(*X[labels == 1].T, marker="x", c="#1f4e9c")
ax.set_aspect("equal")
ax.set_title("d a_2 / dx: the input gradient of class B's output", fontsize=10)
fig.tight_layout()

# %%
# The example :doc:`/auto_examples/higham` reproduces the paper's run with the eleventh point too,
# and :doc:`/auto_examples/seed_004_input_jacobian` does the seed's "HW 3/1" in the paper's notation.

r"""
3. Linear and logistic regression: the one-layer case
=====================================================

Seed 003 notices that with L = 1 the network is a classical model. With the identity and the
quadratic cost it is linear regression; with the sigmoid and binary cross-entropy it is logistic
regression. This tutorial checks the seed's two worked numbers, J(0, 1) = 1/2 and the decision
boundary x1 <= 5, and fits both models with :func:`deltaprop.train`.

With one layer, z = x W + b is h(x) = theta_0 + theta^T x: b is theta_0 and W holds the other
thetas as a column. The cost 1/(2m) sum (h(x) - y)^2 is :meth:`deltaprop.Network.cost` with
``"quadratic"`` (c = 1/2 ||a - y||^2, averaged over the rows).
"""

# %%
# J(0, 1) = 1/2
# -------------
# The seed's four points (3, 2), (1, 2), (0, 1), (4, 3) each lie at distance 1 from the line
# y = x, so J(0, 1) = 1/8 (1 + 1 + 1 + 1) = 1/2.
import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp

x = np.array([[3.0], [1.0], [0.0], [4.0]])  # (m, n_0) = (4, 1)
y = np.array([[2.0], [2.0], [1.0], [3.0]])  # (m, n_L) = (4, 1)
lin = dp.Network([1, 1], ["identity"], "quadratic", dtype="float64")
lin.weights, lin.biases = [[[1.0]]], [[0.0]]  # theta_1 = 1, theta_0 = 0
print("J(0, 1) =", lin.cost(x, y))

# %%
# The least-squares solution is where the gradients vanish
# --------------------------------------------------------
# ``numpy.linalg.lstsq`` gives theta; at it, :meth:`deltaprop.Network.gradients` is zero to
# rounding. Gradient descent on the full batch (``batch_size`` at least m) walks there.
A = np.hstack([np.ones_like(x), x])
theta, *_ = np.linalg.lstsq(A, y, rcond=None)
lin.weights, lin.biases = [theta[1:]], [theta[0]]
dW, db = lin.gradients(x, y)
print(f"lstsq: theta_0 = {theta[0, 0]:.4f}, theta_1 = {theta[1, 0]:.4f}; "
      f"|dC/dW| = {np.abs(dW[0]).max():.1e}, |dC/db| = {np.abs(db[0]).max():.1e}")

gd = dp.Network([1, 1], ["identity"], "quadratic", dtype="float64", init=0.0)
history = dp.train(gd, x, y, epochs=2000, batch_size=4, optimizer="sgd", lr=0.05, seed=0)
print(f"gradient descent: theta_0 = {gd.biases[0][0]:.4f}, theta_1 = {gd.weights[0][0, 0]:.4f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
u = np.linspace(-0.5, 4.5, 2)
ax1.scatter(x[:, 0], y[:, 0], color="k", zorder=3, label="the seed's points")
ax1.plot(u, u, ls="--", label="theta = (0, 1): J = 1/2")
ax1.plot(u, theta[0, 0] + theta[1, 0] * u, label="least squares")
ax1.set_xlabel("x")
ax1.set_ylabel("y")
ax1.legend(fontsize=8)
ax2.semilogy(history.train_cost)
ax2.set_xlabel("epoch (one full-batch step each)")
ax2.set_ylabel("J")
ax2.set_title("gradient descent", fontsize=10)
fig.tight_layout()

# %%
# Logistic regression: the boundary x1 <= 5
# -----------------------------------------
# With theta = (5, -1, 0), h(x) = sigma(5 - x1) >= 1/2 exactly where x1 <= 5, whatever x2 is. A
# classifier with one sigmoid output predicts class 1 where a >= 1/2
# (:meth:`deltaprop.Network.predict`).
logit = dp.Network([2, 1], ["sigmoid"], "binary_cross_entropy", dtype="float64")
logit.weights, logit.biases = [[[-1.0], [0.0]]], [[5.0]]
g1, g2 = np.meshgrid(np.linspace(0, 10, 101), np.linspace(-5, 5, 11))
grid = np.column_stack([g1.ravel(), g2.ravel()])  # (1111, 2)
predicted = logit.predict(grid).ravel()
print("class 1 exactly where x1 <= 5:", bool(np.all((predicted == 1) == (grid[:, 0] <= 5))))

# %%
# And fitted: points labelled by that rule, with some noise near the boundary, recover a boundary
# close to x1 = 5.
rng = np.random.default_rng(0)
P = rng.uniform([0, -5], [10, 5], size=(400, 2))  # (m, 2)
labels = (P[:, 0] + rng.normal(0, 0.5, 400) <= 5).astype(int)
fit = dp.Network([2, 1], ["sigmoid"], "binary_cross_entropy", dtype="float64", seed=0)
dp.train(fit, P, labels[:, None], epochs=300, batch_size=400, optimizer="adam", lr=0.1, seed=0)
(w1, w2), b0 = fit.weights[0][:, 0], fit.biases[0][0]
print(f"fitted theta = ({b0:.2f}, {w1:.2f}, {w2:.2f}); boundary at x1 = {-b0 / w1:.2f} when x2 = 0")

u1, u2 = np.linspace(0, 10, 201), np.linspace(-5, 5, 201)
U1, U2 = np.meshgrid(u1, u2)
proba = fit.forward(np.column_stack([U1.ravel(), U2.ravel()]))  # (201^2, 1)
fig, ax = plt.subplots(figsize=(5, 4))
ax.contourf(u1, u2, proba.reshape(U1.shape), levels=20, cmap="RdBu_r", alpha=0.6)
ax.scatter(*P[labels == 1].T, s=8, c="#b2182b", label="class 1")
ax.scatter(*P[labels == 0].T, s=8, c="#2166ac", label="class 0")
ax.axvline(5, color="k", ls="--", lw=1, label="x1 = 5")
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.legend(loc="lower left", fontsize=8)
ax.set_title("a^(1) = sigma(z) of the fitted model", fontsize=10)
fig.tight_layout()

r"""
2. The MNIST homework: per-sample SGD, ReLU and softmax
=======================================================

Seed 002 is CS189's homework 4: a network with one ReLU hidden layer and a softmax output with the
cross-entropy cost, trained on MNIST by stochastic gradient descent, one sample per step. The
homework writes it in the *bias-unit* form; deltaprop writes it in the *row* form. This tutorial
shows that the two are the same model, step for step, and then trains it with
:func:`deltaprop.train`.

.. note::

   The documentation build uses the MNIST files when it finds them (``$DELTAPROP_DATA``). Without
   them this page is built on scikit-learn's bundled 8x8 digits instead, and the first output
   below says which data set it used. The code is the same either way.

The bias-unit form puts a 1 in front of every input, x^(l-1) = (1, a^(l-1)), and keeps the bias as
row 0 of a (n_{l-1} + 1, n_l) matrix::

    s^(l) = W^(l)T x^(l-1)
    delta^(2) = x^(2) - y
    delta_i^(1) = g'(s_i^(1)) sum_j w_ij^(2) delta_j^(2)      (i >= 1)
    W^(l) <- W^(l) - eta x^(l-1) delta^(l)T

The row form splits that matrix into W^(l) (its rows 1..n_{l-1}) and b^(l) (its row 0), and
stacks samples as rows: z^(l) = a^(l-1) W^(l) + b^(l). The softmax + cross-entropy output delta
a^(L) - y is the fused one in :doc:`/guide/model`.
"""

# %%
# The data
# --------
import os

import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp
from deltaprop.datasets import load_digits, load_mnist

if os.environ.get("DELTAPROP_DATA"):
    ds = load_mnist(subset=(10_000, 2_000))  # the files named by DELTAPROP_DATA; 10,000 training rows
else:
    ds = load_digits()  # no MNIST files: the bundled 8x8 digits, no download
print(f"data set: {ds.name}, {ds.X_train.shape[0]} training rows of {ds.X_train.shape[1]} pixels, "
      f"{ds.X_test.shape[0]} test rows")
X, y = ds.X_train.astype(np.float64), ds.y_train
Y = np.eye(10)[y]  # one-hot rows, (m, 10)

# %%
# The homework's lines, one sample at a time
# ------------------------------------------
# Two copies of the same initial weights: ``Wc`` in the bias-unit form, ``net`` in the row form.
net = dp.Network([X.shape[1], 64, 10], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=0)
Wc = {l: np.vstack([b_l[None, :], W_l]) for l, (W_l, b_l) in enumerate(zip(net.weights, net.biases), start=1)}


def homework_step(Wc, x, y, eta):
    """One step of the homework's SGD in its bias-unit notation; x, y are single samples."""
    x0 = np.concatenate([[1.0], x])  # x^(0) with the bias unit
    s1 = Wc[1].T @ x0
    x1 = np.concatenate([[1.0], np.maximum(s1, 0)])  # ReLU, then the bias unit
    s2 = Wc[2].T @ x1
    x2 = np.exp(s2 - s2.max()) / np.exp(s2 - s2.max()).sum()  # softmax
    d2 = x2 - y
    d1 = (s1 > 0) * (Wc[2][1:] @ d2)  # g'(s) is the step 1[s > 0]; row 0 (the bias) has no delta
    Wc[2] -= eta * np.outer(x1, d2)
    Wc[1] -= eta * np.outer(x0, d1)


eta, steps = 0.01, 500
for i in range(steps):
    homework_step(Wc, X[i], Y[i], eta)
    dW, db = net.gradients(X[i:i + 1], Y[i:i + 1])  # the row form's gradients, m = 1
    net.weights = [W_l - eta * g for W_l, g in zip(net.weights, dW)]
    net.biases = [b_l - eta * g for b_l, g in zip(net.biases, db)]

difference = max(max(np.abs(Wc[l][1:] - net.weights[l - 1]).max(), np.abs(Wc[l][0] - net.biases[l - 1]).max())
                 for l in (1, 2))
print(f"after {steps} per-sample steps: max |bias-unit weights - row-form weights| = {difference:.1e}")

# %%
# The slip of seed 002
# --------------------
# The seed writes ReLU's derivative as max(0, s), which is ReLU itself. At s = 2 that gives 2
# instead of 1; deltaprop's ReLU has the step (see :func:`deltaprop.get_activation`).
relu = dp.get_activation("relu")
print("g'(2) =", relu.derivative(np.array([2.0])), " max(0, 2) =", max(0.0, 2.0))

# %%
# Training: per-sample SGD with ``deltaprop.train``
# -------------------------------------------------
# ``batch_size=1`` with ``optimizer="sgd"`` is the homework's loop (it runs as one compiled loop when
# numba is installed). We record the test accuracy after every epoch with a callback.
net = dp.Network([X.shape[1], 64, 10], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=0)
X_test, y_test = ds.X_test.astype(np.float64), ds.y_test
history = dp.train(net, X, y, epochs=3, batch_size=1, optimizer="sgd", lr=0.01, seed=0,
                   validation=(X_test, y_test))
for epoch, (c, acc) in enumerate(zip(history.train_cost, history.val_accuracy), start=1):
    print(f"epoch {epoch}: training cost {c:.4f}, test accuracy {acc:.4f}")

# %%
# What the hidden units look for: each column of W^(1) as an image, red where a pixel raises
# z^(1)_j and blue where it lowers it.
side = int(round(np.sqrt(X.shape[1])))
W1 = net.weights[0]  # (n_0, 64)
fig, axes = plt.subplots(4, 8, figsize=(8, 4.4))
for j, ax in enumerate(axes.flat):
    w = W1[:, j].reshape(side, side)
    ax.imshow(w, cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max())
    ax.set_axis_off()
fig.suptitle(f"the first 32 columns of W^(1) ({ds.name}, after {len(history.train_cost)} epochs)")
fig.tight_layout()

# %%
# And the test images it gets wrong, with what it said.
predicted = net.predict(X_test)
wrong = np.flatnonzero(predicted != y_test)[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(8, 1.6), squeeze=False)
for ax, i in zip(axes.flat, wrong):
    ax.imshow(X_test[i].reshape(side, side), cmap="gray_r")
    ax.set_title(f"{y_test[i]} read as {predicted[i]}", fontsize=8)
    ax.set_axis_off()
fig.tight_layout()
print(f"{len(np.flatnonzero(predicted != y_test))} of {len(y_test)} test images misread")

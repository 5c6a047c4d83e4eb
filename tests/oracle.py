"""An independent oracle: the network's cost written directly in autograd.numpy, differentiated by autograd.

Nothing here imports deltaprop's kernels; it re-states the model from the seeds so that its
gradients are independent evidence for the backpropagation code.
"""

import autograd.numpy as anp
from autograd import grad, jacobian

G = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1 / (1 + anp.exp(-z)),
    "tanh": anp.tanh,
    "relu": lambda z: anp.maximum(z, 0),
    "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z),
    "softplus": lambda z: anp.log1p(anp.exp(z)),
    "softmax": lambda z: anp.exp(z - anp.max(z, axis=1, keepdims=True))
    / anp.sum(anp.exp(z - anp.max(z, axis=1, keepdims=True)), axis=1, keepdims=True),
    # the further built-ins, straight from their definitions (no overflow guards: test inputs are moderate)
    "elu": lambda z: anp.where(z > 0, z, anp.exp(z) - 1),
    "selu": lambda z: 1.0507009873554805 * anp.where(z > 0, z, 1.6732632423543772 * (anp.exp(z) - 1)),
    "gelu": lambda z: 0.5 * z * (1 + anp.tanh(anp.sqrt(2 / anp.pi) * (z + 0.044715 * z**3))),
    "swish": lambda z: z / (1 + anp.exp(-z)),
    "silu": lambda z: z / (1 + anp.exp(-z)),
    "hard_sigmoid": lambda z: anp.clip(z / 6 + 0.5, 0, 1),
}

C = {
    "quadratic": lambda a, y: 0.5 * anp.sum((a - y) ** 2, axis=1),
    "cross_entropy": lambda a, y: -anp.sum(y * anp.log(a), axis=1),
    "binary_cross_entropy": lambda a, y: -anp.sum(y * anp.log(a) + (1 - y) * anp.log(1 - a), axis=1),
    "mae": lambda a, y: anp.sum(anp.abs(a - y), axis=1),
    "huber": lambda a, y: anp.sum(anp.where(anp.abs(a - y) <= 1, 0.5 * (a - y) ** 2, anp.abs(a - y) - 0.5), axis=1),
    # 2 [y ln(y/a) - (y - a)], with y ln(y/a) written as 0 where y = 0
    "poisson": lambda a, y: 2 * anp.sum(
        anp.where(y > 0, y * anp.log(anp.where(y > 0, y, 1.0) / a), 0.0) - y + a, axis=1),
}


def forward(params, X, acts):
    L = len(acts)
    a = X
    for l in range(L):
        a = G[acts[l]](anp.dot(a, params[l]) + params[L + l])
    return a


def cost(params, X, Y, acts, cost_name, w=None):
    c = C[cost_name](forward(params, X, acts), Y)
    if w is None:
        return anp.mean(c)
    return anp.sum(w * c) / anp.sum(w)


def gradients(net, X, Y, w=None):
    """(dW, db) lists from autograd, for net's current parameters (as float64)."""
    params = [W.astype(float) for W in net.weights] + [b.astype(float) for b in net.biases]
    g = grad(cost)(params, X, Y, list(net.activations), net.cost_name, w)
    return g[: net.L], g[net.L:]


def input_jacobian(net, x):
    """da^(L)/dx for one sample x of shape (n_0,): (n_L, n_0)."""
    params = [W.astype(float) for W in net.weights] + [b.astype(float) for b in net.biases]
    return jacobian(lambda v: forward(params, v[None, :], list(net.activations))[0])(x)

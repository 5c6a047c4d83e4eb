"""Skeleton: backprop as in Nielsen's network.py. Fill in the TODOs, then run

    deltaprop check --impl skeleton_nielsen.py:Network.backprop --convention nielsen \\
        --activations sigmoid --outputs sigmoid+quadratic

The grader makes a Network (without calling __init__) with num_layers, sizes, weights (w^l of
shape (n_l, n_{l-1})), biases ((n_l, 1) columns), activations (names) and cost (a name), and calls
backprop(x, y) with x of shape (n_0, 1) and y of shape (n_L, 1), one sample at a time.
Return (nabla_b, nabla_w), shaped like self.biases and self.weights: that sample's gradients.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    raise NotImplementedError("TODO")


class Network:
    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        # TODO feedforward, storing every z and activation
        # TODO delta = cost_derivative(a^L, y) * sigma'(z^L); nabla_b[-1] = delta; nabla_w[-1] = delta a^{L-1}T
        # TODO for k = 2 .. num_layers - 1: delta = (w^{l+1}T delta) * sigma'(z^l)
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        return output_activations - y

"""A correct backprop in Nielsen's convention: network.py's method, one sample as a column.

    deltaprop check --impl examples/impl/reference_nielsen.py:Network.backprop --convention nielsen

As in Nielsen's book, the layers are walked with negative indices from the output. The grader
sets num_layers, sizes, weights (w^l, (n_l, n_{l-1})), biases ((n_l, 1)), activations, cost.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACT = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(0, z), "identity": lambda z: z,
       "softmax": lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()}
PRIME = {"sigmoid": lambda z: sigmoid(z) * (1 - sigmoid(z)), "tanh": lambda z: 1 - np.tanh(z) ** 2,
         "relu": lambda z: (z > 0).astype(float), "identity": lambda z: np.ones_like(z)}


class Network:
    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w, name in zip(self.biases, self.weights, self.activations):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = ACT[name](z)
            activations.append(activation)
        if self.cost == "quadratic":
            delta = self.cost_derivative(activations[-1], y) * PRIME[self.activations[-1]](zs[-1])
        else:  # softmax + cross-entropy
            delta = activations[-1] - y
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for k in range(2, self.num_layers):
            z = zs[-k]
            sp = PRIME[self.activations[-k]](z)
            delta = np.dot(self.weights[-k + 1].transpose(), delta) * sp
            nabla_b[-k] = delta
            nabla_w[-k] = np.dot(delta, activations[-k - 1].transpose())
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        return output_activations - y

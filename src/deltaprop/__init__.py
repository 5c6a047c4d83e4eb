"""deltaprop: feedforward networks trained by backpropagation, exactly as derived.

z^(l) = a^(l-1) W^(l) + b^(l), a^(l) = g_l(z^(l)), delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l)).
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .costs import COSTS, Cost, get_cost
from .engine import DivergenceError, sgd_steps
from .gradcheck import gradcheck, numerical_gradients
from .io import load
from .network import Network, Trace
from .registry import register_activation, register_cost, unregister_activation, unregister_cost
from .train import History, train

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "Activation", "COSTS", "Cost", "DivergenceError", "History", "Network", "Trace",
    "get_activation", "get_cost", "gradcheck", "load", "numerical_gradients", "register_activation",
    "register_cost", "sgd_steps", "train", "unregister_activation", "unregister_cost", "__version__",
]

r"""Exports to ONNX and PyTorch that compute exactly ``net.forward``, and import from PyTorch.

``to_onnx``: a graph of standard operators, z^(l) = Gemm(a^(l-1), W^(l), b^(l)), a^(l) = g_l(z^(l)),
from "input" (m, n_0) to "output" (m, n_L); the model's input scaling is in the metadata_props
"deltaprop.scaling" (JSON), to apply before. ``to_torch``: ``torch.save`` of plain data, the
state_dict of ``nn.Sequential(Linear, g_1, ..., Linear, g_L)`` plus the architecture, which
``torch_module`` rebuilds (``weights_only=True``) and ``from_torch`` turns back into a Network.
nn.Linear stores weight as (n_l, n_{l-1}) and computes x W^T + b, so weights are transposed
both ways. onnx and torch are imported inside the functions.

Each activation is exported as a standard form. Before writing, the registered activation is
evaluated on a grid of z and compared with a NumPy statement of that form, so an activation that
only shares a name with it is refused (ValueError) instead of being exported wrongly.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._checks import dtype as check_dtype
from .activations import ACTIVATIONS
from .datasets.scaling import Scaling
from .io import write_atomic
from .network import Network

TORCH_FORMAT = "deltaprop.torch"
OPSET = 17
_PROBE = np.concatenate([np.linspace(-8.0, 8.0, 161), [-40.0, -20.0, 20.0, 40.0]])[None, :]  # (1, 165)


@dataclass(frozen=True)
class _Form:
    """A standard activation: how ONNX and torch compute it, and what it is (NumPy, float64)."""

    label: str
    reference: Callable[[np.ndarray], np.ndarray]
    onnx: Callable[[_Graph, str, str], None]
    torch: Callable[[Any], Any] | None  # nn -> module; None where torch has no such module


def _erf(z: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _op(op: str, **attrs: Any) -> Callable[[_Graph, str, str], None]:
    def build(graph: _Graph, z: str, a: str) -> None:
        graph.node(op, [z], a, **attrs)
    return build


def _gelu_onnx(graph: _Graph, z: str, a: str) -> None:  # 0.5 z (1 + erf(z / sqrt 2))
    e = graph.node("Erf", [graph.node("Mul", [z, graph.const(1 / math.sqrt(2))])])
    graph.node("Mul", [graph.node("Mul", [z, graph.const(0.5)]), graph.node("Add", [e, graph.const(1.0)])], a)


def _gelu_tanh_onnx(graph: _Graph, z: str, a: str) -> None:  # 0.5 z (1 + tanh(c (z + 0.044715 z^3)))
    cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
    inner = graph.node("Add", [z, graph.node("Mul", [cube, graph.const(0.044715)])])
    t = graph.node("Tanh", [graph.node("Mul", [inner, graph.const(math.sqrt(2 / math.pi))])])
    graph.node("Mul", [graph.node("Mul", [z, graph.const(0.5)]), graph.node("Add", [t, graph.const(1.0)])], a)


def _swish_onnx(graph: _Graph, z: str, a: str) -> None:  # z sigmoid(z)
    graph.node("Mul", [z, graph.node("Sigmoid", [z])], a)


def _leaky_onnx(slope: float) -> Callable[[_Graph, str, str], None]:
    def build(graph: _Graph, z: str, a: str) -> None:
        if graph.dtype == np.float32:
            graph.node("LeakyRelu", [z], a, alpha=slope)
        else:  # LeakyRelu's alpha is a float32 attribute; max(z, slope z) keeps it in float64
            graph.node("Max", [z, graph.node("Mul", [z, graph.const(slope)])], a)
    return build


def _softplus_onnx(graph: _Graph, z: str, a: str) -> None:
    if graph.dtype == np.float32:
        graph.node("Softplus", [z], a)
    else:  # onnxruntime has no float64 Softplus: max(z, 0) + ln(1 + e^{-|z|}) from basic operators
        e = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
        graph.node("Add", [graph.node("Relu", [z]), graph.node("Log", [graph.node("Add", [e, graph.const(1.0)])])], a)


def _candidates(name: str, g: Any) -> list[_Form]:
    """The standard forms an activation of this name may be, most likely first."""
    slope = float(getattr(g, "slope", getattr(g, "negative_slope", getattr(g, "alpha", 0.01))))
    alpha = float(getattr(g, "alpha", 1.0))
    selu_alpha, selu_scale = 1.6732632423543772, 1.0507009873554805
    forms = {
        "identity": [_Form("Identity", lambda z: z, _op("Identity"), lambda nn: nn.Identity())],
        "sigmoid": [_Form("Sigmoid", _sigmoid, _op("Sigmoid"), lambda nn: nn.Sigmoid())],
        "tanh": [_Form("Tanh", np.tanh, _op("Tanh"), lambda nn: nn.Tanh())],
        "relu": [_Form("Relu", lambda z: np.maximum(z, 0), _op("Relu"), lambda nn: nn.ReLU())],
        "leaky_relu": [_Form(f"LeakyRelu(alpha={slope:g})", lambda z: np.where(z > 0, z, slope * z),
                             _leaky_onnx(slope), lambda nn: nn.LeakyReLU(slope))],
        "softplus": [_Form("Softplus", lambda z: np.logaddexp(0, z), _softplus_onnx, lambda nn: nn.Softplus())],
        "softmax": [_Form("Softmax", lambda z: np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True)),
                          _op("Softmax", axis=-1), lambda nn: nn.Softmax(dim=-1))],
        "elu": [_Form(f"Elu(alpha={alpha:g})", lambda z: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))),
                      _op("Elu", alpha=alpha), lambda nn: nn.ELU(alpha))],
        "selu": [_Form("Selu", lambda z: selu_scale * np.where(z > 0, z, selu_alpha * np.expm1(np.minimum(z, 0))),
                       _op("Selu", alpha=selu_alpha, gamma=selu_scale), lambda nn: nn.SELU())],
        "hard_sigmoid": [  # PyTorch's slope 1/6, and Keras's 0.2, which torch has no module for
            _Form("HardSigmoid(alpha=1/6, beta=0.5)", lambda z: np.clip(z / 6 + 0.5, 0, 1),
                  _op("HardSigmoid", alpha=1 / 6, beta=0.5), lambda nn: nn.Hardsigmoid()),
            _Form("HardSigmoid(alpha=0.2, beta=0.5)", lambda z: np.clip(0.2 * z + 0.5, 0, 1),
                  _op("HardSigmoid", alpha=0.2, beta=0.5), None)],
        "gelu": [_Form("Gelu (erf)", lambda z: 0.5 * z * (1 + _erf(z / math.sqrt(2))), _gelu_onnx,
                       lambda nn: nn.GELU()),
                 _Form("Gelu (tanh)", lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3))),
                       _gelu_tanh_onnx, lambda nn: nn.GELU(approximate="tanh"))],
    }
    forms["swish"] = forms["silu"] = [_Form("z * Sigmoid(z)", lambda z: z * _sigmoid(z), _swish_onnx,
                                            lambda nn: nn.SiLU())]
    return forms.get(name, [])


def _matching_form(g: Any, *, torch: bool) -> _Form | None:
    """The first standard form that g computes on a grid of z (to 1e-6), or None."""
    mine = g.value(_PROBE.copy())
    for form in _candidates(g.name, g):
        if (form.torch is not None or not torch) and np.allclose(mine, form.reference(_PROBE), rtol=1e-6, atol=1e-9):
            return form
    return None


def _form(net: Network, l: int, *, torch: bool = False) -> _Form:
    """The standard form of g_l; ValueError naming the activation when there is none."""
    g = net.g[l]
    form = _matching_form(g, torch=torch)
    if form is not None:
        return form
    target = "PyTorch" if torch else "ONNX"
    tried = [f.label for f in _candidates(g.name, g) if f.torch is not None or not torch]
    if not tried:
        raise ValueError(f"activation {g.name!r} (layer l = {l}) has no {target} export; exportable: identity, "
                         f"sigmoid, tanh, relu, leaky_relu, softplus, softmax, elu, selu, hard_sigmoid, gelu, swish")
    raise ValueError(f"activation {g.name!r} (layer l = {l}) does not compute the standard form that {target} "
                     f"provides (tried: {', '.join(tried)}); it cannot be exported")


# ----- ONNX ---------------------------------------------------------------------------------

@dataclass
class _Graph:
    """Nodes and initializers of one ONNX graph, in one float type."""

    dtype: np.dtype[Any]
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)

    def tensor(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=self.dtype), name))
        return name

    def const(self, value: float) -> str:
        return self.tensor(f"c{len(self.initializers)}", value)

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        output = output or f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=f"{op}_{len(self.nodes)}", **attrs))
        return output


def _metadata(net: Network) -> dict[str, str]:
    arch = {"sizes": list(net.sizes), "activations": list(net.activations), "cost": net.cost_name,
            "dtype": net.dtype.name}
    classes = None if net.classes is None else [c.item() if hasattr(c, "item") else c for c in net.classes]
    return {"deltaprop.version": __version__, "deltaprop.architecture": json.dumps(arch),
            "deltaprop.scaling": json.dumps(None if net.scaling is None else net.scaling.to_json()),
            "deltaprop.classes": json.dumps(classes)}


def onnx_model(net: Network, *, dtype: Any = None) -> Any:
    r"""The ``onnx.ModelProto`` of ``net.forward``: input "input" (m, n_0), output "output" (m, n_L).

    Layer l is ``z{l} = Gemm(a{l-1}, W{l}, b{l})`` then g_l, with W{l} of shape (n_{l-1}, n_l).
    dtype defaults to the network's. onnxruntime has no float64 kernels for Softplus, Elu, Selu,
    HardSigmoid and Erf (gelu): export such float64 networks with ``dtype="float32"``.
    """
    _onnx()
    from onnx import TensorProto, checker, helper  # optional dependency (the ecosystem extra)

    _network(net)
    dt = net.dtype if dtype is None else check_dtype(dtype)
    forms = {l: _form(net, l) for l in range(1, net.L + 1)}
    graph = _Graph(dt)
    a = "input"
    for l in range(1, net.L + 1):
        W = graph.tensor(f"W{l}", net.weights[l - 1])  # (n_{l-1}, n_l), as in the notes
        b = graph.tensor(f"b{l}", net.biases[l - 1])  # (n_l,)
        z = graph.node("Gemm", [a, W, b], f"z{l}")
        a = "output" if l == net.L else f"a{l}"
        forms[l].onnx(graph, z, a)
    elem = TensorProto.DOUBLE if dt == np.float64 else TensorProto.FLOAT
    g = helper.make_graph(graph.nodes, "deltaprop", [helper.make_tensor_value_info("input", elem, ["m", net.sizes[0]])],
                          [helper.make_tensor_value_info("output", elem, ["m", net.sizes[-1]])], graph.initializers)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="deltaprop",
                              doc_string=f"deltaprop network {'-'.join(map(str, net.sizes))}: output = net.forward(input)")
    model.ir_version = 8  # the IR of opset 17, readable by every onnxruntime that runs opset 17
    helper.set_model_props(model, _metadata(net))
    checker.check_model(model, full_check=True)
    return model


def _write(path: str | os.PathLike[str], data: bytes) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {Path(path).parent} does not exist")
    write_atomic(path, data)


def to_onnx(net: Network, path: str | os.PathLike[str], *, dtype: Any = None) -> None:
    """Write ``net`` as an ONNX file (see ``onnx_model``); ValueError for an activation ONNX lacks."""
    _write(path, onnx_model(net, dtype=dtype).SerializeToString())


# ----- PyTorch ------------------------------------------------------------------------------

def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise RuntimeError("the onnx package is needed for an ONNX export: pip install 'deltaprop[ecosystem]'") from None
    return onnx


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise RuntimeError("PyTorch is needed for this export: pip install 'deltaprop[torch]' (torch==2.13.0)") from None
    return torch


def _network(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"expected a deltaprop.Network, got {type(net).__name__}")
    return net


def to_torch(net: Network, path: str | os.PathLike[str]) -> None:
    """Save ``net`` for PyTorch: a dict of plain data (architecture, scaling, classes, state_dict).

    The state_dict belongs to ``nn.Sequential(Linear, g_1, ..., Linear, g_L)``: keys "{2(l-1)}.weight"
    of shape (n_l, n_{l-1}) (our W^(l) transposed) and "{2(l-1)}.bias" of shape (n_l,).
    """
    torch = _torch()
    _network(net)
    for l in range(1, net.L + 1):
        _form(net, l, torch=True)
    state = {}
    for l in range(1, net.L + 1):
        state[f"{2 * (l - 1)}.weight"] = torch.from_numpy(np.ascontiguousarray(net.weights[l - 1].T))  # (n_l, n_{l-1})
        state[f"{2 * (l - 1)}.bias"] = torch.from_numpy(net.biases[l - 1].copy())
    meta = _metadata(net)
    payload = {"format": TORCH_FORMAT, "version": 1, "architecture": json.loads(meta["deltaprop.architecture"]),
               "scaling": meta["deltaprop.scaling"], "classes": meta["deltaprop.classes"], "state_dict": state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    _write(path, buffer.getvalue())


def _read_torch(path: str | os.PathLike[str]) -> dict[str, Any]:
    torch = _torch()
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds for a file that is not a plain-data archive
        raise ValueError(f"{path}: not a PyTorch file written by deltaprop.export.to_torch ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != TORCH_FORMAT:
        raise ValueError(f"{path}: not written by deltaprop.export.to_torch (format {TORCH_FORMAT!r} expected)")
    return payload


def _empty_network(arch: dict[str, Any], where: str) -> Network:
    try:
        return Network(arch["sizes"], arch["activations"], arch["cost"], dtype=arch["dtype"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: invalid architecture {arch!r}: {exc}") from None


def torch_module(path: str | os.PathLike[str]) -> Any:
    """The ``nn.Sequential`` saved by ``to_torch``, weights loaded, in eval mode and the saved dtype."""
    return _module_from(_read_torch(path), str(path))


def _module_from(payload: dict[str, Any], where: str) -> Any:
    torch = _torch()
    net = _empty_network(payload.get("architecture", {}), where)
    layers: list[Any] = []
    for l in range(1, net.L + 1):
        layers += [torch.nn.Linear(net.sizes[l - 1], net.sizes[l]), _torch_layer(net, l, torch.nn)]
    module = torch.nn.Sequential(*layers).to(torch.float64 if net.dtype == np.float64 else torch.float32)
    try:
        module.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(f"{where}: the weights do not fit the architecture: {' '.join(str(exc).split())[:300]}") from None
    return module.eval()


def _torch_layer(net: Network, l: int, nn: Any) -> Any:
    make = _form(net, l, torch=True).torch
    assert make is not None  # _form(torch=True) only returns forms with a torch module
    return make(nn)


def _activation_of(module: Any, position: int) -> str:
    """The deltaprop name of a torch activation module, matched by type and settings."""
    nn = _torch().nn
    if isinstance(module, nn.Softmax) and module.dim in (1, -1):
        return "softmax"

    for name, cls in ACTIVATIONS.items():
        form = _matching_form(cls(), torch=True)
        if form is not None and form.torch is not None:
            candidate = form.torch(nn)
            if type(candidate) is type(module) and candidate.extra_repr() == module.extra_repr():
                return name
    raise ValueError(f"module {position} ({module!r}) has no deltaprop activation; supported: Linear, Identity, "
                     f"ReLU, LeakyReLU(0.01), Sigmoid, Tanh, Softplus(), Softmax(dim=-1) and registered others")


def from_torch(module_or_path: Any, *, cost: str | None = None) -> Network:
    """A ``Network`` from an ``nn.Sequential`` of Linear (+ activation) layers, or from a ``to_torch`` file.

    A Linear not followed by an activation gets the identity. The cost (a module carries none)
    defaults to cross_entropy after a softmax and quadratic otherwise; a file keeps its own.
    Weights are copied: W^(l) = linear.weight.T, shape (n_{l-1}, n_l).
    """
    torch = _torch()
    if isinstance(module_or_path, (str, os.PathLike)):
        payload = _read_torch(module_or_path)
        net = from_torch(_module_from(payload, str(module_or_path)), cost=cost or payload["architecture"]["cost"])
        scaling, classes = json.loads(payload.get("scaling") or "null"), json.loads(payload.get("classes") or "null")
        if scaling is not None:
            net.scaling = Scaling.from_json(scaling)
        net.classes = None if classes is None else tuple(classes)
        return net
    if not isinstance(module_or_path, torch.nn.Sequential):
        raise TypeError(f"expected an nn.Sequential or a path, got {type(module_or_path).__name__}")
    linears: list[Any] = []
    activations: list[str] = []
    for i, m in enumerate(module_or_path):
        if isinstance(m, torch.nn.Linear):
            if linears and len(activations) < len(linears):
                activations.append("identity")
            if linears and m.in_features != linears[-1].out_features:
                raise ValueError(f"module {i}: Linear takes {m.in_features} inputs, the layer before gives "
                                 f"{linears[-1].out_features}")
            linears.append(m)
        elif not linears or len(activations) == len(linears):
            raise ValueError(f"module {i} ({m!r}) must follow a Linear layer (expected Linear, activation, ...)")
        else:
            activations.append(_activation_of(m, i))
    if not linears:
        raise ValueError("the module holds no Linear layer")
    activations += ["identity"] * (len(linears) - len(activations))
    dtypes = {m.weight.dtype for m in linears}
    if not dtypes <= {torch.float32, torch.float64} or len(dtypes) != 1:
        raise ValueError(f"the Linear layers must all be float32 or all float64, got {sorted(map(str, dtypes))}")
    sizes = [linears[0].in_features] + [m.out_features for m in linears]
    cost = cost or ("cross_entropy" if activations[-1] == "softmax" else "quadratic")
    net = Network(sizes, activations, cost, dtype="float64" if torch.float64 in dtypes else "float32")
    with torch.no_grad():
        net.weights = [m.weight.detach().cpu().numpy().T for m in linears]  # (out, in) -> (in, out)
        net.biases = [np.zeros(m.out_features) if m.bias is None else m.bias.detach().cpu().numpy() for m in linears]
    return net

"""deltaprop.export: ONNX run in onnxruntime, PyTorch modules run in torch, both against net.forward."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import export
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.cli import main
from deltaprop.datasets import Scaling

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")


def run_onnx(path: Path, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


def run_torch(module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return dp.datasets.load_mnist(mnist_dir, subset=(2000, 1000))


@pytest.fixture(scope="module")
def mnist_net(mnist):
    # 784-64-10, trained for three epochs on 2,000 real images (float32), then exported.
    net = dp.Network([784, 64, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    net.scaling, net.classes = mnist.scaling, mnist.classes
    net.fit(mnist.X_train, mnist.y_train, epochs=3, batch_size=32, optimizer="momentum", lr=0.1, seed=0)
    return net


# ----- ONNX ----------------------------------------------------------------------------------

def test_onnx_equals_forward_on_mnist_test_images(mnist, mnist_net, tmp_path):
    path = tmp_path / "mnist.onnx"
    export.to_onnx(mnist_net, path)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Softmax"]
    X = mnist.X_test  # (1000, 784) float32, already divided by 255
    out = run_onnx(path, X)
    expected = mnist_net.forward(X)
    assert out.shape == expected.shape == (1000, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5, err_msg="ONNX output vs net.forward")
    assert (out.argmax(axis=1) == mnist.y_test).mean() > 0.8  # a real, trained model


def test_onnx_metadata_carries_the_scaling(mnist, mnist_net, tmp_path):
    path = tmp_path / "mnist.onnx"
    export.to_onnx(mnist_net, path)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["deltaprop.scaling"]) == {"kind": "divide", "scale": 255.0}
    assert json.loads(props["deltaprop.classes"]) == list(range(10))
    assert json.loads(props["deltaprop.architecture"])["sizes"] == [784, 64, 10]
    # What a deployment does with raw pixels 0..255: apply the scaling from the metadata, then run.
    raw = np.rint(mnist.X_test[:50] * 255).astype(np.float32)
    scaling = Scaling.from_json(json.loads(props["deltaprop.scaling"]))
    out = run_onnx(path, scaling.apply(raw).astype(np.float32))
    assert out.shape == (50, 10)
    np.testing.assert_allclose(out, mnist_net.forward(mnist.X_test[:50]), rtol=0, atol=1e-5)


def exportable(name: str) -> bool:
    return export._matching_form(ACTIVATIONS[name](), torch=False) is not None


HIDDEN = sorted(n for n, cls in ACTIVATIONS.items() if getattr(cls, "elementwise", True))


@pytest.mark.parametrize("name", HIDDEN)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_registered_activation_exports_or_is_refused(name, dtype, tmp_path):
    # Checked at run time against the registry, so activations added later are covered too.
    net = dp.Network([6, 9, 7, 4], [name, name, "softmax"], "cross_entropy", dtype=dtype, seed=1, init=1.0)
    X = np.random.default_rng(2).normal(scale=2.0, size=(25, 6)).astype(dtype)
    path = tmp_path / "net.onnx"
    if not exportable(name):
        with pytest.raises(ValueError, match=re.escape(repr(name))):
            export.to_onnx(net, path)
        assert not path.exists()
        return
    # onnxruntime has float64 kernels only for some operators; float32 graphs run everywhere.
    export.to_onnx(net, path, dtype="float32" if name in ("elu", "selu", "hard_sigmoid", "gelu") else None)
    out = run_onnx(path, X.astype(np.float32) if name in ("elu", "selu", "hard_sigmoid", "gelu") else X)
    expected = net.forward(X)
    assert out.shape == expected.shape == (25, 4)
    atol = 1e-12 if out.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, expected, rtol=0, atol=atol, err_msg=f"{name} via ONNX")


def test_regression_output_and_float64(tmp_path):
    net = dp.Network([3, 5, 2], ["softplus", "identity"], "quadratic", dtype="float64", seed=0, init=1.0)
    X = np.random.default_rng(0).normal(scale=5.0, size=(40, 3))
    export.to_onnx(net, tmp_path / "r.onnx")
    out = run_onnx(tmp_path / "r.onnx", X)
    assert out.shape == (40, 2) and out.dtype == np.float64
    np.testing.assert_allclose(out, net.forward(X), rtol=1e-12, atol=1e-12)


class Cube(Activation):
    name = "cube"

    def value(self, z):
        return z**3

    def derivative(self, z):
        return 3 * z**2


class NotReallyTanh(Activation):
    name = "tanh"

    def value(self, z):
        return np.tanh(2 * z)

    def derivative(self, z):
        return 2 * (1 - np.tanh(2 * z) ** 2)


def test_unknown_and_impostor_activations_are_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "cube", Cube)
    net = dp.Network([2, 3, 1], ["cube", "sigmoid"], "quadratic", seed=0)
    with pytest.raises(ValueError, match=r"activation 'cube' \(layer l = 1\) has no ONNX export"):
        export.to_onnx(net, tmp_path / "c.onnx")
    with pytest.raises(ValueError, match=r"activation 'cube' \(layer l = 1\) has no PyTorch export"):
        export.to_torch(net, tmp_path / "c.pt")
    monkeypatch.setitem(ACTIVATIONS, "tanh", NotReallyTanh)
    impostor = dp.Network([2, 3, 1], ["tanh", "sigmoid"], "quadratic", seed=0)
    with pytest.raises(ValueError, match=r"activation 'tanh' \(layer l = 1\) does not compute the standard form"):
        export.to_onnx(impostor, tmp_path / "t.onnx")
    assert not any(tmp_path.iterdir())
    with pytest.raises(TypeError, match="expected a deltaprop.Network, got str"):
        export.to_onnx("model.safetensors", tmp_path / "x.onnx")


# ----- PyTorch -------------------------------------------------------------------------------

def test_torch_file_is_plain_data_and_module_equals_forward(mnist, mnist_net, tmp_path):
    path = tmp_path / "mnist.pt"
    export.to_torch(mnist_net, path)
    payload = torch.load(path, weights_only=True)
    assert payload["architecture"] == {"sizes": [784, 64, 10], "activations": ["relu", "softmax"],
                                       "cost": "cross_entropy", "dtype": "float32"}
    assert payload["state_dict"]["0.weight"].shape == (64, 784)  # nn.Linear: (out, in)
    module = export.torch_module(path)
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU", "Linear", "Softmax"]
    out = run_torch(module, mnist.X_test)
    expected = mnist_net.forward(mnist.X_test)
    assert out.shape == expected.shape == (1000, 10)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5, err_msg="torch output vs net.forward")


@pytest.mark.parametrize("name", [n for n in HIDDEN if exportable(n)])
def test_torch_export_of_every_exportable_activation(name, tmp_path):
    net = dp.Network([4, 6, 3], [name, "sigmoid"], "quadratic", dtype="float64", seed=3, init=1.0)
    X = np.random.default_rng(1).normal(scale=3.0, size=(30, 4))
    try:
        export.to_torch(net, tmp_path / "n.pt")
    except ValueError as exc:  # a form ONNX has but torch lacks (a hard sigmoid of slope 0.2)
        assert repr(name) in str(exc)
        return
    out = run_torch(export.torch_module(tmp_path / "n.pt"), X)
    assert out.shape == (30, 3)
    # torch's Softplus returns z itself above z = 20, where ln(1 + e^z) - z < 2.1e-9 (about 1e-11 here)
    np.testing.assert_allclose(out, net.forward(X), rtol=0, atol=1e-10, err_msg=f"{name} via torch")


def test_torch_autograd_agrees_with_backpropagation(tmp_path):
    # An independent autodiff of the exported module gives our dC/dW^(l), transposed.
    net = dp.Network([5, 8, 4], ["tanh", "softmax"], "cross_entropy", dtype="float64", seed=4)
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(12, 5)), rng.integers(0, 4, size=12)
    export.to_torch(net, tmp_path / "g.pt")
    module = export.torch_module(tmp_path / "g.pt")
    C = -torch.log(module(torch.from_numpy(X))[torch.arange(12), torch.from_numpy(y)]).mean()
    C.backward()
    dW, db = net.gradients(X, y)
    for l in (1, 2):
        linear = module[2 * (l - 1)]
        assert linear.weight.grad.shape == dW[l - 1].T.shape
        np.testing.assert_allclose(linear.weight.grad.numpy().T, dW[l - 1], rtol=1e-10, atol=1e-12, err_msg=f"dW[{l}]")
        np.testing.assert_allclose(linear.bias.grad.numpy(), db[l - 1], rtol=1e-10, atol=1e-12, err_msg=f"db[{l}]")
    assert C.item() == pytest.approx(net.cost(X, y), rel=1e-12)


def test_from_torch_module_built_in_pytorch():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3),
                                 torch.nn.Softmax(dim=1)).double()
    net = export.from_torch(module)
    assert net.sizes == (4, 5, 3) and net.activations == ("tanh", "softmax") and net.cost_name == "cross_entropy"
    assert net.dtype == np.float64
    np.testing.assert_array_equal(net.weights[0], module[0].weight.detach().numpy().T)
    X = np.random.default_rng(0).normal(size=(9, 4))
    np.testing.assert_allclose(net.forward(X), run_torch(module, X), rtol=0, atol=1e-14)
    plain = export.from_torch(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)))
    assert plain.activations == ("relu", "identity") and plain.cost_name == "quadratic"
    assert plain.dtype == np.float32


def test_from_torch_file_round_trip(mnist_net, tmp_path):
    export.to_torch(mnist_net, tmp_path / "m.pt")
    back = export.from_torch(tmp_path / "m.pt")
    assert back.sizes == mnist_net.sizes and back.activations == mnist_net.activations
    for W, W0 in zip(back.weights + back.biases, mnist_net.weights + mnist_net.biases):
        np.testing.assert_array_equal(W, W0)
    assert back.scaling == mnist_net.scaling and back.classes == tuple(range(10))


@pytest.mark.parametrize("layers, message", [
    (lambda nn: [nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)], "has no deltaprop activation"),
    (lambda nn: [nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2)], "LeakyReLU(negative_slope=0.2)"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2)], "module 2: Linear takes 5 inputs, the layer before gives 4"),
    (lambda nn: [nn.ReLU(), nn.Linear(3, 2)], "must follow a Linear layer"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU(), nn.ReLU()], "must follow a Linear layer"),
])
def test_from_torch_refuses_what_it_cannot_represent(layers, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        export.from_torch(torch.nn.Sequential(*layers(torch.nn)))


def test_from_torch_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match="expected an nn.Sequential or a path, got Linear"):
        export.from_torch(torch.nn.Linear(2, 2))
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a PyTorch file written by deltaprop.export.to_torch"):
        export.from_torch(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not written by deltaprop.export.to_torch"):
        export.torch_module(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        export.torch_module(tmp_path / "missing.pt")


def test_export_module_imports_without_torch(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, deltaprop as dp, deltaprop.export as e\n"
            "net = dp.Network([2, 2], ['sigmoid'], 'quadratic', seed=0)\n"
            f"e.to_onnx(net, {str(tmp_path / 'a.onnx')!r})\n"
            "try:\n    e.to_torch(net, 'a.pt')\nexcept RuntimeError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "PyTorch is needed" in done.stdout and (tmp_path / "a.onnx").is_file()


# ----- the command line ----------------------------------------------------------------------

def test_cli_export_onnx_and_torch(mnist, mnist_net, tmp_path, capsys):
    model = tmp_path / "mnist.safetensors"
    mnist_net.save(model)
    assert main(["export", str(model), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert "784-64-10" in capsys.readouterr().out
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", mnist.X_test[:20]), mnist_net.forward(mnist.X_test[:20]),
                               rtol=0, atol=1e-5)
    assert main(["export", str(model), "--format", "torch", "--out", str(tmp_path / "m.pt")]) == 0
    out = run_torch(export.torch_module(tmp_path / "m.pt"), mnist.X_test[:20])
    np.testing.assert_allclose(out, mnist_net.forward(mnist.X_test[:20]), rtol=0, atol=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["--format", "tflite"], "invalid choice: 'tflite'"),
    ([], "the following arguments are required: --format"),
    (["--format", "torch", "--dtype", "float64"], "--dtype applies to --format onnx only"),
])
def test_cli_export_bad_arguments(argv, message, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    dp.Network([2, 2], ["sigmoid"], "quadratic", seed=0).save(model)
    assert main(["export", str(model), "--out", str(tmp_path / "x.pt"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.pt").exists()


def test_cli_export_missing_model(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.safetensors"), "--format", "onnx", "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.safetensors" in err


def test_cli_export_into_a_missing_folder(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    dp.Network([2, 2], ["sigmoid"], "quadratic", seed=0).save(model)
    target = tmp_path / "no" / "m.pt"
    assert main(["export", str(model), "--format", "torch", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write {target}: the folder {target.parent} does not exist" in err

"""deltaprop.plots: every figure is written, has the expected size, and is not blank."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.image import imread

import deltaprop as dp
from deltaprop import plots
from deltaprop.cli import main
from deltaprop.datasets import higham_points, load_digits
from deltaprop.train import History


def check_png(path, size):
    """The PNG has the given (width, height) in pixels and more than one colour."""
    image = imread(str(path))  # (height, width, 4) floats in [0, 1]
    assert image.shape[:2] == (size[1], size[0]), f"{path.name} is {image.shape[1]}x{image.shape[0]}"
    pixels = image.reshape(-1, image.shape[-1])
    assert pixels.var(axis=0).sum() > 0, f"{path.name} is blank"
    assert len(np.unique(pixels, axis=0)) > 10, f"{path.name} has almost no colours"


@pytest.fixture(scope="module")
def digits_run():
    ds = load_digits()
    net = dp.Network([64, 32, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    net.classes = ds.classes
    history = net.fit(ds.X_train[:1000], ds.y_train[:1000], epochs=6, optimizer="momentum", lr=0.05, seed=0,
                      validation=(ds.X_train[1000:], ds.y_train[1000:]), early_stopping=3)
    return ds, net, history


def test_learning_curves_png_and_svg(digits_run, tmp_path):
    _, _, history = digits_run
    plots.learning_curves(history, tmp_path / "curves.png")
    check_png(tmp_path / "curves.png", (1040, 400))  # two panels of 5.2 x 4 inches at 100 dpi
    plots.learning_curves(history, tmp_path / "curves.SVG")
    text = (tmp_path / "curves.SVG").read_text()
    assert text.startswith("<?xml") and "<svg" in text


def test_learning_curves_without_validation_or_accuracy(tmp_path):
    # A regression run without validation data: accuracy and val lists hold None -> one panel.
    history = History(train_cost=[2.0, 1.0, 0.5, 0.4], train_accuracy=[None] * 4, val_cost=[None] * 4,
                      val_accuracy=[None] * 4, seconds=[0.1] * 4, lr=[0.1] * 4)
    plots.learning_curves(history, tmp_path / "reg.png")
    check_png(tmp_path / "reg.png", (520, 400))
    with pytest.raises(ValueError, match="history holds no epochs to plot"):
        plots.learning_curves(History(), tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_confusion_matrix(digits_run, tmp_path):
    ds, net, _ = digits_run
    cm = np.zeros((10, 10), dtype=np.int64)
    np.add.at(cm, (ds.y_test, net.predict(ds.X_test)), 1)
    plots.confusion_matrix(cm, ds.classes, tmp_path / "cm.png")
    check_png(tmp_path / "cm.png", (920, 800))  # 8 x 8 inches plus 1.2 for the colour bar


@pytest.mark.parametrize("cm, classes, message", [
    (np.zeros((2, 3), dtype=int), [0, 1], "cm must be a square (K, K) array of counts, got shape (2, 3)"),
    (np.array([[1.5, 0], [0, 1]]), [0, 1], "cm must hold non-negative integer counts, got dtype float64"),
    (np.eye(3, dtype=int), [0, 1], "classes must name the K = 3 classes of cm, got 2 labels"),
])
def test_confusion_matrix_errors(cm, classes, message, tmp_path):
    with pytest.raises(ValueError, match=re.escape(message)):
        plots.confusion_matrix(cm, classes, tmp_path / "cm.png")
    assert not (tmp_path / "cm.png").exists()


def test_first_layer_weights_digits_and_mnist_shapes(digits_run, tmp_path):
    _, net, _ = digits_run
    plots.first_layer_weights(net, tmp_path / "w.png")  # n_0 = 64 -> 8x8, 32 tiles in a 6 x 6 grid
    check_png(tmp_path / "w.png", (790, 720))
    big = dp.Network([784, 100, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    plots.first_layer_weights(big, tmp_path / "w784.png")  # 28x28, capped at 64 tiles: 8 x 8
    check_png(tmp_path / "w784.png", (1010, 940))
    wide = dp.Network([12, 5, 2], ["tanh", "softmax"], "cross_entropy", seed=0)
    plots.first_layer_weights(wide, tmp_path / "w12.png", image_shape=(3, 4))
    check_png(tmp_path / "w12.png", (550, 400))  # 5 tiles: 3 x 2


def test_first_layer_weights_errors(tmp_path):
    net = dp.Network([10, 3, 2], ["relu", "softmax"], "cross_entropy", seed=0)
    with pytest.raises(ValueError, match=re.escape("cannot infer an image shape for n_0 = 10 inputs")):
        plots.first_layer_weights(net, tmp_path / "w.png")
    with pytest.raises(ValueError, match=re.escape("image_shape 3x4 holds 12 pixels; the network has n_0 = 10")):
        plots.first_layer_weights(net, tmp_path / "w.png", image_shape=(3, 4))
    with pytest.raises(ValueError, match=re.escape("plot files must end in .png or .svg, got")):
        plots.first_layer_weights(net, tmp_path / "w.pdf", image_shape=(2, 5))
    assert not any(tmp_path.iterdir())


def test_decision_regions_on_higham_points(tmp_path):
    X, Y = higham_points()  # ten points, one-hot Y (10, 2)
    net = dp.Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", seed=0, init=0.5)
    net.fit(X, Y, epochs=300, batch_size=1, lr=0.5, seed=0)
    plots.decision_regions(net, X, Y, tmp_path / "regions.png", classes=["A", "B"])
    check_png(tmp_path / "regions.png", (640, 520))
    plots.decision_regions(net, X, Y.argmax(axis=1), tmp_path / "regions.svg")  # labels instead of one-hot
    assert "<svg" in (tmp_path / "regions.svg").read_text()


def test_decision_regions_errors(tmp_path):
    X, Y = higham_points()
    net = dp.Network([2, 3, 2], ["tanh", "softmax"], "cross_entropy", seed=0)
    with pytest.raises(ValueError, match=re.escape("y must hold class indices 0..1, got values from 0 to 5")):
        plots.decision_regions(net, X, np.arange(10) % 6, tmp_path / "r.png")
    with pytest.raises(ValueError, match=re.escape("classes must name the K = 2 classes, got 3 labels")):
        plots.decision_regions(net, X, Y, tmp_path / "r.png", classes=["a", "b", "c"])
    wide = dp.Network([3, 2], ["softmax"], "cross_entropy", seed=0)
    with pytest.raises(ValueError, match=re.escape("decision regions need a network with n_0 = 2 inputs, got n_0 = 3")):
        plots.decision_regions(wide, np.zeros((4, 3)), [0, 1, 0, 1], tmp_path / "r.png")
    assert not any(tmp_path.iterdir())


def test_cli_train_and_evaluate_plots(tmp_path, capsys):
    model, curves, confusion = tmp_path / "m.safetensors", tmp_path / "curves.png", tmp_path / "cm.png"
    assert main(["train", "--epochs", "2", "--hidden", "16", "--quiet", "--out", str(model), "--plot", str(curves)]) == 0
    check_png(curves, (1040, 400))
    assert main(["evaluate", str(model), "--plot", str(confusion)]) == 0
    check_png(confusion, (920, 800))
    capsys.readouterr()
    assert main(["evaluate", str(model), "--plot", str(tmp_path / "cm.jpg")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plot files must end in .png or .svg" in err


def test_check_path(tmp_path):
    plots.check_path(tmp_path / "ok.svg")
    with pytest.raises(ValueError, match=re.escape("plot files must end in .png or .svg, got")):
        plots.check_path(tmp_path / "curves.jpeg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plots.check_path(tmp_path / "missing" / "curves.png")
    assert not any(tmp_path.iterdir())

r"""scikit-learn estimators: a ``deltaprop.Network`` trained by ``deltaprop.train`` behind fit/predict.

``DeltapropClassifier`` ends in softmax + cross_entropy over the K >= 2 classes of y (K = 2
included: two softmax units); ``DeltapropRegressor`` ends in the identity with the quadratic cost
c = 1/2 ||a - y||^2 and predicts one or several outputs. Both pass scikit-learn's estimator checks
and work in ``Pipeline`` and ``GridSearchCV``. Inputs are used as given: put a ``StandardScaler``
in front of them in a Pipeline.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = DeltapropClassifier((16,), epochs=30, learning_rate=0.01, random_state=0).fit(X, y)
>>> clf.predict_proba(X[:2]).shape, len(clf.loss_curve_), clf.network_.sizes
((2, 3), 30, (4, 16, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin  # type: ignore[import-untyped]
from sklearn.utils.multiclass import check_classification_targets  # type: ignore[import-untyped]

from ..network import classes as classes_of
from ._base import _Estimator

__all__ = ["DeltapropClassifier", "DeltapropRegressor"]

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        Widths n_1..n_{L-1} of the hidden layers; (100,) with 4 inputs and 3 classes gives
        ``sizes = [4, 100, 3]``, so L = 2, W^(1) is (4, 100) and W^(2) is (100, 3).
    activation : str, default "relu"
        g_l of every hidden layer, an elementwise name of ``deltaprop.ACTIVATIONS``.
    optimizer : {"sgd", "momentum", "nesterov", "adam"}, default "adam"
    learning_rate : float or None, default None
        eta; None gives 0.001 for adam and 0.1 for the SGD family.
    schedule : None, str or dict, default None
        The factor on eta per epoch (``deltaprop.optim.SCHEDULES``): None (constant), "cosine" (over
        ``epochs``) or a config dict such as ``{"name": "step", "step_size": 10, "gamma": 0.5}``.
        ``partial_fit`` calls go on along it, one epoch per call, as the epochs of ``fit`` do.
    momentum : float in [0, 1), default 0.9
        Used by "momentum" and "nesterov" only.
    batch_size : int, default 32
        Rows per mini-batch (a batch larger than the data means full-batch gradient descent).
    epochs : int, default 50
        Passes over the training data (``fit``); ``partial_fit`` makes one pass per call.
    weight_decay : float >= 0, default 0.0
        L2 decay lambda on the weights W^(l) (never on the biases).
    early_stopping : int or None, default None
        Patience in epochs: hold out ``validation_fraction`` of the data, stop after this many
        epochs without a lower validation cost, and keep the best weights.
    validation_fraction : float in (0, 1), default 0.1
    random_state : int, RandomState or None, default None
        Seeds the initial weights, the shuffling and the hold-out split.
    dtype : {"float64", "float32"}, default "float64"
        Floating-point type of the network (float32 is faster on large data).
"""

_ATTRIBUTES = """
    Attributes
    ----------
    network_ : deltaprop.Network
        The trained network (save it with ``network_.save(path)``, export it with
        ``deltaprop.export.to_onnx(network_, path)``).
    n_features_in_ : int
        n_0.
    loss_curve_ : list of float
        The training cost C after each epoch.
    n_iter_ : int
        Epochs run by the last call: ``fit``'s epochs, or 1 after ``partial_fit`` (the meaning of
        scikit-learn's MLPClassifier; ``loss_curve_`` keeps growing over partial_fit calls).
    t_ : int
        Training rows seen by the optimiser since ``fit`` or the first ``partial_fit`` built the
        network: epochs times the rows trained on (early stopping's held-out rows not counted),
        plus the rows of every later ``partial_fit`` call.
    history_ : deltaprop.History
        The full record of the last ``fit``.
    validation_loss_curve_, best_epoch_
        Set when ``early_stopping`` is used.
"""


class DeltapropClassifier(ClassifierMixin, _Estimator):
    __doc__ = ("A feedforward network classifier: hidden layers, then softmax + cross_entropy over K >= 2 classes.\n"
               + _PARAMETERS + _ATTRIBUTES + """    classes_ : ndarray of shape (K,)
        The class labels, sorted; output unit k is the probability of classes_[k].
""")

    _output_activation = "softmax"
    _cost = "cross_entropy"

    def _targets(self, y: Any, *, first: bool, classes: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        check_classification_targets(y)
        if first:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if labels.size < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 classes; y has 1 class "
                                 f"({labels.tolist()}); to partial_fit, pass classes=[...] naming them all")
        else:
            labels = self.classes_
            if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), labels):
                raise ValueError(f"classes={list(classes)} differs from the classes of the first partial_fit "
                                 f"call, {labels.tolist()}")
        index = np.minimum(np.searchsorted(labels, y), labels.size - 1)
        unknown = labels[index] != y
        if unknown.any():
            raise ValueError(f"y holds the label {y[unknown][0].item()!r}, which is not one of the classes {labels.tolist()}")
        return index, ({"classes_": labels, "n_L": labels.size} if first else {})

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> DeltapropClassifier:
        """One epoch over (X, y), continuing the current training; the first call needs ``classes``.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        y : array-like of shape (m,)
        classes : array-like of shape (K,)
            Every class label, required on the first call (a batch may lack some classes).
        sample_weight : array-like of shape (m,), optional
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit, e.g. classes=[0, 1, 2]")
        self._partial_fit(X, y, sample_weight=sample_weight, classes=classes)
        return self

    def _network_classes(self) -> tuple[Any, ...]:
        return tuple(self.classes_.tolist())

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities a^(L), shape (m, K); column k belongs to ``classes_[k]``."""
        return self._forward(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label of each row, shape (m,)."""
        proba = self._forward(X)  # (m, K); checks first that the estimator is fitted
        return self.classes_[classes_of(proba)]  # the network's prediction rule, mapped to the labels


class DeltapropRegressor(RegressorMixin, _Estimator):
    __doc__ = ("A feedforward network regressor: hidden layers, then an identity output with the quadratic cost.\n"
               + _PARAMETERS + _ATTRIBUTES + """    n_outputs_ : int
        n_L: 1 for y of shape (m,), k for y of shape (m, k).
""")

    _output_activation = "identity"
    _cost = "quadratic"

    def _multi_output(self) -> bool:
        return True

    def _targets(self, y: Any, *, first: bool, classes: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        y = np.asarray(y)
        Y = y.reshape(y.shape[0], -1)  # (m,) -> (m, 1); (m, k) stays
        if first:
            return Y, {"n_outputs_": Y.shape[1], "_y_ndim": y.ndim, "n_L": Y.shape[1]}
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs; this regressor was fitted with {self.n_outputs_}")
        return Y, {}

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> DeltapropRegressor:
        """One epoch over (X, y), continuing the current training (the first call builds the network).

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        y : array-like of shape (m,) or (m, n_L)
        sample_weight : array-like of shape (m,), optional
        """
        self._partial_fit(X, y, sample_weight=sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """a^(L): shape (m,) when fitted on y of shape (m,), else (m, n_L)."""
        aL = self._forward(X)
        return aL[:, 0] if self._y_ndim == 1 else aL

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

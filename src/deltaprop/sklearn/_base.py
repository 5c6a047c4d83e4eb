"""The shared machinery of the scikit-learn estimators in ``deltaprop.sklearn``.

``_Estimator`` checks the constructor parameters (in ``fit``, never in ``__init__``, as
scikit-learn requires), builds the ``Network`` [n_0, *hidden_layer_sizes, n_L] and trains it
with ``deltaprop.train``. The subclasses say only what the output layer is and how targets
become rows of Y.
"""

from __future__ import annotations

import numbers
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator  # type: ignore[import-untyped]
from sklearn.utils.validation import check_is_fitted, check_random_state  # type: ignore[import-untyped]

from .. import _checks
from ..activations import ACTIVATIONS
from ..engine import forward_rowwise
from ..network import Network
from ..optim import OPTIMIZERS, make_optimizer
from ..schedules import _as_schedule
from ..train import train

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, **kwargs)

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adam": 0.001}
_SEED_MAX = 2**31 - 1


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    return int(value)


def _real(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    x = _checks.as_float(value, name)
    ok = (low < x if open_low else low <= x) and x < high
    if not ok:
        bound = f"{'(' if open_low else '['}{low:g}, {high:g})"
        raise ValueError(f"{name} must lie in {bound}, got {value!r}")
    return x


@contextmanager
def _restored_on_error(estimator: Any) -> Iterator[None]:
    """Put back every attribute of the estimator if the block raises (weights are replaced, not edited, by fit)."""
    before = dict(vars(estimator))
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


class _Estimator(BaseEstimator, metaclass=ABCMeta):
    """Base of DeltapropClassifier and DeltapropRegressor (see their docstrings for the parameters)."""

    _output_activation = "identity"
    _cost = "quadratic"
    loss_curve_: list[float]  # fitted attributes, set by fit (annotations only: none exist before)
    n_iter_: int  # epochs run by the last fit or partial_fit call (1 for partial_fit), as in scikit-learn's MLP
    t_: int  # training rows seen by the optimiser since the network was built (MLP's t_)

    def __init__(self, hidden_layer_sizes: Any = (100,), *, activation: str = "relu", optimizer: str = "adam",
                 learning_rate: float | None = None, schedule: Any = None, momentum: float = 0.9,
                 batch_size: int = 32, epochs: int = 50, weight_decay: float = 0.0, early_stopping: int | None = None,
                 validation_fraction: float = 0.1, random_state: Any = None, dtype: str = "float64") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.dtype = dtype

    # ----- parameters, checked at fit time -------------------------------------------------
    def _hidden(self) -> tuple[int, ...]:
        h = self.hidden_layer_sizes
        if isinstance(h, numbers.Integral) and not isinstance(h, bool):
            h = (h,)
        if isinstance(h, (str, bytes)) or not hasattr(h, "__iter__"):
            raise TypeError(f"hidden_layer_sizes must be a tuple of layer widths such as (100,), got {h!r}")
        return tuple(_int("hidden_layer_sizes entries", n, 1) for n in h)

    def _check_params(self) -> dict[str, Any]:
        """The parameters, checked: a ValueError or TypeError names the first bad one."""
        hidden_names = sorted(n for n, cls in ACTIVATIONS.items() if getattr(cls, "elementwise", True))
        if self.activation not in hidden_names:
            raise ValueError(f"activation must be one of {', '.join(hidden_names)}, got {self.activation!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        lr = DEFAULT_LR[self.optimizer] if self.learning_rate is None else self.learning_rate
        p = {"hidden": self._hidden(), "lr": _real("learning_rate", lr, 0.0, np.inf, open_low=True),
             "momentum": _real("momentum", self.momentum, 0.0, 1.0),
             "batch_size": _int("batch_size", self.batch_size, 1), "epochs": _int("epochs", self.epochs, 1),
             "weight_decay": _real("weight_decay", self.weight_decay, 0.0, np.inf),
             "early_stopping": None if self.early_stopping is None else _int("early_stopping", self.early_stopping, 1),
             "validation_fraction": _real("validation_fraction", self.validation_fraction, 0.0, 1.0, open_low=True),
             "dtype": _checks.dtype(self.dtype)}
        # "cosine" by name runs over the epochs of fit (over that many partial_fit calls), as in train
        p["schedule"] = {"name": "cosine", "total_epochs": p["epochs"]} if self.schedule == "cosine" else self.schedule
        _as_schedule(p["schedule"])  # a ValueError or TypeError for a bad one, before anything changes
        return p

    def _make_optimizer(self, p: dict[str, Any]) -> Any:
        options: dict[str, Any] = {"lr": p["lr"], "weight_decay": p["weight_decay"], "schedule": p["schedule"]}
        if self.optimizer in ("momentum", "nesterov"):
            options["momentum"] = p["momentum"]
        return make_optimizer(self.optimizer, **options)

    # ----- hooks of the subclasses ------------------------------------------------------------
    @abstractmethod
    def _targets(self, y: Any, *, first: bool, classes: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Rows of Y for the network (class indices (m,) or values (m, n_L)), and on the first call
        the fitted attributes they imply (set only once every check has passed)."""

    # ----- fitting ------------------------------------------------------------------------------
    def _validate(self, X: Any, y: Any, dtype: np.dtype[Any], *, reset: bool) -> tuple[np.ndarray, Any]:
        multi = self._multi_output()
        return _validate_data(self, X, y, reset=reset, dtype=dtype, multi_output=multi, y_numeric=multi)

    def _multi_output(self) -> bool:
        return False

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _Estimator:
        """Train a new network on X (m, n_0) and y; ``sample_weight`` (m,) weighs each sample's cost.

        A fit that fails (bad input, or training that diverges) leaves the estimator as it was.

        Returns
        -------
        self
        """
        with _restored_on_error(self):
            p = self._check_params()
            X, y = self._validate(X, y, p["dtype"], reset=True)
            Y, fitted = self._targets(y, first=True)
            w = _checks.sample_weight(sample_weight, X.shape[0], p["dtype"])
            seeds = check_random_state(self.random_state).randint(_SEED_MAX, size=3)
            self._start(p, X.shape[1], fitted, seeds=seeds)
            validation = None
            if p["early_stopping"] is not None:
                X, Y, w, validation = self._hold_out(X, Y, w, p["validation_fraction"], int(seeds[2]))
            history = train(self.network_, X, Y, epochs=p["epochs"], batch_size=p["batch_size"],
                            optimizer=self.optimizer_, sample_weight=w, validation=validation,
                            early_stopping=p["early_stopping"], seed=self._next_seed())
            self._record(history, validation is not None, m=X.shape[0])
        return self

    def _partial_fit(self, X: Any, y: Any, sample_weight: Any = None, **kwargs: Any) -> _Estimator:
        """One epoch over (X, y) (in mini-batches), continuing from the current weights and optimizer state.

        The first call builds the network (the classifier then needs ``classes``). The parameters
        are read on that call; later calls keep them.
        """
        with _restored_on_error(self):
            first = not hasattr(self, "network_")
            p = self._check_params() if first else self._params
            X, y = self._validate(X, y, p["dtype"], reset=first)
            Y, fitted = self._targets(y, first=first, **kwargs)
            w = _checks.sample_weight(sample_weight, X.shape[0], p["dtype"])
            if first:
                self._start(p, X.shape[1], fitted, seeds=check_random_state(self.random_state).randint(_SEED_MAX, size=2))
            history = train(self.network_, X, Y, epochs=1, batch_size=p["batch_size"], optimizer=self.optimizer_,
                            sample_weight=w, seed=self._next_seed())
            self.loss_curve_ = [*self.loss_curve_, *history.train_cost]
            self.n_iter_ = history.epochs  # the passes of this call (scikit-learn's MLP: 1)
            self.t_ += history.epochs * X.shape[0]
        return self

    def _start(self, p: dict[str, Any], n_0: int, fitted: dict[str, Any], *, seeds: np.ndarray) -> None:
        """A new network and optimizer; seeds[0] draws the weights, seeds[1] seeds every later shuffle."""
        hidden = p["hidden"]
        net = Network([n_0, *hidden, fitted["n_L"]], [self.activation] * len(hidden) + [self._output_activation],
                      self._cost, dtype=p["dtype"], seed=int(seeds[0]))
        optimizer = self._make_optimizer(p)
        for name, value in fitted.items():
            if name != "n_L":
                setattr(self, name, value)
        net.classes = self._network_classes()
        self.network_, self.optimizer_ = net, optimizer
        self._params = p
        self._seeds = np.random.default_rng(int(seeds[1]))
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.t_ = 0
        for stale in ("history_", "validation_loss_curve_", "best_epoch_"):  # from an earlier fit
            self.__dict__.pop(stale, None)

    def _network_classes(self) -> tuple[Any, ...] | None:
        return None

    def _next_seed(self) -> int:
        return int(self._seeds.integers(_SEED_MAX))

    @staticmethod
    def _hold_out(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, fraction: float,
                  seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
        m = X.shape[0]
        n_val = max(1, round(fraction * m))
        if m - n_val < 1:
            raise ValueError(f"early_stopping holds out validation_fraction = {fraction:g} of the data for "
                             f"validation; with m = {m} samples nothing is left to train on")
        order = np.random.default_rng(seed).permutation(m)
        val, keep = order[:n_val], order[n_val:]
        return X[keep], Y[keep], None if w is None else w[keep], (X[val], Y[val])

    def _record(self, history: Any, validated: bool, *, m: int) -> None:
        self.history_ = history
        self.loss_curve_ = list(history.train_cost)
        self.n_iter_ = history.epochs
        self.t_ = history.epochs * m  # m: the rows trained on (without the held-out validation rows)
        if validated:
            self.validation_loss_curve_ = list(history.val_cost)
            self.best_epoch_ = history.best_epoch

    def _forward(self, X: Any) -> np.ndarray:
        """a^(L) (m, n_L), each row computed from its row of X alone: the same whatever the other rows."""
        check_is_fitted(self, "network_")
        X = _validate_data(self, X, reset=False, dtype=self.network_.dtype)
        return forward_rowwise(self.network_, X)  # net.forward(X, rowwise=True), compiled when it can be

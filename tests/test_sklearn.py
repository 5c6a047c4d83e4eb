"""deltaprop.sklearn: scikit-learn's own estimator checks, closed-form truths, Pipeline and GridSearchCV."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from deltaprop.sklearn import DeltapropClassifier, DeltapropRegressor

# The defaults, plus a float32 deep tanh/nesterov classifier and an early-stopping softplus regressor.
ESTIMATORS = [
    DeltapropClassifier(),
    DeltapropRegressor(),
    DeltapropClassifier(hidden_layer_sizes=(8, 8), activation="tanh", optimizer="nesterov", learning_rate=0.01,
                        dtype="float32"),
    DeltapropRegressor(hidden_layer_sizes=(16,), activation="softplus", early_stopping=3, weight_decay=1e-4),
]


def expected_failures(estimator: object) -> dict[str, str]:
    """Checks that cannot pass for a given configuration, with the reason."""
    params = estimator.get_params()  # type: ignore[attr-defined]
    if params["dtype"] == "float32":
        # Weights 2 vs a repeated row agree to float32 rounding (about 1e-7 relative) only; the check
        # compares at rtol 1e-7. In float64 (the default) the same check passes.
        return {"check_sample_weight_equivalence_on_dense_data": "float32 rounding exceeds the check's rtol=1e-7"}
    if params["early_stopping"] is not None:
        # The held-out validation rows are drawn from the rows given: repeating rows changes the draw.
        return {"check_sample_weight_equivalence_on_dense_data": "early stopping holds out different rows"}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_dataframe_column_names_are_kept_and_checked(estimator):
    # scikit-learn's own check, which parametrize_with_checks does not yield (1.9): fit on a DataFrame
    # sets feature_names_in_; predict and a later partial_fit with other column names raise, without names warn.
    pytest.importorskip("pandas")
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    check_dataframe_column_names_consistency(type(estimator).__name__, clone(estimator).set_params(epochs=3))


# ----- independent truths ---------------------------------------------------------------------

def test_no_hidden_layer_regressor_is_least_squares():
    # L = 1, identity output, quadratic cost: the minimiser is numpy's least-squares solution.
    X, y = make_regression(n_samples=60, n_features=3, noise=0.5, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    reg = DeltapropRegressor((), optimizer="momentum", learning_rate=0.1, batch_size=60, epochs=400,
                             random_state=0).fit(X, y)
    A = np.hstack([X, np.ones((60, 1))])  # (m, n_0 + 1): the bias as a column of ones
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    W, b = reg.network_.weights[0], reg.network_.biases[0]
    assert W.shape == (3, 1) and b.shape == (1,)
    np.testing.assert_allclose(W[:, 0], theta[:3], rtol=0, atol=1e-8, err_msg="W^(1)")
    np.testing.assert_allclose(b, theta[3:], rtol=0, atol=1e-8, err_msg="b^(1)")
    pred = reg.predict(X)
    assert pred.shape == (60,)
    np.testing.assert_allclose(pred, A @ theta, rtol=0, atol=1e-7)


def test_no_hidden_layer_classifier_is_logistic_regression():
    # L = 1 with softmax + cross_entropy is multinomial logistic regression. Our cost is
    # (1/m) sum c + (lambda/2)||W||^2 (biases not decayed); scikit-learn's is C sum c + (1/2)||W||^2,
    # the same minimiser when lambda = 1 / (C m).
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    m, C = X.shape[0], 1.0
    clf = DeltapropClassifier((), optimizer="adam", learning_rate=0.05, batch_size=m, epochs=3000,
                              weight_decay=1 / (C * m), random_state=0).fit(X, y)
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba, ref.predict_proba(X), rtol=0, atol=1e-4)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_zero_weight_equals_removing_the_rows():
    # Full-batch gradient descent: C = sum w_i c_i / sum w_i ignores rows of weight 0 exactly.
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    w = np.ones(150)
    w[::3] = 0
    kw = {"hidden_layer_sizes": (5,), "batch_size": 500, "epochs": 20, "random_state": 1}  # one batch per epoch
    a = DeltapropClassifier(**kw).fit(X, y, sample_weight=w).predict_proba(X)
    b = DeltapropClassifier(**kw).fit(X[w > 0], y[w > 0]).predict_proba(X)
    assert a.shape == b.shape == (150, 3)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)  # only the order of the sums differs


def test_partial_fit_once_equals_one_epoch_of_fit():
    X, y = load_iris(return_X_y=True)
    a = DeltapropClassifier((6,), epochs=1, random_state=3).fit(X, y)
    b = DeltapropClassifier((6,), random_state=3).partial_fit(X, y, classes=[0, 1, 2])
    assert b.n_iter_ == 1 and len(b.loss_curve_) == 1
    np.testing.assert_array_equal(a.network_.weights[0], b.network_.weights[0])
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=0, atol=0)


def test_partial_fit_continues_and_needs_classes_first():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = DeltapropClassifier((8,), learning_rate=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:10], y[:10])
    assert not hasattr(clf, "network_")
    clf.partial_fit(X[:50], y[:50], classes=np.array([0, 1, 2]))  # the first 50 rows are all class 0
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 31  # n_iter_: the last call's passes (MLP's meaning)
    assert clf.loss_curve_[-1] < clf.loss_curve_[1]
    assert clf.score(X, y) > 0.9
    W = clf.network_.weights[0].copy()
    with pytest.raises(ValueError, match=re.escape("y holds the label 7, which is not one of the classes [0, 1, 2]")):
        clf.partial_fit(X[:3], [0, 1, 7])
    np.testing.assert_array_equal(clf.network_.weights[0], W)
    assert len(clf.loss_curve_) == 31


def test_regressor_multioutput_and_shapes():
    X, Y = make_regression(n_samples=80, n_features=4, n_targets=3, noise=0.1, random_state=0)
    X, Y = StandardScaler().fit_transform(X), Y / Y.std(axis=0)
    reg = DeltapropRegressor((32,), epochs=200, learning_rate=0.01, random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.network_.sizes == (4, 32, 3)
    assert reg.predict(X).shape == (80, 3)
    assert reg.score(X, Y) > 0.95
    one = DeltapropRegressor((4,), epochs=2, random_state=0).fit(X, Y[:, :1])  # y of shape (m, 1)
    assert one.predict(X).shape == (80, 1)


def test_fit_records_history_and_early_stopping():
    X, y = load_digits(return_X_y=True)
    clf = DeltapropClassifier((16,), epochs=200, early_stopping=2, learning_rate=0.01, random_state=0)
    clf.fit(X / 16, y)
    assert clf.history_.stopped_early and clf.n_iter_ < 200
    assert len(clf.validation_loss_curve_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_epoch_ == int(np.argmin(clf.validation_loss_curve_))
    clf.set_params(early_stopping=None, epochs=2).fit(X / 16, y)
    assert not hasattr(clf, "validation_loss_curve_") and clf.n_iter_ == 2


def test_string_labels_and_pickle():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = DeltapropClassifier((8,), epochs=40, learning_rate=0.01, random_state=0).fit(X, names)
    assert clf.network_.classes == ("setosa", "versicolor", "virginica")
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    assert set(clf.predict(X)) <= set(names)


# ----- errors: clear, raised in fit, and nothing changed ----------------------------------------

@pytest.mark.parametrize("param, value, error, message", [
    ("hidden_layer_sizes", (10, 0), ValueError, "hidden_layer_sizes entries must be an integer >= 1, got 0"),
    ("hidden_layer_sizes", "10", TypeError, "hidden_layer_sizes must be a tuple of layer widths"),
    ("activation", "softmax", ValueError, "activation must be one of"),
    ("optimizer", "lbfgs", ValueError, "optimizer must be one of sgd, momentum, nesterov, adam, got 'lbfgs'"),
    ("learning_rate", 0.0, ValueError, "learning_rate must lie in (0, inf), got 0.0"),
    pytest.param("learning_rate", 10**400, ValueError, "learning_rate is too large for a float (at most 1.79769e+308), got an integer of 401 digits", id="learning_rate-10**400"),
    pytest.param("momentum", 10**400, ValueError, "momentum is too large for a float (at most 1.79769e+308), got an integer of 401 digits", id="momentum-10**400"),
    ("momentum", 1.0, ValueError, "momentum must lie in [0, 1), got 1.0"),
    ("schedule", "linear", ValueError, "unknown schedule 'linear'; known names: constant, step, cosine."),
    ("schedule", "step", TypeError, "schedule 'step' needs the option step_size; give it as a config dict"),
    ("batch_size", 0, ValueError, "batch_size must be an integer >= 1, got 0"),
    ("epochs", 2.5, TypeError, "epochs must be an integer >= 1, got 2.5"),
    ("early_stopping", 0, ValueError, "early_stopping must be an integer >= 1, got 0"),
    ("validation_fraction", 1.0, ValueError, "validation_fraction must lie in (0, 1), got 1.0"),
    ("dtype", "float16", ValueError, "dtype must be one of float32, float64, got 'float16'"),
])
def test_bad_parameters_raise_in_fit_and_change_nothing(param, value, error, message):
    X, y = load_iris(return_X_y=True)
    clf = DeltapropClassifier((4,), epochs=2, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(**{param: value})  # accepted as given; checked at fit time
    with pytest.raises(error, match=re.escape(message)):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_features_in_ == 4


def test_bad_data_changes_nothing():
    X, y = load_iris(return_X_y=True)
    reg = DeltapropRegressor((4,), epochs=2, random_state=0).fit(X, y)
    before = reg.predict(X)
    with pytest.raises(ValueError, match=re.escape("sample_weight must have shape (m,) = (150,), got shape (3,)")):
        reg.fit(X[:, :2], np.c_[y, y], sample_weight=[1, 2, 3])
    assert reg.n_features_in_ == 4 and reg.n_outputs_ == 1
    np.testing.assert_array_equal(reg.predict(X), before)
    with pytest.raises(ValueError, match="X has 2 features, but DeltapropRegressor is expecting 4"):
        reg.predict(X[:, :2])


def test_one_class_and_unfitted():
    with pytest.raises(ValueError, match=re.escape("needs at least 2 classes; y has 1 class ([3])")):
        DeltapropClassifier().fit(np.ones((4, 2)), [3, 3, 3, 3])
    with pytest.raises(NotFittedError):
        DeltapropClassifier().predict(np.ones((1, 2)))


# ----- Pipeline and GridSearchCV ---------------------------------------------------------------

def test_pipeline_on_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    pipe = Pipeline([("scale", StandardScaler()), ("net", DeltapropClassifier((64,), epochs=20, random_state=0))])
    pipe.fit(X_train, y_train)
    assert pipe.predict_proba(X_test).shape == (len(y_test), 10)
    assert pipe.score(X_test, y_test) > 0.95


def test_grid_search_over_pipeline():
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("net", DeltapropClassifier(epochs=15, random_state=0))])
    grid = {"net__hidden_layer_sizes": [(2,), (16,)], "net__learning_rate": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 4
    # 15 epochs at eta = 1e-4 barely move the weights; eta = 1e-2 learns iris.
    assert search.best_params_["net__learning_rate"] == 1e-2
    assert search.best_score_ > 0.85
    best = clone(search.best_estimator_)
    assert best.get_params()["net__hidden_layer_sizes"] == search.best_params_["net__hidden_layer_sizes"]


# ----- outputs that do not depend on the other rows --------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("Estimator", [DeltapropClassifier, DeltapropRegressor])
def test_each_rows_output_is_the_same_whatever_the_other_rows(Estimator, dtype):
    # scikit-learn's check_methods_sample_order_invariance failed 3/3 on another machine for the float32
    # classifier: BLAS computes a row of a^(l-1) W^(l) differently depending on where the row sits in the
    # block and how many rows there are (here too: one row goes through gemv, many through gemm, and
    # with 33 inputs and 17 units a permutation of 65 rows changes some last bits). Each output row must
    # depend on its input row alone, bit for bit: permuted, alone, or among any number of rows.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((65, 33))
    y = rng.integers(0, 3, 65) if Estimator is DeltapropClassifier else rng.standard_normal(65)
    est = Estimator((17,), activation="tanh", epochs=2, dtype=dtype, random_state=0).fit(X, y)
    out = est.predict_proba if Estimator is DeltapropClassifier else est.predict
    P = out(X)
    assert P.shape[0] == 65 and P.dtype == np.dtype(dtype)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(65)
        np.testing.assert_array_equal(out(X[perm]), P[perm], err_msg="rows permuted")
    alone = np.concatenate([out(X[i:i + 1]) for i in range(65)])
    np.testing.assert_array_equal(alone, P, err_msg="one row at a time")
    for k in (2, 5, 16, 17, 33, 64):
        np.testing.assert_array_equal(out(X[-k:]), P[-k:], err_msg=f"the last {k} rows")


# ----- partial_fit: scikit-learn's contract -------------------------------------------------------

def _adam_by_hand(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step written from Kingma and Ba's formulas (t, m, v carried in ``state``)."""
    state["t"] += 1
    t = state["t"]
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        state["m"][i] = beta1 * state["m"][i] + (1 - beta1) * g
        state["v"][i] = beta2 * state["v"][i] + (1 - beta2) * g * g
        m_hat, v_hat = state["m"][i] / (1 - beta1**t), state["v"][i] / (1 - beta2**t)
        out.append(p - lr * m_hat / (np.sqrt(v_hat) + eps))
    return out


def _chunked(Estimator, m: int, seed: int):
    """X (m, 3), targets of the estimator's kind, and the first partial_fit call's extra arguments."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 3))
    y = rng.integers(0, 3, size=m) if Estimator is DeltapropClassifier else rng.normal(size=m)
    return X, y, ({"classes": [0, 1, 2]} if Estimator is DeltapropClassifier else {})


@pytest.mark.parametrize("Estimator", [DeltapropClassifier, DeltapropRegressor])
def test_partial_fit_over_chunks_keeps_the_adam_state_between_calls(Estimator):
    # batch_size = chunk size: each call is one full-batch Adam step on its chunk, so the run is
    # fixed by the formulas: t counts 2, 3, 4 across calls and m, v carry over (a reset would restart t).
    X, y, kwargs = _chunked(Estimator, 80, seed=0)
    est = Estimator((4,), optimizer="adam", learning_rate=0.01, batch_size=20, random_state=1)
    est.partial_fit(X[:20], y[:20], **kwargs)  # builds the network and takes step t = 1
    net = est.network_.copy()
    params = net.weights + net.biases
    after_one = est.optimizer_.state_dict()
    state = {"t": 1, "m": after_one["m"], "v": after_one["v"]}
    for k in range(1, 4):
        rows = slice(20 * k, 20 * k + 20)
        Y = y[rows] if Estimator is DeltapropClassifier else y[rows, None]  # class indices, or (m, 1)
        net.weights, net.biases = params[:2], params[2:]
        dW, db = net.gradients(X[rows], Y)
        params = _adam_by_hand(params, dW + db, state, lr=0.01)
        est.partial_fit(X[rows], y[rows])
    assert est.optimizer_.t == 4
    for got, want, name in zip(est.network_.weights + est.network_.biases, params, ["W1", "W2", "b1", "b2"]):
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=name)  # sum order differs
    assert est.n_iter_ == 1 and est.t_ == 80 and len(est.loss_curve_) == 4  # scikit-learn's MLP counts


@pytest.mark.parametrize("Estimator", [DeltapropClassifier, DeltapropRegressor])
def test_partial_fit_calls_go_on_along_the_schedule(Estimator):
    # batch_size = chunk size and plain SGD: call k (counted from 0) is one step W <- W - eta_k dW on
    # its chunk, with the step schedule's eta_k = 0.1 * 0.5 ** (k // 2), as epoch k of fit would have it.
    X, y, kwargs = _chunked(Estimator, 120, seed=5)
    est = Estimator((4,), optimizer="sgd", learning_rate=0.1, batch_size=20, random_state=2,
                    schedule={"name": "step", "step_size": 2, "gamma": 0.5})
    est.partial_fit(X[:20], y[:20], **kwargs)  # call 0 builds the network and steps with eta_0 = 0.1
    assert est.optimizer_.eta == 0.1
    net = est.network_.copy()
    params = net.weights + net.biases
    for k, eta in zip(range(1, 6), [0.1, 0.05, 0.05, 0.025, 0.025]):
        rows = slice(20 * k, 20 * k + 20)
        Y = y[rows] if Estimator is DeltapropClassifier else y[rows, None]  # class indices, or (m, 1)
        net.weights, net.biases = params[:2], params[2:]
        dW, db = net.gradients(X[rows], Y)
        params = [p - eta * g for p, g in zip(params, dW + db)]
        est.partial_fit(X[rows], y[rows])
        assert est.optimizer_.eta == eta, f"call {k}"
    for got, want, name in zip(est.network_.weights + est.network_.biases, params, ["W1", "W2", "b1", "b2"]):
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=name)  # sum order differs


def test_cosine_by_name_spans_the_epochs_of_fit():
    X, y = load_iris(return_X_y=True)
    by_name = DeltapropClassifier((4,), epochs=4, schedule="cosine", random_state=0).fit(X, y)
    by_dict = DeltapropClassifier((4,), epochs=4, schedule={"name": "cosine", "total_epochs": 4}, random_state=0)
    by_dict.fit(X, y)
    cosine = [1e-3 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)]  # adam's lr, epochs 0..3 of T = 4
    assert by_name.history_.lr == by_dict.history_.lr == pytest.approx(cosine, rel=1e-15)
    np.testing.assert_array_equal(by_name.predict_proba(X), by_dict.predict_proba(X))
    assert by_name.get_params()["schedule"] == "cosine"  # the parameter is kept as given


@pytest.mark.parametrize("Estimator", [DeltapropClassifier, DeltapropRegressor])
def test_n_iter_and_t_count_like_scikit_learn_mlp(Estimator):
    # scikit-learn's MLP: n_iter_ is the passes of the last call, t_ the rows seen since the network was built.
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    X, y = load_iris(return_X_y=True)
    is_clf = Estimator is DeltapropClassifier
    kwargs = {"classes": [0, 1, 2]} if is_clf else {}
    ours = Estimator((4,), random_state=0)
    theirs = (MLPClassifier if is_clf else MLPRegressor)(hidden_layer_sizes=(4,), random_state=0)
    for rows in (slice(0, 50), slice(50, 120), slice(120, 150), slice(0, 150)):
        ours.partial_fit(X[rows], y[rows], **kwargs)
        theirs.partial_fit(X[rows], y[rows], **kwargs)
        assert (ours.n_iter_, ours.t_, len(ours.loss_curve_)) == (theirs.n_iter_, theirs.t_, len(theirs.loss_curve_))
    assert (ours.n_iter_, ours.t_) == (1, 300)
    fitted = Estimator((4,), epochs=3, random_state=0).fit(X, y)
    assert (fitted.n_iter_, fitted.t_) == (3, 450)
    stopped = Estimator((4,), epochs=40, early_stopping=2, validation_fraction=0.2, random_state=0).fit(X, y)
    n_iter = stopped.n_iter_
    assert stopped.t_ == n_iter * 120  # 30 of the 150 rows are held out, never trained on
    stopped.partial_fit(X[:10], y[:10])  # partial_fit after fit continues the count
    assert (stopped.n_iter_, stopped.t_) == (1, n_iter * 120 + 10)


def test_partial_fit_with_classes_missing_from_a_chunk():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = DeltapropClassifier((5,), random_state=0)
    clf.partial_fit(X[100:], labels[100:], classes=["virginica", "setosa", "versicolor"])  # only virginica
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.predict_proba(X[:4]).shape == (4, 3)
    clf.partial_fit(X[:50], labels[:50])  # only setosa, and no classes: later calls may omit them
    clf.partial_fit(X[:50], labels[:50], classes=np.array(["setosa", "versicolor", "virginica"]))  # same set
    assert clf.t_ == 150 and set(clf.predict(X)) <= set(clf.classes_)


@pytest.mark.parametrize("Estimator", [DeltapropClassifier, DeltapropRegressor])
def test_partial_fit_errors_change_nothing(Estimator):
    X, y = load_iris(return_X_y=True)
    is_clf = Estimator is DeltapropClassifier
    est = Estimator((5,), random_state=0)
    first = {"classes": [0, 1, 2]} if is_clf else {}
    est.partial_fit(X, y, **first)
    before = ([W.copy() for W in est.network_.weights], est.n_iter_, est.t_, list(est.loss_curve_),
              est.optimizer_.t)

    def unchanged():
        after = (est.network_.weights, est.n_iter_, est.t_, est.loss_curve_, est.optimizer_.t)
        for W0, W1 in zip(before[0], after[0]):
            np.testing.assert_array_equal(W0, W1)
        assert before[1:] == after[1:]

    with pytest.raises(ValueError, match=re.escape(f"X has 3 features, but {Estimator.__name__} is expecting 4")):
        est.partial_fit(X[:, :3], y)
    unchanged()
    if is_clf:
        with pytest.raises(ValueError, match=re.escape("classes=[0, 1] differs from the classes of the first "
                                                       "partial_fit call, [0, 1, 2]")):
            est.partial_fit(X, y, classes=[0, 1])
        unchanged()
        with pytest.raises(ValueError, match="classes must be passed on the first call"):
            clone(est).partial_fit(X, y)
    else:
        with pytest.raises(ValueError, match=re.escape("y has 2 outputs; this regressor was fitted with 1")):
            est.partial_fit(X, np.c_[y, y])
        unchanged()

"""Scale-out: a GridSearchCV over deltaprop estimators through joblib's dask backend on a real cluster.

A LocalCluster runs a scheduler and two worker processes on 127.0.0.1, which is exactly what a
remote cluster looks like to the client (``Client("tcp://scheduler:8786")``). Each fit is seeded,
so the distributed search must reproduce the serial one score for score.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.sklearn import DeltapropClassifier

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


def _search() -> GridSearchCV:
    pipe = Pipeline([("scale", StandardScaler()), ("net", DeltapropClassifier(epochs=10, random_state=0))])
    grid = {"net__hidden_layer_sizes": [(4,), (16,)], "net__learning_rate": [1e-3, 1e-2],
            "net__activation": ["relu", "tanh"]}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=-1)


def test_grid_search_on_a_dask_cluster_equals_the_serial_search():
    X, y = load_iris(return_X_y=True)
    serial = _search().set_params(n_jobs=1).fit(X, y)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_backend("dask"):
            spread = _search().fit(X, y)
        # the work really ran on the cluster: the workers hold task records
        ran = client.run(lambda dask_worker: len(dask_worker.state.log))
        assert len(ran) == 2 and all(n > 0 for n in ran.values())

    n_candidates = 8
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "split2_test_score"):
        assert spread.cv_results_[key].shape == serial.cv_results_[key].shape == (n_candidates,)
        np.testing.assert_allclose(spread.cv_results_[key], serial.cv_results_[key], rtol=0, atol=1e-12,
                                   err_msg=key)
    assert spread.cv_results_["params"] == serial.cv_results_["params"]
    assert spread.best_params_ == serial.best_params_
    np.testing.assert_array_equal(spread.predict(X), serial.predict(X))

"""Tests for deltaprop.datasets.scaling: each kind's map against hand arithmetic, JSON round trips, bad input."""

import numpy as np
import pytest

from deltaprop.datasets.scaling import Scaling


def test_each_kind_maps_rows_as_computed_by_hand():
    X = np.array([[0.0, 10.0], [4.0, 30.0]])
    assert np.array_equal(Scaling().apply(X), X)
    assert np.array_equal(Scaling.divide(4.0).apply(X), [[0.0, 2.5], [1.0, 7.5]])
    s = Scaling.standardize_from(X)  # means (2, 20), population std (2, 10)
    assert s.mean == (2.0, 20.0) and s.std == (2.0, 10.0)
    assert np.array_equal(s.apply(X), [[-1.0, -1.0], [1.0, 1.0]])


@pytest.mark.parametrize("scaling", [Scaling(), Scaling.divide(255.0), Scaling.standardize_from(np.eye(3))])
def test_json_round_trip_is_exact(scaling):
    assert Scaling.from_json(scaling.to_json()) == scaling


@pytest.mark.parametrize("make, message", [
    (lambda: Scaling("log"), "Scaling kind must be one of"),
    (lambda: Scaling.divide(0.0), "scale"),
    (lambda: Scaling.from_json({"kind": "divide"}), "needs keys"),
    (lambda: Scaling.standardize_from(np.array([[np.nan, 1.0]])), "non-finite value nan at row 0, column 0"),
])
def test_bad_scalings_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()

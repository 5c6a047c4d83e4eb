"""Tests for deltaprop.schedules: each schedule's factor at hand-computed epochs.

Bad options and epochs are refused in tests/test_optim.py's table of errors, beside the optimisers'.
"""

import math

import numpy as np
import pytest

from deltaprop.optim import make_optimizer
from deltaprop.schedules import SCHEDULES, Constant, Cosine, StepDecay, make_schedule


def check(actual, expected, name, *, atol=0.0):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=atol, err_msg=name)


def test_schedule_factors_at_specific_epochs():
    assert [Constant()(e) for e in (0, 1, 100)] == [1.0, 1.0, 1.0]
    # gamma ** (epoch // 3) with gamma = 0.5
    assert [StepDecay(3, gamma=0.5)(e) for e in (0, 2, 3, 5, 6, 9)] == [1, 1, 0.5, 0.5, 0.25, 0.125]
    cosine = Cosine(10)
    # (1 + cos(pi * e / 10)) / 2: e = 0 -> 1, 5 -> 0.5, 10 -> 0
    check(np.array([cosine(0), cosine(5), cosine(10)]), [1.0, 0.5, 0.0], "cosine", atol=1e-15)
    # min 0.1: 0.1 + 0.9 * (1 + cos(pi / 4)) / 2 at e = 1 of 4: 0.1 + 0.9 * 0.853553390593274 = 0.868198051533946
    floor = Cosine(4, min_factor=0.1)
    check(np.array([floor(1), floor(2), floor(4), floor(7)]), [0.868198051533946, 0.55, 0.1, 0.1], "floored")


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_schedule_starts_at_one_and_rebuilds_from_its_config(name):
    options = {"step": {"step_size": 3}, "cosine": {"total_epochs": 5}}.get(name, {})
    schedule = make_schedule(name, **options)
    assert schedule(0) == 1.0
    again = make_schedule(**schedule.config())
    assert [again(e) for e in range(8)] == [schedule(e) for e in range(8)]
    assert all(0.0 <= schedule(e) <= 1.0 and math.isfinite(schedule(e)) for e in range(20))


def test_a_missing_required_option_is_named():
    # Cosine needs total_epochs; the error names it and the form to write, not Python's "missing argument"
    with pytest.raises(TypeError, match=r"schedule 'cosine' needs the option total_epochs"):
        make_schedule("cosine")
    with pytest.raises(TypeError, match=r"schedule 'step' needs the option step_size"):
        make_optimizer("sgd", lr=0.1, schedule="step")

"""Training results do not depend on where the engine's code lives: every kernel path, bit for bit.

``data/bit_identical.json`` holds the final parameters (a SHA-256 of their bytes and a sample of
their values) of fixed runs (``bit_identical_cases``), recorded by ``data/make_bit_identical.py``
on the code before the engine moved into ``deltaprop/engine``. On the machine setup that recorded
them (NumPy, numba, BLAS kernels) every run must give exactly those bytes; elsewhere BLAS may
round differently, and the sampled values must agree to a tolerance of the dtype.
"""

import json
from pathlib import Path

import bit_identical_cases as cases
import numpy as np
import pytest

from deltaprop.engine import support

RECORD = json.loads((Path(__file__).parent / "data" / "bit_identical.json").read_text())
needs_numba = pytest.mark.skipif(not support.available(), reason="numba is not installed")


def marks(path):
    return [needs_numba] if path.startswith("compiled") else []


@pytest.mark.parametrize("name,path", [pytest.param(n, p, marks=marks(p), id=f"{n}-{p}") for n, p in cases.runs()])
def test_training_gives_the_recorded_parameters(name, path):
    want = RECORD["runs"][f"{name} {path}"]
    params = cases.run(name, path)
    assert len(params) == len(want["sample"]), "number of parameter arrays"
    rtol = 1e-4 if params[0].dtype == np.float32 else 1e-9
    for i, (p, values) in enumerate(zip(params, want["sample"])):
        got = p.ravel()[:: max(1, p.size // 8)].astype(np.float64)
        assert got.shape == (len(values),), f"params[{i}]: shape"
        np.testing.assert_allclose(got, values, rtol=rtol, atol=rtol * 1e-3, err_msg=f"params[{i}] of {name} {path}")
    if cases.environment() != RECORD["environment"]:
        pytest.skip(f"recorded on {RECORD['environment']}: bytes compared only there (values agreed)")
    assert cases.digest(params) == want["sha256"], f"{name} {path}: the parameters' bytes changed"

"""The package's layout: the layers as an import-linter contract, and the old paths that still work (deprecated)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Old top-level paths named in the README or the API docs, and where each moved.
MOVED = {"deltaprop.idx": "deltaprop.datasets.idx", "deltaprop.scaling": "deltaprop.datasets.scaling",
         **{f"deltaprop.{m}": f"deltaprop.teach.{m}" for m in ("notation", "explain", "check", "slips", "render")},
         **{f"deltaprop.{m}": "deltaprop.engine" for m in ("fast", "kernels", "sparse")}}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_reexports_the_same_objects_with_a_deprecation_warning(old):
    new = MOVED[old]
    code = (f"import warnings, importlib\n"
            f"with warnings.catch_warnings(record=True) as w:\n"
            f"    warnings.simplefilter('always')\n"
            f"    old = importlib.import_module({old!r})\n"
            f"new = importlib.import_module({new!r})\n"
            f"assert any(issubclass(x.category, DeprecationWarning) and {new!r} in str(x.message)"
            f" for x in w), [str(x.message) for x in w]\n"
            f"assert old.__all__ == new.__all__ and old.__all__\n"
            f"assert all(getattr(old, n) is getattr(new, n) for n in new.__all__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_a_scaling_pickled_under_the_old_path_loads():
    # A Network (or anything holding its Scaling) pickled before the move names deltaprop.scaling.Scaling.
    code = ("import pickle, warnings\n"
            "warnings.simplefilter('ignore', DeprecationWarning)\n"
            "from deltaprop.datasets import Scaling\n"
            "s = Scaling.standardize_from(__import__('numpy').array([[1.0, 2.0], [3.0, 6.0]]))\n"
            "old = pickle.dumps(s, protocol=2).replace(b'deltaprop.datasets.scaling', b'deltaprop.scaling')\n"
            "assert b'deltaprop.scaling' in old\n"
            "assert pickle.loads(old) == s\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr

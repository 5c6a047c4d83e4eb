"""The package's layout: the layers as an import-linter contract (pyproject.toml), and the old paths that still work."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Old top-level paths named in the README or the API docs, and where each moved.
ROOT = Path(__file__).resolve().parents[1]
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


def test_doctest_collection_does_not_import_the_old_paths():
    # The old paths warn when imported; the doctest collector must skip them (they hold no doctests), so that
    # a test run shows no DeprecationWarning of its own making, while every other module is still collected.
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "-W", "error::DeprecationWarning", "src"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=300)
    assert out.returncode == 0 and "Deprecat" not in out.stdout + out.stderr, out.stdout[-3000:] + out.stderr
    collected = {line.split("::")[0] for line in out.stdout.splitlines() if "::" in line}
    assert "src/deltaprop/network.py" in collected and "src/deltaprop/teach/notation.py" in collected, collected
    assert not {f"src/{old.replace('.', '/')}.py" for old in MOVED} & collected


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


LINT = ("import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))\n")


def _lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the package under root/src with root/pyproject.toml's contracts."""
    pytest.importorskip("importlinter")
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root / "src")}, timeout=300)


def _copy_repository(tmp_path: Path) -> None:
    """The package and the contract, copied for a test to plant an import in."""
    shutil.copytree(ROOT / "src" / "deltaprop", tmp_path / "src" / "deltaprop",
                    ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)


def test_the_layers_contract_holds():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("module, planted, message", [
    ("costs.py", "from . import train", "deltaprop.costs is not allowed to import deltaprop.train"),
    ("activations_extra.py", "from . import activations", "deltaprop.activations_extra is not allowed to import"),
    ("datasets/toy.py", "from ..network import Network", "deltaprop.datasets.toy -> deltaprop.network"),
    ("teach/written.py", "from ..io import load", "deltaprop.teach.written -> deltaprop.io"),
    ("export.py", "from . import plots", "deltaprop.export is not allowed to import deltaprop.plots"),
])
def test_the_contract_catches_an_import_against_the_layers(tmp_path, module, planted, message):
    _copy_repository(tmp_path)
    path = tmp_path / "src" / "deltaprop" / module
    path.write_text(path.read_text() + f"\n{planted}  # planted by the test\n")
    done = _lint(tmp_path)
    assert done.returncode != 0 and message in done.stdout, done.stdout + done.stderr


def test_a_new_module_must_find_its_layer(tmp_path):
    _copy_repository(tmp_path)
    (tmp_path / "src" / "deltaprop" / "newcomer.py").write_text('"""Not yet placed in a layer."""\n')
    done = _lint(tmp_path)
    assert done.returncode != 0 and "deltaprop.newcomer" in done.stdout, done.stdout + done.stderr


def test_the_readme_layout_names_functions_that_exist_where_it_says():
    section = (ROOT / "README.md").read_text().split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|[^|]+\| (`[^|]+`) \| (`[^|]+`)", section, re.M)
    assert len(rows) >= 4, "the Layout section's table of where z, delta and the step are computed"
    for files, functions in rows:
        defined = set()
        for name in re.findall(r"`([\w/]+\.py)`", files):
            for node in ast.walk(ast.parse((ROOT / "src" / "deltaprop" / name).read_text())):
                if isinstance(node, ast.ClassDef):
                    defined.update(f"{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef))
                elif isinstance(node, ast.FunctionDef):
                    defined.add(node.name)
        named = re.findall(r"`([\w.]+)`", functions)
        assert named and set(named) <= defined, f"{functions} not all defined in {files}: {sorted(set(named) - defined)}"

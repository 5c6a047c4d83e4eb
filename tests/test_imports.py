"""Every module of the package imports on its own, in a fresh interpreter (no import order hides a cycle)."""

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MODULES = sorted(".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
                 for p in (SRC / "deltaprop").rglob("*.py") if p.name != "__main__.py")


def test_the_module_list_is_complete():
    assert {"deltaprop", "deltaprop.datasets.mnist", "deltaprop.datasets.tabular", "deltaprop.datasets",
            "deltaprop.commands.train"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(SRC), "PATH": ""}, timeout=120)
    assert done.returncode == 0, f"import {module} failed:\n{done.stderr}"

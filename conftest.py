"""What pytest collects from the whole repository (the test fixtures live in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

_OLD_PATH = '"""Deprecated path:'  # how each deprecated re-export module (deltaprop.fast, ...) begins


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Skip the deprecated re-export modules in doctest collection: importing one warns, and none holds a doctest.

    tests/test_layout.py imports each in a fresh interpreter and checks its warning and its names.
    """
    if collection_path.suffix == ".py" and collection_path.parent.name == "deltaprop":
        with open(collection_path, encoding="utf-8") as f:
            if f.read(len(_OLD_PATH)) == _OLD_PATH:
                return True
    return None  # no opinion: pytest's own rules decide

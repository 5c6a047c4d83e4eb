"""The teach package: its place in the layers (the old import paths: tests/test_layout.py)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "deltaprop"
MOVED = ("notation", "explain", "check", "slips", "render")


def _imports(path: Path) -> set[str]:
    """The deltaprop modules a file imports, resolved to dotted names."""
    pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p) if node.level else (node.module or "")
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_only_the_command_line_and_the_old_paths_import_teach():
    allowed = {SRC / f"{m}.py" for m in MOVED} | {SRC / "cli.py"}
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "teach" not in p.relative_to(SRC).parts[:-1]
                 and not {"commands", "playground"} & set(p.relative_to(SRC).parts)  # the command line, the web page
                 and p not in allowed and any(i.startswith("deltaprop.teach") for i in _imports(p))]
    assert not offenders, f"modules below the command line import deltaprop.teach: {offenders}"


def test_teach_imports_only_the_core_and_itself():
    core = {"deltaprop.network", "deltaprop.activations", "deltaprop.costs", "deltaprop.registry",
            "deltaprop.gradcheck", "deltaprop._checks"}
    bad = {}
    for p in (SRC / "teach").rglob("*.py"):
        outside = {i for i in _imports(p) if i.startswith("deltaprop") and not i.startswith("deltaprop.teach")
                   and not any(i == c or i.startswith(c + ".") for c in core) and i != "deltaprop"}
        if outside:
            bad[p.name] = sorted(outside)
    assert not bad, f"teach imports above the core: {bad}"

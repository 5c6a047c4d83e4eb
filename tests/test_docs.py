"""The documentation site: it builds from a clean tree with no warning, its links resolve, its doctests pass.

The build is the README's docs command with the output in a temporary folder; it runs the tutorials and the
example gallery (a few seconds each) and fetches nothing from the network.
"""

from __future__ import annotations

import argparse
import doctest
import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import deltaprop

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = ("_build", "auto_examples", "tutorials")  # written by the build, not sources
PAGES = sorted(p for p in [*DOCS.rglob("*.rst"), *DOCS.rglob("*.md")] if not set(p.relative_to(DOCS).parts) & set(GENERATED))


class _Links(HTMLParser):
    """Collects the ids of a page and the targets of its href and src attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name in ("href", "src") and value and tag != "script":
                self.targets.append(value)


def broken_links(site: Path) -> list[str]:
    """Every relative link of every page of ``site`` whose file, or whose #anchor in that file, is missing."""
    pages = {}
    for page in site.rglob("*.html"):
        if page.relative_to(site).parts[0] in ("_static", "_sources"):
            continue  # the theme's templates and the page sources, not pages
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for target in parser.targets:
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                continue  # an external link: not followed (the build runs offline)
            path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {target} (no such file)")
            elif parts.fragment and path in pages and unquote(parts.fragment) not in pages[path].ids:
                broken.append(f"{page.relative_to(site)}: {target} (no such anchor)")
    return broken


def test_broken_links_finds_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a href="b.html#top">ok</a><a href="#nowhere">x</a>'
                                     '<a href="c.html">x</a><a href="https://example.org/">external</a>')
    (tmp_path / "b.html").write_text('<p id="top">B</p><img src="a.html">')
    assert broken_links(tmp_path) == ["a.html: #nowhere (no such anchor)", "a.html: c.html (no such file)"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by the README's docs command (warnings are errors), into a temporary folder."""
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "sphinxarg"):
        pytest.importorskip(module)
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"python (-m sphinx .+) docs docs/_build/html$", readme, re.M)
    assert command, "the README gives the docs command: python -m sphinx ... docs docs/_build/html"
    out = tmp_path_factory.mktemp("site")
    args = command.group(1).split()  # as the README writes it, run by this interpreter
    proc = subprocess.run([sys.executable, *args, "-E", str(DOCS), str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-6000:]
    return out


def test_the_site_builds_without_warnings_and_its_internal_links_resolve(site):
    assert (site / "index.html").is_file()
    assert broken_links(site) == []


def test_the_tutorials_and_the_gallery_show_their_figures(site):
    for page in ("tutorials/tutorial_1_delta_recursion", "tutorials/tutorial_2_mnist_homework",
                 "tutorials/tutorial_3_regression", "tutorials/tutorial_4_higham_jacobian",
                 "tutorials/tutorial_5_production", "auto_examples/higham"):
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        images = re.findall(r'<img [^>]*src="([^"]+\.png)"', html)
        assert images, f"{page} shows no figure"
        assert all((site / page).parent.joinpath(src).is_file() for src in images)


def test_the_api_reference_documents_every_public_name(site):
    html = (site / "api.html").read_text(encoding="utf-8")
    missing = [name for name in deltaprop.__all__ if f'id="deltaprop.{name}"' not in html]
    assert not missing, f"not in docs/api.rst: {missing}"


def test_the_cli_reference_lists_every_subcommand_and_flag(site):
    from deltaprop.cli import build_parser

    text = html.unescape(re.sub(r"<[^>]+>", "", (site / "cli.html").read_text(encoding="utf-8")))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    for name, command in sub.choices.items():
        assert f"deltaprop {name} [-h]" in text, name
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # -h/--help: every subcommand has it; sphinx-argparse leaves it out
            for flag in action.option_strings:
                entry = rf"^(?:[-\w]+, )*{re.escape(flag)}(?:,.*)?$"  # a flag's entry, aliases after commas
                assert re.search(entry, text, re.M), f"deltaprop {name} {flag}"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_the_doctests_in_the_docs_pages_pass(page):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags, encoding="utf-8", verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {page.name} (see the output above)"


def test_the_docs_pages_have_doctests():
    with_examples = [p.name for p in PAGES if ">>> " in p.read_text(encoding="utf-8")]
    assert {"index.rst", "model.md", "library.md"} <= set(with_examples), with_examples

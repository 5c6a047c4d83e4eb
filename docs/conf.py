"""Sphinx configuration of deltaprop's documentation site.

Build (from the repository root, with the ``docs`` extra installed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Everything runs offline: no intersphinx, the tutorials and examples run on data that ships with
scikit-learn or with the repository; the MNIST example runs only when the MNIST files are found.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))  # the documented code is the checkout's, installed or not
sys.path.insert(0, str(HERE / "_ext"))

import deltaprop  # noqa: E402
import gallery_support  # noqa: E402

if (_mnist := gallery_support.mnist_dir()) is not None:  # tutorial 2 and the MNIST example use the real files
    os.environ.setdefault("DELTAPROP_DATA", str(_mnist))

project = "deltaprop"
author = "the deltaprop authors"
copyright = "the deltaprop authors"
release = version = deltaprop.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "myst_parser",
    "numpydoc",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "**/GALLERY_HEADER.rst", "**/*.ipynb", "**/*.py", "**/*.md5",
                    "**/*.codeobj.json", "**/*.zip"]
templates_path: list[str] = []
root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 3  # [text](#a-heading) links inside the Markdown pages
default_role = "code"
nitpicky = True  # every cross-reference must resolve; tests/test_docs.py also checks the built relative links
suppress_warnings: list[str] = []
highlight_language = "none"  # literal blocks hold formulas and usage lines; code says its language
smartquotes = False  # keep "--flag" and quotes as written (the CLI help texts say --hidden, not an en dash)

# API reference: the docstrings, in numpydoc form, with the signature as written.
autodoc_typehints = "none"  # the shapes and types are in the numpydoc Parameters sections
autodoc_member_order = "bysource"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# The gallery (examples/) and the tutorials (docs/tutorials_src/), both run at build time.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples", "tutorials_src"],
    "gallery_dirs": ["auto_examples", "tutorials"],
    "filename_pattern": gallery_support.run_pattern(),
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "gallery_support.reset_argv",
    "image_scrapers": ("matplotlib", "gallery_support.png_files"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "doc_module": ("deltaprop",),
    "reference_url": {"deltaprop": None},
    "backreferences_dir": None,
    "min_reported_time": 10**9,  # no timing lines on the pages (they differ per machine)
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"deltaprop {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 8,
}
html_show_sourcelink = False


def setup(app):  # noqa: ANN001, ANN201 - the Sphinx hook
    """Remove the examples' scratch folder for figures when the build ends."""
    app.connect("build-finished", lambda app, exc: shutil.rmtree(gallery_support.OUT_DIR, ignore_errors=True))

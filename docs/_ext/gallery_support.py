"""What the gallery needs beyond sphinx-gallery's defaults, referenced by name from conf.py.

- ``run_pattern``: which scripts run at build time (the MNIST example only when the files are found);
- ``reset_argv``: the command-line arguments each example script gets in the build;
- ``png_files``: an image scraper for the figures a script writes as PNG files (examples/higham.py
  saves and closes its figures, as a command-line script should).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Where the example scripts write their figures during the build (outside the source tree).
OUT_DIR = Path(tempfile.gettempdir()) / f"deltaprop-gallery-{os.getpid()}"


def mnist_dir() -> Path | None:
    """The MNIST folder if its four files are there ($DELTAPROP_DATA, else ../shared/data/mnist)."""
    for candidate in (os.environ.get("DELTAPROP_DATA"), ROOT.parent / "shared" / "data" / "mnist"):
        if candidate and all(any(Path(candidate).glob(name + "*")) for name in MNIST_FILES):
            return Path(candidate)
    return None


def run_pattern() -> str:
    """Scripts run at build time: the tutorials, and every example but the MNIST one when MNIST is absent."""
    examples = r"seed_0\d\d_\w+|higham" if mnist_dir() else r"seed_00[0134]_\w+|higham"
    return rf"[\\/](tutorial_\d_\w+|{examples})\.py$"


def reset_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """Arguments for one script: the figures go to OUT_DIR, the MNIST example reads the found files."""
    name = Path(script_vars["src_file"]).name
    if name == "higham.py":
        return ["--out-dir", str(OUT_DIR)]
    if name.startswith("seed_002") and (found := mnist_dir()):
        return ["--data-dir", str(found)]
    return []


def png_files(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """Move the PNG files a block wrote into OUT_DIR to the gallery's images, and return their rST."""
    from sphinx_gallery.scrapers import figure_rst

    if not OUT_DIR.is_dir():
        return ""
    names = []
    for png, target in zip(sorted(OUT_DIR.glob("*.png")), block_vars["image_path_iterator"]):
        shutil.move(str(png), target)
        names.append(target)
    return figure_rst(names, gallery_conf["src_dir"])

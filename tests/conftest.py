"""Shared pytest fixtures."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MNIST_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder with the four real MNIST files (../shared/data/mnist from the repo root)."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
    if not all((path / name).is_file() or (path / f"{name}.gz").is_file() for name in MNIST_FILES):
        pytest.skip(f"MNIST files not found in {path}")
    return path


@dataclass
class LocalServer:
    """A local HTTP server for one folder; ``requests`` lists the paths asked for."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def serve_dir() -> Iterator[Callable[[Path], LocalServer]]:
    """Start ``http.server`` on 127.0.0.1 (a free port) serving a folder; stopped after the test.

    Usage: ``server = serve_dir(folder)``; then ``server.url`` ends in "/" and
    ``server.requests`` counts the GET requests.
    """
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(directory: Path) -> LocalServer:
        record = LocalServer(url="")

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                record.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

        handler = functools.partial(Handler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        record.url = f"http://127.0.0.1:{server.server_address[1]}/"
        return record

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()

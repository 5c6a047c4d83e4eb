"""``deltaprop playground``: the backward pass, live and exact, in the browser.

Usage::

    deltaprop playground                  # prints the URL (with its token) and opens the browser
    deltaprop playground --port 9000 --no-browser

The server listens on 127.0.0.1 only; the random token in the URL is required on every request.
Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

from ._common import nonnegative_int

DEFAULT_PORT = 8765


def add_arguments(p: argparse.ArgumentParser) -> None:
    """--port and --no-browser."""
    p.add_argument("--port", type=nonnegative_int, default=None,
                   help=f"port on 127.0.0.1 (default: {DEFAULT_PORT}, or the next free one; 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")


def run(args: argparse.Namespace) -> int:
    """Serve the playground until Ctrl-C."""
    try:
        from ..playground.server import bind, create_app, new_token, serve
        from ..playground.session import Session, warm_up
    except ImportError as exc:
        raise RuntimeError(f"the playground needs {exc.name}: pip install 'deltaprop[playground]'") from None
    if args.port is None:
        for port in range(DEFAULT_PORT, DEFAULT_PORT + 20):
            try:
                sock = bind(port)
                break
            except OSError:
                continue
        else:
            sock = bind(0)
    else:
        sock = bind(args.port)
    warm_up()
    token = new_token()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    server = serve(create_app(Session(), token), sock)
    print(f"deltaprop playground: {url}", flush=True)
    print("(listening on 127.0.0.1 only; the token in the URL is required; Ctrl-C stops)", file=sys.stderr, flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[sock])
    return 0

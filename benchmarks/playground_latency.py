#!/usr/bin/env python
"""How long another request waits while ``deltaprop playground`` runs 10^6 SGD steps for one message.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/playground_latency.py [--steps 1000000]

A real server (uvicorn, as ``deltaprop playground`` runs it) on 127.0.0.1. Socket A builds a
2-16-16-2 tanh network and asks for ``--steps`` SGD steps in one "step" message; meanwhile socket
B asks "hello" (the full state) and an HTTP client loads the page, in turn, until the run is
answered. The table gives the run's time, alone and with those requests (their work shares the
server's one thread), and the round trips of the requests sent during it.
Runs go in chunks of about 20 ms (``playground.session.CHUNK_SECONDS``), so a request waits about
one chunk plus its own work; before chunking, the first one waited for the whole run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request

from websockets.sync.client import connect

from deltaprop.playground.server import running


def one_run(url: str, steps: int, ask: bool) -> tuple[float, list[float], list[float]]:
    """(the run's seconds, round trips of the hellos and of the page loads sent while it ran)."""
    config = {"sizes": [2, 16, 16, 2], "activations": ["tanh", "tanh", "sigmoid"], "eta": 0.01}
    hello: list[float] = []
    pages: list[float] = []
    ws_url = url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
    with connect(ws_url) as a, connect(ws_url) as b:
        a.send(json.dumps({"op": "build", "config": config}))
        a.recv()
        a.send(json.dumps({"op": "step", "n": 1}))  # compiles the loop for this depth, if it must
        a.recv()
        b.send(json.dumps({"op": "hello"}))
        b.recv()
        done = threading.Event()
        a.send(json.dumps({"op": "step", "n": steps}))
        start = time.perf_counter()

        def wait() -> None:
            a.recv(timeout=3600)
            done.set()

        waiter = threading.Thread(target=wait)
        waiter.start()
        while ask and not done.is_set():
            t0 = time.perf_counter()
            b.send(json.dumps({"op": "hello"}))
            b.recv(timeout=3600)
            hello.append(time.perf_counter() - t0)
            if done.is_set():
                break
            t0 = time.perf_counter()
            with urllib.request.urlopen(url, timeout=3600) as page:
                page.read()
            pages.append(time.perf_counter() - t0)
        waiter.join()
        return time.perf_counter() - start, hello, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    args = parser.parse_args()
    print("| SGD steps in one message | other requests | run s | requests sent during the run | hello median ms "
          "| hello max ms | page median ms | page max ms |")
    print("|---|---|---|---|---|---|---|---|")
    med = lambda v: f"{statistics.median(v) * 1e3:.0f}" if v else "-"  # noqa: E731
    top = lambda v: f"{max(v) * 1e3:.0f}" if v else "-"  # noqa: E731
    with running() as url:
        for ask in (False, True):
            seconds, hello, pages = one_run(url, args.steps, ask)
            print(f"| {args.steps:,} | {'hello + page, in turn' if ask else 'none'} | {seconds:.1f} | "
                  f"{len(hello) + len(pages)} | {med(hello)} | {top(hello)} | {med(pages)} | {top(pages)} |")


if __name__ == "__main__":
    main()

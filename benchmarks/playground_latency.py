#!/usr/bin/env python
"""How long another request waits while ``deltaprop playground`` runs 10^6 SGD steps for one message.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/playground_latency.py [--steps 1000000]

A real server (uvicorn, as ``deltaprop playground`` runs it) on 127.0.0.1. Socket A builds a
2-16-16-2 tanh network and asks for ``--steps`` SGD steps in one "step" message; meanwhile socket
B asks "hello" (the full state) again and again, and an HTTP client loads the page. The table
gives the run's time and the round trips of B's messages and of the page loads made during it.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    args = parser.parse_args()
    config = {"sizes": [2, 16, 16, 2], "activations": ["tanh", "tanh", "sigmoid"], "eta": 0.01}
    hello, pages = [], []
    with running() as url:
        ws_url = url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
        with connect(ws_url) as a, connect(ws_url) as b:
            a.send(json.dumps({"op": "build", "config": config}))
            a.recv()
            a.send(json.dumps({"op": "step", "n": 1}))  # compiles the loop for this depth, if it must
            a.recv()
            done = threading.Event()

            def run() -> None:
                a.send(json.dumps({"op": "step", "n": args.steps}))
                a.recv(timeout=3600)
                done.set()

            start = time.perf_counter()
            runner = threading.Thread(target=run)
            runner.start()
            while not done.is_set():
                t0 = time.perf_counter()
                b.send(json.dumps({"op": "hello"}))
                b.recv(timeout=3600)
                if not done.is_set():
                    hello.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                with urllib.request.urlopen(url, timeout=3600) as page:
                    page.read()
                if not done.is_set():
                    pages.append(time.perf_counter() - t0)
            runner.join()
            seconds = time.perf_counter() - start
    print("| SGD steps in one message | run s | requests answered during the run | hello median ms | hello max ms "
          "| page median ms | page max ms |")
    print("|---|---|---|---|---|---|---|")
    med = lambda v: f"{statistics.median(v) * 1e3:.0f}" if v else "-"  # noqa: E731
    top = lambda v: f"{max(v) * 1e3:.0f}" if v else "-"  # noqa: E731
    print(f"| {args.steps:,} | {seconds:.1f} | {len(hello) + len(pages)} | {med(hello)} | {top(hello)} | "
          f"{med(pages)} | {top(pages)} |")


if __name__ == "__main__":
    main()

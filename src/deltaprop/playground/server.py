"""The playground's web server: one page, its two assets, a WebSocket, an upload and three downloads.

Starlette routes the requests and uvicorn serves them (both small and widely used; Starlette's
test client drives the same app in the unit tests without a socket). Every HTTP request and
the WebSocket must carry ``?token=T``, a random string made at start and printed in the URL, as
Jupyter does: another local user, or a web page in the browser, cannot drive the playground
without it. The server binds 127.0.0.1. Nothing the browser sends names a file: the assets are a
fixed table, downloads are made in memory, and an upload is parsed from a temporary file the
server names.

WebSocket messages are JSON objects ``{"op": ..., ...}``; see :data:`OPS`. Each is answered by
one ``{"type": "state", ...}`` (see :meth:`Session.state`), ``{"type": "formula", ...}`` or
``{"type": "error", "message": ...}``, in the order they came on their socket.

SGD runs ("step", "play": up to 10^6 steps, seconds of work) go in chunks of about 20 ms
(:meth:`Session.run`), and the event loop serves every other request between two chunks. A
message that changes the network (``CHANGES``, "stop" among them, from any socket) or an
upload ends a run in progress at its next chunk; the run is then answered with the steps it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import socket
import threading
from collections.abc import Generator, Iterator
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..teach.explain import explain
from ..io import encode, model_metadata, model_tensors
from ..teach.render import render
from .data import MAX_UPLOAD_BYTES, from_csv_bytes
from .formulas import edge_lines, unit_lines
from .session import Session, config_from, warm_up

__all__ = ["OPS", "create_app", "new_token", "running"]

ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
OPS = ("hello", "build", "tune", "forward", "backward", "step", "play", "stop", "rewind", "select", "set", "point",
       "formula")
CHANGES = frozenset({"build", "step", "play", "stop", "rewind", "set", "point"})  # each ends a run in progress


def new_token() -> str:
    """A random URL-safe token of 32 bytes."""
    return secrets.token_urlsafe(32)


class TokenGate:
    """ASGI middleware: refuse any HTTP request (403) or WebSocket (closed, 403) without ``?token=`` equal to the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qs

        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[-1]
        if hmac.compare_digest(given.encode(), self.token):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "token required"})
        else:
            await PlainTextResponse("403: this playground needs the token printed with its URL\n",
                                    status_code=403)(scope, receive, send)


def _asset(name: str) -> bytes:
    return resources.files("deltaprop.playground").joinpath("static").joinpath(name).read_bytes()


def _reply(session: Session, msg: Any) -> dict[str, Any]:
    """Carry out one WebSocket message on ``session``; the answer to send back."""
    if not isinstance(msg, dict) or msg.get("op") not in OPS:
        raise ValueError(f"a message must be an object with op one of {', '.join(OPS)}, got {str(msg)[:80]}")
    op = msg["op"]
    if op == "build":
        session.build(config_from(msg.get("config", {}), session.config))
    elif op == "tune":
        session.tune(msg.get("config"))
    elif op in ("forward", "backward"):
        session.set_phase(op)
    elif op in ("step", "play"):
        raise AssertionError("SGD runs are answered by _run_reply")  # invariant: the ws handler routes them
    elif op == "rewind":
        session.rewind()
    elif op == "select":
        session.select(msg.get("sample"))
    elif op == "set":
        session.set_parameter(msg.get("kind"), msg.get("l"), msg.get("i"), msg.get("j"), msg.get("value"))
    elif op == "point":
        session.add_point(msg.get("x1"), msg.get("x2"), msg.get("label"))
    elif op == "formula":
        return {"type": "formula", "target": msg.get("target"), "lines": formula(session, msg.get("target"))}
    return session.state()


class _Runs:
    """Which SGD run may go on: ``interrupt`` (a change came) ends every run asked for before it, at its next chunk
    (or before its first one)."""

    def __init__(self) -> None:
        self.generation = 0  # changes received so far

    def interrupt(self) -> None:
        self.generation += 1

    async def run(self, chunks: Generator[int, None, None], asked: int) -> None:
        """Consume a run's chunks while no change has come since it was asked for (``generation`` then: asked),
        letting the event loop serve other requests between two chunks."""
        try:
            while self.generation == asked and next(chunks, None) is not None:
                await asyncio.sleep(0)
        finally:
            chunks.close()  # records the steps taken


async def _run_reply(session: Session, msg: dict[str, Any], runs: _Runs, asked: int) -> dict[str, Any]:
    """Carry out "step" (msg["n"] steps, default 1) or "play" (the configured steps, a light answer)."""
    play = msg["op"] == "play"
    await runs.run(session.run(None if play else msg.get("n", 1)), asked)
    return session.state(full=not play)


def formula(session: Session, target: Any) -> list[str]:
    """Tooltip lines for target {"node": [l, j]} or {"edge": [l, i, j]} (our layer l, 0-based units)."""
    net = session.net
    if not len(session.data.X):
        return ["no training points yet"]
    x, y = session.selected()
    e = explain(net, x, y, notation=session.config.notation)
    if isinstance(target, dict) and "node" in target:
        l, j = target["node"]
        if isinstance(l, int) and isinstance(j, int) and 0 <= l <= net.L and 0 <= j < net.sizes[l]:
            return unit_lines(e, net, y, l, j)
    if isinstance(target, dict) and "edge" in target:
        l, i, j = target["edge"]
        if all(isinstance(v, int) for v in (l, i, j)) and 1 <= l <= net.L and 0 <= i < net.sizes[l - 1] \
                and 0 <= j < net.sizes[l]:
            return edge_lines(e, net, l, i, j)
    raise ValueError(f"target must be {{'node': [l, j]}} or {{'edge': [l, i, j]}} within the network, got {target!r}")


def create_app(session: Session, token: str) -> ASGIApp:
    """The ASGI application serving ``session``, every route behind ``token``."""
    # The handlers run on uvicorn's one event loop and never await while they change ``session``,
    # so each message, upload, download or chunk of an SGD run is carried out whole before the next starts.
    runs = _Runs()

    async def page(request: Request) -> Response:
        html = _asset("index.html").decode().replace("{{TOKEN}}", token)
        return Response(html, media_type="text/html", headers={"Cache-Control": "no-store",
                                                                "Referrer-Policy": "no-referrer"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("not found\n", status_code=404)
        return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "no-store"})

    async def download(request: Request) -> Response:
        what = request.path_params["what"]
        if what == "model.safetensors":
            body = encode(model_tensors(session.net), model_metadata(session.net), digest=True)
            kind = "application/octet-stream"
        elif what in ("explain.md", "explain.tex"):
            if not len(session.data.X):
                return PlainTextResponse("no training points yet\n", status_code=409)
            x, y = session.selected()
            e = explain(session.net, x, y, notation=session.config.notation)
            body = render(e, "markdown" if what.endswith(".md") else "latex").encode()
            kind = "text/plain; charset=utf-8"
        else:
            return PlainTextResponse("not found\n", status_code=404)
        return Response(body, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{what}"'})

    async def upload(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPLOAD_BYTES):
            return PlainTextResponse(f"the file is larger than {MAX_UPLOAD_BYTES} bytes\n", status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES:
                return PlainTextResponse(f"the file is larger than {MAX_UPLOAD_BYTES} bytes\n", status_code=413)
        try:
            data = from_csv_bytes(bytes(body))
            runs.interrupt()
            session.use_data(data)
        except ValueError as exc:
            return PlainTextResponse(str(exc) + "\n", status_code=400)
        return PlainTextResponse(f"{data.name}: {len(data.X)} training and {len(data.X_test)} test points\n")

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        inbox: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue()  # (message, runs.generation on receipt)
        running = [False]  # this socket's run is going

        async def receive() -> None:  # reads on while a run goes on, so that a change can end it
            try:
                while True:
                    text = await websocket.receive_text()
                    with contextlib.suppress(ValueError, AttributeError):
                        if json.loads(text).get("op") in CHANGES:
                            runs.interrupt()
                    inbox.put_nowait((text, runs.generation))
            except WebSocketDisconnect:
                if running[0]:
                    runs.interrupt()  # nobody waits for its answer
                inbox.put_nowait(None)

        receiver = asyncio.create_task(receive())
        try:
            while (item := await inbox.get()) is not None:
                text, received = item
                try:
                    msg = json.loads(text)
                    if isinstance(msg, dict) and msg.get("op") in ("step", "play"):
                        running[0] = True
                        try:
                            answer = await _run_reply(session, msg, runs, received)
                        finally:
                            running[0] = False
                    else:
                        answer = _reply(session, msg)
                except (ValueError, TypeError, KeyError, RuntimeError) as exc:  # refused: nothing changed
                    answer = {"type": "error", "message": " ".join(str(exc).split()) or type(exc).__name__,
                              "state": session.state()}
                await websocket.send_text(json.dumps(answer))
        except WebSocketDisconnect:
            return
        finally:
            receiver.cancel()

    app = Starlette(routes=[Route("/", page), Route("/static/{name}", asset),
                            Route("/download/{what}", download), Route("/upload", upload, methods=["POST"]),
                            WebSocketRoute("/ws", ws)])
    return TokenGate(app, token)


def bind(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); OSError when it is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None
    sock.listen(64)
    return sock


def serve(app: ASGIApp, sock: socket.socket) -> Any:
    """A uvicorn server for ``app`` on ``sock``, not started (call ``.run(sockets=[sock])``)."""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=1 << 20, lifespan="off"))


@contextlib.contextmanager
def running(session: Session | None = None, *, port: int = 0) -> Iterator[str]:
    """Serve a playground in a background thread while the block runs; yields its URL with the token.

    For the browser tests and the benchmark.
    """
    token = new_token()
    warm_up()
    sock = bind(port)
    server = serve(create_app(session or Session(), token), sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

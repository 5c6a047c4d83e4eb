"""The playground's server without a browser: the token, every message, uploads and downloads.

Numbers are checked against an independent Network built with the same seed and against
``net.trace`` and ``deltaprop explain``; an SGD step against the update written out by hand.
"""

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from deltaprop import Network  # noqa: E402
from deltaprop.datasets import higham_points  # noqa: E402
from deltaprop.teach.explain import explain  # noqa: E402
from deltaprop.io import load  # noqa: E402
from deltaprop.playground.data import MAX_UPLOAD_BYTES  # noqa: E402
from deltaprop.playground.server import create_app  # noqa: E402
from deltaprop.playground.session import Session, config_from  # noqa: E402
from deltaprop.teach.render import render  # noqa: E402

TOKEN = "test-token-0123456789"


@pytest.fixture
def session():
    return Session()


@pytest.fixture
def client(session):
    return TestClient(create_app(session, TOKEN))


def higham_net(seed=0):
    """The playground's default network, built independently: 2-2-3-2 sigmoid, quadratic, 0.5 N(0, 1)."""
    return Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=seed, init=0.5)


def ask(client, *messages):
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        answers = []
        for msg in messages:
            ws.send_text(json.dumps(msg))
            answers.append(json.loads(ws.receive_text()))
    return answers


# ----- the token ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css", "/download/model.safetensors",
                                  "/download/explain.md"])
@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", f"?token={TOKEN}x", f"?tok={TOKEN}"])
def test_every_http_request_without_the_right_token_is_refused(client, path, query):
    r = client.get(path + query)
    assert r.status_code == 403, (path, query, r.status_code)
    assert TOKEN not in r.text


def test_an_upload_without_the_token_is_refused_and_changes_nothing(client, session):
    r = client.post("/upload?token=nope", content=b"x1,x2,label\n0,0,a\n1,1,b\n")
    assert r.status_code == 403
    assert session.data.name == "higham"


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong"])
def test_a_websocket_without_the_right_token_is_refused(client, query):
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws" + query) as ws:
            ws.receive_text()
    assert info.value.code == 1008


def test_with_the_token_the_page_and_its_assets_are_served(client):
    r = client.get(f"/?token={TOKEN}")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert f'data-token="{TOKEN}"' in r.text and "{{TOKEN}}" not in r.text
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        r = client.get(f"/static/{name}?token={TOKEN}")
        assert r.status_code == 200 and kind in r.headers["content-type"]


@pytest.mark.parametrize("name", ["index.html", "..%2Fsession.py", "../session.py", "%2Fetc%2Fpasswd", "nope.js"])
def test_only_the_fixed_assets_are_served_no_path_from_the_browser(client, name):
    r = client.get(f"/static/{name}?token={TOKEN}")
    assert r.status_code == 404
    assert "import" not in r.text and "root:" not in r.text


# ----- the numbers -------------------------------------------------------------------------------
def test_the_graph_holds_net_trace_of_the_selected_sample(client):
    (hello,) = ask(client, {"op": "hello"})
    net = higham_net()
    X, Y = higham_points()
    t = net.trace(X[:1], Y[:1])
    g = hello["graph"]
    assert g["phase"] == "none" and hello["t"] == 0 and hello["sample"] == 0
    for l in range(1, net.L + 1):
        np.testing.assert_allclose(g["W"][l - 1], net.weights[l - 1], rtol=0, atol=0, err_msg=f"W[{l}]")
        np.testing.assert_allclose(g["b"][l - 1], net.biases[l - 1], rtol=0, atol=0, err_msg=f"b[{l}]")
        np.testing.assert_allclose(g["z"][l], t.z[l][0], rtol=1e-12, err_msg=f"z[{l}]")
        np.testing.assert_allclose(g["a"][l], t.a[l][0], rtol=1e-12, err_msg=f"a[{l}]")
        np.testing.assert_allclose(g["delta"][l], t.delta[l][0], rtol=1e-12, err_msg=f"delta[{l}]")
        np.testing.assert_allclose(g["dW"][l - 1], t.dW[l], rtol=1e-12, err_msg=f"dW[{l}]")
        np.testing.assert_allclose(g["db"][l - 1], t.db[l], rtol=1e-12, err_msg=f"db[{l}]")
    assert g["cost"] == pytest.approx(t.cost, rel=1e-12)


def test_forward_then_backward_set_the_phase(client):
    fwd, bwd = ask(client, {"op": "forward"}, {"op": "backward"})
    assert fwd["graph"]["phase"] == "forward" and bwd["graph"]["phase"] == "backward"


def test_one_sgd_step_is_the_update_written_out(client):
    (after,) = ask(client, {"op": "tune", "config": {"eta": 0.3}}, {"op": "step", "n": 1})[1:]
    net = higham_net()
    X, Y = higham_points()
    r = np.random.default_rng(0).integers(0, 10, 1)[0]  # the row SGD draws: the session's generator is seeded
    t = net.trace(X[r:r + 1], Y[r:r + 1])
    for l in range(1, 4):
        W = net.weights[l - 1] - 0.3 * t.a[l - 1].T @ t.delta[l]  # W <- W - eta a^(l-1)T delta^(l)
        np.testing.assert_allclose(after["graph"]["W"][l - 1], W, rtol=1e-12, err_msg=f"W[{l}]")
        np.testing.assert_allclose(after["graph"]["b"][l - 1], net.biases[l - 1] - 0.3 * t.delta[l][0],
                                   rtol=1e-12, err_msg=f"b[{l}]")
    assert after["t"] == 1 and [row[0] for row in after["history"]] == [0, 1]


def test_rewind_brings_back_the_seeds_initial_weights_and_the_same_draws(client):
    first, _, again = ask(client, {"op": "step", "n": 50}, {"op": "rewind"}, {"op": "step", "n": 50})
    net = higham_net()
    rewound = ask(client, {"op": "rewind"})[0]
    for l in range(1, 4):
        np.testing.assert_array_equal(rewound["graph"]["W"][l - 1], net.weights[l - 1])
        np.testing.assert_array_equal(again["graph"]["W"][l - 1], first["graph"]["W"][l - 1])
    assert rewound["t"] == 0 and len(rewound["history"]) == 1


def test_setting_a_weight_by_hand_changes_the_numbers_as_trace_says(client):
    (answer,) = ask(client, {"op": "set", "kind": "W", "l": 2, "i": 1, "j": 2, "value": 1.5})
    net = higham_net()
    net.weights[1][1, 2] = 1.5
    X, Y = higham_points()
    t = net.trace(X[:1], Y[:1])
    assert answer["graph"]["W"][1][1][2] == 1.5
    np.testing.assert_allclose(answer["graph"]["dW"][0], t.dW[1], rtol=1e-12)
    np.testing.assert_allclose(answer["graph"]["a"][3], t.a[3][0], rtol=1e-12)
    (bias,) = ask(client, {"op": "set", "kind": "b", "l": 3, "j": 0, "value": -2.0})
    assert bias["graph"]["b"][2][0] == -2.0


@pytest.mark.parametrize("msg, words", [
    ({"op": "set", "kind": "W", "l": 4, "i": 0, "j": 0, "value": 1.0}, "layer l must be an integer in 1..3"),
    ({"op": "set", "kind": "W", "l": 1, "i": 0, "j": 0, "value": float("nan")}, "value must be a number"),
    ({"op": "set", "kind": "Q", "l": 1, "i": 0, "j": 0, "value": 1.0}, "kind must be 'W' or 'b'"),
    ({"op": "build", "config": {"sizes": [2, 3, 3], "activations": ["sigmoid", "sigmoid"]}},
     "the output layer needs n_L = 2 (or 1), got n_L = 3"),
    ({"op": "build", "config": {"sizes": [3, 2]}}, "n_0 must be 2"),
    ({"op": "build", "config": {"activations": ["sigmoid"]}}, "3 layers need 3 activations"),
    ({"op": "build", "config": {"cost": "nope"}}, "cost must be one of"),
    ({"op": "build", "config": {"path": "/etc/passwd"}}, "unknown configuration field(s) path"),
    ({"op": "tune", "config": {"eta": -1}}, "eta must be a number"),
    ({"op": "tune", "config": {"sizes": [2, 2]}}, "tune changes eta, steps and notation only"),
    ({"op": "select", "sample": 10}, "sample must be an integer in 0..9"),
    ({"op": "formula", "target": {"edge": [9, 0, 0]}}, "target must be"),
    ({"op": "nope"}, "op one of"),
    ([1, 2], "a message must be an object"),
])
def test_a_bad_message_is_refused_with_a_clear_error_and_changes_nothing(client, session, msg, words):
    W = [w.copy() for w in session.net.weights]
    config = session.config
    (answer,) = ask(client, msg)
    assert answer["type"] == "error" and words in answer["message"], answer["message"]
    assert session.config == config
    for before, now in zip(W, session.net.weights):
        np.testing.assert_array_equal(before, now)
    assert answer["state"]["graph"]["W"] == [w.tolist() for w in W]


def test_a_message_that_is_not_json_is_refused(client):
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text("{not json")
        answer = json.loads(ws.receive_text())
    assert answer["type"] == "error" and "Expecting property name" in answer["message"]


def test_build_changes_the_network_and_the_data(client):
    (answer,) = ask(client, {"op": "build", "config": {"sizes": [2, 4, 1], "activations": ["tanh", "sigmoid"],
                                                       "cost": "binary_cross_entropy", "dataset": "xor", "seed": 3}})
    assert answer["type"] == "state" and answer["config"]["sizes"] == [2, 4, 1]
    assert len(answer["data"]["X"]) == 100 and answer["data"]["name"] == "xor"
    assert [h["l"] for h in answer["regions"]["hidden"]] == [1, 1, 1, 1]


def test_regions_are_the_networks_classes_on_the_grid(session):
    session.tune({"eta": 0.5})
    session.step(8000)  # trained far enough that both classes have a region
    r = session.regions(G=20)
    x1lo, x1hi, x2lo, x2hi = r["extent"]
    cls = np.frombuffer(base64.b64decode(r["cls"]), np.uint8).reshape(20, 20)
    g1, g2 = np.linspace(x1lo, x1hi, 20), np.linspace(x2hi, x2lo, 20)
    P = np.array([[x1, x2] for x2 in g2 for x1 in g1])  # (400, 2), row-major image order
    expected = session.net.forward(P).argmax(axis=1).reshape(20, 20)
    assert 0 < expected.sum() < 400
    np.testing.assert_array_equal(cls, expected)
    hidden = r["hidden"][0]
    v = np.frombuffer(base64.b64decode(hidden["value"]), np.uint8).reshape(20, 20)
    a1 = session.net.trace([[g1[7], g2[4]]], [[0.0, 0.0]]).a[1][0, 0]
    assert v[4, 7] == round(255 * (a1 - hidden["lo"]) / (hidden["hi"] - hidden["lo"]))


def test_the_hidden_maps_of_a_large_grid_take_every_other_point(session):
    r = session.regions(G=100)
    assert r["hidden_G"] == 50 and len(base64.b64decode(r["cls"])) == 100 * 100
    hidden = r["hidden"][4]  # a^(2)_3
    v = np.frombuffer(base64.b64decode(hidden["value"]), np.uint8).reshape(50, 50)
    x1lo, x1hi, x2lo, x2hi = r["extent"]
    x = [[np.linspace(x1lo, x1hi, 100)[2 * 9], np.linspace(x2hi, x2lo, 100)[2 * 31]]]
    a = session.net.trace(x, [[0.0, 0.0]]).a[2][0, 2]
    assert (hidden["l"], hidden["j"]) == (2, 2)
    assert v[31, 9] == round(255 * (a - hidden["lo"]) / (hidden["hi"] - hidden["lo"]))


def test_clicked_points_become_the_training_set(client):
    answers = ask(client, {"op": "build", "config": {"dataset": "clicked"}},
                  {"op": "step", "n": 1},
                  {"op": "point", "x1": 0.2, "x2": -0.3, "label": 1},
                  {"op": "point", "x1": -0.5, "x2": 0.5, "label": 0})
    assert answers[0]["data"]["X"] == [] and answers[1]["type"] == "error"
    assert "click on the plot" in answers[1]["message"]
    assert answers[3]["data"]["X"] == [[0.2, -0.3], [-0.5, 0.5]] and answers[3]["data"]["y"] == [1, 0]


# ----- formulas agree with `deltaprop explain` ---------------------------------------------------------
@pytest.mark.parametrize("notation", ["seeds", "higham", "nielsen", "cs189"])
def test_hover_formulas_are_explains_formulas_with_traces_numbers(client, notation):
    tune, node, edge = ask(client, {"op": "tune", "config": {"notation": notation}},
                           {"op": "formula", "target": {"node": [2, 1]}},
                           {"op": "formula", "target": {"edge": [3, 2, 0]}})
    net = higham_net()
    X, Y = higham_points()
    e = explain(net, X[:1], Y[:1], notation=notation)
    text = render(e, "text").splitlines()
    t = net.trace(X[:1], Y[:1])
    lines = node["lines"]
    for formula in (lines[0], lines[2], lines[4]):  # z, a and delta of the layer, as explain writes them
        assert any(row.strip().startswith(formula) for row in text), formula
    ends = [float(lines[k].rsplit("= ", 1)[1]) for k in (1, 3, 5, 6)]  # z_2, a_2, delta_2, dC/db_2 of layer 2
    np.testing.assert_allclose(ends, [t.z[2][0, 1], t.a[2][0, 1], t.delta[2][0, 1], t.db[2][1]], atol=5e-5)
    assert any(row.strip().startswith(edge["lines"][1]) for row in text)
    assert float(edge["lines"][0].rsplit("= ", 1)[1]) == pytest.approx(net.weights[2][2, 0], abs=5e-5)
    assert float(edge["lines"][2].rsplit("= ", 1)[1]) == pytest.approx(t.dW[3][2, 0], abs=5e-5)


# ----- uploads ---------------------------------------------------------------------------------------
def test_an_uploaded_csv_is_read_by_the_strict_reader_and_trained_on(client, session):
    rows = ["x1,x2,label"] + [f"{i / 10},{(i * 7 % 10) / 10},{'cat' if i % 2 else 'dog'}" for i in range(12)]
    r = client.post(f"/upload?token={TOKEN}", content="\n".join(rows).encode())
    assert r.status_code == 200, r.text
    assert session.data.name == "uploaded CSV" and session.data.classes == ("cat", "dog")
    assert len(session.data.X) == 9 and len(session.data.X_test) == 3
    np.testing.assert_array_equal(session.data.X[0], [0.0, 0.0])


@pytest.mark.parametrize("body, status, words", [
    (b"x1,x2,label\n0.1,zero,a\n0.2,0.3,b\n", 400, "row 2, column 'x2': 'zero' is not a number"),
    (b"x1,x2,x3,label\n0,0,0,a\n1,1,1,b\n", 400, "expected 2 feature columns"),
    (b"x1,x2,label\n0,0,a\n1,1,a\n", 400, "at least 2 classes"),
    (b"x1,x2,label\n0,nan,a\n1,1,b\n", 400, "is not finite"),
    (b"", 400, "empty file"),
    (b"x1,x2,label\n" + b"0.5,0.5,a\n" * (MAX_UPLOAD_BYTES // 10 + 1), 413, "larger than"),
])
def test_a_bad_or_large_upload_is_refused_and_changes_nothing(client, session, body, status, words):
    r = client.post(f"/upload?token={TOKEN}", content=body)
    assert r.status_code == status and words in r.text, r.text
    assert "/tmp" not in r.text and "upload.csv" not in r.text
    assert session.data.name == "higham"


# ----- downloads ----------------------------------------------------------------------------------------
def test_the_model_download_is_a_deltaprop_model_file(client, session, tmp_path):
    ask(client, {"op": "step", "n": 20})
    r = client.get(f"/download/model.safetensors?token={TOKEN}")
    assert r.status_code == 200
    path = tmp_path / "model.safetensors"
    path.write_bytes(r.content)
    net = load(path)
    assert net.sizes == session.net.sizes
    for W, V in zip(net.weights, session.net.weights):
        np.testing.assert_array_equal(W, V)


@pytest.mark.parametrize("name, fmt", [("explain.md", "markdown"), ("explain.tex", "latex")])
def test_the_explain_downloads_are_explains_report(client, name, fmt):
    ask(client, {"op": "tune", "config": {"notation": "nielsen"}}, {"op": "select", "sample": 3})
    r = client.get(f"/download/{name}?token={TOKEN}")
    X, Y = higham_points()
    assert r.status_code == 200
    assert r.text == render(explain(higham_net(), X[3:4], Y[3:4], notation="nielsen"), fmt)


# ----- the command ---------------------------------------------------------------------------------------
def test_the_command_prints_a_url_with_a_token_on_127_0_0_1_and_serves_it():
    httpx =     proc = subprocess.Popen([sys.executable, "-m", "deltaprop", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("deltaprop playground: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        assert len(url.split("token=")[1]) >= 40
        with urllib.request.urlopen(url, timeout=20) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url.split("?")[0], timeout=20)
        assert info.value.code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_taken_port_is_one_line_and_exit_2(capsys):
    import socket

    from deltaprop.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        code = main(["playground", "--no-browser", "--port", str(s.getsockname()[1])])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "choose another --port" in err


def test_a_single_output_that_is_not_a_probability_is_drawn_as_a_surface(client, session):
    (answer,) = ask(client, {"op": "build", "config": {"sizes": [2, 3, 1], "activations": ["tanh", "identity"],
                                                       "dataset": "blobs", "init": 0.0}})
    r = answer["regions"]
    assert r["mode"] == "surface" and r["lo"] < r["hi"]
    v = np.frombuffer(base64.b64decode(r["value"]), np.uint8).reshape(100, 100)
    x1lo, x1hi, x2lo, x2hi = r["extent"]
    for row, col in [(0, 0), (99, 99), (40, 70)]:
        x = [[np.linspace(x1lo, x1hi, 100)[col], np.linspace(x2hi, x2lo, 100)[row]]]
        a = session.net.forward(x)[0, 0]
        assert v[row, col] == round(255 * (a - r["lo"]) / (r["hi"] - r["lo"])), (row, col)


def test_one_sigmoid_output_classifies_at_one_half(session):
    session.build(config_from({"sizes": [2, 1], "activations": ["sigmoid"], "cost": "binary_cross_entropy",
                               "dataset": "circles"}, session.config))
    session.set_parameter("W", 1, 0, 0, 5.0)  # p = sigmoid(5 x1 - 2 x2 + 0.3): a slanted boundary
    session.set_parameter("W", 1, 1, 0, -2.0)
    session.set_parameter("b", 1, 0, 0, 0.3)
    r = session.regions(G=10)
    cls = np.frombuffer(base64.b64decode(r["cls"]), np.uint8).reshape(10, 10)
    x1lo, x1hi, x2lo, x2hi = r["extent"]
    P = np.array([[x1, x2] for x2 in np.linspace(x2hi, x2lo, 10) for x1 in np.linspace(x1lo, x1hi, 10)])
    expected = (5 * P[:, 0] - 2 * P[:, 1] + 0.3 >= 0).astype(np.uint8)  # sigmoid(z) >= 1/2 where z >= 0
    assert 20 < expected.sum() < 80
    np.testing.assert_array_equal(cls.ravel(), expected)
    X, y = session.data.X, session.data.y
    assert session.accuracy(X, y) == np.mean((session.net.forward(X)[:, 0] >= 0.5) == y)


def test_the_server_binds_the_loopback_interface_only():
    from deltaprop.playground.server import bind

    sock = bind(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


# ----- long runs: taken in chunks, the server answers meanwhile, a change or "stop" ends them -----------------
def test_a_long_run_leaves_the_real_server_answering_and_stop_ends_it_with_the_same_numbers():
    pytest.importorskip("uvicorn")
    from websockets.sync.client import connect

    from deltaprop.engine import sgd_steps
    from deltaprop.playground.server import running

    config = {"sizes": [2, 16, 16, 2], "activations": ["tanh", "tanh", "sigmoid"], "seed": 3, "eta": 0.01}
    n = 1_000_000  # about 5 s of SGD steps at 5 us each: far longer than any answer below
    with running() as url:
        base = url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
        with connect(base) as a, connect(base) as b:
            a.send(json.dumps({"op": "build", "config": config}))
            built = json.loads(a.recv())
            a.send(json.dumps({"op": "step", "n": n}))
            t = 0
            for _ in range(10_000):  # another socket's questions, answered while the run goes on
                b.send(json.dumps({"op": "hello"}))
                t = json.loads(b.recv(timeout=60))["t"]
                if t > 0:
                    break
            assert 0 < t < n, "another socket's message waited for the whole run"
            with urllib.request.urlopen(url, timeout=60) as page:  # a page load, too
                assert page.status == 200
            a.send(json.dumps({"op": "stop"}))
            stopped, after = json.loads(a.recv(timeout=60)), json.loads(a.recv(timeout=60))
    assert stopped["type"] == after["type"] == "state", stopped.get("message")
    done = stopped["t"]
    assert t <= done < n and after["t"] == done, "the run did not stop"
    assert [row[0] for row in stopped["history"]] == [0, done]
    # The steps taken in chunks are the steps of one call: the same draws, bit for bit.
    net = Network(config["sizes"], config["activations"], "quadratic", dtype="float64", seed=3, init=0.5)
    for l in range(1, 4):
        np.testing.assert_array_equal(built["graph"]["W"][l - 1], net.weights[l - 1])
    X, Y = higham_points()
    sgd_steps(net, X, Y, done, 0.01, np.random.default_rng(3))
    for l in range(1, 4):
        np.testing.assert_array_equal(np.array(stopped["graph"]["W"][l - 1]), net.weights[l - 1], err_msg=f"W[{l}]")
        np.testing.assert_array_equal(np.array(stopped["graph"]["b"][l - 1]), net.biases[l - 1], err_msg=f"b[{l}]")


def test_a_change_from_another_socket_ends_a_long_run():
    pytest.importorskip("uvicorn")
    from websockets.sync.client import connect

    from deltaprop.playground.server import running

    with running() as url:
        base = url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
        with connect(base) as a, connect(base) as b:
            a.send(json.dumps({"op": "build", "config": {"sizes": [2, 16, 16, 2], "eta": 0.01,
                                                         "activations": ["tanh", "tanh", "sigmoid"]}}))
            a.recv()
            a.send(json.dumps({"op": "step", "n": 1_000_000}))
            b.send(json.dumps({"op": "rewind"}))
            rewound = json.loads(b.recv(timeout=60))
            ended = json.loads(a.recv(timeout=60))
    assert rewound["t"] == 0 and ended["type"] == "state" and ended["t"] < 1_000_000


def test_a_change_sent_right_after_a_long_run_ends_it_even_before_it_starts():
    pytest.importorskip("uvicorn")
    from websockets.sync.client import connect

    from deltaprop.playground.server import running

    with running() as url:
        with connect(url.replace("http://", "ws://").replace("/?token=", "/ws?token=")) as a:
            a.send(json.dumps({"op": "build", "config": {"sizes": [2, 16, 16, 2], "eta": 0.01,
                                                         "activations": ["tanh", "tanh", "sigmoid"]}}))
            a.recv()
            a.send(json.dumps({"op": "step", "n": 1_000_000}))  # both arrive before the run's first chunk
            a.send(json.dumps({"op": "rewind"}))
            ended, rewound = json.loads(a.recv(timeout=60)), json.loads(a.recv(timeout=60))
    assert ended["type"] == "state" and ended["t"] < 1_000_000, "the rewind waited for the whole run"
    assert rewound["t"] == 0

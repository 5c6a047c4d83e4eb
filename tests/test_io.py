"""Model files: round trips, compatibility with the official safetensors library, and every way
a tampered, truncated or foreign file is refused (with the file left as it was)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltaprop import Network, load
from deltaprop.datasets import Scaling
from deltaprop.io import FORMAT, encode, model_metadata, model_tensors, save, write_atomic

SRC = Path(__file__).resolve().parents[1] / "src" / "deltaprop"


def small_net(dtype: str = "float32") -> Network:
    net = Network([4, 3, 2], ["tanh", "softmax"], "cross_entropy", dtype=dtype, seed=1, dropout=[0.25])
    net.scaling = Scaling.standardize_from(np.arange(12.0).reshape(3, 4) ** 1.5)
    net.classes = ("cat", "dog")
    return net


def assert_same_net(a: Network, b: Network) -> None:
    assert (a.sizes, a.activations, a.cost_name, a.dtype, a.dropout) == (b.sizes, b.activations, b.cost_name,
                                                                         b.dtype, b.dropout)
    assert a.scaling == b.scaling and a.classes == b.classes
    for name, x, y in zip(["W1", "W2", "b1", "b2"], a.weights + a.biases, b.weights + b.biases):
        assert x.shape == y.shape and x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype):
    net = small_net(dtype)
    save(net, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    assert_same_net(back, net)
    X = np.linspace(-1, 1, 8).reshape(2, 4)
    assert back.forward(X).shape == (2, 2)
    np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_official_safetensors_reads_our_files(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    net = small_net()
    save(net, tmp_path / "m.safetensors")
    tensors = load_file(str(tmp_path / "m.safetensors"))
    assert sorted(tensors) == ["layers.1.bias", "layers.1.weight", "layers.2.bias", "layers.2.weight"]
    for l in (1, 2):
        assert tensors[f"layers.{l}.weight"].shape == net.weights[l - 1].shape
        assert np.array_equal(tensors[f"layers.{l}.weight"], net.weights[l - 1])
        assert np.array_equal(tensors[f"layers.{l}.bias"], net.biases[l - 1])
    with safe_open(str(tmp_path / "m.safetensors"), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == FORMAT and json.loads(meta["architecture"])["sizes"] == [4, 3, 2]
    assert re.fullmatch("[0-9a-f]{64}", meta["sha256"])


def test_we_read_files_written_by_the_official_library(tmp_path):
    from safetensors.numpy import save_file

    net = small_net("float64")
    save_file({k: v.copy() for k, v in model_tensors(net).items()}, str(tmp_path / "m.safetensors"),
              metadata=model_metadata(net))
    assert_same_net(load(tmp_path / "m.safetensors"), net)


def test_write_atomic_keeps_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "m.safetensors"
    write_atomic(target, b"old contents")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new contents")
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left


def test_save_refuses_classes_it_could_not_load_back(tmp_path):
    net = small_net()
    net.classes = ("a", "b", "c")  # three labels for n_L = 2 outputs
    with pytest.raises(ValueError, match="classes must be 2 distinct labels"):
        save(net, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_encode_refuses_unsupported_dtypes():
    with pytest.raises(TypeError, match="cannot store tensor 'x' of dtype float16"):
        encode({"x": np.zeros(2, np.float16)}, {})


# ----- tampered files -----------------------------------------------------------------------------
def parts(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def assemble(header: dict, body: bytes) -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + body


def rewrite_header(data: bytes, edit, *, keep_digest: bool = False) -> bytes:
    """Edit the header; like a crafted file, drop the SHA-256 unless keep_digest (then it lies)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    if not keep_digest:
        header["__metadata__"].pop("sha256")
    edit(header)
    return assemble(header, data[8 + n:])


def with_meta(key: str, value: str):
    def edit(h: dict) -> None:
        h["__metadata__"][key] = value
    return edit


def renamed(old: str, new: str):
    def edit(h: dict) -> None:
        h[new] = h.pop(old)
    return edit


def grown(h: dict) -> None:  # the header says W^(2) is (3, 3): more bytes than the data hold
    h["layers.2.weight"]["shape"] = [3, 3]


def shifted(h: dict) -> None:  # a gap of 4 bytes before the last tensor
    last = max(h.values(), key=lambda v: v.get("data_offsets", [0])[0] if isinstance(v, dict) else -1)
    last["data_offsets"] = [last["data_offsets"][0] + 4, last["data_offsets"][1] + 4]


def field(name: str, key: str, value):
    def edit(h: dict) -> None:
        h[name][key] = value
    return edit


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def nan_weights(_: bytes) -> bytes:
    net = small_net()
    tensors = model_tensors(net)
    tensors["layers.1.weight"] = tensors["layers.1.weight"].copy()
    tensors["layers.1.weight"][0, 0] = np.nan
    return encode(tensors, model_metadata(net))


def transposed(_: bytes) -> bytes:
    net = small_net()
    tensors = dict(model_tensors(net))
    tensors["layers.1.weight"] = np.ascontiguousarray(tensors["layers.1.weight"].T)  # (3, 4), not (4, 3)
    return encode(tensors, model_metadata(net))


def float64_tensors(_: bytes) -> bytes:
    net = small_net()
    return encode({k: v.astype(np.float64) for k, v in model_tensors(net).items()}, model_metadata(net))


def extra_tensor(_: bytes) -> bytes:
    net = small_net()
    return encode({**model_tensors(net), "layers.3.weight": np.zeros((2, 2), np.float32)}, model_metadata(net))


def foreign_safetensors(_: bytes) -> bytes:  # a valid safetensors file that is not a deltaprop model
    return encode({"embedding.weight": np.zeros((5, 2), np.float32)}, {"format": "pt"})


TAMPERED = {
    # name: (a function of the good file's bytes, or of tmp_path for built files; the expected message)
    "truncated by one byte": (lambda d: d[:-1], "truncated"),
    "truncated in the data": (lambda d: d[:-40], "truncated"),
    "truncated in the header": (lambda d: d[:len(d) // 2], "truncated"),
    "truncated to 5 bytes": (lambda d: d[:5], "only 5 bytes"),
    "empty file": (lambda d: b"", "only 0 bytes"),
    "trailing bytes": (lambda d: d + b"\0" * 8, "truncated or padded"),
    "header size lies": (lambda d: struct.pack("<Q", len(d)) + d[8:], "header claims"),
    "header size of 2**63": (lambda d: struct.pack("<Q", 2**63) + d[8:], "header claims"),
    "shape lies about the size": (lambda d: rewrite_header(d, grown), "do not match its shape"),
    "gap between tensors": (lambda d: rewrite_header(d, shifted), "do not match its shape"),
    "unknown dtype": (lambda d: rewrite_header(d, field("layers.1.bias", "dtype", "BF16")), "has dtype 'BF16'"),
    "negative dimension": (lambda d: rewrite_header(d, field("layers.1.bias", "shape", [-3])), "non-negative"),
    "boolean dimension": (lambda d: rewrite_header(d, field("layers.1.bias", "shape", [True, 3])), "non-negative"),
    "offsets not integers": (lambda d: rewrite_header(d, field("layers.1.bias", "data_offsets", "0:12")),
                             "malformed data_offsets"),
    "unexpected tensor field": (lambda d: rewrite_header(d, field("layers.1.bias", "code", "print(1)")),
                                "exactly dtype, shape and data_offsets"),
    "unknown layer name": (lambda d: rewrite_header(d, renamed("layers.2.weight", "layers.9.weight")),
                           "unknown: ['layers.9.weight'], missing: ['layers.2.weight']"),
    "a tensor too many": (extra_tensor, "unknown: ['layers.3.weight']"),
    "transposed weight": (transposed, "the architecture says float32[4, 3]"),
    "dtype differs from the architecture": (float64_tensors, "the architecture says float32"),
    "a data byte flipped": (flip_last_byte, "do not match the SHA-256"),
    "classes swapped, digest kept": (lambda d: rewrite_header(d, with_meta("classes", '["dog", "cat"]'),
                                                              keep_digest=True), "do not match the SHA-256"),
    "NaN weight": (nan_weights, "must be finite"),
    "header not JSON": (lambda d: struct.pack("<Q", 8) + b"\x80abcdefg" + d[16:], "not valid JSON"),
    "header a JSON list": (lambda d: assemble([1, 2], b""), "not a JSON object"),  # type: ignore[arg-type]
    "repeated key": (lambda d: struct.pack("<Q", 18) + b'{"a":"1","a":"2"} ', "appears twice"),
    "deeply nested header": (lambda d: struct.pack("<Q", 400_000) + b"[" * 200_000 + b"]" * 200_000,
                             "not valid JSON"),
    "metadata not strings": (lambda d: rewrite_header(d, with_meta("architecture", 5)), "map names to strings"),
    "not a deltaprop model": (foreign_safetensors, "not a deltaprop model"),
    "a PNG image": (lambda d: b"\x89PNG\r\n\x1a\n" + bytes(64), "header claims"),
    "a text file": (lambda d: b"sizes: [4, 3, 2]\nactivations: tanh\n", "header claims"),
    "architecture not JSON": (lambda d: rewrite_header(d, with_meta("architecture", "{sizes")),
                              "malformed architecture"),
    "architecture a list": (lambda d: rewrite_header(d, with_meta("architecture", "[4, 3, 2]")),
                            "malformed architecture"),
    "unknown activation": (lambda d: rewrite_header(d, with_meta("architecture", json.dumps(
        {"sizes": [4, 3, 2], "activations": ["tanh", "evil"], "cost": "cross_entropy", "dtype": "float32"}))),
        "unknown activation 'evil'"),
    "negative width": (lambda d: rewrite_header(d, with_meta("architecture", json.dumps(
        {"sizes": [4, -3, 2], "activations": ["tanh", "softmax"], "cost": "cross_entropy", "dtype": "float32"}))),
        "invalid architecture"),
    "sizes a string": (lambda d: rewrite_header(d, with_meta("architecture", json.dumps(
        {"sizes": "432", "activations": ["tanh", "softmax"], "cost": "cross_entropy", "dtype": "float32"}))),
        "invalid architecture"),
    "dtype float16": (lambda d: rewrite_header(d, with_meta("architecture", json.dumps(
        {"sizes": [4, 3, 2], "activations": ["tanh", "softmax"], "cost": "cross_entropy", "dtype": "float16"}))),
        "dtype must be one of float32, float64"),
    "classes of the wrong length": (lambda d: rewrite_header(d, with_meta("classes", '["a", "b", "c"]')),
                                    "classes must be 2 distinct labels"),
    "classes not a list": (lambda d: rewrite_header(d, with_meta("classes", "7")), "classes must be a list"),
    "scaling of another kind": (lambda d: rewrite_header(d, with_meta("scaling", '{"kind": "exec"}')),
                                "Scaling JSON 'kind' must be one of"),
    "scaling for other features": (lambda d: rewrite_header(d, with_meta("scaling", json.dumps(
        {"kind": "standardize", "mean": [0.0], "std": [1.0]}))), "scaling has 1 features"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_files_are_refused_and_left_alone(tmp_path, case):
    good = tmp_path / "good.safetensors"
    save(small_net(), good)
    make, message = TAMPERED[case]
    bad_bytes = make(good.read_bytes())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bad_bytes)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        load(bad)
    assert str(bad) in str(info.value)  # the message names the file
    assert bad.read_bytes() == bad_bytes


def test_the_digest_covers_metadata_names_and_data(tmp_path):
    save(small_net(), tmp_path / "m.safetensors")
    good = (tmp_path / "m.safetensors").read_bytes()
    edits = {"classes": with_meta("classes", '["dog", "cat"]'),
             "a tensor renamed": renamed("layers.1.bias", "layers.1.bias "),
             "new metadata": with_meta("note", "hello")}
    for edit in edits.values():
        (tmp_path / "e.safetensors").write_bytes(rewrite_header(good, edit, keep_digest=True))
        with pytest.raises(ValueError, match="do not match the SHA-256"):
            load(tmp_path / "e.safetensors")
    # Without the digest (a file from another tool) the header is checked field by field instead.
    (tmp_path / "e.safetensors").write_bytes(rewrite_header(good, with_meta("note", "hello")))
    assert_same_net(load(tmp_path / "e.safetensors"), small_net())


def test_a_folder_or_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.safetensors")


# ----- random corruption: every outcome is the same network or a ValueError ----------------------
FUZZ_COUNT = {"files": 0}


class _Summary:
    """Adds one line to pytest's terminal summary (so the README can quote the count)."""

    def __init__(self, text):
        self.text = text

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line(self.text())


@pytest.fixture(scope="module", autouse=True)
def report_fuzz_count(request):
    text = (lambda: f"deltaprop io fuzz: {FUZZ_COUNT['files']} randomly corrupted model files, each refused "
                    "with ValueError or read back unchanged")
    if not request.config.pluginmanager.has_plugin("deltaprop-io-fuzz"):
        request.config.pluginmanager.register(_Summary(text), "deltaprop-io-fuzz")
    yield
    if getattr(request.config, "cache", None) is not None:  # absent with -p no:cacheprovider
        request.config.cache.set("deltaprop/io_fuzz_files", FUZZ_COUNT["files"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "set"]), st.integers(0, 10**6),
                                st.integers(0, 255)), min_size=1, max_size=4))
def test_random_corruption_never_loads_a_different_network(tmp_path, edits):
    FUZZ_COUNT["files"] += 1
    good = tmp_path / "good.safetensors"
    if not good.exists():
        save(small_net(), good)
    data = bytearray(good.read_bytes())
    for kind, pos, byte in edits:
        pos %= len(data) + 1
        if kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = bytes([byte])
        elif data and kind in ("flip", "set"):
            pos %= len(data)
            data[pos] = data[pos] ^ (1 << (byte % 8)) if kind == "flip" else byte
        if not data:
            break
    bad = tmp_path / "fuzzed.safetensors"
    bad.write_bytes(bytes(data))
    try:
        net = load(bad)
    except ValueError:
        return
    assert_same_net(net, small_net())  # e.g. a flipped bit in the header's padding


# ----- nothing is ever unpickled ----------------------------------------------------------------
def test_no_code_path_unpickles():
    files = sorted(SRC.rglob("*.py"))
    assert len(files) >= 15, f"expected the package sources under {SRC}"
    offences = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#")[0]
            checks = [
                (r"^\s*(import|from)\s+(c?pickle|dill|shelve|marshal|joblib)\b", "imports a pickle module"),
                (r"\bpickle\.loads?\(|read_pickle\(|joblib\.load\(", "unpickles"),
                (r"allow_pickle\s*=\s*True", "allow_pickle=True"),
            ]
            for pattern, what in checks:
                if re.search(pattern, code):
                    offences.append(f"{path.name}:{number}: {what}: {line.strip()}")
            if re.search(r"\b(np|numpy)\.load\(", code) and "allow_pickle=False" not in code:
                offences.append(f"{path.name}:{number}: np.load without allow_pickle=False")
            if re.search(r"\btorch\.load\(", code) and "weights_only=True" not in code:
                offences.append(f"{path.name}:{number}: torch.load without weights_only=True")
    assert offences == []


def test_model_bytes_are_the_file_and_load_back_as_strictly(tmp_path):
    from deltaprop.io import from_bytes, to_bytes

    net = Network([3, 5, 2], ["tanh", "softmax"], "cross_entropy", seed=4, dtype="float64")
    net.classes = ("no", "yes")
    net.save(tmp_path / "m.safetensors")
    data = to_bytes(net)
    assert data == (tmp_path / "m.safetensors").read_bytes()  # how a network travels is its model file
    back = from_bytes(data)
    assert back.sizes == net.sizes and back.classes == net.classes
    for W0, W1 in zip(net.weights + net.biases, back.weights + back.biases):
        np.testing.assert_array_equal(W0, W1)
    with pytest.raises(ValueError, match=re.escape("model bytes: not a valid safetensors file (only 5 bytes")):
        from_bytes(data[:5])

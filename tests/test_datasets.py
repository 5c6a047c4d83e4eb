"""Tests for deltaprop.datasets: digits, MNIST (folder, env var, download), CSV, NPZ, Scaling."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from deltaprop.datasets import (
    MNIST_SHA256, Dataset, Scaling, higham_points, load_csv, load_dataset, load_digits, load_mnist,
    load_npz, one_hot, read_features,
)

SUBSET = (500, 200)


# --- digits ---------------------------------------------------------------------------------

def test_digits_shapes_values_and_split() -> None:
    data = load_digits()
    assert data.X_train.shape[1] == data.X_test.shape[1] == 64
    assert len(data.X_train) + len(data.X_test) == 1797
    assert data.y_train.shape == (len(data.X_train),) and data.y_test.shape == (len(data.X_test),)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0 <= data.X_train.min() and data.X_train.max() <= 1 and data.X_test.max() <= 1
    assert data.classes == tuple(range(10))
    assert data.scaling == Scaling.divide(16.0)
    assert abs(len(data.X_test) / 1797 - 0.25) < 0.01
    assert set(data.y_test.tolist()) == set(range(10))  # stratified: every class in the test split
    assert data.feature_names is not None and len(data.feature_names) == 64


def test_digits_split_is_deterministic() -> None:
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, "0.2"])
def test_digits_bad_test_fraction(fraction: object) -> None:
    with pytest.raises(ValueError, match="test_fraction must be a number in"):
        load_digits(test_fraction=fraction)  # type: ignore[arg-type]


# --- MNIST from a folder --------------------------------------------------------------------

def _check_mnist(data: Dataset, m_train: int, m_test: int) -> None:
    assert data.X_train.shape == (m_train, 784) and data.X_test.shape == (m_test, 784)
    assert data.y_train.shape == (m_train,) and data.y_test.shape == (m_test,)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0 <= data.X_train.min() and data.X_train.max() == 1 and data.X_test.max() == 1
    assert data.y_train.min() == 0 and data.y_train.max() == 9
    assert data.classes == tuple(range(10)) and data.scaling == Scaling.divide(255.0)


def test_mnist_subset_from_folder(mnist_dir: Path) -> None:
    data = load_mnist(mnist_dir, subset=SUBSET)
    _check_mnist(data, *SUBSET)
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the well-known first labels
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_mnist_full_load_and_checksums(mnist_dir: Path) -> None:
    sums = dict(line.split()[::-1] for line in (mnist_dir / "SHA256SUMS.uncompressed").read_text().splitlines())
    assert sums == MNIST_SHA256
    data = load_mnist(mnist_dir)
    _check_mnist(data, 60_000, 10_000)
    assert np.bincount(data.y_train).tolist()[:2] == [5923, 6742]


def test_mnist_env_var(mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELTAPROP_DATA", str(mnist_dir))
    _check_mnist(load_mnist(subset=SUBSET), *SUBSET)
    monkeypatch.setenv("DELTAPROP_DATA", str(mnist_dir.parent))  # the mnist subfolder is found too
    _check_mnist(load_mnist(subset=SUBSET), *SUBSET)


def _copy_mnist(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in MNIST_SHA256:
        shutil.copyfile(src / f"{name}.gz", dst / f"{name}.gz")
    return dst


def test_mnist_folder_with_raw_files(mnist_dir: Path, tmp_path: Path) -> None:
    folder = _copy_mnist(mnist_dir, tmp_path / "m")
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        gz = folder / f"{name}.gz"
        (folder / name).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    _check_mnist(load_mnist(folder, subset=SUBSET), *SUBSET)


def test_mnist_folder_errors(mnist_dir: Path, tmp_path: Path) -> None:
    folder = _copy_mnist(mnist_dir, tmp_path / "m")
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[100] = (content[100] + 1) % 10  # still valid IDX, one label changed
    labels.write_bytes(gzip.compress(bytes(content)))
    got = hashlib.sha256(content).hexdigest()
    expected = MNIST_SHA256["t10k-labels-idx1-ubyte"]
    msg = f"{labels}: SHA-256 of the uncompressed content is {got}, expected {expected}"
    with pytest.raises(ValueError, match=re.escape(msg)):
        load_mnist(folder, subset=SUBSET)
    labels.write_bytes(gzip.compress(bytes(content))[:-100])  # truncated gzip
    with pytest.raises(ValueError, match=re.escape(f"{labels}: corrupt gzip stream") + ".*" + expected):
        load_mnist(folder, subset=SUBSET)
    labels.unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(folder)


@pytest.mark.parametrize("subset", [(0, 5), (5,), (5, 5, 5), (1.5, 2), "10"])
def test_mnist_bad_subset(mnist_dir: Path, subset: object) -> None:
    with pytest.raises(ValueError, match="subset must be a pair"):
        load_mnist(mnist_dir, subset=subset)  # type: ignore[arg-type]


def test_mnist_subset_too_large(mnist_dir: Path) -> None:
    with pytest.raises(ValueError, match="subset asks for 10001 t10k images; MNIST has 10000"):
        load_mnist(mnist_dir, subset=(10, 10_001))


# --- MNIST download through a local HTTP server ---------------------------------------------

@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DELTAPROP_DATA", raising=False)


@pytest.mark.usefixtures("no_env")
def test_download_once_then_cached(mnist_dir: Path, tmp_path: Path, serve_dir, capfd) -> None:
    server = serve_dir(mnist_dir)
    cache = tmp_path / "cache"
    _check_mnist(load_mnist(cache_dir=cache, base_url=server.url, subset=SUBSET), *SUBSET)
    assert sorted(server.requests) == sorted(f"/{name}.gz" for name in MNIST_SHA256)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{name}.gz" for name in MNIST_SHA256)
    _check_mnist(load_mnist(cache_dir=cache, base_url=server.url, subset=SUBSET), *SUBSET)
    assert len(server.requests) == 4  # the second call used the cache
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the library never prints (pooch's log is silenced)


def _bad_server_folder(mnist_dir: Path, folder: Path, how: str) -> Path:
    _copy_mnist(mnist_dir, folder)
    bad = folder / "train-labels-idx1-ubyte.gz"
    data = bad.read_bytes()
    if how == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    else:  # flipped bytes in the content, a valid gzip stream
        content = bytearray(gzip.decompress(data))
        content[-10:] = bytes(b ^ 0xFF for b in content[-10:])
        bad.write_bytes(gzip.compress(bytes(content)))
    return bad


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_download_bad_file_is_rejected_and_deleted(mnist_dir: Path, tmp_path: Path, serve_dir, how: str) -> None:
    bad = _bad_server_folder(mnist_dir, tmp_path / "served", how)
    server = serve_dir(tmp_path / "served")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*expected.* "
                                         + MNIST_SHA256["train-labels-idx1-ubyte"]):
        load_mnist(cache_dir=cache, base_url=server.url, subset=SUBSET)
    assert not (cache / bad.name).exists()
    # Once the server has the right file, a later call downloads it again and succeeds.
    shutil.copyfile(mnist_dir / bad.name, bad)
    n = len(server.requests)
    _check_mnist(load_mnist(cache_dir=cache, base_url=server.url, subset=SUBSET), *SUBSET)
    assert f"/{bad.name}" in server.requests[n:]


@pytest.mark.usefixtures("no_env")
def test_damaged_cache_file_is_downloaded_again(mnist_dir: Path, tmp_path: Path, serve_dir) -> None:
    server = serve_dir(mnist_dir)
    cache = _copy_mnist(mnist_dir, tmp_path / "cache")
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    _check_mnist(load_mnist(cache_dir=cache, base_url=server.url, subset=SUBSET), *SUBSET)
    assert server.requests == ["/t10k-labels-idx1-ubyte.gz"]


# --- Higham & Higham ------------------------------------------------------------------------

def test_higham_points() -> None:
    X, Y = higham_points()
    assert X.shape == (10, 2) and Y.shape == (10, 2) and X.dtype == Y.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], [0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7])
    np.testing.assert_array_equal(X[:, 1], [0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6])
    np.testing.assert_array_equal(Y, [[1, 0]] * 5 + [[0, 1]] * 5)
    X, Y = higham_points(extra_point=True)
    assert X.shape == (11, 2) and Y.shape == (11, 2)
    np.testing.assert_array_equal(X[10], [0.3, 0.7])
    np.testing.assert_array_equal(Y[10], [0, 1])


# --- CSV ------------------------------------------------------------------------------------

def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _iris_like(n: int = 12) -> str:
    rng = np.random.default_rng(1)
    lines = ["sepal_length,sepal_width,label"]
    for i in range(n):
        lines.append(f"{rng.normal(5, 1):.3f},{rng.normal(3, 0.5):.3f},{i % 3}")
    return "\n".join(lines) + "\n"


def test_csv_good(tmp_path: Path) -> None:
    data = load_csv(_write(tmp_path / "iris.csv", _iris_like()))
    assert data.name == "iris"
    assert data.X_train.shape == (9, 2) and data.X_test.shape == (3, 2)
    assert data.classes == (0, 1, 2) and data.feature_names == ("sepal_length", "sepal_width")
    assert data.scaling.kind == "standardize"
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, rtol=1e-5)
    assert sorted(data.y_test.tolist()) == [0, 1, 2]  # stratified


def test_csv_string_labels_target_and_blank_lines(tmp_path: Path) -> None:
    text = "species,a,b\nvirginica,1,2\n\nsetosa,3,4\nsetosa,5,6.5\nvirginica, 7 ,8\n"
    data = load_csv(_write(tmp_path / "s.csv", text), target="species", test_fraction=0.5)
    assert data.classes == ("setosa", "virginica") and data.feature_names == ("a", "b")
    raw = data.scaling.apply(np.array([[1.0, 2.0]]))
    assert raw.shape == (1, 2)
    rows = np.vstack([data.X_train, data.X_test]).astype(np.float64) * data.scaling.std + data.scaling.mean
    assert sorted(map(tuple, np.round(rows, 5).tolist())) == [(1, 2), (3, 4), (5, 6.5), (7, 8)]


@pytest.mark.parametrize("text, match", [
    ("", "empty file"),
    ("a,b,label\n", "header only, no data rows"),
    ("a,b,label\n1,2,0\n3,4,1\n5,6\n", "row 4 has 2 cells, the header has 3"),
    ("a,b,label\n1,2,0\n3,abc,1\n", "row 3, column 'b': 'abc' is not a number"),
    ("a,b,label\n1,2,0\n\n3,,1\n", "row 4, column 'b': '' is not a number"),
    ("a,b,label\n1,2,0\n3,nan,1\n", "row 3, column 'b': 'nan' is not finite"),
    ("a,b,label\n1,2,0\n-inf,4,1\n", "row 3, column 'a': '-inf' is not finite"),
    ("a,b,label\n1,2,0\n3,4,0\n", "only 1 distinct label \\(0\\); classification needs at least 2"),
    ("a,a,label\n1,2,0\n3,4,1\n", "repeats the column name"),
    ("label\n0\n1\n", "at least one feature column"),
    ("a,b,label\n1,2,\n3,4,1\n", "row 2, column 'label': empty label"),
])
def test_csv_errors(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + match):
        load_csv(path)


def test_csv_unknown_target(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", _iris_like())
    with pytest.raises(ValueError, match="no column named 'species'; the columns are 'sepal_length', "
                                         "'sepal_width', 'label'"):
        load_csv(path, target="species")


def test_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csv(tmp_path / "nope.csv")


# --- NPZ ------------------------------------------------------------------------------------

def test_npz_unit_inputs_used_as_they_are(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3)), np.repeat([3, 7], 20)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    data = load_npz(tmp_path / "d.npz")
    assert data.scaling == Scaling.identity() and data.classes == (3, 7)
    assert data.X_train.shape == (30, 3) and data.X_test.shape == (10, 3)
    both = np.vstack([data.X_train, data.X_test])
    np.testing.assert_allclose(np.sort(both, axis=0), np.sort(X.astype(np.float32), axis=0))


def test_npz_with_test_arrays_and_standardised(tmp_path: Path) -> None:
    X = np.arange(12.0).reshape(6, 2) * 10
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["b", "a", "b", "a", "b", "a"]),
             X_test=X[:2] + 1, y_test=np.array(["a", "c"]))
    data = load_npz(tmp_path / "d.npz")
    assert data.classes == ("a", "b", "c")
    assert data.scaling == Scaling.standardize_from(X)
    np.testing.assert_array_equal(data.y_train, [1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(data.y_test, [0, 2])
    np.testing.assert_allclose(data.X_test, Scaling.standardize_from(X).apply(X[:2] + 1), rtol=1e-6)


@pytest.mark.parametrize("arrays, match", [
    ({"X": np.zeros((4, 2))}, "needs arrays 'X' and 'y'"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(4, int), "X_test": np.zeros((1, 2))}, "needs arrays 'X' and 'y'"),
    ({"X": np.zeros(4), "y": np.arange(4)}, "'X' must be a non-empty 2-D numeric array"),
    ({"X": np.zeros((4, 2)), "y": np.arange(3)}, r"'y' must have shape \(4,\) to match 'X'"),
    ({"X": np.zeros((4, 2)), "y": np.zeros((4, 1), int)}, r"'y' must have shape \(4,\)"),
    ({"X": np.array([[0.0, np.nan], [0, 0]]), "y": np.arange(2)}, "'X' has a non-finite value nan at row 0"),
    ({"X": np.array([[0.0, 1], [np.inf, 0]]), "y": np.arange(2)}, "non-finite value inf at row 1, column 0"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(4, complex)}, "must hold numbers or string labels"),
    ({"X": np.zeros((4, 2)), "y": np.array([0.0, 1, np.nan, 1])}, "'y' has a non-finite value nan"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(4, int)}, "only 1 distinct label"),
    ({"X": np.zeros((4, 2)), "y": np.arange(4), "X_test": np.zeros((2, 3)), "y_test": np.arange(2)},
     "'X_test' has 3 columns, 'X' has 2"),
])
def test_npz_errors(tmp_path: Path, arrays: dict, match: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "bad.npz")) + ": .*" + match):
        load_npz(tmp_path / "bad.npz")


def test_npz_never_unpickles(tmp_path: Path) -> None:
    np.savez(tmp_path / "obj.npz", X=np.array([[1, 2]], dtype=object), y=np.array([0]))
    with pytest.raises(ValueError, match="obj.npz: .*allow_pickle=False"):
        load_npz(tmp_path / "obj.npz")


def test_npz_not_an_archive(tmp_path: Path) -> None:
    _write(tmp_path / "text.npz", "X,y\n1,0\n")
    with pytest.raises(ValueError, match="text.npz: not a NumPy .npy/.npz file"):
        load_npz(tmp_path / "text.npz")
    np.save(tmp_path / "one.npy", np.eye(2))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(ValueError, match="one.npz: not an .npz archive; expected arrays 'X' and 'y'"):
        load_npz(tmp_path / "one.npz")


# --- load_dataset, read_features, one_hot ---------------------------------------------------

def test_load_dataset_dispatch(tmp_path: Path) -> None:
    assert load_dataset("digits").name == "digits"
    csv_path = _write(tmp_path / "x.csv", _iris_like())
    assert load_dataset(str(csv_path), target="label").classes == (0, 1, 2)
    np.savez(tmp_path / "x.npz", X=np.eye(4), y=np.array([0, 1, 0, 1]))
    assert load_dataset(tmp_path / "x.npz").n_features == 4


def test_load_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("unknown data set 'iris'; expected 'digits', 'mnist', 'higham', 'higham+1', or a path")):
        load_dataset("iris")
    with pytest.raises(ValueError, match="target='y' applies to CSV files only"):
        load_dataset("digits", target="y")
    with pytest.raises(TypeError, match="must be a name or a path, got int"):
        load_dataset(3)  # type: ignore[arg-type]


def test_read_features(tmp_path: Path) -> None:
    X = read_features(_write(tmp_path / "new.csv", "a,b\n1,2\n3.5,-4\n"), n_features=2)
    assert X.shape == (2, 2) and X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1, 2], [3.5, -4]])
    np.save(tmp_path / "new.npy", np.arange(6, dtype=np.int32).reshape(3, 2))
    np.testing.assert_array_equal(read_features(tmp_path / "new.npy", n_features=2), [[0, 1], [2, 3], [4, 5]])


def test_read_features_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "new.csv", "a,b,label\n1,2,0\n")
    with pytest.raises(ValueError, match=r"expected 2 feature columns, got 3 \(drop the label column\?\)"):
        read_features(path, n_features=2)
    with pytest.raises(ValueError, match="row 2, column 'b': 'x' is not a number"):
        read_features(_write(tmp_path / "x.csv", "a,b\n1,x\n"), n_features=2)
    np.save(tmp_path / "flat.npy", np.arange(3.0))
    with pytest.raises(ValueError, match=r"expected a non-empty 2-D numeric array, got float64 \(3,\)"):
        read_features(tmp_path / "flat.npy", n_features=3)
    with pytest.raises(ValueError, match="expected a .csv or .npy file"):
        read_features(tmp_path / "x.txt", n_features=2)


def test_one_hot() -> None:
    Y = one_hot(np.array([2, 0, 1, 2]), 3)
    assert Y.shape == (4, 3)
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert one_hot(np.array([], dtype=int), 2).shape == (0, 2)
    with pytest.raises(ValueError, match=r"class indices in 0..2, got values 0..3"):
        one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="integer class indices"):
        one_hot([0.0, 1.0], 2)
    with pytest.raises(ValueError, match="n_classes must be an int >= 1"):
        one_hot([0], 0)


# --- Scaling and Dataset --------------------------------------------------------------------

@pytest.mark.parametrize("scaling", [
    Scaling.identity(), Scaling.divide(255.0),
    Scaling.standardize_from(np.array([[1.0, 5.0, 0.1], [3.0, 5.0, 0.7]])),
])
def test_scaling_json_round_trip(scaling: Scaling) -> None:
    back = Scaling.from_json(json.loads(json.dumps(scaling.to_json())))
    assert back == scaling
    X = np.array([[2.0, 1.0, 0.3]])
    np.testing.assert_array_equal(back.apply(X), scaling.apply(X))


def test_scaling_apply() -> None:
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = Scaling.standardize_from(X)
    assert s.mean == (2.0, 5.0) and s.std == (1.0, 1.0)  # std 0 replaced by 1
    Z = s.apply(X)
    np.testing.assert_array_equal(Z, [[-1, 0], [1, 0]])
    np.testing.assert_array_equal(X, [[1, 5], [3, 5]])  # input unchanged
    assert Scaling.identity().apply(X) is not X
    images = np.array([[0, 51, 255]], dtype=np.uint8)
    np.testing.assert_allclose(Scaling.divide(255.0).apply(images), [[0, 0.2, 1]], rtol=1e-15)
    assert Scaling.divide(255.0).apply(images.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="X has 3 columns; this scaling expects n_0 = 2"):
        s.apply(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="X has a non-finite value nan"):
        s.apply(np.array([[np.nan, 0.0]]))


@pytest.mark.parametrize("d, match", [
    ({"kind": "log"}, "'kind' must be one of"),
    ({}, "'kind' must be one of"),
    ({"kind": "divide"}, r"needs keys \['kind', 'scale'\]"),
    ({"kind": "none", "scale": 2.0}, r"needs keys \['kind'\]"),
    ({"kind": "divide", "scale": 0}, "scale must be a finite number > 0"),
    ({"kind": "divide", "scale": "255"}, "scale must be a finite number > 0"),
    ({"kind": "standardize", "mean": [0.0], "std": [0.0]}, "std must be > 0"),
    ({"kind": "standardize", "mean": [0.0, 1.0], "std": [1.0]}, "same length"),
    ({"kind": "standardize", "mean": "0", "std": [1.0]}, "must be a list of numbers"),
    ({"kind": "standardize", "mean": [None], "std": [1.0]}, "mean must be a sequence of finite numbers"),
    ({"kind": "standardize", "mean": [], "std": []}, "same length >= 1"),
])
def test_scaling_from_json_errors(d: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Scaling.from_json(d)


def test_scaling_constructor_errors() -> None:
    with pytest.raises(ValueError, match="kind 'none' takes no scale"):
        Scaling("none", 2.0)
    with pytest.raises(ValueError, match="kind 'divide' takes no mean or std"):
        Scaling("divide", 2.0, mean=(0.0,), std=(1.0,))


def test_scaling_from_json_type_error() -> None:
    with pytest.raises(TypeError, match="expects a dict, got list"):
        Scaling.from_json([])  # type: ignore[arg-type]


def test_dataset_checks_shapes() -> None:
    X, y = np.zeros((3, 2), np.float32), np.zeros(3, np.int64)
    with pytest.raises(ValueError, match="test split"):
        Dataset("d", X, y, X[:, :1], y, (0, 1), Scaling.identity())
    with pytest.raises(ValueError, match="class indices 0..1"):
        Dataset("d", X, y + 2, X, y, (0, 1), Scaling.identity())


def test_csv_value_beyond_float32_is_refused_with_row_and_column(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,label\n1,2,0\n1e308,3,1\n2,2,1\n1,1,0\n")
    with pytest.raises(ValueError, match=re.escape("row 3, column 'a': '1e308' is too large")):
        load_csv(path)


@pytest.mark.parametrize("name", ["nope.csv", "nope.npz"])
def test_a_missing_data_file_is_named_with_what_was_expected(tmp_path: Path, name: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset(tmp_path / name)
    message = str(caught.value)
    assert message.startswith(f"data set {str(tmp_path / name)!r}: no such file") and "Errno" not in message
    assert "'digits'" in message  # what else it could have been

"""Property test: malformed CSV files and argument values thrown at the command line.

Every run must end with exit code 0 (it worked), 2 (bad input: exactly one line on stderr) or 1
(training diverged: one line saying so), and never with a traceback or an exception escaping
``main``. The number of inputs thrown is added to pytest's terminal summary and to the pytest
cache (key ``deltaprop/cli_fuzz_inputs``), so the README can quote it.
"""

from __future__ import annotations

import string
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from deltaprop.cli import main

COUNT = {"in-process": 0, "subprocess": 0}
OUTCOMES = {0: 0, 1: 0, 2: 0}  # exit code -> runs


class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        total = COUNT["in-process"] + COUNT["subprocess"]
        terminalreporter.write_line(
            f"deltaprop CLI fuzz: {total} malformed inputs thrown at the command line "
            f"({COUNT['in-process']} in-process, {COUNT['subprocess']} by subprocess): {OUTCOMES[0]} ran (exit 0), "
            f"{OUTCOMES[1]} diverged (exit 1), {OUTCOMES[2]} refused with one line (exit 2); no traceback")


@pytest.fixture(scope="module", autouse=True)
def record_count(request):
    if not request.config.pluginmanager.has_plugin("deltaprop-cli-fuzz"):
        request.config.pluginmanager.register(_Summary(), "deltaprop-cli-fuzz")
    yield
    if getattr(request.config, "cache", None) is not None:  # absent with -p no:cacheprovider
        request.config.cache.set("deltaprop/cli_fuzz_inputs", COUNT["in-process"] + COUNT["subprocess"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def model(folder):
    """A model with three features and classes 'x', 'y', 'z', trained on a clean CSV."""
    rows = [f"{i % 7},{(i * 3) % 5},{i % 2},{'xyz'[i % 3]}" for i in range(30)]
    (folder / "clean.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    path = folder / "model.safetensors"
    assert main(["train", "--dataset", str(folder / "clean.csv"), "--hidden", "4", "--epochs", "2", "--quiet",
                 "--out", str(path)]) == 0
    return path


def check(rc: int, out: str, err: str, argv: list[str]) -> None:
    """The contract of every run."""
    assert "Traceback" not in err + out, argv
    assert rc in (0, 1, 2), (rc, argv, err)
    OUTCOMES[rc] += 1
    if rc != 0:
        # informational notes (e.g. a batch larger than the data) may precede the one error line
        lines = [line for line in err.strip().splitlines() if not line.startswith("deltaprop: note:")]
        assert len(lines) == 1, (argv, err)
        assert lines[0].startswith("deltaprop"), (argv, lines[0])
        if rc == 1:
            assert "diverged" in lines[0], (argv, lines[0])


def run(capsys, argv: list[str]) -> None:
    COUNT["in-process"] += 1
    capsys.readouterr()
    rc = main(argv)  # an exception escaping main fails the test
    out, err = capsys.readouterr()
    check(rc, out, err, argv)


# ----- strategies -----------------------------------------------------------------------------
NUMBERS = st.one_of(st.integers(-5, 20).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.floats(-1e3, 1e3).map(lambda v: f"{v:.3g}"))
ODD = st.sampled_from(["", " ", "nan", "NaN", "inf", "-Infinity", "1e400", "-1e-400", "abc", "1,5", '"2"', "0x1A",
                       "١٢", "½", "1_000", "True", "None", "--", "\t3", "3 ", "ß", "\x00", "1e", ".", "-"])
CELL = st.one_of(NUMBERS, NUMBERS, ODD)
NAME = st.one_of(st.sampled_from(["a", "b", "c", "label", "x y", "", "label"]),
                 st.text(string.ascii_letters + " _-", max_size=6))


@st.composite
def csv_text(draw, widths=(1, 2, 3, 4, 5)) -> str:
    """A header and rows: usually numeric, sometimes ragged, odd cells, odd line endings, random text."""
    kind = draw(st.sampled_from(["table", "table", "table", "text", "empty-ish"]))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "empty-ish":
        return draw(st.sampled_from(["", "\n", "\n\n", "a,b\n", ",\n,\n", '"', '"a\n1']))
    clean = draw(st.booleans())  # only numbers and a plausible label column: training often runs
    width = draw(st.sampled_from(widths))
    header = draw(st.lists(NAME, min_size=width, max_size=width, unique=clean))
    rows = []
    for _ in range(draw(st.integers(0, 14))):
        n = width if clean or draw(st.integers(0, 9)) else draw(st.integers(0, width + 2))  # 1 in 10 ragged
        row = draw(st.lists(CELL, min_size=n, max_size=n))
        if row and width > 1 and (clean or draw(st.booleans())):
            row[-1] = draw(st.sampled_from(["0", "1", "2", "cat", "dog", "x", "y", "z"]))  # a plausible label
        rows.append(row)
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return end.join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", end]))


FLAG_VALUES = {
    "--lr": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=4),
                      st.sampled_from(["0.1", "1e3", "1e30", "-0.1", "0"])),
    "--batch-size": st.one_of(st.integers(-2, 60).map(str), st.sampled_from(["1.5", "x", "10**9"])),
    "--epochs": st.sampled_from(["1", "2", "3", "0", "-1", "two", "1.0"]),
    "--hidden": st.sampled_from(["3", "1", "5", "0", "-4", "2.5", "x"]),
    "--dtype": st.sampled_from(["float32", "float64", "float16", "int8", "double", ""]),
    "--cost": st.sampled_from(["cross_entropy", "quadratic", "binary_cross_entropy", "hinge", ""]),
    "--activation": st.sampled_from(["relu", "tanh", "sigmoid", "softmax", "identity", "elu", "nope"]),
    "--optimizer": st.sampled_from(["sgd", "momentum", "nesterov", "adam", "rmsprop"]),
    "--schedule": st.sampled_from(["constant", "step", "cosine", "linear"]),
    "--momentum": st.sampled_from(["0", "0.5", "0.9", "1", "1.5", "-1", "nan"]),
    "--weight-decay": st.sampled_from(["0", "1e-4", "0.1", "10", "-1", "inf"]),
    "--dropout": st.sampled_from(["0", "0.2", "0.5", "0.99", "1", "-0.1"]),
    "--seed": st.one_of(st.integers(-3, 2**70).map(str), st.integers(0, 9).map(str), st.just("seed")),
    "--early-stopping": st.sampled_from(["1", "2", "3", "0", "x"]),
    "--validation-fraction": st.sampled_from(["0", "0.1", "0.3", "0.5", "0.99", "1", "-0.5"]),
    "--target": NAME,
    "--on-divergence": st.sampled_from(["stop", "halve-lr", "ignore"]),
    "--subset": st.sampled_from(["10", "0"]),
    "--checkpoint-every": st.sampled_from(["1", "0"]),
}


@st.composite
def train_flags(draw) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(FLAG_VALUES)), max_size=4, unique=True))
    argv = []
    for flag in chosen:
        argv += [flag, draw(FLAG_VALUES[flag])]
    return argv


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


# ----- properties -----------------------------------------------------------------------------
@FUZZ
@given(text=csv_text(), flags=train_flags())
def test_train_on_malformed_csv_files(capsys, folder, text, flags):
    path = folder / "data.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    run(capsys, ["train", "--dataset", str(path), "--epochs", "1", "--hidden", "3", "--quiet", *flags])


@FUZZ
@given(flags=train_flags())
def test_train_with_random_argument_values(capsys, flags):
    run(capsys, ["train", "--dataset", "higham", "--epochs", "1", "--hidden", "3", "--quiet", *flags])


@FUZZ
@given(text=csv_text(widths=(3, 3, 3, 2, 4)), proba=st.booleans(), precision=st.sampled_from(["1", "4", "0", "x"]))
def test_predict_on_malformed_csv_files(capsys, folder, model, text, proba, precision):
    path = folder / "rows.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    run(capsys, ["predict", str(model), str(path), "--precision", precision] + (["--proba"] if proba else []))


@FUZZ
@given(text=csv_text(widths=(4, 4, 4, 3, 5)), target=st.one_of(st.none(), NAME))
def test_evaluate_on_malformed_csv_files(capsys, folder, model, text, target):
    path = folder / "labelled.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    run(capsys, ["evaluate", str(model), "--dataset", str(path)] + ([] if target is None else ["--target", target]))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_text(), flags=train_flags())
@example(text="a,b,y\n1,2,0\n", flags=["--lr", "0\x00"])  # once drawn, hypothesis's database replayed it
def test_a_handful_by_subprocess(folder, text, flags):
    assume("\x00" not in "".join(flags))  # no operating system passes a NUL in an argument (in-process cases do)
    COUNT["subprocess"] += 1
    path = folder / "sub.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    argv = ["train", "--dataset", str(path), "--epochs", "1", "--hidden", "3", "--quiet", *flags]
    proc = subprocess.run([sys.executable, "-m", "deltaprop", *argv], check=False, capture_output=True, text=True, timeout=120)
    check(proc.returncode, proc.stdout, proc.stderr, argv)

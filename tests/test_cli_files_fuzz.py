"""Property test (issue 15): output/input path collisions and byte mutations of model, checkpoint and answer files.

Every run of the command line must end with exit code 0, or 2 with exactly one line on stderr (and,
for ``check``, 1: the hand computation is wrong), never a traceback; and every input file must be
byte-identical afterwards. Runs are in-process (``main``) on real files, hard links and symlinks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltaprop.cli import main

EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ANSWERS = Path(__file__).resolve().parents[1] / "examples" / "answers" / "seed_003_slip.json"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A data set, a model, a finished checkpoint and an answers file, plus aliases of each."""
    folder = tmp_path_factory.mktemp("files-fuzz")
    rows = [f"{i % 5},{(i * 3) % 7},{'ab'[i % 2]}" for i in range(16)]
    (folder / "data.csv").write_text("u,v,label\n" + "\n".join(rows) + "\n")
    tiny = ["--hidden", "3", "--epochs", "1", "--quiet", "--dataset", str(folder / "data.csv")]
    assert main(["train", *tiny, "--out", str(folder / "model.safetensors")]) == 0
    assert main(["train", *tiny, "--checkpoint-dir", str(folder / "ck")]) == 0
    shutil.copy(ANSWERS, folder / "answers.json")
    import numpy as np

    np.save(folder / "rows.npy", np.zeros((3, 2)))
    files = {name: folder / name for name in ("data.csv", "model.safetensors", "answers.json", "rows.npy")}
    files["checkpoint"] = folder / "ck" / "checkpoint.safetensors"
    _link(folder, files)
    return folder, files


def _link(folder: Path, files: dict[str, Path]) -> None:
    """sym-NAME and hard-NAME beside each input: a symlink and a hard link to it."""
    for name, path in files.items():
        for alias in (folder / f"sym-{name}", folder / f"hard-{name}"):
            if alias.is_symlink() or alias.exists():
                alias.unlink()
        (folder / f"sym-{name}").symlink_to(path)
        os.link(path, folder / f"hard-{name}")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".deltaprop.lock")}


def _run(capsys, argv: list[str]) -> int:
    capsys.readouterr()
    rc = main(argv)
    _out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    allowed = (0, 1, 2) if argv[0] == "check" else (0, 2)
    assert rc in allowed, (argv, rc, err)
    if rc == 2:
        assert len(lines) == 1, (argv, err)
    return rc


def _restore(folder: Path, files: dict[str, Path], before: dict[str, bytes]) -> None:
    """Put back files that a run was allowed to replace (an --out naming a file that is not its input)."""
    for name, path in files.items():
        if path.read_bytes() != before[str(path.relative_to(folder))]:
            path.write_bytes(before[str(path.relative_to(folder))])
    _link(folder, files)


def _clean(folder: Path, before: dict[str, bytes]) -> None:
    """Remove what a run created, so that every example starts from the same files."""
    for p in sorted(folder.rglob("*"), reverse=True):
        rel = str(p.relative_to(folder))
        if p.is_symlink() or rel in before or p.name.startswith(".deltaprop.lock"):
            continue
        if p.is_dir():
            if not any(p.iterdir()):
                p.rmdir()
        else:
            p.unlink()


NAMES = ["data.csv", "model.safetensors", "answers.json", "rows.npy", "checkpoint"]


@EXAMPLES
@given(command=st.sampled_from(["train --out", "train --metrics-json", "train --checkpoint-dir", "evaluate",
                                "export", "resume --out"]),
       target=st.one_of(st.tuples(st.sampled_from(["", "sym-", "hard-", "./"]), st.sampled_from(NAMES)),
                        st.just(("new", "out.safetensors")), st.just(("new", "")), st.just(("new", "ck"))))
def test_outputs_that_collide_with_inputs(capsys, inputs, command, target):
    folder, files = inputs
    how, name = target
    if how == "new":
        out = str(folder / name) if name else ""
    elif how == "./":
        out = str(files[name].parent / "." / files[name].name)
    else:
        out = str(folder / f"{how}{name}") if how else str(files[name])
    data, model, ck = str(files["data.csv"]), str(files["model.safetensors"]), str(folder / "ck")
    argv = {"train --out": ["train", "--dataset", data, "--hidden", "3", "--epochs", "1", "--quiet", "--out", out],
            "train --metrics-json": ["train", "--dataset", data, "--hidden", "3", "--epochs", "1", "--quiet",
                                     "--metrics-json", out],
            "train --checkpoint-dir": ["train", "--dataset", data, "--hidden", "3", "--epochs", "1", "--quiet",
                                       "--checkpoint-dir", str(folder / "ck2"), "--out", out],
            "evaluate": ["evaluate", model, "--dataset", data, "--metrics-json", out],
            "export": ["export", model, "--format", "torch", "--out", out],
            "resume --out": ["train", "--resume", ck, "--quiet", "--out", out]}[command]
    own = {"train": ["data.csv"], "evaluate": ["model.safetensors", "data.csv"], "export": ["model.safetensors"],
           "resume": ["checkpoint"]}[command.split()[0]]  # the command's inputs
    before = _snapshot(folder)
    try:
        rc = _run(capsys, argv)
        for name in own:
            key = str(files[name].relative_to(folder))
            assert files[name].read_bytes() == before[key], f"its input {name} changed: {argv} (exit {rc})"
    finally:
        _clean(folder, before)
        shutil.rmtree(folder / "ck2", ignore_errors=True)
        _restore(folder, files, before)


@EXAMPLES
@given(kind=st.sampled_from(["model", "checkpoint", "answers"]),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_mutated_files(capsys, inputs, kind, edits, cut):
    folder, files = inputs
    source = {"model": files["model.safetensors"], "checkpoint": files["checkpoint"],
              "answers": files["answers.json"]}[kind]
    data = bytearray(source.read_bytes())
    for where, byte in edits:
        data[int(where * len(data))] = byte
    if cut is not None:
        data = data[:int(cut * len(data))]
    work = folder / "mutated"
    work.mkdir(exist_ok=True)
    path = work / ("ck/checkpoint.safetensors" if kind == "checkpoint" else source.name)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(bytes(data))
    argvs = {"model": [["predict", str(path), str(files["rows.npy"])],
                       ["evaluate", str(path), "--dataset", str(files["data.csv"])]],
             "checkpoint": [["train", "--resume", str(path.parent), "--quiet"]],
             "answers": [["check", str(path)], ["explain", "--weights", str(path)]]}[kind]
    try:
        for argv in argvs:
            _run(capsys, argv)
            assert path.read_bytes() == bytes(data), f"{argv} changed its input"
    finally:
        shutil.rmtree(work)

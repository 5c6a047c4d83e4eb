"""Set and grade homework: `explain --format json`, `deltaprop assignment`, `deltaprop grade`.

Students are simulated with ``by_hand`` (test_check.py): a hand computation in NumPy, with a
slip where the test says, every later value computed from the student's own.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_check import answers, by_hand

from deltaprop import Network
from deltaprop.gradcheck import numerical_gradients
from deltaprop.teach.assignment import draw_problem
from deltaprop.teach.check import check
from deltaprop.teach.key import answer_key
from deltaprop.teach.notation import NOTATIONS, get_notation, read_network

ROSTER = Path(__file__).resolve().parents[1] / "examples" / "teach" / "roster.csv"


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "deltaprop", *args], capture_output=True, text=True, cwd=cwd)


# ----- the answer key -----------------------------------------------------------------------------
@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_answer_key_is_exact_and_check_reads_it(notation):
    net = Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy", dtype="float64", seed=4)
    net.biases = [np.array([0.1, -0.2, 0.3, 0.0]), np.array([0.05, -0.05])]
    X, Y = np.array([[0.5, -0.2, 0.8], [0.1, 0.3, -0.7]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    nt = get_notation(notation)
    key = answer_key(net, X, Y, notation)
    assert check(key).ok
    hand = by_hand(net, X, Y)  # independent: the pass written out in NumPy
    fW, fb = numerical_gradients(net, X, Y)  # and central differences
    for l in (1, 2):
        layer = str(nt.layer(l))
        np.testing.assert_allclose(key["answers"]["z"][layer], hand["z"][l], rtol=1e-12, err_msg=f"z[{l}]")
        np.testing.assert_allclose(key["answers"]["delta"][layer], hand["delta"][l], rtol=1e-12)
        np.testing.assert_allclose(key["answers"]["dW"][layer], nt.weights(fW[l - 1], fb[l - 1]), rtol=1e-6,
                                   atol=1e-9, err_msg=f"dW[{l}]")
    assert key["answers"]["cost"] == pytest.approx(float(net.cost(X, Y)), rel=1e-12)


def test_explain_format_json_is_the_key_check_reads(tmp_path):
    out = _cli("explain", "--sizes", "2,3,2", "--activations", "sigmoid,sigmoid", "--x", "0.1,0.7", "--y", "1,0",
               "--notation", "higham", "--format", "json")
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)
    assert key["notation"] == "higham" and key["delta"] == "per-sample" and set(key["network"]["weights"]) == {"2", "3"}
    net = read_network(key["network"], get_notation("higham"))
    np.testing.assert_allclose(key["answers"]["a"]["3"], net.forward([[0.1, 0.7]])[0], rtol=1e-12)
    path = tmp_path / "key.json"
    path.write_text(out.stdout)
    done = _cli("check", str(path))
    assert done.returncode == 0 and "All 12 quantities agree" in done.stdout, done.stdout


# ----- assignment ---------------------------------------------------------------------------------------
def test_assignment_is_seeded_by_the_student_id(tmp_path):
    for folder in ("a", "b"):
        out = _cli("assignment", "--students", str(ROSTER), "--out", str(tmp_path / folder), "--notation", "nielsen")
        assert out.returncode == 0, out.stderr
    for sid in ("s001", "s002", "s003"):
        for name in ("worksheet.md", "worksheet.tex", "answers.json"):
            assert (tmp_path / "a" / sid / name).read_text() == (tmp_path / "b" / sid / name).read_text()
    key = json.loads((tmp_path / "a" / "answer_key.json").read_text())
    assert set(key["students"]) == {"s001", "s002", "s003"}
    problems = {json.dumps(key["students"][s]["network"]) for s in key["students"]}
    assert len(problems) == 3  # one problem per student
    for sid, entry in key["students"].items():
        net, X, Y, kinds = draw_problem(sid)
        assert check(entry).ok
        np.testing.assert_allclose(entry["answers"]["cost"], float(net.cost(X, Y)), rtol=1e-12)
        blank = json.loads((tmp_path / "a" / sid / "answers.json").read_text())
        assert blank["network"] == entry["network"] and blank["answers"]["cost"] is None
        text = (tmp_path / "a" / sid / "worksheet.md").read_text()
        assert "\\underline{\\qquad\\quad}" in text and "w^{2}" in text and entry["name"] in text
    tex = (tmp_path / "a" / "s001" / "worksheet.tex").read_text()
    assert tex.startswith("\\documentclass") and "\\begin{align*}" in tex and "\\^{}" not in tex
    again = _cli("assignment", "--students", str(ROSTER), "--out", str(tmp_path / "a"))
    assert again.returncode == 2 and "is never overwritten" in again.stderr


@pytest.mark.parametrize("roster, message", [
    ("name\nAda\n", "expected a CSV with a header naming an 'id' column"),
    ("id,name\ns1,A\ns1,B\n", "line 3: id 's1' appears twice"),
    ("id,name\n../x,A\n", "id must be 1-64 letters, digits"),
])
def test_bad_rosters_exit_2_with_one_line(tmp_path, roster, message):
    path = tmp_path / "roster.csv"
    path.write_text(roster)
    out = _cli("assignment", "--students", str(path), "--out", str(tmp_path / "hw"))
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert not (tmp_path / "hw").exists()


# ----- grade ---------------------------------------------------------------------------------------------
def _student(entry, slip=False, decimals=None):
    nt = get_notation(entry["notation"])
    net = read_network(entry["network"], nt)
    X, Y = np.atleast_2d(entry["x"]), np.atleast_2d(entry["y"])
    fused = net.activations[-1] == "softmax"  # delta^(L) = a - y; else (a - y) sigma'(z) = (a - y) a (1 - a)
    flipped = (lambda a, z: Y - a) if fused else (lambda a, z: (Y - a) * a * (1 - a))  # the sign slip
    values = by_hand(net, X, Y, delta_L=flipped if slip else None)
    data = answers(net, nt, X, Y, values, dx="dx" in entry["answers"])
    if decimals is not None:
        data = json.loads(json.dumps(data), parse_float=lambda s: round(float(s), decimals))
    return data


def test_grade_end_to_end_on_three_students(tmp_path):
    hw, sub, grades = tmp_path / "hw", tmp_path / "submitted", tmp_path / "grades"
    assert _cli("assignment", "--students", str(ROSTER), "--out", str(hw)).returncode == 0
    key = json.loads((hw / "answer_key.json").read_text())["students"]
    sub.mkdir()
    (sub / "s001.json").write_text(json.dumps(_student(key["s001"], decimals=4)))  # right, rounded
    (sub / "s002.json").write_text(json.dumps(_student(key["s002"], slip=True)))  # the sign of delta^(L)
    # s003 hands in nothing
    out = _cli("grade", str(sub), "--key", str(hw / "answer_key.json"), "--out", str(grades))
    assert out.returncode == 0, out.stderr
    rows = {r["student"]: r for r in csv.DictReader((grades / "gradebook.csv").open())}
    assert out.stdout == (grades / "gradebook.csv").read_text()
    assert rows["s001"]["score"] == "100" and rows["s001"]["first_wrong"] == ""
    assert rows["s003"]["score"] == "0" and "No answers file" in (grades / "feedback" / "s003.md").read_text()
    # s002: z, a (2 each) and C right; delta^(L) wrong; the other 5 or 6 follow from it (half credit)
    n_follow = 5 + ("dx" in key["s002"]["answers"])
    expected = 100 * (5 + 0.5 * n_follow) / (6 + n_follow)
    assert float(rows["s002"]["score"]) == pytest.approx(expected, abs=0.051)  # the score is rounded to 1 decimal
    assert rows["s002"]["first_wrong"] == "δ^(2)" and rows["s002"]["slip"] == "sign"
    feedback = (grades / "feedback" / "s002.md").read_text()
    assert "likely slip: sign" in feedback and "| delta (layer 1) | follows | 0.5 of 1 |" in feedback
    out = _cli("grade", str(sub), "--key", str(hw / "answer_key.json"), "--out", str(grades), "--weights",
               "delta=3", "--follow-credit", "0")
    rows = {r["student"]: r for r in csv.DictReader((grades / "gradebook.csv").open())}
    dx = "dx" in key["s002"]["answers"]
    total = 5 + 2 * 3 + 2 + 2 + dx  # z, a, C; two deltas weighing 3; dW, db; dx
    assert float(rows["s002"]["score"]) == pytest.approx(100 * 5 / total, abs=0.051)  # the score is rounded to 1 decimal


def test_a_file_that_cannot_be_read_scores_zero_and_the_others_are_graded(tmp_path):
    hw, sub = tmp_path / "hw", tmp_path / "submitted"
    assert _cli("assignment", "--students", str(ROSTER), "--out", str(hw)).returncode == 0
    key = json.loads((hw / "answer_key.json").read_text())["students"]
    sub.mkdir()
    (sub / "s001.json").write_text("{not json")
    (sub / "s002.json").write_text(json.dumps(_student(key["s002"])))
    blank = json.loads((hw / "s003" / "answers.json").read_text())
    (sub / "s003.json").write_text(json.dumps(blank))  # handed in unfilled
    out = _cli("grade", str(sub), "--key", str(hw / "answer_key.json"), "--out", str(tmp_path / "g"))
    assert out.returncode == 0, out.stderr
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "g" / "gradebook.csv").open())}
    assert rows["s001"]["score"] == "0" and "not valid JSON" in (tmp_path / "g" / "feedback" / "s001.md").read_text()
    assert rows["s002"]["score"] == "100" and rows["s003"]["score"] == "0"
    assert "every answer is blank" in (tmp_path / "g" / "feedback" / "s003.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--weights", "bogus=2"], "weights must be KIND=NUMBER with KIND in z, a, cost"),
    (["--weights", "delta=-1"], "weight of delta must be a finite number >= 0"),
    (["--follow-credit", "2"], "--follow-credit must be in [0, 1], got 2"),
])
def test_grade_bad_flags_exit_2(tmp_path, args, message):
    hw = tmp_path / "hw"
    assert _cli("assignment", "--students", str(ROSTER), "--out", str(hw)).returncode == 0
    (tmp_path / "sub").mkdir()
    out = _cli("grade", str(tmp_path / "sub"), "--key", str(hw / "answer_key.json"), *args)
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_a_key_with_an_unsafe_student_id_is_refused(tmp_path):
    hw = tmp_path / "hw"
    assert _cli("assignment", "--students", str(ROSTER), "--out", str(hw)).returncode == 0
    key = json.loads((hw / "answer_key.json").read_text())
    key["students"]["../evil"] = key["students"].pop("s001")
    (hw / "answer_key.json").write_text(json.dumps(key))
    (tmp_path / "sub").mkdir()
    out = _cli("grade", str(tmp_path / "sub"), "--key", str(hw / "answer_key.json"), "--out", str(tmp_path / "g"))
    assert out.returncode == 2 and "student ids must be file-name safe" in out.stderr
    assert not (tmp_path / "evil.md").exists() and not (tmp_path / "g").exists()

r"""Grade a folder of answers files against the answer key of ``deltaprop assignment``.

``grade(answers_dir, key)`` reads ``<id>.json`` (or ``<id>/answers.json``) for every student of
the key, checks the student's numbers with ``check`` against the student's own problem (taken
from the key, not from the student's file), and scores each quantity asked:

- right (within the tolerances or the digits written): its full weight;
- wrong, but what the student's own earlier values give ("follows"): ``follow_credit`` of it;
- wrong on its own, or left blank (``null``): nothing.

score = 100 * sum(weight * credit) / sum(weight). The weights are per kind of quantity (z, a,
cost, delta, dW, db, dx; 1 each unless given) and apply to each layer's quantity. A file that
cannot be read scores 0 and says why in the feedback; grading goes on with the others.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assignment import _ID
from .check import check, load_answers
from .key import KEY_KINDS
from .report import CheckReport

__all__ = ["Grade", "grade", "gradebook_csv", "parse_weights"]

@dataclass(frozen=True)
class Grade:
    """One student's result: score in 0..100, the first wrong quantity and its slip, and the feedback."""

    student: str
    name: str
    score: float
    first_wrong: str
    slip: str
    feedback: str


def parse_weights(text: str | None) -> dict[str, float]:
    """Weights per kind from "delta=2,dW=2" (the others stay 1); ValueError for an unknown kind or a bad number."""
    weights = dict.fromkeys(KEY_KINDS, 1.0)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        kind, sep, value = part.partition("=")
        kind = kind.strip()
        if not sep or kind not in weights:
            raise ValueError(f"weights must be KIND=NUMBER with KIND in {', '.join(KEY_KINDS)}, got {part.strip()!r}")
        try:
            w = float(value)
        except ValueError:
            raise ValueError(f"weight of {kind} must be a number >= 0, got {value.strip()!r}") from None
        if not w >= 0 or w == float("inf"):
            raise ValueError(f"weight of {kind} must be a finite number >= 0, got {value.strip()!r}")
        weights[kind] = w
    return weights


def _answered(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_answered(v) for v in value)
    return value is not None


def _student_file(folder: Path, sid: str) -> Path | None:
    for path in (folder / f"{sid}.json", folder / sid / "answers.json"):
        if path.is_file():
            return path
    return None


def _asked(key: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, layer key) of every quantity asked, "" as the layer of cost and dx."""
    return [(k, layer) for k, v in key["answers"].items() for layer in (v if isinstance(v, dict) else [""])]


def _grade_one(sid: str, entry: dict[str, Any], path: Path | None, weights: dict[str, float],
               follow_credit: float) -> Grade:
    name = entry.get("name", "")
    asked = _asked(entry)
    total = sum(weights[k] for k, _ in asked) or 1.0
    if path is None:
        return Grade(sid, name, 0.0, "", "", f"# {sid}\n\nNo answers file ({sid}.json) was found.\n")
    try:
        mine = load_answers(path)
        given = mine.get("answers")
        if not isinstance(given, dict):
            raise ValueError(f"{path.name}: expected an 'answers' object")
        if mine.get("notation", entry["notation"]) != entry["notation"]:
            raise ValueError(f"{path.name}: the answers must be in {entry['notation']} notation, "
                             f"got {mine.get('notation')!r}")
        answers = {}
        for kind, value in given.items():
            if isinstance(value, dict):
                kept = {layer: v for layer, v in value.items() if _answered(v)}
                if kept:
                    answers[kind] = kept
            elif _answered(value):
                answers[kind] = value
        if not answers:
            raise ValueError(f"{path.name}: every answer is blank")
        data = {k: entry[k] for k in ("notation", "network", "x", "y")}
        data.update(answers=answers, **({"delta": mine["delta"]} if "delta" in mine else {}))
        report = check(data, where=path.name)
    except (OSError, TypeError, ValueError) as exc:
        return Grade(sid, name, 0.0, "", "", f"# {sid}\n\nYour answers could not be read: {exc}\n")
    status = {(f.kind, _layer(report, f.kind, f.l)): f.status for f in report.findings}
    earned = 0.0
    rows = []
    for kind, layer in asked:
        s = status.get((kind, layer), "blank")
        credit = 1.0 if s == "ok" else follow_credit if s == "follows" else 0.0  # wrong, also wrong, blank: 0
        earned += weights[kind] * credit
        rows.append(f"| {kind}{f' (layer {layer})' if layer else ''} | {s} | {weights[kind] * credit:g} "
                    f"of {weights[kind]:g} |")
    score = round(100 * earned / total, 1)
    first = report.first_wrong
    feedback = "\n".join([f"# {sid}{f' ({name})' if name else ''}: {score:g} / 100", "",
                          "| quantity | verdict | points |", "|---|---|---|", *rows, "", "```",
                          report.text().rstrip(), "```", ""])
    return Grade(sid, name, score, first.symbol if first else "", ", ".join(first.slips) if first else "", feedback)


def _layer(report: CheckReport, kind: str, l: int) -> str:
    return "" if kind in ("cost", "dx") else str(report.notation.layer(l))


def grade(answers_dir: str | Path, key_path: str | Path, *, weights: dict[str, float] | None = None,
          follow_credit: float = 0.5) -> list[Grade]:
    """Grade every student of the key; see the module docstring for the scoring."""
    if not 0 <= follow_credit <= 1:
        raise ValueError(f"follow_credit must be in [0, 1], got {follow_credit!r}")
    folder = Path(answers_dir)
    if not folder.is_dir():
        raise OSError(f"{answers_dir}: not a folder (expected the folder of the students' answers files)")
    try:
        key = json.loads(Path(key_path).read_text(encoding="utf-8"))
        students = key["students"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{key_path}: not an answer key of `deltaprop assignment` (no 'students')") from None
    bad = [sid for sid in students if not _ID.match(sid) or sid in (".", "..")]
    if bad:
        raise ValueError(f"{key_path}: student ids must be file-name safe (letters, digits, '_', '-', '.'), got {bad[0]!r}")
    w = weights or parse_weights(None)
    return [_grade_one(sid, entry, _student_file(folder, sid), w, follow_credit) for sid, entry in students.items()]


def gradebook_csv(grades: list[Grade]) -> str:
    """The gradebook: student, name, score, first wrong quantity, slip."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["student", "name", "score", "first_wrong", "slip"])
    for g in grades:
        out.writerow([g.student, g.name, f"{g.score:g}", g.first_wrong, g.slip])
    return buf.getvalue()

"""The targets of issue 4 checked against a configuration's results: PASS, FAIL or n/a (with why).

A ratio at the configuration's first point is the median of the per-round ratios when both
contenders ran in the same rounds (at least MIN_PAIRED of them; each round times every contender
once, in shuffled order, so a slow stretch of a shared machine hits both sides of a pair), else the
ratio of the medians. A missing peer (skipped or failed) makes its targets n/a, while deltaprop not
reaching a result makes them FAIL.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .configs import DISPLAY, Configuration, Target


def _row(result: dict[str, Any], c: str, point: int = 0) -> dict[str, Any] | None:
    points = result["points"]
    if not points:
        return None
    row = points[point]["contenders"].get(c)
    return row if row is not None and row["status"] == "ok" else None


MIN_PAIRED = 3


def ratio(row: dict[str, Any] | None, other: dict[str, Any] | None) -> tuple[float | None, str]:
    """row's time over other's: the median of the per-round ratios, or the ratio of the medians (see the
    module notes); (None, "") when either has no time. The second item says which, for a detail."""
    if row is None or other is None or other.get("status") != "ok" or not other.get("median") \
            or row.get("median") is None:
        return None, ""
    mine, theirs = row.get("round_seconds") or [], other.get("round_seconds") or []
    pairs = [a / b for a, b in zip(mine, theirs) if a is not None and b]
    by_medians = float(row["median"]) / float(other["median"])
    if len(pairs) < MIN_PAIRED:
        return by_medians, "ratio of the medians"
    return float(np.median(pairs)), (f"median of {len(pairs)} paired rounds (range {min(pairs):.2f}-{max(pairs):.2f}); "
                                     f"ratio of the medians {by_medians:.2f}")


def _median(result: dict[str, Any], c: str) -> float | None:
    """The contender's median at the first point: inf when it ran but has no result, None when it did not run."""
    row = _row(result, c)
    if row is None:
        return None
    return math.inf if row.get("median") is None else float(row["median"])


def slopes(result: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Least-squares slope of log(median time) against log(width) and log(depth), per contender."""
    out: dict[str, dict[str, float | None]] = {}
    for axis in ("width", "depth"):
        indices = [i for i, p in enumerate(result["points"]) if p["label"].split()[0] == axis]
        out[axis] = {}
        for c in result["points"][indices[0]]["contenders"] if indices else []:
            xs, ys = [], []
            for i in indices:
                row = _row(result, c, i)
                if row is not None and row.get("median"):
                    xs.append(float(result["points"][i]["label"].split()[1]))
                    ys.append(float(row["median"]))
            out[axis][c] = float(np.polyfit(np.log(xs), np.log(ys), 1)[0]) if len(set(xs)) >= 2 else None
    return out


def _verdict(t: Target, value: float | None, limit: float, ok: bool | None, detail: str = "") -> dict[str, Any]:
    status = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    return {"text": t.text, "value": value, "limit": limit, "status": status, "detail": detail}


def _missing(result: dict[str, Any], *contenders: str) -> str:
    for c in contenders:
        row = result["points"][0]["contenders"].get(c) if result["points"] else None
        if row is None or row["status"] != "ok":
            why = "it did not run" if row is None else row.get("note", row["status"])
            return f"no {DISPLAY[c]} result ({why})"
    return ""


def check_one(t: Target, result: dict[str, Any]) -> dict[str, Any]:
    """One target's verdict: value, limit, PASS/FAIL/n/a and a detail."""
    if t.kind in ("ratio", "speedup"):
        assert t.other is not None
        mine, theirs = _median(result, t.contender), _median(result, t.other)
        if mine is None or theirs is None:
            return _verdict(t, None, t.limit, None, _missing(result, t.contender, t.other))
        if math.isinf(mine):
            return _verdict(t, None, t.limit, False, f"{DISPLAY[t.contender]} has no time (did not finish)")
        if t.kind == "ratio":
            paired, how = ratio(_row(result, t.contender), _row(result, t.other))
            value = paired if paired is not None else (mine / theirs if theirs > 0 else math.inf)
            return _verdict(t, value, t.limit, value <= t.limit, how)
        paired, how = ratio(_row(result, t.other), _row(result, t.contender))  # how many times faster
        value = paired if paired is not None else (theirs / mine if mine > 0 else math.inf)
        return _verdict(t, value, t.limit, value >= t.limit, how)
    if t.kind == "seconds":
        mine = _median(result, t.contender)
        if mine is None:
            return _verdict(t, None, t.limit, None, _missing(result, t.contender))
        row = _row(result, t.contender)
        detail = row.get("note", "") if row else ""
        return _verdict(t, mine, t.limit, mine <= t.limit, detail)
    if t.kind == "memory":
        row = _row(result, t.contender)
        if row is None or row.get("peak_rss") is None:
            return _verdict(t, None, t.limit, None, _missing(result, t.contender) or "no memory reading")
        limit = row["data_bytes"] + t.limit
        detail = f"data {row['data_bytes'] / 2**20:.1f} MB + {t.limit / 2**20:.0f} MB"
        return _verdict(t, float(row["peak_rss"]), float(limit), row["peak_rss"] <= limit, detail)
    if t.kind == "scaling":
        axis = t.other or "width"
        found = result.get("slopes", {}).get(axis, {})
        mine, floor = found.get(t.contender), found.get("floor")
        if mine is None or floor is None:
            return _verdict(t, None, t.limit, None, f"needs at least two {axis}s with deltaprop and floor results")
        value = mine - floor
        return _verdict(t, value, t.limit, value <= t.limit,
                        f"slope deltaprop {mine:.2f}, floor {floor:.2f} (difference must be <= {t.limit})")
    raise ValueError(f"unknown target kind {t.kind!r}")


def check(conf: Configuration, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of ``conf`` against ``result`` (which gains its scaling slopes when it has any)."""
    if conf.name == "scaling":
        result["slopes"] = slopes(result)
    return [check_one(t, result) for t in conf.targets]

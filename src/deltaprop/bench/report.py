"""The benchmark's outputs: a plain-text table, the JSON document and two PNG charts.

``table(doc)`` returns text (the command line prints it); ``write_outputs(doc, folder)`` writes
``bench.json``, ``bench.png`` (median time per contender and configuration, with min-max
whiskers, and peak memory) and, when scaling ran, ``bench_scaling.png`` (log-log).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .configs import DISPLAY
from .targets import ratio

COLUMNS = ("contender", "median", "min", "max", "x PyTorch", "x floor", "test acc", "peak RSS MB", "note")


def _num(value: float | None, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.3g}{suffix}"


def _ratio(row: dict[str, Any], other: dict[str, Any] | None) -> str:
    value, _ = ratio(row, other)  # the same as the targets: paired rounds where there are enough
    return "-" if value is None else f"{value:.2f}"


def _memory(row: dict[str, Any]) -> str:
    if row.get("peak_rss") is None:
        return "-"
    return f"{row['peak_rss'] / 2**20:.0f} (data {row['data_bytes'] / 2**20:.0f})"


def _cells(name: str, point: dict[str, Any], c: str, multi: bool) -> list[str]:
    row, rows = point["contenders"][c], point["contenders"]
    label = (point["label"] + "  " if multi else "") + DISPLAY[c]
    if row["status"] != "ok":
        return [label, "-", "-", "-", "-", "-", "-", "-", f"{row['status']}: {row.get('note', '')}"]
    acc = "-" if row.get("accuracy") is None else f"{row['accuracy']:.2%}"
    note = row.get("note", "")
    if c == "deltaprop" and name in ("per-sample", "higham"):
        note = "; ".join(filter(None, [row.get("path", ""), note]))
    if name == "time-to-98" and row.get("epochs"):
        note = "; ".join(filter(None, [f"epochs {row['epochs']}", note]))
    return [label, _num(row.get("median")), _num(row.get("min")), _num(row.get("max")),
            _ratio(row, rows.get("pytorch")), _ratio(row, rows.get("floor")), acc, _memory(row), note]


def _grid(lines: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for line in lines:
        cells = [cell.ljust(w) if i in (0, len(line) - 1) else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(line, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def table(doc: dict[str, Any]) -> str:
    """The results as a text table per configuration, each followed by its targets."""
    m = doc["machine"]
    v = m["versions"]
    lines = [(f"deltaprop {doc['deltaprop']} bench: {m['cpus']} CPUs ({m['processor']}), Python {m['python']}, "
              f"numpy {v.get('numpy')}, torch {v.get('torch')}, scikit-learn {v.get('scikit-learn')}; "
              f"{doc['options']['threads']} threads per worker"),
             (f"load average at start {m['load_average'][0]:.2f}: on a shared machine the timings are noisy; "
              "contenders alternate round by round in separate processes"), ""]
    for conf in doc["configurations"]:
        load = conf["load_average"]
        lines.append(f"{conf['name']}: {conf['title']}  [{conf['unit']}; "
                     + (f"{conf['seeds']} seed(s)" if conf["threshold"] else f"{conf['rounds']} round(s)")
                     + f"; load {load[0]:.1f} -> {load[1]:.1f}]")
        multi = len(conf["points"]) > 1
        grid = [list(COLUMNS)]
        for point in conf["points"]:
            grid += [_cells(conf["name"], point, c, multi) for c in point["contenders"]]
        lines += _grid(grid)
        if conf.get("note"):
            lines.append(f"  note: {conf['note']}")
        for slope_axis, found in conf.get("slopes", {}).items():
            text = ", ".join(f"{DISPLAY[c]} {s:.2f}" for c, s in found.items() if s is not None)
            lines.append(f"  log-log slope vs {slope_axis}: {text or '-'}")
        for t in conf["targets"]:
            value = t["value"]
            shown = "-" if value is None else (f"{value / 2**20:.0f} MB <= {t['limit'] / 2**20:.0f} MB"
                                               if conf["name"] == "memory" else f"{value:.3g}")
            detail = f" ({t['detail']})" if t["detail"] else ""
            lines.append(f"  {t['status']:<4} {t['text']}: {shown}{detail}")
        lines.append("")
    lines.append(f"total {doc['seconds']:.0f} s")
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """A copy with NaN and infinities replaced by None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _figure(rows: int, cols: int, size: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False)


def bar_chart(doc: dict[str, Any], path: str | Path) -> None:
    """Horizontal bars of each configuration's median (min-max whiskers); memory in MB."""
    confs = [c for c in doc["configurations"] if c["name"] != "scaling"]
    fig, axes = _figure(max(len(confs), 1), 1, (8, 1.0 + 1.7 * max(len(confs), 1)))
    for ax, conf in zip(axes[:, 0], confs):
        point = conf["points"][0]
        names, values, low, high = [], [], [], []
        for c, row in point["contenders"].items():
            key = "peak_rss" if conf["name"] == "memory" else "median"
            if row["status"] != "ok" or row.get(key) is None:
                continue
            names.append(DISPLAY[c])
            if key == "peak_rss":
                values.append(row["peak_rss"] / 2**20)
                low.append(0.0)
                high.append(0.0)
            else:
                values.append(row["median"])
                low.append(row["median"] - (row.get("min") or row["median"]))
                high.append((row.get("max") or row["median"]) - row["median"])
        if conf["name"] == "memory":
            bars = ax.barh(names, values, color="tab:blue")
        else:
            bars = ax.barh(names, values, xerr=[low, high], color="tab:blue", capsize=3)
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], padding=4, fontsize="small")
        ax.margins(x=0.15)  # room for the labels
        if values and min(values) > 0 and max(values) / min(values) > 50:
            ax.set_xscale("log")  # per-sample loops differ by orders of magnitude
        if conf["name"] == "memory" and point["contenders"].get("deltaprop", {}).get("data_bytes"):
            limit = (point["contenders"]["deltaprop"]["data_bytes"] + 50 * 2**20) / 2**20
            ax.axvline(limit, color="tab:red", linestyle="--", label="target: data + 50 MB")
            ax.legend(loc="lower right", fontsize="small")
        ax.invert_yaxis()
        ax.set_xlabel("peak RSS (MB)" if conf["name"] == "memory" else conf["unit"])
        verdicts = " ".join(t["status"] for t in conf["targets"])
        ax.set_title(f"{conf['name']}: {conf['title']}  [{verdicts}]", fontsize="small", loc="left")
        if not names:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no results (skipped, failed or target not reached)", ha="center", va="center",
                    transform=ax.transAxes)
    fig.savefig(path, dpi=110)


def scaling_chart(doc: dict[str, Any], path: str | Path) -> bool:
    """Log-log epoch time against width and depth; False (nothing written) without scaling results."""
    conf = next((c for c in doc["configurations"] if c["name"] == "scaling"), None)
    if conf is None:
        return False
    fig, axes = _figure(1, 2, (10, 4))
    for ax, axis in zip(axes[0], ("width", "depth")):
        points = [p for p in conf["points"] if p["label"].split()[0] == axis]
        names = list(points[0]["contenders"]) if points else []
        for c in names:
            xy = [(int(p["label"].split()[1]), p["contenders"][c]["median"]) for p in points
                  if p["contenders"][c]["status"] == "ok" and p["contenders"][c].get("median")]
            if xy:
                ax.loglog(*zip(*xy), marker="o", label=DISPLAY[c])
        ticks = [int(p["label"].split()[1]) for p in points]
        if ticks:
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
        ax.set_xlabel("hidden width (one layer)" if axis == "width" else "hidden layers of width 256")
        ax.set_ylabel(conf["unit"])
        ax.set_title(f"{axis}: {conf['title']}", fontsize="small")
        if names:
            ax.legend(fontsize="small")
    fig.savefig(path, dpi=110)
    return True


def write_outputs(doc: dict[str, Any], folder: str | Path) -> dict[str, str]:
    """Write bench.json, bench.png and (with scaling) bench_scaling.png into ``folder``; returns the paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "chart": out / "bench.png"}
    paths["json"].write_text(json.dumps(_finite(doc), indent=2) + "\n")
    bar_chart(doc, paths["chart"])
    if scaling_chart(doc, out / "bench_scaling.png"):
        paths["scaling_chart"] = out / "bench_scaling.png"
    return {k: str(p) for k, p in paths.items()}

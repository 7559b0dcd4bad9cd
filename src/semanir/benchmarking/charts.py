"""PNG charts of the ``semanir bench`` tables (``--chart FILE``), with matplotlib (the ``charts`` extra).

Only ``matplotlib.figure.Figure`` is used, never pyplot: no backend is chosen and no global state
changes, so the functions are safe to call from a program that has its own plots open.
"""

from __future__ import annotations

import importlib.util
import io
from collections import Counter
from pathlib import Path

from ..errors import UsageError
from ..fileio import atomic_write

_INSTALL = "pip install 'semanir[charts]' (matplotlib)"


def check_matplotlib() -> None:
    """One line, before any measuring, when the extra is missing."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"--chart needs matplotlib: {_INSTALL}")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(figure, path: str | Path) -> Path:
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return atomic_write(path, lambda f: f.write(buf.getvalue()))  # never a half-written file


def _series_label(row: dict) -> str:
    name = row["impl"] if row["impl"] != "auto" or not row.get("ran") else f"auto ({row['ran']})"
    return f"{name} fwd+bwd" if row["backward"] else name


def _sweep(rows: list[dict], along: str, fixed: str) -> tuple[int, list[dict]] | None:
    """The rows of the longest sweep along ``along`` ("n" or "k") at one value of ``fixed`` (ties: the
    largest value), or None when no value of ``fixed`` has two points."""
    counts = Counter(value for value, _ in {(r[fixed], r[along]) for r in rows})
    if not counts:
        return None
    best = max(counts, key=lambda value: (counts[value], value))
    if counts[best] < 2:
        return None
    return best, [r for r in rows if r[fixed] == best]


def attention_chart(results: list[dict], path: str | Path, title: str = "") -> object:
    """Time and peak memory of ``bench attention``'s rows (its JSON ``results``) against N at one k and
    against k at one N, one line per implementation and pass; returns the matplotlib Figure."""
    measured = [dict(r) for r in results if r.get("time_ms") is not None]
    if not measured:
        raise UsageError("nothing to chart: every run of the table was skipped")
    # Dense attention does not depend on k: the bench measures it once per N and pass and repeats
    # that row (time only) for the other k; its memory is the same too.
    dense_peak = {(r["n"], r["backward"]): r["peak_mb"] for r in measured if r["impl"] == "dense" and r.get("peak_mb")}
    for r in measured:
        if r["impl"] == "dense" and r.get("peak_mb") is None:
            r["peak_mb"] = dense_peak.get((r["n"], r["backward"]))
    sweeps = []
    by_n = _sweep(measured, "n", "k")
    if by_n:
        sweeps.append(("n", "tokens per window N", f"k = {by_n[0]}", by_n[1]))
    by_k = _sweep(measured, "k", "n")
    if by_k:
        sweeps.append(("k", "keys per query k", f"N = {by_k[0]}", by_k[1]))
    if not sweeps:  # one (N, k) cell: its points against N
        sweeps.append(("n", "tokens per window N", f"k = {measured[0]['k']}", measured))
    figure = _figure(11, 4 * len(sweeps))
    axes = figure.subplots(len(sweeps), 2, squeeze=False)
    # One colour per implementation in every panel; fwd+bwd dashed.
    impls = list(dict.fromkeys(_series_label(r).removesuffix(" fwd+bwd") for r in measured))
    colour = {impl: f"C{i % 10}" for i, impl in enumerate(impls)}
    for (along, xlabel, at, rows), (time_ax, memory_ax) in zip(sweeps, axes, strict=True):
        labels = list(dict.fromkeys(_series_label(r) for r in rows))
        for label in labels:
            points = sorted(((r[along], r) for r in rows if _series_label(r) == label), key=lambda p: p[0])
            style = dict(marker="o", linestyle="--" if label.endswith("fwd+bwd") else "-", label=label,
                         color=colour[label.removesuffix(" fwd+bwd")])  # fmt: skip
            time_ax.plot([x for x, _ in points], [r["time_ms"] for _, r in points], **style)
            memory = [(x, r["peak_mb"]) for x, r in points if r.get("peak_mb") is not None]
            memory_ax.plot([x for x, _ in memory], [m for _, m in memory], **style)
        for ax, ylabel in ((time_ax, "time per call, ms"), (memory_ax, "peak extra memory, MiB")):
            ax.set_xscale("log", base=2)
            values = [y for line in ax.get_lines() for y in line.get_ydata()]
            if values and min(values) > 0:  # a log axis cannot show the 0 MiB of a tiny call
                ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{ylabel.split(',')[0]} against {along.upper() if along == 'n' else 'k'} ({at})")
            ax.grid(True, which="both", alpha=0.3)
        time_ax.legend(fontsize="small")
    if title:
        figure.suptitle(title, fontsize="medium")
    _save(figure, path)
    return figure


def peers_chart(entries: list[dict], path: str | Path, title: str = "") -> object:
    """``bench peers``: latency against parameters, one panel per task (their inputs differ).

    ``entries``: dicts with task, model, params_m, latency_ms, latency_size (h, w) and gmacs."""
    if not entries:
        raise UsageError("nothing to chart: no model was measured")
    tasks = list(dict.fromkeys(e["task"] for e in entries))
    figure = _figure(5.5 * len(tasks), 4.5)
    axes = figure.subplots(1, len(tasks), squeeze=False)[0]
    for task, ax in zip(tasks, axes, strict=True):
        rows = [e for e in entries if e["task"] == task]
        # Labels alternately below and above the points in order of latency: models of about the
        # same size and speed would otherwise print their names over each other.
        for i, e in enumerate(sorted(rows, key=lambda e: e["latency_ms"])):
            ours = e["model"].startswith("SemanIR")
            ax.scatter(e["params_m"], e["latency_ms"], s=60, marker="*" if ours else "o",
                       color="tab:red" if ours else "tab:blue", zorder=3)  # fmt: skip
            ax.annotate(f"{e['model']}\n{e['gmacs']:.0f} GMACs", (e["params_m"], e["latency_ms"]),
                        textcoords="offset points", xytext=(8, 6 if i % 2 else -26), fontsize="small")  # fmt: skip
        size = "x".join(map(str, rows[0]["latency_size"]))
        what = f"x4 SR, {size} LR input" if task == "sr" else f"{task}, {size} input"
        ax.set_title(f"latency against parameters ({what})")
        ax.set_xlabel("parameters, millions")
        ax.set_ylabel("latency, ms")
        ax.grid(True, alpha=0.3)
        # Both axes from zero, so that a gap looks as large as it is; room on the right for the names.
        ax.set_xlim(0, 1.5 * max(e["params_m"] for e in rows))
        ax.set_ylim(0, 1.2 * max(e["latency_ms"] for e in rows))
    if title:
        figure.suptitle(title, fontsize="medium")
    _save(figure, path)
    return figure

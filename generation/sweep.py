"""Grid sweeps: run ``python -m generation train`` once per grid point and tabulate the best validation figure.

``python -m generation sweep --grid hidden=64,256,512 keep=1,0.5,0.3 --parallel 2 -- TRAIN OPTIONS`` runs
the cartesian product of the grid (each point a separate training run under ``OUT/<point>/``, at most
``parallel`` at once), then writes ``sweep.csv`` (one row per point: the grid values, the best validation
figure, its epoch, seconds) and ``sweep.html`` (the same as a table pivoted on the first two grid keys,
like the appendix of the report the hidden-size x keep grid comes from, plus a plotly heat map).

A point whose run folder already holds a finished ``metrics.csv`` is not trained again, so an interrupted
sweep resumes where it stopped.
"""

from __future__ import annotations

import csv
import html
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from generation.errors import GenerationError

__all__ = ["SweepPoint", "best_of_run", "grid_points", "parse_grid", "run_sweep", "threads_per_run",
           "write_sweep_table"]

DONE_MARKER = "done.json"  # generation.train.DONE_MARKER (kept here so a sweep does not import torch; tested)


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["hidden=64,256", "keep=1,0.5"]`` -> ``{"hidden": ["64", "256"], "keep": ["1", "0.5"]}`` (order kept)."""
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        choices = [value.strip() for value in values.split(",") if value.strip()]
        if not sep or not name or not choices:
            raise GenerationError(f"grid item {item!r} is not NAME=V1,V2,... (e.g. hidden=64,256,512)")
        if name in grid:
            raise GenerationError(f"grid key {name!r} is given twice")
        grid[name] = choices
    if not grid:
        raise GenerationError("the grid is empty: give at least one NAME=V1,V2,... item")
    return grid


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: its values and the run folder name made from them."""

    values: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "_".join(f"{key}-{value}" for key, value in self.values.items()).replace("/", "-")

    def flags(self) -> list[str]:
        out: list[str] = []
        for key, value in self.values.items():
            flag = f"--{key.replace('_', '-')}"
            if value.lower() in ("true", "false"):  # boolean fields: --attention / --no-attention
                out.append(flag if value.lower() == "true" else f"--no-{key.replace('_', '-')}")
            else:
                out.extend([flag, value])
        return out


def grid_points(grid: dict[str, list[str]]) -> list[SweepPoint]:
    """Every combination of the grid's values, the first key varying slowest."""
    keys = list(grid)
    return [SweepPoint(dict(zip(keys, combo, strict=True))) for combo in itertools.product(*grid.values())]


def best_of_run(run_dir: Path, metric: str, mode: str) -> dict[str, float | int | None]:
    """Best ``metric`` over the epochs of a run's ``metrics.csv`` (``mode`` ``max`` or ``min``), its epoch and
    the run's total seconds; ``None`` values when the run has no such column or no rows."""
    path = Path(run_dir) / "metrics.csv"
    empty = {"best": None, "epoch": None, "seconds": None}
    if not path.is_file():
        return empty
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scored = [(float(row[metric]), row) for row in rows if row.get(metric) not in (None, "", "nan")]
    if not scored:
        return empty
    value, row = (max if mode == "max" else min)(scored, key=lambda item: item[0])
    seconds = sum(float(r.get("seconds", 0) or 0) for r in rows)
    return {"best": value, "epoch": int(float(row.get("epoch", 0))), "seconds": seconds}


def _train(command: list[str], log_path: Path, env: dict[str, str]) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False, env=env).returncode


def threads_per_run(parallel: int) -> int:
    """Torch threads for each of ``parallel`` simultaneous runs: the cores shared out (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, parallel))


def run_sweep(train_args: Sequence[str], grid: dict[str, list[str]], out_dir: Path, *, parallel: int = 1,
              metric: str = "val_accuracy", mode: str = "max", progress: bool = True) -> list[dict]:
    """Train every grid point (``train_args`` are the ``generation train`` options common to all points) and
    return one row per point: grid values, ``best``, ``epoch``, ``seconds``, ``status`` (exit code), ``log``.

    Each run gets ``--threads`` = the cores shared out over ``parallel`` runs (unless ``train_args`` set it),
    so simultaneous runs do not oversubscribe the machine."""
    from tqdm import tqdm  # noqa: PLC0415

    if parallel < 1:
        raise GenerationError(f"--parallel must be at least 1, got {parallel}")
    if mode not in ("max", "min"):
        raise GenerationError(f"mode must be max or min, got {mode!r}")
    out_dir = Path(out_dir)
    points = grid_points(grid)
    statuses: dict[str, int] = {}

    def run(point: SweepPoint) -> None:
        run_dir = out_dir / point.name
        if (run_dir / DONE_MARKER).is_file():
            statuses[point.name] = 0
            return
        command = [sys.executable, "-m", "generation", "train", *train_args, *point.flags(), "--out", str(run_dir),
                   "--no-progress"]
        threads = threads_per_run(parallel)
        if "--threads" not in train_args:
            command += ["--threads", str(threads)]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
        statuses[point.name] = _train(command, out_dir / "logs" / f"{point.name}.log", env)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool, tqdm(total=len(points), desc="sweep", unit="run",
                                                                 disable=not progress) as bar:
        for _ in pool.map(run, points):
            bar.update()
    rows = []
    for point in points:
        rows.append({**point.values, **best_of_run(out_dir / point.name, metric, mode),
                     "status": statuses[point.name], "log": str(out_dir / "logs" / f"{point.name}.log")})
    write_sweep_table(rows, list(grid), out_dir, metric=metric, wall_seconds=time.perf_counter() - started)
    return rows


def write_sweep_table(rows: list[dict], keys: list[str], out_dir: Path, *, metric: str,
                      wall_seconds: float | None = None) -> tuple[Path, Path]:
    """``sweep.csv`` and ``sweep.html`` (pivot on the first two grid keys and a plotly heat map)."""
    import plotly.graph_objects as go  # noqa: PLC0415

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = [*keys, "best", "epoch", "seconds", "status"]
    csv_path = out_dir / "sweep.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    def cell(value: object) -> str:
        return "failed" if value is None else f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))

    parts = [f"<h1>Sweep: best {html.escape(metric)} per setting</h1>"]
    if wall_seconds is not None:
        parts.append(f"<p>{len(rows)} runs, {wall_seconds:.0f} s wall time.</p>")
    figure_html = ""
    if len(keys) >= 2:
        row_key, col_key = keys[0], keys[1]
        row_values = list(dict.fromkeys(r[row_key] for r in rows))
        col_values = list(dict.fromkeys(r[col_key] for r in rows))
        others = keys[2:]
        for fixed in sorted({tuple(r[k] for k in others) for r in rows}):
            subset = [r for r in rows if tuple(r[k] for k in others) == fixed]
            lookup = {(r[row_key], r[col_key]): r["best"] for r in subset}
            title = ", ".join(f"{k} = {v}" for k, v in zip(others, fixed, strict=True))
            if title:
                parts.append(f"<h2>{html.escape(title)}</h2>")
            head = "".join(f"<th>{html.escape(col_key)} = {html.escape(v)}</th>" for v in col_values)
            body = "".join(f"<tr><th>{html.escape(row_key)} = {html.escape(rv)}</th>"
                           + "".join(f"<td>{cell(lookup.get((rv, cv)))}</td>" for cv in col_values) + "</tr>"
                           for rv in row_values)
            parts.append(f"<table><tr><th></th>{head}</tr>{body}</table>")
            if not figure_html:
                z = [[lookup.get((rv, cv)) for cv in col_values] for rv in row_values]
                figure = go.Figure(go.Heatmap(z=z, x=[f"{col_key}={v}" for v in col_values],
                                              y=[f"{row_key}={v}" for v in row_values], colorbar={"title": metric}))
                figure.update_layout(title=f"best {metric}" + (f" ({title})" if title else ""))
                figure_html = figure.to_html(full_html=False, include_plotlyjs=True)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    parts.append(f"<h2>All runs</h2><table><tr>{head}</tr>{body}</table>")
    style = "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;" \
            "padding:4px 8px;text-align:right}</style>"
    html_path = out_dir / "sweep.html"
    html_path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>sweep</title>{style}</head>"
                         f"<body>{''.join(parts)}{figure_html}</body></html>", encoding="utf-8")
    return csv_path, html_path

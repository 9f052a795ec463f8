"""Write the results of a scoring run: features.csv, errors.csv, summary.json, a self-contained report.html.

- ``features.csv``: one row per scored file: ``set``, ``path``, every scalar feature, ``key``, and the small
  1-D arrays (at most 12 values: pitch-class histograms, note-length histogram) flattened into columns
  ``<name>_0`` ... ``<name>_11``. Larger arrays (128-pitch histogram, 12x12 transition matrices) are left out:
  their corpus-level forms are in ``summary.json``. NaN is written as an empty cell.
- ``errors.csv``: ``set``, ``file``, ``reason`` for every file that could not be scored.
- ``summary.json``: the dict of :func:`evaluation.scoring.compare_sets` (NaN and inf become ``null``).
- ``report.html``: plotly figures (plotly.js inlined, so it opens offline) and the distances table.

:func:`figures` builds the plotly figures from a summary alone, for reuse by the Streamlit app.
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.csv_safe import escape_cell

__all__ = [
    "figures",
    "to_jsonable",
    "write_errors_csv",
    "write_features_csv",
    "write_report",
    "write_report_html",
    "write_summary_json",
]

PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAX_FLATTENED = 12  # 1-D arrays up to this length get one CSV column per value


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy types turned into Python ones and NaN/inf into ``None`` (JSON null)."""
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def _feature_columns(rows_by_set: dict[str, Sequence[dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """(scalar-ish column names, flattened 1-D array names) over all rows, in first-seen order."""
    scalars: dict[str, None] = {}
    arrays: dict[str, int] = {}
    for rows in rows_by_set.values():
        for row in rows:
            for name, value in row.items():
                if name == "path":
                    continue
                if isinstance(value, np.ndarray):
                    if value.ndim == 1 and value.size <= MAX_FLATTENED:
                        arrays.setdefault(name, value.size)
                elif name != "key":
                    scalars.setdefault(name, None)
    columns = list(scalars) + ["key"]
    flattened = [f"{name}_{index}" for name, size in arrays.items() for index in range(size)]
    return columns, flattened


def write_features_csv(path: str | Path, rows_by_set: dict[str, Sequence[dict[str, Any]]]) -> Path:
    """One line per scored file (see the module docstring for the columns)."""
    path = Path(path)
    columns, flattened = _feature_columns(rows_by_set)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["set", "path", *columns, *flattened])
        for set_name, rows in rows_by_set.items():
            for row in rows:
                values = [_cell(row.get(name, "")) for name in columns]
                flat: list[Any] = []
                for column in flattened:
                    name, index = column.rsplit("_", 1)
                    array = row.get(name)
                    flat.append(_cell(float(array[int(index)])) if isinstance(array, np.ndarray) else "")
                writer.writerow([escape_cell(set_name), escape_cell(row["path"]), *values, *flat])
    return path


def write_errors_csv(path: str | Path, errors_by_set: dict[str, Sequence[tuple[str, str]]]) -> Path:
    """``set, file, reason`` for every file that could not be scored (header only when there are none)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["set", "file", "reason"])
        for set_name, errors in errors_by_set.items():
            for file, reason in errors:
                writer.writerow([escape_cell(set_name), escape_cell(file), escape_cell(reason)])
    return path


def write_summary_json(path: str | Path, summary: dict[str, Any]) -> Path:
    """The summary as strict JSON (NaN -> null)."""
    path = Path(path)
    path.write_text(json.dumps(to_jsonable(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    """Plotly figures of a summary (as returned by ``compare_sets`` or read back from summary.json).

    Keys: ``pitch_class_histograms`` (grouped bars, one colour per set), ``pitch_histograms`` (lines over
    MIDI pitch), ``feature_distributions`` (one box per set and feature, drawn from the stored quartiles:
    whiskers at min and max), ``overlap`` (heatmap of the overlap area per feature and generated set) and
    ``ranking`` (mean overlap area per generated set, best first). The last two only with generated sets.
    """
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    sets: dict[str, Any] = summary["sets"]
    out: dict[str, Any] = {}

    bars = go.Figure()
    for name, data in sets.items():
        if data.get("pitch_class_histogram") is not None:
            bars.add_bar(name=name, x=list(PITCH_CLASS_NAMES), y=[_number(v) for v in data["pitch_class_histogram"]])
    bars.update_layout(
        title="Pitch-class histogram (share of notes)",
        barmode="group",
        xaxis_title="pitch class",
        yaxis_title="share of notes",
    )
    out["pitch_class_histograms"] = bars

    lines = go.Figure()
    for name, data in sets.items():
        if data.get("pitch_histogram") is not None:
            lines.add_scatter(
                name=name, x=list(range(128)), y=[_number(v) for v in data["pitch_histogram"]], mode="lines"
            )
    lines.update_layout(
        title="Pitch histogram (share of notes)", xaxis_title="MIDI pitch", yaxis_title="share of notes"
    )
    out["pitch_histograms"] = lines

    feature_names = list(next(iter(sets.values()))["features"]) if sets else []
    columns = 4
    n_rows = max(1, math.ceil(len(feature_names) / columns))
    boxes = make_subplots(
        rows=n_rows,
        cols=columns,
        subplot_titles=feature_names or None,
        vertical_spacing=min(0.3 / n_rows, 0.08),
    )
    set_names = list(sets)
    for index, feature in enumerate(feature_names):
        stats = [sets[name]["features"].get(feature, {}) for name in set_names]
        keep = [i for i, stat in enumerate(stats) if stat.get("n")]
        if not keep:
            continue
        pick = [stats[i] for i in keep]
        boxes.add_trace(
            go.Box(
                x=[set_names[i] for i in keep],
                q1=[_number(s["q1"]) for s in pick],
                median=[_number(s["median"]) for s in pick],
                q3=[_number(s["q3"]) for s in pick],
                lowerfence=[_number(s["min"]) for s in pick],
                upperfence=[_number(s["max"]) for s in pick],
                mean=[_number(s["mean"]) for s in pick],
                name=feature,
                showlegend=False,
            ),
            row=index // columns + 1,
            col=index % columns + 1,
        )
    boxes.update_layout(
        title="Feature distributions per set (box: quartiles, whiskers: min and max)",
        height=260 * n_rows + 120,
    )
    out["feature_distributions"] = boxes

    generated = [name for name, data in sets.items() if data.get("role") == "generated"]
    if generated:
        relative_names = list(sets[generated[0]]["distances"]["relative"])
        matrix = [
            [_number(sets[name]["distances"]["relative"].get(feature, {}).get("overlap")) for name in generated]
            for feature in relative_names
        ]
        heatmap = go.Figure(
            go.Heatmap(
                z=matrix,
                x=generated,
                y=relative_names,
                zmin=0,
                zmax=1,
                colorscale="Viridis",
                colorbar={"title": "overlap"},
            )
        )
        heatmap.update_layout(
            title={"text": "Overlap of intra-set and inter-set distance densities<br>"
                   "<sup>1 = generated pieces are as close to the reference as reference pieces are to each "
                   "other</sup>"},
            height=max(400, 22 * len(relative_names) + 150),
        )
        out["overlap"] = heatmap

        ranking = summary.get("ranking", [])
        ranked = go.Figure(
            go.Bar(
                x=[entry["name"] for entry in ranking],
                y=[_number(entry["mean_overlap"]) for entry in ranking],
            )
        )
        ranked.update_layout(
            title="Ranking: mean overlap area over features (higher = closer to the reference)",
            yaxis={"range": [0, 1], "title": "mean overlap"},
            xaxis_title="generated set",
        )
        out["ranking"] = ranked
    return out


def _format(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return html.escape(str(value))


def _distances_table(summary: dict[str, Any]) -> str:
    header = (
        "<tr><th>rank</th><th>set</th><th>files</th><th>errors</th><th>mean overlap</th><th>mean KDE KL</th>"
        "<th>pitch-class KL</th><th>pitch-class JS</th><th>pitch KL</th><th>pitch JS</th>"
        "<th>classifier accuracy [95% CI]</th><th>p (acc &gt; 0.5)</th></tr>"
    )
    lines = [header]
    sets = summary["sets"]
    reference = sets.get(summary.get("reference", "reference"), {})
    counts = reference.get("counts", {})
    lines.append(
        f"<tr><td></td><td>reference</td><td>{counts.get('files', 0)}</td><td>{counts.get('errors', 0)}"
        "</td>" + "<td>–</td>" * 8 + "</tr>"
    )
    for entry in summary.get("ranking", []):
        data = sets[entry["name"]]
        distances = data["distances"]
        histograms = distances["histograms"]
        pcs = histograms.get("pitch_class_histogram", {})
        pitches = histograms.get("pitch_histogram", {})
        test = distances["classifier"]
        lines.append(
            f"<tr><td>{entry['rank']}</td><td>{_format(entry['name'])}</td><td>{data['counts']['files']}</td>"
            f"<td>{data['counts'].get('errors', 0)}</td><td>{_format(distances['mean_overlap'])}</td>"
            f"<td>{_format(distances['mean_kl'])}</td><td>{_format(pcs.get('kl'))}</td>"
            f"<td>{_format(pcs.get('js'))}</td><td>{_format(pitches.get('kl'))}</td><td>{_format(pitches.get('js'))}</td>"
            f"<td>{_format(test['accuracy'])} [{_format(test['ci_low'])}, {_format(test['ci_high'])}]</td>"
            f"<td>{_format(test['p_value'])}</td></tr>"
        )
    return "<table>" + "\n".join(lines) + "</table>"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tunelab evaluation report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f4f4f4}}</style>
<script type="text/javascript">{plotly_js}</script></head>
<body><h1>tunelab evaluation report</h1>
<p>Distances to the reference. <b>mean overlap</b>: mean over features of the overlap area of the reference's
intra-set distance density and the reference-to-set inter-set density (mgeval, Yang &amp; Lerch 2020; 1 = as
close as reference pieces are to each other). KL in {unit}, KL(set || reference) for histograms and
KL(intra || inter) for densities, each after adding {smoothing:g} to every bin / grid cell (additive
smoothing, set by <code>smoothing</code> in --config) so that it stays finite; JS: Jensen-Shannon distance
(base 2, 0..1). Classifier: cross-validated accuracy of telling the set from the reference (Lopez-Paz &amp;
Oquab 2017; 0.5 = indistinguishable).
Sets are ranked by mean overlap (higher = closer).</p>
{table}
{figures}
</body></html>
"""


def write_report_html(path: str | Path, summary: dict[str, Any]) -> Path:
    """A single HTML file with plotly.js inlined (opens without network)."""
    import plotly.io as pio  # noqa: PLC0415
    from plotly.offline import get_plotlyjs  # noqa: PLC0415

    path = Path(path)
    parts = [
        pio.to_html(figure, full_html=False, include_plotlyjs=False, include_mathjax=False)
        for figure in figures(summary).values()
    ]
    base = (summary.get("config") or {}).get("log_base", 2.0)
    unit = "bits" if base == 2 else ("nats" if abs(base - math.e) < 1e-9 else f"log base {base:g}")
    smoothing = (summary.get("config") or {}).get("smoothing", 1e-6)
    page = _PAGE.format(plotly_js=get_plotlyjs(), unit=unit, smoothing=smoothing, table=_distances_table(summary),
                        figures="\n".join(parts))
    path.write_text(page, encoding="utf-8")
    return path


def write_report(
    out_dir: str | Path,
    summary: dict[str, Any],
    rows_by_set: dict[str, Sequence[dict[str, Any]]],
    errors_by_set: dict[str, Sequence[tuple[str, str]]],
) -> dict[str, Path]:
    """Write all four outputs into ``out_dir`` (created if needed); returns their paths by short name."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "features": write_features_csv(folder / "features.csv", rows_by_set),
        "errors": write_errors_csv(folder / "errors.csv", errors_by_set),
        "summary": write_summary_json(folder / "summary.json", summary),
        "report": write_report_html(folder / "report.html", summary),
    }

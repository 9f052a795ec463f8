"""The experiments report: one self-contained HTML file (plotly.js inside) with a section per experiment whose
``results.json`` lies in the folder, in the experiments' order. Rewritten after every experiment.

Every figure of a variant is the mean over its seeds with the half-width of the 95% Student-t interval of the
mean and the number of seeds (``0.412 ± 0.013 (3)``); a single seed has no interval. Rankings come from
:func:`generation.ranking.rank_variants` (Welch t-tests, Holm-adjusted), and the report says which adjacent
variants the seeds cannot separate.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LABELS", "GridPivot", "grid_pivot", "mean_ci", "write_grid_table", "write_report"]

REPORT_FILE = "report.html"
LN2_88 = 88 * math.log(2)
LABELS = {
    "val_accuracy": "validation accuracy (mean over heads)",
    "val_pitch_accuracy": "validation pitch accuracy",
    "val_duration_accuracy": "validation duration accuracy",
    "val_token_accuracy": "validation token accuracy",
    "val_top3_accuracy": "validation top-3 accuracy",
    "val_frame_nll": "validation frame NLL (nats/frame)",
    "val_frame_accuracy": "validation expected frame accuracy",
    "val_loss": "validation loss (nats)",
    "test_accuracy": "test accuracy (mean over heads)",
    "test_pitch_accuracy": "test pitch accuracy",
    "test_duration_accuracy": "test duration accuracy",
    "test_token_nll": "test NLL (nats/token, heads summed)",
    "test_frame_nll": "test frame NLL (nats/frame)",
    "test_frame_accuracy": "test expected frame accuracy",
    "seconds_per_epoch": "training seconds per epoch",
    "tokens_per_second": "training tokens (time steps) per second",
    "epochs_run": "epochs run",
    "abc_parse_share": "share of ABC samples that parse",
    "samples_with_notes": "share of samples with notes",
    "classifier_accuracy": "classifier accuracy vs the human test split (0.5 = indistinguishable)",
    "classifier_p": "classifier test p (accuracy > 0.5)",
    "mean_overlap": "mean overlap with the human test split (1 = as close as human pieces are to each other)",
    "pitch_class_js": "pitch-class JS distance to the human test split",
    "encoded_classifier_accuracy": "classifier accuracy vs the test split as encoded",
    "encoded_mean_overlap": "mean overlap with the test split as encoded",
}
STYLE = """<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.name,th.name{text-align:left}.note{color:#555}.warn{color:#a40}
section{border-top:2px solid #ddd;margin-top:2em}code{background:#f5f5f5;padding:0 3px}
</style>"""


def mean_ci(values: list[float], confidence: float = 0.95) -> tuple[float, float | None, int]:
    """Mean, half-width of the Student-t interval of the mean (None for one value) and n; NaNs dropped."""
    from scipy import stats  # noqa: PLC0415

    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return math.nan, None, 0
    n = len(finite)
    mean = sum(finite) / n
    if n < 2:
        return mean, None, n
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
    return mean, float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n), n


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _cell(values: list[float]) -> str:
    mean, half, n = mean_ci(values)
    if n == 0:
        return "-"
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(set(finite)) == 1 and float(finite[0]).is_integer():  # a count every seed shares (epochs, samples)
        return f"{int(finite[0])} ({n})"
    return _number(mean) + (f" ± {_number(half)}" if half is not None else "") + f" ({n})"


def _e(text: Any) -> str:
    return html.escape(str(text))


def _groups(records: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """corpus -> variant -> records (seeds), in first-seen order."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        out.setdefault(record["corpus"], {}).setdefault(record["variant"], []).append(record)
    return out


def _variant_table(variants: dict[str, list[dict[str, Any]]], columns: list[str]) -> str:
    head = "".join(f"<th>{_e(LABELS.get(c, c))}</th>" for c in columns)
    rows = []
    for name, records in variants.items():
        good = [r for r in records if not r.get("error")]
        cells = "".join(f"<td>{_cell([r['metrics'].get(c, math.nan) for r in good])}</td>" for c in columns)
        rows.append(f"<tr><td class='name'>{_e(name)}</td>{cells}</tr>")
    return f"<table><tr><th class='name'>variant</th>{head}</tr>{''.join(rows)}</table>"


def _ranking_html(entry: dict[str, Any]) -> str:
    """The ranking as an ordered list; a variant the seeds cannot separate from the one above is marked, and
    a sentence says how many adjacent pairs are not separable."""
    ranking = entry["ranking"]
    better = "higher" if ranking["higher_is_better"] else "lower"
    label = entry.get("label") or LABELS.get(entry["metric"], entry["metric"])
    tied = {tuple(pair) for pair in ranking["not_separable"]}
    items, previous = [], None
    for variant in ranking["variants"]:
        interval = (f" [{_number(variant['ci_low'])}, {_number(variant['ci_high'])}]"
                    if variant["ci_low"] is not None else " (one seed: no interval)")
        mark = (" <span class='note'>&asymp; not separable from the one above</span>"
                if previous is not None and (previous, variant["name"]) in tied else "")
        items.append(f"<li>{_e(variant['name'])}: {_number(variant['mean'])}{interval}, {variant['n']} "
                     f"seed{'s' if variant['n'] != 1 else ''}{mark}</li>")
        previous = variant["name"]
    pairs = max(0, len(ranking["variants"]) - 1)
    test = f"Welch t-test over seeds, Holm-adjusted over all pairs, alpha {ranking['alpha']:g}"
    if ranking["variants"] and max(v["n"] for v in ranking["variants"]) < 2:
        verdict = ("One seed per variant: no interval, so no two variants can be told apart; the full size runs three "
                   "seeds per variant.")
    elif not tied:
        verdict = f"Every adjacent pair of this ranking is separable ({test})."
    elif len(tied) == pairs:
        verdict = f"No adjacent pair of this ranking is separable ({test}): the seeds do not support this order."
    else:
        verdict = f"{len(tied)} of {pairs} adjacent pairs are not separable ({test}), marked &asymp;."
    return (f"<p><b>Ranking on {_e(label)}</b> ({better} is better; mean and 95% t-interval over seeds):</p>"
            f"<ol>{''.join(items)}</ol><p class='note'>{verdict}</p>")


def _figure(figure: Any) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False)


def _loss_curves(corpus: str, variants: dict[str, list[dict[str, Any]]]) -> str:
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.colors import qualitative  # noqa: PLC0415

    figure = go.Figure()
    for index, (name, records) in enumerate(variants.items()):
        color = qualitative.Plotly[index % len(qualitative.Plotly)]
        for record in records:
            curves = record.get("curves") or []
            for split, dash in (("train_loss", "dot"), ("val_loss", None)):
                figure.add_scatter(x=[c["epoch"] for c in curves], y=[c.get(split) for c in curves],
                                   name=f"{name} {split.split('_')[0]}", legendgroup=name, line={"color": color,
                                   "dash": dash}, showlegend=record["seed"] == 0, mode="lines+markers")
    figure.update_layout(title=f"{corpus}: loss per epoch (solid validation, dotted training; one line per seed)",
                         xaxis_title="epoch", yaxis_title="loss (nats)", height=420)
    return _figure(figure)


def _seconds(corpus: str, variants: dict[str, list[dict[str, Any]]]) -> str:
    import plotly.graph_objects as go  # noqa: PLC0415

    names, means, halves = [], [], []
    for name, records in variants.items():
        mean, half, _ = mean_ci([r["metrics"].get("seconds_per_epoch", math.nan) for r in records])
        names.append(name)
        means.append(mean)
        halves.append(half or 0.0)
    figure = go.Figure(go.Bar(x=names, y=means, error_y={"type": "data", "array": halves}))
    figure.update_layout(title=f"{corpus}: training seconds per epoch (mean, 95% t-interval)",
                         yaxis_title="seconds", height=380)
    return _figure(figure)


def _activations(records: list[dict[str, Any]]) -> str:
    import plotly.graph_objects as go  # noqa: PLC0415

    parts = []
    for record in records:
        found = record.get("activations")
        if not found:
            continue
        steps = list(range(len(found["labels"])))
        figure = go.Figure(go.Heatmap(z=found["values"], x=steps, y=[f"unit {u}" for u in found["units"]],
                                      colorscale="RdBu", zmid=0.0, colorbar={"title": "h_t"},
                                      customdata=[found["labels"]] * len(found["units"]),
                                      hovertemplate="step %{x}: %{customdata}<br>%{y}: %{z:.3f}<extra></extra>"))
        tick = max(1, len(steps) // 80)
        figure.update_xaxes(tickmode="array", tickvals=steps[::tick], ticktext=found["labels"][::tick], tickangle=0)
        figure.update_layout(title=f"{record['variant']}: {found['title']}", height=max(380, 11 * len(found["units"])))
        parts.append(_figure(figure))
    return "".join(parts)


def _benchmark(variants: dict[str, list[dict[str, Any]]]) -> str:
    rows, first = [], None
    for name, records in variants.items():
        good = [r for r in records if not r.get("error")]
        first = first or next((r for r in good if r.get("baselines")), None)
        nll = _cell([r["metrics"].get("test_frame_nll") for r in good])
        accuracy = _cell([r["metrics"].get("test_frame_accuracy") for r in good])
        rows.append(f"<tr><td class='name'>{_e(name)}</td><td>{nll}</td><td>{accuracy}</td></tr>")
    if first is None:
        return ""
    names = {"uniform": "uniform (88 ln 2 for 88 keys)", "independent-bernoulli": "independent Bernoulli per key",
             "markov-chord": "Markov chord chain"}
    for key, scores in first["baselines"].items():
        rows.append(f"<tr><td class='name'><i>baseline: {_e(names.get(key, key))}</i></td>"
                    f"<td>{_number(scores.get('frame_nll'))}</td><td>{_number(scores.get('frame_accuracy'))}</td></tr>")
    for key, value in (first.get("published") or {}).items():
        rows.append(f"<tr><td class='name'><i>published on JSB: {_e(key)}</i></td><td>{value:.2f}</td>"
                    "<td>-</td></tr>")
    text = [f"<p class='note'>Protocol: {_e(first.get('protocol', ''))}.</p>"]
    if first.get("protocol_difference"):
        text.append(f"<p class='note'>{_e(first['protocol_difference'])}</p>")
    return ("<table><tr><th class='name'>model on the test split</th><th>frame NLL (nats/frame)</th>"
            f"<th>expected frame accuracy</th></tr>{''.join(rows)}</table>{''.join(text)}")


def _grid_rows(results: dict[str, Any], metric: str) -> tuple[list[str], list[dict[str, Any]]]:
    keys = list(results.get("grid") or [])
    rows = []
    for variants in _groups(results["records"]).values():
        for records in variants.values():
            fields = records[0].get("variant_fields", {})
            mean, half, n = mean_ci([r["metrics"].get(metric, math.nan) for r in records])
            seconds, _, _ = mean_ci([r["metrics"].get("train_seconds_total", math.nan) for r in records])
            rows.append({**{k: str(fields.get(k)) for k in keys}, "best": mean if n else None, "half": half,
                         "n": n, "epoch": None, "seconds": seconds, "status": 0})
    return keys, rows


@dataclass(frozen=True)
class GridPivot:
    """The grid's first ranked metric per setting, pivoted on its first two keys (the appendix table)."""

    metric: str
    row_key: str
    col_key: str
    row_values: list[str]
    col_values: list[str]
    cells: dict[tuple[str, str], dict[str, Any]]


def grid_pivot(results: dict[str, Any]) -> GridPivot | None:
    """The appendix table of a grid experiment's results; None with fewer than two grid keys."""
    metric = results["ranks"][0]["metric"] if results.get("ranks") else "val_accuracy"
    keys, rows = _grid_rows(results, metric)
    if len(keys) < 2:
        return None
    row_key, col_key = keys[0], keys[1]
    return GridPivot(metric, row_key, col_key, list(dict.fromkeys(r[row_key] for r in rows)),
                     list(dict.fromkeys(r[col_key] for r in rows)), {(r[row_key], r[col_key]): r for r in rows})


def _grid(results: dict[str, Any]) -> str:
    pivot = grid_pivot(results)
    if pivot is None:
        return ""
    metric, row_key, col_key = pivot.metric, pivot.row_key, pivot.col_key
    row_values, col_values, lookup = pivot.row_values, pivot.col_values, pivot.cells

    def cell(row: dict[str, Any] | None) -> str:
        if row is None or row["best"] is None:
            return "-"
        return _number(row["best"]) + (f" ± {_number(row['half'])}" if row["half"] is not None else "") + \
            f" ({row['n']})"

    head = "".join(f"<th>{_e(col_key)} = {_e(v)}</th>" for v in col_values)
    body = "".join(f"<tr><th>{_e(row_key)} = {_e(rv)}</th>"
                   + "".join(f"<td>{cell(lookup.get((rv, cv)))}</td>" for cv in col_values) + "</tr>"
                   for rv in row_values)
    return (f"<p><b>Appendix table: {_e(LABELS.get(metric, metric))}</b> per setting (mean ± 95% t half-width, "
            f"seeds):</p><table><tr><th></th>{head}</tr>{body}</table>")


def write_grid_table(results: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """The grid's table as :func:`generation.sweep.write_sweep_table` writes it (``sweep.csv``, ``sweep.html``),
    with each setting's mean over seeds as its figure."""
    from generation.sweep import write_sweep_table  # noqa: PLC0415

    metric = results["ranks"][0]["metric"] if results.get("ranks") else "val_accuracy"
    keys, rows = _grid_rows(results, metric)
    return write_sweep_table(rows, keys, folder, metric=f"{metric} (mean over seeds)",
                             wall_seconds=results.get("wall_seconds"))


def _ranking_section(results: dict[str, Any]) -> str:
    columns = ["classifier_accuracy", "classifier_p", "mean_overlap", "pitch_class_js", "encoded_classifier_accuracy"]
    parts = []
    for corpus, variants in _groups(results["records"]).items():
        parts.append(f"<h3>{_e(corpus)}: every trained variant against the human test split</h3>")
        parts.append(_variant_table(variants, columns))
        parts.extend(_ranking_html(e) for e in results.get("rankings", []) if e["corpus"] == corpus)
    return "".join(parts)


def _scope(results: dict[str, Any]) -> str:
    if results["kind"] == "ranking":
        experiments = sorted({r["variant"].split("/")[0] for r in results["records"]})
        return f"{len(results['records'])} runs collected from {', '.join(experiments)}"
    return f"{results['seeds']} seed(s) per variant"


def _section(results: dict[str, Any]) -> str:
    anchor = _e(results["experiment"])
    minutes = results["wall_seconds"] / 60
    corpora = ", ".join(f"{_e(k)} (<code>{_e(v)}</code>)" for k, v in results.get("corpora", {}).items())
    limit = f", at most {results['limit']} pieces per split" if results.get("limit") else ""
    parts = [f"<section id='{anchor}'><h2>{_e(results['title'])}</h2>",
             f"<p>{_e(results['question'])}</p>" if results.get("question") else "",
             f"<p class='note'>Source: {_e(results['source'])}</p>" if results.get("source") else "",
             f"<p class='note'>Size <b>{_e(results['size'])}</b>, {_scope(results)}"
             f"{limit}{'; corpora: ' + corpora if corpora else ''}. Wall time {minutes:.1f} min on "
             f"{_e(results['machine'])}. Command: <code>{_e(results['command'])}</code>.</p>"]
    failed = [r for r in results["records"] if r.get("error")]
    for record in failed:
        parts.append(f"<p class='warn'>Run {_e(record['corpus'])}/{_e(record['variant'])}/seed {record['seed']} "
                     f"failed: {_e(record['error'])}</p>")
    if results["kind"] == "ranking":
        parts.append(_ranking_section(results))
    else:
        for corpus, variants in _groups(results["records"]).items():
            parts.append(f"<h3>{_e(corpus)}</h3>")
            if results.get("columns"):
                parts.append(_variant_table(variants, results["columns"]))
            figures = results.get("figures", [])
            if "benchmark" in figures:
                parts.append(_benchmark(variants))
            if "grid" in figures:
                parts.append(_grid(results))
            parts.extend(_ranking_html(e) for e in results.get("rankings", []) if e["corpus"] == corpus)
            if "loss_curves" in figures:
                parts.append(_loss_curves(corpus, variants))
            if "seconds_per_epoch" in figures:
                parts.append(_seconds(corpus, variants))
            if "activations" in figures:
                parts.append(_activations([r for records in variants.values() for r in records]))
    parts.extend(f"<p class='note'>{_e(note)}</p>" for note in results.get("notes", []))
    parts.append("</section>")
    return "".join(parts)


def load_results(folder: Path) -> list[dict[str, Any]]:
    """Every experiment's results under ``folder``, in report order."""
    found = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(Path(folder).glob("*/results.json"))]
    return sorted(found, key=lambda r: (r.get("order", 99), r["experiment"]))


def write_report(folder: Path | str) -> Path:
    """Write ``folder/report.html`` from every ``folder/*/results.json``; returns its path."""
    from plotly.offline import get_plotlyjs  # noqa: PLC0415

    folder = Path(folder)
    experiments = load_results(folder)
    size = experiments[0]["size"] if experiments else "?"
    contents = "".join(f"<li><a href='#{_e(r['experiment'])}'>{_e(r['title'])}</a> ({r['wall_seconds'] / 60:.1f} "
                       f"min)</li>" for r in experiments)
    intro = (f"<h1>tunelab experiments ({_e(size)} size)</h1><p>The source reports' comparisons rerun on the "
             "project's offline corpora. Each variant is trained once per seed; its figures are means over seeds "
             "with 95% t-intervals (± half-width, number of seeds in brackets). Samples of every run are scored "
             "against the held-out human test split with <code>evaluation</code>: the classifier two-sample test "
             "(Lopez-Paz &amp; Oquab 2017; accuracy 0.5 = a classifier cannot tell samples from human pieces) and "
             "mgeval's overlap areas (Yang &amp; Lerch 2020; 1 = as close as human pieces are to each other). "
             f"Frame NLLs are in nats per frame; the uniform model of 88 keys scores 88 ln 2 = {LN2_88:.1f}.</p>"
             f"<ol>{contents}</ol>")
    body = intro + "".join(_section(r) for r in experiments)
    path = folder / REPORT_FILE
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>tunelab experiments</title>{STYLE}"
                    f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>{body}</body></html>",
                    encoding="utf-8")
    return path

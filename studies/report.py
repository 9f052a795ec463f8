"""Self-contained HTML reports of listening studies, plus their JSON and CSV.

``figures(stats)`` builds the plotly figures from the output of :func:`studies.stats.turing_statistics`
(the Streamlit results page shows the same ones); ``write_report`` writes ``report.html`` (plotly.js inlined
once: the file opens offline), ``stats.json`` and ``responses.csv`` (formula-escaped:
:mod:`tunelab.csv_safe`) into one folder.
``preference_figures`` / ``rating_figures`` and ``write_other_report`` do the same for ab-preference and
rating studies (:func:`studies.stats.preference_statistics`, :func:`studies.stats.rating_statistics`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from tunelab.csv_safe import write_csv

METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "specificity", "f1", "balanced_accuracy",
                            "d_prime", "criterion")


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        text = f"{x:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"
    return str(x)


def _fmt_p(p: float | None) -> str:
    """A p value: four decimals, or two significant digits in scientific notation below 0.0001."""
    return "n/a" if p is None else (f"{p:.2e}" if p < 1e-4 else f"{p:.4f}")


def metrics_table(stats: dict[str, Any]) -> pd.DataFrame:
    """One row per headline metric: value and confidence interval as text ("n/a" when undefined)."""
    rows = []
    for m in METRICS:
        ci = stats.get(f"{m}_ci")
        rows.append({"metric": m, "value": _fmt(stats.get(m)),
                     "ci": "" if ci is None else f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"})
    bt = stats.get("binomial_test")
    rows.append({"metric": "binomial p (accuracy vs 0.5)", "value": _fmt_p(bt and bt["p_value"]),
                 "ci": "" if bt is None else f"k={bt['k']}, n={bt['n']}"})
    pp = stats.get("per_participant") or {}
    rows.append({"metric": "participant t-test p (vs 0.5)", "value": _fmt_p(pp.get("t_p_value")),
                 "ci": "" if pp.get("t") is None else f"t={pp['t']:.3f}, df={pp['df']}"})
    rows.append({"metric": "participant Wilcoxon p (vs 0.5)", "value": _fmt_p(pp.get("wilcoxon_p_value")),
                 "ci": ""})
    kappa = stats.get("fleiss_kappa") or {}
    rows.append({"metric": "Fleiss' kappa", "value": _fmt(kappa.get("kappa")),
                 "ci": (f"{kappa['n_stimuli']} stimuli x {kappa['n_raters']} raters" if kappa.get("n_raters")
                        else "no stimulus was rated by two or more participants")})
    return pd.DataFrame(rows).rename(columns={"ci": "CI / detail"})


def _bars(rows: list[dict[str, Any]] | None, key: str, title: str) -> go.Figure:
    """Accuracy per level with asymmetric Wilson error bars."""
    rows = rows or []
    fig = go.Figure()
    names = [r[key] for r in rows]
    acc = [r["accuracy"] for r in rows]
    lo = [r["accuracy"] - r["accuracy_ci"][0] for r in rows]
    hi = [r["accuracy_ci"][1] - r["accuracy"] for r in rows]
    fig.add_trace(go.Bar(x=names, y=acc, name="accuracy",
                         error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo}))
    fig.add_hline(y=0.5, line_dash="dash", annotation_text="chance")
    fig.update_layout(title=title, yaxis={"title": "accuracy", "range": [0, 1]}, xaxis={"title": key})
    return fig


def figures(stats: dict[str, Any]) -> dict[str, go.Figure]:
    """Plotly figures of a Turing study: confusion matrix, per model, per group, per participant, metrics."""
    cm = stats["confusion_matrix"]
    z = [[cm["tp"], cm["fn"]], [cm["fp"], cm["tn"]]]
    heat = go.Figure(go.Heatmap(z=z, x=["judged computer", "judged human"], y=["computer", "human"],
                                text=[[str(v) for v in r] for r in z], texttemplate="%{text}",
                                colorscale="Blues", showscale=False))
    heat.update_layout(title="Confusion matrix (rows: truth)", yaxis={"autorange": "reversed"})
    acc = [p["accuracy"] for p in (stats.get("per_participant") or {}).get("participants", [])]
    hist = go.Figure(go.Histogram(x=acc, xbins={"start": 0, "end": 1.0001, "size": 0.1}))
    hist.add_vline(x=0.5, line_dash="dash", annotation_text="chance")
    hist.update_layout(title="Accuracy per participant", xaxis={"title": "accuracy", "range": [0, 1]},
                       yaxis={"title": "participants"})
    table = metrics_table(stats)
    tab = go.Figure(go.Table(header={"values": ["metric", "value", "CI / detail"]},
                             cells={"values": [table["metric"], table["value"], table["CI / detail"]]}))
    tab.update_layout(title="Metrics")
    return {"confusion_matrix": heat,
            "per_model": _bars(stats.get("per_model"), "model", "Accuracy per model"),
            "per_group": _bars(stats.get("per_group"), "group", "Accuracy per group"),
            "per_participant": hist, "metrics": tab}


def quality_text(stats: dict[str, Any]) -> str:
    """One sentence on partial sessions and too-fast answers (from ``stats["quality"]`` of
    :func:`studies.results.study_statistics`); empty when the statistics carry none."""
    q = stats.get("quality")
    if not q:
        return ""
    used = [name for name, on in (("completed participants only", q["completed_only"]),
                                  ("too-fast answers left out", q["drop_too_fast"])) if on]
    return (f"{q['participants_started']} participants started, {q['participants_completed']} completed, "
            f"{q['participants_partial']} partial sessions; {q['too_fast_answers']} too-fast answers "
            f"({q['too_fast_rule']}). Filters: {', '.join(used) or 'none'}.")


def quality_html(stats: dict[str, Any]) -> str:
    text = quality_text(stats)
    return f"<p>{html.escape(text)}</p>" if text else ""


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(stats: dict[str, Any], responses: pd.DataFrame, out_dir: Path,
                 title: str = "Listening study report") -> Path:
    """Write report.html (offline, plotly.js inline), stats.json and responses.csv; return the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2, allow_nan=False), encoding="utf-8")
    write_csv(responses, out_dir / "responses.csv")
    figs = figures(stats)
    parts = []
    for i, (name, fig) in enumerate(figs.items()):
        if name in ("per_model", "per_group") and not stats.get(name):
            continue
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=f"fig-{name}"))
    ex = stats.get("exclusions") or {}
    notes = stats.get("notes") or {}
    who = ", ".join(ex.get("participants", []))
    summary = (f"<p>{stats['n_answers']} answers from {stats['n_participants']} participants. "
               f"Excluded: {ex.get('n_excluded', 0)}{f' ({html.escape(who)})' if who else ''}"
               f" &mdash; rule: {html.escape(str(ex.get('rule', '')))}.</p>{quality_html(stats)}")
    note_items = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in notes.items())
    kappa = stats.get("fleiss_kappa") or {}
    note_items += f"<li>kappa: {html.escape(str(kappa.get('method', '')))}</li>"
    note_items += f"<li>d&prime;: {html.escape(str(stats.get('correction', '')))}</li>"
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{summary}<h2>Metrics</h2>{_html_table(metrics_table(stats))}"
            f"<ul>{note_items}</ul><h2>Figures</h2>{''.join(parts)}</body></html>")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _interval_bars(names: list[str], values: list[float], cis: list[Any], title: str, ytitle: str,
                   yrange: list[float], reference: float | None) -> go.Figure:
    """Bars with asymmetric error bars from ``[lo, hi]`` intervals (missing interval: no bar error)."""
    lo = [0.0 if ci is None else v - ci[0] for v, ci in zip(values, cis, strict=True)]
    hi = [0.0 if ci is None else ci[1] - v for v, ci in zip(values, cis, strict=True)]
    fig = go.Figure(go.Bar(x=names, y=values,
                           error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo}))
    if reference is not None:
        fig.add_hline(y=reference, line_dash="dash", annotation_text="no preference")
    fig.update_layout(title=title, yaxis={"title": ytitle, "range": yrange})
    return fig


def preference_figures(stats: dict[str, Any]) -> dict[str, go.Figure]:
    """Share of trials won by each condition of each pair, with Wilson intervals (ab-preference)."""
    names, values, cis = [], [], []
    for p in stats.get("pairs") or []:
        for i in ("1", "2"):
            names.append(f"{p['condition_' + i]} (vs {p['condition_' + ('2' if i == '1' else '1')]})")
            values.append(p["share_" + i])
            cis.append(p["share_" + i + "_ci"])
    return {"preference": _interval_bars(names, values, cis, "Preference share per condition", "share chosen",
                                         [0, 1], 0.5)}


def rating_figures(stats: dict[str, Any]) -> dict[str, go.Figure]:
    """Mean rating per condition (over participant means) with Student-t intervals (rating)."""
    conds = stats.get("conditions") or []
    return {"ratings": _interval_bars([c["condition"] for c in conds], [c["mean"] for c in conds],
                                      [c["ci"] for c in conds], "Mean rating per condition",
                                      "mean rating (1-5)", [1, 5], None)}


def write_other_report(stats: dict[str, Any], responses: pd.DataFrame, out_dir: Path, test_type: str,
                       title: str = "Listening study report") -> Path:
    """report.html (figure + statistics as JSON), stats.json and responses.csv of an ab-preference or
    rating study; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(stats, indent=2, allow_nan=False)
    (out_dir / "stats.json").write_text(text, encoding="utf-8")
    write_csv(responses, out_dir / "responses.csv")
    figs = preference_figures(stats) if test_type == "ab-preference" else rating_figures(stats)
    parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=f"fig-{name}")
             for i, (name, fig) in enumerate(figs.items())]
    ex = stats.get("exclusions") or {}
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(test_type)} study. Excluded participants: "
            f"{ex.get('n_excluded', 0)} &mdash; rule: {html.escape(str(ex.get('rule', '')))}.</p>"
            f"{quality_html(stats)}"
            f"{''.join(parts)}<h2>Statistics</h2><pre>{html.escape(text)}</pre></body></html>")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

"""The experiments' figures as Markdown (``python -m generation experiment results --full``): per experiment
the command, machine and wall time, one table per corpus of the experiment's columns (mean ± half-width of
the 95% t-interval over seeds, number of seeds), the frame-NLL baselines where there are any, and the rankings
with the pairs the seeds cannot separate. The same numbers as ``report.html``, for a README or a paper draft.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from generation.experiments_report import LABELS, _groups, grid_pivot, load_results, mean_ci

__all__ = ["markdown_cell", "results_markdown"]

BASELINE_NAMES = {"uniform": "uniform (88 ln 2)", "independent-bernoulli": "independent Bernoulli per key",
                  "markov-chord": "Markov chord chain"}


def markdown_cell(values: list[Any]) -> str:
    """``mean ± half-width (n)`` of the finite values; ``-`` when there are none."""
    mean, half, n = mean_ci([v for v in values if isinstance(v, (int, float))])
    if n == 0:
        return "-"
    digits = 0 if abs(mean) >= 1000 else 3
    text = f"{mean:.{digits}f}"
    if half is not None:
        text += f" ± {half:.{digits}f}"
    return f"{text} ({n})"


def _table(variants: dict[str, list[dict[str, Any]]], columns: list[str]) -> list[str]:
    lines = ["| variant | " + " | ".join(LABELS.get(c, c) for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for name, records in variants.items():
        good = [r for r in records if not r.get("error")]
        cells = [markdown_cell([r["metrics"].get(c) for r in good]) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _baselines(variants: dict[str, list[dict[str, Any]]]) -> list[str]:
    first = next((r for records in variants.values() for r in records if r.get("baselines")), None)
    if first is None or not any("frame_nll" in s for s in first["baselines"].values()):
        return []
    lines = ["", "| baseline on the same test split | frame NLL (nats/frame) | expected frame accuracy |",
             "|---|---|---|"]
    for key, scores in first["baselines"].items():
        nll, accuracy = scores.get("frame_nll", math.nan), scores.get("frame_accuracy", math.nan)
        lines.append(f"| {BASELINE_NAMES.get(key, key)} | {nll:.3f} | {accuracy:.3f} |")
    for key, value in (first.get("published") or {}).items():
        lines.append(f"| published on JSB: {key} | {value:.2f} | - |")
    return lines


def _grid(results: dict[str, Any]) -> list[str]:
    """The appendix table (:func:`generation.experiments_report.grid_pivot`) as Markdown."""
    pivot = grid_pivot(results)
    if pivot is None:
        return []

    def cell(row: dict[str, Any] | None) -> str:
        if row is None or row["best"] is None:
            return "-"
        return f"{row['best']:.3f}" + (f" ± {row['half']:.3f}" if row["half"] is not None else "") + f" ({row['n']})"

    lines = ["", f"Appendix table: {LABELS.get(pivot.metric, pivot.metric)} (mean ± 95% t half-width, seeds):", "",
             "| | " + " | ".join(f"{pivot.col_key} = {v}" for v in pivot.col_values) + " |",
             "|---" * (len(pivot.col_values) + 1) + "|"]
    lines += [f"| {pivot.row_key} = {rv} | " + " | ".join(cell(pivot.cells.get((rv, cv))) for cv in pivot.col_values)
              + " |" for rv in pivot.row_values]
    return lines


def _ranking(entry: dict[str, Any]) -> list[str]:
    ranking = entry["ranking"]
    label = entry.get("label") or LABELS.get(entry["metric"], entry["metric"])
    better = "higher" if ranking["higher_is_better"] else "lower"
    lines = ["", f"Ranking on {label} ({better} is better, 95% t-interval over seeds):", ""]
    for variant in ranking["variants"]:
        interval = (f" [{variant['ci_low']:.3f}, {variant['ci_high']:.3f}]" if variant["ci_low"] is not None
                    else "")
        mean = variant["mean"]
        shown = "-" if mean is None or not math.isfinite(mean) else f"{mean:.3f}"
        lines.append(f"{variant['rank']}. {variant['name']}: {shown}{interval} ({variant['n']} seeds)")
    tied = ranking.get("not_separable") or []
    if tied:
        pairs = "; ".join(f"{a} ~ {b}" for a, b in tied[:8]) + (f"; and {len(tied) - 8} more" if len(tied) > 8 else "")
        lines += ["", f"Not separable by the seeds (Welch t-test, Holm-adjusted): {pairs}."]
    return lines


def results_markdown(folder: Path | str) -> str:
    """Markdown of every ``folder/*/results.json`` (one size's results), in the experiments' order."""
    experiments = load_results(Path(folder))
    out: list[str] = []
    for results in experiments:
        failed = [r for r in results["records"] if r.get("error")]
        out += [f"## {results['title']}", "",
                f"`{results['command']}`: {len(results['records'])} runs, wall time "
                f"{results['wall_seconds'] / 60:.1f} min on {results['machine']} (finished {results['finished']})"
                + (f"; {len(failed)} runs failed: " + "; ".join(str(r["error"]) for r in failed[:3]) if failed else "")
                + "."]
        if results["kind"] != "ranking":
            for corpus, variants in _groups(results["records"]).items():
                out += ["", f"### {corpus}", ""]
                if results.get("columns"):
                    out += _table(variants, list(results["columns"]))
                out += _baselines(variants)
                if "grid" in results.get("figures", []):
                    out += _grid(results)
                for entry in results.get("rankings", []):
                    if entry["corpus"] == corpus:
                        out += _ranking(entry)
        else:
            corpus = None
            for entry in results.get("rankings", []):
                if entry["corpus"] != corpus:
                    corpus = entry["corpus"]
                    out += ["", f"### {corpus}"]
                out += _ranking(entry)
        out += [""]
    return "\n".join(out)

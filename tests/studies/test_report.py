"""Tests of studies.report: figures carry the statistics, the HTML opens offline."""

from __future__ import annotations

import json

import pandas as pd

from studies.report import figures, metrics_table, write_report
from studies.stats import turing_statistics


def _responses() -> pd.DataFrame:
    rows = []
    for p, correct in (("p1", 4), ("p2", 3), ("p3", 2)):
        for s in range(4):
            truth = "computer" if s < 2 else "human"
            wrong = "human" if truth == "computer" else "computer"
            rows.append({"participant": p, "stimulus": f"s{s}", "truth": truth,
                         "answer": truth if s < correct else wrong,
                         "group": "musician" if p == "p1" else "other",
                         "model": "lstm" if truth == "computer" else None})
    return pd.DataFrame(rows)


def test_figures_show_the_statistics() -> None:
    st = turing_statistics(_responses())
    figs = figures(st)
    assert set(figs) == {"confusion_matrix", "per_model", "per_group", "per_participant", "metrics"}
    cm = st["confusion_matrix"]
    heat = figs["confusion_matrix"].data[0].z
    assert [list(r) for r in heat] == [[cm["tp"], cm["fn"]], [cm["fp"], cm["tn"]]]
    bar = figs["per_group"].data[0]
    groups = {g["group"]: g for g in st["per_group"]}
    assert list(bar.x) == ["musician", "other"] and list(bar.y) == [1.0, groups["other"]["accuracy"]]
    lo, hi = groups["other"]["accuracy_ci"]
    assert bar.error_y.arrayminus[1] == groups["other"]["accuracy"] - lo
    assert bar.error_y.array[1] == hi - groups["other"]["accuracy"]
    assert sorted(figs["per_participant"].data[0].x) == [0.5, 0.75, 1.0]


def test_metrics_table_marks_undefined_values() -> None:
    st = turing_statistics(pd.DataFrame({"participant": ["p"], "stimulus": ["s"], "truth": ["human"],
                                         "answer": ["human"]}))
    table = metrics_table(st).set_index("metric")
    assert table.loc["precision", "value"] == "n/a" and table.loc["accuracy", "value"] == "1.000"
    assert table.loc["precision", "CI / detail"] == ""
    assert table.loc["accuracy", "CI / detail"].startswith("[")
    assert table.loc["binomial p (accuracy vs 0.5)", "value"] == "1.0000"  # 1 of 1 correct: p = 1


def test_write_report_is_self_contained(tmp_path) -> None:
    responses = _responses()
    st = turing_statistics(responses)
    path = write_report(st, responses, tmp_path / "out", title="Pilot <1>")
    page = path.read_text(encoding="utf-8")
    assert path.name == "report.html"
    assert page.count('class="plotly-graph-div"') == 5
    assert "<script src=" not in page and "Plotly.newPlot" in page
    assert len(page) > 1_000_000  # plotly.js is inline
    assert "Pilot &lt;1&gt;" in page and "Fleiss" in page
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == st
    assert len(pd.read_csv(tmp_path / "out" / "responses.csv")) == 12

"""Tests of studies.report: figures carry the statistics, the HTML opens offline."""

from __future__ import annotations

import json

import pandas as pd
import pytest

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
    assert sorted(figs["per_participant"].data[0].x) == pytest.approx([0.5, 0.75, 1.0])


def test_metrics_table_marks_undefined_values() -> None:
    st = turing_statistics(pd.DataFrame({"participant": ["p"], "stimulus": ["s"], "truth": ["human"],
                                         "answer": ["human"]}))
    table = metrics_table(st).set_index("metric")
    assert table.loc["precision", "value"] == "n/a" and table.loc["accuracy", "value"] == "1.000"
    assert table.loc["precision", "CI / detail"] == ""
    assert table.loc["accuracy", "CI / detail"].startswith("[")
    assert table.loc["binomial p (accuracy vs 0.5)", "value"] == "1.0000"  # 1 of 1 correct: p = 1
    assert table.loc["Fleiss' kappa", "CI / detail"] == "no stimulus was rated by two or more participants"


def test_metrics_table_writes_no_negative_zero() -> None:
    # hits 2/4 and false alarms 2/4: d' = 0 and criterion = 0 exactly (up to rounding), never "-0.000"
    rows = [{"participant": p, "stimulus": f"{p}{s}", "truth": t, "answer": a}
            for p in ("p1", "p2") for s, (t, a) in enumerate([("computer", "computer"), ("computer", "human"),
                                                              ("human", "computer"), ("human", "human")])]
    table = metrics_table(turing_statistics(pd.DataFrame(rows))).set_index("metric")
    assert table.loc["criterion", "value"] == "0.000" and table.loc["d_prime", "value"] == "0.000"
    assert table.loc["Fleiss' kappa", "CI / detail"] == "no stimulus was rated by two or more participants"


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


def test_preference_and_rating_figures_carry_the_statistics(tmp_path) -> None:
    from studies.report import preference_figures, rating_figures, write_other_report
    from studies.stats import preference_statistics, rating_statistics, wilson_interval

    pairs = pd.DataFrame({"participant": ["p1", "p1", "p2", "p2"], "stimulus_a": ["a1", "a2", "a3", "a4"],
                          "stimulus_b": ["b1", "b2", "b3", "b4"], "condition_a": ["human", "lstm"] * 2,
                          "condition_b": ["lstm", "human"] * 2, "choice": ["a", "a", "a", "b"]})
    pref = preference_statistics(pairs)  # human chosen in trials 1, 3 and 4: 3 of 4
    bar = preference_figures(pref)["preference"].data[0]
    assert list(bar.x) == ["human (vs lstm)", "lstm (vs human)"] and list(bar.y) == [0.75, 0.25]
    lo, hi = wilson_interval(3, 4)
    assert (bar.error_y.arrayminus[0], bar.error_y.array[0]) == (0.75 - lo, hi - 0.75)
    ratings = pd.DataFrame({"participant": ["p1", "p2", "p1", "p2"], "stimulus": ["s1", "s1", "s2", "s2"],
                            "condition": ["human", "human", "lstm", "lstm"], "rating": [4, 5, 2, 2]})
    rat = rating_statistics(ratings)
    bar = rating_figures(rat)["ratings"].data[0]
    assert list(bar.x) == ["human", "lstm"] and list(bar.y) == pytest.approx([4.5, 2.0])
    assert bar.error_y.array[1] == pytest.approx(0.0, abs=1e-12)  # constant ratings: zero-width interval
    path = write_other_report(rat, ratings, tmp_path, "rating", title="Ratings <pilot>")
    page = path.read_text(encoding="utf-8")
    assert "Ratings &lt;pilot&gt;" in page and page.count('class="plotly-graph-div"') == 1
    assert json.loads((tmp_path / "stats.json").read_text()) == rat

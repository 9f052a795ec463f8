"""Smoke test of the shipped experiments at their quick size, through the command line, on corpora built by the
project's builder: the chorale benchmark trains LSTM, stacked LSTM and biaxial for real (two seeds each) and
its report holds their numbers beside the baselines and the published JSB figures; the ranking experiment
then ranks every trained variant against the human test split. Bad requests exit 2 with a message."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from generation.__main__ import main

UNIFORM_88 = 88 * math.log(2)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quick")
    for name in ("chorale-benchmark", "ranking"):
        code = main(["experiment", name, "--quick", "--out", str(root / "out"), "--data-dir", str(root / "data"),
                     "--cache", str(root / "cache"), "--no-progress"])
        assert code == 0
    return root / "out" / "quick"


def test_the_chorale_benchmark_trains_three_models_below_the_uniform_model(quick: Path) -> None:
    results = json.loads((quick / "chorale-benchmark" / "results.json").read_text(encoding="utf-8"))
    records = results["records"]
    assert sorted({(r["variant"], r["seed"]) for r in records}) == [
        (v, s) for v in ("biaxial", "lstm", "stacked") for s in (0, 1)]
    for record in records:
        metrics = record["metrics"]
        assert "error" not in record
        assert 0.0 < metrics["test_frame_nll"] < UNIFORM_88  # it learned something: better than 61.0 nats/frame
        assert 0.0 < metrics["test_frame_accuracy"] < 1.0
        assert 0.0 <= metrics["classifier_accuracy"] <= 1.0
    lstm = [r for r in records if r["variant"] == "lstm"]
    assert lstm[0]["metrics"]["test_frame_nll"] != lstm[1]["metrics"]["test_frame_nll"]  # two real runs
    baselines = lstm[0]["baselines"]
    assert baselines["uniform"]["frame_nll"] == pytest.approx(UNIFORM_88)
    assert 0.0 < baselines["independent-bernoulli"]["frame_nll"] < UNIFORM_88
    assert lstm[0]["published"]["RNN-NADE (Boulanger-Lewandowski et al. 2012)"] == 5.19
    assert "transposed to C major / C minor as there" in lstm[0]["protocol_difference"]


def test_the_report_holds_the_real_numbers_the_baselines_and_the_ranking(quick: Path) -> None:
    html = (quick / "report.html").read_text(encoding="utf-8")
    results = json.loads((quick / "chorale-benchmark" / "results.json").read_text(encoding="utf-8"))
    for variant in ("lstm", "stacked", "biaxial"):
        values = [r["metrics"]["test_frame_nll"] for r in results["records"] if r["variant"] == variant]
        assert f"{sum(values) / len(values):.3f} ± " in html  # the mean over both seeds, with its interval
    assert "baseline: independent Bernoulli per key" in html and "published on JSB: TCN (Bai et al. 2018)" in html
    assert "6. Chorale benchmark" in html and "8. Every trained variant" in html
    ranking = json.loads((quick / "ranking" / "results.json").read_text(encoding="utf-8"))
    ranked = ranking["rankings"][0]["ranking"]
    assert ranking["rankings"][0]["metric"] == "classifier_accuracy"
    assert {v["name"] for v in ranked["variants"]} == {"chorale-benchmark/lstm", "chorale-benchmark/stacked",
                                                       "chorale-benchmark/biaxial"}
    assert all(v["n"] == 2 for v in ranked["variants"])
    csv_lines = (quick / "chorale-benchmark" / "results.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 7 and "test_frame_nll" in csv_lines[0]


def test_experiment_list_and_bad_requests(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["experiment", "list"]) == 0
    listed = capsys.readouterr().out
    assert [line.split()[0] for line in listed.splitlines()] == [
        "notewise-variants", "attention", "cnn-lstm", "hidden-keep-grid", "lstm-vs-rnn-abc", "chorale-benchmark",
        "folk-steps", "ranking"]
    assert main(["experiment", "no-such-thing", "--out", str(tmp_path)]) == 2
    assert "error: unknown experiment 'no-such-thing'" in capsys.readouterr().err
    assert main(["experiment", "ranking", "--out", str(tmp_path / "empty")]) == 2
    assert "run some first" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["experiment", "ranking", "--quick", "--full"])
    assert stopped.value.code == 2


def test_results_as_markdown_hold_the_reports_numbers(quick: Path, capsys: pytest.CaptureFixture,
                                                      tmp_path: Path) -> None:
    from generation.experiments_markdown import markdown_cell

    assert main(["experiment", "results", "--quick", "--out", str(quick.parent)]) == 0
    text = capsys.readouterr().out
    results = json.loads((quick / "chorale-benchmark" / "results.json").read_text(encoding="utf-8"))
    assert f"## {results['title']}" in text and "## 8. Every trained variant" in text
    for variant in ("lstm", "stacked", "biaxial"):
        values = [r["metrics"]["test_frame_nll"] for r in results["records"] if r["variant"] == variant]
        assert f"| {variant} | {markdown_cell(values)} |" in text  # first column: test frame NLL over both seeds
    assert "| uniform (88 ln 2) | 60.997 |" in text and "| published on JSB: TCN (Bai et al. 2018) | 8.10 | - |" in text
    assert f"{results['wall_seconds'] / 60:.1f} min on" in text and results["command"] in text
    assert main(["experiment", "results", "--full", "--out", str(tmp_path)]) == 2
    assert "no experiment results under" in capsys.readouterr().err


def test_markdown_cell_is_mean_half_width_and_count() -> None:
    from generation.experiments_markdown import markdown_cell

    assert markdown_cell([1.0, 3.0]) == "2.000 ± 12.706 (2)"  # t(0.975, 1) = 12.706, sd = sqrt(2), n = 2
    assert markdown_cell([2.5]) == "2.500 (1)" and markdown_cell([]) == "-" and markdown_cell([None]) == "-"

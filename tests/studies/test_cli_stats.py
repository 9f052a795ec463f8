"""End-to-end tests of the ``stats`` verb on CSVs written by the test."""

from __future__ import annotations

import argparse
import json

import pytest

from studies.cli_stats import main_stats, register

CSV = """participant,stimulus,truth,answer,model,group
p1,s1,machine,Computer,lstm,a
p1,s2,human,human,,a
p1,s3,AI,human,lstm,a
p2,s1,generated,machine,lstm,b
p2,s2,Human,computer,,b
p2,s3,computer,computer,lstm,b
"""


def test_stats_prints_json_and_writes_report(tmp_path, capsys) -> None:
    responses = tmp_path / "responses.csv"
    responses.write_text(CSV, encoding="utf-8")
    attention = tmp_path / "attention.csv"
    attention.write_text("participant,passed\np1,true\np2,true\n", encoding="utf-8")
    code = main_stats(["stats", "--responses", str(responses), "--out", str(tmp_path / "rep"),
                       "--attention", str(attention), "--confidence", "0.9"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("precision", "recall", "specificity", "accuracy", "f1", "d_prime", "binomial_test"):
        assert key in out
    # tp: p1s1 p2s1 p2s3 = 3; fn: p1s3 = 1; tn: p1s2 = 1; fp: p2s2 = 1
    assert out["confusion_matrix"] == {"tp": 3, "fp": 1, "tn": 1, "fn": 1}
    assert out["confidence"] == 0.9 and out["exclusions"]["n_excluded"] == 0
    assert 'class="plotly-graph-div"' in (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")


def test_bad_label_exits_2_with_one_line(tmp_path, capsys) -> None:
    responses = tmp_path / "responses.csv"
    responses.write_text(CSV.replace("p2,s2,Human", "p2,s2,robot"), encoding="utf-8")
    assert main_stats(["--responses", str(responses)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "row 6" in err and "'robot'" in err and "responses.csv" in err


def test_register_adds_a_documented_verb(capsys) -> None:
    parser = argparse.ArgumentParser(prog="studies")
    register(parser.add_subparsers(dest="verb"))
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["stats", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--responses", "--out", "--attention", "--confidence", "--title"):
        assert option in text

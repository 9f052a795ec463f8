"""Tests of studies.responses: label normalisation and the errors on bad tables."""

from __future__ import annotations

import pandas as pd
import pytest

from studies.errors import StudyError
from studies.responses import load_responses_csv, normalize_responses


def _table(truth: list[str], answer: list[str]) -> pd.DataFrame:
    n = len(truth)
    return pd.DataFrame({"participant": ["p1"] * n, "stimulus": [f"s{i}" for i in range(n)],
                         "truth": truth, "answer": answer})


def test_labels_are_normalised_case_insensitively() -> None:
    df = normalize_responses(_table(["Machine", " GENERATED", "ai", "Computer", "HUMAN"],
                                    ["human", "Human ", "AI", "machine", "computer"]))
    assert df["truth"].tolist() == ["computer", "computer", "computer", "computer", "human"]
    assert df["answer"].tolist() == ["human", "human", "computer", "computer", "computer"]


def test_optional_columns_are_kept_and_column_names_cleaned() -> None:
    raw = _table(["human"], ["human"]).rename(columns={"truth": " Truth "}).assign(model="lstm", confidence=4)
    df = normalize_responses(raw)
    assert list(df.columns) == ["participant", "stimulus", "truth", "answer", "model", "confidence"]
    assert df.loc[0, "model"] == "lstm" and df.loc[0, "confidence"] == 4


def test_bad_label_names_source_row_and_value() -> None:
    with pytest.raises(StudyError, match=r"answers\.csv, row 3: answer value 'not sure'"):
        normalize_responses(_table(["human", "human"], ["human", "not sure"]), source="answers.csv")


def test_empty_label_is_an_error() -> None:
    with pytest.raises(StudyError, match=r"row 2: truth value nan"):
        normalize_responses(_table([float("nan")], ["human"]))


def test_missing_columns_are_listed() -> None:
    with pytest.raises(StudyError, match=r"missing required column\(s\) stimulus, answer"):
        normalize_responses(pd.DataFrame({"participant": ["p"], "truth": ["human"]}))


def test_load_csv_keeps_ids_as_text_and_names_file_on_error(tmp_path) -> None:
    good = tmp_path / "r.csv"
    good.write_text("participant,stimulus,truth,answer\n007,012,machine,human\n", encoding="utf-8")
    df = load_responses_csv(good)
    assert df.loc[0, "participant"] == "007" and df.loc[0, "stimulus"] == "012"
    assert (df.loc[0, "truth"], df.loc[0, "answer"]) == ("computer", "human")
    bad = tmp_path / "bad.csv"
    bad.write_text("participant,stimulus,truth,answer\np,s,human,human\np,t,robot,human\n", encoding="utf-8")
    with pytest.raises(StudyError, match=r"bad\.csv, row 3: truth value 'robot'"):
        load_responses_csv(bad)
    with pytest.raises(StudyError, match=r"no such responses file"):
        load_responses_csv(tmp_path / "absent.csv")

"""Tests of studies.stats against values worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from studies.errors import StudyError
from studies.stats import (
    ConfusionMatrix,
    binomial_test,
    classification_rates,
    confusion_matrix,
    fleiss_kappa,
    preference_statistics,
    rating_statistics,
    signal_detection,
    t_interval,
    turing_statistics,
    wilson_interval,
)

Z95 = norm.ppf(0.975)


def _answers(tp: int, fp: int, tn: int, fn: int, participant: str = "p1") -> pd.DataFrame:
    """Responses of one participant realising the given confusion matrix, one stimulus per answer."""
    pairs = ([("computer", "computer")] * tp + [("human", "computer")] * fp + [("human", "human")] * tn
             + [("computer", "human")] * fn)
    return pd.DataFrame({"participant": participant,
                         "stimulus": [f"{participant}-s{i}" for i in range(len(pairs))],
                         "truth": [t for t, _ in pairs], "answer": [a for _, a in pairs]})


def test_confusion_matrix_counts_computer_as_positive() -> None:
    cm = confusion_matrix(["computer", "computer", "human", "human", "computer"],
                          ["computer", "human", "computer", "human", "computer"])
    assert cm == ConfusionMatrix(tp=2, fp=1, tn=1, fn=1)
    with pytest.raises(StudyError, match="normalise labels"):
        confusion_matrix(["machine"], ["human"])


def test_rates_of_a_hand_computed_matrix() -> None:
    r = classification_rates(ConfusionMatrix(tp=30, fp=10, tn=40, fn=20))
    assert r["precision"] == 0.75  # 30 / 40
    assert r["recall"] == 0.6  # 30 / 50
    assert r["specificity"] == 0.8  # 40 / 50
    assert r["accuracy"] == 0.7  # 70 / 100
    assert r["f1"] == 2 * 0.75 * 0.6 / 1.35
    assert r["balanced_accuracy"] == (0.6 + 0.8) / 2
    assert r["accuracy_ci"] == wilson_interval(70, 100)


def test_undefined_rates_are_none() -> None:
    r = classification_rates(ConfusionMatrix(tp=0, fp=0, tn=5, fn=0))
    assert r["precision"] is None and r["precision_ci"] is None
    assert r["recall"] is None and r["f1"] is None and r["balanced_accuracy"] is None
    assert r["specificity"] == 1.0
    assert classification_rates(ConfusionMatrix(tp=0, fp=3, tn=0, fn=2))["f1"] == 0.0


def test_wilson_interval_closed_forms() -> None:
    # k = 0: lower 0, upper z^2 / (n + z^2)
    lo, hi = wilson_interval(0, 4)
    assert lo == 0.0 and hi == pytest.approx(Z95**2 / (4 + Z95**2), abs=1e-15)
    assert hi == pytest.approx(0.489891, abs=1e-6)  # 3.841459 / 7.841459
    # p = 1/2, n = 100: centre 1/2, half width z / (1 + z^2/100) * sqrt(1/400 + z^2/40000)
    lo, hi = wilson_interval(50, 100)
    half = Z95 / (1 + Z95**2 / 100) * math.sqrt(0.25 / 100 + Z95**2 / 40000)
    assert (lo, hi) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-15)
    assert (lo, hi) == pytest.approx((0.403832, 0.596168), abs=1e-6)
    assert wilson_interval(3, 0) is None
    with pytest.raises(StudyError, match="strictly between 0 and 1"):
        wilson_interval(1, 2, confidence=95)


def test_exact_binomial_by_hand() -> None:
    # P(X >= 8 | n=10, 1/2) = (45 + 10 + 1) / 1024; two-sided doubles it by symmetry
    res = binomial_test(8, 10)
    assert res["p_value"] == pytest.approx(112 / 1024, rel=1e-12)
    assert (res["k"], res["n"]) == (8, 10)
    assert binomial_test(5, 5)["p_value"] == pytest.approx(2 / 32, rel=1e-12)
    assert binomial_test(0, 0) is None


def test_d_prime_with_log_linear_correction() -> None:
    sdt = signal_detection(ConfusionMatrix(tp=30, fp=10, tn=40, fn=20))
    h, f = 30.5 / 51, 10.5 / 51
    assert sdt["hit_rate"] == h and sdt["false_alarm_rate"] == f
    assert sdt["d_prime"] == pytest.approx(norm.ppf(h) - norm.ppf(f), abs=1e-15)
    assert sdt["criterion"] == pytest.approx(-(norm.ppf(h) + norm.ppf(f)) / 2, abs=1e-15)
    # symmetric errors: F = 1 - H, so c = 0 and d' = 2 z(H); perfect scores stay finite
    sym = signal_detection(ConfusionMatrix(tp=10, fp=0, tn=10, fn=0))
    assert sym["criterion"] == pytest.approx(0.0, abs=1e-12)
    assert sym["d_prime"] == pytest.approx(2 * norm.ppf(10.5 / 11), abs=1e-12)
    assert signal_detection(ConfusionMatrix(tp=0, fp=1, tn=1, fn=0))["d_prime"] is None


def test_fleiss_kappa_wikipedia_example() -> None:
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa([[3, 0], [3, 0]]) is None  # P_e = 1
    with pytest.raises(StudyError, match="same number of ratings"):
        fleiss_kappa([[2, 0], [1, 0]])


def test_kappa_of_answers_uses_modal_rater_count() -> None:
    rows = [("s1", "computer")] * 3 + [("s2", "human")] * 3 + [("s3", "computer")] * 2 + [("s3", "human")]
    rows += [("s4", "human"), ("s4", "computer"), ("s5", "human")]
    df = pd.DataFrame({"participant": [f"p{i % 3}" for i in range(len(rows))],
                       "stimulus": [s for s, _ in rows],
                       "truth": "human", "answer": [a for _, a in rows]})
    k = turing_statistics(df)["fleiss_kappa"]
    # P_i = 1, 1, 1/3 -> P̄ = 7/9; p = (5/9, 4/9) -> P_e = 41/81; kappa = 22/40
    assert k["kappa"] == pytest.approx(22 / 40, abs=1e-12)
    assert (k["n_stimuli"], k["n_raters"], k["n_stimuli_dropped"]) == (3, 3, 2)


def test_turing_statistics_is_json_and_matches_hand_values() -> None:
    df = pd.concat([_answers(30, 10, 40, 20, "p1")]).assign(model="lstm", group="musician")
    st = turing_statistics(df)
    json.dumps(st, allow_nan=False)
    assert st["confusion_matrix"] == {"tp": 30, "fp": 10, "tn": 40, "fn": 20}
    assert (st["precision"], st["recall"], st["specificity"], st["accuracy"]) == (0.75, 0.6, 0.8, 0.7)
    assert st["binomial_test"]["k"] == 70 and st["binomial_test"]["n"] == 100
    assert st["n_answers"] == 100 and st["n_participants"] == 1
    assert st["per_model"] == [{"model": "lstm", "n": 100, "accuracy": 0.7,
                                "accuracy_ci": wilson_interval(70, 100),
                                "judged_computer": 0.4, "judged_computer_ci": wilson_interval(40, 100)}]
    assert st["per_participant"]["t"] is None  # one participant: undefined
    assert "per_stimulus" in st and len(st["per_stimulus"]) == 100


def test_per_participant_tests_against_chance() -> None:
    # accuracies 0.6 0.7 0.8 0.9 1.0 over 10 answers each
    df = pd.concat([_answers(c, 0, 0, 10 - c, f"p{c}") for c in (6, 7, 8, 9, 10)])
    pp = turing_statistics(df)["per_participant"]
    assert [p["accuracy"] for p in pp["participants"]] == [1.0, 0.6, 0.7, 0.8, 0.9]  # sorted by id: p10 first
    # mean 0.8, sd sqrt(0.025), t = 0.3 / (sqrt(0.025) / sqrt(5)) = 3 sqrt(2)
    assert pp["t"] == pytest.approx(3 * math.sqrt(2), rel=1e-12) and pp["df"] == 4
    assert pp["t_p_value"] == pytest.approx(2 * student_t.sf(3 * math.sqrt(2), 4), rel=1e-9)
    # all five differences positive and distinct: exact two-sided p = 2 / 2^5
    assert pp["wilcoxon_p_value"] == pytest.approx(2 / 32, rel=1e-12)


def test_exclusions_drop_participants_with_any_failed_check() -> None:
    df = pd.concat([_answers(5, 0, 5, 0, "good"), _answers(0, 5, 0, 5, "bad")])
    attention = pd.DataFrame({"participant": ["good", "bad", "bad"], "passed": [True, "yes", "fail"]})
    st = turing_statistics(df, attention=attention)
    assert st["exclusions"]["participants"] == ["bad"] and st["exclusions"]["n_excluded"] == 1
    assert st["exclusions"]["n_answers_dropped"] == 10
    assert st["accuracy"] == 1.0 and st["n_participants"] == 1
    assert turing_statistics(df)["accuracy"] == 0.5
    with pytest.raises(StudyError, match="passed value 'maybe'"):
        turing_statistics(df, attention=pd.DataFrame({"participant": ["good"], "passed": ["maybe"]}))


def test_preference_statistics_by_hand() -> None:
    n = 10
    df = pd.DataFrame({"participant": [f"p{i % 5}" for i in range(n)],
                       "stimulus_a": [f"x{i}" for i in range(n)], "stimulus_b": [f"y{i}" for i in range(n)],
                       "condition_a": ["lstm", "human"] * 5, "condition_b": ["human", "lstm"] * 5})
    # lstm chosen 8 times of 10: by letter and by stimulus id
    lstm_side = ["a", "b"] * 5
    choice = [lstm_side[i] if i < 8 else ("b" if lstm_side[i] == "a" else "a") for i in range(n)]
    choice[0] = "x0"  # stimulus id of side a (lstm)
    pref = preference_statistics(df.assign(choice=choice))
    (pair,) = pref["pairs"]
    assert (pair["condition_1"], pair["condition_2"], pair["n"], pair["k_1"]) == ("human", "lstm", 10, 2)
    assert pair["share_2"] == 0.8 and pair["share_2_ci"] == wilson_interval(8, 10)
    assert pair["binomial_test"]["p_value"] == pytest.approx(112 / 1024, rel=1e-12)
    no_conditions = df.drop(columns=["condition_a", "condition_b"])
    position = preference_statistics(no_conditions.assign(choice=["a"] * 10))
    assert position["pairs"][0]["share_1"] == 1.0  # condition "a" is the position
    with pytest.raises(StudyError, match="row 2: choice 'c'"):
        preference_statistics(df.assign(choice=["c"] * 10))


def test_rating_statistics_by_hand() -> None:
    # condition B: every participant rates 1; condition A: participant means 2 3 4 5 4.5 (p4 rates 5 and 4)
    rows = [(f"p{i}", "s2", "B", 1) for i in range(5)]
    rows += [("p0", "s1", "A", 2), ("p1", "s1", "A", 3), ("p2", "s1", "A", 4), ("p3", "s1", "A", 5),
             ("p4", "s1", "A", 5), ("p4", "s3", "A", 4)]
    df = pd.DataFrame(rows, columns=["participant", "stimulus", "condition", "rating"])
    res = rating_statistics(df)
    a = next(c for c in res["conditions"] if c["condition"] == "A")
    x = np.array([2, 3, 4, 5, 4.5])
    half = student_t.ppf(0.975, 4) * x.std(ddof=1) / math.sqrt(5)
    assert a["mean"] == pytest.approx(3.7, rel=1e-12) and a["n_participants"] == 5 and a["n_ratings"] == 6
    assert a["mean_rating"] == pytest.approx(23 / 6, rel=1e-12)
    assert a["ci"] == pytest.approx([3.7 - half, 3.7 + half], rel=1e-12)
    assert t_interval([3, 4, 5]) == pytest.approx([4 - student_t.ppf(0.975, 2) / math.sqrt(3),
                                                   4 + student_t.ppf(0.975, 2) / math.sqrt(3)], rel=1e-12)
    (pair,) = res["pairwise"]
    # differences 1, 2, 3, 4, 3.5: all positive and distinct -> W- = 0, exact two-sided p = 2 / 2^5
    assert pair["n_participants"] == 5 and pair["wilcoxon_statistic"] == 0.0
    assert pair["p_value"] == pytest.approx(2 / 32, rel=1e-12)
    assert res["friedman"] is None
    with pytest.raises(StudyError, match=r"row 4: rating 7 is not an integer from 1 to 5"):
        rating_statistics(df.assign(rating=[1, 2, 7] + [1] * 8))


def test_wilcoxon_and_friedman_exact_values() -> None:
    rows = []
    for i in range(4):  # every participant ranks C < B < A: R = (12, 8, 4)
        rows += [(f"p{i}", "s", "A", 5), (f"p{i}", "s", "B", 3), (f"p{i}", "s", "C", 1 + (i % 2))]
    res = rating_statistics(pd.DataFrame(rows, columns=["participant", "stimulus", "condition", "rating"]))
    # chi2 = 12 / (n k (k+1)) * sum R^2 - 3 n (k+1) = 12/48 * 224 - 48 = 8; df 2 -> p = exp(-4)
    assert res["friedman"]["statistic"] == pytest.approx(8.0, rel=1e-12)
    assert res["friedman"]["p_value"] == pytest.approx(math.exp(-4), rel=1e-12)
    pairs = [(p["condition_1"], p["condition_2"]) for p in res["pairwise"]]
    assert pairs == [("A", "B"), ("A", "C"), ("B", "C")]
    assert all(p["p_value_holm"] >= p["p_value"] for p in res["pairwise"])


def test_per_model_and_group_breakdowns_by_hand() -> None:
    # lstm: 4 computer clips, 3 judged computer; gru: 2 computer clips, 0 judged computer; humans have no model
    # ("" from the database export, an empty cell = NaN from a CSV): they are left out of per_model
    df = pd.DataFrame({
        "participant": ["p1"] * 10,
        "stimulus": [f"s{i}" for i in range(10)],
        "truth": ["computer"] * 6 + ["human"] * 4,
        "answer": ["computer", "computer", "computer", "human", "human", "human", "human", "human",
                   "computer", "human"],
        "model": ["lstm"] * 4 + ["gru"] * 2 + ["", " ", float("nan"), ""],
        "group": ["folk", "folk", "jazz", "jazz", "folk", "jazz", "folk", "folk", "jazz", "jazz"],
        "confidence": [5, 5, 5, 1, 1, 2, 4, 4, 2, float("nan")],
    })
    st = turing_statistics(df)
    per_model = {r["model"]: r for r in st["per_model"]}
    assert set(per_model) == {"gru", "lstm"}
    assert (per_model["lstm"]["n"], per_model["lstm"]["accuracy"]) == (4, 0.75)
    assert per_model["lstm"]["accuracy_ci"] == wilson_interval(3, 4)
    assert (per_model["gru"]["accuracy"], per_model["gru"]["judged_computer"]) == (0.0, 0.0)
    # folk: s0 s1 right, s4 wrong, s6 s7 right -> 4/5; jazz: s2 right, s3 s5 wrong, s8 wrong, s9 right -> 2/5
    per_group = {r["group"]: r for r in st["per_group"]}
    assert (per_group["folk"]["accuracy"], per_group["jazz"]["accuracy"]) == (0.8, 0.4)
    assert per_group["jazz"]["judged_computer"] == 0.4  # s2 and s8 of 5
    # stated confidence: 5 -> s0 s1 s2 all right; 1 -> s3 s4 wrong; 2 -> s5 s8 wrong; 4 -> s6 s7 right; s9 none
    assert [(r["confidence"], r["n"], r["accuracy"]) for r in st["per_confidence"]] == [
        ("1", 2, 0.0), ("2", 2, 0.0), ("4", 2, 1.0), ("5", 3, 1.0)]
    assert turing_statistics(df.drop(columns=["model", "confidence"]))["per_model"] is None
    assert turing_statistics(df.drop(columns=["confidence"]))["per_confidence"] is None

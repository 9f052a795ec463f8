"""Statistics of listening studies: Turing-style tests, pairwise preferences and ratings.

Conventions
-----------
- Turing tests: "computer" is the positive class. TP = computer clip judged computer, FP = human clip judged
  computer, TN = human judged human, FN = computer judged human. A "correct" answer is answer == truth.
- Proportions carry a Wilson score interval (Wilson 1927) at the requested confidence, as ``[lo, hi]``.
- Undefined values (a zero denominator, a test with too few observations, constant data) are ``None``
  (JSON ``null``); the interval of an undefined proportion is ``None`` too. Nothing returns NaN.
- Trials of one participant are not independent, so the per-participant accuracies are also tested against
  chance (one-sample t-test and Wilcoxon signed-rank vs 0.5): these are the tests to report.
- Every function returns plain Python types (dict, list, int, float, str, None): ``json.dumps`` works as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from studies.errors import StudyError
from studies.responses import COMPUTER, HUMAN

UNDEFINED_NOTE = ("null = undefined: a zero denominator, too few observations for the test, "
                  "or constant data")


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of a two-class confusion matrix with "computer" as the positive class."""

    tp: int  # computer judged computer
    fp: int  # human judged computer
    tn: int  # human judged human
    fn: int  # computer judged human

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    def as_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num) / float(den)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise StudyError(f"confidence {confidence!r} must lie strictly between 0 and 1, e.g. 0.95")
    return float(sps.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> list[float] | None:
    """Wilson score interval of a proportion k/n (Wilson 1927); ``None`` when n == 0.

    centre = (p + z²/2n) / (1 + z²/n), half width = z / (1 + z²/n) · sqrt(p(1−p)/n + z²/4n²),
    with z the two-sided normal quantile of ``confidence``.
    """
    z = _z(confidence)
    if n == 0:
        return None
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [max(0.0, centre - half), min(1.0, centre + half)]


def binomial_test(k: int, n: int, p: float = 0.5) -> dict[str, Any] | None:
    """Exact two-sided binomial test of k successes in n trials against ``p`` (scipy.stats.binomtest)."""
    if n == 0:
        return None
    res = sps.binomtest(int(k), int(n), p, alternative="two-sided")
    return {"k": int(k), "n": int(n), "null": p, "alternative": "two-sided", "p_value": float(res.pvalue)}


def confusion_matrix(truth: Any, answer: Any) -> ConfusionMatrix:
    """Count TP/FP/TN/FN from two equal-length sequences of "computer"/"human" labels."""
    t = np.asarray(truth, dtype=object)
    a = np.asarray(answer, dtype=object)
    if t.shape != a.shape:
        raise StudyError(f"truth has {t.size} labels but answer has {a.size}; they must pair one to one")
    for name, arr in (("truth", t), ("answer", a)):
        bad = set(arr.tolist()) - {COMPUTER, HUMAN}
        if bad:
            raise StudyError(f"{name} holds {sorted(map(str, bad))}; normalise labels with "
                             "studies.responses.normalize_responses first")
    tc, ac = t == COMPUTER, a == COMPUTER
    return ConfusionMatrix(tp=int(np.sum(tc & ac)), fp=int(np.sum(~tc & ac)),
                           tn=int(np.sum(~tc & ~ac)), fn=int(np.sum(tc & ~ac)))


def classification_rates(cm: ConfusionMatrix, confidence: float = 0.95) -> dict[str, Any]:
    """Precision, recall, specificity, accuracy (each with Wilson CI), F1 and balanced accuracy.

    F1 = 2·P·R / (P + R) (van Rijsbergen 1979), 0.0 when P = R = 0, ``None`` when P or R is undefined.
    Balanced accuracy = (recall + specificity) / 2 (Brodersen et al. 2010). F1 and balanced accuracy are
    not binomial proportions, so they carry no Wilson interval.
    """
    parts = {"precision": (cm.tp, cm.tp + cm.fp), "recall": (cm.tp, cm.tp + cm.fn),
             "specificity": (cm.tn, cm.tn + cm.fp), "accuracy": (cm.tp + cm.tn, cm.n)}
    out: dict[str, Any] = {}
    for name, (k, n) in parts.items():
        out[name] = _ratio(k, n)
        out[f"{name}_ci"] = wilson_interval(k, n, confidence)
    p, r, s = out["precision"], out["recall"], out["specificity"]
    out["f1"] = None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
    out["balanced_accuracy"] = None if r is None or s is None else (r + s) / 2
    return out


def signal_detection(cm: ConfusionMatrix) -> dict[str, Any]:
    """d′ and criterion c (Macmillan & Creelman 2005) with the log-linear correction (Hautus 1995).

    Hit rate H = (TP + 0.5) / (TP + FN + 1) and false-alarm rate F = (FP + 0.5) / (FP + TN + 1), applied to
    every cell so that rates of 0 or 1 stay finite; d′ = z(H) − z(F), c = −(z(H) + z(F)) / 2 with z the
    standard normal quantile. ``None`` when there are no computer or no human trials.
    """
    n_signal, n_noise = cm.tp + cm.fn, cm.fp + cm.tn
    if n_signal == 0 or n_noise == 0:
        return {"d_prime": None, "criterion": None, "hit_rate": None, "false_alarm_rate": None,
                "correction": "log-linear (Hautus 1995)"}
    h = (cm.tp + 0.5) / (n_signal + 1)
    f = (cm.fp + 0.5) / (n_noise + 1)
    zh, zf = float(sps.norm.ppf(h)), float(sps.norm.ppf(f))
    return {"d_prime": zh - zf, "criterion": -(zh + zf) / 2, "hit_rate": h, "false_alarm_rate": f,
            "correction": "log-linear (Hautus 1995): +0.5 to hits and false alarms, +1 to trial counts"}


def fleiss_kappa(counts: Any) -> float | None:
    """Fleiss' kappa (Fleiss 1971) of a subjects × categories matrix of rating counts, equal row sums.

    P_i = (Σ_j n_ij² − n) / (n(n − 1)), P̄ = mean P_i, p_j = Σ_i n_ij / (N n), P_e = Σ_j p_j²,
    κ = (P̄ − P_e) / (1 − P_e). ``None`` with fewer than one subject, n < 2, or P_e = 1.
    """
    m = np.asarray(counts, dtype=float)
    if m.ndim != 2 or m.shape[0] == 0:
        return None
    n_raters = m.sum(axis=1)
    if not np.all(n_raters == n_raters[0]):
        raise StudyError("fleiss_kappa needs the same number of ratings for every subject")
    n = n_raters[0]
    if n < 2:
        return None
    p_i = ((m * m).sum(axis=1) - n) / (n * (n - 1))
    p_j = m.sum(axis=0) / m.sum()
    p_e = float(np.sum(p_j * p_j))
    if math.isclose(p_e, 1.0):
        return None
    return (float(p_i.mean()) - p_e) / (1.0 - p_e)


def _kappa_of_answers(df: pd.DataFrame) -> dict[str, Any]:
    """Fleiss' kappa of the answers, restricted to stimuli rated by the modal number of raters (≥ 2)."""
    counts = pd.crosstab(df["stimulus"], df["answer"]).reindex(columns=[COMPUTER, HUMAN], fill_value=0)
    per = counts.sum(axis=1)
    rated = per[per >= 2]
    method = ("Fleiss 1971 over stimuli rated by the modal number of raters (>= 2; ties -> the larger "
              "count); other stimuli dropped")
    if rated.empty:
        return {"kappa": None, "n_stimuli": 0, "n_raters": None, "n_stimuli_dropped": int(len(per)),
                "method": method}
    modes = rated.value_counts()
    n_raters = int(max(modes[modes == modes.max()].index))
    keep = counts[per == n_raters]
    return {"kappa": fleiss_kappa(keep.to_numpy()), "n_stimuli": int(len(keep)), "n_raters": n_raters,
            "n_stimuli_dropped": int(len(per) - len(keep)), "method": method}


def _parse_passed(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    key = str(value).strip().lower()
    if key in {"true", "1", "1.0", "yes", "pass", "passed"}:
        return True
    if key in {"false", "0", "0.0", "no", "fail", "failed"}:
        return False
    raise StudyError(f"attention checks: passed value {value!r} is not true/false (use true/false, 1/0, "
                     "yes/no or pass/fail)")


def apply_exclusions(df: pd.DataFrame, attention: pd.DataFrame | None) -> tuple[pd.DataFrame, dict]:
    """Drop every participant with at least one failed attention check; report who and how many.

    ``attention`` has columns participant, passed (one row per check). Participants without any check are
    kept.
    """
    rule = "drop participants who failed any attention check"
    if attention is None:
        return df, {"rule": "no attention checks supplied", "n_excluded": 0, "participants": [],
                    "n_answers_dropped": 0}
    cols = [str(c).strip().lower() for c in attention.columns]
    att = attention.set_axis(cols, axis=1)
    missing = [c for c in ("participant", "passed") if c not in cols]
    if missing:
        raise StudyError(f"attention checks: missing column(s) {', '.join(missing)}; "
                         "expected participant, passed")
    passed = att["passed"].map(_parse_passed)
    failed = sorted(set(att.loc[~passed, "participant"].astype(str).str.strip()))
    drop = df["participant"].isin(failed)
    return df.loc[~drop].reset_index(drop=True), {
        "rule": rule, "n_excluded": len(failed), "participants": failed,
        "n_answers_dropped": int(drop.sum())}


def _one_sample_vs_half(values: np.ndarray) -> dict[str, Any]:
    """One-sample t-test and Wilcoxon signed-rank (zero differences dropped) of values against 0.5."""
    out: dict[str, Any] = {"t": None, "df": None, "t_p_value": None, "wilcoxon_statistic": None,
                           "wilcoxon_p_value": None, "wilcoxon_n_nonzero": int(np.sum(values != 0.5))}
    if len(values) >= 2 and np.std(values) > 0:
        t = sps.ttest_1samp(values, 0.5)
        out.update(t=float(t.statistic), df=int(len(values) - 1), t_p_value=float(t.pvalue))
    if out["wilcoxon_n_nonzero"] >= 1:
        w = sps.wilcoxon(values - 0.5, zero_method="wilcox", alternative="two-sided")
        out.update(wilcoxon_statistic=float(w.statistic), wilcoxon_p_value=float(w.pvalue))
    return out


def _breakdown(df: pd.DataFrame, column: str, confidence: float) -> list[dict[str, Any]] | None:
    """Accuracy and share judged computer (Wilson CIs) for each level of ``column``; None if absent.

    Rows whose level is missing or empty are left out (e.g. ``model`` of human clips: "" in an export,
    an empty cell in a CSV), so the breakdown is the same from the database and from its CSV.
    """
    if column not in df.columns:
        return None
    levels = df[column].astype("string").str.strip().replace("", pd.NA)
    rows = []
    for level, g in df.groupby(levels, sort=True, dropna=True):
        n, correct = len(g), int((g["truth"] == g["answer"]).sum())
        said = int((g["answer"] == COMPUTER).sum())
        row: dict[str, Any] = {column: str(level), "n": n}
        if column == "stimulus":
            row["truth"] = str(g["truth"].iloc[0])
        row.update(accuracy=correct / n, accuracy_ci=wilson_interval(correct, n, confidence),
                   judged_computer=said / n, judged_computer_ci=wilson_interval(said, n, confidence))
        rows.append(row)
    return rows


def turing_statistics(df: pd.DataFrame, *, confidence: float = 0.95,
                      attention: pd.DataFrame | None = None) -> dict[str, Any]:
    """All statistics of a Turing-style test from normalised responses (see module docstring).

    Parameters
    ----------
    df : output of :func:`studies.responses.normalize_responses`.
    confidence : level of every interval, in (0, 1).
    attention : optional table participant, passed; see :func:`apply_exclusions`.
    """
    _z(confidence)
    kept, exclusions = apply_exclusions(df, attention)
    cm = confusion_matrix(kept["truth"], kept["answer"])
    out: dict[str, Any] = {"n_answers": cm.n, "n_participants": int(kept["participant"].nunique()),
                           "confidence": confidence, "confusion_matrix": cm.as_dict()}
    out.update(classification_rates(cm, confidence))
    out["binomial_test"] = binomial_test(cm.tp + cm.tn, cm.n)
    out.update(signal_detection(cm))
    correct = (kept["truth"] == kept["answer"]).astype(float)
    acc = correct.groupby(kept["participant"], sort=True).agg(["mean", "size"])
    values = acc["mean"].to_numpy()
    out["per_participant"] = {
        "participants": [{"participant": str(p), "n": int(r["size"]), "accuracy": float(r["mean"])}
                         for p, r in acc.iterrows()],
        "mean_accuracy": float(values.mean()) if len(values) else None,
        "sd_accuracy": float(values.std(ddof=1)) if len(values) >= 2 else None,
        **_one_sample_vs_half(values)}
    for col in ("stimulus", "group", "model"):
        out[f"per_{col}"] = _breakdown(kept, col, confidence)
    if "confidence" in kept.columns:  # accuracy per stated confidence (1-5), e.g. "3" (not the CI level)
        stated = pd.to_numeric(kept["confidence"], errors="coerce")
        levels = stated.map(lambda v: None if pd.isna(v) else f"{v:g}")
        out["per_confidence"] = _breakdown(kept.assign(confidence=levels), "confidence", confidence)
    else:
        out["per_confidence"] = None
    out["fleiss_kappa"] = _kappa_of_answers(kept)
    out["exclusions"] = exclusions
    out["notes"] = {"undefined": UNDEFINED_NOTE, "positive_class": "computer",
                    "intervals": f"Wilson score intervals at {confidence:g}"}
    return _plain(out)


def _plain(obj: Any) -> Any:
    """Turn numpy scalars into Python ones and NaN/inf into None, recursively."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _need(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> pd.DataFrame:
    out = df.set_axis([str(c).strip().lower() for c in df.columns], axis=1)
    missing = [c for c in cols if c not in out.columns]
    if missing:
        raise StudyError(f"{what}: missing column(s) {', '.join(missing)}; expected {', '.join(cols)}")
    return out.reset_index(drop=True)


def preference_statistics(df: pd.DataFrame, *, confidence: float = 0.95) -> dict[str, Any]:
    """Pairwise preference (2AFC): share preferring each condition, Wilson CI, exact binomial vs 0.5.

    Rows: participant, stimulus_a, stimulus_b, choice [, condition_a, condition_b]. ``choice`` is "a"/"b"
    or the chosen stimulus id. Without condition columns the conditions are the positions "a" and "b",
    which tests for a position bias. Trials comparing a condition with itself are skipped.
    """
    d = _need(df, ("participant", "stimulus_a", "stimulus_b", "choice"), "preference responses")
    if "condition_a" not in d.columns or "condition_b" not in d.columns:
        d = d.assign(condition_a="a", condition_b="b")
    winners = []
    for i, r in d.iterrows():
        c = str(r["choice"]).strip()
        if c.lower() == "a" or c == str(r["stimulus_a"]):
            winners.append(str(r["condition_a"]))
        elif c.lower() == "b" or c == str(r["stimulus_b"]):
            winners.append(str(r["condition_b"]))
        else:
            raise StudyError(f"preference responses, row {i + 2}: choice {r['choice']!r} is neither 'a', "
                             f"'b', {r['stimulus_a']!r} nor {r['stimulus_b']!r}")
    d["winner"] = winners
    d["pair"] = [tuple(sorted((str(a), str(b)))) for a, b in zip(d["condition_a"], d["condition_b"],
                                                                   strict=True)]
    pairs = []
    for (c1, c2), g in d[d["condition_a"].astype(str) != d["condition_b"].astype(str)].groupby("pair"):
        n, k = len(g), int((g["winner"] == c1).sum())
        pairs.append({"condition_1": c1, "condition_2": c2, "n": n, "n_participants":
                      int(g["participant"].nunique()), "k_1": k, "share_1": k / n,
                      "share_1_ci": wilson_interval(k, n, confidence), "share_2": (n - k) / n,
                      "share_2_ci": wilson_interval(n - k, n, confidence),
                      "binomial_test": binomial_test(k, n)})
    return _plain({"n_trials": int(len(d)), "n_participants": int(d["participant"].nunique()),
                   "confidence": confidence, "pairs": pairs, "notes": {"undefined": UNDEFINED_NOTE}})


def t_interval(values: Any, confidence: float = 0.95) -> list[float] | None:
    """Student-t interval of a mean: mean ± t_{(1+c)/2, n−1} · s / √n; ``None`` when n < 2."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None
    half = float(sps.t.ppf(1 - (1 - confidence) / 2, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return [float(x.mean()) - half, float(x.mean()) + half]


def _holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm (1979) step-down adjustment; ``None`` entries are left out and stay ``None``."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[i]))
        out[i] = running
    return out


def rating_statistics(df: pd.DataFrame, *, confidence: float = 0.95, scale: tuple[int, int] = (1, 5)
                      ) -> dict[str, Any]:
    """Ratings per condition: means with t-intervals, Wilcoxon signed-rank per pair, Friedman for ≥ 3.

    Rows: participant, stimulus, condition, rating (integers in ``scale``). Ratings are first averaged per
    participant and condition (the participant is the independent unit). Per condition: mean of all
    ratings, and mean with Student-t interval over participant means. Every pair of conditions: Wilcoxon
    signed-rank (Wilcoxon 1945, zero differences dropped) on participants who rated both, Holm-adjusted.
    With ≥ 3 conditions: Friedman (1937) test over participants who rated all of them.
    """
    d = _need(df, ("participant", "stimulus", "condition", "rating"), "rating responses")
    r = pd.to_numeric(d["rating"], errors="coerce")
    bad = r.isna() | (r < scale[0]) | (r > scale[1]) | (r != r.round())
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise StudyError(f"rating responses, row {i + 2}: rating {d['rating'].tolist()[i]!r} is not an "
                         f"integer from {scale[0]} to {scale[1]}")
    d = d.assign(rating=r.astype(float), participant=d["participant"].astype(str),
                 condition=d["condition"].astype(str))
    means = d.pivot_table(index="participant", columns="condition", values="rating", aggfunc="mean")
    conditions = []
    for c in means.columns:
        pm = means[c].dropna().to_numpy()
        raw = d.loc[d["condition"] == c, "rating"]
        conditions.append({"condition": c, "n_ratings": int(len(raw)), "mean_rating": float(raw.mean()),
                           "n_participants": int(len(pm)), "mean": float(pm.mean()),
                           "sd": float(pm.std(ddof=1)) if len(pm) >= 2 else None,
                           "ci": t_interval(pm, confidence)})
    pairs = []
    for c1, c2 in combinations(means.columns, 2):
        both = means[[c1, c2]].dropna()
        diff = (both[c1] - both[c2]).to_numpy()
        res: dict[str, Any] = {"condition_1": c1, "condition_2": c2, "n_participants": int(len(both)),
                               "median_difference": float(np.median(diff)) if len(diff) else None,
                               "wilcoxon_statistic": None, "p_value": None}
        if np.any(diff != 0):
            w = sps.wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
            res.update(wilcoxon_statistic=float(w.statistic), p_value=float(w.pvalue))
        pairs.append(res)
    for pr, adj in zip(pairs, _holm([p["p_value"] for p in pairs]), strict=True):
        pr["p_value_holm"] = adj
    friedman = None
    if len(means.columns) >= 3:
        full = means.dropna()
        friedman = {"n_participants": int(len(full)), "k": int(len(means.columns)),
                    "statistic": None, "p_value": None}
        if len(full) >= 2:
            f = sps.friedmanchisquare(*[full[c].to_numpy() for c in means.columns])
            friedman.update(statistic=float(f.statistic), p_value=float(f.pvalue))
    return _plain({"n_ratings": int(len(d)), "n_participants": int(d["participant"].nunique()),
                   "confidence": confidence, "conditions": conditions, "pairwise": pairs,
                   "friedman": friedman, "notes": {"undefined": UNDEFINED_NOTE}})

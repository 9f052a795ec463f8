"""A study's stored answers as DataFrames in the formats of :mod:`studies.stats`, and the one function that
computes a study's statistics (:func:`study_statistics`, used by ``python -m studies report`` and the app's
results page alike).

Only main trials are exported: practice trials and attention checks are left out (the checks have their
own table, :func:`attention_frame`). Participants appear under their opaque server id, never their
external (e.g. Prolific) id; :func:`participants_frame` links the two for payments.

Quality flags of every answer row: ``too_fast`` (answered sooner after the server showed the trial than
the trial's clips last, minus :data:`studies.engine.PLAYBACK_TOLERANCE_SECONDS`: the clip cannot have been
heard to the end; possible only in studies that do not require full playback, since those that do refuse
such answers) and ``complete`` (the participant answered every trial and got a completion code; False marks
a partial session).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from studies import stats, storage
from studies.engine import PLAYBACK_TOLERANCE_SECONDS, Db, get_engine, study_row, trial_seconds
from studies.errors import StudyError
from studies.spec import spec_from_stored

QUALITY_COLUMNS = ["too_fast", "complete"]
TURING_COLUMNS = ["participant", "stimulus", "truth", "answer", "group", "model", "confidence", "response_ms",
                  *QUALITY_COLUMNS]
PREFERENCE_COLUMNS = ["participant", "stimulus_a", "stimulus_b", "condition_a", "condition_b", "choice",
                      "group_a", "group_b", "model_a", "model_b", "response_ms", *QUALITY_COLUMNS]
RATING_COLUMNS = ["participant", "stimulus", "condition", "rating", "truth", "group", "model", "response_ms",
                  *QUALITY_COLUMNS]
ATTENTION_COLUMNS = ["participant", "position", "expected", "answer", "passed"]
PARTICIPANT_COLUMNS = ["participant", "external_id", "consented", "started", "completed", "completion_code",
                       "answers", "too_fast_answers"]


def too_fast(response_ms: int | None, seconds: float) -> bool:
    """True when an answer came sooner than ``seconds`` of clips minus the playback tolerance (unknown
    response times are not flagged)."""
    return response_ms is not None and response_ms < 1000.0 * (seconds - PLAYBACK_TOLERANCE_SECONDS)


def _quality(r: dict[str, Any], a: dict[str, Any], b: Any) -> dict[str, bool]:
    lengths = {"a_samples": a["n_samples"], "a_rate": a["sample_rate"],
               "b_samples": None if b is None else b["n_samples"], "b_rate": None if b is None else b["sample_rate"]}
    return {"too_fast": too_fast(r["response_ms"], trial_seconds(lengths)), "complete": r["completed"] is not None}


def _row(test_type: str, r: dict[str, Any], a: dict[str, Any], b: Any) -> dict[str, Any]:
    """One exported row from an answer row ``r`` and its stimulus rows ``a`` (and ``b``, for pairs only)."""
    return {**_row_values(test_type, r, a, b), **_quality(r, a, b)}


def _row_values(test_type: str, r: dict[str, Any], a: dict[str, Any], b: Any) -> dict[str, Any]:
    if test_type == "ab-preference":
        return {"participant": r["participant_id"], "stimulus_a": a["id"], "stimulus_b": b["id"],
                "condition_a": a["kind"], "condition_b": b["kind"], "choice": r["answer"].lower(),
                "group_a": a["group_name"], "group_b": b["group_name"], "model_a": a["model"],
                "model_b": b["model"], "response_ms": r["response_ms"]}
    common = {"participant": r["participant_id"], "stimulus": a["id"], "truth": a["kind"],
              "group": a["group_name"], "model": a["model"], "response_ms": r["response_ms"]}
    if test_type == "rating":
        return {**common, "condition": a["model"] or a["kind"], "rating": int(r["answer"])}
    return {**common, "answer": r["answer"], "confidence": r["confidence"]}


def responses_frame(code: str, db: Db = None, *, completed_only: bool = False) -> pd.DataFrame:
    """Main-trial answers (no practice, no attention checks) in the format of :mod:`studies.stats`.

    turing: participant, stimulus, truth, answer, group, model, confidence, response_ms.
    ab-preference: participant, stimulus_a, stimulus_b, condition_a, condition_b (kinds), choice (a/b),
    group_a, group_b, model_a, model_b, response_ms. rating: participant, stimulus, condition (model,
    or "human"), rating, truth, group, model, response_ms. Every type ends with the quality flags
    ``too_fast`` and ``complete`` (module docstring); ``completed_only`` keeps the answers of participants
    who completed the study. ``response_ms`` is measured on the server clock.
    """
    engine = get_engine(db)
    study = study_row(code, db)
    test_type = spec_from_stored(study["spec"]).test_type
    stim = {r["id"]: r for r in storage.study_stimuli(engine, study["id"])}
    rows = [_row(test_type, r, stim[r["clip_a"]], stim.get(r["clip_b"]))
            for r in storage.answer_rows(engine, study["id"])
            if not (r["is_attention_check"] or r["is_practice"])]
    columns = {"turing": TURING_COLUMNS, "ab-preference": PREFERENCE_COLUMNS,
               "rating": RATING_COLUMNS}[test_type]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("confidence", "response_ms"):
        if col in df.columns:
            df[col] = df[col].astype("Int64")
    for col in QUALITY_COLUMNS:
        df[col] = df[col].astype(bool)
    if completed_only:
        df = df[df["complete"]].reset_index(drop=True)
    return df


def attention_frame(code: str, db: Db = None) -> pd.DataFrame:
    """Attention-check results: participant, position, expected, answer, passed."""
    rows = storage.attention_rows(get_engine(db), study_row(code, db)["id"])
    return pd.DataFrame([{"participant": r["participant_id"], "position": r["position"],
                          "expected": r["expected"], "answer": r["answer"], "passed": bool(r["passed"])}
                         for r in rows], columns=ATTENTION_COLUMNS)


def participants_frame(code: str, db: Db = None) -> pd.DataFrame:
    """One row per participant: the opaque id used in the responses, the external id (e.g. PROLIFIC_PID, to
    approve payments), when they consented, started and completed (UTC; completed empty = a partial session),
    the completion code handed out, answers stored (every trial, practice and checks included) and how many
    of them were too fast (module docstring)."""
    engine = get_engine(db)
    study = study_row(code, db)
    stim = {r["id"]: r for r in storage.study_stimuli(engine, study["id"])}
    answered: dict[str, int] = {}
    fast: dict[str, int] = {}
    for row in storage.answer_rows(engine, study["id"]):
        pid = row["participant_id"]
        answered[pid] = answered.get(pid, 0) + 1
        fast[pid] = fast.get(pid, 0) + _quality(row, stim[row["clip_a"]], stim.get(row["clip_b"]))["too_fast"]
    rows = [{"participant": p["id"], "external_id": p["external_id"], "consented": p["consented"],
             "started": p["started"], "completed": p["completed"], "completion_code": p["completion_code"],
             "answers": answered.get(p["id"], 0), "too_fast_answers": fast.get(p["id"], 0)}
            for p in storage.study_participants(engine, study["id"])]
    return pd.DataFrame(rows, columns=PARTICIPANT_COLUMNS)


def study_statistics(code: str, db: Db = None, *, confidence: float = 0.95, exclude_failed_checks: bool = True,
                     completed_only: bool = False, drop_too_fast: bool = False) -> dict[str, Any]:
    """The statistics of a study straight from the database: the one path of ``studies report`` and the
    app's results page.

    Turing tests: :func:`studies.stats.turing_statistics`; ab-preference:
    :func:`studies.stats.preference_statistics`; rating: :func:`studies.stats.rating_statistics`. With
    ``exclude_failed_checks`` every participant who failed an attention check is left out
    (:func:`studies.stats.apply_exclusions`); ``completed_only`` keeps only participants who completed the
    study; ``drop_too_fast`` leaves out answers given before their clips could have been heard.

    Returns the statistics dict with ``exclusions`` (who was left out and the rule), ``test_type`` and
    ``quality``: participants started / completed / partial, too-fast answers, and which filters were used.
    Raises StudyError when no answer is left.
    """
    engine = get_engine(db)
    study = study_row(code, db)
    test_type = spec_from_stored(study["spec"]).test_type
    every = responses_frame(code, engine)
    frame = every[every["complete"]] if completed_only else every
    if drop_too_fast:
        frame = frame[~frame["too_fast"]]
    frame = frame.reset_index(drop=True)
    if frame.empty:
        raise StudyError(f"study {code} has no answers to analyse"
                         f"{' (after the filters chosen)' if len(every) else ' yet'}")
    attention = attention_frame(code, engine)
    use_checks = exclude_failed_checks and not attention.empty
    if test_type == "turing":
        from studies.responses import normalize_responses

        result = stats.turing_statistics(normalize_responses(frame, source=f"study {code}"), confidence=confidence,
                                         attention=attention if use_checks else None)
    else:
        kept, exclusions = stats.apply_exclusions(frame, attention if use_checks else None)
        if kept.empty:
            raise StudyError(f"study {code}: every participant with answers failed an attention check")
        result = (stats.preference_statistics(kept, confidence=confidence) if test_type == "ab-preference"
                  else stats.rating_statistics(kept, confidence=confidence))
        result["exclusions"] = exclusions
    people = storage.study_participants(engine, study["id"])
    n_done = sum(p["completed"] is not None for p in people)
    result["test_type"] = test_type
    result["quality"] = {
        "participants_started": len(people), "participants_completed": n_done,
        "participants_partial": len(people) - n_done,
        "too_fast_answers": int(every["too_fast"].sum()),
        "too_fast_rule": "answered sooner after the trial was shown than its clips last, minus "
                         f"{PLAYBACK_TOLERANCE_SECONDS:g} s (server clock)",
        "completed_only": completed_only, "drop_too_fast": drop_too_fast,
        "exclude_failed_checks": exclude_failed_checks,
    }
    return result

"""A study's stored answers as DataFrames in the formats of :mod:`studies.stats` (``export``, ``report``).

Only main trials are exported: practice trials and attention checks are left out (the checks have their
own table, :func:`attention_frame`). Participants appear under their opaque server id, never their
external (e.g. Prolific) id. ``studies.engine`` re-exports both functions and :data:`TURING_COLUMNS`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from studies import storage
from studies.engine import Db, get_engine, study_row
from studies.spec import spec_from_stored

TURING_COLUMNS = ["participant", "stimulus", "truth", "answer", "group", "model", "confidence", "response_ms"]
PREFERENCE_COLUMNS = ["participant", "stimulus_a", "stimulus_b", "condition_a", "condition_b", "choice",
                      "group_a", "group_b", "model_a", "model_b", "response_ms"]
RATING_COLUMNS = ["participant", "stimulus", "condition", "rating", "truth", "group", "model", "response_ms"]
ATTENTION_COLUMNS = ["participant", "position", "expected", "answer", "passed"]
PARTICIPANT_COLUMNS = ["participant", "external_id", "started", "completed", "completion_code", "answers"]


def _row(test_type: str, r: dict[str, Any], a: dict[str, Any], b: Any) -> dict[str, Any]:
    """One exported row from an answer row ``r`` and its stimulus rows ``a`` (and ``b``, for pairs only)."""
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


def responses_frame(code: str, db: Db = None) -> pd.DataFrame:
    """Main-trial answers (no practice, no attention checks) in the format of :mod:`studies.stats`.

    turing: participant, stimulus, truth, answer, group, model, confidence, response_ms.
    ab-preference: participant, stimulus_a, stimulus_b, condition_a, condition_b (kinds), choice (a/b),
    group_a, group_b, model_a, model_b, response_ms. rating: participant, stimulus, condition (model,
    or "human"), rating, truth, group, model, response_ms.
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
    return df


def attention_frame(code: str, db: Db = None) -> pd.DataFrame:
    """Attention-check results: participant, position, expected, answer, passed."""
    rows = storage.attention_rows(get_engine(db), study_row(code, db)["id"])
    return pd.DataFrame([{"participant": r["participant_id"], "position": r["position"],
                          "expected": r["expected"], "answer": r["answer"], "passed": bool(r["passed"])}
                         for r in rows], columns=ATTENTION_COLUMNS)


def participants_frame(code: str, db: Db = None) -> pd.DataFrame:
    """One row per participant: the opaque id used in the responses, the external id (e.g. PROLIFIC_PID, to
    approve payments), start and completion times (UTC), the completion code handed out, and answers stored."""
    engine = get_engine(db)
    study = study_row(code, db)
    answered: dict[str, int] = {}
    for row in storage.answer_rows(engine, study["id"]):
        answered[row["participant_id"]] = answered.get(row["participant_id"], 0) + 1
    rows = [{"participant": p["id"], "external_id": p["external_id"], "started": p["started"],
             "completed": p["completed"], "completion_code": p["completion_code"],
             "answers": answered.get(p["id"], 0)}
            for p in storage.study_participants(engine, study["id"])]
    return pd.DataFrame(rows, columns=PARTICIPANT_COLUMNS)

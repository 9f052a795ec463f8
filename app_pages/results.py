"""Results (researcher): confusion matrix, metrics with CIs and the binomial test, per-model / per-group
accuracy, per-participant table, CSV/JSON export. Statistics: :func:`studies.results.study_statistics`, the
same function ``python -m studies report`` uses (attention-check exclusions, completed-only and too-fast
filters); figures: :func:`studies.report.figures` (the same ones as the HTML report). Every CSV download is
formula-escaped (:mod:`tunelab.csv_safe`)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app_pages.common import db, require_admin
from studies import engine
from studies.errors import StudyError
from studies.report import quality_text
from studies.results import attention_frame, participants_frame, responses_frame, study_statistics
from tunelab.csv_safe import csv_text


def _filters(code: str) -> dict[str, bool]:
    """The analysis filters (the options of ``python -m studies report``)."""
    attention = attention_frame(code, db())
    c1, c2, c3 = st.columns(3)
    return {
        "exclude_failed_checks": c1.checkbox("Exclude participants who failed an attention check",
                                             value=not attention.empty, disabled=attention.empty, key="tl_exclude"),
        "completed_only": c2.checkbox("Only participants who completed the study", value=False,
                                      key="tl_completed_only"),
        "drop_too_fast": c3.checkbox("Leave out answers given before the clip could have been heard",
                                     value=False, key="tl_drop_fast"),
    }


def _statistics(code: str, filters: dict[str, bool]) -> dict | None:
    try:
        stats = study_statistics(code, db(), **filters)
    except StudyError as exc:
        st.error(str(exc))
        return None
    st.caption(quality_text(stats))
    quality = stats["quality"]
    if quality["too_fast_answers"]:
        st.warning(f"{quality['too_fast_answers']} answers came before their clip could have been heard to the "
                   "end (flagged `too_fast` in responses.csv).")
    return stats


def _turing(code: str, filters: dict[str, bool]) -> None:
    from studies.report import figures, metrics_table

    stats = _statistics(code, filters)
    if stats is None:
        return
    figs = figures(stats)
    c1, c2, c3, c4 = st.columns(4)
    acc_ci = stats.get("accuracy_ci") or [None, None]
    c1.metric("Accuracy", "n/a" if stats.get("accuracy") is None else f"{stats['accuracy']:.3f}",
              help=None if acc_ci[0] is None else f"95% Wilson CI [{acc_ci[0]:.3f}, {acc_ci[1]:.3f}]")
    bt = stats.get("binomial_test") or {}
    c2.metric("Binomial p (vs 0.5)", "n/a" if bt.get("p_value") is None else f"{bt['p_value']:.4g}")
    c3.metric("d′", "n/a" if stats.get("d_prime") is None else f"{stats['d_prime']:.2f}")
    c4.metric("Answers / participants", f"{stats['n_answers']} / {stats['n_participants']}")
    st.subheader("Confusion matrix")
    st.caption("Rows: truth; columns: what participants answered. \"computer\" is the positive class.")
    st.plotly_chart(figs["confusion_matrix"], width="stretch", key="tl_fig_cm")
    st.subheader("Metrics with confidence intervals")
    table = metrics_table(stats)
    st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 3)  # every row visible
    st.caption("CIs: 95% Wilson score intervals; binomial: exact two-sided test of accuracy against 0.5.")
    if stats.get("per_model"):
        st.plotly_chart(figs["per_model"], width="stretch", key="tl_fig_model")
    if stats.get("per_group"):
        st.plotly_chart(figs["per_group"], width="stretch", key="tl_fig_group")
    st.subheader("Per participant")
    participants = pd.DataFrame((stats.get("per_participant") or {}).get("participants", []))
    people = participants_frame(code, db())
    if not participants.empty:
        participants = participants.merge(people[["participant", "external_id", "completion_code"]],
                                          on="participant", how="left")
    st.dataframe(participants, hide_index=True, width="stretch")
    st.download_button("Download participants.csv (external ids and completion codes, for payments)",
                       csv_text(people).encode("utf-8"),
                       file_name=f"{code}_participants.csv", mime="text/csv", key="tl_dl_participants")
    st.plotly_chart(figs["per_participant"], width="stretch", key="tl_fig_pp")
    ex = stats.get("exclusions") or {}
    st.caption(f"Excluded participants: {ex.get('n_excluded', 0)} (rule: {ex.get('rule', '')}).")
    st.download_button("Download stats.json", json.dumps(stats, indent=2), file_name=f"{code}_stats.json",
                       mime="application/json", key="tl_dl_stats")


def _other(code: str, filters: dict[str, bool]) -> None:
    stats = _statistics(code, filters)
    if stats is None:
        return
    ex = stats.get("exclusions") or {}
    st.caption(f"Excluded participants: {ex.get('n_excluded', 0)} (rule: {ex.get('rule', '')}).")
    st.json(stats, expanded=1)
    st.download_button("Download stats.json", json.dumps(stats, indent=2), file_name=f"{code}_stats.json",
                       mime="application/json", key="tl_dl_stats")


def main() -> None:
    require_admin()
    st.title("Results")
    rows = engine.list_studies(db())
    if not rows:
        st.info("No studies yet: create one on the Studies page.")
        return
    codes = [r["code"] for r in rows]
    labels = {r["code"]: f"{r['code']} – {r['title']}" for r in rows}
    code = st.selectbox("Study", codes, index=len(codes) - 1, format_func=labels.get, key="tl_results_code")
    counts = engine.progress(code, db())
    st.caption(f"{counts['started']} participants started, {counts['completed']} completed, "
               f"{counts['answers']} answers stored.")
    info = engine.study_info(code, db())
    filters = _filters(code)
    frame = responses_frame(code, db(), completed_only=filters["completed_only"])
    st.download_button("Download responses.csv", csv_text(frame).encode("utf-8"),
                       file_name=f"{code}_responses.csv", mime="text/csv", key="tl_dl_csv",
                       disabled=frame.empty)
    if frame.empty:
        st.info("No answers yet (practice trials and attention checks are not counted here).")
        return
    if info["test_type"] == "turing":
        _turing(code, filters)
    else:
        _other(code, filters)


main()

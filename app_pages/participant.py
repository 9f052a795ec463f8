"""Participant page (no login): consent → instructions → trials → completion code.

Link: ``/?study=CODE&PROLIFIC_PID=ID`` (``pid=ID`` works too; without an id the page asks for one).
After "I agree" the page adds ``consent=yes`` to the URL, so a reload goes straight back to the first
unanswered trial (the database, not the browser, knows where the participant is). Every answer is
committed by :func:`studies.engine.submit_answer` before the next trial is shown. The page shows only
what :class:`studies.engine.TrialView` carries (position, total, prompt, options); the audio reaches the
browser as inline bytes of the blind player, so no set, model or file name is in the page or a URL.
"""

from __future__ import annotations

import time

import streamlit as st

from app_pages.common import db, db_url
from app_pages.components.player import blind_player
from studies import engine
from studies.errors import StudyError

OPTION_LABELS = {"human": "Human", "computer": "Computer"}


@st.cache_data(max_entries=512, show_spinner=False)
def _clip(clip_id: str, url_key: str | None) -> tuple[bytes, str]:
    """Audio bytes and MIME type of a clip (keyed by opaque id and database URL only)."""
    return engine.clip_bytes(clip_id, db()), engine.clip_mime_type(clip_id, db())


def _participant_id_from_link() -> str:
    params = st.query_params
    return (params.get("PROLIFIC_PID") or params.get("pid") or st.session_state.get("tl_typed_pid") or "").strip()


def _ask_for_id() -> None:
    st.write("Please enter the participant id you were given (for example your Prolific id).")
    with st.form("tl_pid_form"):
        typed = st.text_input("Participant id", key="tl_pid_input", max_chars=200)
        if st.form_submit_button("Continue") and typed.strip():
            st.session_state["tl_typed_pid"] = typed.strip()
            st.query_params["pid"] = typed.strip()
            st.rerun()


def _consent(info: dict) -> None:
    if info["status"] != "open":
        st.warning("This study no longer takes new participants. If you had already started it, you can "
                   "continue where you left off.")
    st.subheader("Consent")
    st.markdown(info["consent"])
    agreed = st.checkbox("I have read the above and agree to take part.", key="tl_consent_box")
    if st.button("Start", key="tl_consent_go", type="primary", disabled=not agreed):
        st.query_params["consent"] = "yes"
        st.rerun()


def _instructions(info: dict, session_key: str) -> None:
    st.subheader("Instructions")
    st.markdown(info["instructions"] or "Listen to each clip, then answer the question below it.")
    notes = [f"There are **{info['total_trials']} trials**."]
    if info["practice_trials"]:
        notes.append(f"The first {info['practice_trials']} are practice and are not scored.")
    if info["require_full_playback"]:
        notes.append("The answer buttons unlock once a clip has played to the end.")
    notes.append("Your answers are saved one by one: if the page reloads you continue where you were.")
    st.markdown(" ".join(notes))
    if st.button("Begin", key="tl_begin", type="primary"):
        st.session_state[session_key] = True
        st.rerun()


def _session(code: str, external_id: str) -> engine.ParticipantSession | None:
    key = f"tl_session::{code}::{external_id}"
    if key not in st.session_state:
        try:
            st.session_state[key] = engine.start_or_resume(code, external_id, db())
        except StudyError as exc:
            st.error(str(exc))
            return None
    return st.session_state[key]


def _on_log_change() -> None:
    """Player callback: nothing to do, the rerun reads the new log."""


def _player_log(key: str) -> dict:
    """The blind player's last reported log under its widget key (``{"ended": bool, "events": [...]}``)."""
    state = st.session_state.get(key) or {}
    log = state.get("log") if isinstance(state, dict) else getattr(state, "log", None)
    log = log or {}
    return {"ended": bool(log.get("ended", False)), "events": list(log.get("events", []))}


def _submit(participant_id: str, position: int, option: str, n_clips: int, require_full: bool) -> None:
    """Answer-button callback: runs before the script reruns, so the rerun already shows the next trial.

    The playback rule is checked here too (not only by disabling the buttons), and the answer is committed
    by the engine before this returns.
    """
    logs = [_player_log(f"tl-player-{position}-{i}") for i in range(n_clips)]
    if require_full and not all(log["ended"] for log in logs):
        st.session_state["tl_flash"] = "Please play the clip to the end before answering."
        return
    events = [{**e, "clip": "AB"[i] if n_clips > 1 else "A"} for i, log in enumerate(logs) for e in log["events"]]
    shown = st.session_state.get("tl_shown", {}).get((participant_id, position))
    response_ms = None if shown is None else int(1000 * (time.monotonic() - shown))
    try:
        engine.submit_answer(participant_id, position, option, confidence=st.session_state.get(f"tl-conf-{position}"),
                             response_ms=response_ms, play_events=events, db=db())
    except StudyError as exc:
        # A quick double click on two buttons: the first answer is stored and the trial moved on.
        moved_on = engine.current_trial(participant_id, db())
        if moved_on is not None and moved_on.position == position:
            st.session_state["tl_flash"] = str(exc)


def _trial(view: engine.TrialView, participant_id: str) -> None:
    st.progress(view.position / max(view.total, 1), text=f"Trial {view.position + 1} of {view.total}")
    if view.is_practice:
        st.caption("Practice trial: this answer is not scored.")
    flash = st.session_state.pop("tl_flash", None)
    if flash:
        st.warning(flash)
    shown = st.session_state.setdefault("tl_shown", {})
    shown.setdefault((participant_id, view.position), time.monotonic())
    heard_all = True
    for i, clip_id in enumerate(view.clip_ids):
        if len(view.clip_ids) > 1:
            st.markdown(f"**Clip {'AB'[i]}**")
        try:
            clip, mime = _clip(clip_id, db_url())
        except StudyError:
            st.error("This clip cannot be played right now. Please tell the researcher.")
            return
        log = blind_player(clip, key=f"tl-player-{view.position}-{i}", mime=mime,
                           require_full=view.require_full_playback, on_change=_on_log_change)
        heard_all = heard_all and log["ended"]
    locked = view.require_full_playback and not heard_all
    st.markdown(f"#### {view.prompt}")
    if view.allow_confidence:
        st.segmented_control("How sure are you? (optional; 1 = guessing, 5 = certain)", options=[1, 2, 3, 4, 5],
                             key=f"tl-conf-{view.position}", disabled=locked)
    cols = st.columns(len(view.options))
    for col, option in zip(cols, view.options, strict=True):
        col.button(OPTION_LABELS.get(option, option), key=f"tl-answer-{view.position}-{option}", disabled=locked,
                   width="stretch", on_click=_submit,
                   args=(participant_id, view.position, option, len(view.clip_ids), view.require_full_playback))
    if locked:
        st.caption("Play the clip to the end to unlock the answers.")


def _done(participant_id: str) -> None:
    code = engine.completion_code(participant_id, db())
    st.progress(1.0, text="All trials done")
    st.success("Thank you! All your answers are saved.")
    st.markdown("Your completion code:")
    st.code(code, language=None)
    st.caption("Copy this code into the study platform (e.g. Prolific) to confirm your participation.")


def main() -> None:
    code = (st.query_params.get("study") or "").strip()
    if not code:
        st.title("Listening study")
        st.info("Please open the study link you were given (it contains `?study=...`).")
        return
    try:
        info = engine.study_info(code, db())
    except StudyError:
        st.title("Listening study")
        st.error("This study link is not valid. Please check the link you were given.")
        return
    st.title(info["title"])
    external_id = _participant_id_from_link()
    if not external_id:
        _ask_for_id()
        return
    if st.query_params.get("consent") != "yes":
        _consent(info)
        return
    session = _session(code, external_id)
    if session is None:
        return
    started_key = f"tl_begun::{session.participant_id}"
    if not session.resumed and not st.session_state.get(started_key):
        _instructions(info, started_key)
        return
    try:
        view = engine.current_trial(session.participant_id, db())
    except StudyError as exc:
        st.error(str(exc))
        return
    if view is None:
        _done(session.participant_id)
    else:
        _trial(view, session.participant_id)


main()

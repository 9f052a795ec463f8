"""Participant page (no login): consent → instructions → trials → completion code.

Link: ``/?study=CODE&PROLIFIC_PID=ID`` (``pid=ID`` works too; without an id the page asks for one).
Where the participant is comes from the database, never from the URL or the browser: the consent
(stored with its time by :func:`studies.engine.start_or_resume`), whether a trial was shown yet (the
instructions stay until "Begin"), the first unanswered trial and the completion code. So a reload, a
second tab or a reopened link lands on the same step, and a URL parameter such as ``consent=yes`` skips
nothing. Every answer is committed by :func:`studies.engine.submit_answer` (which checks full playback
on the server clock) before the next trial is shown. The page shows only what
:class:`studies.engine.TrialView` carries (position, total, prompt, options); the audio reaches the
browser as inline bytes of the blind player, so no set, model or file name is in the page or a URL.
"""

from __future__ import annotations

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


ANSWERED_ELSEWHERE = ("This trial was already answered, perhaps in another tab or window; that answer is "
                      "kept. Here is your next trial.")


def _flash(message: str) -> None:
    st.session_state["tl_flash"] = message


def _agree(code: str, external_id: str) -> None:
    """"Start" callback: store the consent (and start the participant) before the page reruns."""
    try:
        engine.start_or_resume(code, external_id, db(), consent=True)
    except StudyError as exc:
        _flash(str(exc))


def _consent(info: dict, code: str, external_id: str, is_new: bool) -> None:
    if info["status"] != "open" and is_new:
        st.warning("This study no longer takes new participants.")
        return
    st.subheader("Consent")
    st.markdown(info["consent"])
    st.caption(engine.STORED_DATA_NOTE)
    flash = st.session_state.pop("tl_flash", None)
    if flash:
        st.error(flash)
    agreed = st.checkbox("I have read the above and agree to take part.", key="tl_consent_box")
    st.button("Start", key="tl_consent_go", type="primary", disabled=not agreed, on_click=_agree,
              args=(code, external_id))


def _begin(participant_id: str) -> None:
    """"Begin" callback: the server shows the first trial (and starts its clock)."""
    engine.current_trial(participant_id, db())


def _instructions(info: dict, participant_id: str) -> None:
    st.subheader("Instructions")
    st.markdown(info["instructions"] or "Listen to each clip, then answer the question below it.")
    notes = [f"There are **{info['total_trials']} trials**."]
    if info["practice_trials"]:
        notes.append(f"The first {info['practice_trials']} are practice and are not scored.")
    if info["require_full_playback"]:
        notes.append("The answer buttons unlock once a clip has played to the end.")
    notes.append("Your answers are saved one by one: if the page reloads you continue where you were.")
    st.markdown(" ".join(notes))
    st.button("Begin", key="tl_begin", type="primary", on_click=_begin, args=(participant_id,))


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

    The engine checks the playback rule on its own clock (a forged "ended" event does not help); the page
    also keeps the buttons locked until the player reports the end. An answer already stored (by another
    tab of the same participant) is said so, not skipped silently.
    """
    logs = [_player_log(f"tl-player-{position}-{i}") for i in range(n_clips)]
    if require_full and not all(log["ended"] for log in logs):
        _flash("Please play the clip to the end before answering.")
        return
    events = [{**e, "clip": "AB"[i] if n_clips > 1 else "A"} for i, log in enumerate(logs) for e in log["events"]]
    try:
        stored = engine.submit_answer(participant_id, position, option,
                                      confidence=st.session_state.get(f"tl-conf-{position}"),
                                      play_events=events, db=db())
    except StudyError as exc:
        moved_on = engine.current_trial(participant_id, db())
        _flash(str(exc) if moved_on is not None and moved_on.position == position else ANSWERED_ELSEWHERE)
        return
    if not stored:
        _flash(ANSWERED_ELSEWHERE)


def _trial(view: engine.TrialView, participant_id: str) -> None:
    st.progress(view.position / max(view.total, 1), text=f"Trial {view.position + 1} of {view.total}")
    if view.is_practice:
        st.caption("Practice trial: this answer is not scored.")
    flash = st.session_state.pop("tl_flash", None)
    if flash:
        st.warning(flash)
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


def _begun_participant(code: str, external_id: str, info: dict) -> str | None:
    """The participant id once consent is given and the first trial was shown; otherwise show consent or
    instructions (as the database says) and return None. Cached in the session only once both hold."""
    key = f"tl_participant::{code}::{external_id}"
    if key in st.session_state:
        return st.session_state[key]
    session = engine.find_session(code, external_id, db())
    if session is None or not session.consented:
        _consent(info, code, external_id, is_new=session is None)
        return None
    if not session.begun and not session.completed:
        _instructions(info, session.participant_id)
        return None
    st.session_state[key] = session.participant_id
    return session.participant_id


def main() -> None:
    code = st.query_params.get("study") or ""
    if not code.strip():
        st.title("Listening study")
        st.info("Please open the study link you were given (it contains `?study=...`).")
        return
    try:
        info = engine.study_info(code.strip(), db())
    except StudyError:
        st.title("Listening study")
        st.error("This study link is not valid. Please check the link you were given.")
        return
    code = info["code"]
    st.title(info["title"])
    external_id = _participant_id_from_link()
    if not external_id:
        _ask_for_id()
        return
    try:
        participant_id = _begun_participant(code, external_id, info)
        if participant_id is None:
            return
        view = engine.current_trial(participant_id, db())
    except StudyError as exc:
        st.error(str(exc))
        return
    if view is None:
        _done(participant_id)
    else:
        _trial(view, participant_id)


main()

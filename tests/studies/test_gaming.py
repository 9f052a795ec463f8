"""A hostile participant against the engine: predicting the answer key, answering before the clip could be
heard, formula injection into the researcher's CSVs, NUL bytes in codes and ids; and consent, too-fast and
partial-session records."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from studies import engine as E
from studies import results as R
from studies import storage
from studies.__main__ import main
from studies.errors import StudyError
from tunelab.csv_safe import escape_cell, escape_csv_text, safe_frame

MANY = {"bach": ("human", "chorale", 20), "lstm": ("computer", "chorale", 20)}
SETS = {"bach": ("human", "chorale", 4), "lstm": ("computer", "chorale", 4)}


def _kinds(code: str, db: str, external_id: str) -> list[str]:
    eng = E.get_engine(db)
    study = storage.get_study(eng, code)
    kind = {r["id"]: r["kind"] for r in storage.study_stimuli(eng, study["id"])}
    pid = E.start_or_resume(code, external_id, db).participant_id
    return [kind[a["clip_a"]] for a in storage.participant_assignments(eng, pid)]


def test_two_studies_from_one_study_file_give_a_participant_different_orders(db_url, tmp_path, make_fake_study):
    # the same study file (same seed 3) twice: without a per-study secret the human/computer order of a
    # participant is a function of seed, id and set sizes, so the published file gives the answer key away
    first = make_fake_study(tmp_path / "a", db_url, MANY, trials_per_participant=20)
    second = make_fake_study(tmp_path / "b", db_url, MANY, trials_per_participant=20)
    orders = [_kinds(code, db_url, "PROLIFIC-1") for code in (first, second)]
    assert sorted(orders[0]) == sorted(orders[1]) == ["computer"] * 10 + ["human"] * 10  # still balanced
    # one balanced order in C(20, 10) = 184756: equal orders by chance are out of the question
    assert orders[0] != orders[1]


def test_assignment_is_reproducible_from_the_stored_seed_and_secret(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS, attention_checks=1, practice_trials=1)
    eng = E.get_engine(db_url)
    for i in range(5):  # later participants depend on the exposure left by earlier ones
        E.start_or_resume(code, f"P{i}", db_url)
    replayed = E.replay_assignments(code, db_url)
    study = storage.get_study(eng, code)
    for person in storage.study_participants(eng, study["id"]):
        stored = [(a["clip_a"], a["clip_b"], a["is_attention_check"], a["is_practice"], a["expected"])
                  for a in storage.participant_assignments(eng, person["id"])]
        again = [(t.clip_ids[0], t.clip_ids[1] if len(t.clip_ids) > 1 else None, t.is_attention_check,
                  t.is_practice, t.expected) for t in replayed[person["external_id"]]]
        assert again == stored
    # the secret is random, 256 bits, and appears in no study row, spec, export or report
    secret = storage.study_secret(eng, study["id"], "unused")
    assert len(secret) == 64 and int(secret, 16) > 0
    pid = E.start_or_resume(code, "P0", db_url).participant_id
    while (t := E.current_trial(pid, db_url)) is not None:
        E.submit_answer(pid, t.position, "human", db=db_url)
    assert main(["report", code, "--db", db_url, "--out", str(tmp_path / "report")]) == 0
    visible = [json.dumps(study, default=str), json.dumps(E.study_info(code, db_url)),
               json.dumps(E.list_studies(db_url), default=str), R.responses_frame(code, db_url).to_csv(),
               R.participants_frame(code, db_url).to_csv(), R.attention_frame(code, db_url).to_csv()]
    visible += [f.read_text() for f in (tmp_path / "report").iterdir()]
    assert not any(secret in text for text in visible)


def test_answer_before_the_clip_could_be_heard_is_refused_and_never_stored(db_url, tmp_path, make_fake_study,
                                                                           clock):
    clock.step = 0  # time moves only when the test says so
    code = make_fake_study(tmp_path / "t", db_url, SETS)  # 2-second clips, full playback required
    pid = E.start_or_resume(code, "cheat", db_url).participant_id
    forged = [{"type": "play", "t_ms": 0, "at_s": 0.0}, {"type": "ended", "t_ms": 5, "at_s": 2.0}]
    with pytest.raises(StudyError, match="trial 1 has not been shown yet"):
        E.submit_answer(pid, 0, "human", play_events=forged, db=db_url)
    E.current_trial(pid, db_url)  # the server shows trial 1
    clock.advance(0.1)  # a forged "ended" event (browser console, raw websocket) at 0:00
    with pytest.raises(StudyError, match=r"trial 1: answered 0\.1 s after it was shown, but its clip lasts 2\.0 s"):
        E.submit_answer(pid, 0, "human", play_events=forged, db=db_url)
    clock.advance(1.35)  # 1.45 s: still earlier than 2.0 s minus the 0.5 s tolerance
    with pytest.raises(StudyError, match="requires listening to the end"):
        E.submit_answer(pid, 0, "human", db=db_url)
    assert E.progress(code, db_url)["answers"] == 0
    assert E.current_trial(pid, db_url).position == 0  # showing it again does not restart its clock
    clock.advance(0.1)  # 1.55 s after the first showing
    assert E.submit_answer(pid, 0, "human", play_events=forged, db=db_url)
    assert storage.get_answer(E.get_engine(db_url), pid, 0)["response_ms"] == 1550  # server clock

    code = make_fake_study(tmp_path / "ab", db_url, SETS, test_type="ab-preference", trials_per_participant=2)
    pid = E.start_or_resume(code, "cheat", db_url).participant_id
    E.current_trial(pid, db_url)
    clock.advance(3.4)  # a pair needs both clips: 2 + 2 s - 0.5 s
    with pytest.raises(StudyError, match="its clips last 4.0 s"):
        E.submit_answer(pid, 0, "A", db=db_url)
    clock.advance(0.2)
    assert E.submit_answer(pid, 0, "A", db=db_url)


def test_too_fast_answers_and_partial_sessions_are_flagged_and_can_be_filtered(db_url, tmp_path, make_fake_study,
                                                                              clock):
    clock.step = 0
    code = make_fake_study(tmp_path, db_url, SETS, require_full_playback=False, attention_checks=1)
    eng = E.get_engine(db_url)
    truth = {r["id"]: r["kind"] for r in storage.study_stimuli(eng, storage.get_study(eng, code)["id"])}

    def run(external_id: str, wait: float, n: int | None = None, right: bool = True) -> str:
        pid = E.start_or_resume(code, external_id, db_url, consent=True).participant_id
        done = 0
        while (t := E.current_trial(pid, db_url)) is not None and (n is None or done < n):
            clock.advance(wait)
            if "Attention" in t.prompt:
                answer = t.prompt.split("“")[1].rstrip("”.")
            else:
                answer = truth[t.clip_ids[0]] if right else {"human": "computer", "computer": "human"}[
                    truth[t.clip_ids[0]]]
            E.submit_answer(pid, t.position, answer, db=db_url)
            done += 1
        if n is None:
            E.completion_code(pid, db_url)
        return pid

    clicker = run("clicker", wait=0.2, right=False)  # answers every trial 0.2 s after it appears
    listener = run("listener", wait=2.5)
    partial = run("quitter", wait=2.5, n=2, right=False)
    frame = R.responses_frame(code, db_url)
    flags = frame.groupby("participant")[["too_fast", "complete"]].all()
    assert flags.loc[clicker].tolist() == [True, True]
    assert flags.loc[listener].tolist() == [False, True]
    assert flags.loc[partial].tolist() == [False, False]
    assert set(R.responses_frame(code, db_url, completed_only=True)["participant"]) == {clicker, listener}
    people = R.participants_frame(code, db_url).set_index("external_id")
    assert people.loc["clicker", "too_fast_answers"] == 5 and people.loc["listener", "too_fast_answers"] == 0
    assert people["completed"].isna().tolist() == [False, False, True]

    every = R.study_statistics(code, db_url)
    assert every["quality"]["participants_partial"] == 1 and every["quality"]["too_fast_answers"] == 4
    assert every["n_participants"] == 3 and every["n_answers"] == len(frame)
    finished = R.study_statistics(code, db_url, completed_only=True, drop_too_fast=True)
    assert finished["n_participants"] == 1 and finished["accuracy"] == 1.0  # only the listener is left
    assert main(["report", code, "--db", db_url, "--out", str(tmp_path / "r"), "--completed-only"]) == 0
    page = (tmp_path / "r" / "report.html").read_text()
    assert "1 partial sessions; 4 too-fast answers" in page and "completed participants only" in page
    assert json.loads((tmp_path / "r" / "stats.json").read_text())["n_participants"] == 2


def test_consent_is_stored_with_its_time_and_the_text_agreed_to(db_url, tmp_path, make_fake_study, clock):
    clock.step = 0
    code = make_fake_study(tmp_path, db_url, SETS)
    assert E.find_session(code, "P1", db_url) is None
    E.start_or_resume(code, "P1", db_url)  # e.g. a script: no consent recorded
    assert not E.find_session(code, "P1", db_url).consented
    clock.advance(30)
    session = E.start_or_resume(code, "P1", db_url, consent=True)
    assert session.consented and not session.begun
    clock.advance(30)
    E.start_or_resume(code, "P1", db_url, consent=True)  # a second tab: the first consent stays
    people = R.participants_frame(code, db_url)
    assert people.loc[0, "consented"] == pd.Timestamp("2030-01-01 00:00:30", tz="UTC")
    with E.get_engine(db_url).connect() as conn:
        (digest,) = conn.execute(storage.consents.select().with_only_columns(storage.consents.c.consent_sha256)
                                 ).one()
    assert digest == E.consent_hash("I agree.")
    E.current_trial(session.participant_id, db_url)
    assert E.find_session(code, "P1", db_url).begun


@pytest.mark.parametrize("bad", ["ab\x00cd", "\x00", "x\ny", "a" * 300])
def test_nul_bytes_and_control_characters_are_bad_input_on_every_database(db_url, tmp_path, make_fake_study, bad):
    code = make_fake_study(tmp_path, db_url, SETS)
    with pytest.raises(StudyError, match="unknown study code"):
        E.study_info(bad, db_url)
    with pytest.raises(StudyError, match="unknown study code"):
        E.start_or_resume(code + bad, "P1", db_url)
    with pytest.raises(StudyError, match="participant id is empty, longer than 200 characters or contains"):
        E.start_or_resume(code, f"P{bad}", db_url)
    with pytest.raises(StudyError, match="unknown participant"):
        E.current_trial(bad, db_url)
    with pytest.raises(StudyError, match="no trial at position 0"):
        E.submit_answer(bad, 0, "human", db=db_url)
    with pytest.raises(StudyError, match="unknown clip id"):
        E.clip_bytes(bad, db_url)
    assert E.progress(code, db_url) == {"started": 0, "completed": 0, "answers": 0}


HOSTILE = ["=HYPERLINK(\"http://evil\",\"pay\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1"]


def test_formula_injection_is_escaped_in_every_csv_researchers_open(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    for external in HOSTILE:
        pid = E.start_or_resume(code, external, db_url).participant_id
        E.current_trial(pid, db_url)
        E.submit_answer(pid, 0, "human", db=db_url)
    export = tmp_path / "export"
    assert main(["export", code, "--db", db_url, "--csv", str(export / "responses.csv"),
                 "--participants", str(export / "participants.csv"),
                 "--attention", str(export / "attention.csv")]) == 0
    assert main(["report", code, "--db", db_url, "--out", str(tmp_path / "report")]) == 0
    files = sorted(export.glob("*.csv")) + sorted((tmp_path / "report").glob("*.csv"))
    assert len(files) == 6
    for path in files:
        cells = [cell for row in pd.read_csv(path, dtype=str, keep_default_na=False).itertuples(index=False)
                 for cell in row]
        dangerous = [c for c in cells if c[:1] in ("=", "+", "@", "\t") or (c[:1] == "-" and not c[1:].isdigit())]
        assert dangerous == [], f"{path.name}: {dangerous}"
    people = pd.read_csv(export / "participants.csv", dtype=str)
    assert sorted(people["external_id"]) == sorted("'" + h.strip() for h in HOSTILE)  # ids are stripped


def test_escaping_keeps_numbers_and_plain_text():
    assert [escape_cell(v) for v in ("-12", "+3.5e-2", "-.5", "human", "a=b", 4, -1.5, None)] == [
        "-12", "+3.5e-2", "-.5", "human", "a=b", 4, -1.5, None]
    assert [escape_cell(v) for v in HOSTILE] == ["'" + h for h in HOSTILE]
    frame = safe_frame(pd.DataFrame({"id": ["=1", "ok"], "score": [-1.0, 2.0]}))
    assert frame["id"].tolist() == ["'=1", "ok"] and frame["score"].tolist() == [-1.0, 2.0]
    text = escape_csv_text("path,value\n=evil.mid,-0.25\nok.mid,1e-3\n")
    assert list(pd.read_csv(io.StringIO(text), dtype=str)["path"]) == ["'=evil.mid", "ok.mid"]
    assert "-0.25" in text and "1e-3" in text


def test_participant_ids_never_look_like_formulas(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    ids = [E.start_or_resume(code, f"P{i}", db_url).participant_id for i in range(40)]
    assert all(escape_cell(pid) == pid and len(pid) == 32 for pid in ids)

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from studies import engine as E
from studies import storage
from studies.errors import StudyError

SETS = {"bach": ("human", "chorale", 4), "lstm": ("computer", "chorale", 4)}


def answer_all(pid, db, answer="human"):
    while (t := E.current_trial(pid, db)) is not None:
        E.submit_answer(pid, t.position, answer, db=db)


def test_resume_continues_at_first_unanswered_trial(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS, attention_checks=1)
    s = E.start_or_resume(code, "PID-1", db_url)
    assert (s.total, s.next_position, s.resumed) == (5, 0, False)
    E.submit_answer(s.participant_id, 0, "human", db=db_url)
    E.submit_answer(s.participant_id, 1, "computer", db=db_url)
    again = E.start_or_resume(code, " PID-1 ", db_url)  # a reload; spaces around the id are ignored
    assert again.participant_id == s.participant_id and again.next_position == 2 and again.resumed
    assert E.current_trial(s.participant_id, db_url).position == 2
    other = E.start_or_resume(code, "PID-2", db_url)
    assert other.participant_id != s.participant_id
    assert E.progress(code, db_url) == {"started": 2, "completed": 0, "answers": 2}


def test_completion_code_only_after_every_trial_and_retake_refused(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    s = E.start_or_resume(code, "PID-1", db_url)
    for pos in range(3):
        E.submit_answer(s.participant_id, pos, "human", db=db_url)
    with pytest.raises(StudyError, match="only 3 of 4 trials are answered; answer trial 4 first"):
        E.completion_code(s.participant_id, db_url)
    E.submit_answer(s.participant_id, 3, "computer", db=db_url)
    assert E.current_trial(s.participant_id, db_url) is None
    c1 = E.completion_code(s.participant_id, db_url)
    assert len(c1) == 12 and c1.isalnum()
    assert E.completion_code(s.participant_id, db_url) == c1  # stable on reload
    with pytest.raises(StudyError, match="'PID-1' has already completed study"):
        E.start_or_resume(code, "PID-1", db_url)
    assert E.progress(code, db_url)["completed"] == 1


def test_duplicate_submit_is_stored_once_and_a_change_is_refused(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS, allow_confidence=True)
    pid = E.start_or_resume(code, "PID-1", db_url).participant_id
    assert E.submit_answer(
        pid, 0, "Human", confidence=4, response_ms=1500, play_events=[{"e": "ended"}], db=db_url
    )
    assert not E.submit_answer(pid, 0, "human", confidence=4, db=db_url)
    assert not E.submit_answer(pid, 0, "human", db=db_url)
    with pytest.raises(
        StudyError, match="trial 0 was already answered with 'human'; answers cannot be changed"
    ):
        E.submit_answer(pid, 0, "computer", db=db_url)
    assert E.progress(code, db_url)["answers"] == 1
    stored = storage.get_answer(E.get_engine(db_url), pid, 0)
    assert (stored["confidence"], stored["response_ms"], json.loads(stored["play_events"])) == (
        4,
        1500,
        [{"e": "ended"}],
    )


def test_invalid_answers_are_refused(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    pid = E.start_or_resume(code, "PID-1", db_url).participant_id
    with pytest.raises(
        StudyError, match="answer 'maybe' is not allowed in a turing test; use one of human, comp"
    ):
        E.submit_answer(pid, 0, "maybe", db=db_url)
    with pytest.raises(StudyError, match="does not ask for confidence"):
        E.submit_answer(pid, 0, "human", confidence=3, db=db_url)
    with pytest.raises(StudyError, match="no trial at position 4"):
        E.submit_answer(pid, 4, "human", db=db_url)
    with pytest.raises(StudyError, match="unknown participant"):
        E.current_trial("nobody", db_url)
    with pytest.raises(StudyError, match="participant id is empty"):
        E.start_or_resume(code, "  ", db_url)
    with pytest.raises(StudyError, match="unknown study code 'zzz'"):
        E.start_or_resume("zzz", "PID-1", db_url)
    assert E.progress(code, db_url)["answers"] == 0


def test_trial_view_is_blind(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS, attention_checks=1)
    pid = E.start_or_resume(code, "PID-1", db_url).participant_id
    eng = E.get_engine(db_url)
    secrets_ = set()
    for row in storage.study_stimuli(eng, storage.get_study(eng, code)["id"]):
        secrets_ |= {row["set_name"], row["source_path"], row["audio_path"], "chorale"}
    seen = []
    while (t := E.current_trial(pid, db_url)) is not None:
        assert set(asdict(t)) == {
            "position",
            "total",
            "clip_ids",
            "prompt",
            "options",
            "allow_confidence",
            "require_full_playback",
            "is_practice",
        }
        seen.append(json.dumps(asdict(t)))
        assert E.clip_bytes(t.clip_ids[0], db_url).startswith(b"fake audio")
        E.submit_answer(pid, t.position, "computer", db=db_url)
    blob = "\n".join(seen)
    assert len(seen) == 5
    assert not any(s in blob for s in secrets_)
    assert "Attention check: for this clip, answer" in blob
    with pytest.raises(StudyError, match="unknown clip id"):
        E.clip_bytes("../etc/passwd", db_url)


def test_closed_study_refuses_new_participants_only(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    s = E.start_or_resume(code, "early", db_url)
    E.close_study(code, db_url)
    with pytest.raises(StudyError, match="closed and takes no new participants"):
        E.start_or_resume(code, "late", db_url)
    assert E.start_or_resume(code, "early", db_url).participant_id == s.participant_id
    E.open_study(code, db_url)
    assert E.start_or_resume(code, "late", db_url).next_position == 0
    assert [r["status"] for r in E.list_studies(db_url)] == ["open"]
    with pytest.raises(StudyError, match="unknown study code"):
        E.close_study("nope", db_url)


def test_responses_and_attention_frames(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS, attention_checks=1, allow_confidence=True)
    eng = E.get_engine(db_url)
    truth = {r["id"]: r["kind"] for r in storage.study_stimuli(eng, storage.get_study(eng, code)["id"])}
    pid = E.start_or_resume(code, "PID-1", db_url).participant_id
    while (t := E.current_trial(pid, db_url)) is not None:
        E.submit_answer(
            pid, t.position, truth[t.clip_ids[0]], confidence=5, response_ms=100 * t.position, db=db_url
        )
    df = E.responses_frame(code, db_url)
    assert list(df.columns) == E.TURING_COLUMNS
    assert len(df) == 4 and (df["truth"] == df["answer"]).all()
    assert sorted(df["truth"]) == ["computer", "computer", "human", "human"]
    assert set(df["model"]) == {"", "lstm"} and set(df["group"]) == {"chorale"}
    assert (df["confidence"] == 5).all()
    att = E.attention_frame(code, db_url)
    assert len(att) == 1 and att["participant"][0] == pid
    assert bool(att["passed"][0]) == (att["expected"][0] == att["answer"][0])


def test_ab_preference_and_rating_flows(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path / "ab", db_url, SETS, test_type="ab-preference", trials_per_participant=3)
    pid = E.start_or_resume(code, "P", db_url).participant_id
    t = E.current_trial(pid, db_url)
    assert len(t.clip_ids) == 2 and t.options == ("A", "B")
    answer_all(pid, db_url, answer="b")
    df = E.responses_frame(code, db_url)
    assert len(df) == 3 and set(df["choice"]) == {"b"}
    assert all(
        {a, b} == {"human", "computer"} for a, b in zip(df["condition_a"], df["condition_b"], strict=True)
    )

    code = make_fake_study(tmp_path / "rating", db_url, SETS, test_type="rating", trials_per_participant=4)
    pid = E.start_or_resume(code, "P", db_url).participant_id
    with pytest.raises(StudyError, match="answer 6 is not allowed in a rating test"):
        E.submit_answer(pid, 0, 6, db=db_url)
    answer_all(pid, db_url, answer="4")
    df = E.responses_frame(code, db_url)
    assert list(df["rating"]) == [4, 4, 4, 4]
    assert sorted(df["condition"]) == ["human", "human", "lstm", "lstm"]
    info = E.study_info(code, db_url)
    assert info["options"] == ("1", "2", "3", "4", "5") and info["total_trials"] == 4
    assert "stimulus_sets" not in info


def test_create_study_with_a_broken_file_stores_nothing(db_url, tmp_path, make_study_dict):
    data = make_study_dict(
        tmp_path, {"bach": ("human", "c", 2), "lstm": ("computer", "c", 2)}, trials_per_participant=2
    )
    (tmp_path / "lstm" / "broken.mid").write_bytes(b"not a midi file")
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if k != "stimulus_sets"]
    for s in data["stimulus_sets"]:
        lines += ["[[stimulus_sets]]"] + [f"{k} = {json.dumps(v)}" for k, v in s.items()]
    (tmp_path / "study.toml").write_text("\n".join(lines))
    calls = []
    with pytest.raises(
        StudyError, match=r"set 'lstm': 1 file\(s\) could not be made into clips \(.*broken\.mid"
    ):
        E.create_study(
            tmp_path / "study.toml",
            db_url,
            media_dir=tmp_path / "media",
            on_progress=lambda done, total: calls.append((done, total)),
            progress=False,
        )
    assert E.list_studies(db_url) == []
    assert not any((tmp_path / "media").glob("*/*"))  # rendered clips of the failed study were removed
    assert calls and {t for _, t in calls} == {5} and calls[-1][0] >= 2

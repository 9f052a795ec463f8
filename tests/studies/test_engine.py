from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from studies import audio as A
from studies import engine as E
from studies import results as R
from studies import storage
from studies.errors import StudyError
from studies.stats import rating_statistics
from tunelab.testing.study_fixture import PINNED_SOUNDFONT, study_toml_text

SETS = {"bach": ("human", "chorale", 4), "lstm": ("computer", "chorale", 4)}


def answer_all(pid, db, answer="human"):
    while (t := E.current_trial(pid, db)) is not None:
        E.submit_answer(pid, t.position, answer, db=db)


def answer_next(pid, db, answer, **kwargs):
    """Show the participant's next trial (as the page does) and answer it; returns submit_answer's result."""
    t = E.current_trial(pid, db)
    return E.submit_answer(pid, t.position, answer, db=db, **kwargs)


def test_resume_continues_at_first_unanswered_trial(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS, attention_checks=1)
    s = E.start_or_resume(code, "PID-1", db_url)
    assert (s.total, s.next_position, s.resumed) == (5, 0, False)
    answer_next(s.participant_id, db_url, "human")
    answer_next(s.participant_id, db_url, "computer")
    again = E.start_or_resume(code, " PID-1 ", db_url)  # a reload; spaces around the id are ignored
    assert again.participant_id == s.participant_id and again.next_position == 2 and again.resumed
    assert E.current_trial(s.participant_id, db_url).position == 2
    other = E.start_or_resume(code, "PID-2", db_url)
    assert other.participant_id != s.participant_id
    assert E.progress(code, db_url) == {"started": 2, "completed": 0, "answers": 2}


def test_completion_code_only_after_every_trial_and_retake_refused(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    s = E.start_or_resume(code, "PID-1", db_url)
    for _ in range(3):
        answer_next(s.participant_id, db_url, "human")
    with pytest.raises(StudyError, match="only 3 of 4 trials are answered; answer trial 4 first"):
        E.completion_code(s.participant_id, db_url)
    answer_next(s.participant_id, db_url, "computer")
    assert E.current_trial(s.participant_id, db_url) is None
    c1 = E.completion_code(s.participant_id, db_url)
    assert len(c1) == 12 and c1.isalnum()
    assert E.completion_code(s.participant_id, db_url) == c1  # stable on reload
    # coming back after completing: no trial left (no retake), the same code again
    back = E.start_or_resume(code, "PID-1", db_url)
    assert (back.participant_id, back.next_position, back.completed, back.resumed) == (
        s.participant_id, None, True, True)
    assert E.current_trial(s.participant_id, db_url) is None
    assert E.completion_code(back.participant_id, db_url) == c1
    with pytest.raises(StudyError, match="trial 0 was already answered with 'human'; answers cannot be changed"):
        E.submit_answer(s.participant_id, 0, "computer", db=db_url)
    assert not E.start_or_resume(code, "PID-2", db_url).completed
    assert E.progress(code, db_url) == {"started": 2, "completed": 1, "answers": 4}


def test_duplicate_submit_is_stored_once_and_a_change_is_refused(db_url, tmp_path, make_fake_study, clock):
    code = make_fake_study(tmp_path, db_url, SETS, allow_confidence=True)
    pid = E.start_or_resume(code, "PID-1", db_url).participant_id
    clock.step = 0
    E.current_trial(pid, db_url)
    clock.advance(2.25)
    for bad in (2.5, 6, True):
        with pytest.raises(StudyError, match=f"confidence {bad} must be a whole number from 1 to 5"):
            E.submit_answer(pid, 0, "human", confidence=bad, db=db_url)
    events = [{"type": "play", "t_ms": 5, "at_s": 0.0}, {"type": "ended", "t_ms": 2010, "at_s": 2.0}]
    # the client's response time is ignored: the server measured 2.25 s from showing the trial
    assert E.submit_answer(pid, 0, "Human", confidence=4, response_ms=1500, play_events=events, db=db_url)
    assert not E.submit_answer(pid, 0, "human", confidence=4, db=db_url)
    assert not E.submit_answer(pid, 0, "human", db=db_url)
    with pytest.raises(
        StudyError, match="trial 0 was already answered with 'human'; answers cannot be changed"
    ):
        E.submit_answer(pid, 0, "computer", db=db_url)
    assert E.progress(code, db_url)["answers"] == 1
    stored = storage.get_answer(E.get_engine(db_url), pid, 0)
    assert (stored["confidence"], stored["response_ms"], json.loads(stored["play_events"])) == (4, 2250, events)


def test_invalid_answers_are_refused(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    pid = E.start_or_resume(code, "PID-1", db_url).participant_id
    with pytest.raises(
        StudyError, match="answer 'maybe' is not allowed in a turing test; use one of human, comp"
    ):
        E.submit_answer(pid, 0, "maybe", db=db_url)
    with pytest.raises(StudyError, match="does not ask for confidence"):
        E.submit_answer(pid, 0, "human", confidence=3, db=db_url)
    with pytest.raises(StudyError, match="response_ms -1 must be a whole number ≥ 0"):
        E.submit_answer(pid, 0, "human", response_ms=-1, db=db_url)
    with pytest.raises(StudyError, match="response_ms 'soon' must be a whole number"):
        E.submit_answer(pid, 0, "human", response_ms="soon", db=db_url)
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
    df = R.responses_frame(code, db_url)
    assert list(df.columns) == R.TURING_COLUMNS
    assert len(df) == 4 and (df["truth"] == df["answer"]).all()
    assert sorted(df["truth"]) == ["computer", "computer", "human", "human"]
    assert set(df["model"]) == {"", "lstm"} and set(df["group"]) == {"chorale"}
    assert (df["confidence"] == 5).all()
    att = R.attention_frame(code, db_url)
    assert len(att) == 1 and att["participant"][0] == pid
    assert bool(att["passed"][0]) == (att["expected"][0] == att["answer"][0])


def test_ab_preference_and_rating_flows(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path / "ab", db_url, SETS, test_type="ab-preference", trials_per_participant=3)
    pid = E.start_or_resume(code, "P", db_url).participant_id
    t = E.current_trial(pid, db_url)
    assert len(t.clip_ids) == 2 and t.options == ("A", "B")
    answer_all(pid, db_url, answer="b")
    df = R.responses_frame(code, db_url)
    assert len(df) == 3 and set(df["choice"]) == {"b"}
    assert list(df.columns) == ["participant", "stimulus_a", "stimulus_b", "condition_a", "condition_b",
                                "choice", "group_a", "group_b", "model_a", "model_b", "response_ms", "too_fast",
                                "complete"]
    assert all(
        {a, b} == {"human", "computer"} for a, b in zip(df["condition_a"], df["condition_b"], strict=True)
    )

    code = make_fake_study(tmp_path / "rating", db_url, SETS, test_type="rating", trials_per_participant=4)
    pid = E.start_or_resume(code, "P", db_url).participant_id
    with pytest.raises(StudyError, match="answer 6 is not allowed in a rating test"):
        E.submit_answer(pid, 0, 6, db=db_url)
    answer_all(pid, db_url, answer="4")
    df = R.responses_frame(code, db_url)
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
    (tmp_path / "study.toml").write_text(study_toml_text(data))
    calls = []
    with pytest.raises(
        StudyError, match=r"study\.toml: 1 file\(s\) could not be made into clips \(set 'lstm': .*broken\.mid"
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


def test_full_playback_is_checked_on_the_server(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path / "t", db_url, SETS)  # require_full_playback defaults to true
    pid = E.start_or_resume(code, "P", db_url).participant_id
    E.current_trial(pid, db_url)
    paused = [{"type": "play", "t_ms": 0}, {"type": "pause", "t_ms": 900}]
    for events in ([], paused, [{"type": "ended", "clip": "B"}]):
        with pytest.raises(StudyError, match="trial 1: the clip was not played to the end"):
            E.submit_answer(pid, 0, "human", play_events=events, db=db_url)
    assert E.progress(code, db_url)["answers"] == 0  # nothing stored by a refused answer
    assert E.submit_answer(pid, 0, "human", play_events=paused + [{"type": "ended", "clip": "A"}], db=db_url)
    with pytest.raises(StudyError, match="trial 2 has not been shown yet"):  # the server never showed it
        E.submit_answer(pid, 1, "human", db=db_url)
    assert answer_next(pid, db_url, "human", play_events=None)  # callers without a player: server clock only

    code = make_fake_study(tmp_path / "ab", db_url, SETS, test_type="ab-preference", trials_per_participant=2)
    pid = E.start_or_resume(code, "P", db_url).participant_id
    E.current_trial(pid, db_url)
    with pytest.raises(StudyError, match="trial 1: clip B was not played to the end"):
        E.submit_answer(pid, 0, "A", play_events=[{"type": "ended", "clip": "A"}], db=db_url)
    both = [{"type": "ended", "clip": "A"}, {"type": "ended", "clip": "B"}]
    assert E.submit_answer(pid, 0, "A", play_events=both, db=db_url)

    code = make_fake_study(tmp_path / "free", db_url, SETS, require_full_playback=False)
    pid = E.start_or_resume(code, "P", db_url).participant_id
    assert E.submit_answer(pid, 0, "human", play_events=[], db=db_url)
    assert json.loads(storage.get_answer(E.get_engine(db_url), pid, 0)["play_events"]) == []


def test_exposure_is_balanced_across_participants_through_the_database(db_url, tmp_path, make_fake_study):
    sets = {"bach": ("human", "chorale", 4), "folk": ("human", "folk", 4),
            "lstm": ("computer", "chorale", 4), "gru": ("computer", "folk", 4)}
    code = make_fake_study(tmp_path, db_url, sets, trials_per_participant=4, attention_checks=1)
    eng = E.get_engine(db_url)
    rows = storage.study_stimuli(eng, storage.get_study(eng, code)["id"])
    info = {r["id"]: (r["kind"], r["group_name"]) for r in rows}
    seen: dict[str, int] = {r["id"]: 0 for r in rows}
    for i in range(8):
        pid = E.start_or_resume(code, f"P{i}", db_url).participant_id
        main = [a for a in storage.participant_assignments(eng, pid) if not a["is_attention_check"]]
        # each participant: 2 human + 2 computer, one of each kind per group
        assert sorted(info[a["clip_a"]] for a in main) == sorted(
            [("computer", "chorale"), ("computer", "folk"), ("human", "chorale"), ("human", "folk")])
        for a in main:
            seen[a["clip_a"]] += 1
        if i == 3:  # 4 participants x 4 trials = 16 clips: every clip exactly once
            assert sorted(seen.values()) == [1] * 16
    assert sorted(seen.values()) == [2] * 16


def test_create_study_uses_the_stimuli_table(tmp_path, make_study_dict):
    data = make_study_dict(tmp_path, {"bach": ("human", "c", 2), "lstm": ("computer", "c", 2)},
                           trials_per_participant=4, test_type="rating", require_full_playback=False)
    data["stimuli"] = {**data["stimuli"], "audio_format": "ogg", "sample_rate": 22050, "fade_seconds": 0.1,
                       "target_lufs": -20.0}
    (tmp_path / "study.toml").write_text(study_toml_text(data))
    db = f"sqlite:///{tmp_path / 's.db'}"
    code = E.create_study(tmp_path / "study.toml", db, media_dir=tmp_path / "media", progress=False)
    eng = E.get_engine(db)
    rows = storage.study_stimuli(eng, storage.get_study(eng, code)["id"])
    assert len(rows) == 4
    assert {(r["sample_rate"], r["n_samples"]) for r in rows} == {(22050, 2 * 22050)}
    assert {Path(r["audio_path"]).suffix for r in rows} == {".ogg"}
    assert E.clip_mime_type(rows[0]["id"], db) == "audio/ogg"
    assert E.study_spec(code, db).stimuli == {"soundfont": str(PINNED_SOUNDFONT), "audio_format": "ogg",
                                              "sample_rate": 22050, "fade_seconds": 0.1, "target_lufs": -20.0}
    data, rate = A.decode_audio(Path(rows[0]["audio_path"]))
    assert rate == 22050 and abs(A.integrated_loudness(data, rate) - (-20.0)) < 1.0
    # a rated rendered study, end to end: participants -> answers -> responses -> statistics
    kind = {r["id"]: r["kind"] for r in rows}
    for i in range(2):
        pid = E.start_or_resume(code, f"P{i}", db).participant_id
        while (t := E.current_trial(pid, db)) is not None:
            E.submit_answer(pid, t.position, (4 if kind[t.clip_ids[0]] == "human" else 2) + i, db=db)
    stats = rating_statistics(R.responses_frame(code, db))
    # human clips rated 4 and 5, lstm clips 2 and 3 by the two participants
    assert {c["condition"]: c["mean"] for c in stats["conditions"]} == pytest.approx({"human": 4.5, "lstm": 2.5})
    assert stats["pairwise"][0]["median_difference"] == pytest.approx(2.0)
    # the same study file (same seed) again: new random clip ids, nothing reproducible from the seed
    again = E.create_study(tmp_path / "study.toml", db, media_dir=tmp_path / "media", progress=False)
    ids = {r["id"] for r in storage.study_stimuli(eng, storage.get_study(eng, again)["id"])}
    assert len(ids) == 4 and not ids & {r["id"] for r in rows}


def test_participants_frame_links_opaque_ids_to_external_ids_and_codes(db_url, tmp_path, make_fake_study):
    code = make_fake_study(tmp_path, db_url, SETS)
    done = E.start_or_resume(code, "PROLIFIC-AAA", db_url)
    answer_all(done.participant_id, db_url)
    finished_code = E.completion_code(done.participant_id, db_url)
    halfway = E.start_or_resume(code, "PROLIFIC-BBB", db_url)
    answer_next(halfway.participant_id, db_url, "computer")
    frame = R.participants_frame(code, db_url)
    assert list(frame.columns) == ["participant", "external_id", "consented", "started", "completed",
                                   "completion_code", "answers", "too_fast_answers"]
    by_external = frame.set_index("external_id")
    assert by_external.loc["PROLIFIC-AAA", "participant"] == done.participant_id
    assert by_external.loc["PROLIFIC-AAA", "completion_code"] == finished_code
    assert by_external.loc["PROLIFIC-AAA", "answers"] == 4
    assert by_external.loc["PROLIFIC-BBB", "answers"] == 1
    assert by_external["completed"].isna().tolist() == [False, True]
    assert by_external["completion_code"].isna().tolist() == [False, True]
    # the responses use the same opaque ids, so the two frames join
    responses = R.responses_frame(code, db_url)
    assert set(responses["participant"]) == set(frame["participant"])

"""AppTest of the participant page: consent → instructions → 6 trials → completion code, answers in the DB."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studies import engine, results
from tunelab.testing.study_fixture import SECRETS, make_study

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "participant.py")


def _open(code: str, pid: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["study"] = code
    at.query_params["PROLIFIC_PID"] = pid
    return at.run()


def _answer_keys(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("tl-answer-")]


def _participant(at: AppTest) -> str:
    key = next(k for k in at.session_state if k.startswith("tl_session::"))
    return at.session_state[key].participant_id


def _play_to_end(at: AppTest, position: int) -> None:
    """What the blind player's JS sends when the clip ends (the component's state under its key)."""
    events = [{"type": "play", "t_ms": 10, "at_s": 0.0}, {"type": "ended", "t_ms": 1010, "at_s": 1.0}]
    at.session_state[f"tl-player-{position}-0"] = {"log": {"ended": True, "events": events}}
    at.run()


def _text(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]
    return "\n".join(str(p) for p in parts)


def test_participant_completes_study_and_every_answer_is_stored(app_env: dict[str, str]) -> None:
    code, url = app_env["code"], app_env["db_url"]
    at = _open(code, "apptest-p1")
    assert not at.exception
    assert at.title[0].value == "Test study"
    assert at.button(key="tl_consent_go").disabled  # consent box not ticked yet
    at.checkbox(key="tl_consent_box").check().run()
    at.button(key="tl_consent_go").click().run()
    assert at.query_params["consent"] == ["yes"] or at.query_params["consent"] == "yes"
    assert "6 trials" in _text(at)
    at.button(key="tl_begin").click().run()
    answers = []
    for i in range(6):
        assert f"Trial {i + 1} of 6" in at.get("progress")[0].proto.text
        keys = _answer_keys(at)
        assert keys == [f"tl-answer-{i}-human", f"tl-answer-{i}-computer"]
        # full playback required: locked until the player reports "ended"
        assert all(at.button(key=k).disabled for k in keys)
        participant = _participant(at)
        _play_to_end(at, i)
        assert not at.button(key=keys[0]).disabled
        choice = "human" if i % 2 else "computer"
        at.button(key=f"tl-answer-{i}-{choice}").click().run()
        answers.append(choice)
        assert not at.exception
        # stored before the next trial shows
        stored = results.responses_frame(code, url)
        assert len(stored[stored["participant"] == participant]) == i + 1
    text = "\n".join(c.value for c in at.code)
    assert at.success and "answers are saved" in at.success[0].value
    frame = results.responses_frame(code, url)
    mine = frame[frame["participant"] == participant]
    assert list(mine["answer"]) == answers
    assert len(text.strip()) == 12  # the completion code
    with engine.get_engine(url).connect() as conn:
        events = conn.exec_driver_sql("SELECT play_events FROM answers WHERE participant_id = ?",
                                      (participant,)).fetchall()
    assert len(events) == 6 and all('"ended"' in e[0] for e in events)
    assert not any(s.lower() in _text(at).lower() for s in SECRETS)
    # coming back with the same link after finishing shows the same completion code again
    again = AppTest.from_file(PAGE, default_timeout=30)
    for k, v in {"study": code, "PROLIFIC_PID": "apptest-p1", "consent": "yes"}.items():
        again.query_params[k] = v
    again.run()
    assert [c.value for c in again.code] == [text]


def test_reload_resumes_at_same_trial(app_env: dict[str, str]) -> None:
    code, url = app_env["code"], app_env["db_url"]
    at = _open(code, "apptest-resume")
    at.checkbox(key="tl_consent_box").check().run()
    at.button(key="tl_consent_go").click().run()
    at.button(key="tl_begin").click().run()
    for i in range(2):
        _play_to_end(at, i)
        at.button(key=f"tl-answer-{i}-human").click().run()
    # a reload = a new browser session with the URL the page left (consent=yes kept in the link)
    again = AppTest.from_file(PAGE, default_timeout=30)
    for k, v in {"study": code, "PROLIFIC_PID": "apptest-resume", "consent": "yes"}.items():
        again.query_params[k] = v
    again.run()
    assert not again.exception
    assert "Trial 3 of 6" in again.get("progress")[0].proto.text
    assert _answer_keys(again) == ["tl-answer-2-human", "tl-answer-2-computer"]
    assert engine.progress(code, url)["answers"] >= 2


def test_missing_or_unknown_study_shows_no_trial(app_env: dict[str, str]) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert "study link" in at.info[0].value
    at = _open("nosuchstudy", "x")
    assert "not valid" in at.error[0].value
    assert not _answer_keys(at)


def test_without_participant_id_the_page_asks_for_one(app_env: dict[str, str]) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["study"] = app_env["code"]
    at.run()
    assert at.text_input(key="tl_pid_input") is not None
    at.text_input(key="tl_pid_input").input("typed-id-1")
    at.button[0].click().run()
    assert at.checkbox(key="tl_consent_box") is not None


def test_practice_attention_check_and_confidence(app_env: dict[str, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'conf.db'}"
    code = make_study(tmp_path, url, trials=2, clip_seconds=1.0, allow_confidence=True, practice_trials=1,
                      attention_checks=1, require_full_playback=False)
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    at = _open(code, "conf-1")
    at.checkbox(key="tl_consent_box").check().run()
    at.button(key="tl_consent_go").click().run()
    assert "The first 1 are practice" in _text(at)
    at.button(key="tl_begin").click().run()
    saw_practice = saw_check = False
    for i in range(4):
        assert f"Trial {i + 1} of 4" in at.get("progress")[0].proto.text
        assert not at.button(key=f"tl-answer-{i}-human").disabled  # no full playback required here
        text = _text(at)
        saw_practice |= "Practice trial" in text
        match = re.search(r"Attention check: for this clip, answer “(\w+)”", text)
        answer = match.group(1) if match else "computer"
        saw_check |= match is not None
        at.session_state[f"tl-conf-{i}"] = 4
        at.button(key=f"tl-answer-{i}-{answer}").click().run()
        assert not at.exception
    assert saw_practice and saw_check
    frame = results.responses_frame(code, url)  # main trials only: practice and the check are left out
    assert len(frame) == 2 and list(frame["confidence"]) == [4, 4]
    attention = results.attention_frame(code, url)
    assert list(attention["passed"]) == [True]
    assert at.success and "answers are saved" in at.success[0].value



def test_ab_preference_trial_plays_two_clips_and_stores_the_choice(app_env: dict[str, str], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ab.db'}"
    code = make_study(tmp_path, url, n_per_set=2, trials=2, clip_seconds=1.0, test_type="ab-preference")
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    at = _open(code, "ab-1")
    at.checkbox(key="tl_consent_box").check().run()
    at.button(key="tl_consent_go").click().run()
    at.button(key="tl_begin").click().run()
    for i, choice in enumerate(["A", "B"]):
        assert "Clip A" in _text(at) and "Clip B" in _text(at)
        ended = {"log": {"ended": True, "events": [{"type": "ended", "t_ms": 1000, "at_s": 1.0}]}}
        at.session_state[f"tl-player-{i}-0"] = ended
        at.run()
        assert at.button(key=f"tl-answer-{i}-A").disabled  # clip B not heard yet
        at.session_state[f"tl-player-{i}-1"] = ended
        at.run()
        at.button(key=f"tl-answer-{i}-{choice}").click().run()
        assert not at.exception
    frame = results.responses_frame(code, url)
    assert list(frame["choice"]) == ["a", "b"]

"""AppTest of the participant page: consent → instructions → 6 trials → completion code, answers in the DB; the
state of a participant comes from the database (second tab, reload, reopened link, stale tab)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studies import engine, results
from tunelab.testing.study_fixture import SECRETS, make_study

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "participant.py")


def _open(code: str, pid: str, **params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["study"] = code
    at.query_params["PROLIFIC_PID"] = pid
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _consent_and_begin(at: AppTest) -> AppTest:
    at.checkbox(key="tl_consent_box").check().run()
    at.button(key="tl_consent_go").click().run()
    return at.button(key="tl_begin").click().run()


def _answer_keys(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("tl-answer-")]


def _participant(at: AppTest) -> str:
    key = next(k for k in at.session_state if k.startswith("tl_participant::"))
    return at.session_state[key]


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
    assert "consent" not in at.query_params  # the database keeps the consent, not the URL
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
    # coming back with the same link after finishing shows the same completion code again, not the consent
    again = _open(code, "apptest-p1")
    assert [c.value for c in again.code] == [text]
    assert not again.checkbox and not _answer_keys(again)
    people = results.participants_frame(code, url).set_index("external_id")
    assert people.loc["apptest-p1", "consented"] <= people.loc["apptest-p1", "completed"]  # consent stored


def test_reload_resumes_at_same_trial(app_env: dict[str, str]) -> None:
    code, url = app_env["code"], app_env["db_url"]
    at = _consent_and_begin(_open(code, "apptest-resume"))
    for i in range(2):
        _play_to_end(at, i)
        at.button(key=f"tl-answer-{i}-human").click().run()
    # a reload = a new browser session with the same link
    again = _open(code, "apptest-resume")
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
    at = _consent_and_begin(_open(code, "ab-1"))
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


def test_consent_in_the_url_skips_nothing_and_the_page_says_what_is_stored(app_env: dict[str, str]) -> None:
    at = _open(app_env["code"], "url-consent", consent="yes")
    assert at.checkbox(key="tl_consent_box") is not None and not _answer_keys(at)
    assert "participant id you arrived with" in _text(at)  # the external id is stored: say so
    assert engine.find_session(app_env["code"], "url-consent", app_env["db_url"]) is None  # nothing started


def test_second_tab_and_reload_on_instructions_follow_the_database(app_env: dict[str, str]) -> None:
    code = app_env["code"]
    first = _open(code, "two-tabs")
    first.checkbox(key="tl_consent_box").check().run()
    first.button(key="tl_consent_go").click().run()
    assert first.button(key="tl_begin") is not None
    # a second tab (or a reload) before "Begin": no second consent, and the instructions again
    second = _open(code, "two-tabs")
    assert not second.checkbox and second.button(key="tl_begin") is not None
    assert "6 trials" in _text(second)
    second.button(key="tl_begin").click().run()
    assert "Trial 1 of 6" in second.get("progress")[0].proto.text
    third = _open(code, "two-tabs")  # once begun, a new tab goes straight to the trial
    assert "Trial 1 of 6" in third.get("progress")[0].proto.text and not third.checkbox


def test_a_stale_tab_says_the_trial_was_answered_elsewhere(app_env: dict[str, str]) -> None:
    code, url = app_env["code"], app_env["db_url"]
    stale = _consent_and_begin(_open(code, "stale-tab"))
    _play_to_end(stale, 0)  # heard to the end: the answers are unlocked in this tab
    assert "Trial 1 of 6" in stale.get("progress")[0].proto.text
    other = _open(code, "stale-tab")  # another tab of the same participant answers trial 1
    _play_to_end(other, 0)
    other.button(key="tl-answer-0-computer").click().run()
    assert "Trial 2 of 6" in other.get("progress")[0].proto.text
    stale.button(key="tl-answer-0-human").click().run()  # the stale tab still shows trial 1
    assert not stale.exception
    assert any("already answered, perhaps in another tab" in w.value for w in stale.warning)
    assert "Trial 2 of 6" in stale.get("progress")[0].proto.text
    frame = results.responses_frame(code, url)
    assert frame[frame["participant"] == _participant(stale)]["answer"].tolist() == ["computer"]


def test_forged_end_of_playback_at_0_00_is_refused_and_not_stored(app_env: dict[str, str], clock) -> None:  # noqa: ANN001
    code, url = app_env["code"], app_env["db_url"]
    clock.step = 0
    at = _consent_and_begin(_open(code, "console-cheat"))
    _play_to_end(at, 0)  # the player's state says "ended" (what a dispatched `ended` event sends) at 0:00
    at.button(key="tl-answer-0-human").click().run()
    assert any("requires listening to the end" in w.value for w in at.warning)
    assert "Trial 1 of 6" in at.get("progress")[0].proto.text
    assert results.participants_frame(code, url).set_index("external_id").loc["console-cheat", "answers"] == 0
    clock.advance(1.0)  # the 1-second clip could have been heard now
    at.button(key="tl-answer-0-human").click().run()
    assert "Trial 2 of 6" in at.get("progress")[0].proto.text


def test_a_nul_byte_in_the_study_link_is_an_invalid_link_on_every_database(
        any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = make_study(tmp_path, any_db_url, trials=2, clip_seconds=1.0)
    monkeypatch.setenv("TUNELAB_STUDIES_DB", any_db_url)
    for link in (f"{code}\x00", "\x00", f"{code}%00"):
        at = _open(link, "nul-1")
        assert not at.exception, at.exception
        assert "not valid" in at.error[0].value
    at = _open(code, "bad\x00id")
    assert not at.exception and "control characters" in at.error[0].value

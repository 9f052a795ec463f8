"""Researcher access: throttled wrong passwords (per client and globally, logged), signed session tokens, and
a login that lands on a researcher page."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.auth import LoginThrottle, ThrottlePolicy, make_token, session_key, verify_token
from tests.app.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_clients_delay_doubles_then_locks_it_out():
    clock = Clock()
    throttle = LoginThrottle(ThrottlePolicy(), clock)
    waits = []
    for _ in range(10):
        assert throttle.check("1.2.3.4").allowed
        throttle.failed("1.2.3.4")
        verdict = throttle.check("1.2.3.4")
        waits.append((verdict.wait_seconds, verdict.reason))
        clock.now += verdict.wait_seconds  # the attacker waits exactly as long as it must
    assert waits == [(1.0, "delay"), (2.0, "delay"), (4.0, "delay"), (8.0, "delay"), (16.0, "delay"),
                     (32.0, "delay"), (64.0, "delay"), (128.0, "delay"), (256.0, "delay"),
                     (900.0, "client lockout")]
    # ten guesses took 511 s; the eleventh comes after the 15-minute lockout
    assert clock.now - 1000.0 == 511.0 + 900.0
    clock.now -= 1.0
    assert not throttle.check("1.2.3.4").allowed and throttle.check("5.6.7.8").allowed  # others unaffected
    clock.now += 1.0 + 900.0  # 15 minutes after the last failure everything is forgotten
    assert throttle.check("1.2.3.4").allowed and throttle.check("1.2.3.4").wait_seconds == 0.0


def test_many_clients_slow_down_and_then_lock_everyone():
    clock = Clock()
    throttle = LoginThrottle(ThrottlePolicy(), clock)
    for i in range(19):  # 19 addresses, one guess each: no global wait yet
        throttle.failed(f"10.0.0.{i}")
    assert throttle.check("192.168.1.1").allowed
    throttle.failed("10.0.1.1")  # the 20th failure overall
    verdict = throttle.check("192.168.1.1")  # a fresh client (the researcher) has to wait now too
    assert (verdict.allowed, verdict.wait_seconds, verdict.reason) == (False, 1.0, "global delay")
    for i in range(80):
        throttle.failed(f"10.0.2.{i}")
    verdict = throttle.check("192.168.1.1")
    assert (verdict.wait_seconds, verdict.reason) == (900.0, "global lockout")


def test_success_forgives_only_that_client():
    clock = Clock()
    throttle = LoginThrottle(ThrottlePolicy(), clock)
    throttle.failed("a")
    throttle.failed("b")
    clock.now += 5
    throttle.succeeded("a")
    assert throttle.check("a").wait_seconds == 0.0 and throttle.failed("a") == (1, 3)


def test_tokens_expire_and_cannot_be_forged():
    key = session_key(b"server secret", "pw")
    token = make_token(key, now=1000.0, ttl_seconds=3600)
    assert token.startswith("4600.") and verify_token(key, token, now=4599.0)
    assert not verify_token(key, token, now=4600.0)  # expired
    assert not verify_token(session_key(b"server secret", "new password"), token, now=2000.0)  # password changed
    assert not verify_token(session_key(b"other secret", "pw"), token, now=2000.0)
    forged = "9999999999." + token.split(".")[1]  # a later expiry with the old signature
    for bad in (forged, "", None, "abc", "1.2.3", "x.deadbeef", token + "0"):
        assert not verify_token(key, bad, now=2000.0)


def _login_page() -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "login.py"), default_timeout=30).run()


def _try(at: AppTest, password: str) -> AppTest:
    at.text_input(key="tl_password").input(password)
    at.button[0].click()
    return at.run()


def test_wrong_passwords_are_throttled_and_logged(app_env: dict[str, str], caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from app_pages import common

    clock = Clock()
    monkeypatch.setattr(common, "_THROTTLE", LoginThrottle(ThrottlePolicy(), clock))
    caplog.set_level(logging.INFO, logger="tunelab.auth")
    at = _login_page()
    _try(at, "guess-1")
    assert at.error[0].value == "Wrong password. The next attempt is possible in 1 s."
    _try(at, "guess-2")  # at once: refused without checking
    assert at.error[0].value.startswith("Too many wrong passwords (delay). Try again in")
    _try(at, PASSWORD)  # even the right password waits
    assert "Too many wrong passwords" in at.error[0].value and not at.session_state["tl_admin"]
    failures = [r.getMessage() for r in caplog.records if r.name == "tunelab.auth" and r.levelno == logging.WARNING]
    assert failures[0].startswith("wrong researcher password from local (1 failures from this client, 1 from all")
    assert sum("refused" in m for m in failures) == 2
    clock.now += 1.0  # the delay after one failure has passed
    _try(at, PASSWORD)
    assert at.session_state["tl_admin"] is True and at.session_state["tl_token"].count(".") == 1


def test_a_correct_login_lands_on_a_researcher_page(app_env: dict[str, str]) -> None:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30).run()
    at.switch_page(str(ROOT / "app_pages" / "login.py")).run()
    _try(at, PASSWORD)
    assert not at.exception
    assert at.title[0].value == "Studies"  # not the participant page
    assert at.button(key="tl_logout") is not None
    at.button(key="tl_logout").click().run()
    assert at.session_state["tl_admin"] is False and at.session_state["tl_logged_out"] is True
    assert "study link" in at.info[0].value  # back to the participant page, researcher pages gone

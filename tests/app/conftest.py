"""Fixtures of the app tests: a small study in a temp SQLite DB, and (browser tests) a live server + Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tunelab.testing.clock import FakeClock
from tunelab.testing.clock import install as install_clock
from tunelab.testing.databases import DatabaseUnavailable, studies_database
from tunelab.testing.live_server import CHROMIUM_ARGS, start_server, stop_server
from tunelab.testing.study_fixture import make_study

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A 6-trial turing study (1 s clips, full playback required) in its own SQLite DB."""
    folder = tmp_path_factory.mktemp("study")
    url = f"sqlite:///{folder / 'studies.db'}"
    code = make_study(folder, url, trials=6, clip_seconds=1.0)
    return {"code": code, "db_url": url, "folder": str(folder)}


@pytest.fixture(scope="session")
def long_study(study: dict[str, str]) -> dict[str, str]:
    """A second study in the same database (so the live server serves it too): 2 trials of 4-second clips."""
    folder = Path(study["folder"]) / "long"
    code = make_study(folder, study["db_url"], trials=2, clip_seconds=4.0, title="Long clips")
    return {**study, "code": code}


@pytest.fixture(autouse=True)
def fresh_login_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no wrong passwords on record (the throttle is per server process)."""
    from app_pages import auth, common

    monkeypatch.setattr(common, "_THROTTLE", auth.LoginThrottle())
    monkeypatch.setattr(common, "_REVOKED", {})


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The engine's server clock in in-process AppTests, faked: each reading moves it on by an hour, so answers
    come long after their trial was shown. Timing tests set ``clock.step = 0``. (The browser tests talk to a
    server process, which keeps the real clock.)"""
    return install_clock(monkeypatch, step=3600.0)


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty studies database: a SQLite file, then a fresh schema of the test PostgreSQL server."""
    try:
        with studies_database(request.param, tmp_path) as url:
            yield url
    except DatabaseUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture
def app_env(study: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of an in-process AppTest: the study DB and a known researcher password."""
    monkeypatch.setenv("TUNELAB_STUDIES_DB", study["db_url"])
    monkeypatch.setenv("TUNELAB_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setenv("TUNELAB_MEDIA_DIR", str(Path(study["folder"]) / "media"))
    return study


@pytest.fixture(scope="session")
def server(study: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live app server on a free port, using the study's DB; yields its base URL."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    proc, base = start_server({"TUNELAB_STUDIES_DB": study["db_url"], "TUNELAB_ADMIN_PASSWORD": PASSWORD,
                               "TUNELAB_MEDIA_DIR": str(Path(study["folder"]) / "media")}, log)
    try:
        yield base
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Debian's Chromium driven by playwright, with a fresh user-data-dir (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(profile), executable_path="/usr/bin/chromium",
                                                   headless=True, args=CHROMIUM_ARGS,
                                                   viewport={"width": 1100, "height": 900})
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(browser_context: object) -> Iterator[object]:
    """A fresh tab of the shared browser."""
    tab = browser_context.new_page()  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        tab.close()

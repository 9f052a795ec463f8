"""End-to-end tests in Debian's Chromium (playwright): a participant clicks through a 6-trial study, the
trial page leaks no set/model/file name, and the researcher sees the results. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from studies import engine, results
from tests.app.conftest import ARTIFACTS, PASSWORD
from tunelab.testing.study_fixture import SECRETS

pytestmark = pytest.mark.browser


def _start(page, server: str, code: str, pid: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(f"{server}/?study={code}&PROLIFIC_PID={pid}")
    page.get_by_text("I have read the above and agree").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Begin").click()


def _human_buttons(page, disabled: bool, timeout: int = 20_000) -> None:  # noqa: ANN001
    """Wait until the page shows exactly one "Human" button in the given state (old trials' buttons may
    linger for a few ms after a rerun)."""
    page.wait_for_function(
        "(d) => { const b = [...document.querySelectorAll('button')].filter(x => x.innerText.trim() === 'Human');"
        " return b.length === 1 && b[0].disabled === d; }", arg=disabled, timeout=timeout)


def _answer_trial(page, i: int, choice: str) -> None:  # noqa: ANN001
    page.get_by_text(f"Trial {i + 1} of 6").wait_for(timeout=20_000)
    _human_buttons(page, disabled=True, timeout=5_000)  # locked until the clip played to the end
    expect(page.locator("audio.tl-audio")).to_have_count(1)
    page.locator("audio.tl-audio").evaluate("a => a.play()")
    _human_buttons(page, disabled=False)
    page.get_by_role("button", name=choice, exact=True).click()


def test_participant_clicks_through_six_trials(page, server: str, study: dict[str, str]) -> None:  # noqa: ANN001
    code, url = study["code"], study["db_url"]
    _start(page, server, code, "browser-p1")
    choices = ["Human", "Computer", "Human", "Human", "Computer", "Computer"]
    for i, choice in enumerate(choices):
        _answer_trial(page, i, choice)
        if i == 2:  # a reload (new Streamlit session) resumes at the first unanswered trial
            page.reload()
            page.get_by_text("Trial 4 of 6").wait_for(timeout=20_000)
            assert page.get_by_text("I have read the above and agree").count() == 0
    page.get_by_text("Your completion code").wait_for(timeout=20_000)
    completion = page.locator("code").last.inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{12}", completion)
    frame = results.responses_frame(code, url)
    with engine.get_engine(url).connect() as conn:
        pid = conn.exec_driver_sql("SELECT id FROM participants WHERE external_id = 'browser-p1'").scalar_one()
        events = [e for (e,) in conn.exec_driver_sql(
            "SELECT play_events FROM answers WHERE participant_id = ? ORDER BY position", (pid,))]
    mine = frame[frame["participant"] == pid]
    assert len(mine) == 6
    assert list(mine["answer"]) == [c.lower() for c in choices]
    assert all('"play"' in e and '"ended"' in e for e in events)  # play events logged per trial


def test_trial_page_and_media_reveal_no_names(page, server: str, study: dict[str, str]) -> None:  # noqa: ANN001
    requests: list[str] = []
    frames: list[bytes] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
        f if isinstance(f, bytes) else f.encode())))
    _start(page, server, study["code"], "browser-blind")
    page.get_by_text("Trial 1 of 6").wait_for(timeout=20_000)
    audio = page.locator("audio.tl-audio")
    audio.evaluate("a => new Promise(r => { if (a.duration > 0) r(); else a.onloadedmetadata = () => r(); })")
    # full playback required: no fast-forward (rate snaps back to 1) and no seeking past the furthest point heard
    rate = audio.evaluate("a => new Promise(r => { a.addEventListener('ratechange', () => setTimeout(() =>"
                          " r(a.playbackRate), 0), {once: true}); a.playbackRate = 8; })")
    assert rate == 1
    at = audio.evaluate("a => new Promise(r => { a.addEventListener('seeked', () => setTimeout(() =>"
                        " r(a.currentTime), 50), {once: true}); a.currentTime = a.duration * 0.9; })")
    assert at < 0.3
    audio.evaluate("a => a.play()")
    _human_buttons(page, disabled=False)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trial_page.png"), full_page=True)
    html = page.content().lower()
    src = page.locator("audio.tl-audio").get_attribute("src")
    assert src.startswith("blob:")  # inline bytes, no server URL for the clip
    media = [u for u in requests if urlparse(u).path.startswith("/media/") or u.endswith((".mp3", ".ogg", ".wav"))]
    wire = b"".join(frames).lower()
    assert wire  # the page did receive its content over the websocket
    for secret in SECRETS:
        s = secret.lower()
        assert s not in html, f"page HTML leaks {secret}"
        assert not any(s in u.lower() for u in requests), f"a URL leaks {secret}"
        assert s.encode() not in wire, f"a websocket message leaks {secret}"
    assert not media
    offsite = [u for u in requests if not u.startswith((server, "blob:", "data:"))]
    assert not offsite, f"the participant page fetched from elsewhere: {offsite[:3]}"
    assert "humanmidi" not in html and "human_midi" not in html and "machine_midi" not in html


def test_researcher_logs_in_and_sees_results(page, server: str, study: dict[str, str]) -> None:  # noqa: ANN001
    url = study["db_url"]
    for pid, answer in (("seed-a", "human"), ("seed-b", "computer")):  # answers even when run alone
        session = engine.start_or_resume(study["code"], pid, url)
        while (view := engine.current_trial(session.participant_id, url)) is not None:
            engine.submit_answer(session.participant_id, view.position, answer, db=url)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{server}/results")  # not reachable before login: the router falls back to the default page
    assert page.get_by_text("Confusion matrix").count() == 0
    page.goto(f"{server}/login")
    page.get_by_label("Researcher password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Results").first.wait_for(timeout=20_000)
    page.get_by_role("link", name="Results").click()
    page.get_by_text("Confusion matrix").first.wait_for(timeout=30_000)
    page.set_viewport_size({"width": 1100, "height": 3200})  # Streamlit scrolls inside its own container
    page.wait_for_function("() => { const p = [...document.querySelectorAll('.js-plotly-plot')];"
                           " return p.length >= 4 && p.every(x => x.querySelector('.hm, image, .trace')); }",
                           timeout=30_000)  # confusion matrix, per model, per group, per participant drawn
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results_page.png"))
    assert page.get_by_text("Accuracy").count() >= 1
    offsite = [u for u in requests if not u.startswith((server, "blob:", "data:"))]
    assert not offsite, f"the results page fetched from elsewhere (no network at run time): {offsite[:3]}"


def _stored_answers(url: str, external_id: str) -> int:
    with engine.get_engine(url).connect() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM answers JOIN participants ON participants.id = "
                                    "answers.participant_id WHERE external_id = ?", (external_id,)).scalar_one()


def _forge(server: str, query: str, script) -> list:  # noqa: ANN001 - async callable taking a WsSession
    """Run ``script(session)`` over a raw websocket to the app, off the thread of the sync playwright."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import websockets

    from tunelab.testing.live_server import WsSession

    async def run() -> list:
        async with websockets.connect(server.replace("http://", "ws://") + "/_stcore/stream",
                                      subprotocols=["streamlit"], max_size=None) as ws:
            return await script(WsSession(ws))

    with ThreadPoolExecutor(1) as pool:  # the sync playwright of the other tests owns this thread's loop
        return pool.submit(asyncio.run, run()).result(timeout=60)


def test_forged_answer_before_the_clip_ended_is_refused(server: str, study: dict[str, str]) -> None:
    """A client that skips the player and sends the answer click over the websocket (what a disabled button
    cannot do in the browser) stores nothing and stays on the trial; ``consent=yes`` in the URL skips nothing."""
    from tunelab.testing.live_server import find_element, widget_state

    code, url = study["code"], study["db_url"]
    query = f"study={code}&PROLIFIC_PID=forger&consent=yes"

    async def forge(s) -> list:  # noqa: ANN001
        page = await s.rerun(query)
        box = find_element(page, "checkbox")  # the consent is asked for, whatever the URL says
        page = await s.rerun(query, [widget_state(box.id, bool_value=True)])
        start = find_element(page, "button", "Start")
        page = await s.rerun(query, [widget_state(box.id, bool_value=True),
                                     widget_state(start.id, trigger_value=True)])
        page = await s.rerun(query, [widget_state(find_element(page, "button", "Begin").id, trigger_value=True)])
        human = find_element(page, "button", "Human")
        assert human.disabled
        return await s.rerun(query, [widget_state(human.id, trigger_value=True)])

    page = _forge(server, query, forge)
    assert _stored_answers(url, "forger") == 0
    assert "Trial 1 of 6" in find_element(page, "progress").text
    # Streamlit drops changes of disabled widgets server-side; the page's callback re-checks the player log
    assert find_element(page, "button", "Human").disabled


def test_forged_ended_event_over_the_websocket_is_refused_by_the_server_clock(server: str,
                                                                           long_study: dict[str, str]) -> None:
    """The attack that answered 12 trials in 1.6 s: the client reports "ended" for the player at once (what
    dispatching an `ended` event in the console sends), the answer buttons unlock, and it clicks. The server
    showed the 4-second clip a few milliseconds ago, so it refuses the answer and stores nothing."""
    import json

    from tunelab.testing.live_server import find_element, widget_state

    code, url = long_study["code"], long_study["db_url"]
    query = f"study={code}&PROLIFIC_PID=console-forger"
    ended = json.dumps({"log": {"ended": True, "events": [{"type": "play", "t_ms": 1, "at_s": 0.0},
                                                          {"type": "ended", "t_ms": 4001, "at_s": 4.0}]}})

    async def forge(s) -> list:  # noqa: ANN001
        page = await s.rerun(query)
        box = find_element(page, "checkbox")
        page = await s.rerun(query, [widget_state(box.id, bool_value=True)])
        page = await s.rerun(query, [widget_state(box.id, bool_value=True),
                                     widget_state(find_element(page, "button", "Start").id, trigger_value=True)])
        page = await s.rerun(query, [widget_state(find_element(page, "button", "Begin").id, trigger_value=True)])
        player = find_element(page, "bidi_component")
        page = await s.rerun(query, [widget_state(player.id, json_value=ended)])
        human = find_element(page, "button", "Human")
        assert not human.disabled  # the forged log unlocked the buttons in this session ...
        return await s.rerun(query, [widget_state(player.id, json_value=ended),
                                     widget_state(human.id, trigger_value=True)])

    page = _forge(server, query, forge)
    assert _stored_answers(url, "console-forger") == 0  # ... but the server refused the answer
    assert "Trial 1 of 2" in find_element(page, "progress").text
    warning = find_element(page, "alert")
    assert "requires listening to the end" in warning.body

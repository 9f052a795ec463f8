"""Researcher access against a live server of its own (its login throttle is per server process): a login
that lands on a researcher page and survives a reload and a typed URL, and password guessing over a raw
websocket, throttled and logged."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.app.conftest import PASSWORD
from tunelab.testing.live_server import WsSession, find_element, start_server, stop_server, widget_state

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def auth_server(study: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("auth-server") / "streamlit.log"
    proc, base = start_server({"TUNELAB_STUDIES_DB": study["db_url"], "TUNELAB_ADMIN_PASSWORD": PASSWORD,
                               "TUNELAB_MEDIA_DIR": str(Path(study["folder"]) / "media")}, log)
    try:
        yield base, log
    finally:
        stop_server(proc)


def _researcher_nav(page) -> bool:  # noqa: ANN001 - playwright Page
    return page.get_by_role("link", name="Results").count() > 0


def test_login_lands_on_studies_and_survives_reload_and_typed_url(page, auth_server) -> None:  # noqa: ANN001
    server, _ = auth_server
    page.goto(f"{server}/login")
    page.get_by_label("Researcher password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # a researcher page, not the participant page
    page.get_by_role("heading", name="Studies", exact=True).wait_for(timeout=20_000)
    page.wait_for_function("() => document.cookie.includes('tunelab_researcher=')", timeout=10_000)
    page.reload()
    page.get_by_role("heading", name="Studies", exact=True).wait_for(timeout=20_000)  # still logged in after a reload
    assert _researcher_nav(page)
    page.goto(f"{server}/results")  # a typed URL: a new session, the signed token from the cookie lets it in
    page.get_by_role("heading", name="Results", exact=True).wait_for(timeout=20_000)
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("study link").first.wait_for(timeout=20_000)
    page.wait_for_function("() => !document.cookie.includes('tunelab_researcher=')", timeout=10_000)
    page.goto(f"{server}/results")  # logged out: the researcher pages are gone again
    page.get_by_text("study link").first.wait_for(timeout=20_000)
    assert not _researcher_nav(page) and page.get_by_role("heading", name="Results", exact=True).count() == 0


def test_password_guessing_over_one_websocket_is_throttled_and_logged(auth_server) -> None:  # noqa: ANN001
    """About 20 guesses a second went through one websocket before; now a burst gets one guess checked, then
    each further check waits twice as long as the last (1, 2, 4, ... s)."""
    server, log = auth_server
    import websockets

    async def guess(n: int) -> tuple[list[str], float]:
        async with websockets.connect(server.replace("http://", "ws://") + "/_stcore/stream",
                                      subprotocols=["streamlit"], max_size=None) as ws:
            s = WsSession(ws)
            page = await s.rerun("", page_name="login")
            field, submit = find_element(page, "text_input"), find_element(page, "button", "Log in")
            outcomes = []
            started = time.monotonic()
            for i in range(n):
                page = await s.rerun("", [widget_state(field.id, string_value=f"guess-{i}"),
                                          widget_state(submit.id, trigger_value=True)], page_name="login")
                outcomes.append(find_element(page, "alert").body)
            return outcomes, time.monotonic() - started

    with ThreadPoolExecutor(1) as pool:  # the sync playwright of the other tests owns this thread's loop
        outcomes, elapsed = pool.submit(asyncio.run, guess(20)).result(timeout=120)
    checked = [o for o in outcomes if o.startswith("Wrong password")]
    refused = [o for o in outcomes if o.startswith("Too many wrong passwords")]
    assert len(checked) + len(refused) == 20 and outcomes[0].startswith("Wrong password")
    # k checks need 1 + 2 + ... + 2^(k-2) = 2^(k-1) - 1 s of waiting in between
    assert len(checked) >= 1 and len(checked) <= 1 + math.log2(elapsed + 1) + 1e-9, (len(checked), elapsed)
    assert len(refused) >= 20 - len(checked)
    text = log.read_text()
    assert text.count("wrong researcher password from local") == len(checked)
    assert text.count("researcher login refused for local") == len(refused)
    print(f"\n20 guesses in {elapsed:.2f} s over one websocket: {len(checked)} checked, {len(refused)} refused")

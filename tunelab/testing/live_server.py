"""Start and stop a real ``streamlit run streamlit_app.py`` server (browser tests and the load benchmark)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tunelab import REPO_ROOT

REPO = REPO_ROOT
# Debian's Chromium in a container (see FACTS.md "Browser tests"); audio autoplays muted for the tests.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env_extra: dict[str, str], log_path: Path, port: int | None = None,
                 timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run streamlit_app.py`` and wait for ``/_stcore/health``; return (process, base URL)."""
    port = port or free_port()
    env = {**os.environ, **env_extra}
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not become healthy within {timeout} s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server started by :func:`start_server` (kill after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class WsSession:
    """A Streamlit session spoken to over its websocket (``/_stcore/stream``) with the app's own protobufs,
    the way the browser does: every interaction is a ``rerun_script`` BackMsg carrying widget states, answered
    by deltas up to ``script_finished``."""

    sent = 0  # reruns sent by all sessions (class-wide counter, for server CPU per rerun)

    def __init__(self, ws) -> None:  # noqa: ANN001 - websockets connection
        self.ws = ws

    async def rerun(self, query: str, states: list = (), page_name: str = "") -> list:  # noqa: ANN001
        """Rerun the app with ``query`` (the URL's query string), these widget states and, for a page of the
        navigation, its ``page_name`` (the url path, e.g. "login"); returns the elements drawn."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page_name
        for state in states:
            msg.rerun_script.widget_states.widgets.append(state)
        await self.ws.send(msg.SerializeToString())
        WsSession.sent += 1
        elements = []
        while True:
            fwd = ForwardMsg.FromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                elements.append((el.WhichOneof("type"), getattr(el, el.WhichOneof("type"))))
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    elements = []  # st.rerun(): the page is drawn again by the next run
                    continue
                return elements


def widget_state(wid: str, **value: object):  # noqa: ANN201
    """A WidgetState protobuf: ``trigger_value=True`` clicks a button, ``bool_value``/``json_value`` set values."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=wid, **value)


def find_element(elements: list, kind: str, label: str | None = None):  # noqa: ANN201
    """First element of ``kind`` (e.g. "button", "progress", "bidi_component") with that label."""
    for k, el in elements:
        if k == kind and (label is None or getattr(el, "label", None) == label):
            return el
    raise RuntimeError(f"no {kind} {label or ''} on the page: {[k for k, _ in elements]}")

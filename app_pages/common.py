"""Shared plumbing of the app pages: database URL, researcher password, and the login gate.

Settings (environment first, then ``.streamlit/secrets.toml``):

* ``TUNELAB_STUDIES_DB``: SQLAlchemy URL of the studies database (the same variable the CLI reads);
  unset → the engine's default SQLite file ``data/studies.db``.
* ``TUNELAB_ADMIN_PASSWORD`` or ``admin_password`` in secrets: the researcher password. Unset → the
  researcher pages explain how to set one and show nothing.
* ``TUNELAB_MEDIA_DIR``: where new studies store their rendered clips (default: the engine's choice).
* ``TUNELAB_SESSION_SECRET`` (optional): the server secret that signs researcher session tokens. Unset →
  a random one per server process, so a restart logs researchers out; set it when several server processes
  serve one app.

Login: wrong passwords are throttled per client and globally (:mod:`app_pages.auth`) and every failure is
logged (logger ``tunelab.auth``). A correct password stores an expiring signed token in the browser's cookie
``tunelab_researcher`` (8 hours), checked on the server on every new session, so a reload or a typed URL
stays logged in; "Log out" revokes it.

Not a page: ``streamlit_app.py`` lists the pages explicitly.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import secrets
import time
from pathlib import Path

import streamlit as st

from app_pages.auth import LoginThrottle, make_token, session_key, verify_token
from tunelab.settings import ENV_ADMIN_PASSWORD as ENV_PASSWORD
from tunelab.settings import ENV_SESSION_SECRET

ADMIN_FLAG = "tl_admin"  # session_state key: True once the researcher password was given in this session
COOKIE = "tunelab_researcher"
TOKEN_SECONDS = 8 * 3600
GOTO_RESEARCHER = "tl_goto_researcher"  # session_state key: the router opens the Studies page once
LOG = logging.getLogger("tunelab.auth")
if not logging.getLogger().handlers and not LOG.handlers:  # the server log (stderr) gets every login event
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)


def db_url() -> str | None:
    """Database URL from ``TUNELAB_STUDIES_DB`` (the engine's own variable), or None for its default file."""
    from studies.storage import ENV_DB_URL

    return os.environ.get(ENV_DB_URL) or None


def media_dir() -> Path:
    """Folder for rendered clips: :func:`tunelab.media_dir` (``TUNELAB_MEDIA_DIR``), as the CLI uses."""
    from tunelab import media_dir as configured

    return configured()


@st.cache_resource(show_spinner=False)
def _engine_for(url: str | None):  # noqa: ANN202 - SQLAlchemy Engine, imported lazily
    from studies.engine import get_engine

    return get_engine(url)


def db():  # noqa: ANN201
    """The shared SQLAlchemy engine of the studies database (one per URL per server process); pass it
    as ``db=`` to every :mod:`studies.engine` call."""
    return _engine_for(db_url())


def admin_password() -> str | None:
    """The researcher password, or None when neither the env var nor the secret is set."""
    value = os.environ.get(ENV_PASSWORD)
    if value:
        return value
    try:
        value = st.secrets.get("admin_password")
    except Exception:  # no secrets.toml at all (FileNotFoundError / StreamlitSecretNotFoundError)
        return None
    return str(value) if value else None


def check_password(given: str, expected: str | None) -> bool:
    """Constant-time comparison; never true when no password is configured."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# One record per server process, shared by every session (module state: Streamlit imports this module once).
_THROTTLE = LoginThrottle()
_REVOKED: dict[str, float] = {}  # tokens logged out before they expired (token -> expiry)
_PROCESS_SECRET = secrets.token_bytes(32)


def login_throttle() -> LoginThrottle:
    """The server's one record of wrong passwords (shared by every session of this process)."""
    return _THROTTLE


def _revoked() -> dict[str, float]:
    return _REVOKED


def _process_secret() -> bytes:
    return _PROCESS_SECRET


def _token_key(password: str) -> bytes:
    configured = os.environ.get(ENV_SESSION_SECRET)
    return session_key(configured.encode("utf-8") if configured else _process_secret(), password)


def client_key() -> str:
    """Who is trying to log in: the connection's IP address ("local" for connections from this machine)."""
    try:
        ip = st.context.ip_address
    except Exception:  # outside a browser session
        ip = None
    return ip if isinstance(ip, str) and ip else "local"


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # outside a browser session
        token = None
    return token if isinstance(token, str) else None


def is_admin() -> bool:
    """True when this browser session logged in with the current password, or carries a valid, unrevoked
    session token from an earlier login (a reload, a typed URL, a new tab)."""
    expected = admin_password()
    if expected is None:
        return False
    if st.session_state.get(ADMIN_FLAG):
        return True
    token = _cookie_token()
    if st.session_state.get("tl_logged_out") or not token or token in _revoked():
        return False
    if verify_token(_token_key(expected), token, time.time()):
        st.session_state[ADMIN_FLAG] = True
        st.session_state["tl_token"] = token
        return True
    return False


_cookie_writer = st.components.v2.component(
    "tunelab_session_cookie", html="<span></span>",
    js="""
export default function(component) {
    const { data } = component;
    if (!data || !data.cookie || window.__tunelabCookie === data.cookie) { return; }
    window.__tunelabCookie = data.cookie;
    document.cookie = data.cookie;
}
""")


def sync_session_cookie() -> None:
    """Write (after a login) or clear (after a logout) the session cookie in the browser, once."""
    pending = st.session_state.pop("tl_cookie", None)
    if pending is None:
        return
    try:
        url = st.context.url
    except Exception:  # outside a browser session
        url = None
    secure = "; Secure" if isinstance(url, str) and url.startswith("https:") else ""
    if pending:
        cookie = f"{COOKIE}={pending}; Path=/; Max-Age={TOKEN_SECONDS}; SameSite=Strict{secure}"
    else:
        cookie = f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict{secure}"
    with st.sidebar:
        _cookie_writer(data={"cookie": cookie}, key=f"tl_cookie_{secrets.token_hex(4)}")


def login_form() -> None:
    """Password form with throttling; on success set the session flag and the session token, and rerun so the
    router adds the researcher pages and opens one of them."""
    expected = admin_password()
    if expected is None:
        st.warning("No researcher password is set, so the researcher pages stay closed.")
        st.markdown(
            "Set one before starting the app, either as an environment variable\n\n"
            "```bash\nexport TUNELAB_ADMIN_PASSWORD='choose-a-long-password'\nstreamlit run streamlit_app.py\n```\n"
            "or in `.streamlit/secrets.toml` (git-ignored):\n\n"
            "```toml\nadmin_password = \"choose-a-long-password\"\n```"
        )
        return
    with st.form("tl_login"):
        given = st.text_input("Researcher password", type="password", key="tl_password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    throttle, client = login_throttle(), client_key()
    verdict = throttle.check(client)
    if not verdict.allowed:
        LOG.warning("researcher login refused for %s: %s, %.0f s to wait", client, verdict.reason,
                    verdict.wait_seconds)
        st.error(f"Too many wrong passwords ({verdict.reason}). Try again in {math.ceil(verdict.wait_seconds)} s.")
        return
    if check_password(given, expected):
        throttle.succeeded(client)
        token = make_token(_token_key(expected), time.time(), TOKEN_SECONDS)
        st.session_state.update({ADMIN_FLAG: True, "tl_token": token, "tl_cookie": token, GOTO_RESEARCHER: True,
                                 "tl_logged_out": False})
        LOG.info("researcher logged in from %s", client)
        st.rerun()
    mine, every = throttle.failed(client)
    wait = throttle.check(client).wait_seconds
    LOG.warning("wrong researcher password from %s (%d failures from this client, %d from all in the last %.0f "
                "min); next attempt in %.0f s", client, mine, every, throttle.policy.window_seconds / 60, wait)
    st.session_state[ADMIN_FLAG] = False
    st.error(f"Wrong password. The next attempt is possible in {math.ceil(wait)} s.")


def require_admin() -> None:
    """Gate for researcher pages: show the login form and stop the script unless logged in."""
    if is_admin():
        return
    st.title("Researcher login")
    login_form()
    st.stop()


def logout_button() -> None:
    """Sidebar button that ends the login: this session's flag, the token (revoked on the server) and the
    browser's cookie."""
    if st.sidebar.button("Log out", key="tl_logout"):
        token = st.session_state.pop("tl_token", None)
        if token:
            revoked = _revoked()
            now = time.time()
            for old in [t for t, expiry in revoked.items() if expiry < now]:
                del revoked[old]
            revoked[token] = float(token.split(".")[0])
        st.session_state.update({ADMIN_FLAG: False, "tl_logged_out": True, "tl_cookie": ""})
        st.rerun()

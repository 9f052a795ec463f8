"""Shared plumbing of the app pages: database URL, researcher password, and the login gate.

Settings (environment first, then ``.streamlit/secrets.toml``):

* ``TUNELAB_STUDIES_DB``: SQLAlchemy URL of the studies database (the same variable the CLI reads);
  unset → the engine's default SQLite file ``data/studies.db``.
* ``TUNELAB_ADMIN_PASSWORD`` or ``admin_password`` in secrets: the researcher password. Unset → the
  researcher pages explain how to set one and show nothing.
* ``TUNELAB_MEDIA_DIR``: where new studies store their rendered clips (default: the engine's choice).

Not a page: ``streamlit_app.py`` lists the pages explicitly.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import streamlit as st

ADMIN_FLAG = "tl_admin"  # session_state key: True once the researcher password was given in this session
ENV_PASSWORD = "TUNELAB_ADMIN_PASSWORD"


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


def is_admin() -> bool:
    """True when this browser session logged in with the current password."""
    return bool(st.session_state.get(ADMIN_FLAG)) and admin_password() is not None


def login_form() -> None:
    """Password form; on success set the session flag and rerun so the router adds the researcher pages."""
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
    if submitted:
        if check_password(given, expected):
            st.session_state[ADMIN_FLAG] = True
            st.rerun()
        else:
            st.session_state[ADMIN_FLAG] = False
            st.error("Wrong password.")


def require_admin() -> None:
    """Gate for researcher pages: show the login form and stop the script unless logged in."""
    if is_admin():
        return
    st.title("Researcher login")
    login_form()
    st.stop()


def logout_button() -> None:
    """Sidebar button that forgets the login of this browser session."""
    if st.sidebar.button("Log out", key="tl_logout"):
        st.session_state[ADMIN_FLAG] = False
        st.rerun()

"""tunelab app router: `streamlit run streamlit_app.py`.

Participants open ``/?study=CODE&PROLIFIC_PID=...`` and see only the listening study (no navigation).
Researchers log in on the "Researcher login" page; only then are the researcher pages added to the
navigation, so they cannot be reached by URL without the password (each page also checks it itself). A
correct password opens the Studies page; the session token it leaves in a cookie keeps the researcher logged
in across reloads and typed URLs (:mod:`app_pages.common`).
"""

from __future__ import annotations

import streamlit as st

from app_pages.common import GOTO_RESEARCHER, is_admin, logout_button, sync_session_cookie

# No page or page_icon icons: Streamlit fetches Material favicons from fonts.gstatic.com (no network at run time).
st.set_page_config(page_title="tunelab", layout="centered")

participant = st.Page("app_pages/participant.py", title="Listening study", default=True)
admin = is_admin()
if admin:
    studies_page = st.Page("app_pages/studies.py", title="Studies", url_path="studies")
    pages = {
        "Participants": [participant],
        "Researcher": [
            studies_page,
            st.Page("app_pages/results.py", title="Results", url_path="results"),
            st.Page("app_pages/score.py", title="Score MIDI", url_path="score"),
            st.Page("app_pages/generate.py", title="Generate", url_path="generate"),
        ],
    }
else:
    pages = {"": [participant, st.Page("app_pages/login.py", title="Researcher login",
                                       url_path="login")]}

# A participant link carries ?study=...: show that participant nothing but the study.
hidden = "study" in st.query_params and not admin
page = st.navigation(pages, position="hidden" if hidden else "sidebar")
if admin and st.session_state.pop(GOTO_RESEARCHER, False):
    st.switch_page(studies_page)  # a correct login lands on a researcher page, not the participant page
sync_session_cookie()
if admin:
    logout_button()
page.run()

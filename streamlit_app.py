"""tunelab app router: `streamlit run streamlit_app.py`.

Participants open ``/?study=CODE&PROLIFIC_PID=...`` and see only the listening study (no navigation).
Researchers log in on the "Researcher login" page; only then are the researcher pages added to the
navigation, so they cannot be reached by URL without the password (each page also checks it itself).
"""

from __future__ import annotations

import streamlit as st

from app_pages.common import is_admin, logout_button

# No page or page_icon icons: Streamlit fetches Material favicons from fonts.gstatic.com (no network at run time).
st.set_page_config(page_title="tunelab", layout="centered")

participant = st.Page("app_pages/participant.py", title="Listening study", default=True)
if is_admin():
    pages = {
        "Participants": [participant],
        "Researcher": [
            st.Page("app_pages/studies.py", title="Studies", url_path="studies"),
            st.Page("app_pages/results.py", title="Results", url_path="results"),
            st.Page("app_pages/score.py", title="Score MIDI", url_path="score"),
            st.Page("app_pages/generate.py", title="Generate", url_path="generate"),
        ],
    }
else:
    pages = {"": [participant, st.Page("app_pages/login.py", title="Researcher login",
                                       url_path="login")]}

# A participant link carries ?study=...: show that participant nothing but the study.
hidden = "study" in st.query_params and not is_admin()
page = st.navigation(pages, position="hidden" if hidden else "sidebar")
if is_admin():
    logout_button()
page.run()

"""Researcher login: the password from TUNELAB_ADMIN_PASSWORD or st.secrets["admin_password"]."""

from __future__ import annotations

import streamlit as st

from app_pages.common import is_admin, login_form

st.title("Researcher login")
if is_admin():
    st.success("Logged in. The researcher pages are in the sidebar.")
else:
    login_form()
